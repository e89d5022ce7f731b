//! A scratch node as `nfvctl::Node::under` lays it out, filled with what the plugins write.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use nfv_testkit::sysfs::{bind, pci_device, vf_of};
use serde_json::{json, Value};

pub const PF: &str = "0000:01:10.0";
/// VF 0 of [`PF`]: our sriov attachment (its netdev is in the pod).
pub const VF_OURS: &str = "0000:01:10.1";
/// VF 1 of [`PF`]: sriov-cni's attachment of testdata/sriov-cni/netdev/5e0b8f1c7a2d-net1.
pub const VF_THEIRS: &str = "0000:01:10.2";
pub const SRIOV_CNI_CACHE: &[u8] =
    include_bytes!("../../../../testdata/sriov-cni/netdev/5e0b8f1c7a2d-net1");

pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("nfvctl-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }

    pub fn write(&self, rel: &str, bytes: &[u8]) {
        let p = self.0.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    pub fn json(&self, rel: &str, v: &Value) {
        self.write(rel, &serde_json::to_vec_pretty(v).unwrap());
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A PF `enp1s0f0` with VF 0 (netdev away in a pod) and VF 1 (netdev `enp1s0f0v1` home).
pub fn fake_sysfs(root: &Path) {
    let pf = pci_device(root, PF);
    std::fs::create_dir_all(pf.join("net/enp1s0f0")).unwrap();
    for (i, vf) in [VF_OURS, VF_THEIRS].into_iter().enumerate() {
        let dir = pci_device(root, vf);
        vf_of(root, PF, i as u32, vf);
        bind(root, vf, "igbvf");
        if i == 1 {
            std::fs::create_dir_all(dir.join("net/enp1s0f0v1")).unwrap();
        }
    }
}

/// An sriov record as the plugin writes it (camelCase, `savedVf` in its own field names).
pub fn sriov_record(
    container: &str,
    network: &str,
    device: &str,
    index: u32,
    netns: &str,
) -> Value {
    let mut r = json!({
        "containerId": container, "ifname": "net1", "device": device,
        "pfNetdev": "enp1s0f0", "vfIndex": index, "mode": "netdev", "driver": null,
        "hostIfname": format!("enp1s0f0v{index}"), "hostMac": null, "hostMtu": 1500,
        "hostUp": true,
        "savedVf": {"mac": null, "vlan": [0, 0, false], "spoofchk": null, "trust": null,
                    "rate": null, "link_state": null},
        "appliedVf": {"mac": null, "vlan": [100, 0, false], "spoofchk": null, "trust": null,
                      "rate": null, "link_state": null},
        "netns": netns, "deviceInfoFile": null,
    });
    if !network.is_empty() {
        r["network"] = json!(network);
    }
    r
}

/// A vdpa record (format version 1).
pub fn vdpa_record(container: &str, network: &str, device: &str, netns: &str) -> Value {
    let mut r = json!({
        "version": 1, "containerId": container, "ifname": "net1", "device": device,
        "mode": "vhost", "netdev": null, "netns": netns, "deviceInfoFile": null,
    });
    if !network.is_empty() {
        r["network"] = json!(network);
    }
    r
}

/// A host-local lease of `network` for `owner` (`<containerID>\r\n<ifname>`, or a legacy ID).
pub fn lease(s: &Scratch, network: &str, address: &str, owner: &str) {
    s.write(&format!("networks/{network}/{address}"), owner.as_bytes());
}
