//! The on-disk lease store, in the reference plugin's format:
//! `<dataDir>/<network>/<ip>` holding `<containerID>\r\n<ifname>` (created exclusively),
//! `last_reserved_ip.<set index>` holding the address last handed out from that set, and
//! `lock`, held with flock(LOCK_EX) for the whole operation. Both plugins can work on the same
//! directory at the same time because they take the same lock.
//!
//! Lease files are created 0600 and directories 0700 (the reference uses 0644 and 0755: the
//! files name which container holds which address, which is nobody else's business).

mod index;

use crate::addr;
use crate::error::StoreError;
use crate::store::{LeaseStore, Owner};
use index::{open_nofollow, DirStamp, OwnerIndex};
use nix::fcntl::{Flock, FlockArg};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::net::IpAddr;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

const LAST_RESERVED_PREFIX: &str = "last_reserved_ip.";
const LOCK_FILE: &str = "lock";

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
    dir: PathBuf,
    dir_file: File,
    index: OwnerIndex,
    /// We created or removed files in the lease directory.
    changed: bool,
    /// The index was rebuilt in this run and must be saved.
    rebuilt: bool,
    _lock: Flock<File>,
}

fn not_found_ok(r: std::io::Result<()>) -> std::io::Result<()> {
    match r {
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Read a lease file's trimmed content; `None` if it is gone.
fn read_lease(path: &Path) -> Result<Option<String>, StoreError> {
    let mut f = match open_nofollow(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::new("open lease", path, e)),
    };
    let mut s = String::new();
    f.read_to_string(&mut s)
        .map_err(|e| StoreError::new("read lease", path, e))?;
    Ok(Some(s.trim().to_string()))
}

impl DiskStore {
    /// Open (creating if needed) `<data_dir>/<network>` and take its lock.
    pub fn open(data_dir: &Path, network: &str) -> Result<DiskStore, StoreError> {
        let dir = data_dir.join(network);
        if let Err(msg) = check_network_name(network) {
            return Err(StoreError::new(
                "use network directory",
                &dir,
                std::io::Error::other(msg),
            ));
        }
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| StoreError::new("create network directory", &dir, e))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock_file = OpenOptions::new()
            .read(true)
            .create(true)
            .append(true)
            .mode(0o600)
            .custom_flags(index::libc_o_nofollow())
            .open(&lock_path)
            .map_err(|e| StoreError::new("open lock file", &lock_path, e))?;
        let lock = Flock::lock(lock_file, FlockArg::LockExclusive).map_err(|(_, errno)| {
            StoreError::new("lock", &lock_path, std::io::Error::from(errno))
        })?;
        let dir_file =
            File::open(&dir).map_err(|e| StoreError::new("open network directory", &dir, e))?;
        let stamp = Self::stamp_of(&dir_file, &dir)?;
        let (index, valid) = OwnerIndex::open(data_dir, network, stamp);
        let mut store = DiskStore {
            dir,
            dir_file,
            index,
            changed: false,
            rebuilt: false,
            _lock: lock,
        };
        if !valid {
            store.rebuild()?;
        }
        Ok(store)
    }

    /// The lease directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn stamp_of(dir_file: &File, dir: &Path) -> Result<DirStamp, StoreError> {
        let meta = dir_file
            .metadata()
            .map_err(|e| StoreError::new("stat", dir, e))?;
        Ok(DirStamp::of(&meta))
    }

    /// Scan the lease directory: every regular file named by an address in canonical form.
    fn scan(&self) -> Result<Vec<(IpAddr, String)>, StoreError> {
        let mut out = Vec::new();
        let entries = fs::read_dir(&self.dir).map_err(|e| StoreError::new("list", &self.dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::new("list", &self.dir, e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Some(ip) = addr::parse_ip(name) else {
                continue;
            };
            if ip.to_string() != name {
                continue;
            }
            match entry.file_type() {
                Ok(t) if t.is_file() => {}
                _ => continue,
            }
            if let Some(content) = read_lease(&entry.path())? {
                out.push((ip, content));
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

    fn lease_path(&self, ip: IpAddr) -> PathBuf {
        self.dir.join(ip.to_string())
    }

    /// Addresses whose lease holds `key`, checked against the files; a mismatch means the
    /// index is stale, so it is rebuilt from the files and asked again.
    fn holding(&mut self, key: &str) -> Result<Vec<IpAddr>, StoreError> {
        if let Some(ips) = self.index.lookup(key) {
            let mut consistent = true;
            for ip in &ips {
                if read_lease(&self.lease_path(*ip))?.as_deref() != Some(key) {
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

    fn remove_lease(&mut self, ip: IpAddr, key: &str) -> Result<(), StoreError> {
        let path = self.lease_path(ip);
        not_found_ok(fs::remove_file(&path))
            .map_err(|e| StoreError::new("remove lease", &path, e))?;
        self.changed = true;
        self.index_remove(ip, key)
    }

    /// Can leases be created here? Creates and removes a probe file, which catches read-only
    /// mounts, full disks and inode tables that a permission check misses.
    pub fn probe_writable(&mut self) -> Result<(), StoreError> {
        let probe = self
            .dir
            .join(format!(".nfv-hostlocal-probe.{}", std::process::id()));
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(index::libc_o_nofollow())
            .open(&probe);
        self.changed = true;
        let mut f = f.map_err(|e| StoreError::new("create a file in", &self.dir, e))?;
        let written = f.write_all(b"probe");
        drop(f);
        let removed = fs::remove_file(&probe);
        written.map_err(|e| StoreError::new("write a file in", &self.dir, e))?;
        removed.map_err(|e| StoreError::new("remove a file in", &self.dir, e))
    }

    /// Make the index match the directory and release the lock. Call it at the end of every
    /// operation, failed or not; without it the next run rebuilds the index from the files.
    pub fn finish(mut self) -> Result<(), StoreError> {
        if !(self.changed || self.rebuilt || self.index.is_dirty()) {
            return Ok(());
        }
        let meta = self
            .dir_file
            .metadata()
            .map_err(|e| StoreError::new("stat", &self.dir, e))?;
        let mtime = meta
            .modified()
            .map_err(|e| StoreError::new("stat", &self.dir, e))?;
        // One nanosecond back: a later change by anyone gets the kernel's current time instead.
        if let Some(sentinel) = mtime.checked_sub(Duration::from_nanos(1)) {
            self.dir_file
                .set_modified(sentinel)
                .map_err(|e| StoreError::new("set modification time of", &self.dir, e))?;
        }
        let stamp = Self::stamp_of(&self.dir_file, &self.dir)?;
        self.index.save(stamp)
    }
}

impl LeaseStore for DiskStore {
    fn reserve(&mut self, owner: &Owner, ip: IpAddr, set_index: usize) -> Result<bool, StoreError> {
        let path = self.lease_path(ip);
        let mut f = match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(index::libc_o_nofollow())
            .open(&path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(false),
            Err(e) => return Err(StoreError::new("create lease", &path, e)),
        };
        self.changed = true;
        let key = owner.key();
        if let Err(e) = f.write_all(key.as_bytes()) {
            drop(f);
            let _ = fs::remove_file(&path);
            return Err(StoreError::new("write lease", &path, e));
        }
        drop(f);
        self.index_insert(ip, &key)?;
        let last = self.dir.join(format!("{LAST_RESERVED_PREFIX}{set_index}"));
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(index::libc_o_nofollow())
            .open(&last)
            .and_then(|mut f| f.write_all(ip.to_string().as_bytes()))
            .map_err(|e| StoreError::new("write", &last, e))?;
        Ok(true)
    }

    fn last_reserved(&mut self, set_index: usize) -> Option<IpAddr> {
        let path = self.dir.join(format!("{LAST_RESERVED_PREFIX}{set_index}"));
        let mut s = String::new();
        open_nofollow(&path).ok()?.read_to_string(&mut s).ok()?;
        addr::parse_ip(&s)
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
        let path = self.lease_path(ip);
        match read_lease(&path)? {
            Some(key) => self.remove_lease(ip, &key),
            None => Ok(()),
        }
    }

    fn is_leased(&mut self, ip: IpAddr) -> Result<bool, StoreError> {
        let path = self.lease_path(ip);
        match fs::symlink_metadata(&path) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(StoreError::new("stat", &path, e)),
        }
    }

    fn lease_count(&mut self) -> Result<usize, StoreError> {
        Ok(self.index.count)
    }
}

#[cfg(test)]
mod tests;
