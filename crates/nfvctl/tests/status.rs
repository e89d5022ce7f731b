//! `nfvctl status` over a scratch node (no root): every kind of attachment is listed, joined
//! with its leases, and every drift flag it can raise without the kernel shows; the kernel's
//! answers (a VF's settings on its PF, whether a netns exists) are stood in for.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use nfv_netlink::VfInfo;
use nfvctl::kernel::Kernel;
use nfvctl::read::Snapshot;
use nfvctl::view::Status;
use nfvctl::Node;
use serde_json::Value;

fn node(s: &Scratch) -> Node {
    fake_sysfs(&s.0.join("sys"));
    s.json(
        "state/c-ours-net1.json",
        &sriov_record("c-ours", "sriov-a", VF_OURS, 0, "/run/netns/pod-a"),
    );
    s.write("state/sriov-cni/5e0b8f1c7a2d-net1", SRIOV_CNI_CACHE);
    s.write("state/sriov-cni/pci/0000:01:10.2", b"/run/netns/pod-theirs");
    s.json(
        "vdpa/c-vdpa-net1.json",
        &vdpa_record("c-vdpa", "vdpa-a", "vdpa0", "/run/netns/pod-v"),
    );
    lease(s, "sriov-a", "10.1.0.2", "c-ours\r\nnet1");
    lease(s, "sriov-a", "10.1.0.3", "c-gone\r\nnet1");
    lease(s, "sriov-vlan100", "10.2.0.2", "5e0b8f1c7a2d\r\nnet1");
    lease(s, "bridge-net", "10.9.0.2", "x\r\neth0");
    s.write(
        "userspace/usrspcni/data/local-0123456789ab-net2.json",
        br#"{"name":"us-a"}"#,
    );
    Node::under(&s.0)
}

fn status(s: &Scratch, vlan_now: u32, pod_a_exists: bool) -> Status {
    let node = node(s);
    let snapshot = Snapshot::read(&node);
    let mut kernel = Kernel::open(&node);
    kernel.fake_vfs.insert(
        ("enp1s0f0".into(), 0),
        VfInfo {
            vlan: vlan_now,
            ..Default::default()
        },
    );
    kernel
        .fake_netns
        .insert("/run/netns/pod-a".into(), pod_a_exists);
    kernel.fake_netns.insert("/run/netns/pod-v".into(), true);
    kernel
        .fake_netns
        .insert("/run/netns/pod-theirs".into(), true);
    Status::build(&snapshot, &mut kernel)
}

fn kinds(s: &Status, plugin: &str) -> Vec<&'static str> {
    let a = s.attachments.iter().find(|a| a.plugin == plugin).unwrap();
    a.drift.iter().map(|d| d.kind).collect()
}

#[test]
fn every_attachment_is_listed_with_its_leases_and_no_drift_when_nothing_changed() {
    let s = Scratch::new("listed");
    let st = status(&s, 100, true);
    let who: Vec<(&str, &str, &str)> = st
        .attachments
        .iter()
        .map(|a| (a.plugin, a.container_id.as_str(), a.ifname.as_str()))
        .collect();
    assert_eq!(
        who,
        [
            ("sriov", "c-ours", "net1"),
            ("vdpa", "c-vdpa", "net1"),
            ("sriov-cni", "5e0b8f1c7a2d", "net1"),
            ("userspace-cni", "0123456789ab", "net2"),
        ]
    );
    let ours = &st.attachments[0];
    assert_eq!(ours.leases, ["10.1.0.2"]);
    assert!(ours.drift.is_empty(), "{:?}", ours.drift);
    let vf = ours.vf.as_ref().unwrap();
    assert_eq!((vf.pf.as_str(), vf.index), ("enp1s0f0", 0));
    assert_eq!(vf.host_netdev, None, "the netdev is in the pod");
    assert_eq!(vf.applied.as_ref().unwrap().vlan, Some(100));
    assert_eq!(vf.before.vlan, Some(0));
    let theirs = &st.attachments[2];
    assert_eq!(theirs.network.as_deref(), Some("sriov-vlan100"));
    assert_eq!(theirs.leases, ["10.2.0.2"]);
    assert_eq!(theirs.netns.as_deref(), Some("/run/netns/pod-theirs"));
    let tvf = theirs.vf.as_ref().unwrap();
    assert_eq!(tvf.host_netdev.as_deref(), Some("enp1s0f0v1"));
    assert_eq!(
        tvf.applied, None,
        "sriov-cni's applied settings are not recorded"
    );
    // The vDPA device is not in the fake sysfs: gone.
    assert_eq!(kinds(&st, "vdpa"), ["vdpa-device-gone"]);
    // 10.1.0.3 belongs to our network and nobody holds it; bridge-net is not ours to judge.
    let unheld: Vec<&str> = st.drift.iter().map(|d| d.kind).collect();
    assert_eq!(unheld, ["lease-without-attachment"]);
    assert!(st.drift[0].detail.contains("10.1.0.3"), "{:?}", st.drift);
    let bridge = st
        .leases
        .iter()
        .find(|l| l.network == "bridge-net")
        .unwrap();
    assert!(!bridge.attached && !bridge.our_network);
}

