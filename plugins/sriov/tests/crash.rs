//! Crash tests: the binary is killed with SIGKILL at each step of ADD (test-only crash points,
//! compiled in with the `test-hooks` feature only), then DEL runs; the host must be exactly as
//! before: the VF netdev's name, MAC, MTU, admin state and namespace, no record, no lease.
//!
//!     cargo test -p sriov --features test-hooks --test crash
//!
//! Needs root and util-linux; VF settings through the PF are the lab's (a veth has none).

#![cfg(feature = "test-hooks")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{conf, is_root, sriov_node, Node};
use nfv_netlink::{Netlink, Netns};
use nfv_testkit::crash::{add_killed_at_then_del, cni_path, install_lease_ipam, json_files};
use nfv_testkit::devinfo::DevinfoDir;
use nfv_testkit::sysfs::link;
use serde_json::json;
use sriov::CRASH_AT;

/// The points ADD passes, in order.
fn add_points() -> Vec<&'static str> {
    // The middle ones are nfv-podnet's steps of giving the netdev to the pod.
    let mut points = vec!["after-record", "after-vf-settings"];
    points.extend_from_slice(nfv_podnet::give::STEPS);
    points.extend(["after-ipam", "after-addresses"]);
    points
}

/// The points ADD passes in userspace-driver mode (no netdev to move), in order.
const USERSPACE_ADD_POINTS: &[&str] = &["after-record", "after-vf-settings", "after-ipam"];

/// The points sriov's own part of a vDPA hand-off passes, in order; the vdpa code's follow
/// (`nfv_vdpa::crash::VHOST_ADD_POINTS` / `virtio_add_points`, named in NFV_VDPA_CRASH_AT).
const VDPA_ADD_POINTS: &[&str] = &["after-record", "after-vf-settings"];

/// Everything DEL must put back, as one comparable value.
fn host_state(node: &Node) -> String {
    let mut host = Netlink::open_in(&node.host).unwrap();
    let vf = host.link_by_name("enp0s11v1").ok();
    let pod = Netns::open(format!("/run/netns/{}", node.pod_name)).unwrap();
    let in_pod = Netlink::open_in(&pod).unwrap().link_by_name("net1").is_ok();
    // sriov's records, and the vdpa code's records of hand-offs.
    let records: usize = ["varlib/cni/nfv-sriov", "varlib/cni/nfv-sriov/vdpa"]
        .iter()
        .map(|d| json_files(&node.dir.join(d)))
        .sum();
    format!(
        "vf={:?} in_pod={in_pod} records={records} lease={}",
        vf.map(|l| (l.name, l.mac, l.mtu, l.admin_up)),
        node.dir.join("lease").exists()
    )
}

#[test]
fn sigkill_at_every_add_step_then_del_leaves_the_host_as_before() {
    if !is_root() {
        eprintln!(
            "SKIPPED sigkill_at_every_add_step_then_del_leaves_the_host_as_before: needs root"
        );
        return;
    }
    let add_points = add_points();
    for point in &add_points {
        let node = sriov_node();
        install_lease_ipam(&node.dir);
        // The VF starts up with a known MAC, like a VF netdev the node brought up.
        node.known_netdev_up("enp0s11v1");
        let c = conf(json!({"mtu": 1400, "ipam": {"type": "lease-ipam"}}));
        add_killed_at_then_del(&node, &c, CRASH_AT, point, host_state);
    }
    nfv_testkit::reliability::report(json!({"kind": "crash", "plugin": "sriov", "mode": "netdev",
        "points": add_points, "outcome": "after SIGKILL at each point, DEL left the VF netdev, records and lease as before"}));
}

#[test]
fn without_a_crash_point_add_completes() {
    if !is_root() {
        eprintln!("SKIPPED without_a_crash_point_add_completes: needs root");
        return;
    }
    // The hooks are inert unless named: the same build attaches normally.
    let node = sriov_node();
    install_lease_ipam(&node.dir);
    let c = conf(json!({"ipam": {"type": "lease-ipam"}}));
    let env = cni_path(&node);
    let (code, out) = node.cni_with("ADD", "ctr1", &c, &env);
    assert_eq!(code, 0, "{out}");
    assert!(node.dir.join("lease").exists());
    let (code, out) = node.cni_with("DEL", "ctr1", &c, &env);
    assert_eq!(code, 0, "{out}");
    assert!(!node.dir.join("lease").exists());
}

/// Turn the node's fake VF into one bound to vfio-pci: no netdev, IOMMU group 7.
fn bind_to_vfio(node: &Node) {
    let sys = node.dir.join("sys");
    let vf = sys.join("devices/pci0000:00").join(common::VF);
    std::fs::remove_dir_all(vf.join("net")).unwrap();
    std::fs::remove_file(vf.join("driver")).unwrap();
    std::fs::create_dir_all(sys.join("bus/pci/drivers/vfio-pci")).unwrap();
    link("../../../bus/pci/drivers/vfio-pci", vf.join("driver"));
    std::fs::create_dir_all(sys.join("kernel/iommu_groups/7/devices")).unwrap();
    link("../../../kernel/iommu_groups/7", vf.join("iommu_group"));
}

