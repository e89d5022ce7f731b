//! Device-info files (Network Plumbing WG "Device Information" spec, version 1.1.0): the JSON
//! a CNI plugin leaves where `runtimeConfig.CNIDeviceInfoFile` says, telling the pod which
//! device it got. Multus copies it into the pod's network-status annotation.
//!
//! - [`spec`]: the content for the device types we write (`pci`, `vdpa`, `vhost-user`), with
//!   the spec's field names.
//! - [`requested_path`] / [`requested_path_for_teardown`]: `CNIDeviceInfoFile`, only in the
//!   device-info tree ([`place`], [`ROOTS`]): refused at ADD, ignored by DEL, CHECK and GC.
//! - [`file`]: is a file there already (kept, spec §5.1.2), atomic write at 0444, and removes
//!   that only ever take a file this attachment wrote; every directory reached without
//!   following symlinks (nfv-safefs).
//!
//! Every function takes the [`Place`](nfv_safefs::Place): the plugins pass [`place()`], tests
//! a scratch one.

pub mod file;
mod path;
pub mod spec;

/// The type of [`place()`] and of [`FileError::problem`], re-exported so the plugins need not
/// name nfv-safefs for them.
pub use nfv_safefs::{Place, Problem};

pub use file::{
    existing, remove_if_ours, remove_written, write, AtAdd, FileError, Layout, Removal, Written,
};
pub use path::{
    place, requested_path, requested_path_for_teardown, FIELD, ROOTS, RUNTIME_CONFIG_KEY,
};
pub use spec::{
    DeviceInfo, DeviceType, Memif, Pci, Vdpa, VdpaDriver, VhostUser, VhostUserMode, SPEC_VERSION,
};
