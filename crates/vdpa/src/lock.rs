//! One lock and one holder check per vDPA device for every plugin that attaches it: on a node
//! the vdpa plugin's store and the sriov hand-off's ([`NODE_STATE_DIRS`]), so a vdpa NAD and
//! an sriov NAD naming the same device cannot both attach it. A store elsewhere (a test's
//! scratch directory) is alone.
//!
//! The lock they share is the device's lock file in the first node store, the vdpa plugin's
//! (where that plugin has always locked: its binaries of earlier releases are kept out too);
//! a store's own lock is taken after it, for its own earlier binaries. The holder check reads
//! every node store and creates nothing in another plugin's directory.

use std::path::Path;
use std::time::Instant;

use nfv_records::{DeviceLock, StoreError, LOCK_WAIT};

use crate::record::{self, Record, RecordStore, NODE_STATE_DIRS};
use crate::Vdpa;

/// The device's locks, held until dropped.
#[derive(Debug)]
pub struct DeviceLocks {
    _locks: Vec<DeviceLock>,
}

/// Where a device's locks are taken (in this order) and its holders looked for.
#[derive(Debug)]
struct DeviceStores {
    locks: Vec<RecordStore>,
    holders: Vec<RecordStore>,
}

/// The stores for a device `own` can hold, given the node's stores `node_dirs`.
fn device_stores(own: &RecordStore, node_dirs: &[&Path]) -> DeviceStores {
    if !node_dirs.contains(&own.dir()) {
        return DeviceStores {
            locks: vec![own.clone()],
            holders: vec![own.clone()],
        };
    }
    let holders: Vec<RecordStore> = node_dirs
        .iter()
        .map(|d| {
            if *d == own.dir() {
                own.clone()
            } else {
                record::store(*d)
            }
        })
        .collect();
    let mut locks = vec![holders[0].clone()];
    if own.dir() != holders[0].dir() {
        locks.push(own.clone());
    }
    DeviceStores { locks, holders }
}

impl Vdpa {
    fn device_stores(&self) -> DeviceStores {
        device_stores(&self.records, &NODE_STATE_DIRS.map(Path::new))
    }

    /// Take the device's locks, waiting at most [`LOCK_WAIT`] in all.
    pub(crate) fn lock_device(&self, device: &str) -> Result<DeviceLocks, StoreError> {
        lock_all(&self.device_stores().locks, device)
    }

    /// Take the device's locks only if no one holds any of them: `None` while an ADD, DEL or
    /// GC (of either plugin) works on the device.
    pub(crate) fn try_lock_device(&self, device: &str) -> Result<Option<DeviceLocks>, StoreError> {
        try_lock_all(&self.device_stores().locks, device)
    }

    /// The record, in any node store, that holds the device.
    pub(crate) fn holder_of(&self, device: &str) -> Result<Option<Record>, StoreError> {
        holder_in(&self.device_stores().holders, device)
    }
}

fn lock_all(stores: &[RecordStore], device: &str) -> Result<DeviceLocks, StoreError> {
    let deadline = Instant::now() + LOCK_WAIT;
    let mut locks = Vec::with_capacity(stores.len());
    for s in stores {
        let left = deadline.saturating_duration_since(Instant::now());
        match s.lock_device_within(device, left) {
            Ok(l) => locks.push(l),
            // The whole wait, not what was left of it for this store.
            Err(StoreError::Busy { device, path, .. }) => {
                return Err(StoreError::Busy {
                    device,
                    path,
                    waited: LOCK_WAIT,
                })
            }
            Err(e) => return Err(e),
        }
    }
    Ok(DeviceLocks { _locks: locks })
}

fn try_lock_all(stores: &[RecordStore], device: &str) -> Result<Option<DeviceLocks>, StoreError> {
    let mut locks = Vec::with_capacity(stores.len());
    for s in stores {
        match s.try_lock_device(device)? {
            Some(l) => locks.push(l),
            None => return Ok(None),
        }
    }
    Ok(Some(DeviceLocks { _locks: locks }))
}

