//! Concurrency: 200 ADDs from parallel processes into one network, then 200 DELs, with no
//! duplicate address, no leftover lease and no error; then the same with our binary and the
//! reference working on the same directory at the same time (both take the flock on `lock`).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{leases, ours, reference, run, Run, TempDir};
use serde_json::json;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const N: usize = 200;

fn conf(data: &Path) -> String {
    json!({"cniVersion":"1.0.0","name":"crowd","type":"host-local",
        "ipam":{"type":"host-local","dataDir":data,"ranges":[[{"subnet":"10.77.0.0/24"}],[{"subnet":"fd77::/120"}]]}})
    .to_string()
}

/// Run `verb` for containers 0..N in parallel, container i with `bins[i % bins.len()]`.
fn parallel(verb: &str, bins: &[PathBuf], data: &Path) -> Vec<Run> {
    let conf = conf(data);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..N)
            .map(|i| {
                let bin = bins[i % bins.len()].clone();
                let conf = conf.clone();
                let verb = verb.to_string();
                s.spawn(move || run(&bin, &verb, &format!("crowd-{i}"), "eth0", "", &conf))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn add_then_del(bins: &[PathBuf], tag: &str) {
    let tmp = TempDir::new(tag);
    let data = tmp.0.join("data");
    let dir = data.join("crowd");

    let added = parallel("ADD", bins, &data);
    let mut seen = BTreeSet::new();
    for (i, r) in added.iter().enumerate() {
        assert!(r.ok, "ADD {i} failed: {}{}", r.stdout, r.stderr);
        for ip in r.json.as_ref().unwrap()["ips"].as_array().unwrap() {
            let a = ip["address"].as_str().unwrap().to_string();
            assert!(seen.insert(a.clone()), "address {a} handed out twice");
        }
    }
    assert_eq!(seen.len(), 2 * N);
    let on_disk = leases(&dir);
    assert_eq!(on_disk.len(), 2 * N, "lease files after {N} ADDs");
    for (i, r) in added.iter().enumerate() {
        for ip in r.json.as_ref().unwrap()["ips"].as_array().unwrap() {
            let a = ip["address"].as_str().unwrap();
            let name = a.split('/').next().unwrap();
            assert_eq!(on_disk[name], format!("crowd-{i}\r\neth0"), "lease {name}");
        }
    }

    // DEL with the binaries swapped, so each one releases leases the other may have written.
    let swapped: Vec<PathBuf> = bins.iter().rev().cloned().collect();
    let deleted = parallel("DEL", &swapped, &data);
    for (i, r) in deleted.iter().enumerate() {
        assert!(r.ok, "DEL {i} failed: {}{}", r.stdout, r.stderr);
    }
    let left = leases(&dir);
    assert!(left.is_empty(), "leftover leases: {left:?}");

    // Our index must have followed every change: a fresh ADD starts where the round robin is.
    let r = run(&ours(), "ADD", "after", "eth0", "", &conf(&data));
    assert!(r.ok, "{}{}", r.stdout, r.stderr);
    let r2 = run(&ours(), "ADD", "after", "eth0", "", &conf(&data));
    assert!(
        !r2.ok && r2.msg().contains("duplicate allocation"),
        "{}",
        r2.stdout
    );
}

#[test]
fn parallel_adds_and_dels_of_ours() {
    add_then_del(&[ours()], "concurrency-ours");
}

#[test]
fn parallel_adds_and_dels_mixed_with_the_reference() {
    add_then_del(&[ours(), reference()], "concurrency-mixed");
}
