//! nfvctl on a scratch node, after the built plugins attached pods the way a runtime does: the
//! `sriov` binary with a veth standing in for the VF (fake /sys), the `vdpa` binary on a
//! vhost_vdpa device, both with our `host-local` for IPAM; /sys and /var/lib bind-mounted for
//! the plugins and nfvctl alike (nfv-testkit's `Node`). `nfvctl status --json` lists both with
//! their leases and no drift; a lease nobody holds and the vdpa pod's netns deleted behind our
//! back are flagged; `nfvctl gc --dry-run` names what GC would tear down; nothing nfvctl ran changed
//! a file. VF settings through a PF cannot change on a veth: lab case 44 does that on igb.
//!
//! Needs root and util-linux; the binaries come from `NFV_CNI_BIN_DIR` (see `binaries`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use nfv_conformance::binaries::plugin;
use nfv_conformance::prerequisites::{require, require_root, Prerequisite, IPROUTE2};
use nfv_testkit::sysfs::{bind, link, pci_device, vf_of};
use nfv_testkit::Node;
use serde_json::{json, Value};

const UTIL_LINUX: Prerequisite = Prerequisite {
    what: "nsenter",
    apt_package: "util-linux",
};

const PF: &str = "0000:00:0c.0";
/// The VF the sriov NAD names; its netdev is the veth `vf0`.
const VF: &str = "0000:00:0c.1";
/// The VF carrying the vhost_vdpa device the vdpa NAD names.
const VDPA_VF: &str = "0000:00:0c.2";
const VDPA: &str = "vdpa3";

fn fake_sysfs(root: &Path) {
    let pf = pci_device(root, PF);
    std::fs::create_dir_all(pf.join("net/pf0")).unwrap();
    let vf = pci_device(root, VF);
    std::fs::create_dir_all(vf.join("net/vf0")).unwrap();
    vf_of(root, PF, 0, VF);
    bind(root, VF, "fakevf");
    let vdpa_vf = pci_device(root, VDPA_VF);
    vf_of(root, PF, 1, VDPA_VF);
    bind(root, VDPA_VF, "mlx5_core");
    std::fs::create_dir_all(root.join("bus/vdpa/drivers/vhost_vdpa")).unwrap();
    let dev = vdpa_vf.join(VDPA);
    std::fs::create_dir_all(dev.join("vhost-vdpa-3")).unwrap();
    link(
        "../../../../bus/vdpa/drivers/vhost_vdpa",
        dev.join("driver"),
    );
    link(
        &format!("../../../devices/pci0000:00/{VDPA_VF}/{VDPA}"),
        root.join("bus/vdpa/devices").join(VDPA),
    );
}

fn sriov_conf() -> Value {
    json!({"cniVersion": "1.1.0", "name": "sriov-net", "type": "sriov", "deviceID": VF,
        "ipam": {"type": "host-local", "subnet": "10.44.0.0/24"}})
}

fn vdpa_conf() -> Value {
    json!({"cniVersion": "1.1.0", "name": "vdpa-net", "type": "vdpa", "deviceID": VDPA_VF,
        "ipam": {"type": "host-local", "subnet": "10.45.0.0/24"}})
}

/// nfvctl with `args`, seeing the node's /sys and /var/lib as the plugins do.
fn nfvctl(node: &Node, args: &[&str]) -> (i32, String) {
    let script = format!(
        "mount --bind {} /sys && mount --bind {} /var/lib && exec {} \"$@\"",
        node.dir.join("sys").display(),
        node.dir.join("varlib").display(),
        plugin("nfvctl").display()
    );
    let out = Command::new("nsenter")
        .arg(format!("--net=/run/netns/{}", node.host_name))
        .args(["--", "unshare", "--mount", "--propagation", "private"])
        .args(["--", "sh", "-c"])
        .arg(script)
        .arg("nfvctl")
        .args(args)
        .output()
        .unwrap();
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

fn status(node: &Node) -> Value {
    let (code, out) = nfvctl(node, &["status", "--json", "--no-ovs"]);
    assert_eq!(code, 0, "{out}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// Every file below /var/lib with its content: what nfvctl must leave as it found it.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            let bytes = if p.is_file() {
                std::fs::read(&p).unwrap()
            } else {
                vec![]
            };
            out.insert(p.display().to_string(), bytes);
        }
    }
    out
}

/// A second pod namespace, removed at the end whatever happens.
struct Pod2(String);

impl Pod2 {
    fn new(name: &str) -> Pod2 {
        let _ = Command::new("ip")
            .args(["netns", "delete", name])
            .stderr(std::process::Stdio::null())
            .status();
        let ok = Command::new("ip")
            .args(["netns", "add", name])
            .status()
            .unwrap();
        assert!(ok.success(), "ip netns add {name}");
        Pod2(name.to_string())
    }

    fn path(&self) -> String {
        format!("/run/netns/{}", self.0)
    }

    fn delete(&self) {
        let ok = Command::new("ip")
            .args(["netns", "delete", &self.0])
            .status()
            .unwrap();
        assert!(ok.success(), "ip netns delete {}", self.0);
    }
}

impl Drop for Pod2 {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.0])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

