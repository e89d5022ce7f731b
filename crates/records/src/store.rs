//! The store: save, load, remove, all, holder_of, and the per-device lock (waiting or not).

use std::fs::{self, File};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use nfv_safefs::{Dir, FsError, Kind, Problem};

use crate::error::StoreError;
use crate::name::file_safe;

/// How long a verb waits for another call to release a device's lock before it answers
/// "try again later" (code 11). sriov-cni gives up on its per-VF lock after 60 s too; an ADD
/// or DEL holds the lock for milliseconds, so only a hung or stopped plugin waits this long.
pub const LOCK_WAIT: Duration = Duration::from_secs(60);

/// The most the store (and an outside reader, [`RecordStore::read_only`]) reads of one record: records are a
/// few hundred bytes; a file far larger is not one of ours.
pub const MAX_RECORD_BYTES: u64 = 64 * 1024;

/// What the store needs to know about a plugin's record.
pub trait AttachmentRecord: Serialize + DeserializeOwned {
    /// CNI_CONTAINERID at ADD.
    fn container_id(&self) -> &str;
    /// CNI_IFNAME at ADD.
    fn ifname(&self) -> &str;
    /// The device the attachment holds (what [`RecordStore::lock_device`] and
    /// [`RecordStore::holder_of`] are keyed by).
    fn device(&self) -> &str;
    /// The network (`name` of the config at ADD) the attachment belongs to; `None` for a
    /// record that does not say (written by an earlier binary). GC is per network, so
    /// [`RecordStore::stale`] never returns a record without one.
    fn network(&self) -> Option<&str> {
        None
    }
}

/// The per-device lock: held until dropped.
#[derive(Debug)]
pub struct DeviceLock {
    _file: File,
}

/// The records of one node, in one directory.
#[derive(Debug, Clone)]
pub struct RecordStore<R> {
    dir: PathBuf,
    version: Option<u64>,
    ignore_unreadable: bool,
    records: PhantomData<fn() -> R>,
}

/// What reading one record file gave.
enum Read<R> {
    Record(R),
    /// Another version's record, or an unreadable one the store ignores (already logged).
    Ignored,
}

fn check_name(what: &'static str, value: &str) -> Result<(), StoreError> {
    if value.is_empty() || value == "." || value == ".." || value.contains('/') {
        return Err(StoreError::BadName {
            what,
            value: value.to_string(),
        });
    }
    Ok(())
}

