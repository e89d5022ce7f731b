//! sriov-cni's files on a node: its cache, `<containerID>-<ifname>` in [`CACHE_DIR`], and its PCI
//! allocations, `pci/<VF PCI address>` there (holding the pod's netns path). The directory is
//! a constant; every entry in it is reached through the directory handle without following a
//! symlink, read only when it is a regular file, within a bound. The names come from the
//! attachment's identity and the VF's canonical PCI address, never from a file's content.

use std::path::{Path, PathBuf};

use nfv_pci::PciAddress;
use nfv_safefs::{Dir, FsError, Kind, Problem};

use super::cache::{self, Cache};

/// Where sriov-cni keeps its cache on a node (its `DefaultCNIDir`).
pub const CACHE_DIR: &str = "/var/lib/cni/sriov";
/// sriov-cni's PCI allocation files, below [`CACHE_DIR`].
const ALLOCATIONS: &str = "pci";
/// A cache is sriov-cni's NetConf (with its IPAM block): a few KiB. Far more is not its.
const MAX_CACHE_BYTES: u64 = 256 * 1024;
/// An allocation holds a netns path.
const MAX_ALLOCATION_BYTES: u64 = 4096;

/// sriov-cni's directory (tests point it at a scratch directory).
#[derive(Debug, Clone)]
pub struct SriovCniFiles {
    dir: PathBuf,
}

/// The cache file's name for an attachment, as sriov-cni forms it.
fn cache_name(container_id: &str, ifname: &str) -> String {
    format!("{container_id}-{ifname}")
}

