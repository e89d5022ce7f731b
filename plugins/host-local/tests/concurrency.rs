//! Storms on one network, dual stack:
//! - 200 ADDs from parallel processes, then 200 DELs, with no duplicate address, no leftover
//!   lease and no error; then the same with our binary and the reference working on the same
//!   directory at the same time (both take the flock on `lock`);
//! - exhaustion: more parallel ADDs than addresses; exactly as many succeed as there are
//!   addresses, the rest fail with the reference's error and keep nothing (their first range
//!   set's address is rolled back), then all DELs leave the directory as before;
//! - churn: workers ADD and DEL over and over; each address a worker gets is leased to it.
//!
//! Each storm prints one `reliability:` line on stderr (see with `--nocapture`).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{leases, ours, reference, run, Run, TempDir};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
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

fn who(bins: &[PathBuf]) -> &'static str {
    if bins.len() > 1 {
        "ours and the reference"
    } else {
        "ours"
    }
}

#[test]
fn parallel_adds_and_dels_of_ours() {
    add_then_del(&[ours()], "concurrency-ours");
    report_add_then_del(&[ours()]);
}

#[test]
fn parallel_adds_and_dels_mixed_with_the_reference() {
    add_then_del(&[ours(), reference()], "concurrency-mixed");
    report_add_then_del(&[ours(), reference()]);
}

fn report_add_then_del(bins: &[PathBuf]) {
    eprintln!(
        "reliability: {}",
        json!({"kind":"storm","name":format!("host-local parallel ADD then DEL, dual stack, {}", who(bins)),
            "size":N,"outcome":format!("{} distinct addresses, each lease names its holder, all released", 2 * N)})
    );
}

/// v4: .2-.62 (61 addresses); v6: ::2-::1f (30): the second range set runs out first, so
/// every failed ADD has reserved a v4 address that it must give back.
fn small_conf(data: &Path) -> String {
    json!({"cniVersion":"1.0.0","name":"crowd","type":"host-local",
        "ipam":{"type":"host-local","dataDir":data,"ranges":[[{"subnet":"10.78.0.0/26"}],[{"subnet":"fd78::/123"}]]}})
    .to_string()
}
const SMALL_CAPACITY: usize = 30;
const SMALL_STORM: usize = 80;

/// Every entry of the lease directory but `last_reserved_ip.N` (round-robin state): regular
/// files with their content, anything else (a leftover of another kind) by name.
fn store(data: &Path) -> BTreeMap<String, String> {
    let dir = data.join("crowd");
    let files = common::snapshot(&dir);
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.starts_with("last_reserved_ip."))
        .map(|n| {
            let content = files
                .get(&n)
                .cloned()
                .unwrap_or_else(|| "<not a file>".into());
            (n, content)
        })
        .collect()
}

/// The reference's message when the v6 set of [`small_conf`] is full, from the reference itself.
fn reference_exhaustion_message() -> String {
    let tmp = TempDir::new("concurrency-ref-exhaustion");
    let c = small_conf(&tmp.0.join("data"));
    for i in 0..SMALL_CAPACITY {
        assert!(run(&reference(), "ADD", &format!("r{i}"), "eth0", "", &c).ok);
    }
    let r = run(&reference(), "ADD", "one-too-many", "eth0", "", &c);
    assert!(!r.ok);
    r.msg().to_string()
}

