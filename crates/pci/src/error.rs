//! Errors of sysfs discovery. Each names the device and the sysfs path involved.

use std::io;
use std::path::PathBuf;

use crate::address::{ParsePciAddressError, PciAddress};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A config field holds something that is not a PCI address.
    #[error("{field}: {source}")]
    InvalidAddress {
        field: String,
        #[source]
        source: ParsePciAddressError,
    },
    /// A config field holds a name that cannot be a sysfs entry.
    #[error("{field}: {value:?} is not a valid device name (non-empty, no '/', not '.' or '..')")]
    InvalidName { field: String, value: String },
    /// No such PCI device on this node.
    #[error("PCI device {0} does not exist on this node (no {1})")]
    NoSuchDevice(PciAddress, PathBuf),
    /// The device exists but is not an SR-IOV virtual function.
    #[error("PCI device {0} is not an SR-IOV VF (it has no physfn link); deviceID must name a VF")]
    NotAVf(PciAddress),
    /// The VF's PF has no network interface (its driver is not bound, or it is not a NIC).
    #[error("the PF {pf} of VF {vf} has no network interface (is its driver bound?)")]
    NoPfNetdev { vf: PciAddress, pf: PciAddress },
    /// The PF has no virtfnN link pointing at the VF.
    #[error(
        "PF {pf} has no virtfn link to VF {vf}: sysfs is inconsistent (VFs being re-created?)"
    )]
    VfIndexNotFound { vf: PciAddress, pf: PciAddress },
    /// No vDPA device matches.
    #[error("no vDPA device {0}")]
    NoSuchVdpa(String),
    /// A sysfs file has content we cannot read as expected.
    #[error("{path}: unexpected content {content:?}")]
    Content { path: PathBuf, content: String },
    /// Reading sysfs failed.
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
