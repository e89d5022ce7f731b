//! The plugin's own CNI error codes (110+), and where OVSDB client errors map to them.

use nfv_cni::{code, Error};

/// ovsdb-server refused a transaction.
pub const OVSDB: u32 = 110;
/// ovs-vswitchd accepted the port but could not create it (`Interface.error`).
pub const PORT: u32 = 111;
/// ovs-vswitchd did not apply the change in time.
pub const VSWITCHD: u32 = 112;
/// The socket directory or the files in it.
pub const SOCKET_DIR: u32 = 113;
/// ADD for an attachment whose port already exists.
pub const EXISTS: u32 = 114;

/// Maps a client error to a CNI error: unreachable is "try again later", the rest is ours.
pub fn from_ovsdb(e: nfv_ovsdb::Error, what: &str) -> Error {
    let code = if e.is_unreachable() {
        code::TRY_AGAIN_LATER
    } else {
        OVSDB
    };
    Error::new(code, format!("{what}: {e}"))
}