impl SriovCniFiles {
    pub fn new(dir: impl Into<PathBuf>) -> SriovCniFiles {
        SriovCniFiles { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory, `None` when it does not exist (sriov-cni never ran here). The constant
    /// root is opened as the plugin's own roots are (a symlink on the way, `/var` on some
    /// nodes, is the node's layout); nothing below it is followed.
    fn open(&self) -> Result<Option<Dir>, FsError> {
        match Dir::open_trusted(&self.dir) {
            Ok(d) => Ok(Some(d)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The attachment's cache, if sriov-cni left one. Never an error: a cache that cannot be
    /// read (a symlink, not a regular file, too large, not JSON) is logged and taken as none.
    pub fn load(&self, container_id: &str, ifname: &str) -> Option<Cache> {
        self.load_named(&cache_name(container_id, ifname))
    }

    fn load_named(&self, name: &str) -> Option<Cache> {
        let dir = match self.open() {
            Ok(Some(d)) => d,
            Ok(None) => return None,
            Err(e) => {
                nfv_cni::warn!("sriov-cni's cache: {e}: not read");
                return None;
            }
        };
        let bytes = match dir.read_bounded(name, MAX_CACHE_BYTES) {
            Ok(b) => b,
            Err(e) if e.is_not_found() => return None,
            Err(e) => {
                nfv_cni::warn!("sriov-cni's cache: {e}: not read, not acted on");
                return None;
            }
        };
        match cache::parse(&bytes) {
            Ok(c) => {
                for why in &c.ignored {
                    nfv_cni::warn!("sriov-cni's cache {}: {why}", dir.join(name).display());
                }
                Some(c)
            }
            Err(why) => {
                nfv_cni::warn!(
                    "sriov-cni's cache {}: {why}: not acted on",
                    dir.join(name).display()
                );
                None
            }
        }
    }

    /// Remove the attachment's cache. Absent is done; anything but a regular file by that
    /// name (a symlink, a directory) is left in place and logged.
    pub fn remove(&self, container_id: &str, ifname: &str) -> Result<(), FsError> {
        let Some(dir) = self.open()? else {
            return Ok(());
        };
        remove_regular(&dir, &cache_name(container_id, ifname))
    }

    /// The netns path sriov-cni's allocation of VF `device` names, if there is a readable one.
    pub fn allocation(&self, device: PciAddress) -> Option<String> {
        let dir = self.allocations().ok().flatten()?;
        match dir.read_bounded(&device.to_string(), MAX_ALLOCATION_BYTES) {
            Ok(b) => String::from_utf8(b).ok(),
            Err(e) if e.is_not_found() => None,
            Err(e) => {
                nfv_cni::warn!("sriov-cni's PCI allocation: {e}: not read");
                None
            }
        }
    }

    /// Remove sriov-cni's allocation of VF `device` (a regular file only; absent is done).
    pub fn remove_allocation(&self, device: PciAddress) -> Result<(), FsError> {
        match self.allocations()? {
            Some(dir) => remove_regular(&dir, &device.to_string()),
            None => Ok(()),
        }
    }

    fn allocations(&self) -> Result<Option<Dir>, FsError> {
        let Some(dir) = self.open()? else {
            return Ok(None);
        };
        match dir.open_dir(ALLOCATIONS) {
            Ok(d) => Ok(Some(d)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every cache in the directory that can be read, by file name (for GC). Entries that are
    /// not regular files (the `pci` directory, anything planted) are skipped.
    pub fn all(&self) -> Result<Vec<(String, Cache)>, FsError> {
        let Some(dir) = self.open()? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let mut names = dir.names()?;
        names.sort();
        for name in names {
            if name.starts_with('.') || dir.kind(&name)? != Some(Kind::File) {
                continue;
            }
            if let Some(c) = self.load_named(&name) {
                out.push((name, c));
            }
        }
        Ok(out)
    }

    /// The cache called `name` (a name [`all`](Self::all) listed), read again.
    pub fn reload(&self, name: &str) -> Option<Cache> {
        self.load_named(name)
    }

    /// Remove the cache called `name` (a name [`all`](Self::all) listed).
    pub fn remove_named(&self, name: &str) -> Result<(), FsError> {
        match self.open()? {
            Some(dir) => remove_regular(&dir, name),
            None => Ok(()),
        }
    }
}

/// Whether `name` is the cache file of one of `valid` (GC's valid attachments).
pub fn is_cache_of(name: &str, valid: &[nfv_cni::config::Attachment]) -> bool {
    valid
        .iter()
        .any(|a| cache_name(&a.container_id, &a.ifname) == name)
}

/// What GC of a network does with one of sriov-cni's caches of that network whose attachment
/// is not valid ([`stale_caches`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheVerdict {
    /// GC restores this VF from the cache (when, at that moment, no ADD or DEL is working on
    /// it, no record of ours holds it and its netdev is back in the host), then removes the
    /// cache and the allocation.
    Collect(PciAddress),
    /// Left alone, and why.
    Left(String),
}

/// GC's choice among sriov-cni's caches (`all`, as [`SriovCniFiles::all`] lists them), as a
/// plain function, so that GC and a read-only preview (`nfvctl gc --dry-run`) cannot disagree:
/// every cache of `network` that is not one of `valid`, with what GC does with it.
pub fn stale_caches<'a>(
    all: &'a [(String, Cache)],
    network: &str,
    valid: &[nfv_cni::config::Attachment],
) -> Vec<(&'a str, &'a Cache, CacheVerdict)> {
    let mut out = Vec::new();
    for (name, cache) in all {
        if cache.network.as_deref() != Some(network) || is_cache_of(name, valid) {
            continue;
        }
        let verdict = match cache.device {
            None => CacheVerdict::Left("it names no VF".to_string()),
            Some(device) => match all
                .iter()
                .find(|(n, c)| n != name && c.device == Some(device))
            {
                Some((other, _)) => {
                    CacheVerdict::Left(format!("{other} names VF {device} too: left to DEL"))
                }
                None => CacheVerdict::Collect(device),
            },
        };
        out.push((name.as_str(), cache, verdict));
    }
    out
}

fn remove_regular(dir: &Dir, name: &str) -> Result<(), FsError> {
    match dir.remove(name, Kind::File) {
        Ok(_) => Ok(()),
        Err(FsError {
            problem: Problem::WrongKind { .. } | Problem::Symlink,
            ..
        }) => {
            nfv_cni::warn!(
                "{} is not a regular file: not sriov-cni's, left in place",
                dir.join(name).display()
            );
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// On a scratch directory: what is read, what is removed, and what is left alone.
#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    const NETDEV: &[u8] = include_bytes!("../../../../testdata/sriov-cni/netdev/5e0b8f1c7a2d-net1");

    fn scratch(tag: &str) -> (PathBuf, SriovCniFiles) {
        let dir =
            std::env::temp_dir().join(format!("sriov-cni-files-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("pci")).unwrap();
        (dir.clone(), SriovCniFiles::new(dir))
    }

    #[test]
    fn a_cache_is_read_and_removed_by_the_attachments_name() {
        let (dir, f) = scratch("read");
        assert_eq!(f.load("c1", "net1"), None);
        std::fs::write(dir.join("c1-net1"), NETDEV).unwrap();
        let c = f.load("c1", "net1").unwrap();
        assert_eq!(c.host_ifname.as_deref(), Some("enp1s0f0v1"));
        f.remove("c1", "net1").unwrap();
        assert!(!dir.join("c1-net1").exists());
        f.remove("c1", "net1").unwrap();
        assert!(SriovCniFiles::new(dir.join("absent"))
            .load("c1", "net1")
            .is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A symlink, a FIFO, a directory or an oversized file at the cache's name is not read,
    /// not followed, and not removed.
    #[test]
    fn what_is_not_a_regular_file_of_sensible_size_is_neither_read_nor_removed() {
        let (dir, f) = scratch("hostile");
        let target = dir.join("elsewhere");
        std::fs::write(&target, NETDEV).unwrap();
        symlink(&target, dir.join("c1-net1")).unwrap();
        nix::unistd::mkfifo(&dir.join("c2-net1"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        std::fs::create_dir(dir.join("c3-net1")).unwrap();
        std::fs::write(dir.join("c4-net1"), vec![b' '; 300 * 1024]).unwrap();
        for c in ["c1", "c2", "c3", "c4"] {
            assert_eq!(f.load(c, "net1"), None, "{c}");
        }
        for c in ["c1", "c2", "c3"] {
            f.remove(c, "net1").unwrap();
        }
        assert!(
            dir.join("c1-net1").symlink_metadata().is_ok(),
            "symlink left"
        );
        assert!(target.exists(), "its target untouched");
        assert!(dir.join("c2-net1").exists() && dir.join("c3-net1").is_dir());
        let listed: Vec<String> = f.all().unwrap().into_iter().map(|(n, _)| n).collect();
        assert_eq!(listed, ["elsewhere"], "only regular files are caches");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_allocation_is_named_by_the_vfs_address_and_only_a_regular_file_goes() {
        let (dir, f) = scratch("alloc");
        let vf: PciAddress = "0000:01:10.2".parse().unwrap();
        assert_eq!(f.allocation(vf), None);
        std::fs::write(dir.join("pci/0000:01:10.2"), "/var/run/netns/cni-1").unwrap();
        assert_eq!(f.allocation(vf).as_deref(), Some("/var/run/netns/cni-1"));
        f.remove_allocation(vf).unwrap();
        assert!(!dir.join("pci/0000:01:10.2").exists());
        symlink("/etc/hostname", dir.join("pci/0000:01:10.2")).unwrap();
        assert_eq!(f.allocation(vf), None);
        f.remove_allocation(vf).unwrap();
        assert!(dir.join("pci/0000:01:10.2").symlink_metadata().is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
