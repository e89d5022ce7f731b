//! A scratch directory in the node's real device-info tree, for tests of plugins that write
//! `runtimeConfig.CNIDeviceInfoFile` (they only write there): unique per test, removed (with
//! anything in it, symlinks not followed) when dropped.

use std::path::{Path, PathBuf};

/// Where Multus puts CNI-side device-info files.
pub const CNI_DIR: &str = "/run/k8s.cni.cncf.io/devinfo/cni";

/// `/run/k8s.cni.cncf.io/devinfo/cni/nfv-test-<tag>-<pid>-<n>/`, not created until used.
#[derive(Debug)]
pub struct DevinfoDir {
    path: PathBuf,
}

impl DevinfoDir {
    pub fn new(tag: &str) -> DevinfoDir {
        let path = Path::new(CNI_DIR).join(format!("nfv-test-{tag}-{}", crate::unique_id()));
        let _ = std::fs::remove_dir_all(&path);
        DevinfoDir { path }
    }

    /// The one for `node`, at [`path_for_node`]: removed when this is dropped.
    pub fn for_node(node: &crate::Node) -> DevinfoDir {
        DevinfoDir {
            path: path_for_node(node),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A file in it (the path a runtime would pass as `CNIDeviceInfoFile`).
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Creates the directory (for a test that puts a file there first).
    pub fn create(&self) -> &Path {
        std::fs::create_dir_all(&self.path).unwrap();
        &self.path
    }
}

/// The device-info directory of `node`'s tests (named after its scratch directory), so a
/// function that only gets the node finds it.
pub fn path_for_node(node: &crate::Node) -> PathBuf {
    Path::new(CNI_DIR).join(node.dir.file_name().unwrap_or_default())
}

impl Drop for DevinfoDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
