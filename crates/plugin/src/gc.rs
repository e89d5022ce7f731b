//! GC's teardown of one stale attachment, the same steps in every plugin that keeps records.

use nfv_records::{AttachmentRecord, RecordStore, StoreError};

use crate::{Failure, Failures};

/// Tears down the stale attachment `r` (listed by [`RecordStore::stale`]) and returns what
/// failed; the caller goes on with the next one whatever happened here (STYLE.md 5).
///
/// A device an ADD or DEL holds the lock of right now (`try_lock` gives `None`) is left to it
/// and to the next GC: waiting would tear down an ADD's attachment the moment it succeeded. A
/// record that changed since it was listed is left too: only the record as it is under the
/// lock counts. Else `restore` puts the device back, and the record goes once nothing failed
/// (a record whose restore failed stays, for DEL or the next GC). `what` names the device in
/// the log ("VF", "vDPA device").
pub fn collect_stale<R, L>(
    store: &RecordStore<R>,
    r: &R,
    what: &str,
    try_lock: impl FnOnce(&str) -> Result<Option<L>, StoreError>,
    restore: impl FnOnce() -> Failures,
) -> Failures
where
    R: AttachmentRecord + PartialEq,
{
    let device = r.device();
    let _lock = match try_lock(device) {
        Ok(Some(lock)) => lock,
        Ok(None) => {
            nfv_cni::info!(
                "GC: {what} {device} ({} / {}) is busy with an ADD or DEL: left for the next GC",
                r.container_id(),
                r.ifname()
            );
            return Failures::new();
        }
        Err(e) => return Failure::bare(device, e).into(),
    };
    if store
        .load(r.container_id(), r.ifname())
        .ok()
        .flatten()
        .as_ref()
        != Some(r)
    {
        return Failures::new();
    }
    let mut failures = restore();
    if failures.is_empty() {
        if let Err(e) = store.remove(r.container_id(), r.ifname()) {
            failures.push(Failure::bare(device, e));
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;
    use nfv_testkit::records::TestRecord;

    fn scratch(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("nfv-plugin-gc-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn a_clean_restore_removes_the_record_and_a_failed_one_keeps_it() {
        let d = scratch("restore");
        let store = RecordStore::<TestRecord>::new(&d);
        let r = TestRecord::new("c1", "vf1");
        store.save(&r).unwrap();
        let lock = |dev: &str| store.try_lock_device(dev);
        let failed = || Failures::from(Failure::stated("vf1", "restoring vf1: busy"));
        let f = collect_stale(&store, &r, "VF", lock, failed);
        assert_eq!(f.to_string(), "restoring vf1: busy");
        assert_eq!(store.load("c1", "net1").unwrap(), Some(r.clone()));
        let f = collect_stale(&store, &r, "VF", lock, Failures::new);
        assert!(f.is_empty(), "{f}");
        assert_eq!(store.load("c1", "net1").unwrap(), None);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_busy_device_or_a_changed_record_is_left_alone() {
        let d = scratch("busy");
        let store = RecordStore::<TestRecord>::new(&d);
        let r = TestRecord::new("c1", "vf1");
        store.save(&r).unwrap();
        let untouched = || -> Failures { panic!("restored a device it should have left") };
        let busy = |_: &str| Ok(None::<()>);
        assert!(collect_stale(&store, &r, "VF", busy, untouched).is_empty());
        assert_eq!(store.load("c1", "net1").unwrap(), Some(r.clone()));
        // Listed as holding vf1, now holding vf2: another ADD's record.
        let now = TestRecord::new("c1", "vf2");
        store.save(&now).unwrap();
        let lock = |dev: &str| store.try_lock_device(dev);
        assert!(collect_stale(&store, &r, "VF", lock, untouched).is_empty());
        assert_eq!(store.load("c1", "net1").unwrap(), Some(now));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_lock_that_cannot_be_taken_is_a_failure_naming_the_device() {
        let d = scratch("lock");
        let store = RecordStore::<TestRecord>::new(&d);
        let r = TestRecord::new("c1", "vf1");
        store.save(&r).unwrap();
        std::fs::create_dir(d.join("vf1.lock")).unwrap();
        let lock = |dev: &str| store.try_lock_device(dev);
        let untouched = || -> Failures { panic!("restored without the lock") };
        let f = collect_stale(&store, &r, "VF", lock, untouched);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].device, "vf1");
        assert!(f.to_string().contains("vf1.lock"), "{f}");
        assert_eq!(store.load("c1", "net1").unwrap(), Some(r));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
