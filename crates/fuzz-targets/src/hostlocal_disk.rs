//! host-local's files on disk: lease files, `last_reserved_ip.N`, the owner index (`state`
//! and `owners/<bucket>`) and `resolvConf` (input: sections, see [`crate::chunks::sections`]:
//! `@lease/<name>` for a file in the lease directory, `@index/state` or
//! `@index/owners/<bucket>` for the index, where `@stamp` in the state is replaced by the lease
//! directory's real identity and mtime so the index is trusted, `@resolv` for a resolv.conf).
//!
//! The files are written to a scratch data directory; then, on a network with one IPv4 and one
//! IPv6 range set: list every lease, look up attachment A, release attachment B (DEL),
//! allocate for attachment C (ADD), save, reopen and look up C again.
//!
//! Properties: every step answers (a result or an error, never a panic: parsing the files is
//! total); an address reported as held by A holds A's key; DEL removes only B's leases and
//! changes no other file; ADD never takes or rewrites an existing lease, allocates inside its
//! set and never a gateway, and what it allocated is found again after reopening; when the
//! index was not planted trusted, B holds nothing after its DEL.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use nfv_hostlocal::resolv::ResolvConf;
use nfv_hostlocal::store::LeaseStore;
use nfv_hostlocal::{allocate, DiskStore, IpamConfig, Owner};
use serde_json::json;

use crate::chunks::sections;
use crate::scratch::Scratch;

const NETWORK: &str = "fuzznet";

fn single_component(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\0'])
}

/// Regular files of the lease directory: name to content.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_file()) {
            if let (Some(n), Ok(c)) = (e.file_name().to_str(), std::fs::read(e.path())) {
                out.insert(n.to_string(), c);
            }
        }
    }
    out
}

fn holds(content: Option<&Vec<u8>>, owner: &Owner) -> bool {
    let Some(c) = content else { return false };
    let text = String::from_utf8_lossy(c);
    let t = text.trim();
    t == owner.key() || t == owner.legacy_key()
}

/// Files that only the store's bookkeeping rewrites.
fn bookkeeping(name: &str) -> bool {
    // The store's own files: its lock, the round-robin positions, and temp files of its own
    // naming, which every run sweeps as a killed run's leftovers (never a lease).
    name == "lock" || name.starts_with("last_reserved_ip.") || name.starts_with(".nfv-hostlocal-")
}

pub fn run(data: &[u8]) {
    let scratch = Scratch::new("hostlocal");
    let data_dir = scratch.path().join("data");
    let lease_dir = data_dir.join(NETWORK);
    let index_dir = data_dir.join(".nfv-hostlocal").join(NETWORK);
    std::fs::create_dir_all(&lease_dir).unwrap();
    std::fs::create_dir_all(index_dir.join("owners")).unwrap();

    let parts = sections(data);
    for (name, content) in &parts {
        let name = String::from_utf8_lossy(name);
        if let Some(file) = name.strip_prefix("lease/").filter(|f| single_component(f)) {
            // A name the filesystem refuses (too long) is simply not there.
            let _ = std::fs::write(lease_dir.join(file), content);
        }
        if name == "resolv" {
            resolv(&String::from_utf8_lossy(content));
        }
    }
    // The index goes in after the leases: its stamp is the lease directory's final one.
    let meta = std::fs::metadata(&lease_dir).unwrap();
    let stamp = format!(
        "{} {} {} {}",
        meta.dev(),
        meta.ino(),
        meta.mtime(),
        meta.mtime_nsec()
    );
    let mut trusted_index = false;
    for (name, content) in &parts {
        let name = String::from_utf8_lossy(name);
        let Some(file) = name.strip_prefix("index/") else {
            continue;
        };
        let ok = file == "state" || file.strip_prefix("owners/").is_some_and(single_component);
        if !ok {
            continue;
        }
        let mut content = content.to_vec();
        if file == "state" {
            let text = String::from_utf8_lossy(&content);
            if text.contains("@stamp") {
                trusted_index = true;
                content = text.replace("@stamp", &stamp).into_bytes();
            }
        }
        let _ = std::fs::write(index_dir.join(file), content);
    }
    operations(&data_dir, &lease_dir, trusted_index);
}

