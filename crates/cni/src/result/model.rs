//! The result model (CNI spec 1.1.0, section "Success"): plain types. Reading and printing
//! each version is in `convert.rs` (dispatch), `current.rs` (0.3.0 and later) and
//! `legacy.rs` (0.1.0/0.2.0).

use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// `dns`: spec section "DNS". Empty fields are omitted when printed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dns {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nameservers: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domain: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub search: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

/// `interfaces[]`. `mtu`, `socketPath` and `pciID` are 1.1.0 additions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub mac: Option<String>,
    pub mtu: Option<u32>,
    /// The netns path for an interface in a container; absent for host-side interfaces.
    pub sandbox: Option<String>,
    /// 1.1.0: the vhost-user (or similar) socket a pod's app connects to.
    pub socket_path: Option<String>,
    /// 1.1.0: the PCI address of a device handed to the pod (an SR-IOV VF).
    pub pci_id: Option<String>,
}

/// `ips[]`: an address with its prefix length, the gateway, and the index into `interfaces`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpConfig {
    pub address: IpNetwork,
    pub gateway: Option<IpAddr>,
    pub interface: Option<usize>,
}

/// `routes[]`. All but `dst` and `gw` are 1.1.0 additions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub dst: IpNetwork,
    pub gw: Option<IpAddr>,
    pub mtu: Option<u32>,
    pub advmss: Option<u32>,
    pub priority: Option<u32>,
    pub table: Option<u32>,
    pub scope: Option<u8>,
}

impl Route {
    pub fn new(dst: IpNetwork, gw: Option<IpAddr>) -> Route {
        Route {
            dst,
            gw,
            mtu: None,
            advmss: None,
            priority: None,
            table: None,
            scope: None,
        }
    }
}

/// A successful ADD result, in the 1.1.0 model whatever version it was read from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Success {
    /// The version this result was read as (or is to be printed as).
    pub cni_version: String,
    pub interfaces: Vec<Interface>,
    pub ips: Vec<IpConfig>,
    pub routes: Vec<Route>,
    pub dns: Dns,
}

impl Success {
    /// The first interface with this name and a sandbox (the one in the container), as an index.
    pub fn container_interface(&self, name: &str) -> Option<usize> {
        self.interfaces
            .iter()
            .position(|i| i.name == name && i.sandbox.is_some())
    }
}