fn kinds(a: &Value) -> Vec<String> {
    a["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn nfvctl_shows_what_the_plugins_attached_flags_drift_and_previews_gc() {
    require_root();
    require(&[UTIL_LINUX, IPROUTE2]);
    let node = Node::new("nfvctl", plugin("sriov"));
    fake_sysfs(&node.sys());
    {
        let mut nl = node.host_netlink();
        nl.create_veth("pf0", "pf0peer", None).unwrap();
        nl.create_veth("vf0", "vf0peer", None).unwrap();
    }
    let bin = node.dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(plugin("host-local"), bin.join("host-local")).unwrap();
    let env = [("CNI_PATH", bin.display().to_string())];
    // The vdpa pod has a namespace of its own (deleted below behind the plugins' back: a veth
    // standing in for a VF would die with its namespace, a vDPA device in vhost mode does not).
    let pod2 = Pod2::new(&format!("nfvctlp2-{}", std::process::id()));
    let vdpa_env = [
        ("CNI_PATH", bin.display().to_string()),
        ("CNI_IFNAME", "net2".to_string()),
        ("CNI_NETNS", pod2.path()),
    ];
    let (code, out) = node.cni_with("ADD", "c-sriov", &sriov_conf(), &env);
    assert_eq!(code, 0, "sriov ADD: {out}");
    let (code, out) = node.cni_of(&plugin("vdpa"), "ADD", "c-vdpa", &vdpa_conf(), &vdpa_env);
    assert_eq!(code, 0, "vdpa ADD: {out}");

    let varlib = node.dir.join("varlib");
    let before = files(&varlib);
    let st = status(&node);
    let a = st["attachments"].as_array().unwrap();
    assert_eq!(a.len(), 2, "{st:#}");
    let (sriov, vdpa) = (&a[0], &a[1]);
    assert_eq!(sriov["plugin"], "sriov");
    assert_eq!(
        (&sriov["network"], &sriov["containerID"], &sriov["ifname"]),
        (&json!("sriov-net"), &json!("c-sriov"), &json!("net1"))
    );
    assert_eq!(sriov["netns"], node.pod_netns().display().to_string());
    assert_eq!(sriov["netnsExists"], true);
    assert_eq!(sriov["vf"]["pci"], VF);
    assert_eq!(
        (&sriov["vf"]["pf"], &sriov["vf"]["index"]),
        (&json!("pf0"), &json!(0))
    );
    // (The fake sysfs keeps listing `net/vf0` after the move: the lab checks `hostNetdev`.)
    assert_eq!(sriov["leases"], json!(["10.44.0.2"]));
    assert_eq!(vdpa["plugin"], "vdpa");
    assert_eq!(vdpa["ifname"], "net2");
    assert_eq!(vdpa["vdpa"]["device"], VDPA);
    assert_eq!(vdpa["vdpa"]["present"], true);
    assert_eq!(vdpa["vdpa"]["driver"], "vhost_vdpa");
    assert_eq!(vdpa["leases"], json!(["10.45.0.2"]));
    assert!(kinds(sriov).is_empty() && kinds(vdpa).is_empty(), "{st:#}");
    assert_eq!(st["drift"], json!([]));
    let (code, table) = nfvctl(&node, &["status", "--no-ovs"]);
    assert_eq!(code, 0);
    assert!(
        table.contains("c-sriov") && table.contains("VF 0000:00:0c.1 (pf0 vf 0)"),
        "{table}"
    );
    assert_eq!(files(&varlib), before, "nfvctl status changed nothing");

    // Behind our back: a lease nobody holds, and the vdpa pod's namespace gone.
    std::fs::write(
        varlib.join("cni/networks/sriov-net/10.44.0.99"),
        "ghost\r\nnet1",
    )
    .unwrap();
    pod2.delete();
    let before = files(&varlib);
    let st = status(&node);
    let a = st["attachments"].as_array().unwrap();
    assert!(kinds(&a[0]).is_empty(), "{st:#}");
    assert_eq!(kinds(&a[1]), ["netns-gone"], "{st:#}");
    assert_eq!(a[1]["netnsExists"], false);
    assert_eq!(st["drift"][0]["kind"], "lease-without-attachment");
    assert!(st["drift"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("10.44.0.99"));

    // GC with only the vdpa pod valid: sriov's attachment and both sriov-net leases go.
    let valid = node.dir.join("valid.json");
    std::fs::write(
        &valid,
        json!([{"containerID": "c-vdpa", "ifname": "net2"}]).to_string(),
    )
    .unwrap();
    let (code, out) = nfvctl(
        &node,
        &[
            "gc",
            "--dry-run",
            "--valid",
            &valid.display().to_string(),
            "--json",
            "--no-ovs",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let plan: Value = serde_json::from_str(&out).unwrap();
    let steps = |net: &str| -> Vec<(String, String)> {
        plan["networks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["network"] == net)
            .unwrap()["teardown"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["plugin"].as_str().unwrap().to_string(),
                    s["containerID"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(
        steps("sriov-net"),
        [
            ("sriov".to_string(), "c-sriov".to_string()),
            ("host-local".to_string(), "c-sriov".to_string()),
            ("host-local".to_string(), "ghost".to_string()),
        ]
    );
    assert!(steps("vdpa-net").is_empty(), "{plan:#}");
    assert_eq!(files(&varlib), before, "nfvctl changed nothing");

    // The pods go as a runtime would take them down.
    let (code, out) = node.cni_with("DEL", "c-sriov", &sriov_conf(), &env);
    assert_eq!(code, 0, "sriov DEL: {out}");
    let (code, out) = node.cni_of(&plugin("vdpa"), "DEL", "c-vdpa", &vdpa_conf(), &vdpa_env);
    assert_eq!(code, 0, "vdpa DEL: {out}");
    let st = status(&node);
    assert_eq!(st["attachments"], json!([]), "{st:#}");
}
