//! Black-box tests of what only ours does (the reference has no GC or STATUS and speaks at most
//! CNI 1.0.0): GC, STATUS, CHECK against prevResult, 1.1.0 results, file modes, path safety.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{leases, ours, run, TempDir};
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn conf(data: &Path, subnet: &str, extra: Value) -> String {
    let mut c = json!({"cniVersion":"1.1.0","name":"verbs","type":"host-local",
        "ipam":{"type":"host-local","dataDir":data,"ranges":[[{"subnet":subnet}]]}});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c.to_string()
}

#[test]
fn add_result_in_1_1_0_and_file_modes() {
    let tmp = TempDir::new("verbs-add");
    let data = tmp.0.join("data");
    let r = run(
        &ours(),
        "ADD",
        "c1",
        "eth0",
        "",
        &conf(&data, "10.5.0.0/24", json!({})),
    );
    assert!(r.ok, "{}{}", r.stdout, r.stderr);
    assert_eq!(
        r.json.unwrap(),
        json!({"cniVersion":"1.1.0","ips":[{"address":"10.5.0.2/24","gateway":"10.5.0.1"}],"dns":{}})
    );
    let dir = data.join("verbs");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.join("10.5.0.2")), 0o600);
    assert_eq!(mode(&dir.join("last_reserved_ip.0")), 0o600);
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(std::fs::read(dir.join("10.5.0.2")).unwrap(), b"c1\r\neth0");
}

#[test]
fn check_compares_the_lease_with_prev_result() {
    let tmp = TempDir::new("verbs-check");
    let data = tmp.0.join("data");
    let add = run(
        &ours(),
        "ADD",
        "c1",
        "eth0",
        "",
        &conf(&data, "10.6.0.0/24", json!({})),
    );
    assert!(add.ok);
    let prev = add.json.unwrap();
    let ok = run(
        &ours(),
        "CHECK",
        "c1",
        "eth0",
        "",
        &conf(&data, "10.6.0.0/24", json!({"prevResult": prev})),
    );
    assert!(ok.ok, "{}", ok.stdout);
    // prevResult names an address this attachment does not hold.
    let mut wrong = prev.clone();
    wrong["ips"][0]["address"] = json!("10.6.0.77/24");
    let r = run(
        &ours(),
        "CHECK",
        "c1",
        "eth0",
        "",
        &conf(&data, "10.6.0.0/24", json!({"prevResult": wrong})),
    );
    assert!(!r.ok);
    assert_eq!(r.code(), Some(113), "{}", r.stdout);
    assert!(r.msg().contains("10.6.0.77"), "{}", r.msg());
    // No lease at all.
    let r = run(
        &ours(),
        "CHECK",
        "c2",
        "eth0",
        "",
        &conf(&data, "10.6.0.0/24", json!({})),
    );
    assert_eq!(r.code(), Some(113));
    assert_eq!(
        r.msg(),
        "host-local: Failed to find address added by container c2"
    );
}

#[test]
fn gc_releases_leases_of_attachments_not_listed() {
    let tmp = TempDir::new("verbs-gc");
    let data = tmp.0.join("data");
    for (id, ifname) in [
        ("keep", "eth0"),
        ("keep", "net1"),
        ("drop", "eth0"),
        ("drop2", "eth0"),
    ] {
        assert!(
            run(
                &ours(),
                "ADD",
                id,
                ifname,
                "",
                &conf(&data, "10.7.0.0/24", json!({}))
            )
            .ok
        );
    }
    let dir = data.join("verbs");
    std::fs::write(dir.join("10.7.0.100"), "keep").unwrap(); // legacy lease of a live container
    std::fs::write(dir.join("10.7.0.101"), "gone").unwrap(); // legacy lease of a dead one
    let valid = json!({"cni.dev/valid-attachments":[{"containerID":"keep","ifname":"eth0"},{"containerID":"keep","ifname":"net1"}]});
    let r = run(
        &ours(),
        "GC",
        "",
        "",
        "",
        &conf(&data, "10.7.0.0/24", valid.clone()),
    );
    assert!(r.ok, "{}{}", r.stdout, r.stderr);
    let left: Vec<String> = leases(&dir).into_keys().collect();
    assert_eq!(left, ["10.7.0.100", "10.7.0.2", "10.7.0.3"]);
    // Idempotent.
    assert!(
        run(
            &ours(),
            "GC",
            "",
            "",
            "",
            &conf(&data, "10.7.0.0/24", valid)
        )
        .ok
    );
    assert_eq!(leases(&dir).len(), 3);
    // The index followed GC: a released attachment can ADD again, a kept one cannot.
    assert!(
        run(
            &ours(),
            "ADD",
            "drop",
            "eth0",
            "",
            &conf(&data, "10.7.0.0/24", json!({}))
        )
        .ok
    );
    let dup = run(
        &ours(),
        "ADD",
        "keep",
        "eth0",
        "",
        &conf(&data, "10.7.0.0/24", json!({})),
    );
    assert_eq!(dup.code(), Some(112), "{}", dup.stdout);
    // libcni's rule: without a list no attachment is valid, so GC releases every lease.
    let r = run(
        &ours(),
        "GC",
        "",
        "",
        "",
        &conf(&data, "10.7.0.0/24", json!({})),
    );
    assert!(r.ok, "{}{}", r.stdout, r.stderr);
    assert!(leases(&dir).is_empty(), "{:?}", leases(&dir));
}

