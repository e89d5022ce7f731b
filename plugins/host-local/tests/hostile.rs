//! Hostile configurations and planted state (issue #10): what a NetworkAttachmentDefinition
//! author, or a pod that can write into a directory a config points at, may try. Each test
//! names the case it proves in testdata/hostile/hostlocal.tsv.
//!
//! A "victim" directory stands for files the attacker wants deleted or overwritten; every
//! test checks it is byte for byte as before.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ours, run_limited, Limits, Run, TempDir};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

const NET: &str = "hostile";
const SUBNET: &str = "10.66.0.0/24";
/// Enough for the plugin, far too little for an unbounded read.
const MEMORY: u64 = 512 << 20;

fn conf(data: &Path, ipam: Value) -> String {
    let mut c = json!({"cniVersion":"1.1.0","name":NET,"type":"host-local",
        "ipam":{"type":"host-local","dataDir":data,"ranges":[[{"subnet":SUBNET}]]}});
    for (k, v) in ipam.as_object().unwrap() {
        c["ipam"][k] = v.clone();
    }
    c.to_string()
}

fn with_top(conf: &str, key: &str, v: Value) -> String {
    let mut c: Value = serde_json::from_str(conf).unwrap();
    c[key] = v;
    c.to_string()
}

fn call(verb: &str, id: &str, conf: &str) -> Run {
    run_limited(
        &ours(),
        verb,
        id,
        "eth0",
        conf,
        Limits::seconds(20).memory(MEMORY),
    )
}

fn assert_ok(r: &Run, what: &str) {
    assert!(r.ok, "{what} failed: {}{}", r.stdout, r.stderr);
}

/// Everything under `dir`: relative name -> content, "-> target" for a symlink, "<dir>",
/// "<fifo>" or "<other>"; file contents as lossy text.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let e = e.unwrap();
            let p = e.path();
            let name = p.strip_prefix(root).unwrap().display().to_string();
            let t = e.file_type().unwrap();
            let v = if t.is_symlink() {
                format!("-> {}", std::fs::read_link(&p).unwrap().display())
            } else if t.is_dir() {
                walk(root, &p, out);
                "<dir>".into()
            } else if t.is_file() {
                let len = e.metadata().unwrap().len();
                if len > 1 << 20 {
                    format!("<{len} bytes>")
                } else {
                    String::from_utf8_lossy(&std::fs::read(&p).unwrap()).to_string()
                }
            } else {
                use std::os::unix::fs::FileTypeExt;
                if t.is_fifo() {
                    "<fifo>".into()
                } else {
                    "<other>".into()
                }
            };
            out.insert(name, v);
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// A victim directory with files an attacker would like removed or rewritten: names the
/// store uses (`lock`, `state`, addresses, buckets `00`..`ff`) holding precious content.
fn victim(at: &Path) -> PathBuf {
    let v = at.join("victim");
    std::fs::create_dir_all(&v).unwrap();
    for name in [
        "lock",
        "state",
        "last_reserved_ip.0",
        "10.66.0.2",
        "10.66.0.5",
    ] {
        std::fs::write(v.join(name), format!("precious {name}")).unwrap();
    }
    // What a DEL of c1/eth0 would remove if it followed a link into here.
    std::fs::write(v.join("10.66.0.7"), "c1\r\neth0").unwrap();
    for b in 0..256 {
        std::fs::write(v.join(format!("{b:02x}")), "precious bucket").unwrap();
    }
    v
}

fn leases(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|n| n.parse::<std::net::IpAddr>().is_ok())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn set_age(path: &Path, age: Duration) {
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - age).unwrap();
}

fn mkfifo(path: &Path) {
    let ok = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo {}", path.display());
}

// ---- resolvConf -------------------------------------------------------------------------

#[test]
fn resolv_conf_dev_zero_is_refused_not_read() {
    let tmp = TempDir::new("hostile-zero");
    let data = tmp.0.join("data");
    let r = call("ADD", "c1", &conf(&data, json!({"resolvConf":"/dev/zero"})));
    assert!(!r.ok);
    assert_eq!(r.code(), Some(5), "{}{}", r.stdout, r.stderr);
    assert!(r.msg().contains("/dev/zero"), "{}", r.msg());
    assert!(r.msg().contains("character device"), "{}", r.msg());
    assert!(leases(&data.join(NET)).is_empty());
}

