//! Test support shared by the plugins' black-box tests (a dev-dependency only, never in a
//! plugin binary). A setup step that fails panics: here a failed setup is a failed test.
//!
//! - [`is_root`] / [`root_or_skip`]: kernel-tier tests need root and say why they skip.
//! - [`Node`]: a scratch node for running a plugin binary the way a runtime does.
//! - [`Sandbox`]: scratch host and pod namespaces for calling a plugin's verbs in-process,
//!   the requests a runtime would send, a scripted IPAM; [`World`]: a sandbox and the plugin
//!   under test, with the verbs run in the host namespace (the host-tier tests' scaffolding).
//! - [`conf`]: a network config with test-specific fields merged in.
//! - [`config_doc`]: the keys a config struct accepts and the keys its reference lists
//!   (docs/config/), compared so that neither drifts from the other.
//! - [`sysfs::link`]: symlinks of a fake sysfs tree.
//! - [`crash`]: the crash-test driver (SIGKILL at a crash point, DEL, host as before).
//! - [`records`]: records written by an earlier binary load and save byte for byte.
//! - [`reliability`]: the line a passed crash test or storm prints for `make reliability`.
//! - [`kernel`]: a recording fake of the kernel seam (netlink links and VFs, a VF driver's
//!   rebind), for root-free unit tests of giving, taking back and restoring netdevs.
//! - [`devinfo`]: a scratch directory in the real device-info tree, removed when dropped.
//! - [`ovsdb`]: fake ovsdb-servers (a scripted first connection; every request answered by
//!   a function), for the OVSDB client's and the userspace plugin's tests.
//! - [`storm`]: binaries racing for one device (a pod namespace per contender, a slow
//!   per-attachment IPAM stub, threads started together, the reliability line).

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod config_doc;
pub mod crash;
pub mod devinfo;
pub mod kernel;
mod node;
pub mod ovsdb;
pub mod records;
pub mod reliability;
mod sandbox;
pub mod storm;
pub mod sysfs;
mod world;

pub use node::Node;
pub use sandbox::{Sandbox, IPAM_ADD_FAILS};
pub use world::{World, IPAM_ADD_PRINTS};

use std::sync::atomic::{AtomicU32, Ordering};

/// `<pid>-<n>`, unique in this test run: names of scratch namespaces and directories.
pub(crate) fn unique_id() -> String {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::SeqCst)
    )
}

use serde_json::Value;

/// Whether this process runs as root (from /proc, no libc call).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// [`is_root`], printing why `test` is skipped when not.
pub fn root_or_skip(test: &str) -> bool {
    let root = is_root();
    if !root {
        eprintln!("SKIPPED {test}: host-tier tests need root for namespaces and veths");
    }
    root
}

/// `base` with every top-level field of `extra` set over it.
pub fn conf(base: Value, extra: Value) -> Value {
    let mut c = base;
    if let Some(fields) = extra.as_object() {
        for (k, v) in fields {
            c[k] = v.clone();
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conf_sets_fields_over_the_base() {
        let c = conf(
            json!({"cniVersion": "1.1.0", "name": "n", "type": "t", "mtu": 1500}),
            json!({"mtu": 9000, "ipam": {"type": "host-local"}}),
        );
        assert_eq!(
            c,
            json!({"cniVersion": "1.1.0", "name": "n", "type": "t", "mtu": 9000,
                   "ipam": {"type": "host-local"}})
        );
    }

    #[test]
    fn is_root_agrees_with_the_effective_uid_in_proc() {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        assert_eq!(is_root(), uid_line.split_whitespace().nth(1) == Some("0"));
        assert_eq!(root_or_skip("this test"), is_root());
    }
}
