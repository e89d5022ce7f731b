//! Black-box tier: the built `vdpa` binary run the way a runtime runs it (env + stdin, JSON on
//! stdout), inside a scratch network namespace and a private mount namespace where a fake
//! sysfs is bind-mounted over /sys and a scratch directory over /var/lib (tests/common). This is
//! how a test shows the binary a fake sysfs: nothing in the config or the environment can. The
//! host kernel has no vdpa generic-netlink family, so the binary's sysfs fallback is what runs
//! here; the lab runs the netlink path on real devices.
//!
//! Needs root and util-linux (nsenter, unshare, mount); without root each test says it skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{conf, is_root, vdpa_node, VF};
use nfv_netlink::Netlink;
use serde_json::json;

#[test]
fn virtio_add_and_del_through_the_binary() {
    if !is_root() {
        eprintln!("SKIPPED virtio_add_and_del_through_the_binary: needs root");
        return;
    }
    let node = vdpa_node();
    let c = conf(json!({"deviceID": VF, "mtu": 1400}));
    let (code, result) = node.cni("ADD", "ctr1", &c);
    assert_eq!(code, 0, "{result}");
    assert_eq!(result["interfaces"][0]["name"], "net1");
    assert_eq!(result["interfaces"][0]["pciID"], VF);
    assert_eq!(result["interfaces"][0]["mtu"], 1400);
    assert!(node.dir.join("varlib/cni/nfv-vdpa/ctr1-net1.json").exists());
    let (code, err) = node.cni("ADD", "ctr2", &conf(json!({"vdpaDevice": "vdpa3"})));
    assert_eq!(code, 1);
    assert_eq!(err["code"], 133, "{err}");

    let (code, out) = node.cni("DEL", "ctr1", &c);
    assert_eq!(code, 0, "{out}");
    let back = Netlink::open_in(&node.host)
        .unwrap()
        .link_by_name("eth7")
        .unwrap();
    assert_eq!(back.mtu, Some(1500));
    assert!(!node.dir.join("varlib/cni/nfv-vdpa/ctr1-net1.json").exists());
    let (code, _) = node.cni("DEL", "ctr1", &c);
    assert_eq!(code, 0, "DEL is idempotent");
}

#[test]
fn vhost_add_at_an_old_version_and_errors_name_the_field() {
    if !is_root() {
        eprintln!("SKIPPED vhost_add_at_an_old_version_and_errors_name_the_field: needs root");
        return;
    }
    let node = vdpa_node();
    let c = conf(json!({"cniVersion": "0.4.0", "vdpaDevice": "vdpa4", "driver": "vhost"}));
    let (code, result) = node.cni("ADD", "ctr1", &c);
    assert_eq!(code, 0, "{result}");
    assert_eq!(result["cniVersion"], "0.4.0");
    assert_eq!(result["interfaces"][0]["name"], "net1");
    assert!(result["interfaces"][0].get("pciID").is_none(), "{result}");
    let (code, _) = node.cni("DEL", "ctr1", &c);
    assert_eq!(code, 0);

    for (bad, field, want) in [
        (
            json!({"vdpaDevice": "vdpa4", "driver": "virtio"}),
            "driver:",
            130,
        ),
        (json!({"deviceID": "0000:00:0d.7"}), "", 130),
        (json!({"vdpaDevice": "vdpa4", "mtu": "big"}), "mtu", 6),
        (json!({}), "deviceID:", 7),
    ] {
        let (code, err) = node.cni("ADD", "ctr2", &conf(bad.clone()));
        assert_eq!(code, 1, "{bad}");
        assert_eq!(err["code"], want, "{bad}: {err}");
        assert!(err["msg"].as_str().unwrap().contains(field), "{bad}: {err}");
    }
    // A 0.2.0 result needs an IP: without IPAM the ADD fails and leaves nothing behind.
    let old = conf(json!({"cniVersion": "0.2.0", "vdpaDevice": "vdpa4"}));
    let (code, err) = node.cni("ADD", "ctr3", &old);
    assert_eq!(code, 1, "{err}");
    assert!(!node.dir.join("varlib/cni/nfv-vdpa/ctr3-net1.json").exists());
    let (code, result) = node.cni("ADD", "ctr3", &c);
    assert_eq!(code, 0, "the device is free again: {result}");
    let (code, out) = node.cni("STATUS", "", &conf(json!({})));
    assert_eq!(code, 0, "{out}");
}
