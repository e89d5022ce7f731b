//! The on-disk lease store, in the reference plugin's format:
//! `<dataDir>/<network>/<ip>` holding `<containerID>\r\n<ifname>` (created exclusively),
//! `last_reserved_ip.<set index>` holding the address last handed out from that set, and
//! `lock`, held with flock(LOCK_EX) for the whole operation. Both plugins can work on the same
//! directory at the same time because they take the same lock.
//!
//! Lease files are created 0600 and directories 0700 (the reference uses 0644 and 0755: the
//! files name which container holds which address, which is nobody else's business).
//!
//! Every entry is reached through directory handles that never follow a symbolic link
//! (`nfv_safefs::Dir`), and checked for its kind before it is read, written or removed: a lease
//! is a regular file. A symlink, FIFO, directory, huge or binary file named like an address
//! takes that address but is never read as a lease nor removed; it is noted for the log.
//!
//! A lease is published whole: its content goes into an exclusively created temp file, which
//! is then renamed to the address without replacing anything (`renameat2(RENAME_NOREPLACE)`).
//! So a lease file of ours is never empty, even if the plugin is killed mid-way. Empty lease
//! files (the reference, or an old version of ours, killed between create and write) are
//! garbage once they are [`EMPTY_LEASE_GRACE`] old, and any operation on the network removes
//! them: see [`DiskStore::open`].

mod data_dir;
mod index;
mod lease;

pub use data_dir::{open_data_dir, DIR_MODE, TRUSTED_LINKS};
pub use index::{parse_index_bucket, parse_index_state, DirStamp, INDEX_DIR};
pub use lease::{parse_lease, LeaseContent, LeaseEntry, LEASE_MAX};

use crate::addr;
use crate::crash::crash_point;
use crate::error::StoreError;
use crate::store::{LeaseStore, Owner};
use index::{overwrite, OwnerIndex};
use lease::read_lease;
use nfv_safefs::{Dir, Kind};
use nix::fcntl::{Flock, FlockArg};
use nix::sys::stat::{fstat, futimens, FileStat};
use nix::sys::time::TimeSpec;
use std::fs::File;
use std::io::Write;
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const LAST_RESERVED_PREFIX: &str = "last_reserved_ip.";
const LOCK_FILE: &str = "lock";
/// Names of our own short-lived files in the lease directory (a lease being written, the
/// STATUS probe). Every one is created and removed under the lock, so one found while we hold
/// the lock was left by a killed run and is removed.
const TEMP_PREFIX: &str = ".nfv-hostlocal-";
/// `last_reserved_ip.N` holds one address.
const LAST_RESERVED_MAX: u64 = 256;
/// How old an empty lease file must be before it counts as garbage. Every writer we know (the
/// reference, ours) creates and writes a lease while holding the lock we hold, so an empty
/// one seen now is already orphaned; the grace is for a writer that does not lock (a script),
/// which is mid-write for microseconds, not seconds.
pub const EMPTY_LEASE_GRACE: Duration = Duration::from_secs(5);

/// Why a network name cannot be used as a directory name, if it cannot.
pub fn check_network_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the network name is empty: set \"name\" in the network configuration".into());
    }
    // A leading '.' is refused too: `.nfv-hostlocal` next to the networks holds our index.
    if name.starts_with('.') || name.contains('/') || name.contains('\0') {
        return Err(format!(
            "network name {name:?} cannot be used as a directory name under dataDir: use letters, digits, '-', '_' and '.'"
        ));
    }
    Ok(())
}

/// The leases of one network, locked for as long as this value lives.
#[derive(Debug)]
pub struct DiskStore {
    data: Dir,
    dir: Dir,
    index: OwnerIndex,
    /// We created or removed files in the lease directory.
    changed: bool,
    /// The index was rebuilt in this run and must be saved.
    rebuilt: bool,
    /// Things worth a line in the log (foreign entries, garbage removed), for the plugin.
    notes: Vec<String>,
    _lock: Flock<File>,
}

fn stat_error(op: &'static str, path: &Path, e: nix::errno::Errno) -> StoreError {
    StoreError::new(op, path, e.into())
}

