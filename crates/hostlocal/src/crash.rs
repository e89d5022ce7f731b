//! Crash points for the crash test (plugins/host-local/tests/crash.rs): with the `test-hooks`
//! feature, `crash_point("x", set)` kills the process with SIGKILL when NFV_HOSTLOCAL_CRASH_AT
//! is "x" (no range set) or "x.<set>". Without the feature (every real build) it compiles to
//! nothing and the variable means nothing.

/// The variable naming the point to die at.
pub const CRASH_VAR: &str = "NFV_HOSTLOCAL_CRASH_AT";

/// The points a dual-stack ADD (two range sets) passes, in order.
pub const ADD_POINTS: &[&str] = &[
    "lease-temp-created.0",
    "lease-temp-written.0",
    "after-lease.0",
    "after-last-reserved.0",
    "lease-temp-created.1",
    "lease-temp-written.1",
    "after-lease.1",
    "after-last-reserved.1",
    "after-allocate",
    "index-invalidated",
    "index-buckets-written",
    "after-index",
];

#[cfg(feature = "test-hooks")]
pub fn crash_point(name: &str, set: Option<usize>) {
    let Ok(want) = std::env::var(CRASH_VAR) else {
        return;
    };
    let hit = match set {
        None => want == name,
        Some(i) => want == format!("{name}.{i}"),
    };
    if hit {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::this(), nix::sys::signal::Signal::SIGKILL);
    }
}

#[cfg(not(feature = "test-hooks"))]
#[inline(always)]
pub fn crash_point(_name: &str, _set: Option<usize>) {}
