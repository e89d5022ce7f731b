//! Shared by the userspace plugin's tests: a fake ovsdb-server ([`server`]), a stateful model of
//! Open vSwitch behind it ([`ovs_model`]), running a verb in-process, and scratch places.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, unused_imports)]

pub mod ovs_model;
pub mod scripted;
pub mod server;

use std::path::{Path, PathBuf};

use serde_json::Value;

pub use ovs_model::OvsModel;
pub use server::{FakeOvsdb, Kind};

/// The container ID the in-process runs use; its socket directory is `c0ffee000000`.
pub const CID: &str = "c0ffee0000000000";
pub const CID12: &str = "c0ffee000000";
pub const PORT: &str = "c0ffee000000-net1";

/// Runs `verb` in-process for container `cid`, interface net1, with `plugin` and `stdin`;
/// CNI_PATH is `cni_path` (an IPAM plugin's directory) or a directory that does not exist.
pub fn run_with(
    plugin: &dyn nfv_cni::Plugin,
    verb: &str,
    cid: &str,
    stdin: &str,
    cni_path: Option<&Path>,
) -> (i32, Value) {
    run_with_args(plugin, verb, cid, stdin, cni_path, "")
}

/// [`run_with`] with `CNI_ARGS` (`K8S_POD_UID=...` as Multus passes it).
pub fn run_with_args(
    plugin: &dyn nfv_cni::Plugin,
    verb: &str,
    cid: &str,
    stdin: &str,
    cni_path: Option<&Path>,
    cni_args: &str,
) -> (i32, Value) {
    let path = cni_path.map_or("/nonexistent".to_string(), |p| p.display().to_string());
    let env = move |k: &str| -> Option<String> {
        match k {
            "CNI_COMMAND" => Some(verb.to_string()),
            "CNI_CONTAINERID" => Some(cid.to_string()),
            "CNI_IFNAME" => Some("net1".into()),
            "CNI_NETNS" => Some("/proc/self/ns/net".into()),
            "CNI_PATH" => Some(path.clone()),
            "CNI_ARGS" => Some(cni_args.to_string()),
            _ => None,
        }
    };
    let out = nfv_cni::dispatch(plugin, "", &env, &mut stdin.as_bytes());
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.exit_code, v)
}

/// A fresh scratch directory `<tmp>/us-<what>-<name>-<pid>`.
pub fn scratch(what: &str, name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("us-{what}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A directory on the node's real places, removed again on drop: `<root>/nfv-test-<pid>-<name>`.
/// For tests of the plugin as the node runs it (they need root).
#[derive(Debug)]
pub struct NodeDir(pub PathBuf);

impl NodeDir {
    pub fn new(root: &str, name: &str) -> NodeDir {
        let d = Path::new(root).join(format!("nfv-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        NodeDir(d)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for NodeDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An IPAM plugin `dir/bin/test-ipam` whose ADD runs the shell `add` and which appends each
/// call's command to `dir/ipam.log`. Returns the bin directory (for CNI_PATH).
pub fn install_ipam(dir: &Path, add: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = format!(
        "#!/bin/sh\necho \"$CNI_COMMAND\" >> {}\nif [ \"$CNI_COMMAND\" = ADD ]; then {add}; fi\nexit 0\n",
        dir.join("ipam.log").display()
    );
    let p = bin.join("test-ipam");
    std::fs::write(&p, script).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}
