//! A scratch node for black-box runs of a plugin binary: a named host netns and pod netns, a
//! scratch directory whose `sys/` (a fake sysfs the caller fills) and `varlib/` are
//! bind-mounted over /sys and /var/lib in a private mount namespace of the plugin process
//! only. Everything goes when the node is dropped.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nfv_netlink::{Netlink, Netns};
use serde_json::Value;

#[derive(Debug)]
pub struct Node {
    pub host_name: String,
    pub pod_name: String,
    pub host: Netns,
    pub dir: PathBuf,
    binary: PathBuf,
}

impl Node {
    /// A node for `binary` (`env!("CARGO_BIN_EXE_<name>")`); `prefix` names its namespaces
    /// (`<prefix>bh-<pid>-<n>`, `<prefix>bp-...`) and directory (`<tmp>/<prefix>-bin-...`).
    pub fn new(prefix: &str, binary: impl Into<PathBuf>) -> Node {
        let id = crate::unique_id();
        let dir = std::env::temp_dir().join(format!("{prefix}-bin-{id}"));
        let _ = std::fs::remove_dir_all(&dir);
        let host_name = format!("{prefix}bh-{id}");
        let pod_name = format!("{prefix}bp-{id}");
        let host = Netns::create_named(&host_name).unwrap();
        Netns::create_named(&pod_name).unwrap();
        std::fs::create_dir_all(dir.join("sys")).unwrap();
        std::fs::create_dir_all(dir.join("varlib/cni")).unwrap();
        Node {
            host_name,
            pod_name,
            host,
            dir,
            binary: binary.into(),
        }
    }

    /// A netlink socket in the host namespace (to create the veths standing in for devices).
    pub fn host_netlink(&self) -> Netlink {
        Netlink::open_in(&self.host).unwrap()
    }

    /// The host netdev `name` up with a known MAC (`02:00:00:cc:00:01`), like a device's
    /// netdev the node brought up: what "as before" is compared with after a teardown.
    pub fn known_netdev_up(&self, name: &str) {
        let mut host = self.host_netlink();
        let l = host.link_by_name(name).unwrap();
        host.set_mac(l.index, "02:00:00:cc:00:01".parse().unwrap())
            .unwrap();
        host.set_up(l.index).unwrap();
    }

    /// The fake sysfs root the plugin sees as /sys.
    pub fn sys(&self) -> PathBuf {
        self.dir.join("sys")
    }

    /// The pod namespace's path (CNI_NETNS).
    pub fn pod_netns(&self) -> PathBuf {
        Path::new("/run/netns").join(&self.pod_name)
    }

    /// Run the plugin binary; returns (exit code, stdout JSON or null when it printed nothing).
    pub fn cni(&self, command: &str, container: &str, conf: &Value) -> (i32, Value) {
        self.cni_with(command, container, conf, &[])
    }

    /// Like [`cni`](Self::cni), with extra environment (CNI_PATH, a crash point).
    /// CNI_IFNAME is `net1`, CNI_PATH `/nonexistent` unless `env` says otherwise.
    pub fn cni_with(
        &self,
        command: &str,
        container: &str,
        conf: &Value,
        env: &[(&str, String)],
    ) -> (i32, Value) {
        self.cni_of(&self.binary, command, container, conf, env)
    }

    /// Like [`cni_with`](Self::cni_with), running another plugin's `binary` on this node (the
    /// same /sys, /var/lib and namespaces): for two plugins that meet on one device.
    pub fn cni_of(
        &self,
        binary: &Path,
        command: &str,
        container: &str,
        conf: &Value,
        env: &[(&str, String)],
    ) -> (i32, Value) {
        let script = format!(
            "mount --bind {} /sys && mount --bind {} /var/lib && exec {}",
            self.dir.join("sys").display(),
            self.dir.join("varlib").display(),
            binary.display()
        );
        let mut child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.host_name))
            .args(["--", "unshare", "--mount", "--propagation", "private"])
            .args(["--", "sh", "-c"])
            .arg(script)
            .env("CNI_COMMAND", command)
            .env("CNI_CONTAINERID", container)
            .env("CNI_NETNS", self.pod_netns())
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