fn temp_name() -> String {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    format!(
        "{TEMP_PREFIX}lease.{}.{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// How long ago `st` was modified; a time in the future counts as long ago (the clock was
/// set back: the file is not from a writer busy right now).
fn age(st: &FileStat) -> Duration {
    let mtime = UNIX_EPOCH
        + Duration::new(
            u64::try_from(st.st_mtime).unwrap_or(0),
            u32::try_from(st.st_mtime_nsec).unwrap_or(0),
        );
    SystemTime::now()
        .duration_since(mtime)
        .unwrap_or(Duration::MAX)
}

/// How long a verb waits for another call to release the network's `lock` before it answers
/// "try again later" (code 11): an ADD or DEL holds it for milliseconds, so only a hung or
/// stopped plugin (ours or the reference) makes a call wait this long.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Take `lock` in `dir`, waiting at most `wait` for another holder.
pub(crate) fn lock_within(dir: &Dir, wait: std::time::Duration) -> Result<Flock<File>, StoreError> {
    let deadline = std::time::Instant::now() + wait;
    let mut pause = std::time::Duration::from_millis(2);
    let mut file = dir.open_append(LOCK_FILE, 0o600)?;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return Ok(lock),
            Err((back, nix::errno::Errno::EWOULDBLOCK)) => {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    return Err(StoreError::Busy {
                        path: dir.join(LOCK_FILE),
                        waited: wait,
                    });
                }
                std::thread::sleep(pause.min(left));
                pause = (pause * 2).min(std::time::Duration::from_millis(100));
                file = back;
            }
            Err((_, errno)) => {
                return Err(StoreError::new(
                    "lock",
                    dir.join(LOCK_FILE),
                    std::io::Error::from(errno),
                ))
            }
        }
    }
}

impl DiskStore {
    /// Open (creating if needed) `<data_dir>/<network>` and take its lock. Removes what killed
    /// runs left: our temp files, and empty leases older than [`EMPTY_LEASE_GRACE`].
    pub fn open(data_dir: &Path, network: &str) -> Result<DiskStore, StoreError> {
        if let Err(msg) = check_network_name(network) {
            return Err(StoreError::new(
                "use network directory",
                data_dir.join(network),
                std::io::Error::other(msg),
            ));
        }
        let data = open_data_dir(data_dir)?;
        let dir = data
            .create_dir(network, DIR_MODE)
            .map_err(StoreError::LeaseDir)?
            .0;
        let lock = lock_within(&dir, LOCK_WAIT)?;
        let stamp = Self::stamp_of(&dir)?;
        let (index, valid) = OwnerIndex::open(&data, network, stamp);
        let mut notes = Vec::new();
        if let Some(why) = index.refused() {
            notes.push(format!(
                "the lease index is kept in memory only (every run reads all leases): {why}"
            ));
        }
        let mut store = DiskStore {
            data,
            dir,
            index,
            changed: false,
            rebuilt: false,
            notes,
            _lock: lock,
        };
        if !valid {
            store.rebuild()?;
        }
        store.sweep_empty_leases()?;
        Ok(store)
    }

