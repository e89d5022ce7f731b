//! An owner index for the lease directory: which addresses each (container ID, ifname) holds,
//! so ADD and DEL need not read every lease file as the reference does.
//!
//! It lives outside the lease directory, in `<dataDir>/.nfv-hostlocal/<network>/`, because the
//! reference plugin reads every file inside the lease directory. It is a cache: derived from the
//! lease files, rebuilt whenever it may be stale, safe to delete at any time.
//!
//! Staleness is detected with the lease directory's identity and modification time. Every
//! create or unlink in the directory sets its mtime to the kernel's (coarse) current time. After
//! our own changes we set the mtime one nanosecond *back* and record that value: a later change
//! by anyone (the reference plugin, an operator) sets a current time, which differs from the
//! recorded value even within the same clock tick, so the next run notices and rebuilds.
//!
//! Every directory and file of the index is reached through handles that never follow a
//! symbolic link. When `.nfv-hostlocal`, `<network>` or `owners` is a link or not a
//! directory, the index is not kept on disk at all: it is rebuilt in memory from the leases on
//! every run (the reference's cost) and the link is left alone, with a note in the log.
//! Files are rewritten in place only when they are regular files with a single link (so a
//! hard link planted there never carries our write elsewhere); `state` is removed before any
//! bucket is written and created anew last, so a crash in between leaves no state and the
//! next run rebuilds.
//!
//! Layout: `state` holds `<dev> <ino> <mtime sec> <mtime nsec> <lease count>`; `owners/<xxx>`
//! is one of 256 buckets (by FNV-1a hash of the lease content) with lines `<ip> <hex content>`.
//! A lookup reads one bucket: about 10 KiB at 60,000 leases, a few bytes at 10, so the cost
//! barely moves with the lease count; a rebuild (after the reference plugin changed the
//! directory) reads every lease once and writes at most 256 files. 4096 buckets made lookups
//! smaller still but rebuilds cost seconds on a busy ext4, since each is a file create.

use crate::crash::crash_point;
use crate::error::StoreError;
use nfv_safefs::{Dir, Kind};
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::net::IpAddr;
use std::os::fd::AsFd;

const BUCKETS: u64 = 256;
const STATE_HEADER: &str = "nfv-hostlocal owner index 2";
/// Where the indexes of all networks live, in dataDir.
pub const INDEX_DIR: &str = ".nfv-hostlocal";
const STATE: &str = "state";
const OWNERS: &str = "owners";
/// `state` is one short line after the header.
const STATE_MAX: u64 = 4096;
/// A bucket line is at most about 4 KiB (a lease is at most 4 KiB, hex doubles it, plus
/// the address); 64 MiB holds some 300,000 ordinary lines per bucket, 70 million leases in
/// all. A larger bucket is treated as damaged: the index is rebuilt from the leases.
const BUCKET_MAX: u64 = 64 << 20;

/// The lease directory's identity and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirStamp {
    pub dev: u64,
    pub ino: u64,
    pub mtime_sec: i64,
    pub mtime_nsec: i64,
}

impl DirStamp {
    pub fn of(st: &nix::sys::stat::FileStat) -> DirStamp {
        DirStamp {
            dev: st.st_dev,
            ino: st.st_ino,
            mtime_sec: st.st_mtime,
            mtime_nsec: st.st_mtime_nsec,
        }
    }
}

fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn bucket_of(key: &str) -> u16 {
    (fnv1a(key) % BUCKETS) as u16
}

fn bucket_name(b: u16) -> String {
    format!("{b:02x}")
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<String> {
    if s.len() & 1 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|p| u8::from_str_radix(p, 16).ok()))
        .collect();
    String::from_utf8(bytes?).ok()
}

/// Rewrite the regular file `name` in `dir` in place (created 0600 if missing): refused when
/// it is anything but a regular file, or has other hard links, which a write would reach.
pub fn overwrite(dir: &Dir, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
    let mut f = dir.open_append(name, 0o600)?;
    let path = dir.join(name);
    let st = nix::sys::stat::fstat(f.as_fd())
        .map_err(|e| StoreError::new("checking", &path, e.into()))?;
    if st.st_nlink > 1 {
        return Err(StoreError::new(
            "writing",
            &path,
            std::io::Error::other(
                "it has other hard links, which the write would change too; remove it",
            ),
        ));
    }
    f.set_len(0)
        .and_then(|()| f.write_all(bytes))
        .map_err(|e| StoreError::new("writing", &path, e))
}

/// Where the index of one network lives on disk.
#[derive(Debug)]
enum Home {
    /// `.nfv-hostlocal/<network>` and its `owners`, as far as they exist yet.
    Disk {
        root: Option<Dir>,
        owners: Option<Dir>,
    },
    /// A symlink or a non-directory where a directory of the index goes: the index lives in
    /// memory for this run only. Says why.
    Refused(String),
}

