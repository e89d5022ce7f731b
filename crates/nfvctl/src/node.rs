//! Where a node keeps what nfvctl reads: the plugins' own constants, never a path from a
//! config or a file. Tests point every place into a scratch directory with [`Node::under`]
//! (the same layout as the plugins' `over`/`under` test constructors), or run the binary with
//! /sys and /var/lib bind-mounted (nfv-testkit's scratch node).

use std::path::{Path, PathBuf};
use std::time::Duration;

use nfv_pci::Sysfs;

/// How long nfvctl waits for ovsdb-server (connecting, and each read).
pub const OVSDB_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone)]
pub struct Node {
    pub sysfs: Sysfs,
    /// sriov's records.
    pub sriov_records: PathBuf,
    /// The vdpa code's records of VFs sriov handed to it.
    pub sriov_vdpa_records: PathBuf,
    /// The vdpa plugin's records.
    pub vdpa_records: PathBuf,
    /// sriov-cni's cache (and its `pci/` allocations).
    pub sriov_cni: PathBuf,
    /// host-local's default dataDir: one directory of leases per network.
    pub lease_dirs: Vec<PathBuf>,
    /// userspace-cni's data files (`local-<cid12>-<ifname>.json`).
    pub userspace_cni_data: PathBuf,
    /// ovsdb-server's socket; `None`: OVS is not asked.
    pub ovsdb_socket: Option<PathBuf>,
    /// Whether the kernel is asked (netlink for VF settings, netns paths); off for unit tests
    /// over a scratch directory.
    pub kernel: bool,
}

impl Node {
    /// The node's places.
    pub fn real() -> Node {
        Node {
            sysfs: Sysfs::new(),
            sriov_records: PathBuf::from(sriov::record::STATE_DIR),
            sriov_vdpa_records: PathBuf::from(nfv_vdpa::record::HANDOFF_STATE_DIR),
            vdpa_records: PathBuf::from(nfv_vdpa::record::STATE_DIR),
            sriov_cni: PathBuf::from(sriov::sriov_cni::CACHE_DIR),
            lease_dirs: vec![PathBuf::from(nfv_hostlocal::config::DEFAULT_DATA_DIR)],
            userspace_cni_data: PathBuf::from(userspace::places::USERSPACE_CNI_BASE).join("data"),
            ovsdb_socket: Some(PathBuf::from(nfv_ovsdb::DEFAULT_SOCKET)),
            kernel: true,
        }
    }

    /// Every place under `dir`, laid out as `sriov::Sriov::over(sys, dir/state)` and
    /// `userspace::places::Places::under(dir/userspace)` lay theirs out: `sys/`, `state/`
    /// (`state/vdpa`, `state/sriov-cni`), `vdpa/`, `networks/`, `userspace/usrspcni/data`.
    /// OVS and the kernel are not asked.
    pub fn under(dir: &Path) -> Node {
        Node {
            sysfs: Sysfs::at(dir.join("sys")),
            sriov_records: dir.join("state"),
            sriov_vdpa_records: dir.join("state/vdpa"),
            vdpa_records: dir.join("vdpa"),
            sriov_cni: dir.join("state/sriov-cni"),
            lease_dirs: vec![dir.join("networks")],
            userspace_cni_data: dir.join("userspace/usrspcni/data"),
            ovsdb_socket: None,
            kernel: false,
        }
    }
}
