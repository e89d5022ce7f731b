//! sriov-cni's cache, read with the sriov plugin's own reader (the one its DEL, CHECK and GC
//! use to take over sriov-cni's pods): bounded, no symlink followed, every field validated.

use std::path::Path;

use sriov::sriov_cni::{Cache, SriovCniFiles};

/// One attachment sriov-cni made, as its files describe it.
#[derive(Debug, Clone)]
pub struct SriovCniAttachment {
    /// The cache file's name, `<containerID>-<ifname>`.
    pub name: String,
    pub cache: Cache,
    /// The netns its PCI allocation of the VF names (shown and stat-ed, never opened).
    pub allocation: Option<String>,
}

impl SriovCniAttachment {
    /// Container ID and ifname from the file name (sriov-cni joins them with `-`), split at
    /// the last `-` as the plugin's GC splits it.
    pub fn identity(&self) -> (&str, &str) {
        self.name
            .rsplit_once('-')
            .unwrap_or((self.name.as_str(), ""))
    }
}

pub fn read(dir: &Path, notes: &mut Vec<String>) -> Vec<SriovCniAttachment> {
    let files = SriovCniFiles::new(dir);
    match files.all() {
        Ok(all) => all
            .into_iter()
            .map(|(name, cache)| SriovCniAttachment {
                allocation: cache.device.and_then(|d| files.allocation(d)),
                name,
                cache,
            })
            .collect(),
        Err(e) => {
            notes.push(format!(
                "sriov-cni's cache {}: {e}: not read",
                dir.display()
            ));
            Vec::new()
        }
    }
}
