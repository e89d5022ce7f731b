//! Crash points for the plugins' crash tests: with the `test-hooks` feature,
//! `crash_point(var, "x")` kills the process with SIGKILL when the environment variable `var`
//! (each plugin has its own, e.g. NFV_SRIOV_CRASH_AT) is "x". Without the feature (every real
//! build) it compiles to nothing and no variable means anything.

#[cfg(feature = "test-hooks")]
pub fn crash_point(var: &str, name: &str) {
    if std::env::var(var).as_deref() == Ok(name) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::this(), nix::sys::signal::Signal::SIGKILL);
    }
}

#[cfg(not(feature = "test-hooks"))]
#[inline(always)]
pub fn crash_point(_var: &str, _name: &str) {}
