//! One in-process test's world: a [`Sandbox`] (the scratch host namespace the verbs run in,
//! the pod namespace, a scratch directory, the scripted IPAM) and the plugin under test.
//! The plugins' host-tier tests wrap it with what is theirs (a fake sysfs, the stand-in
//! netdev's MAC, a device-info directory).

use nfv_cni::result::Success;
use nfv_cni::{Command, Error, Plugin, Request};
use serde_json::Value;

use crate::sandbox::{Sandbox, IPAM_ADD_FAILS};

/// The scripted IPAM's ADD of [`World::install_ipam`]: 10.9.0.5/24 with gateway 10.9.0.1,
/// and a route to 10.50.0.0/16 through it.
pub const IPAM_ADD_PRINTS: &str = r#"echo '{"cniVersion":"1.0.0","ips":[{"address":"10.9.0.5/24","gateway":"10.9.0.1"}],"routes":[{"dst":"10.50.0.0/16","gw":"10.9.0.1"}]}'"#;

/// The sandbox and the plugin; derefs to the [`Sandbox`].
#[derive(Debug)]
pub struct World<P> {
    sb: Sandbox,
    pub plugin: P,
}

impl<P> std::ops::Deref for World<P> {
    type Target = Sandbox;
    fn deref(&self) -> &Sandbox {
        &self.sb
    }
}

impl<P> World<P> {
    pub fn new(sb: Sandbox, plugin: P) -> World<P> {
        World { sb, plugin }
    }

    /// Run `f` on the plugin with the thread inside the scratch host namespace.
    pub fn run<T>(&self, f: impl FnOnce(&P) -> T) -> T {
        self.host.run_in(|| f(&self.plugin)).unwrap()
    }

    /// The request a runtime sends for `command` on `net1` of `container`.
    pub fn request(&self, command: Command, container: &str, conf: &Value) -> Request {
        self.sb.request_on(command, container, "net1", conf)
    }

    /// A scripted IPAM plugin (`fake-ipam`): ADD prints [`IPAM_ADD_PRINTS`], or fails with
    /// [`IPAM_ADD_FAILS`]; every call is logged.
    pub fn install_ipam(&self, fail_add: bool) {
        self.sb.install_fake_ipam(if fail_add {
            IPAM_ADD_FAILS
        } else {
            IPAM_ADD_PRINTS
        });
    }
}

impl<P: Plugin> World<P> {
    /// ADD of `container` on `net1`, in the host namespace.
    pub fn add(&self, container: &str, conf: &Value) -> Result<Success, Error> {
        self.run(|p| p.add(&self.request(Command::Add, container, conf)))
    }

    /// DEL of `container` on `net1`, in the host namespace.
    pub fn del(&self, container: &str, conf: &Value) -> Result<(), Error> {
        self.run(|p| p.del(&self.request(Command::Del, container, conf)))
    }
}