impl<R: AttachmentRecord> RecordStore<R> {
    /// An unversioned store that reports an unreadable record on [`load`](Self::load) as an
    /// error (and skips it in [`all`](Self::all)).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        RecordStore {
            dir: dir.into(),
            version: None,
            ignore_unreadable: false,
            records: PhantomData,
        }
    }

    /// Only records whose top-level `version` field is `version` are this store's; others are
    /// ignored with a warning (the record type carries the field itself, so the file format is
    /// the plugin's). Implies [`ignore_unreadable`](Self::ignore_unreadable).
    pub fn versioned(mut self, version: u32) -> Self {
        self.version = Some(u64::from(version));
        self.ignore_unreadable()
    }

    /// An unreadable record is ignored with a warning, as if there were none: DEL then works
    /// from the config.
    pub fn ignore_unreadable(mut self) -> Self {
        self.ignore_unreadable = true;
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The attachment's record file name (`<containerID>-<ifname>.json`) and its path.
    fn path(&self, container_id: &str, ifname: &str) -> Result<(String, PathBuf), StoreError> {
        check_name("container ID", container_id)?;
        check_name("interface name", ifname)?;
        let name = format!("{container_id}-{ifname}.json");
        let path = self.dir.join(&name);
        Ok((name, path))
    }

    /// The store's directory. Its parent is the plugin's own constant (`/var/lib/cni`, or a
    /// test's scratch directory), opened as a trusted root (and created when `create`); the
    /// store's directory below it, and every file in it, are reached without following a
    /// symlink (docs/security.md). `None` when it does not exist and `create` is false.
    fn open_dir(&self, create: bool) -> Result<Option<Dir>, StoreError> {
        let (Some(parent), Some(name)) = (
            self.dir.parent().filter(|p| !p.as_os_str().is_empty()),
            self.dir.file_name().and_then(|n| n.to_str()),
        ) else {
            return Err(StoreError::BadName {
                what: "record directory",
                value: self.dir.display().to_string(),
            });
        };
        let root = match Dir::open_trusted(parent) {
            Ok(d) => d,
            Err(e) if e.is_not_found() && create => {
                fs::create_dir_all(parent).map_err(StoreError::io("creating", parent))?;
                Dir::open_trusted(parent)?
            }
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if create {
            return Ok(Some(root.create_dir(name, 0o755)?.0));
        }
        match root.open_dir(name) {
            Ok(d) => Ok(Some(d)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Take the per-device lock, waiting at most [`LOCK_WAIT`] for another holder to drop it.
    pub fn lock_device(&self, device: &str) -> Result<DeviceLock, StoreError> {
        self.lock_device_within(device, LOCK_WAIT)
    }

    /// Take the per-device lock, waiting at most `wait`: past it, [`StoreError::Busy`]
    /// (code 11, try again later). A plugin that hangs or is stopped while it holds the lock
    /// must not hang every later call on that device.
    pub fn lock_device_within(
        &self,
        device: &str,
        wait: Duration,
    ) -> Result<DeviceLock, StoreError> {
        let (file, path) = self.lock_file(device)?;
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(2);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(DeviceLock { _file: file }),
                Err(fs::TryLockError::WouldBlock) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(StoreError::Busy {
                            device: device.to_string(),
                            path,
                            waited: wait,
                        });
                    }
                    std::thread::sleep(pause.min(left));
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
                Err(fs::TryLockError::Error(e)) => return Err(StoreError::io("locking", path)(e)),
            }
        }
    }

    /// Take the per-device lock only if no one holds it: `None` while another process does
    /// (an ADD, DEL or GC working on the device right now). For GC, which must not wait for
    /// an ADD in flight and then tear down what it just attached.
    pub fn try_lock_device(&self, device: &str) -> Result<Option<DeviceLock>, StoreError> {
        let (file, path) = self.lock_file(device)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(DeviceLock { _file: file })),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => Err(StoreError::io("locking", path)(e)),
        }
    }

    /// The device's lock file (`<device>.lock`), opened for locking.
    fn lock_file(&self, device: &str) -> Result<(File, PathBuf), StoreError> {
        let dir = self.dir_for_writing()?;
        let name = format!("{}.lock", file_safe(device));
        // A regular file, created if missing, never through a symlink; only flock'd.
        let file = dir.open_append(&name, 0o600)?;
        Ok((file, self.dir.join(name)))
    }

    fn dir_for_writing(&self) -> Result<Dir, StoreError> {
        self.open_dir(true)?.ok_or_else(|| StoreError::BadName {
            what: "record directory",
            value: self.dir.display().to_string(),
        })
    }

    /// Write a record atomically (temp file, fsync, rename), replacing the attachment's
    /// previous one.
    pub fn save(&self, record: &R) -> Result<(), StoreError> {
        let (name, _) = self.path(record.container_id(), record.ifname())?;
        let body = serde_json::to_vec_pretty(record).map_err(StoreError::Encode)?;
        let dir = self.dir_for_writing()?;
        // An exclusively created temp file, synced, renamed over the record; an entry by the
        // record's name that is not a regular file (a planted symlink) is refused.
        dir.write_atomic(&name, &body, 0o644)?;
        Ok(())
    }

    /// Decode one file; `warn` logs what is ignored (load does, the GC listing does not: it
    /// would repeat the same lines on every GC).
    fn decode(&self, path: &Path, bytes: &[u8], warn: bool) -> Result<Read<R>, StoreError> {
        let value = match serde_json::from_slice::<Value>(bytes) {
            Ok(v) => v,
            Err(e) => return self.unreadable(path, e, warn),
        };
        if let Some(want) = self.version {
            let got = value.get("version").and_then(Value::as_u64);
            if got != Some(want) {
                if warn {
                    let got = got.map_or_else(|| "missing".to_string(), |v| v.to_string());
                    nfv_cni::warn!(
                        "{}: record version {got} is not {want}; ignored",
                        path.display()
                    );
                }
                return Ok(Read::Ignored);
            }
        }
        match serde_json::from_value::<R>(value) {
            Ok(r) => Ok(Read::Record(r)),
            Err(e) => self.unreadable(path, e, warn),
        }
    }

    fn unreadable(
        &self,
        path: &Path,
        e: serde_json::Error,
        warn: bool,
    ) -> Result<Read<R>, StoreError> {
        if self.ignore_unreadable {
            if warn {
                nfv_cni::warn!("{}: unreadable record ignored: {e}", path.display());
            }
            return Ok(Read::Ignored);
        }
        Err(StoreError::Decode {
            path: path.to_path_buf(),
            source: e,
        })
    }

    /// The attachment's record; `None` when there is none (or it is ignored, see
    /// [`versioned`](Self::versioned)).
    pub fn load(&self, container_id: &str, ifname: &str) -> Result<Option<R>, StoreError> {
        let (name, path) = self.path(container_id, ifname)?;
        let Some(dir) = self.open_dir(false)? else {
            return Ok(None);
        };
        match dir.read_bounded(&name, MAX_RECORD_BYTES) {
            Ok(b) => Ok(match self.decode(&path, &b, true)? {
                Read::Record(r) => Some(r),
                Read::Ignored => None,
            }),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => self.unreadable_file(e),
        }
    }

    /// A record file that cannot be read (not a regular file, too large, an I/O error):
    /// ignored with a warning by stores that ignore unreadable records (DEL then works from
    /// the config), else the error.
    fn unreadable_file(&self, e: FsError) -> Result<Option<R>, StoreError> {
        if self.ignore_unreadable {
            nfv_cni::warn!("unreadable record ignored: {e}");
            return Ok(None);
        }
        Err(e.into())
    }

    /// Remove the attachment's record; already gone is fine.
    pub fn remove(&self, container_id: &str, ifname: &str) -> Result<(), StoreError> {
        let (name, _) = self.path(container_id, ifname)?;
        let Some(dir) = self.open_dir(false)? else {
            return Ok(());
        };
        // Only a regular file is removed. Anything else by that name (a planted symlink) is
        // not a record of ours: it is left alone with a warning, and the attachment has no
        // record any more, so DEL and GC go on.
        match dir.remove(&name, Kind::File) {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.problem, Problem::Symlink | Problem::WrongKind { .. }) => {
                nfv_cni::warn!("not a record, left alone: {e}");
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Every readable record of this store (for GC); files that cannot be read or decoded
    /// are skipped, whatever the policy: one bad file must not stop GC.
    pub fn all(&self) -> Result<Vec<R>, StoreError> {
        let Some(dir) = self.open_dir(false)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for name in dir.names()? {
            if !name.ends_with(".json") {
                continue;
            }
            let Ok(bytes) = dir.read_bounded(&name, MAX_RECORD_BYTES) else {
                continue;
            };
            if let Ok(Read::Record(r)) = self.decode(&dir.join(&name), &bytes, false) {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// What GC of network `network` may tear down: the records of that network whose
    /// attachment is not in `valid` (the config's `cni.dev/valid-attachments`, which names only
    /// that network's attachments), chosen by [`select_stale`]. A record without a network (an
    /// earlier binary's) is never returned, only named in a warning when it is not in `valid`:
    /// DEL still handles it. Everything else that asks "is this device held?" must use
    /// [`all`](Self::all) or [`holder_of`](Self::holder_of), which see every network.
    pub fn stale(
        &self,
        network: &str,
        valid: &[nfv_cni::Attachment],
    ) -> Result<Vec<R>, StoreError> {
        let chosen = select_stale(self.all()?, network, valid);
        for r in &chosen.unnamed {
            nfv_cni::warn!(
                "GC of network {network:?}: record {}-{}.json in {} (device {}) names no \
                 network (written by an earlier binary): left alone, DEL removes it",
                r.container_id(),
                r.ifname(),
                self.dir.display(),
                r.device()
            );
        }
        Ok(chosen.stale)
    }

    /// Every record, read as an outside observer does (`nfvctl`): the store's directory (the
    /// caller's constant) opened as a trusted root, nothing below it followed, only regular
    /// files named `*.json` read, each at most [`MAX_RECORD_BYTES`], no lock taken, nothing
    /// created. A missing directory is an empty store; files that do not decode, or are of
    /// another version, are named in [`ReadOnly::skipped`] with the reason.
    pub fn read_only(&self) -> Result<ReadOnly<R>, StoreError> {
        let dir = match nfv_safefs::Dir::open_trusted(&self.dir) {
            Ok(d) => d,
            Err(e) if e.is_not_found() => {
                return Ok(ReadOnly {
                    records: Vec::new(),
                    skipped: Vec::new(),
                })
            }
            Err(e) => return Err(e.into()),
        };
        let mut names = dir.names()?;
        names.sort();
        let (mut records, mut skipped) = (Vec::new(), Vec::new());
        for name in names.into_iter().filter(|n| n.ends_with(".json")) {
            let read = dir
                .read_bounded(&name, MAX_RECORD_BYTES)
                .map_err(|e| e.to_string())
                .and_then(|b| {
                    self.decode(&dir.join(&name), &b, false)
                        .map_err(|e| e.to_string())
                });
            match read {
                Ok(Read::Record(r)) => records.push(r),
                Ok(Read::Ignored) => skipped.push((name, self.ignored_why().to_string())),
                Err(why) => skipped.push((name, why)),
            }
        }
        Ok(ReadOnly { records, skipped })
    }

    fn ignored_why(&self) -> &'static str {
        match self.version {
            Some(_) => "another record version, or not a record",
            None => "not a record",
        }
    }

    /// The record, if any, that holds this device.
    pub fn holder_of(&self, device: &str) -> Result<Option<R>, StoreError> {
        Ok(self.all()?.into_iter().find(|r| r.device() == device))
    }
}

/// A store as an outside reader sees it ([`RecordStore::read_only`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOnly<R> {
    pub records: Vec<R>,
    /// Files not shown: (file name, why).
    pub skipped: Vec<(String, String)>,
}

/// What GC of one network makes of a store's records ([`select_stale`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleSelection<R> {
    /// The network's records whose attachment is not valid: GC tears these down.
    pub stale: Vec<R>,
    /// Records that name no network (an earlier binary's) and are not valid: GC leaves them
    /// to DEL, with a warning.
    pub unnamed: Vec<R>,
}

/// GC's choice, as a plain function of the records and the valid list, so that GC itself
/// ([`RecordStore::stale`]) and a read-only preview (`nfvctl gc --dry-run`) cannot disagree:
/// a record of `network` is stale when no entry of `valid` has its container ID and ifname;
/// records of other networks are not looked at.
pub fn select_stale<R: AttachmentRecord>(
    records: impl IntoIterator<Item = R>,
    network: &str,
    valid: &[nfv_cni::Attachment],
) -> StaleSelection<R> {
    let is_valid = |r: &R| {
        valid
            .iter()
            .any(|a| a.container_id == r.container_id() && a.ifname == r.ifname())
    };
    let mut chosen = StaleSelection {
        stale: Vec::new(),
        unnamed: Vec::new(),
    };
    for r in records {
        match r.network() {
            Some(n) if n == network => {
                if !is_valid(&r) {
                    chosen.stale.push(r);
                }
            }
            Some(_) => {}
            None if is_valid(&r) => {}
            None => chosen.unnamed.push(r),
        }
    }
    chosen
}
