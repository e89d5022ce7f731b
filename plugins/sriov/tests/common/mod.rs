//! A scratch node for black-box runs of the `sriov` binary: a host netns with a veth standing
//! in for the VF netdev (and one for the PF), a pod netns, a fake sysfs bind-mounted over /sys
//! and a scratch /var/lib, both in a private mount namespace of the plugin process only.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::io::Write;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use nfv_netlink::{Netlink, Netns};
use serde_json::{json, Value};

pub const VF: &str = "0000:00:0b.1";
pub const PF: &str = "0000:00:0b.0";

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
        let dir = std::env::temp_dir().join(format!("sriov-bin-{id}"));
        let _ = std::fs::remove_dir_all(&dir);
        let host_name = format!("sriovbh-{id}");
        let pod_name = format!("sriovbp-{id}");
        let host = Netns::create_named(&host_name).unwrap();
        Netns::create_named(&pod_name).unwrap();
        let mut nl = Netlink::open_in(&host).unwrap();
        nl.create_veth("pf0", "pf0peer", None).unwrap();
        nl.create_veth("enp0s11v1", "vfpeer", None).unwrap();
        let vf = nl.link_by_name("enp0s11v1").unwrap();
        nl.set_mtu(vf.index, 1500).unwrap();
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
            env!("CARGO_BIN_EXE_sriov")
        );
        let mut child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.host_name))
            .args([
                "--",
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "--",
                "sh",
                "-c",
            ])
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

pub fn fake_sysfs(root: &Path) {
    let devs = root.join("devices/pci0000:00");
    let (pf, vf) = (devs.join(PF), devs.join(VF));
    std::fs::create_dir_all(pf.join("net/pf0")).unwrap();
    std::fs::create_dir_all(vf.join("net/enp0s11v1")).unwrap();
    std::fs::create_dir_all(root.join("bus/pci/devices")).unwrap();
    std::fs::create_dir_all(root.join("bus/pci/drivers/iavf")).unwrap();
    for d in [PF, VF] {
        symlink(
            format!("../../../devices/pci0000:00/{d}"),
            root.join("bus/pci/devices").join(d),
        )
        .unwrap();
    }
    symlink(format!("../{VF}"), pf.join("virtfn1")).unwrap();
    symlink(format!("../{PF}"), vf.join("physfn")).unwrap();
    symlink("../../../bus/pci/drivers/iavf", vf.join("driver")).unwrap();
}

pub fn conf(extra: Value) -> Value {
    let mut c =
        json!({"cniVersion": "1.1.0", "name": "sriov-net", "type": "sriov", "deviceID": VF});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}
