//! A scratch node for black-box runs of the `sriov` binary (nfv-testkit's [`Node`]): a veth in
//! the host netns stands in for the VF netdev (and one for the PF), and the fake sysfs the
//! binary sees as /sys points at them.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::Path;

use nfv_testkit::sysfs::{bind, pci_device, vf_of};
use serde_json::{json, Value};

pub use nfv_testkit::{is_root, Node};

pub const VF: &str = "0000:00:0b.1";
pub const PF: &str = "0000:00:0b.0";

/// A node whose host has `pf0` and `enp0s11v1` (veths, the VF's at MTU 1500) and whose /sys is
/// [`fake_sysfs`].
pub fn sriov_node() -> Node {
    let node = Node::new("sriov", env!("CARGO_BIN_EXE_sriov"));
    let mut nl = node.host_netlink();
    nl.create_veth("pf0", "pf0peer", None).unwrap();
    nl.create_veth("enp0s11v1", "vfpeer", None).unwrap();
    let vf = nl.link_by_name("enp0s11v1").unwrap();
    nl.set_mtu(vf.index, 1500).unwrap();
    fake_sysfs(&node.sys());
    node
}

/// A PF (netdev `pf0`) with VF 1 (netdev `enp0s11v1`) bound to iavf.
pub fn fake_sysfs(root: &Path) {
    let pf = pci_device(root, PF);
    let vf = pci_device(root, VF);
    std::fs::create_dir_all(pf.join("net/pf0")).unwrap();
    std::fs::create_dir_all(vf.join("net/enp0s11v1")).unwrap();
    vf_of(root, PF, 1, VF);
    bind(root, VF, "iavf");
}

/// An sriov network config naming [`VF`], with `extra`'s fields.
pub fn conf(extra: Value) -> Value {
    nfv_testkit::conf(
        json!({"cniVersion": "1.1.0", "name": "sriov-net", "type": "sriov", "deviceID": VF}),
        extra,
    )
}
