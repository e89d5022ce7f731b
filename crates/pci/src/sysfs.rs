//! The sysfs root and the small readers everything else uses.

use std::io;
use std::path::{Path, PathBuf};

use crate::address::PciAddress;
use crate::error::{Error, Result};

/// Where sysfs is mounted. The plugins always use [`Sysfs::new`] (`/sys`); only tests build
/// one over a fake tree with [`Sysfs::at`]. Nothing a NAD author controls (config, env)
/// reaches the root: a test binary that must see a fake sysfs gets a mount namespace with
/// the fake tree bind-mounted over /sys instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysfs {
    root: PathBuf,
}

impl Default for Sysfs {
    fn default() -> Self {
        Sysfs::new()
    }
}

impl Sysfs {
    /// The real sysfs, `/sys`.
    pub fn new() -> Sysfs {
        Sysfs {
            root: PathBuf::from("/sys"),
        }
    }

    /// A sysfs tree rooted elsewhere: for tests over fake trees (testdata/sysfs/).
    pub fn at(root: impl Into<PathBuf>) -> Sysfs {
        Sysfs { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>/bus/pci/devices/<addr>`.
    pub fn pci_device_path(&self, addr: PciAddress) -> PathBuf {
        self.root.join("bus/pci/devices").join(addr.to_string())
    }

    /// The device's directory, or [`Error::NoSuchDevice`].
    pub(crate) fn pci_device(&self, addr: PciAddress) -> Result<PathBuf> {
        let p = self.pci_device_path(addr);
        match p.try_exists() {
            Ok(true) => Ok(p),
            Ok(false) => Err(Error::NoSuchDevice(addr, p)),
            Err(e) => Err(Error::io(p, e)),
        }
    }

    /// Whether a PCI device with this address exists.
    pub fn pci_device_exists(&self, addr: PciAddress) -> bool {
        self.pci_device_path(addr).exists()
    }
}

/// The final component of where a symlink points (`driver` -> `.../drivers/igbvf` gives
/// `igbvf`); `None` when the link does not exist.
pub(crate) fn link_name(path: &Path) -> Result<Option<String>> {
    match std::fs::read_link(path) {
        Ok(target) => Ok(target.file_name().map(|n| n.to_string_lossy().into_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// The names in a directory, sorted; empty when it does not exist.
pub(crate) fn dir_names(path: &Path) -> Result<Vec<String>> {
    let entries = match std::fs::read_dir(path) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(path, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(path, e))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// A sysfs attribute, trimmed.
pub(crate) fn read_attr(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| Error::io(path, e))
}

/// A sysfs attribute holding a decimal number.
pub(crate) fn read_u32(path: &Path) -> Result<u32> {
    let s = read_attr(path)?;
    s.parse().map_err(|_| Error::Content {
        path: path.to_path_buf(),
        content: s,
    })
}
