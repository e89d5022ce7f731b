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

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{conf, is_root, vdpa_node, Node, VF};
use nfv_netlink::{Netlink, Netns};
use serde_json::{json, Value};
use vdpa::crash::{VHOST_ADD_POINTS, VIRTIO_ADD_POINTS};

/// An IPAM plugin that keeps its "lease" as a file: ADD creates it, DEL removes it.
fn install_ipam(dir: &Path) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let lease = dir.join("lease");
    let script = format!(
        "#!/bin/sh\ncase \"$CNI_COMMAND\" in\n\
         ADD) touch {l}; echo '{{\"cniVersion\":\"1.0.0\",\"ips\":[{{\"address\":\"10.7.0.9/24\"}}]}}';;\n\
         DEL) rm -f {l};;\nesac\nexit 0\n",
        l = lease.display()
    );
    let p = bin.join("lease-ipam");
    std::fs::write(&p, script).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

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
    let records = std::fs::read_dir(node.dir.join("varlib/cni/nfv-vdpa"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                .count()
        })
        .unwrap_or(0);
    format!(
        "netdev={:?} pod={pod_links:?} records={records} lease={} devinfo={}",
        netdev.map(|l| (l.name, l.mac, l.mtu, l.admin_up)),
        node.dir.join("lease").exists(),
        node.dir.join("devinfo.json").exists()
    )
}

fn crash_then_del(points: &[&str], extra: Value) {
    for point in points {
        let node = vdpa_node();
        install_ipam(&node.dir);
        {
            // The netdev starts up with a known MAC, like a virtio netdev the node brought up.
            let mut host = Netlink::open_in(&node.host).unwrap();
            let l = host.link_by_name("eth7").unwrap();
            host.set_mac(l.index, "02:00:00:cc:00:01".parse().unwrap())
                .unwrap();
            host.set_up(l.index).unwrap();
        }
        let before = host_state(&node);
        let mut c = conf(json!({"ipam": {"type": "lease-ipam"},
            "runtimeConfig": {"CNIDeviceInfoFile": node.dir.join("devinfo.json")}}));
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        let env = [("CNI_PATH", node.dir.join("bin").display().to_string())];
        let mut crash_env = env.to_vec();
        crash_env.push(("NFV_VDPA_CRASH_AT", point.to_string()));

        let (code, out) = node.cni_with("ADD", "ctr1", &c, &crash_env);
        assert_ne!(
            code, 0,
            "{point}: the ADD was supposed to be killed, printed {out}"
        );
        assert_eq!(out, Value::Null, "{point}: a killed plugin prints nothing");
        assert_ne!(
            host_state(&node),
            before,
            "{point}: the crash left nothing to undo?"
        );

        let (code, out) = node.cni_with("DEL", "ctr1", &c, &env);
        assert_eq!(code, 0, "{point}: DEL after the crash failed: {out}");
        assert_eq!(
            host_state(&node),
            before,
            "{point}: DEL did not restore the host"
        );
    }
}

#[test]
fn sigkill_at_every_virtio_add_step_then_del_leaves_the_host_as_before() {
    if !is_root() {
        eprintln!("SKIPPED sigkill_at_every_virtio_add_step: needs root");
        return;
    }
    crash_then_del(
        VIRTIO_ADD_POINTS,
        json!({"deviceID": VF, "mtu": 1400, "mac": "02:00:00:cc:00:09"}),
    );
}

#[test]
fn sigkill_at_every_vhost_add_step_then_del_leaves_the_host_as_before() {
    if !is_root() {
        eprintln!("SKIPPED sigkill_at_every_vhost_add_step: needs root");
        return;
    }
    crash_then_del(VHOST_ADD_POINTS, json!({"vdpaDevice": "vdpa4"}));
}

#[test]
fn without_a_crash_point_add_completes() {
    if !is_root() {
        eprintln!("SKIPPED without_a_crash_point_add_completes: needs root");
        return;
    }
    // The hooks are inert unless named: the same build attaches normally.
    let node = vdpa_node();
    install_ipam(&node.dir);
    let c = conf(json!({"deviceID": VF, "ipam": {"type": "lease-ipam"}}));
    let env = [("CNI_PATH", node.dir.join("bin").display().to_string())];
    let (code, out) = node.cni_with("ADD", "ctr1", &c, &env);
    assert_eq!(code, 0, "{out}");
    assert!(node.dir.join("lease").exists());
    let (code, out) = node.cni_with("DEL", "ctr1", &c, &env);
    assert_eq!(code, 0, "{out}");
    assert!(!node.dir.join("lease").exists());
}
