//! Device-info files (Network Plumbing WG "Device Information" spec, version 1.1.0): the JSON
//! a CNI plugin leaves where `runtimeConfig.CNIDeviceInfoFile` says, telling the pod which
//! device it got. Multus copies it into the pod's network-status annotation.
//!
//! - [`spec`]: the content for the device types we write (`pci`, `vdpa`, `vhost-user`), with
//!   the spec's field names.
//! - [`requested_path`]: the path rules the plugins apply to `CNIDeviceInfoFile`.
//! - [`file`]: atomic write (temp file, fsync, rename, directory created) and idempotent remove.

pub mod file;
mod path;
pub mod spec;

pub use file::{remove, write, FileError, Layout};
pub use path::{remove_requested, requested_path, RUNTIME_CONFIG_KEY};
pub use spec::{
    DeviceInfo, DeviceType, Pci, Vdpa, VdpaDriver, VhostUser, VhostUserMode, SPEC_VERSION,
};
