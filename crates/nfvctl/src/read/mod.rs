//! Everything the plugins keep on a node, read once, with each plugin's own reader. What cannot
//! be read is a note, never a failure: the view shows what it could see and says what it could
//! not.

pub mod leases;
pub mod ovs;
pub mod records;
pub mod sriov_cni;
pub mod userspace_cni;

use crate::node::Node;

pub use leases::Lease;
pub use ovs::OvsPort;
pub use sriov_cni::SriovCniAttachment;
pub use userspace_cni::UserspaceCniFile;

/// At most this many entries of one directory are looked at: a node holds a few hundred
/// attachments; a directory with far more is not what nfvctl is for, and the output says so.
pub const MAX_ENTRIES: usize = 100_000;

/// What the node holds, as read.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub sriov: Vec<sriov::record::Record>,
    /// The vdpa code's records of VFs sriov handed to it.
    pub sriov_vdpa: Vec<nfv_vdpa::record::Record>,
    pub vdpa: Vec<nfv_vdpa::record::Record>,
    pub sriov_cni: Vec<SriovCniAttachment>,
    pub leases: Vec<Lease>,
    /// `None`: OVS was not asked or could not be read (a note says which).
    pub ovs: Option<Vec<OvsPort>>,
    pub userspace_cni: Vec<UserspaceCniFile>,
    /// What could not be read, and why.
    pub notes: Vec<String>,
}

impl Snapshot {
    pub fn read(node: &Node) -> Snapshot {
        let mut notes = Vec::new();
        let sriov = records::read(
            &sriov::record::RecordStore::new(&node.sriov_records),
            &mut notes,
        );
        let sriov_vdpa = records::read(
            &nfv_vdpa::record::store(&node.sriov_vdpa_records),
            &mut notes,
        );
        let vdpa = records::read(&nfv_vdpa::record::store(&node.vdpa_records), &mut notes);
        let sriov_cni = sriov_cni::read(&node.sriov_cni, &mut notes);
        let leases = leases::read(&node.lease_dirs, &mut notes);
        let ovs = node
            .ovsdb_socket
            .as_deref()
            .and_then(|s| match ovs::read(s) {
                Ok(ports) => Some(ports),
                Err(why) => {
                    notes.push(format!("OVS: {why}: its ports are not listed"));
                    None
                }
            });
        let userspace_cni = userspace_cni::read(&node.userspace_cni_data, &mut notes);
        Snapshot {
            sriov,
            sriov_vdpa,
            vdpa,
            sriov_cni,
            leases,
            ovs,
            userspace_cni,
            notes,
        }
    }
}
