//! Crash test: our binary is killed with SIGKILL at every step of a dual-stack ADD (test-only
//! crash points, compiled in with the `test-hooks` feature only), then the runtime's DEL runs;
//! the leases and the owner index must be exactly as before the ADD, with nothing left over.
//!
//!     cargo test -p host-local --features test-hooks --test crash

#![cfg(feature = "test-hooks")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ours, run, run_env, TempDir};
use nfv_hostlocal::crash::{ADD_POINTS, CRASH_VAR};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;

const NET: &str = "crash";

fn conf(data: &Path) -> String {
    json!({"cniVersion":"1.1.0","name":NET,"type":"host-local",
        "ipam":{"type":"host-local","dataDir":data,
            "ranges":[[{"subnet":"10.88.0.0/24"}],[{"subnet":"fd88::/120"}]]}})
    .to_string()
}

/// Every entry of the lease directory but `last_reserved_ip.N` (round-robin state, which a
/// successful ADD and DEL move on too), every index bucket, and the index's lease count.
fn store_state(data: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(data.join(NET)).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if name.starts_with("last_reserved_ip.") {
            continue;
        }
        let content = std::fs::read_to_string(data.join(NET).join(&name)).unwrap();
        out.insert(format!("lease dir/{name}"), content);
    }
    let index = data.join(".nfv-hostlocal").join(NET);
    for e in std::fs::read_dir(index.join("owners")).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        out.insert(
            format!("index/owners/{name}"),
            std::fs::read_to_string(e.path()).unwrap(),
        );
    }
    for e in std::fs::read_dir(&index).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if name != "owners" && name != "state" {
            out.insert(format!("index/{name}"), "unexpected".into());
        }
    }
    // The state's stamp (the directory's mtime) changes with every run; its count must not.
    let state = std::fs::read_to_string(index.join("state")).unwrap();
    let count = state.split_whitespace().last().unwrap().to_string();
    out.insert("index/state count".into(), count);
    out
}

#[test]
fn sigkill_at_every_add_step_then_del_leaves_leases_and_index_as_before() {
    for point in ADD_POINTS {
        let tmp = TempDir::new(&format!("crash-{point}"));
        let data = tmp.0.join("data");
        let c = conf(&data);
        // A lived-in network: two attachments hold addresses in both sets.
        for id in ["other1", "other2"] {
            let r = run(&ours(), "ADD", id, "eth0", "", &c);
            assert!(r.ok, "{}{}", r.stdout, r.stderr);
        }
        let before = store_state(&data);

        let r = run_env(
            &ours(),
            "ADD",
            "victim",
            "net1",
            "",
            &c,
            &[(CRASH_VAR, point)],
        );
        assert_eq!(
            r.signal,
            Some(9),
            "ADD was not killed at {point}: {}{}",
            r.stdout,
            r.stderr
        );
        // The runtime saw ADD fail: it runs DEL.
        let r = run(&ours(), "DEL", "victim", "net1", "", &c);
        assert!(
            r.ok,
            "DEL after a kill at {point}: {}{}",
            r.stdout, r.stderr
        );
        assert_eq!(
            store_state(&data),
            before,
            "after a kill at {point} and DEL"
        );

        // And the network works on: the attachment can come back, the others leave.
        let r = run(&ours(), "ADD", "victim", "net1", "", &c);
        assert!(r.ok, "ADD after {point}: {}{}", r.stdout, r.stderr);
        for id in ["victim", "other1", "other2"] {
            let ifname = if id == "victim" { "net1" } else { "eth0" };
            assert!(run(&ours(), "DEL", id, ifname, "", &c).ok);
        }
        let left: Vec<String> = store_state(&data)
            .into_keys()
            .filter(|k| k.starts_with("lease dir/") && k != "lease dir/lock")
            .collect();
        assert!(left.is_empty(), "after {point}: {left:?}");
    }
    eprintln!(
        "reliability: {}",
        json!({"kind":"crash","plugin":"host-local","points":ADD_POINTS,
            "outcome":"SIGKILL at each ADD step (dual stack), then DEL: lease files and owner index byte-identical to before, no temp or empty file left"})
    );
}
