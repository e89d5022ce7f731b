//! Where the binaries under test live, and the CNI_PATH directories a test hands to them.
//!
//! Plugins come from `NFV_CNI_BIN_DIR` (default `<workspace>/target/release`, or
//! `$CARGO_TARGET_DIR/release`): the suites test what `make build` produced, not a debug build
//! compiled on the side. The test plugin is passed in by the test (`CARGO_BIN_EXE_...`).

use crate::scratch::ScratchDir;
use std::path::{Path, PathBuf};

/// Debian's reference plugins (`containernetworking-plugins`).
pub const REFERENCE_DIR: &str = "/usr/lib/cni";

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("NFV_CNI_BIN_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("release")
}

/// One of our plugin binaries; fails the test with the command that builds it.
pub fn plugin(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(
        p.is_file(),
        "{} not found: run `cargo build --release -p {name}` (or set NFV_CNI_BIN_DIR to the directory holding it)",
        p.display()
    );
    p
}

/// A reference plugin from Debian's package.
pub fn reference(name: &str) -> PathBuf {
    let p = Path::new(REFERENCE_DIR).join(name);
    assert!(
        p.is_file(),
        "{} not found: apt-get install -y containernetworking-plugins",
        p.display()
    );
    p
}

/// A CNI_PATH directory holding exactly the chosen binaries (as symlinks), under the names a
/// config's `type` uses, so a test decides which `host-local` (ours or the reference) a
/// delegating plugin finds.
#[derive(Debug)]
pub struct CniPath {
    dir: ScratchDir,
}

impl CniPath {
    pub fn new(entries: &[(&str, &Path)]) -> CniPath {
        let dir = ScratchDir::new("cnipath");
        for (name, target) in entries {
            let target = std::fs::canonicalize(target)
                .unwrap_or_else(|e| panic!("{}: {e}", target.display()));
            if let Err(e) = std::os::unix::fs::symlink(&target, dir.join(name)) {
                panic!("linking {name} -> {}: {e}", target.display());
            }
        }
        CniPath { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn binary(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}
