//! CNI type `userspace`: vhost-user ports on OVS-DPDK for pods whose DPDK app talks
//! vhost-user, configured through ovsdb-server directly (nfv-ovsdb), one transaction per ADD
//! and per DEL. Reads the Intel userspace-cni-network-plugin's ovs-dpdk/vhostuser configs.
//!
//! - `config.rs`: the config and its validation into a `Plan`
//! - `ports.rs`: the OVSDB transactions, as data
//! - `vswitch.rs`: the connection to ovsdb-server, waiting for ovs-vswitchd
//! - `sockdir.rs`: the pod's socket directory, pod-side JSON, device-info file
//! - `attach.rs`: ADD with rollback, DEL, CHECK, GC

pub mod attach;
pub mod config;
pub mod ports;
pub mod sockdir;
pub mod vswitch;

use nfv_cni::{code, Error, Plugin, Request, Success};

use crate::config::UserspaceConf;

/// The plugin, for `nfv_cni::run`.
#[derive(Debug, Default)]
pub struct Userspace;

impl Plugin for Userspace {
    fn add(&self, req: &Request) -> Result<Success, Error> {
        attach::add(req)
    }

    fn del(&self, req: &Request) -> Result<(), Error> {
        attach::del(req)
    }

    fn check(&self, req: &Request) -> Result<(), Error> {
        attach::check(req)
    }

    fn gc(&self, req: &Request) -> Result<(), Error> {
        attach::gc(req)
    }

    fn status(&self, req: &Request) -> Result<(), Error> {
        let conf: UserspaceConf = req.parse_conf()?;
        let (socket, timeout) = conf.endpoint()?;
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
}
