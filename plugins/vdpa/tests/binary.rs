//! Black-box tier: the built `vdpa` binary run the way a runtime runs it (env + stdin, JSON on
//! stdout), inside a scratch network namespace and a private mount namespace where a fake
//! sysfs is bind-mounted over /sys and a scratch directory over /var/lib. This is how a test
//! shows the binary a fake sysfs: nothing in the config or the environment can. The host
//! kernel has no vdpa generic-netlink family, so the binary's sysfs fallback is what runs here;
//! the lab runs the netlink path on real devices.
//!
//! Needs root and util-linux (nsenter, unshare, mount); without root each test says it skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use nfv_netlink::{Netlink, Netns};
use serde_json::{json, Value};

const VF: &str = "0000:00:0d.3";

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

static SEQ: AtomicU32 = AtomicU32::new(0);

struct Node {
    host_name: String,
    pod_name: String,
    host: Netns,
    dir: PathBuf,
}

impl Node {
    fn new() -> Node {
        let id = format!(
            "{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        );
        let dir = std::env::temp_dir().join(format!("vdpa-bin-{id}"));
        let _ = std::fs::remove_dir_all(&dir);
        let host_name = format!("vdpabh-{id}");
        let pod_name = format!("vdpabp-{id}");
        let host = Netns::create_named(&host_name).unwrap();
        Netns::create_named(&pod_name).unwrap();
        let mut nl = Netlink::open_in(&host).unwrap();
        nl.create_veth("eth7", "eth7peer", None).unwrap();
        fake_sysfs(&dir.join("sys"));
        std::fs::create_dir_all(dir.join("varlib/cni")).unwrap();
        Node {
            host_name,
            pod_name,
            host,
            dir,
        }
    }

    /// Run the plugin binary; returns (exit code, stdout JSON).
    fn cni(&self, command: &str, container: &str, conf: &Value) -> (i32, Value) {
        let script = format!(
            "mount --bind {} /sys && mount --bind {} /var/lib && exec {}",
            self.dir.join("sys").display(),
            self.dir.join("varlib").display(),
            env!("CARGO_BIN_EXE_vdpa")
        );
        let mut child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.host_name))
            .args(["--", "unshare", "--mount", "--propagation", "private"])
            .args(["--", "sh", "-c"])
            .arg(script)
            .env("CNI_COMMAND", command)
            .env("CNI_CONTAINERID", container)
            .env("CNI_NETNS", format!("/run/netns/{}", self.pod_name))
            .env("CNI_IFNAME", "net1")
            .env("CNI_PATH", "/nonexistent")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nsenter/unshare (util-linux) must be installed");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(&serde_json::to_vec(conf).unwrap())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let json = if stdout.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout:?}"))
        };
        (out.status.code().unwrap_or(-1), json)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = Netns::delete_named(&self.pod_name);
        let _ = Netns::delete_named(&self.host_name);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A VF carrying `vdpa3` on virtio_vdpa (netdev `eth7`, the veth) and the simulator's `vdpa4`
/// on vhost_vdpa.
fn fake_sysfs(root: &Path) {
    let link = |target: &str, name: PathBuf| {
        std::fs::create_dir_all(name.parent().unwrap()).unwrap();
        symlink(target, name).unwrap();
    };
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

fn conf(extra: Value) -> Value {
    let mut c = json!({"cniVersion": "1.1.0", "name": "vdpa-net", "type": "vdpa"});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

#[test]
fn virtio_add_and_del_through_the_binary() {
    if !is_root() {
        eprintln!("SKIPPED virtio_add_and_del_through_the_binary: needs root");
        return;
    }
    let node = Node::new();
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
    let node = Node::new();
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