fn holder_in(stores: &[RecordStore], device: &str) -> Result<Option<Record>, StoreError> {
    for s in stores {
        if let Some(r) = s.holder_of(device)? {
            return Ok(Some(r));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Mode;
    use crate::record::RECORD_VERSION;
    use std::path::PathBuf;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("vdpa-lock-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn dirs(stores: &[RecordStore]) -> Vec<PathBuf> {
        stores.iter().map(|s| s.dir().to_path_buf()).collect()
    }

    fn record(container: &str, device: &str) -> Record {
        Record {
            version: RECORD_VERSION,
            container_id: container.into(),
            ifname: "net1".into(),
            device: device.into(),
            mode: Mode::Vhost,
            netdev: None,
            netns: "/run/netns/x".into(),
            device_info_file: None,
            device_info_kept: None,
            network: "net".into(),
        }
    }

    #[test]
    fn every_node_store_locks_in_the_first_and_looks_in_all() {
        let dir = scratch("stores");
        let (vdpa, handoff) = (dir.join("vdpa"), dir.join("handoff"));
        let node = [vdpa.as_path(), handoff.as_path()];
        let v = device_stores(&record::store(&vdpa), &node);
        assert_eq!(dirs(&v.locks), vec![vdpa.clone()]);
        assert_eq!(dirs(&v.holders), vec![vdpa.clone(), handoff.clone()]);
        let h = device_stores(&record::store(&handoff), &node);
        assert_eq!(dirs(&h.locks), vec![vdpa.clone(), handoff.clone()]);
        assert_eq!(dirs(&h.holders), vec![vdpa.clone(), handoff.clone()]);
        let other = dir.join("scratch");
        let alone = device_stores(&record::store(&other), &node);
        assert_eq!(dirs(&alone.locks), vec![other.clone()]);
        assert_eq!(dirs(&alone.holders), vec![other]);
    }

    /// The sriov hand-off's store and the vdpa plugin's: a device locked or held through one
    /// is locked or held for the other; the vdpa plugin creates nothing in sriov's directory.
    #[test]
    fn a_device_locked_or_held_through_one_plugin_is_so_for_the_other() {
        let dir = scratch("held");
        let (vdpa_dir, handoff_dir) = (dir.join("vdpa"), dir.join("handoff"));
        let node = [vdpa_dir.as_path(), handoff_dir.as_path()];
        let vdpa = device_stores(&record::store(&vdpa_dir), &node);
        let handoff = device_stores(&record::store(&handoff_dir), &node);

        let locks = lock_all(&vdpa.locks, "vdpa0").unwrap();
        assert!(try_lock_all(&handoff.locks, "vdpa0").unwrap().is_none());
        assert!(try_lock_all(&handoff.locks, "vdpa1").unwrap().is_some());
        drop(locks);
        let locks = lock_all(&handoff.locks, "vdpa0").unwrap();
        assert!(try_lock_all(&vdpa.locks, "vdpa0").unwrap().is_none());
        drop(locks);
        assert!(try_lock_all(&vdpa.locks, "vdpa0").unwrap().is_some());

        std::fs::remove_dir_all(&handoff_dir).unwrap();
        assert_eq!(holder_in(&vdpa.holders, "vdpa0").unwrap(), None);
        let _l = lock_all(&vdpa.locks, "vdpa0").unwrap();
        assert!(
            !handoff_dir.exists(),
            "the vdpa plugin wrote in sriov's directory"
        );

        record::store(&handoff_dir)
            .save(&record("ctr-sriov", "vdpa0"))
            .unwrap();
        let held = holder_in(&vdpa.holders, "vdpa0").unwrap().unwrap();
        assert_eq!(held.container_id, "ctr-sriov");
        record::store(&vdpa_dir)
            .save(&record("ctr-vdpa", "vdpa1"))
            .unwrap();
        let held = holder_in(&handoff.holders, "vdpa1").unwrap().unwrap();
        assert_eq!(held.container_id, "ctr-vdpa");
        assert_eq!(holder_in(&vdpa.holders, "vdpa2").unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
