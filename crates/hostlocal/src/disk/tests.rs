use super::*;
use crate::allocator::{allocate, release};
use crate::range::RangeSpec;
use crate::range_set::RangeSet;
use crate::store::MemoryStore;
use std::fs;
use std::os::unix::fs::PermissionsExt;

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let p =
            std::env::temp_dir().join(format!("nfv-hostlocal-{tag}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn sets(subnets: &[&str]) -> Vec<RangeSet> {
    subnets
        .iter()
        .map(|s| {
            RangeSet::canonicalize(&[RangeSpec {
                subnet: crate::addr::Cidr::parse(s),
                ..Default::default()
            }])
            .unwrap()
        })
        .collect()
}

fn files(dir: &Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_string().unwrap(),
                fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn lease_files_match_the_reference_format() {
    let t = TempDir::new("format");
    let mut s = DiskStore::open(&t.0, "net").unwrap();
    assert!(s
        .reserve(&Owner::new(" c1 ", "eth0"), ip("10.0.0.2"), 0)
        .unwrap());
    assert!(!s
        .reserve(&Owner::new("c2", "eth0"), ip("10.0.0.2"), 0)
        .unwrap());
    assert!(s
        .reserve(&Owner::new("c2", "net1"), ip("2001:db8::2"), 1)
        .unwrap());
    s.finish().unwrap();
    let dir = t.0.join("net");
    assert_eq!(
        files(&dir),
        [
            ("10.0.0.2".into(), "c1\r\neth0".into()),
            ("2001:db8::2".into(), "c2\r\nnet1".into()),
            ("last_reserved_ip.0".into(), "10.0.0.2".into()),
            ("last_reserved_ip.1".into(), "2001:db8::2".into()),
            ("lock".into(), String::new()),
        ]
    );
    let mode = fs::metadata(dir.join("10.0.0.2"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let mode = fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
}

#[test]
fn unsafe_network_names_are_refused() {
    let t = TempDir::new("names");
    for bad in ["", ".", "..", "../x", "a/b", "a\0b", ".nfv-hostlocal"] {
        assert!(DiskStore::open(&t.0, bad).is_err(), "{bad:?}");
    }
    assert!(check_network_name("my-net.v6_1").is_ok());
}

#[test]
fn index_is_reused_and_rebuilt_after_foreign_changes() {
    let t = TempDir::new("foreign");
    let dir = t.0.join("net");
    let sets = sets(&["10.0.0.0/24"]);
    let mut s = DiskStore::open(&t.0, "net").unwrap();
    allocate(&mut s, &sets, &Owner::new("a", "eth0"), &[]).unwrap();
    s.finish().unwrap();

    let s = DiskStore::open(&t.0, "net").unwrap();
    assert!(!s.rebuilt, "an untouched directory must reuse the index");
    s.finish().unwrap();

    // Another plugin adds a lease right away (same clock tick) and we must see it.
    fs::write(dir.join("10.0.0.9"), "b\r\neth0").unwrap();
    let mut s = DiskStore::open(&t.0, "net").unwrap();
    assert!(s.rebuilt);
    assert_eq!(
        s.leases_of(&Owner::new("b", "eth0")).unwrap(),
        [ip("10.0.0.9")]
    );
    assert_eq!(s.lease_count().unwrap(), 2);
    s.finish().unwrap();

    // ... and removes one.
    fs::remove_file(dir.join("10.0.0.2")).unwrap();
    let mut s = DiskStore::open(&t.0, "net").unwrap();
    assert!(s.leases_of(&Owner::new("a", "eth0")).unwrap().is_empty());
    assert_eq!(s.lease_count().unwrap(), 1);
    s.finish().unwrap();
}

#[test]
fn a_wrong_index_with_a_matching_stamp_is_caught_by_the_file_check() {
    let t = TempDir::new("verify");
    let dir = t.0.join("net");
    let sets = sets(&["10.0.0.0/24"]);
    let mut s = DiskStore::open(&t.0, "net").unwrap();
    allocate(&mut s, &sets, &Owner::new("a", "eth0"), &[]).unwrap();
    s.finish().unwrap();
    // Rewrite the lease in place (no directory change): the index still says "a".
    fs::write(dir.join("10.0.0.2"), "z\r\neth0").unwrap();
    let mut s = DiskStore::open(&t.0, "net").unwrap();
    assert!(!s.rebuilt);
    assert!(s
        .release_owner(&Owner::new("a", "eth0"))
        .unwrap()
        .is_empty());
    assert_eq!(
        s.release_owner(&Owner::new("z", "eth0")).unwrap(),
        [ip("10.0.0.2")]
    );
    s.finish().unwrap();
}

#[test]
fn a_deleted_index_is_rebuilt() {
    let t = TempDir::new("deleted");
    let sets = sets(&["10.0.0.0/24"]);
    let mut s = DiskStore::open(&t.0, "net").unwrap();
    allocate(&mut s, &sets, &Owner::new("a", "eth0"), &[]).unwrap();
    s.finish().unwrap();
    fs::remove_dir_all(t.0.join(".nfv-hostlocal")).unwrap();
    let mut s = DiskStore::open(&t.0, "net").unwrap();
    assert_eq!(
        s.leases_of(&Owner::new("a", "eth0")).unwrap(),
        [ip("10.0.0.2")]
    );
    s.finish().unwrap();
}

/// The disk store and the in-memory store give the same results and the same leases over a
/// long random sequence, reopening the disk store (and so using its index) every step.
#[test]
fn disk_store_behaves_like_the_memory_store() {
    let t = TempDir::new("model");
    let sets = sets(&["10.0.0.0/28", "2001:db8::/124"]);
    let mut mem = MemoryStore::default();
    let mut seed: u64 = 0x5eed;
    let mut rnd = move |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    for step in 0..400 {
        let owner = Owner::new(format!("c{}", rnd(20)), format!("eth{}", rnd(2)));
        let mut disk = DiskStore::open(&t.0, "net").unwrap();
        if rnd(3) < 2 {
            let a = allocate(&mut disk, &sets, &owner, &[]).map_err(|e| e.to_string());
            let b = allocate(&mut mem, &sets, &owner, &[]).map_err(|e| e.to_string());
            assert_eq!(a, b, "step {step}");
        } else {
            assert!(release(&mut disk, sets.len(), &owner).is_empty());
            release(&mut mem, sets.len(), &owner);
        }
        assert_eq!(disk.lease_count().unwrap(), mem.leases.len(), "step {step}");
        disk.finish().unwrap();
        let on_disk: Vec<(String, String)> = files(&t.0.join("net"))
            .into_iter()
            .filter(|(n, _)| crate::addr::parse_ip(n).is_some())
            .collect();
        let in_mem: Vec<(String, String)> = mem.leases.clone().into_iter().collect();
        assert_eq!(on_disk, in_mem, "step {step}");
    }
}

/// On filesystems with coarse timestamps a foreign change within the same clock tick as our
/// last change leaves the directory's mtime where our change put it. Simulate exactly that and
/// check the change is still noticed (the recorded mtime is one nanosecond before it).
#[test]
fn a_foreign_change_in_the_same_clock_tick_is_noticed() {
    let t = TempDir::new("tick");
    let dir = t.0.join("net");
    let sets = sets(&["10.0.0.0/24"]);
    let mut s = DiskStore::open(&t.0, "net").unwrap();
    allocate(&mut s, &sets, &Owner::new("a", "eth0"), &[]).unwrap();
    // The time the kernel stamped our own change with.
    let ours = fs::metadata(&dir).unwrap().modified().unwrap();
    s.finish().unwrap();
    fs::write(dir.join("10.0.0.9"), "b\r\neth0").unwrap();
    // Pretend the foreign create fell into the same tick as our change.
    File::open(&dir).unwrap().set_modified(ours).unwrap();
    let mut s = DiskStore::open(&t.0, "net").unwrap();
    assert!(
        s.rebuilt,
        "a same-tick foreign change must invalidate the index"
    );
    assert_eq!(
        s.leases_of(&Owner::new("b", "eth0")).unwrap(),
        [ip("10.0.0.9")]
    );
    s.finish().unwrap();
}

#[test]
fn data_dir_is_reached_without_symlinks_except_the_trusted_ones() {
    let t = TempDir::new("datadir");
    fs::create_dir_all(t.0.join("real")).unwrap();
    std::os::unix::fs::symlink(t.0.join("real"), t.0.join("link")).unwrap();
    let e = DiskStore::open(&t.0.join("link").join("data"), "net").unwrap_err();
    assert!(matches!(e, StoreError::DataDir { .. }), "{e}");
    assert!(e.is_refused_place());
    assert!(!t.0.join("real").join("data").exists());
    for bad in ["relative/data", "/tmp/../etc"] {
        let e = DiskStore::open(Path::new(bad), "net").unwrap_err();
        assert!(matches!(e, StoreError::DataDir { .. }), "{bad}: {e}");
    }
    // The lease directory itself as a link: refused, nothing created in the target.
    std::os::unix::fs::symlink(t.0.join("real"), t.0.join("net")).unwrap();
    let e = DiskStore::open(&t.0, "net").unwrap_err();
    assert!(
        matches!(e, StoreError::LeaseDir(_)) && e.is_refused_place(),
        "{e}"
    );
    assert!(fs::read_dir(t.0.join("real")).unwrap().next().is_none());
    // /var/run is a system link to /run on most nodes: followed, as a constant of ours.
    if fs::symlink_metadata("/var/run").is_ok_and(|m| m.file_type().is_symlink()) {
        let under = format!("/var/run/nfv-hostlocal-test-{}", std::process::id());
        let s = DiskStore::open(Path::new(&under), "net").unwrap();
        s.finish().unwrap();
        fs::remove_dir_all(&under).unwrap();
    }
}

#[test]
fn a_failed_last_reserved_write_takes_the_lease_back() {
    let t = TempDir::new("rollback");
    let dir = t.0.join("net");
    let sets = sets(&["10.0.0.0/24"]);
    let mut s = DiskStore::open(&t.0, "net").unwrap();
    allocate(&mut s, &sets, &Owner::new("a", "eth0"), &[]).unwrap();
    s.finish().unwrap();
    fs::remove_file(dir.join("last_reserved_ip.0")).unwrap();
    fs::create_dir(dir.join("last_reserved_ip.0")).unwrap();
    let mut s = DiskStore::open(&t.0, "net").unwrap();
    assert!(allocate(&mut s, &sets, &Owner::new("b", "eth0"), &[]).is_err());
    assert!(s.leases_of(&Owner::new("b", "eth0")).unwrap().is_empty());
    assert_eq!(s.lease_count().unwrap(), 1);
    s.finish().unwrap();
    let names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "last_reserved_ip.0" && n != "lock")
        .collect();
    assert_eq!(names, ["10.0.0.2"]);
}

#[test]
fn empty_leases_are_garbage_once_old_and_never_written_by_us() {
    let t = TempDir::new("empty");
    let dir = t.0.join("net");
    let sets = sets(&["10.0.0.0/29"]);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("10.0.0.2"), "").unwrap();
    fs::write(dir.join("10.0.0.3"), "\r\n").unwrap();
    // Fresh: kept (a writer that does not lock may still be at it).
    let mut s = DiskStore::open(&t.0, "net").unwrap();
    let got = allocate(&mut s, &sets, &Owner::new("a", "eth0"), &[]).unwrap();
    assert_eq!(got[0].ip, ip("10.0.0.4"));
    s.finish().unwrap();
    let old = std::time::SystemTime::now() - Duration::from_secs(60);
    for name in ["10.0.0.2", "10.0.0.3"] {
        File::options()
            .write(true)
            .open(dir.join(name))
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    // Old: any open removes them, through the index's empty-key bucket.
    let mut s = DiskStore::open(&t.0, "net").unwrap();
    assert!(!s.rebuilt, "the index is still valid");
    assert!(s.take_notes().iter().any(|n| n.contains("empty lease")));
    s.finish().unwrap();
    assert!(!dir.join("10.0.0.2").exists() && !dir.join("10.0.0.3").exists());
    // Our own leases are never empty: no temp file survives either.
    let names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
}

#[test]
fn notes_never_carry_raw_control_characters() {
    let t = TempDir::new("notes");
    let dir = t.0.join("net");
    fs::create_dir_all(&dir).unwrap();
    // A leftover-looking name chosen by whoever can write the directory.
    fs::write(dir.join(".nfv-hostlocal-lease.1\nforged line"), "x").unwrap();
    let mut s = DiskStore::open(&t.0, "net").unwrap();
    let notes = s.take_notes();
    assert!(notes.iter().any(|n| n.contains("\\nforged")), "{notes:?}");
    assert!(notes.iter().all(|n| !n.contains('\n')), "{notes:?}");
    s.finish().unwrap();
}

/// A network's lock held by a hung plugin: the next call waits its deadline, then answers
/// "try again later" (Busy, code 11 in the plugin) instead of hanging every later pod on
/// that network; a lock released during the wait is taken.
#[test]
fn a_lock_held_too_long_is_given_up() {
    let t = TempDir::new("lockwait");
    let held = DiskStore::open(&t.0, "net").unwrap();
    let dir = Dir::open(&t.0.join("net")).unwrap();
    let started = std::time::Instant::now();
    let e = lock_within(&dir, std::time::Duration::from_millis(300)).unwrap_err();
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    assert!(
        matches!(e, StoreError::Busy { .. }) && e.to_string().contains("try again later"),
        "{e}"
    );
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(100));
        drop(held);
    });
    lock_within(&dir, std::time::Duration::from_secs(5)).unwrap();
    releaser.join().unwrap();
    assert_eq!(LOCK_WAIT, std::time::Duration::from_secs(60));
}
