//! The store on a real directory: round trips, policies, the lock, names.

use std::fs;
use std::path::PathBuf;

use nfv_records::{AttachmentRecord, RecordStore, StoreError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rec {
    version: u32,
    container_id: String,
    ifname: String,
    device: String,
    note: Option<String>,
}

impl AttachmentRecord for Rec {
    fn container_id(&self) -> &str {
        &self.container_id
    }
    fn ifname(&self) -> &str {
        &self.ifname
    }
    fn device(&self) -> &str {
        &self.device
    }
}

fn rec(c: &str, dev: &str) -> Rec {
    Rec {
        version: 1,
        container_id: c.into(),
        ifname: "net1".into(),
        device: dev.into(),
        note: None,
    }
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nfv-records-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    d
}

#[test]
fn save_load_holder_remove_roundtrip() {
    let d = scratch("roundtrip");
    let store = RecordStore::<Rec>::new(&d).versioned(1);
    assert_eq!(store.load("c1", "net1").unwrap(), None);
    assert!(
        store.all().unwrap().is_empty(),
        "no directory yet is no records"
    );
    let a = rec("c1", "0000:01:10.0");
    let b = rec("c2", "vdpa:0000:65:00.2");
    store.save(&a).unwrap();
    store.save(&b).unwrap();
    assert_eq!(store.load("c1", "net1").unwrap(), Some(a.clone()));
    assert_eq!(
        store.holder_of("vdpa:0000:65:00.2").unwrap(),
        Some(b.clone())
    );
    assert_eq!(store.holder_of("0000:99:00.0").unwrap(), None);
    let mut all = store.all().unwrap();
    all.sort_by(|x, y| x.container_id.cmp(&y.container_id));
    assert_eq!(all, vec![a.clone(), b]);
    // Saving again replaces the record.
    let mut a2 = a.clone();
    a2.note = Some("after the move".into());
    store.save(&a2).unwrap();
    assert_eq!(store.load("c1", "net1").unwrap(), Some(a2));
    store.remove("c1", "net1").unwrap();
    store.remove("c1", "net1").unwrap();
    assert_eq!(store.load("c1", "net1").unwrap(), None);
    assert_eq!(store.all().unwrap().len(), 1);
    let names: Vec<String> = fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["c2-net1.json"], "no temp files left behind");
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn the_file_is_pretty_json_named_after_the_attachment() {
    let d = scratch("format");
    let store = RecordStore::<Rec>::new(&d);
    store.save(&rec("ctr", "dev0")).unwrap();
    assert_eq!(
        fs::read_to_string(d.join("ctr-net1.json")).unwrap(),
        "{\n  \"version\": 1,\n  \"containerId\": \"ctr\",\n  \"ifname\": \"net1\",\n  \
         \"device\": \"dev0\",\n  \"note\": null\n}"
    );
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_versioned_store_ignores_other_versions_and_garbage() {
    let d = scratch("versioned");
    let store = RecordStore::<Rec>::new(&d).versioned(1);
    let mut r = rec("c1", "dev0");
    r.version = 2;
    store.save(&r).unwrap();
    assert_eq!(store.load("c1", "net1").unwrap(), None);
    assert!(store.all().unwrap().is_empty());
    fs::write(d.join("c2-net1.json"), b"{not json").unwrap();
    assert_eq!(store.load("c2", "net1").unwrap(), None);
    // Right version, wrong shape: unreadable, ignored.
    fs::write(
        d.join("c3-net1.json"),
        br#"{"version": 1, "containerId": 5}"#,
    )
    .unwrap();
    assert_eq!(store.load("c3", "net1").unwrap(), None);
    // No version at all: not ours.
    fs::write(
        d.join("c4-net1.json"),
        br#"{"containerId": "c4", "ifname": "net1", "device": "d", "note": null}"#,
    )
    .unwrap();
    assert_eq!(store.load("c4", "net1").unwrap(), None);
    assert!(store.holder_of("dev0").unwrap().is_none());
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn an_unversioned_store_reports_garbage_on_load_and_skips_it_in_all() {
    let d = scratch("strict");
    let store = RecordStore::<Rec>::new(&d);
    store.save(&rec("good", "dev0")).unwrap();
    fs::write(d.join("bad-net1.json"), b"{not json").unwrap();
    let e = store.load("bad", "net1").unwrap_err();
    assert!(matches!(e, StoreError::Decode { .. }), "{e}");
    let cni: nfv_cni::Error = e.into();
    assert_eq!(cni.code, nfv_cni::code::IO);
    assert!(
        cni.msg.starts_with("reading ") && cni.msg.contains("bad-net1.json"),
        "{}",
        cni.msg
    );
    assert_eq!(store.all().unwrap(), vec![rec("good", "dev0")]);
    // ignore_unreadable turns the error into "no record".
    let lenient = RecordStore::<Rec>::new(&d).ignore_unreadable();
    assert_eq!(lenient.load("bad", "net1").unwrap(), None);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn the_device_lock_excludes_a_second_holder_until_dropped() {
    let d = scratch("lock");
    let store = RecordStore::<Rec>::new(&d);
    let held = store.lock_device("vdpa:0000:65:00.2").unwrap();
    let lock_file = d.join("vdpa:0000:65:00.2.lock");
    // flock locks belong to the open file description: a second open conflicts.
    let other = fs::File::open(&lock_file).unwrap();
    assert!(other.try_lock().is_err(), "the lock is held");
    drop(held);
    other.try_lock().unwrap();
    other.unlock().unwrap();
    // A device name with a '/' cannot escape the directory.
    store.lock_device("../x/y").unwrap();
    assert!(d.join(".._x_y.lock").exists());
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn try_lock_takes_a_free_device_and_declines_a_held_one() {
    let d = scratch("trylock");
    let store = RecordStore::<Rec>::new(&d);
    let held = store.try_lock_device("0000:01:10.0").unwrap();
    assert!(held.is_some(), "a free device is locked at once");
    // Another holder (another process: another open file description) is refused, not awaited.
    assert!(store.try_lock_device("0000:01:10.0").unwrap().is_none());
    assert!(store.try_lock_device("0000:01:10.1").unwrap().is_some());
    drop(held);
    let again = store.try_lock_device("0000:01:10.0").unwrap();
    assert!(again.is_some());
    let other = fs::File::open(d.join("0000:01:10.0.lock")).unwrap();
    assert!(other.try_lock().is_err(), "the same lock as lock_device's");
    fs::remove_dir_all(&d).unwrap();
}

/// A lock held by a hung plugin: the next call waits its deadline, then answers "try again
/// later" (code 11) naming the device and the lock file, instead of hanging forever; a lock
/// released during the wait is taken.
#[test]
fn a_lock_held_too_long_is_given_up_with_code_11() {
    let d = scratch("lockwait");
    let store = RecordStore::<Rec>::new(&d);
    let held = store.lock_device("0000:01:10.0").unwrap();
    let started = std::time::Instant::now();
    let e = store
        .lock_device_within("0000:01:10.0", std::time::Duration::from_millis(300))
        .unwrap_err();
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_millis(300),
        "{waited:?}"
    );
    assert!(waited < std::time::Duration::from_secs(5), "{waited:?}");
    let cni: nfv_cni::Error = e.into();
    assert_eq!(cni.code, nfv_cni::code::TRY_AGAIN_LATER);
    assert!(
        cni.msg.contains("0000:01:10.0") && cni.msg.contains("try again later"),
        "{}",
        cni.msg
    );
    // Released half-way through the wait: taken.
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(100));
        drop(held);
    });
    store
        .lock_device_within("0000:01:10.0", std::time::Duration::from_secs(5))
        .unwrap();
    releaser.join().unwrap();
    assert_eq!(nfv_records::LOCK_WAIT, std::time::Duration::from_secs(60));
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn names_that_cannot_be_files_are_refused() {
    let d = scratch("names");
    let store = RecordStore::<Rec>::new(&d);
    for (c, i) in [("../x", "net1"), ("c", ""), ("", "net1"), ("c", "..")] {
        let e = store.load(c, i).unwrap_err();
        assert!(matches!(e, StoreError::BadName { .. }), "{c:?} {i:?}: {e}");
    }
    let mut r = rec("a/b", "dev");
    assert!(store.save(&r).is_err());
    r.container_id = "ok".into();
    store.save(&r).unwrap();
    fs::remove_dir_all(&d).unwrap();
}

/// A record that knows its network (`None`: written before records carried one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NetRec {
    container_id: String,
    ifname: String,
    device: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    network: Option<String>,
}

impl AttachmentRecord for NetRec {
    fn container_id(&self) -> &str {
        &self.container_id
    }
    fn ifname(&self) -> &str {
        &self.ifname
    }
    fn device(&self) -> &str {
        &self.device
    }
    fn network(&self) -> Option<&str> {
        self.network.as_deref()
    }
}

#[test]
fn gc_of_one_network_sees_only_its_own_stale_records() {
    let d = scratch("stale");
    let store = RecordStore::<NetRec>::new(&d);
    let r = |c: &str, dev: &str, net: Option<&str>| NetRec {
        container_id: c.into(),
        ifname: "net1".into(),
        device: dev.into(),
        network: net.map(String::from),
    };
    let (a_kept, a_gone) = (
        r("a1", "dev0", Some("net-a")),
        r("a2", "dev1", Some("net-a")),
    );
    let b = r("b1", "dev2", Some("net-b"));
    let old = r("o1", "dev3", None);
    for x in [&a_kept, &a_gone, &b, &old] {
        store.save(x).unwrap();
    }
    let valid = [nfv_cni::Attachment {
        container_id: "a1".into(),
        ifname: "net1".into(),
    }];
    assert_eq!(store.stale("net-a", &valid).unwrap(), vec![a_gone]);
    assert_eq!(store.stale("net-b", &[]).unwrap(), vec![b]);
    assert!(store.stale("net-c", &[]).unwrap().is_empty());
    // Every network's records still hold their devices.
    assert_eq!(store.holder_of("dev2").unwrap().unwrap().container_id, "b1");
    assert_eq!(store.holder_of("dev3").unwrap(), Some(old));
    assert_eq!(store.all().unwrap().len(), 4);
    fs::remove_dir_all(&d).unwrap();
}

/// The outside reader (nfvctl) sees what `all` sees of regular files, names what it skips,
/// never follows a symlink, never reads past the bound, and creates nothing.
#[test]
fn the_read_only_listing_follows_no_link_and_reads_within_a_bound() {
    let d = scratch("read-only");
    let store = RecordStore::<Rec>::new(&d).versioned(1);
    let empty = store.read_only().unwrap();
    assert!(empty.records.is_empty() && empty.skipped.is_empty());
    assert!(!d.exists(), "a missing store is not created");
    store.save(&rec("c1", "0000:01:10.0")).unwrap();
    let outside = scratch("read-only-target");
    fs::create_dir_all(&outside).unwrap();
    fs::write(
        outside.join("x.json"),
        serde_json::to_vec(&rec("c9", "dev9")).unwrap(),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.join("x.json"), d.join("c9-net1.json")).unwrap();
    fs::write(d.join("big-net1.json"), vec![b' '; 70 * 1024]).unwrap();
    let mut old = rec("c2", "dev2");
    old.version = 0;
    fs::write(d.join("c2-net1.json"), serde_json::to_vec(&old).unwrap()).unwrap();
    let nfv_records::ReadOnly { records, skipped } = store.read_only().unwrap();
    assert_eq!(records, vec![rec("c1", "0000:01:10.0")]);
    let names: Vec<&str> = skipped.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["big-net1.json", "c2-net1.json", "c9-net1.json"]);
    assert!(skipped[0].1.contains("larger than"), "{skipped:?}");
    fs::remove_dir_all(&d).unwrap();
    fs::remove_dir_all(&outside).unwrap();
}

