//! The bodies of the fuzz targets. Each is a plain function of the input bytes that panics
//! when a property fails; `fuzz/fuzz_targets/<name>.rs` hands it to libFuzzer (nightly,
//! `make fuzz`), and `tests/corpus.rs` replays every file under `testdata/fuzz/<name>/` through
//! the same function on the stable toolchain (`cargo test`, so `make unit`).
//!
//! Nothing here touches the system: configs stop at the parse/validate layer (the runner is
//! driven with a stand-in plugin), OVSDB and netlink replies come from memory, and host-local's
//! disk files live in a scratch directory under the temporary directory.

// The bodies check properties by panicking, as fuzz targets do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod chunks;
pub mod cni_args;
pub mod hostlocal_disk;
pub mod netconf;
pub mod netlink;
pub mod ovsdb;
pub mod result;
pub mod scratch;

/// A target's body: panics when a property fails.
pub type Body = fn(&[u8]);

/// Every target: its name (the directory under `testdata/fuzz/` and the `fuzz/` binary) and body.
pub const TARGETS: &[(&str, Body)] = &[
    ("netconf_sriov", netconf::sriov),
    ("netconf_vdpa", netconf::vdpa),
    ("netconf_userspace", netconf::userspace),
    ("netconf_host_local", netconf::host_local),
    ("result", result::run),
    ("cni_args", cni_args::run),
    ("ovsdb_stream", ovsdb::stream),
    ("ovsdb_reply", ovsdb::reply),
    ("netlink_reply", netlink::route_reply),
    ("genl_vdpa", netlink::genl_vdpa),
    ("hostlocal_disk", hostlocal_disk::run),
];

/// The body of the target called `name`.
pub fn target(name: &str) -> Option<Body> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// Run the target called `name` on `data` (what each `fuzz/fuzz_targets/<name>.rs` does).
pub fn run(name: &str, data: &[u8]) {
    match target(name) {
        Some(body) => body(data),
        None => panic!("no fuzz target {name}"),
    }
}
