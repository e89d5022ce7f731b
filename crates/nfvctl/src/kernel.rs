//! What the kernel shows now: a VF in sysfs and its settings on its PF (netlink, the host's
//! namespace), a vDPA device in sysfs, whether a netns path still exists. Reads only.

use std::collections::HashMap;

use nfv_netlink::{Netlink, VfInfo};
use nfv_pci::{PciAddress, Sysfs, VdpaDevice, VfDevice};

use crate::node::Node;

#[derive(Debug)]
pub struct Kernel {
    sysfs: Sysfs,
    /// `None`: not asked (tests over a scratch node), or the socket could not be opened
    /// (`netlink_error` says why).
    netlink: Option<Netlink>,
    netlink_error: Option<String>,
    check_netns: bool,
    /// Tests: the VF settings a PF reports, by (PF netdev, VF index), instead of netlink.
    pub fake_vfs: HashMap<(String, u32), VfInfo>,
    /// Tests: which netns paths exist, instead of the file system.
    pub fake_netns: HashMap<String, bool>,
}

impl Kernel {
    pub fn open(node: &Node) -> Kernel {
        let (netlink, netlink_error) = if node.kernel {
            match Netlink::open() {
                Ok(n) => (Some(n), None),
                Err(e) => (None, Some(e.to_string())),
            }
        } else {
            (None, None)
        };
        Kernel {
            sysfs: node.sysfs.clone(),
            netlink,
            netlink_error,
            check_netns: node.kernel,
            fake_vfs: HashMap::new(),
            fake_netns: HashMap::new(),
        }
    }

    /// The VF as sysfs shows it now.
    pub fn vf(&self, address: PciAddress) -> Result<VfDevice, String> {
        self.sysfs.vf(address).map_err(|e| e.to_string())
    }

    /// The VF's settings on its PF now; `None` when nobody could be asked (with why).
    pub fn vf_settings(&mut self, pf_netdev: &str, index: u32) -> Result<VfInfo, String> {
        if let Some(v) = self.fake_vfs.get(&(pf_netdev.to_string(), index)) {
            return Ok(v.clone());
        }
        let Some(nl) = self.netlink.as_mut() else {
            return Err(self
                .netlink_error
                .clone()
                .unwrap_or_else(|| "the kernel is not asked".to_string()));
        };
        let pf = nl.link_by_name(pf_netdev).map_err(|e| e.to_string())?;
        nl.vf(pf.index, index).map_err(|e| e.to_string())
    }

    pub fn vdpa(&self, name: &str) -> Result<VdpaDevice, String> {
        self.sysfs.vdpa_by_name(name).map_err(|e| e.to_string())
    }

    /// Whether the netns path a record names exists; `None` when not known (not asked, or the
    /// record names none). Only stat-ed: the path came from a file, so it is never opened.
    pub fn netns_exists(&self, path: &str) -> Option<bool> {
        if path.is_empty() {
            return None;
        }
        if let Some(e) = self.fake_netns.get(path) {
            return Some(*e);
        }
        if !self.check_netns {
            return None;
        }
        match std::fs::metadata(path) {
            Ok(_) => Some(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(false),
            Err(_) => None,
        }
    }
}
