//! vDPA attachments, shared by the vdpa plugin and the sriov plugin's hand-off of a VF that
//! carries a vDPA device (plugins never depend on each other: both sit on this crate).
//!
//! - `vhost_vdpa`: the pod gets `/dev/vhost-vdpa-N` (for DPDK's virtio_user); nothing moves,
//!   the result and the device-info file say which device it is.
//! - `virtio_vdpa`: the pod gets the virtio netdev, moved and configured exactly like an
//!   SR-IOV VF's netdev (nfv-podnet), and it comes home on DEL.
//!
//! Modules: `config` (fields, validation, the plan), `discover` (vdpa generic netlink, sysfs
//! fallback), the verbs `attach` (ADD with rollback), `detach` (DEL, GC), `check`, `status`,
//! `record` (what ADD did, kept in an nfv-records store), `lock` (one lock and one holder
//! check per device across the node's stores), `devinfo` (the device-info content,
//! type `vdpa`; the file itself is written and removed by nfv-devinfo), `codes` (the CNI
//! error codes 130-133), `crash` (test-only crash points).
//!
//! The vdpa plugin parses its config into a [`config::Plan`] and calls [`Vdpa::attach`]; the
//! sriov plugin builds the plan with `Selector::Parent(vf)` and calls the same; on DEL, when
//! [`Vdpa::has_attachment`] says so, [`Vdpa::detach`]. Both run IPAM themselves.
//!
//! A binary always reads `/sys` and keeps records in [`record::STATE_DIR`] (the vdpa plugin)
//! or [`record::HANDOFF_STATE_DIR`] (the sriov hand-off); tests build a [`Vdpa`] over a fake
//! sysfs tree and a scratch state directory. Nothing in a config or the environment can
//! point a binary elsewhere.

mod attach;
mod check;
pub mod codes;
pub mod config;
pub mod crash;
mod detach;
pub mod devinfo;
pub mod discover;
mod lock;
pub mod record;
mod status;
#[cfg(test)]
mod testdata;

use nfv_pci::Sysfs;

use crate::record::{RecordStore, STATE_DIR};

/// The vDPA code of one plugin: where sysfs is, where records are kept, whether to ask the
/// kernel's vdpa generic-netlink family.
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

/// The vdpa plugin's on a node.
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