#[test]
fn resolv_conf_fifo_is_refused_not_waited_on() {
    let tmp = TempDir::new("hostile-fifo");
    let data = tmp.0.join("data");
    let fifo = tmp.0.join("resolv.fifo");
    mkfifo(&fifo);
    let r = call("ADD", "c1", &conf(&data, json!({ "resolvConf": fifo })));
    assert_eq!(r.code(), Some(5), "{}{}", r.stdout, r.stderr);
    assert!(r.msg().contains("FIFO"), "{}", r.msg());
    assert!(leases(&data.join(NET)).is_empty());
}

#[test]
fn resolv_conf_larger_than_the_bound_is_refused() {
    let tmp = TempDir::new("hostile-bigresolv");
    let data = tmp.0.join("data");
    let big = tmp.0.join("resolv.conf");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(4 << 30).unwrap(); // sparse: 4 GiB of zeros
    let r = call("ADD", "c1", &conf(&data, json!({ "resolvConf": big })));
    assert_eq!(r.code(), Some(5), "{}{}", r.stdout, r.stderr);
    assert!(r.msg().contains("larger than"), "{}", r.msg());
}

#[test]
fn resolv_conf_through_a_symlink_is_read() {
    // /etc/resolv.conf is a symlink on many nodes: a read-only file may be reached by one.
    let tmp = TempDir::new("hostile-resolvlink");
    let data = tmp.0.join("data");
    let real = tmp.0.join("real-resolv.conf");
    std::fs::write(&real, "nameserver 10.66.0.53\n").unwrap();
    let link = tmp.0.join("resolv.conf");
    symlink(&real, &link).unwrap();
    let r = call("ADD", "c1", &conf(&data, json!({ "resolvConf": link })));
    assert_ok(&r, "ADD");
    assert_eq!(
        r.json.unwrap()["dns"],
        json!({"nameservers":["10.66.0.53"]})
    );
}

// ---- dataDir and the lease directory ------------------------------------------------------

#[test]
fn data_dir_below_a_symlink_is_refused_and_teardown_still_succeeds() {
    let tmp = TempDir::new("hostile-datadir");
    let v = victim(&tmp.0);
    std::fs::create_dir_all(v.join(NET)).unwrap();
    std::fs::write(v.join(NET).join("10.66.0.9"), "c1\r\neth0").unwrap();
    let before = tree(&v);
    symlink(&v, tmp.0.join("link")).unwrap();
    let c = conf(&tmp.0.join("link"), json!({}));
    let r = call("ADD", "c1", &c);
    assert!(!r.ok, "ADD through a symlinked dataDir: {}", r.stdout);
    assert_eq!(r.code(), Some(7), "{}", r.stdout);
    assert!(r.msg().contains("ipam.dataDir"), "{}", r.msg());
    // A value refused at ADD must not make DEL or GC fail (nothing of ours can be there).
    assert_ok(&call("DEL", "c1", &c), "DEL");
    assert_ok(
        &call(
            "GC",
            "",
            &with_top(&c, "cni.dev/valid-attachments", json!([])),
        ),
        "GC",
    );
    assert_eq!(tree(&v), before, "the victim changed");
}

#[test]
fn relative_data_dir_is_refused() {
    let r = call("ADD", "c1", &conf(Path::new("relative/dir"), json!({})));
    assert_eq!(r.code(), Some(7), "{}", r.stdout);
    assert!(r.msg().contains("ipam.dataDir"), "{}", r.msg());
}