/// The owner index of one network, loaded bucket by bucket as needed.
#[derive(Debug)]
pub struct OwnerIndex {
    network: String,
    home: Home,
    buckets: HashMap<u16, Vec<(IpAddr, String)>>,
    dirty: HashSet<u16>,
    /// Every bucket is in memory (after a rebuild): a missing one is empty.
    complete: bool,
    /// The bucket files on disk are from an older build and must all be replaced.
    replace_all: bool,
    pub count: usize,
}

impl OwnerIndex {
    /// The index for `network` in `data`, if its recorded stamp is `stamp`.
    pub fn open(data: &Dir, network: &str, stamp: DirStamp) -> (OwnerIndex, bool) {
        let mut index = OwnerIndex {
            network: network.to_string(),
            home: Home::Disk {
                root: None,
                owners: None,
            },
            buckets: HashMap::new(),
            dirty: HashSet::new(),
            complete: false,
            replace_all: false,
            count: 0,
        };
        let opened = data
            .open_dir(INDEX_DIR)
            .and_then(|top| top.open_dir(network))
            .map(|root| {
                let owners = root.open_dir(OWNERS);
                (root, owners)
            });
        let (root, owners) = match opened {
            Ok(found) => found,
            Err(e) if e.is_not_found() => return (index, false),
            Err(e) => {
                index.home = Home::Refused(e.to_string());
                return (index, false);
            }
        };
        let owners = match owners {
            Ok(o) => Some(o),
            Err(e) if e.is_not_found() => None,
            Err(e) => {
                index.home = Home::Refused(e.to_string());
                return (index, false);
            }
        };
        // Without its bucket directory the index cannot be trusted (someone removed part of it).
        let recorded = match owners {
            Some(_) => root
                .read_bounded(STATE, STATE_MAX)
                .ok()
                .and_then(|b| parse_index_state(&b)),
            None => None,
        };
        index.home = Home::Disk {
            root: Some(root),
            owners,
        };
        match recorded {
            Some((s, count)) if s == stamp => {
                index.count = count;
                (index, true)
            }
            _ => (index, false),
        }
    }

    /// Why the index cannot be kept on disk, if it cannot.
    pub fn refused(&self) -> Option<&str> {
        match &self.home {
            Home::Refused(why) => Some(why),
            Home::Disk { .. } => None,
        }
    }

    /// Replace the whole index with `leases` (address, trimmed content).
    pub fn rebuild(&mut self, leases: &[(IpAddr, String)]) {
        self.buckets.clear();
        for (ip, key) in leases {
            self.buckets
                .entry(bucket_of(key))
                .or_default()
                .push((*ip, key.clone()));
        }
        self.count = leases.len();
        self.complete = true;
        self.replace_all = true;
        self.dirty.clear();
    }

    /// Load a bucket; `None` if its file is unreadable or damaged (the caller rebuilds).
    fn bucket(&mut self, b: u16) -> Option<&mut Vec<(IpAddr, String)>> {
        if !self.buckets.contains_key(&b) {
            let entries = if self.complete {
                Vec::new()
            } else {
                match &self.home {
                    Home::Disk {
                        owners: Some(owners),
                        ..
                    } => match owners.read_bounded(&bucket_name(b), BUCKET_MAX) {
                        Ok(bytes) => parse_index_bucket(&bytes)?,
                        Err(e) if e.is_not_found() => Vec::new(),
                        Err(_) => return None,
                    },
                    // Only a complete (rebuilt) index works without its directory.
                    _ => return None,
                }
            };
            self.buckets.insert(b, entries);
        }
        self.buckets.get_mut(&b)
    }

    /// Addresses whose lease content is `key`; `None` if the index cannot be read.
    pub fn lookup(&mut self, key: &str) -> Option<Vec<IpAddr>> {
        let entries = self.bucket(bucket_of(key))?;
        Some(
            entries
                .iter()
                .filter(|(_, k)| k == key)
                .map(|(ip, _)| *ip)
                .collect(),
        )
    }

    pub fn insert(&mut self, ip: IpAddr, key: &str) -> bool {
        let b = bucket_of(key);
        let Some(entries) = self.bucket(b) else {
            return false;
        };
        entries.push((ip, key.to_string()));
        self.dirty.insert(b);
        self.count += 1;
        true
    }

    pub fn remove(&mut self, ip: IpAddr, key: &str) -> bool {
        let b = bucket_of(key);
        let Some(entries) = self.bucket(b) else {
            return false;
        };
        let before = entries.len();
        entries.retain(|(i, k)| !(*i == ip && k == key));
        let removed = before - entries.len();
        self.dirty.insert(b);
        self.count = self.count.saturating_sub(removed);
        true
    }

