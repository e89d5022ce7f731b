//! `nfvctl gc --dry-run` and the plugins' GC choose the same attachments on the same inputs:
//! records (sriov's and vdpa's stores, several networks, a record of an earlier binary without
//! a network) against `RecordStore::stale`, the call sriov's and vdpa's GC make; host-local's
//! leases against the host-local plugin's GC itself, run in-process on the same data
//! directory and compared with what it removed. No root needed.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use common::*;
use nfv_cni::Attachment;
use nfvctl::gc::Plan;
use nfvctl::read::Snapshot;
use nfvctl::Node;
use serde_json::json;

fn att(c: &str, i: &str) -> Attachment {
    Attachment {
        container_id: c.into(),
        ifname: i.into(),
    }
}

/// The valid lists every case is tried with (`None`: the file lists none).
fn valid_lists() -> Vec<Option<Vec<Attachment>>> {
    vec![
        None,
        Some(vec![]),
        Some(vec![att("a1", "net1")]),
        Some(vec![
            att("a1", "net1"),
            att("b1", "net1"),
            att("old", "net1"),
        ]),
        Some(vec![
            att("a2", "net1"),
            att("v1", "net1"),
            att("a1", "net2"),
        ]),
    ]
}

fn planned(plan: &Plan, plugin: &str) -> BTreeSet<(String, String)> {
    plan.networks
        .iter()
        .flat_map(|n| &n.teardown)
        .filter(|s| s.plugin == plugin)
        .map(|s| (s.container_id.clone(), s.ifname.clone()))
        .collect()
}

#[test]
fn the_preview_tears_down_exactly_the_records_gc_would() {
    let s = Scratch::new("gc-records");
    for (c, net) in [
        ("a1", "net-a"),
        ("a2", "net-a"),
        ("b1", "net-b"),
        ("old", ""),
    ] {
        s.json(
            &format!("state/{c}-net1.json"),
            &sriov_record(c, net, "0000:01:10.1", 0, "/run/netns/x"),
        );
    }
    for (c, net) in [("v1", "net-v"), ("v2", "net-v"), ("v3", "net-a")] {
        s.json(
            &format!("vdpa/{c}-net1.json"),
            &vdpa_record(c, net, "vdpa0", "/run/netns/x"),
        );
    }
    let node = Node::under(&s.0);
    let snapshot = Snapshot::read(&node);
    let sriov_store = sriov::record::RecordStore::new(&node.sriov_records);
    let vdpa_store = nfv_vdpa::record::store(&node.vdpa_records);
    let mut compared = 0;
    for valid in valid_lists() {
        for network in ["net-a", "net-b", "net-v", "net-none"] {
            let plan = Plan::compute(&snapshot, valid.as_deref(), Some(network));
            // What sriov's and vdpa's GC do: `valid_attachments.unwrap_or_default()`, then
            // `stale(name, &valid)`.
            let v = valid.clone().unwrap_or_default();
            let gc = |r: Vec<(String, String)>| r.into_iter().collect::<BTreeSet<_>>();
            let sriov_gc = gc(sriov_store
                .stale(network, &v)
                .unwrap()
                .into_iter()
                .map(|r| (r.container_id, r.ifname))
                .collect());
            let vdpa_gc = gc(vdpa_store
                .stale(network, &v)
                .unwrap()
                .into_iter()
                .map(|r| (r.container_id, r.ifname))
                .collect());
            assert_eq!(planned(&plan, "sriov"), sriov_gc, "{network} {valid:?}");
            assert_eq!(planned(&plan, "vdpa"), vdpa_gc, "{network} {valid:?}");
            compared += 1;
        }
    }
    assert_eq!(compared, 20);
    // The earlier binary's record is never torn down, only named.
    let plan = Plan::compute(&snapshot, None, Some("net-a"));
    assert!(plan.networks[0]
        .left
        .iter()
        .any(|l| l.container_id == "old"));
    assert!(!planned(&plan, "sriov").contains(&("old".into(), "net1".into())));
}

/// The leases GC releases are exactly those the preview lists: host-local's own GC runs on the
/// same data directory right after the preview.
#[test]
fn the_preview_releases_exactly_the_leases_host_local_gc_releases() {
    let s = Scratch::new("gc-leases");
    let data = s.0.join("networks");
    let owners = [
        ("10.1.0.2", "a1\r\nnet1"),
        ("10.1.0.3", "a1\r\nnet2"),
        ("10.1.0.4", "b1\r\nnet1"),
        ("10.1.0.5", "old"), // legacy: container ID only
        ("10.1.0.6", "a2\r\nnet1"),
        ("10.1.0.7", " v1 \r\nnet1"),
    ];
    let mut compared = 0;
    for valid in valid_lists() {
        let _ = std::fs::remove_dir_all(&data);
        for (ip, owner) in owners {
            lease(&s, "net-a", ip, owner);
        }
        let snapshot = Snapshot::read(&Node::under(&s.0));
        let plan = Plan::compute(&snapshot, valid.as_deref(), Some("net-a"));
        let preview: BTreeSet<String> = plan.networks[0]
            .teardown
            .iter()
            .filter(|t| t.plugin == "host-local")
            .map(|t| t.what.split_whitespace().nth(1).unwrap().to_string())
            .collect();

        let mut conf = json!({
            "cniVersion": "1.1.0", "name": "net-a", "type": "host-local",
            "ipam": {"type": "host-local", "subnet": "10.1.0.0/24", "dataDir": data},
        });
        if let Some(v) = &valid {
            conf["cni.dev/valid-attachments"] = serde_json::to_value(v).unwrap();
        }
        let before = names(&data.join("net-a"));
        let env = |k: &str| match k {
            "CNI_COMMAND" => Some("GC".to_string()),
            "CNI_PATH" => Some("/nonexistent".to_string()),
            _ => None,
        };
        let stdin = serde_json::to_vec(&conf).unwrap();
        let out = nfv_cni::dispatch(&host_local::HostLocal, "host-local", &env, &mut &stdin[..]);
        assert_eq!(out.exit_code, 0, "{}", String::from_utf8_lossy(&out.stdout));
        let after = names(&data.join("net-a"));
        let released: BTreeSet<String> = before.difference(&after).cloned().collect();
        assert_eq!(preview, released, "{valid:?}");
        compared += 1;
    }
    assert_eq!(compared, 5);
}

fn names(dir: &std::path::Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.parse::<std::net::IpAddr>().is_ok())
        .collect()
}
