//! A scratch node for black-box runs of the `vdpa` binary: a host netns with a veth standing
//! in for a virtio_vdpa device's netdev, a pod netns, a fake sysfs bind-mounted over /sys and a
//! scratch /var/lib, both in a private mount namespace of the plugin process only.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::io::Write;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use nfv_netlink::{Netlink, Netns};
use serde_json::{json, Value};

pub const VF: &str = "0000:00:0d.3";

pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

static SEQ: AtomicU32 = AtomicU32::new(0);

pub struct Node {
    pub host_name: String,
    pub pod_name: String,
    pub host: Netns,
    pub dir: PathBuf,
}

impl Node {
    pub fn new() -> Node {
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
    pub fn cni(&self, command: &str, container: &str, conf: &Value) -> (i32, Value) {
        self.cni_with(command, container, conf, &[])
    }

    /// Like `cni`, with extra environment (CNI_PATH, a crash point).
    pub fn cni_with(
        &self,
        command: &str,
        container: &str,
        conf: &Value,
        env: &[(&str, String)],
    ) -> (i32, Value) {
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
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
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
pub fn fake_sysfs(root: &Path) {
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

pub fn conf(extra: Value) -> Value {
    let mut c = json!({"cniVersion": "1.1.0", "name": "vdpa-net", "type": "vdpa"});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}
