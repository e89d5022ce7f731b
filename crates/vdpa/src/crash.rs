//! Crash points for the crash tests: with the `test-hooks` feature, `crash_point("x")` kills
//! the process with SIGKILL when NFV_VDPA_CRASH_AT is "x". Without the feature (every real
//! build) it compiles to nothing and the variable means nothing.

/// The points ADD passes in virtio mode, in order (the middle ones are nfv-podnet's steps).
pub const VIRTIO_ADD_POINTS: &[&str] = &[
    "after-record",
    "after-set-down",
    "after-set-mac",
    "after-move",
    "after-mtu",
    "after-up",
    "after-ipam",
    "after-addresses",
    "after-device-info",
];

/// The points ADD passes in vhost mode, in order.
pub const VHOST_ADD_POINTS: &[&str] = &["after-record", "after-ipam", "after-device-info"];

/// nfv-crashpoint's crash point under this plugin's variable, NFV_VDPA_CRASH_AT.
#[inline(always)]
pub fn crash_point(name: &str) {
    nfv_crashpoint::crash_point("NFV_VDPA_CRASH_AT", name)
}
