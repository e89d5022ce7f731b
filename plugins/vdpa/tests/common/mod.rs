//! A scratch node for black-box runs of the `vdpa` binary (nfv-testkit's [`Node`]): a veth in
//! the host netns stands in for a virtio_vdpa device's netdev, and the fake sysfs the binary
//! sees as /sys describes the vDPA devices.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::Path;

use nfv_testkit::sysfs::link;
use serde_json::{json, Value};

pub use nfv_testkit::{is_root, Node};

pub const VF: &str = "0000:00:0d.3";

/// A node whose host has `eth7` (a veth) and whose /sys is [`fake_sysfs`].
pub fn vdpa_node() -> Node {
    let node = Node::new("vdpa", env!("CARGO_BIN_EXE_vdpa"));
    node.host_netlink()
        .create_veth("eth7", "eth7peer", None)
        .unwrap();
    fake_sysfs(&node.sys());
    node
}

/// A VF carrying `vdpa3` on virtio_vdpa (netdev `eth7`, the veth) and the simulator's `vdpa4`
/// on vhost_vdpa.
pub fn fake_sysfs(root: &Path) {
    let vf = root.join("devices/pci0000:00").join(VF);
    std::fs::create_dir_all(&vf).unwrap();
    link(
        &format!("../../../devices/pci0000:00/{VF}"),
        root.join("bus/pci/devices").join(VF),
    );
    for drv in ["vhost_vdpa", "virtio_vdpa"] {
        std::fs::create_dir_all(root.join("bus/vdpa/drivers").join(drv)).unwrap();
    }
    let d = vf.join("vdpa3");
    std::fs::create_dir_all(d.join("virtio4/net/eth7")).unwrap();
    link("../../../../bus/vdpa/drivers/virtio_vdpa", d.join("driver"));
    link(
        &format!("../../../devices/pci0000:00/{VF}/vdpa3"),
        root.join("bus/vdpa/devices/vdpa3"),
    );
    let s = root.join("devices/vdpasim_net/vdpa4");
    std::fs::create_dir_all(s.join("vhost-vdpa-2")).unwrap();
    link("../../../bus/vdpa/drivers/vhost_vdpa", s.join("driver"));
    link(
        "../../../devices/vdpasim_net/vdpa4",
        root.join("bus/vdpa/devices/vdpa4"),
    );
}

/// A vdpa network config with `extra`'s fields.
pub fn conf(extra: Value) -> Value {
    nfv_testkit::conf(
        json!({"cniVersion": "1.1.0", "name": "vdpa-net", "type": "vdpa"}),
        extra,
    )
}
