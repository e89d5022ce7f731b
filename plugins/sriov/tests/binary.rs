//! Black-box tier: the built `sriov` binary run the way a runtime runs it (env + stdin, JSON on
//! stdout), inside a scratch network namespace and a private mount namespace where a fake
//! sysfs is bind-mounted over /sys and a scratch directory over /var/lib. This is how a test
//! shows the binary a fake sysfs: nothing in the config or the environment can.
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

const VF: &str = "0000:00:0b.1";
const PF: &str = "0000:00:0b.0";

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
    fn cni(&self, command: &str, container: &str, conf: &Value) -> (i32, Value) {
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

fn fake_sysfs(root: &Path) {
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

fn conf(extra: Value) -> Value {
    let mut c =
        json!({"cniVersion": "1.1.0", "name": "sriov-net", "type": "sriov", "deviceID": VF});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

#[test]
fn add_and_del_through_the_binary() {
    if !is_root() {
        eprintln!("SKIPPED add_and_del_through_the_binary: needs root");
        return;
    }
    let node = Node::new();
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
    let node = Node::new();
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
