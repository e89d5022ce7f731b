//! The vdpa CNI plugin: give a pod a vDPA device.
//!
//! - `vhost_vdpa`: the pod gets `/dev/vhost-vdpa-N` (for DPDK's virtio_user); nothing moves,
//!   the result and the device-info file say which device it is.
//! - `virtio_vdpa`: the pod gets the virtio netdev, moved and configured exactly like an
//!   SR-IOV VF's netdev (nfv-podnet), and it comes home on DEL.
//!
//! Modules: `config` (fields, validation, the plan), `discover` (vdpa generic netlink, sysfs
//! fallback), `attach` (ADD with rollback), `teardown` (DEL, GC), `check`, `record` (what ADD
//! did, kept in an nfv-records store), `devinfo` (the device-info content, type `vdpa`; the
//! file itself is written and removed by nfv-devinfo).
//!
//! For the sriov plugin (a VF that carries a vDPA device, one NAD type for both): build a
//! [`config::Plan`] with `Selector::Parent(vf)` and call [`Vdpa::attach`]; on DEL, when
//! [`Vdpa::has_attachment`] says so, call [`Vdpa::detach`]. Both run IPAM themselves.
//!
//! The binary always reads `/sys` and keeps records in [`record::STATE_DIR`]; tests build a
//! [`Vdpa`] over a fake sysfs tree and a scratch state directory. Nothing in a config or the
//! environment can point the binary elsewhere.

mod attach;
mod check;
pub mod codes;
pub mod config;
pub mod crash;
pub mod devinfo;
pub mod discover;
pub mod record;
mod teardown;
#[cfg(test)]
mod testdata;

use nfv_cni::result::Success;
use nfv_cni::{code, ipam, Error, Plugin, Request};
use nfv_pci::Sysfs;

use crate::config::VdpaConf;
use crate::record::{RecordStore, STATE_DIR};

/// The plugin: where sysfs is, where records are kept, whether to ask the kernel's vdpa
/// generic-netlink family.
#[derive(Debug, Clone)]
pub struct Vdpa {
    pub sysfs: Sysfs,
    pub records: RecordStore,
    /// Ask the vdpa generic-netlink family first (off in tests over a fake sysfs tree, where
    /// the kernel's list would not match the tree).
    pub use_netlink: bool,
    /// CHECK looks for `/dev/vhost-vdpa-N` (off in tests over a fake sysfs tree).
    pub check_dev_nodes: bool,
}

impl Default for Vdpa {
    fn default() -> Self {
        Vdpa {
            sysfs: Sysfs::new(),
            records: record::store(STATE_DIR),
            use_netlink: true,
            check_dev_nodes: true,
        }
    }
}

impl Plugin for Vdpa {
    fn add(&self, req: &Request) -> Result<Success, Error> {
        let conf: VdpaConf = req.parse_conf()?;
        let plan = config::plan(&conf, &req.env.args)?;
        self.attach(req, &plan)
    }

    fn del(&self, req: &Request) -> Result<(), Error> {
        self.detach(req)
    }

    fn check(&self, req: &Request) -> Result<(), Error> {
        self.check_attachment(req)
    }

    fn gc(&self, req: &Request) -> Result<(), Error> {
        self.collect_garbage(req)
    }

    /// Ready when the vdpa bus is visible in sysfs or the vdpa generic-netlink family exists.
    fn status(&self, req: &Request) -> Result<(), Error> {
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