#[test]
fn a_vf_changed_behind_our_back_and_a_vanished_netns_are_flagged() {
    let s = Scratch::new("drift");
    let st = status(&s, 200, false);
    assert_eq!(kinds(&st, "sriov"), ["netns-gone", "vf-settings-changed"]);
    let d = &st.attachments[0].drift[1].detail;
    assert!(
        d.contains("vlan 100 qos 0 proto 802.1Q set at ADD, now vlan 200"),
        "{d}"
    );
    let table = nfvctl::table::render(&st);
    assert!(table.contains("netns-gone,vf-settings-changed"), "{table}");
    assert!(table.contains("/run/netns/pod-a (gone)"), "{table}");
}

/// The `--json` schema docs/nfvctl.md documents: these keys, these types.
#[test]
fn the_json_schema_has_the_documented_keys() {
    let s = Scratch::new("schema");
    let st = status(&s, 200, true);
    let v: Value = serde_json::from_str(&nfvctl::view::to_json(&st).unwrap()).unwrap();
    assert_eq!(v["schema"], 1);
    let keys = |o: &Value| -> Vec<String> { o.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(
        keys(&v),
        ["schema", "attachments", "leases", "drift", "notes"]
    );
    let a = &v["attachments"][0];
    assert_eq!(
        keys(a),
        [
            "plugin",
            "network",
            "containerID",
            "ifname",
            "netns",
            "netnsExists",
            "vf",
            "vdpa",
            "ovs",
            "leases",
            "drift",
            "source"
        ]
    );
    assert_eq!(
        keys(&a["vf"]),
        [
            "pci",
            "pf",
            "index",
            "mode",
            "driver",
            "hostNetdev",
            "applied",
            "before",
            "now",
            "nowError"
        ]
    );
    assert_eq!(
        keys(&a["vf"]["now"]),
        [
            "mac",
            "vlan",
            "qos",
            "vlanProto",
            "spoofchk",
            "trust",
            "minTxRate",
            "maxTxRate",
            "linkState"
        ]
    );
    assert_eq!(a["vf"]["mode"], "netdev");
    assert_eq!(a["drift"][0]["kind"], "vf-settings-changed");
    assert_eq!(
        keys(&v["leases"][0]),
        [
            "network",
            "address",
            "containerID",
            "ifname",
            "dataDir",
            "attached",
            "ourNetwork"
        ]
    );
}

/// A dataDir given with `--data-dir` is walked as host-local walks one: a symlink on the way
/// is refused (a note), not followed; a real directory is read.
#[test]
fn a_given_data_dir_is_reached_without_following_links() {
    let s = Scratch::new("data-dir");
    lease(&s, "net-x", "10.3.0.2", "c1\r\nnet1");
    let real = s.0.join("networks");
    let moved = s.0.join("elsewhere");
    std::fs::rename(&real, &moved).unwrap();
    std::os::unix::fs::symlink(&moved, s.0.join("link")).unwrap();
    let mut node = Node::under(&s.0);
    node.lease_dirs = vec![s.0.join("none"), s.0.join("link")];
    let snap = Snapshot::read(&node);
    assert!(snap.leases.is_empty());
    assert!(
        snap.notes.iter().any(|n| n.contains("link")),
        "{:?}",
        snap.notes
    );
    node.lease_dirs = vec![s.0.join("none"), moved];
    let snap = Snapshot::read(&node);
    assert_eq!(snap.leases.len(), 1);
    assert_eq!(snap.leases[0].owner(), Some(("c1", Some("net1"))));
}