/// How libcni sends the list: under both the spec's key and the misspelt `cni.dev/attachments`
/// (libcni #1101), or, when its caller passed none, under neither; `null` counts as none.
#[test]
fn gc_reads_the_list_as_libcni_sends_it() {
    let tmp = TempDir::new("verbs-gc-libcni");
    let data = tmp.0.join("data");
    let dir = data.join("verbs");
    let add_all = || {
        for id in ["a", "b", "c"] {
            // Those GC kept are there already (112).
            let r = run(
                &ours(),
                "ADD",
                id,
                "eth0",
                "",
                &conf(&data, "10.17.0.0/24", json!({})),
            );
            assert!(r.ok || r.code() == Some(112), "{}{}", r.stdout, r.stderr);
        }
    };
    let gc = |extra: Value| {
        let r = run(
            &ours(),
            "GC",
            "",
            "",
            "",
            &conf(&data, "10.17.0.0/24", extra),
        );
        assert!(r.ok, "{}{}", r.stdout, r.stderr);
        let mut held: Vec<String> = leases(&dir)
            .into_values()
            .map(|c| c.split('\r').next().unwrap().to_string())
            .collect();
        held.sort();
        held
    };
    let a = json!([{"containerID":"a","ifname":"eth0"}]);
    let b = json!([{"containerID":"b","ifname":"eth0"}]);
    add_all();
    assert_eq!(
        gc(json!({"cni.dev/valid-attachments": a, "cni.dev/attachments": a})),
        ["a"]
    );
    add_all();
    assert_eq!(gc(json!({ "cni.dev/attachments": b })), ["b"]);
    add_all();
    // The spec's key wins when both are there and differ.
    assert_eq!(
        gc(json!({"cni.dev/valid-attachments": a, "cni.dev/attachments": b})),
        ["a"]
    );
    assert_eq!(
        gc(json!({ "cni.dev/valid-attachments": null })),
        Vec::<String>::new()
    );
}

#[test]
fn status_reports_exhaustion_and_unusable_data_dirs() {
    let tmp = TempDir::new("verbs-status");
    let data = tmp.0.join("data");
    let c = conf(&data, "10.8.0.0/30", json!({}));
    assert!(run(&ours(), "STATUS", "", "", "", &c).ok);
    assert!(run(&ours(), "ADD", "c1", "eth0", "", &c).ok);
    let r = run(&ours(), "STATUS", "", "", "", &c);
    assert_eq!(r.code(), Some(50), "{}", r.stdout);
    assert!(
        r.msg().contains("no IP addresses available in range set 0"),
        "{}",
        r.msg()
    );
    assert!(run(&ours(), "DEL", "c1", "eth0", "", &c).ok);
    assert!(run(&ours(), "STATUS", "", "", "", &c).ok);
    // dataDir is a file: unusable.
    let file = tmp.0.join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let r = run(
        &ours(),
        "STATUS",
        "",
        "",
        "",
        &conf(&file, "10.8.0.0/30", json!({})),
    );
    assert_eq!(r.code(), Some(50), "{}", r.stdout);
    assert!(r.msg().contains("unusable"), "{}", r.msg());
}

#[test]
fn names_never_escape_the_data_dir() {
    let tmp = TempDir::new("verbs-escape");
    let data = tmp.0.join("data");
    for name in ["../escape", "a/b", "..", "."] {
        let mut c: Value = serde_json::from_str(&conf(&data, "10.9.0.0/24", json!({}))).unwrap();
        c["name"] = json!(name);
        let r = run(&ours(), "ADD", "c1", "eth0", "", &c.to_string());
        assert!(!r.ok, "name {name:?} accepted");
        assert_eq!(r.code(), Some(7), "{name:?}: {}", r.stdout);
    }
    for (id, ifname) in [("../../x", "eth0"), ("c1", "../x"), ("c1", "a/b")] {
        let r = run(
            &ours(),
            "ADD",
            id,
            ifname,
            "",
            &conf(&data, "10.9.0.0/24", json!({})),
        );
        assert!(!r.ok, "{id:?}/{ifname:?} accepted");
        assert_eq!(r.code(), Some(4), "{}", r.stdout);
    }
    assert!(!tmp.0.join("escape").exists() && !tmp.0.join("x").exists());
    assert!(leases(&data.join("verbs")).is_empty());
}

#[test]
fn del_is_idempotent_and_tolerates_a_missing_directory() {
    let tmp = TempDir::new("verbs-del");
    let data = tmp.0.join("data");
    let c = conf(&data, "10.10.0.0/24", json!({}));
    for _ in 0..2 {
        let r = run(&ours(), "DEL", "never", "eth0", "", &c);
        assert!(r.ok, "{}", r.stdout);
    }
    assert!(run(&ours(), "ADD", "c1", "eth0", "", &c).ok);
    for _ in 0..2 {
        assert!(run(&ours(), "DEL", "c1", "eth0", "", &c).ok);
    }
    assert!(leases(&data.join("verbs")).is_empty());
}