fn operations(data_dir: &Path, lease_dir: &Path, trusted_index: bool) {
    let conf = json!({
        "cniVersion": "1.0.0",
        "name": NETWORK,
        "ipam": {
            "type": "host-local",
            "dataDir": data_dir,
            "ranges": [[{"subnet": "10.9.0.0/29"}], [{"subnet": "fd00:9::/125"}]],
        },
    });
    let conf = IpamConfig::load(&conf, &[]).unwrap();
    let a = Owner::new("c1", "eth0");
    let b = Owner::new("c2", "eth0");
    let c = Owner::new("c3", "net1");

    let before = snapshot(lease_dir);
    let Ok(mut store) = DiskStore::open(data_dir, NETWORK) else {
        return;
    };
    let _ = store.all_leases();
    let _ = store.lease_count();
    for set in 0..3 {
        let _ = store.last_reserved(set);
    }
    if let Ok(held) = store.leases_of(&a) {
        for ip in held {
            assert!(
                holds(before.get(&ip.to_string()), &a),
                "{ip} reported as A's: {:?}",
                before.get(&ip.to_string())
            );
        }
    }

    // DEL as the plugin runs it: one release per range set (the second clears legacy leases).
    let errors = nfv_hostlocal::release(&mut store, conf.range_sets.len(), &b);
    let after_del = snapshot(lease_dir);
    for (name, content) in &before {
        match after_del.get(name) {
            Some(now) => assert!(
                now == content || bookkeeping(name),
                "DEL of B rewrote {name}"
            ),
            None => assert!(
                holds(Some(content), &b) || bookkeeping(name),
                "DEL of B removed {name}: {content:?}"
            ),
        }
    }

    let allocated = allocate(&mut store, &conf.range_sets, &c, &[]);
    let after_add = snapshot(lease_dir);
    for (name, content) in &after_del {
        let now = after_add.get(name);
        let unchanged = now == Some(content) || bookkeeping(name);
        // A failed ADD gives back what C held, as the reference does.
        let cs_own = allocated.is_err() && now.is_none() && holds(Some(content), &c);
        assert!(
            unchanged || cs_own,
            "ADD of C changed {name}: {content:?} -> {now:?}"
        );
    }
    let _ = store.finish();
    let Ok(allocated) = allocated else {
        return;
    };
    for al in &allocated {
        let name = al.ip.to_string();
        assert!(
            !after_del.contains_key(&name),
            "ADD took the existing lease {name}"
        );
        assert_eq!(
            after_add.get(&name).map(Vec::as_slice),
            Some(c.key().as_bytes()),
            "lease {name} of C"
        );
        let set = &conf.range_sets[al.set_index];
        let r = set.range_for(al.ip).expect("allocated inside its set");
        assert_ne!(al.ip, r.gateway);
    }

    let Ok(mut again) = DiskStore::open(data_dir, NETWORK) else {
        return;
    };
    let mut found: Vec<IpAddr> = again.leases_of(&c).unwrap_or_default();
    found.sort();
    for al in &allocated {
        assert!(
            found.contains(&al.ip),
            "C's {} not found after reopening",
            al.ip
        );
    }
    if !trusted_index && errors.is_empty() {
        assert_eq!(
            again.leases_of(&b).map(|v| v.len()).unwrap_or(0),
            0,
            "B still holds leases after its DEL"
        );
    }
    let _ = again.finish();
}

/// resolv.conf parsing is total, and what it keeps are single words.
fn resolv(text: &str) {
    let r = ResolvConf::parse(text);
    for w in r.nameservers.iter().chain(&r.search).chain(&r.options) {
        assert!(
            !w.is_empty() && !w.chars().any(char::is_whitespace),
            "{w:?}"
        );
    }
    assert!(!r.domain.chars().any(char::is_whitespace));
}
