//! The host-local IPAM plugin: hands out addresses from range sets and records them as files
//! under `<dataDir>/<network>`, in the reference plugin's format, so a node can switch between
//! this plugin and the reference one either way with no migration.
//!
//! This file maps CNI verbs onto the `nfv-hostlocal` library and library errors onto CNI codes.

mod codes;
mod verbs;

pub use codes::*;
pub use verbs::HostLocal;

/// Shown when the binary is run by hand.
pub const ABOUT: &str = "host-local IPAM plugin (nfv-cni): drop-in for the reference host-local";
