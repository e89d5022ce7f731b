//! Black-box tier: the built `sriov` binary run the way a runtime runs it (env + stdin, JSON on
//! stdout), inside a scratch network namespace and a private mount namespace where a fake
//! sysfs is bind-mounted over /sys and a scratch directory over /var/lib. This is how a test
//! shows the binary a fake sysfs: nothing in the config or the environment can.
//!
//! Needs root and util-linux (nsenter, unshare, mount); without root each test says it skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{conf, is_root, sriov_node, VF};
use nfv_netlink::Netlink;
use serde_json::json;

#[test]
fn add_and_del_through_the_binary() {
    if !is_root() {
        eprintln!("SKIPPED add_and_del_through_the_binary: needs root");
        return;
    }
    let node = sriov_node();
    let c = conf(json!({"mtu": 1400}));
    let (code, result) = node.cni("ADD", "ctr1", &c);
    assert_eq!(code, 0, "{result}");
    assert_eq!(result["cniVersion"], "1.1.0");
    assert_eq!(result["interfaces"][0]["name"], "net1");
    assert_eq!(result["interfaces"][0]["pciID"], VF);
    assert_eq!(result["interfaces"][0]["mtu"], 1400);
    assert_eq!(
        result["interfaces"][0]["sandbox"],
        format!("/run/netns/{}", node.pod_name)
    );
    assert!(
        node.dir
            .join("varlib/cni/nfv-sriov/ctr1-net1.json")
            .exists(),
        "record kept under the mounted /var/lib"
    );

    // A second container asking for the same VF is refused (at any cniVersion).
    let (code, err) = node.cni("ADD", "ctr2", &conf(json!({"cniVersion": "0.4.0"})));
    assert_eq!(code, 1);
    assert!(err["code"].as_u64().unwrap() >= 100, "{err}");
    assert!(err["msg"].as_str().unwrap().contains(VF), "{err}");

    let (code, out) = node.cni("DEL", "ctr1", &c);
    assert_eq!(code, 0, "{out}");
    let back = Netlink::open_in(&node.host)
        .unwrap()
        .link_by_name("enp0s11v1")
        .unwrap();
    assert_eq!(back.mtu, Some(1500));
    assert!(!node
        .dir
        .join("varlib/cni/nfv-sriov/ctr1-net1.json")
        .exists());
    let (code, _) = node.cni("DEL", "ctr1", &c);
    assert_eq!(code, 0, "DEL is idempotent");
}

#[test]
fn bad_config_is_an_error_naming_the_field() {
    if !is_root() {
        eprintln!("SKIPPED bad_config_is_an_error_naming_the_field: needs root");
        return;
    }
    let node = sriov_node();
    let (code, err) = node.cni("ADD", "ctr1", &conf(json!({"spoofchk": "yes"})));
    assert_eq!(code, 1);
    assert_eq!(err["code"], 7, "{err}");
    assert!(
        err["msg"].as_str().unwrap().starts_with("spoofchk:"),
        "{err}"
    );
    let (code, err) = node.cni("ADD", "ctr1", &conf(json!({"deviceID": "0000:00:0b.7"})));
    assert_eq!(code, 1);
    assert!(
        err["msg"].as_str().unwrap().contains("does not exist"),
        "{err}"
    );
    assert!(Netlink::open_in(&node.host)
        .unwrap()
        .link_by_name("enp0s11v1")
        .is_ok());
}