#[test]
fn symlinked_lease_directory_is_not_followed() {
    let tmp = TempDir::new("hostile-leasedir");
    let data = tmp.0.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let v = victim(&tmp.0);
    let before = tree(&v);
    symlink(&v, data.join(NET)).unwrap();
    let c = conf(&data, json!({}));
    let r = call("ADD", "c1", &c);
    assert!(!r.ok, "ADD into a symlinked lease directory: {}", r.stdout);
    assert_eq!(r.code(), Some(5), "{}", r.stdout);
    assert!(r.msg().contains("symbolic link"), "{}", r.msg());
    // Teardown succeeds (we never wrote there) and touches nothing.
    assert_ok(&call("DEL", "c1", &c), "DEL");
    let gc = with_top(&c, "cni.dev/valid-attachments", json!([]));
    assert_ok(&call("GC", "", &gc), "GC");
    assert_eq!(tree(&v), before, "the victim changed");
}

#[test]
fn symlinked_index_directory_is_not_followed() {
    let tmp = TempDir::new("hostile-indexdir");
    let data = tmp.0.join("data");
    let c = conf(&data, json!({}));
    assert_ok(&call("ADD", "c0", &c), "ADD");
    let v = victim(&tmp.0);
    std::fs::create_dir_all(v.join("owners")).unwrap();
    let before = tree(&v);
    let index = data.join(".nfv-hostlocal").join(NET);
    std::fs::remove_dir_all(&index).unwrap();
    symlink(&v, &index).unwrap();
    // The index is a cache: ADD, DEL and GC work without it, and never write through the link.
    assert_ok(&call("ADD", "c1", &c), "ADD");
    assert_ok(&call("DEL", "c1", &c), "DEL");
    assert_ok(
        &call(
            "GC",
            "",
            &with_top(
                &c,
                "cni.dev/valid-attachments",
                json!([{"containerID":"c0","ifname":"eth0"}]),
            ),
        ),
        "GC",
    );
    assert_eq!(leases(&data.join(NET)), ["10.66.0.2"]);
    assert_eq!(tree(&v), before, "the victim changed");
    assert!(std::fs::symlink_metadata(&index)
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn symlinked_owners_directory_is_not_followed() {
    let tmp = TempDir::new("hostile-owners");
    let data = tmp.0.join("data");
    let c = conf(&data, json!({}));
    assert_ok(&call("ADD", "c0", &c), "ADD");
    let v = victim(&tmp.0);
    let before = tree(&v);
    let owners = data.join(".nfv-hostlocal").join(NET).join("owners");
    std::fs::remove_dir_all(&owners).unwrap();
    symlink(&v, &owners).unwrap();
    assert_ok(&call("ADD", "c1", &c), "ADD");
    assert_ok(&call("DEL", "c1", &c), "DEL");
    assert_ok(&call("DEL", "c0", &c), "DEL");
    assert!(leases(&data.join(NET)).is_empty());
    assert_eq!(tree(&v), before, "the victim changed");
}

#[test]
fn symlinked_index_files_are_not_followed() {
    let tmp = TempDir::new("hostile-indexfiles");
    let data = tmp.0.join("data");
    let c = conf(&data, json!({}));
    assert_ok(&call("ADD", "c0", &c), "ADD");
    let v = victim(&tmp.0);
    let before = tree(&v);
    let index = data.join(".nfv-hostlocal").join(NET);
    // Every bucket and the state file become links into the victim.
    std::fs::remove_file(index.join("state")).unwrap();
    symlink(v.join("state"), index.join("state")).unwrap();
    for b in 0..256 {
        let p = index.join("owners").join(format!("{b:02x}"));
        let _ = std::fs::remove_file(&p);
        symlink(v.join(format!("{b:02x}")), &p).unwrap();
    }
    assert_ok(&call("ADD", "c1", &c), "ADD");
    assert_ok(&call("DEL", "c1", &c), "DEL");
    assert_ok(&call("DEL", "c0", &c), "DEL");
    assert!(leases(&data.join(NET)).is_empty());
    assert_eq!(tree(&v), before, "the victim changed");
}

// ---- files in the lease directory ---------------------------------------------------------

#[test]
fn symlinks_named_like_store_files_are_left_alone() {
    let tmp = TempDir::new("hostile-leaselinks");
    let data = tmp.0.join("data");
    let dir = data.join(NET);
    std::fs::create_dir_all(&dir).unwrap();
    let v = victim(&tmp.0);
    let before = tree(&v);
    // A link named like a lease pointing at a file that holds c1/eth0's key.
    symlink(v.join("10.66.0.7"), dir.join("10.66.0.2")).unwrap();
    let c = conf(&data, json!({}));
    let r = call("ADD", "c1", &c);
    assert_ok(&r, "ADD");
    assert_eq!(r.json.unwrap()["ips"][0]["address"], "10.66.0.3/24");
    assert_ok(&call("DEL", "c1", &c), "DEL");
    // GC with an empty list releases every lease: not the link, nor what it points at.
    let gc = with_top(&c, "cni.dev/valid-attachments", json!([]));
    assert_ok(&call("GC", "", &gc), "GC");
    assert!(std::fs::symlink_metadata(dir.join("10.66.0.2"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(tree(&v), before, "the victim changed");
}

#[test]
fn symlinked_lock_is_refused() {
    let tmp = TempDir::new("hostile-lock");
    let data = tmp.0.join("data");
    let dir = data.join(NET);
    std::fs::create_dir_all(&dir).unwrap();
    let v = victim(&tmp.0);
    let before = tree(&v);
    symlink(v.join("lock"), dir.join("lock")).unwrap();
    let r = call("ADD", "c1", &conf(&data, json!({})));
    assert_eq!(r.code(), Some(5), "{}", r.stdout);
    assert!(r.msg().contains("symbolic link"), "{}", r.msg());
    assert!(leases(&dir).is_empty());
    assert_eq!(tree(&v), before, "the victim changed");
}

#[test]
fn fifos_in_the_lease_directory_never_block() {
    let tmp = TempDir::new("hostile-fifos");
    let data = tmp.0.join("data");
    let dir = data.join(NET);
    std::fs::create_dir_all(&dir).unwrap();
    mkfifo(&dir.join("10.66.0.2"));
    mkfifo(&dir.join("last_reserved_ip.0"));
    let c = conf(&data, json!({}));
    // The FIFO named like a lease is a taken address; the one named like last_reserved_ip.0
    // cannot be written, so ADD fails and leaves no lease behind.
    let r = call("ADD", "c1", &c);
    assert!(!r.ok);
    assert_eq!(r.code(), Some(5), "{}{}", r.stdout, r.stderr);
    assert!(r.msg().contains("FIFO"), "{}", r.msg());
    assert_eq!(leases(&dir), ["10.66.0.2"]);
    std::fs::remove_file(dir.join("last_reserved_ip.0")).unwrap();
    let r = call("ADD", "c1", &c);
    assert_ok(&r, "ADD");
    assert_eq!(r.json.unwrap()["ips"][0]["address"], "10.66.0.3/24");
    assert_ok(&call("DEL", "c1", &c), "DEL");
    let gc = with_top(&c, "cni.dev/valid-attachments", json!([]));
    assert_ok(&call("GC", "", &gc), "GC");
    assert_eq!(leases(&dir), ["10.66.0.2"]);
    // A FIFO as the lock: refused at once.
    std::fs::remove_file(dir.join("lock")).unwrap();
    mkfifo(&dir.join("lock"));
    let r = call("ADD", "c1", &c);
    assert_eq!(r.code(), Some(5), "{}{}", r.stdout, r.stderr);
    assert!(r.msg().contains("FIFO"), "{}", r.msg());
}

#[test]
fn huge_or_binary_lease_files_are_not_read_whole_and_block_nothing() {
    let tmp = TempDir::new("hostile-bigleases");
    let data = tmp.0.join("data");
    let dir = data.join(NET);
    std::fs::create_dir_all(&dir).unwrap();
    let f = std::fs::File::create(dir.join("10.66.0.2")).unwrap();
    f.set_len(4 << 30).unwrap(); // sparse: 4 GiB of zeros
    std::fs::write(dir.join("10.66.0.3"), [0xff, 0xfe, b'\r', b'\n', 0x80]).unwrap();
    let c = conf(&data, json!({}));
    let r = call("ADD", "c1", &c);
    assert_ok(&r, "ADD");
    assert_eq!(r.json.unwrap()["ips"][0]["address"], "10.66.0.4/24");
    assert_ok(&call("DEL", "c1", &c), "DEL");
    let gc = with_top(&c, "cni.dev/valid-attachments", json!([]));
    assert_ok(&call("GC", "", &gc), "GC");
    // Neither is a lease of ours: both stay.
    assert_eq!(leases(&dir), ["10.66.0.2", "10.66.0.3"]);
}

#[test]
fn unwritable_last_reserved_ip_rolls_the_lease_back() {
    let tmp = TempDir::new("hostile-lastip");
    let data = tmp.0.join("data");
    let dir = data.join(NET);
    std::fs::create_dir_all(&dir).unwrap();
    let v = victim(&tmp.0);
    let before = tree(&v);
    let c = conf(&data, json!({}));
    // A directory, then a symlink, where last_reserved_ip.0 goes.
    std::fs::create_dir(dir.join("last_reserved_ip.0")).unwrap();
    let r = call("ADD", "c1", &c);
    assert!(!r.ok, "{}", r.stdout);
    assert_eq!(r.code(), Some(5), "{}", r.stdout);
    assert!(leases(&dir).is_empty(), "lease left: {:?}", leases(&dir));
    std::fs::remove_dir(dir.join("last_reserved_ip.0")).unwrap();
    symlink(v.join("last_reserved_ip.0"), dir.join("last_reserved_ip.0")).unwrap();
    let r = call("ADD", "c1", &c);
    assert!(!r.ok, "{}", r.stdout);
    assert!(leases(&dir).is_empty(), "lease left: {:?}", leases(&dir));
    assert_eq!(tree(&v), before, "the victim changed");
    // With the path fixed the attachment gets the first address: nothing stayed reserved.
    std::fs::remove_file(dir.join("last_reserved_ip.0")).unwrap();
    let r = call("ADD", "c1", &c);
    assert_ok(&r, "ADD");
    assert_eq!(r.json.unwrap()["ips"][0]["address"], "10.66.0.2/24");
}

// ---- empty leases (a writer killed between create and write) -------------------------------

#[test]
fn an_old_empty_lease_is_reclaimed() {
    let tmp = TempDir::new("hostile-empty");
    let data = tmp.0.join("data");
    let dir = data.join(NET);
    std::fs::create_dir_all(&dir).unwrap();
    // What the reference leaves when killed between creating a lease and writing it.
    std::fs::write(dir.join("10.66.0.2"), "").unwrap();
    set_age(&dir.join("10.66.0.2"), Duration::from_secs(60));
    let c = conf(&data, json!({}));
    let r = call("ADD", "c1", &c);
    assert_ok(&r, "ADD");
    assert_eq!(r.json.unwrap()["ips"][0]["address"], "10.66.0.2/24");
    assert_ok(&call("DEL", "c1", &c), "DEL");
    assert!(leases(&dir).is_empty(), "{:?}", leases(&dir));
}

#[test]
fn a_fresh_empty_lease_is_kept_until_it_is_old() {
    let tmp = TempDir::new("hostile-fresh-empty");
    let data = tmp.0.join("data");
    let dir = data.join(NET);
    let c = conf(&data, json!({}));
    assert_ok(&call("ADD", "c0", &c), "ADD");
    std::fs::write(dir.join("10.66.0.3"), "").unwrap();
    // Just written: maybe a writer that does not take the lock is still at it; skipped.
    let r = call("ADD", "c1", &c);
    assert_ok(&r, "ADD");
    assert_eq!(r.json.unwrap()["ips"][0]["address"], "10.66.0.4/24");
    assert_eq!(leases(&dir), ["10.66.0.2", "10.66.0.3", "10.66.0.4"]);
    // Once old, any operation on the network (here a DEL of someone else) frees it.
    set_age(&dir.join("10.66.0.3"), Duration::from_secs(60));
    assert_ok(&call("DEL", "c1", &c), "DEL");
    assert_eq!(leases(&dir), ["10.66.0.2"]);
}