    /// Write changed buckets and the state recording `stamp`. Does nothing when the index
    /// cannot live on disk.
    pub fn save(&mut self, data: &Dir, stamp: DirStamp) -> Result<(), StoreError> {
        let Home::Disk { root, owners } = &mut self.home else {
            return Ok(());
        };
        if root.is_none() {
            let top = data.create_dir(INDEX_DIR, super::DIR_MODE)?.0;
            *root = Some(top.create_dir(&self.network, super::DIR_MODE)?.0);
        }
        let Some(root) = root.as_ref() else {
            return Ok(());
        };
        if owners.is_none() {
            *owners = Some(root.create_dir(OWNERS, super::DIR_MODE)?.0);
        }
        let Some(owners) = owners.as_ref() else {
            return Ok(());
        };
        // Invalidate first, so a crash while writing buckets leaves a stale (rebuilt) index.
        root.remove(STATE, Kind::File)?;
        crash_point("index-invalidated", None);
        if self.replace_all {
            // Every bucket is rewritten; files of buckets now empty (or of an older layout)
            // are removed. Anything but a regular file there is left alone and refused.
            self.dirty = (0..BUCKETS as u16).collect();
            for name in owners.names()? {
                let wanted = name.len() == 2
                    && u16::from_str_radix(&name, 16)
                        .is_ok_and(|b| self.buckets.get(&b).is_some_and(|v| !v.is_empty()));
                if !wanted {
                    owners.remove(&name, Kind::File)?;
                }
            }
        }
        let mut dirty: Vec<u16> = self.dirty.drain().collect();
        dirty.sort_unstable();
        for b in dirty {
            let name = bucket_name(b);
            let entries = self
                .buckets
                .get_mut(&b)
                .map(std::mem::take)
                .unwrap_or_default();
            if entries.is_empty() {
                owners.remove(&name, Kind::File)?;
                continue;
            }
            // Sorted, so the files depend only on the leases, not on the order of changes.
            let mut entries = entries;
            entries.sort_by(|a, b| (a.0.to_string(), &a.1).cmp(&(b.0.to_string(), &b.1)));
            let mut text = String::new();
            for (ip, key) in &entries {
                text.push_str(&format!("{ip} {}\n", hex(key)));
            }
            self.buckets.insert(b, entries);
            overwrite(owners, &name, text.as_bytes())?;
        }
        crash_point("index-buckets-written", None);
        self.replace_all = false;
        let text = format!(
            "{STATE_HEADER}\n{} {} {} {} {}\n",
            stamp.dev, stamp.ino, stamp.mtime_sec, stamp.mtime_nsec, self.count
        );
        let mut f = root.create_new(STATE, 0o600)?;
        f.write_all(text.as_bytes())
            .map_err(|e| StoreError::new("writing", root.join(STATE), e))?;
        crash_point("after-index", None);
        Ok(())
    }

    /// Is anything waiting to be written?
    pub fn is_dirty(&self) -> bool {
        self.replace_all || !self.dirty.is_empty()
    }
}

/// Parse the bytes of an index `state` file: the lease directory's stamp and lease count.
pub fn parse_index_state(bytes: &[u8]) -> Option<(DirStamp, usize)> {
    let s = std::str::from_utf8(bytes).ok()?;
    let mut lines = s.lines();
    if lines.next()? != STATE_HEADER {
        return None;
    }
    let f: Vec<&str> = lines.next()?.split(' ').collect();
    let [dev, ino, sec, nsec, count] = f[..] else {
        return None;
    };
    Some((
        DirStamp {
            dev: dev.parse().ok()?,
            ino: ino.parse().ok()?,
            mtime_sec: sec.parse().ok()?,
            mtime_nsec: nsec.parse().ok()?,
        },
        count.parse().ok()?,
    ))
}

/// Parse the bytes of an index bucket file (`owners/xx`): (address, lease content) pairs;
/// `None` if any line is damaged.
pub fn parse_index_bucket(bytes: &[u8]) -> Option<Vec<(IpAddr, String)>> {
    let text = std::str::from_utf8(bytes).ok()?;
    text.lines()
        .map(|l| {
            let (ip, key) = l.split_once(' ')?;
            Some((ip.parse().ok()?, unhex(key)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_buckets() {
        let k = "abc\r\neth0";
        assert_eq!(unhex(&hex(k)).as_deref(), Some(k));
        assert_eq!(unhex("zz"), None);
        assert!(u64::from(bucket_of(k)) < BUCKETS);
        let b = parse_index_bucket(b"10.0.0.2 610d0a62\n2001:db8::1 61\n").unwrap();
        assert_eq!(b[0].1, "a\r\nb");
        assert_eq!(b[1].0, "2001:db8::1".parse::<IpAddr>().unwrap());
        assert!(parse_index_bucket(b"garbage\n").is_none());
        assert!(parse_index_bucket(&[0xff, b' ', b'6']).is_none());
        assert_eq!(parse_index_bucket(b""), Some(Vec::new()));
    }

    #[test]
    fn state_parsing() {
        let s = format!("{STATE_HEADER}\n1 2 3 4 5\n");
        let (st, n) = parse_index_state(s.as_bytes()).unwrap();
        assert_eq!(
            (st.dev, st.ino, st.mtime_sec, st.mtime_nsec, n),
            (1, 2, 3, 4, 5)
        );
        assert!(parse_index_state(b"other\n1 2 3 4 5\n").is_none());
        assert!(parse_index_state(format!("{STATE_HEADER}\n1 2 3\n").as_bytes()).is_none());
        assert!(parse_index_state(&[0xff]).is_none());
    }
}
