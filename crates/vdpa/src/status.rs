//! STATUS: ready when the vdpa bus is visible in sysfs or the vdpa generic-netlink family
//! exists; then IPAM's STATUS.

use nfv_cni::{code, ipam, Error, Request};

use crate::discover;
use crate::Vdpa;

impl Vdpa {
    pub fn status(&self, req: &Request) -> Result<(), Error> {
        let bus = self.sysfs.root().join("bus/vdpa/devices");
        let sysfs_ok = std::fs::read_dir(&bus).is_ok();
        let netlink_ok = self.use_netlink && discover::open_netlink().is_some();
        if !sysfs_ok && !netlink_ok {
            return Err(Error::new(
                code::NOT_AVAILABLE,
                format!(
                    "no vDPA support on this node: {} is missing and the kernel has no vdpa \
                     generic-netlink family; load the vdpa module and a vDPA driver \
                     (vhost_vdpa or virtio_vdpa)",
                    bus.display()
                ),
            ));
        }
        ipam::status(req)
    }
}
