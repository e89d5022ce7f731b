//! The sriov CNI plugin: attach an SR-IOV VF to a pod and give it back intact.
//!
//! - `config`: sriov-cni's fields plus `mtu`, validated; the VF plan.
//! - The verbs, one file each, like every device plugin: `attach` (ADD; in netdev mode the
//!   VF's netdev moves into the pod, through `nfv_podnet`, with full rollback), `detach` (DEL,
//!   and GC's teardown of stale attachments), `check` (CHECK), `status` (STATUS). This file is
//!   the [`Plugin`] impl that dispatches to them.
//! - `userspace`: ADD and CHECK for a VF on vfio-pci / uio_pci_generic / igb_uio (no netdev).
//! - `handoff`: a VF carrying a vDPA device: VF settings here, the device handed to the vdpa
//!   plugin's code (`nfv_vdpa::Vdpa`), so one NAD type serves both.
//! - `restore`: putting a VF back from its record (DEL, GC, rollback).
//! - `admin_mac`: igb's admin-MAC quirk: rebinding the VF driver so its netdev takes the MAC
//!   set through the PF (at ADD and when restoring).
//! - `record`: what ADD changed and in which mode, written before the first change; per-VF lock.
//! - `sriov_cni`: sriov-cni's cache, so that DEL, CHECK and GC take over the pods it attached
//!   (`adopt`: those verbs' part for them).
//!
//! The binary always reads `/sys` and keeps records in [`record::STATE_DIR`] (the vdpa code's
//! records of hand-offs in [`VDPA_STATE_DIR`]); tests build a [`Sriov`] with [`Sriov::over`] a
//! fake sysfs tree and a scratch state directory. Nothing in a config or the
//! environment can point the binary elsewhere.

mod admin_mac;
mod adopt;
pub mod attach;
mod check;
pub mod codes;
pub mod config;
mod detach;
pub mod devinfo;
pub mod handoff;
pub mod record;
pub mod restore;
pub mod sriov_cni;
mod status;
pub mod userspace;

use nfv_cni::result::Success;
use nfv_cni::{Error, Plugin, Request};
use nfv_pci::Sysfs;
use nfv_vdpa::Vdpa;
use std::path::Path;

use crate::record::{RecordStore, STATE_DIR};
use crate::sriov_cni::SriovCniFiles;

/// The variable naming the crash point a crash test kills ADD at (nfv-crashpoint's
/// `crash_point`: nothing without the `test-hooks` feature); the points are listed in
/// tests/crash.rs.
pub const CRASH_AT: &str = "NFV_SRIOV_CRASH_AT";

/// Where the vdpa code keeps its records of the vDPA devices sriov handed to it: apart from
/// the vdpa plugin's own, so that GC of an sriov network (which hands its valid attachments to
/// the vdpa code's GC) never touches an attachment of a vdpa network, nor the reverse.
pub const VDPA_STATE_DIR: &str = nfv_vdpa::record::HANDOFF_STATE_DIR;

/// The plugin: where sysfs is, where records are kept, the vdpa code VFs that carry a vDPA
/// device are handed to, and where sriov-cni left the pods it attached.
#[derive(Debug, Clone)]
pub struct Sriov {
    pub sysfs: Sysfs,
    pub records: RecordStore,
    pub vdpa: Vdpa,
    pub sriov_cni: SriovCniFiles,
}

impl Default for Sriov {
    fn default() -> Self {
        Sriov {
            sysfs: Sysfs::new(),
            records: RecordStore::new(STATE_DIR),
            vdpa: Vdpa {
                records: nfv_vdpa::record::store(VDPA_STATE_DIR),
                ..Vdpa::default()
            },
            sriov_cni: SriovCniFiles::new(sriov_cni::CACHE_DIR),
        }
    }
}

impl Sriov {
    /// For tests: over the sysfs tree at `sysfs` (usually a fake one), records in `state_dir`
    /// (the vdpa code's in `state_dir/vdpa`, sriov-cni's cache in `state_dir/sriov-cni`), without asking the kernel's vdpa
    /// generic-netlink family or looking for `/dev/vhost-vdpa-N` (both describe the real node,
    /// not the tree).
    pub fn over(sysfs: impl Into<std::path::PathBuf>, state_dir: impl AsRef<Path>) -> Sriov {
        let sysfs = Sysfs::at(sysfs);
        let state_dir = state_dir.as_ref();
        Sriov {
            sysfs: sysfs.clone(),
            records: RecordStore::new(state_dir),
            vdpa: Vdpa {
                sysfs,
                records: nfv_vdpa::record::store(state_dir.join("vdpa")),
                use_netlink: false,
                check_dev_nodes: false,
            },
            sriov_cni: SriovCniFiles::new(state_dir.join("sriov-cni")),
        }
    }
}

impl Plugin for Sriov {
    fn add(&self, req: &Request) -> Result<Success, Error> {
        self.attach(req)
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

    fn status(&self, req: &Request) -> Result<(), Error> {
        self.readiness(req)
    }
}
