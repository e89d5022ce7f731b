//! Crash points for the crash tests: with the `test-hooks` feature, `crash_point("x")` kills
//! the process with SIGKILL when NFV_SRIOV_CRASH_AT is "x". Without the feature (every real
//! build) it compiles to nothing and the variable means nothing.

/// The points ADD passes, in order.
pub const ADD_POINTS: &[&str] = &[
    "after-record",
    "after-vf-settings",
    "after-set-down",
    "after-set-mac",
    "after-move",
    "after-mtu",
    "after-up",
    "after-ipam",
    "after-addresses",
];

/// The points ADD passes in userspace-driver mode (no netdev to move), in order.
pub const USERSPACE_ADD_POINTS: &[&str] = &["after-record", "after-vf-settings", "after-ipam"];

/// The points sriov's own part of a vDPA hand-off passes, in order; the vdpa code's follow
/// (`vdpa::crash::VHOST_ADD_POINTS` / `VIRTIO_ADD_POINTS`, named in NFV_VDPA_CRASH_AT).
pub const VDPA_ADD_POINTS: &[&str] = &["after-record", "after-vf-settings"];

/// nfv-crashpoint's crash point under this plugin's variable, NFV_SRIOV_CRASH_AT.
#[inline(always)]
pub fn crash_point(name: &str) {
    nfv_crashpoint::crash_point("NFV_SRIOV_CRASH_AT", name)
}
