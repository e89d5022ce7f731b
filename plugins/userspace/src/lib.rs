//! CNI type `userspace`: vhost-user ports on OVS-DPDK for pods whose DPDK app talks
//! vhost-user, configured through ovsdb-server directly (nfv-ovsdb), one transaction per ADD
//! and per DEL. Reads the Intel userspace-cni-network-plugin's ovs-dpdk/vhostuser configs.
//!
//! - `config.rs`: the config and its validation into a `Plan`
//! - `places.rs`: where `sharedDir`, `ovsdbSocket` and `ovsSocketDir` may lie
//! - `ports.rs`: the OVSDB transactions, as data
//! - `vswitch.rs`: the connection to ovsdb-server, waiting for ovs-vswitchd
//! - `sockdir.rs`: the pod's socket directory, pod-side JSON, server-mode socket, device-info file
//! - `attach.rs`: ADD with rollback, DEL, CHECK, GC
//! - `crash.rs`: test-only crash points (feature `test-hooks`)

pub mod attach;
pub mod config;
pub mod crash;
pub mod places;
pub mod ports;
pub mod sockdir;
pub mod vswitch;

use nfv_cni::{code, Error, Plugin, Request, Success};

use crate::config::UserspaceConf;
use crate::places::Places;

/// The plugin, for `nfv_cni::run`: the node's places.
#[derive(Debug, Default)]
pub struct Userspace;

/// The plugin with other places than the node's (tests: scratch directories stand in).
#[derive(Debug)]
pub struct UserspaceAt(pub Places);

impl Plugin for Userspace {
    fn add(&self, req: &Request) -> Result<Success, Error> {
        attach::add(req, &Places::node())
    }

    fn del(&self, req: &Request) -> Result<(), Error> {
        attach::del(req, &Places::node())
    }

    fn check(&self, req: &Request) -> Result<(), Error> {
        attach::check(req, &Places::node())
    }

    fn gc(&self, req: &Request) -> Result<(), Error> {
        attach::gc(req, &Places::node())
    }

    fn status(&self, req: &Request) -> Result<(), Error> {
        status(req, &Places::node())
    }
}

impl Plugin for UserspaceAt {
    fn add(&self, req: &Request) -> Result<Success, Error> {
        attach::add(req, &self.0)
    }

    fn del(&self, req: &Request) -> Result<(), Error> {
        attach::del(req, &self.0)
    }

    fn check(&self, req: &Request) -> Result<(), Error> {
        attach::check(req, &self.0)
    }

    fn gc(&self, req: &Request) -> Result<(), Error> {
        attach::gc(req, &self.0)
    }

    fn status(&self, req: &Request) -> Result<(), Error> {
        status(req, &self.0)
    }
}

/// STATUS: ovsdb-server answers and holds the Open_vSwitch database; then IPAM STATUS.
fn status(req: &Request, places: &Places) -> Result<(), Error> {
    let conf: UserspaceConf = req.parse_conf()?;
    let (socket, timeout) = conf.endpoint(places)?;
    let unavailable = |why: String| {
        Error::new(
            code::NOT_AVAILABLE,
            format!("Open vSwitch is not available: {why}"),
        )
    };
    let mut vs = vswitch::Vswitch::connect(&socket, timeout).map_err(|e| unavailable(e.msg))?;
    match vs.has_database() {
        Ok(true) => {}
        Ok(false) => {
            return Err(unavailable(format!(
                "ovsdb-server at {} has no Open_vSwitch database",
                socket.display()
            )))
        }
        Err(e) => return Err(unavailable(e.to_string())),
    }
    nfv_cni::ipam::status(req)
}
