//! Crash tests: the binary is killed with SIGKILL at each step of ADD (test-only crash points,
//! compiled in with the `test-hooks` feature only), then DEL runs; the host must be exactly as
//! before: the virtio netdev's name, MAC, MTU, admin state and namespace, no record, no lease,
//! no device-info file. Both modes.
//!
//!     cargo test -p vdpa --features test-hooks --test crash
//!
//! Needs root and util-linux.

#![cfg(feature = "test-hooks")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{conf, is_root, vdpa_node, Node, VF};
use nfv_netlink::{Netlink, Netns};
use nfv_testkit::crash::{add_killed_at_then_del, cni_path, install_lease_ipam, json_files};
use nfv_testkit::devinfo::{path_for_node, DevinfoDir};
use nfv_vdpa::crash::{virtio_add_points, VHOST_ADD_POINTS};
use serde_json::{json, Value};

/// Everything DEL must put back, as one comparable value.
fn host_state(node: &Node) -> String {
    let mut host = Netlink::open_in(&node.host).unwrap();
    let netdev = host.link_by_name("eth7").ok();
    let pod = Netns::open(format!("/run/netns/{}", node.pod_name)).unwrap();
    let pod_links: Vec<String> = Netlink::open_in(&pod)
        .unwrap()
        .links()
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect();
    let records = json_files(&node.dir.join("varlib/cni/nfv-vdpa"));
    format!(
        "netdev={:?} pod={pod_links:?} records={records} lease={} devinfo={}",
        netdev.map(|l| (l.name, l.mac, l.mtu, l.admin_up)),
        node.dir.join("lease").exists(),
        path_for_node(node).join("devinfo.json").exists()
    )
}

fn crash_then_del(mode: &str, points: &[&str], extra: Value) {
    for point in points {
        let node = vdpa_node();
        install_lease_ipam(&node.dir);
        // The netdev starts up with a known MAC, like a virtio netdev the node brought up.
        node.known_netdev_up("eth7");
        let tree = DevinfoDir::for_node(&node);
        let mut c = conf(json!({"ipam": {"type": "lease-ipam"},
            "runtimeConfig": {"CNIDeviceInfoFile": tree.file("devinfo.json")}}));
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        let crashed = add_killed_at_then_del(&node, &c, "NFV_VDPA_CRASH_AT", point, host_state);
        assert_ne!(
            crashed.after_crash, crashed.before,
            "{point}: the crash left nothing to undo?"
        );
    }
    nfv_testkit::reliability::report(json!({"kind": "crash", "plugin": "vdpa", "mode": mode,
        "points": points, "outcome": "after SIGKILL at each point, DEL left the netdev, records, lease and device-info file as before"}));
}

#[test]
fn sigkill_at_every_virtio_add_step_then_del_leaves_the_host_as_before() {
    if !is_root() {
        eprintln!("SKIPPED sigkill_at_every_virtio_add_step: needs root");
        return;
    }
    crash_then_del(
        "virtio",
        &virtio_add_points(),
        json!({"deviceID": VF, "mtu": 1400, "mac": "02:00:00:cc:00:09"}),
    );
}

#[test]
fn sigkill_at_every_vhost_add_step_then_del_leaves_the_host_as_before() {
    if !is_root() {
        eprintln!("SKIPPED sigkill_at_every_vhost_add_step: needs root");
        return;
    }
    crash_then_del("vhost", VHOST_ADD_POINTS, json!({"vdpaDevice": "vdpa4"}));
}

#[test]
fn without_a_crash_point_add_completes() {
    if !is_root() {
        eprintln!("SKIPPED without_a_crash_point_add_completes: needs root");
        return;
    }
    // The hooks are inert unless named: the same build attaches normally.
    let node = vdpa_node();
    install_lease_ipam(&node.dir);
    let c = conf(json!({"deviceID": VF, "ipam": {"type": "lease-ipam"}}));
    let env = cni_path(&node);
    let (code, out) = node.cni_with("ADD", "ctr1", &c, &env);
    assert_eq!(code, 0, "{out}");
    assert!(node.dir.join("lease").exists());
    let (code, out) = node.cni_with("DEL", "ctr1", &c, &env);
    assert_eq!(code, 0, "{out}");
    assert!(!node.dir.join("lease").exists());
}