fn exhaustion(bins: &[PathBuf], tag: &str) {
    let want = reference_exhaustion_message();
    let tmp = TempDir::new(tag);
    let data = tmp.0.join("data");
    let c = small_conf(&data);
    // Lived in: two attachments already hold an address in each set.
    for id in ["resident1", "resident2"] {
        assert!(run(&ours(), "ADD", id, "eth0", "", &c).ok);
    }
    let before = store(&data);
    let storm = |verb: &str| -> Vec<Run> {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..SMALL_STORM)
                .map(|i| {
                    let bin = bins[i % bins.len()].clone();
                    let (c, verb) = (c.clone(), verb.to_string());
                    s.spawn(move || run(&bin, &verb, &format!("storm-{i}"), "eth0", "", &c))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    };
    let added = storm("ADD");
    let won: Vec<usize> = (0..SMALL_STORM).filter(|i| added[*i].ok).collect();
    assert_eq!(won.len(), SMALL_CAPACITY - 2, "successful ADDs");
    for (i, r) in added.iter().enumerate().filter(|(_, r)| !r.ok) {
        assert_eq!(r.msg(), want, "ADD {i}: {}{}", r.stdout, r.stderr);
        // Ours says 110 (exhausted); the reference says 999.
        assert!(matches!(r.code(), Some(110 | 999)), "ADD {i}: {}", r.stdout);
    }
    let held = leases(&data.join("crowd"));
    assert_eq!(held.len(), 2 * SMALL_CAPACITY, "{held:?}");
    let holders: BTreeSet<&str> = held
        .values()
        .map(|c| c.split('\r').next().unwrap())
        .collect();
    let expected: BTreeSet<String> = won
        .iter()
        .map(|i| format!("storm-{i}"))
        .chain(["resident1".to_string(), "resident2".to_string()])
        .collect();
    assert_eq!(
        holders,
        expected.iter().map(String::as_str).collect(),
        "a failed ADD kept a lease"
    );
    for r in storm("DEL") {
        assert!(r.ok, "DEL: {}{}", r.stdout, r.stderr);
    }
    assert_eq!(
        store(&data),
        before,
        "after every storm attachment was DELed"
    );
    eprintln!(
        "reliability: {}",
        json!({"kind":"storm","name":format!("host-local exhaustion, dual stack, {}", who(bins)),
            "size":SMALL_STORM,"outcome":format!("{} of {SMALL_STORM} parallel ADDs succeeded ({SMALL_CAPACITY} addresses, 2 held), the rest failed with the reference's message and kept nothing; all DELs left the directory as before", won.len())})
    );
}

#[test]
fn exhaustion_storm_of_ours() {
    exhaustion(&[ours()], "concurrency-exhaust-ours");
}

#[test]
fn exhaustion_storm_mixed_with_the_reference() {
    exhaustion(&[ours(), reference()], "concurrency-exhaust-mixed");
}

/// Workers ADD then DEL their own attachment over and over, in parallel, with ours and the
/// reference mixed: whatever address a worker gets is leased to it and to nobody else until
/// it lets go, and nothing is left at the end.
#[test]
fn churn_of_parallel_adds_and_dels() {
    const WORKERS: usize = 8;
    const ROUNDS: usize = 25;
    let tmp = TempDir::new("concurrency-churn");
    let data = tmp.0.join("data");
    let c = small_conf(&data);
    let dir = data.join("crowd");
    let bins = [ours(), reference()];
    std::thread::scope(|s| {
        for w in 0..WORKERS {
            let (c, dir, bins) = (c.clone(), dir.clone(), bins.clone());
            s.spawn(move || {
                let id = format!("churn-{w}");
                for round in 0..ROUNDS {
                    let bin = &bins[(w + round) % 2];
                    let r = run(bin, "ADD", &id, "eth0", "", &c);
                    assert!(r.ok, "{id} round {round}: {}{}", r.stdout, r.stderr);
                    for ip in r.json.as_ref().unwrap()["ips"].as_array().unwrap() {
                        let a = ip["address"].as_str().unwrap().split('/').next().unwrap();
                        let content = std::fs::read_to_string(dir.join(a)).unwrap();
                        assert_eq!(content, format!("{id}\r\neth0"), "{a} in round {round}");
                    }
                    let r = run(&bins[(w + round + 1) % 2], "DEL", &id, "eth0", "", &c);
                    assert!(r.ok, "{id} round {round}: {}{}", r.stdout, r.stderr);
                }
            });
        }
    });
    assert!(leases(&dir).is_empty(), "{:?}", leases(&dir));
    eprintln!(
        "reliability: {}",
        json!({"kind":"storm","name":"host-local churn, dual stack, ours and the reference","size":WORKERS * ROUNDS * 2,
            "outcome":"every address handed out was leased to its holder until its DEL; nothing left"})
    );
}
