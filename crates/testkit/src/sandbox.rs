//! An in-process sandbox for calling a plugin's verbs directly (not its binary): a scratch
//! "host" namespace the test thread enters, a named pod namespace, a scratch directory, and
//! the CNI request the runtime would send. A scripted IPAM plugin in `dir/bin` logs every
//! call. Everything goes when the sandbox is dropped.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use nfv_cni::{CniArgs, Command, Env, Request};
use nfv_netlink::{Netlink, Netns};
use serde_json::Value;

/// The scripted IPAM's ADD when it has to fail: CNI error 11, "no addresses left".
pub const IPAM_ADD_FAILS: &str =
    r#"echo '{"cniVersion":"1.0.0","code":11,"msg":"no addresses left"}'; exit 1"#;

#[derive(Debug)]
pub struct Sandbox {
    /// The scratch host namespace (anonymous).
    pub host: Netns,
    /// The pod namespace, `/run/netns/<pod_name>`.
    pub pod: Netns,
    pub pod_name: String,
    /// `<tmp>/<dir_prefix>-<pid>-<n>`.
    pub dir: PathBuf,
}

impl Sandbox {
    /// A sandbox whose directory is `<tmp>/<dir_prefix>-<id>` and pod namespace
    /// `<pod_prefix>-<id>`, `<id>` being unique in this test run.
    pub fn new(dir_prefix: &str, pod_prefix: &str) -> Sandbox {
        let id = crate::unique_id();
        let dir = std::env::temp_dir().join(format!("{dir_prefix}-{id}"));
        let _ = std::fs::remove_dir_all(&dir);
        let host = Netns::new_anonymous().unwrap();
        let pod_name = format!("{pod_prefix}-{id}");
        let pod = Netns::create_named(&pod_name).unwrap();
        Sandbox {
            host,
            pod,
            pod_name,
            dir,
        }
    }

    /// The request a runtime sends for `command` on interface `ifname` of `container`:
    /// CNI_PATH is `dir/bin`, no CNI_ARGS.
    pub fn request_on(
        &self,
        command: Command,
        container: &str,
        ifname: &str,
        conf: &Value,
    ) -> Request {
        let env = Env {
            command,
            container_id: Some(container.into()),
            netns: Some(PathBuf::from(format!("/run/netns/{}", self.pod_name))),
            ifname: Some(ifname.into()),
            args: CniArgs::default(),
            path: vec![self.dir.join("bin")],
        };
        Request::new(env, serde_json::to_vec(conf).unwrap()).unwrap()
    }

    pub fn host_nl(&self) -> Netlink {
        Netlink::open_in(&self.host).unwrap()
    }

    pub fn pod_nl(&self) -> Netlink {
        Netlink::open_in(&self.pod).unwrap()
    }

    /// Install `dir/bin/fake-ipam`: every call appends `<CNI_COMMAND> <CNI_CONTAINERID>` to
    /// `dir/ipam.log`; ADD then runs the shell `add` (print a result, or [`IPAM_ADD_FAILS`]).
    pub fn install_fake_ipam(&self, add: &str) {
        let bin = self.dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let script = format!(
            "#!/bin/sh\necho \"$CNI_COMMAND $CNI_CONTAINERID\" >> {}\nif [ \"$CNI_COMMAND\" = ADD ]; then {add}; fi\nexit 0\n",
            self.dir.join("ipam.log").display()
        );
        let p = bin.join("fake-ipam");
        std::fs::write(&p, script).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// What the scripted IPAM logged so far.
    pub fn ipam_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("ipam.log")).unwrap_or_default()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = Netns::delete_named(&self.pod_name);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