/// Our own state directory is root's, but the policy holds there too: a symlink planted where a
/// record, its temp file or a lock would be is never followed, and a DEL that meets one still
/// works from the config.
#[test]
fn planted_symlinks_in_the_store_are_never_followed() {
    use std::os::unix::fs::symlink;
    let d = scratch("symlinks");
    let victim_dir = scratch("symlinks-victim");
    fs::create_dir_all(&victim_dir).unwrap();
    let victim = victim_dir.join("victim");
    fs::write(&victim, b"untouched").unwrap();
    let store = RecordStore::<Rec>::new(&d).versioned(1);
    store.save(&rec("c0", "0000:01:10.0")).unwrap(); // the directory exists

    // A record's name: save refuses to write through it, load ignores it (DEL then works from
    // the config), remove leaves it and its target alone and succeeds.
    symlink(&victim, d.join("c1-net1.json")).unwrap();
    assert!(store.save(&rec("c1", "0000:01:10.1")).is_err());
    assert_eq!(store.load("c1", "net1").unwrap(), None);
    store.remove("c1", "net1").unwrap(); // not a record: left, and DEL goes on
    assert!(fs::symlink_metadata(d.join("c1-net1.json"))
        .unwrap()
        .file_type()
        .is_symlink());

    // A lock file's name: the lock is refused rather than opened through the link.
    symlink(&victim, d.join("0000:01:10.2.lock")).unwrap();
    assert!(store.lock_device("0000:01:10.2").is_err());
    assert!(store.try_lock_device("0000:01:10.2").is_err());

    // The store's directory itself replaced by a link to elsewhere: nothing is written there.
    let moved = scratch("symlinks-moved");
    fs::rename(&d, &moved).unwrap();
    symlink(&victim_dir, &d).unwrap();
    assert!(store.save(&rec("c2", "0000:01:10.3")).is_err());
    assert!(store.lock_device("0000:01:10.3").is_err());
    assert_eq!(fs::read_dir(&victim_dir).unwrap().count(), 1);

    assert_eq!(fs::read(&victim).unwrap(), b"untouched");
    fs::remove_file(&d).unwrap();
    fs::remove_dir_all(&moved).unwrap();
    fs::remove_dir_all(&victim_dir).unwrap();
}
