//! CNI type `userspace`: vhost-user and memif ports on OVS-DPDK for pods whose DPDK app talks
//! vhost-user or memif, configured through ovsdb-server directly (nfv-ovsdb), one transaction
//! per ADD and per DEL. Reads the Intel userspace-cni-network-plugin's ovs-dpdk configs
//! (iftype vhostuser, and memif, which that plugin offered only with VPP).
//!
//! - `config.rs`: the config and its validation into a `Plan`
//! - `configdata.rs`: the pod-facing configuration in the Intel plugin's schema
//! - `places.rs`: where `sharedDir`, `ovsdbSocket`, `ovsSocketDir` and the rest may lie
//! - `podvolume.rs`: the pod's own emptyDir volume for its socket, from `K8S_POD_UID`
//! - `ports.rs`: the OVSDB transactions, as data
//! - `vswitch.rs`: the connection to ovsdb-server, waiting for ovs-vswitchd
//! - `sockdir.rs`: the pod's socket directory, pod-side JSON, server-mode socket, device-info file
//! - the verbs: `attach.rs` (ADD with rollback), `detach.rs` (DEL, GC), `check.rs`, `status.rs`
//! - `adopt.rs`: DEL of a pod the Intel userspace-cni plugin attached (its port and files)
//! - `codes.rs`: the plugin's CNI error codes (110-114)
//! - `crash.rs`: test-only crash points (feature `test-hooks`)

pub mod adopt;
pub mod attach;
pub mod check;
pub mod codes;
pub mod config;
pub mod configdata;
pub mod crash;
pub mod detach;
pub mod places;
pub mod podvolume;
pub mod ports;
pub mod sockdir;
pub mod status;
pub mod vswitch;

use nfv_cni::{Error, Plugin, Request, Success};

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
        detach::del(req, &Places::node())
    }

    fn check(&self, req: &Request) -> Result<(), Error> {
        check::check(req, &Places::node())
    }

    fn gc(&self, req: &Request) -> Result<(), Error> {
        detach::gc(req, &Places::node())
    }

    fn status(&self, req: &Request) -> Result<(), Error> {
        status::status(req, &Places::node())
    }
}

impl Plugin for UserspaceAt {
    fn add(&self, req: &Request) -> Result<Success, Error> {
        attach::add(req, &self.0)
    }

    fn del(&self, req: &Request) -> Result<(), Error> {
        detach::del(req, &self.0)
    }

    fn check(&self, req: &Request) -> Result<(), Error> {
        check::check(req, &self.0)
    }

    fn gc(&self, req: &Request) -> Result<(), Error> {
        detach::gc(req, &self.0)
    }

    fn status(&self, req: &Request) -> Result<(), Error> {
        status::status(req, &self.0)
    }
}