#[test]
fn userspace_mode_sigkill_at_every_add_step_then_del_leaves_nothing() {
    if !is_root() {
        eprintln!(
            "SKIPPED userspace_mode_sigkill_at_every_add_step_then_del_leaves_nothing: needs root"
        );
        return;
    }
    for point in USERSPACE_ADD_POINTS {
        let node = sriov_node();
        install_lease_ipam(&node.dir);
        bind_to_vfio(&node);
        let tree = DevinfoDir::new("sriov-crash-us");
        let devinfo = tree.file("dpdk.json");
        let c = conf(json!({"ipam": {"type": "lease-ipam"},
            "runtimeConfig": {"CNIDeviceInfoFile": devinfo}}));
        add_killed_at_then_del(&node, &c, CRASH_AT, point, host_state);
        assert!(!devinfo.exists(), "{point}: device-info file left behind");
    }
    nfv_testkit::reliability::report(
        json!({"kind": "crash", "plugin": "sriov", "mode": "userspace-driver",
        "points": USERSPACE_ADD_POINTS, "outcome": "after SIGKILL at each point, DEL left records, lease and device-info file as before"}),
    );
    // And without a crash point the same build attaches (and reports the group device).
    let node = sriov_node();
    install_lease_ipam(&node.dir);
    bind_to_vfio(&node);
    let tree = DevinfoDir::new("sriov-crash-us");
    let c = conf(json!({"ipam": {"type": "lease-ipam"},
        "runtimeConfig": {"CNIDeviceInfoFile": tree.file("dpdk.json")}}));
    let env = cni_path(&node);
    let (code, out) = node.cni_with("ADD", "ctr1", &c, &env);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["interfaces"][0]["pciID"], common::VF);
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tree.file("dpdk.json")).unwrap()).unwrap();
    assert_eq!(info["vfio"]["device"], "/dev/vfio/7");
    let (code, out) = node.cni_with("DEL", "ctr1", &c, &env);
    assert_eq!(code, 0, "{out}");
}

/// Put a vDPA device `vdpa1` on the node's fake VF, bound to virtio_vdpa, whose virtio netdev
/// is the veth that stood in for the VF netdev (the VF itself then has no netdev).
fn carry_vdpa(node: &Node) {
    let sys = node.dir.join("sys");
    let vf = sys.join("devices/pci0000:00").join(common::VF);
    std::fs::remove_dir_all(vf.join("net")).unwrap();
    std::fs::create_dir_all(sys.join("bus/vdpa/drivers/virtio_vdpa")).unwrap();
    let dev = vf.join("vdpa1");
    std::fs::create_dir_all(dev.join("virtio1/net/enp0s11v1")).unwrap();
    link(
        "../../../../bus/vdpa/drivers/virtio_vdpa",
        dev.join("driver"),
    );
    link(
        &format!("../../../devices/pci0000:00/{}/vdpa1", common::VF),
        sys.join("bus/vdpa/devices/vdpa1"),
    );
}

#[test]
fn vdpa_hand_off_sigkill_at_every_add_step_then_del_leaves_the_host_as_before() {
    if !is_root() {
        eprintln!(
            "SKIPPED vdpa_hand_off_sigkill_at_every_add_step_then_del_leaves_the_host_as_before: \
             needs root"
        );
        return;
    }
    // sriov's own points, then the vdpa code's (virtio mode: the netdev moves).
    let points = VDPA_ADD_POINTS.iter().map(|p| (CRASH_AT, *p)).chain(
        nfv_vdpa::crash::virtio_add_points()
            .into_iter()
            .map(|p| ("NFV_VDPA_CRASH_AT", p)),
    );
    for (var, point) in points {
        let node = sriov_node();
        install_lease_ipam(&node.dir);
        carry_vdpa(&node);
        {
            let mut host = Netlink::open_in(&node.host).unwrap();
            let netdev = host.link_by_name("enp0s11v1").unwrap();
            host.set_mac(netdev.index, "02:00:00:cc:00:02".parse().unwrap())
                .unwrap();
        }
        let tree = DevinfoDir::new("sriov-crash-vdpa");
        let devinfo = tree.file("vdpa.json");
        let c = conf(json!({"mtu": 1400, "ipam": {"type": "lease-ipam"},
            "runtimeConfig": {"CNIDeviceInfoFile": devinfo}}));
        add_killed_at_then_del(&node, &c, var, point, host_state);
        assert!(
            !devinfo.exists(),
            "{var}={point}: device-info file left behind"
        );
    }
    nfv_testkit::reliability::report(
        json!({"kind": "crash", "plugin": "sriov", "mode": "vdpa hand-off",
        "points": VDPA_ADD_POINTS.iter().copied().chain(nfv_vdpa::crash::virtio_add_points()).collect::<Vec<_>>(),
        "outcome": "after SIGKILL at each of sriov's and the vdpa code's points, DEL left the host as before"}),
    );
    // Without a crash point the same build hands the VF off: the netdev moves, sriov's record
    // says vdpa mode, the device-info file is the vdpa type.
    let node = sriov_node();
    install_lease_ipam(&node.dir);
    carry_vdpa(&node);
    let tree = DevinfoDir::new("sriov-crash-vdpa");
    let c = conf(json!({"ipam": {"type": "lease-ipam"},
        "runtimeConfig": {"CNIDeviceInfoFile": tree.file("vdpa.json")}}));
    let env = cni_path(&node);
    let (code, out) = node.cni_with("ADD", "ctr1", &c, &env);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["interfaces"][0]["pciID"], common::VF);
    assert!(host_state(&node).contains("in_pod=true records=2 lease=true"));
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tree.file("vdpa.json")).unwrap()).unwrap();
    assert_eq!(info["vdpa"]["parent-device"], "vdpa1");
    let (code, out) = node.cni_with("DEL", "ctr1", &c, &env);
    assert_eq!(code, 0, "{out}");
    assert!(host_state(&node).contains("in_pod=false records=0 lease=false"));
}
