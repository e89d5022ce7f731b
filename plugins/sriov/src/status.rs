//! STATUS: whether this node can serve an ADD.

use nfv_cni::{code, ipam, Error, Request};
use nfv_netlink::Netlink;

use crate::Sriov;

impl Sriov {
    /// Ready when sysfs shows PCI devices and a netlink socket opens.
    pub(crate) fn readiness(&self, req: &Request) -> Result<(), Error> {
        std::fs::read_dir(self.sysfs.root().join("bus/pci/devices")).map_err(|e| {
            Error::new(
                code::NOT_AVAILABLE,
                format!(
                    "sysfs is not usable ({}/bus/pci/devices: {e})",
                    self.sysfs.root().display()
                ),
            )
        })?;
        Netlink::open()
            .map_err(|e| Error::new(code::NOT_AVAILABLE, format!("netlink is not usable: {e}")))?;
        ipam::status(req)
    }
}
