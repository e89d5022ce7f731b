//! Crash points for the crash tests: with the `test-hooks` feature, `crash_point("x")` kills
//! the process with SIGKILL when NFV_USERSPACE_CRASH_AT is "x". Without the feature (every real
//! build) it compiles to nothing and the variable means nothing.

/// The points ADD passes in client mode (`dpdkvhostuserclient`), in order.
pub const CLIENT_ADD_POINTS: &[&str] = &[
    "after-ipam",
    "after-socket-dir",
    "after-ovsdb",
    "after-vswitchd",
    "after-pod-json",
    "after-device-info",
];

/// The points ADD passes in server mode (`dpdkvhostuser`), in order: the socket ovs-vswitchd
/// created is moved into the pod's directory after the port is applied.
pub const SERVER_ADD_POINTS: &[&str] = &[
    "after-ipam",
    "after-socket-dir",
    "after-ovsdb",
    "after-vswitchd",
    "after-socket-move",
    "after-pod-json",
    "after-device-info",
];

/// The points ADD passes for a memif port, in order: the socket ovs-vswitchd's memif driver
/// made in the pod's directory is checked (and given to the group) after the port is applied.
pub const MEMIF_ADD_POINTS: &[&str] = &[
    "after-ipam",
    "after-socket-dir",
    "after-ovsdb",
    "after-vswitchd",
    "after-memif-socket",
    "after-pod-json",
    "after-device-info",
];

/// The variable naming the point to die at.
pub const VAR: &str = "NFV_USERSPACE_CRASH_AT";

/// nfv-crashpoint's crash point under this plugin's variable (nothing without `test-hooks`).
pub fn crash_point(name: &str) {
    nfv_crashpoint::crash_point(VAR, name)
}