    /// The lease directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Lines for the log gathered so far (foreign entries seen, garbage removed), with
    /// control characters escaped: they hold file names anyone who can write the directory
    /// chose, and a newline must not forge a log line.
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
            .into_iter()
            .map(|n| {
                n.chars()
                    .map(|c| {
                        if c.is_control() {
                            c.escape_default().to_string()
                        } else {
                            c.to_string()
                        }
                    })
                    .collect()
            })
            .collect()
    }

    fn stamp_of(dir: &Dir) -> Result<DirStamp, StoreError> {
        let st = fstat(dir.as_fd()).map_err(|e| stat_error("stat", dir.path(), e))?;
        Ok(DirStamp::of(&st))
    }

    /// Scan the lease directory: every regular file named by an address in canonical form,
    /// with its content. Removes our temp files left by killed runs; notes foreign entries.
    fn scan(&mut self) -> Result<Vec<(IpAddr, String)>, StoreError> {
        let mut out = Vec::new();
        for name in self.dir.names()? {
            if name.starts_with(TEMP_PREFIX) {
                match self.dir.remove(&name, Kind::File) {
                    Ok(_) => {
                        self.changed = true;
                        self.notes.push(format!(
                            "removed {}, left by a killed run",
                            self.dir.join(&name).display()
                        ));
                    }
                    Err(e) => self.notes.push(format!("left alone: {e}")),
                }
                continue;
            }
            let Some(ip) = addr::parse_ip(&name) else {
                continue;
            };
            if ip.to_string() != name {
                continue;
            }
            match read_lease(&self.dir, &name)? {
                LeaseEntry::Held(content) => out.push((ip, content)),
                LeaseEntry::Foreign(why) => self.notes.push(format!(
                    "not a lease, left alone (its address stays taken): {why}"
                )),
                LeaseEntry::Absent => {}
            }
        }
        out.sort_by_key(|(ip, _)| ip.to_string());
        Ok(out)
    }

    fn rebuild(&mut self) -> Result<(), StoreError> {
        let leases = self.scan()?;
        self.index.rebuild(&leases);
        self.rebuilt = true;
        Ok(())
    }

    /// Remove empty leases older than the grace: a writer killed between creating a lease and
    /// writing it (the reference, or an old version of ours) left them, and nobody's DEL can
    /// match them. The index keeps them under the empty key, so this reads one bucket.
    fn sweep_empty_leases(&mut self) -> Result<(), StoreError> {
        for ip in self.holding("")? {
            let name = ip.to_string();
            let Some(st) = self.dir.stat(&name)? else {
                continue;
            };
            if age(&st) < EMPTY_LEASE_GRACE {
                continue;
            }
            self.remove_lease(ip, "")?;
            self.notes.push(format!(
                "removed the empty lease {}: a plugin was killed while creating it",
                self.dir.join(&name).display()
            ));
        }
        Ok(())
    }

    /// Addresses whose lease holds `key`, checked against the files; a mismatch means the
    /// index is stale, so it is rebuilt from the files and asked again.
    fn holding(&mut self, key: &str) -> Result<Vec<IpAddr>, StoreError> {
        if let Some(ips) = self.index.lookup(key) {
            let mut consistent = true;
            for ip in &ips {
                if read_lease(&self.dir, &ip.to_string())? != LeaseEntry::Held(key.to_string()) {
                    consistent = false;
                    break;
                }
            }
            if consistent {
                return Ok(ips);
            }
        }
        self.rebuild()?;
        Ok(self.index.lookup(key).unwrap_or_default())
    }

    fn index_insert(&mut self, ip: IpAddr, key: &str) -> Result<(), StoreError> {
        if !self.index.insert(ip, key) {
            self.rebuild()?;
        }
        Ok(())
    }

    fn index_remove(&mut self, ip: IpAddr, key: &str) -> Result<(), StoreError> {
        if !self.index.remove(ip, key) {
            self.rebuild()?;
        }
        Ok(())
    }

    /// Remove the lease file for `ip` (a regular file only) and its index entry.
    fn remove_lease(&mut self, ip: IpAddr, key: &str) -> Result<(), StoreError> {
        self.dir.remove(&ip.to_string(), Kind::File)?;
        self.changed = true;
        self.index_remove(ip, key)
    }

    /// Publish the lease for `ip` holding `key`: written to a temp file, then renamed to the
    /// address unless the address is taken. `Ok(false)` when it is taken.
    fn create_lease(&mut self, ip: IpAddr, key: &str, set: usize) -> Result<bool, StoreError> {
        let name = ip.to_string();
        let tmp = temp_name();
        self.changed = true;
        let written = (|| {
            let mut f = self.dir.create_new(&tmp, 0o600)?;
            crash_point("lease-temp-created", Some(set));
            f.write_all(key.as_bytes())
                .map_err(|e| StoreError::new("writing", self.dir.join(&tmp), e))?;
            crash_point("lease-temp-written", Some(set));
            match self.dir.rename_new(&tmp, Kind::File, &self.dir, &name) {
                Ok(()) => Ok(true),
                Err(e) if e.problem.io_kind() == Some(std::io::ErrorKind::AlreadyExists) => {
                    Ok(false)
                }
                Err(e) => Err(StoreError::Fs(e)),
            }
        })();
        if !matches!(written, Ok(true)) {
            // Best effort: a leftover is removed by the next run that rescans.
            let _ = self.dir.remove(&tmp, Kind::File);
        }
        written
    }

    /// The steps after a lease was published: index it, record it as the last reserved
    /// address of its range set.
    fn record_lease(&mut self, ip: IpAddr, key: &str, set: usize) -> Result<(), StoreError> {
        self.index_insert(ip, key)?;
        let last = format!("{LAST_RESERVED_PREFIX}{set}");
        overwrite(&self.dir, &last, ip.to_string().as_bytes())?;
        crash_point("after-last-reserved", Some(set));
        Ok(())
    }

    /// Can leases be created here? Creates and removes a probe file, which catches read-only
    /// mounts, full disks and inode tables that a permission check misses.
    pub fn probe_writable(&mut self) -> Result<(), StoreError> {
        let probe = format!("{TEMP_PREFIX}probe.{}", std::process::id());
        self.changed = true;
        let mut f = self.dir.create_new(&probe, 0o600)?;
        let written = f.write_all(b"probe");
        drop(f);
        let removed = self.dir.remove(&probe, Kind::File);
        written.map_err(|e| StoreError::new("write a file in", self.dir.path(), e))?;
        removed?;
        Ok(())
    }

    /// Make the index match the directory and release the lock. Call it at the end of every
    /// operation, failed or not; without it the next run rebuilds the index from the files.
    pub fn finish(mut self) -> Result<(), StoreError> {
        if !(self.changed || self.rebuilt || self.index.is_dirty()) {
            return Ok(());
        }
        let st = fstat(self.dir.as_fd()).map_err(|e| stat_error("stat", self.dir.path(), e))?;
        // One nanosecond back: a later change by anyone gets the kernel's current time instead.
        let (sec, nsec) = if st.st_mtime_nsec > 0 {
            (st.st_mtime, st.st_mtime_nsec - 1)
        } else {
            (st.st_mtime - 1, 999_999_999)
        };
        futimens(
            self.dir.as_fd(),
            &TimeSpec::UTIME_OMIT,
            &TimeSpec::new(sec, nsec),
        )
        .map_err(|e| stat_error("set modification time of", self.dir.path(), e))?;
        let stamp = Self::stamp_of(&self.dir)?;
        self.index.save(&self.data, stamp)
    }

    /// Path of a file in the lease directory, for messages.
    fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl LeaseStore for DiskStore {
    fn reserve(&mut self, owner: &Owner, ip: IpAddr, set_index: usize) -> Result<bool, StoreError> {
        let name = ip.to_string();
        // Anything by that name (a lease, or a foreign entry) takes the address; checked
        // first so walking past taken addresses costs a stat, not a temp file each.
        if self.dir.stat(&name)?.is_some() {
            return Ok(false);
        }
        let key = owner.key();
        if key.len() as u64 > LEASE_MAX {
            return Err(StoreError::new(
                "creating",
                self.path_of(&name),
                std::io::Error::other(format!(
                    "the container ID and interface name are longer than a lease may hold ({LEASE_MAX} bytes)"
                )),
            ));
        }
        if !self.create_lease(ip, &key, set_index)? {
            return Ok(false);
        }
        crash_point("after-lease", Some(set_index));
        // The lease exists from here on: any failure takes it back out, index entry and all.
        if let Err(e) = self.record_lease(ip, &key, set_index) {
            let _ = self.remove_lease(ip, &key);
            return Err(e);
        }
        Ok(true)
    }

    fn last_reserved(&mut self, set_index: usize) -> Option<IpAddr> {
        let name = format!("{LAST_RESERVED_PREFIX}{set_index}");
        let bytes = self.dir.read_bounded(&name, LAST_RESERVED_MAX).ok()?;
        addr::parse_ip(std::str::from_utf8(&bytes).ok()?)
    }

    fn leases_of(&mut self, owner: &Owner) -> Result<Vec<IpAddr>, StoreError> {
        let mut ips = self.holding(&owner.key())?;
        for ip in self.holding(&owner.legacy_key())? {
            if !ips.contains(&ip) {
                ips.push(ip);
            }
        }
        ips.sort_by_key(|ip| ip.to_string());
        Ok(ips)
    }

    fn release_owner(&mut self, owner: &Owner) -> Result<Vec<IpAddr>, StoreError> {
        let mut key = owner.key();
        let mut ips = self.holding(&key)?;
        if ips.is_empty() {
            key = owner.legacy_key();
            ips = self.holding(&key)?;
        }
        for ip in &ips {
            self.remove_lease(*ip, &key)?;
        }
        Ok(ips)
    }

    fn all_leases(&mut self) -> Result<Vec<(IpAddr, String)>, StoreError> {
        self.scan()
    }

    fn release(&mut self, ip: IpAddr) -> Result<(), StoreError> {
        match read_lease(&self.dir, &ip.to_string())? {
            LeaseEntry::Held(key) => self.remove_lease(ip, &key),
            LeaseEntry::Foreign(why) => {
                self.notes.push(format!("not a lease, left alone: {why}"));
                Ok(())
            }
            LeaseEntry::Absent => Ok(()),
        }
    }

    fn is_leased(&mut self, ip: IpAddr) -> Result<bool, StoreError> {
        Ok(self.dir.stat(&ip.to_string())?.is_some())
    }

    fn lease_count(&mut self) -> Result<usize, StoreError> {
        Ok(self.index.count)
    }
}

#[cfg(test)]
mod tests;
