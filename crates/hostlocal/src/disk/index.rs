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
//! Layout: `state` holds `<dev> <ino> <mtime sec> <mtime nsec> <lease count>`; `owners/<xxx>`
//! is one of 256 buckets (by FNV-1a hash of the lease content) with lines `<ip> <hex content>`.
//! A lookup reads one bucket: about 10 KiB at 60,000 leases, a few bytes at 10, so the cost
//! barely moves with the lease count; a rebuild (after the reference plugin changed the
//! directory) reads every lease once and writes at most 256 files. 4096 buckets made lookups
//! smaller still but rebuilds cost seconds on a busy ext4, since each is a file create.

use crate::error::StoreError;
use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::net::IpAddr;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

const BUCKETS: u64 = 256;
const STATE_HEADER: &str = "nfv-hostlocal owner index 2";

/// The lease directory's identity and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirStamp {
    pub dev: u64,
    pub ino: u64,
    pub mtime_sec: i64,
    pub mtime_nsec: i64,
}

impl DirStamp {
    pub fn of(meta: &fs::Metadata) -> DirStamp {
        DirStamp {
            dev: meta.dev(),
            ino: meta.ino(),
            mtime_sec: meta.mtime(),
            mtime_nsec: meta.mtime_nsec(),
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

/// Write `data` to `path` through a temporary file and a rename, mode 0600.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<(), StoreError> {
    let tmp = path.with_extension("tmp");
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(libc_o_nofollow())
        .open(&tmp)
        .map_err(|e| StoreError::new("create", &tmp, e))?;
    f.write_all(data)
        .map_err(|e| StoreError::new("write", &tmp, e))?;
    drop(f);
    fs::rename(&tmp, path).map_err(|e| StoreError::new("rename into place", path, e))
}

pub fn libc_o_nofollow() -> i32 {
    nix::fcntl::OFlag::O_NOFOLLOW.bits() | nix::fcntl::OFlag::O_CLOEXEC.bits()
}

/// The owner index of one network, loaded bucket by bucket as needed.
#[derive(Debug)]
pub struct OwnerIndex {
    root: PathBuf,
    buckets: HashMap<u16, Vec<(IpAddr, String)>>,
    dirty: HashSet<u16>,
    /// Every bucket is in memory (after a rebuild): a missing one is empty.
    complete: bool,
    /// The bucket files on disk are from an older build and must all be replaced.
    replace_all: bool,
    pub count: usize,
}

impl OwnerIndex {
    /// The index for `network` under `data_dir`, if its recorded stamp is `stamp`.
    pub fn open(data_dir: &Path, network: &str, stamp: DirStamp) -> (OwnerIndex, bool) {
        let root = data_dir.join(".nfv-hostlocal").join(network);
        let recorded = fs::read_to_string(root.join("state"))
            .ok()
            .and_then(|s| parse_state(&s));
        let mut index = OwnerIndex {
            root,
            buckets: HashMap::new(),
            dirty: HashSet::new(),
            complete: false,
            replace_all: false,
            count: 0,
        };
        // Without its bucket directory the index cannot be trusted (someone removed part of it).
        let buckets_present = index.root.join("owners").is_dir();
        match recorded {
            Some((s, count)) if s == stamp && buckets_present => {
                index.count = count;
                (index, true)
            }
            _ => (index, false),
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

    fn bucket_path(&self, b: u16) -> PathBuf {
        self.root.join("owners").join(format!("{b:02x}"))
    }

    /// Load a bucket; `None` if its file is unreadable or damaged (the caller rebuilds).
    fn bucket(&mut self, b: u16) -> Option<&mut Vec<(IpAddr, String)>> {
        if !self.buckets.contains_key(&b) {
            let entries = if self.complete {
                Vec::new()
            } else {
                match fs::read_to_string(self.bucket_path(b)) {
                    Ok(text) => parse_bucket(&text)?,
                    Err(e) if e.kind() == ErrorKind::NotFound => Vec::new(),
                    Err(_) => return None,
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

    /// Write changed buckets and the state recording `stamp`.
    pub fn save(&mut self, stamp: DirStamp) -> Result<(), StoreError> {
        let owners = self.root.join("owners");
        if self.replace_all {
            // Rewrite every bucket; files of buckets now empty are removed below.
            self.dirty = (0..BUCKETS as u16).collect();
        }
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&owners)
            .map_err(|e| StoreError::new("create index directory", &owners, e))?;
        // Invalidate first, so a crash while writing buckets leaves a stale (rebuilt) index.
        let state = self.root.join("state");
        match fs::remove_file(&state) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::new("invalidate index", &state, e)),
        }
        let mut dirty: Vec<u16> = self.dirty.drain().collect();
        dirty.sort_unstable();
        for b in dirty {
            let path = self.bucket_path(b);
            let entries = self.buckets.get(&b).map(Vec::as_slice).unwrap_or(&[]);
            if entries.is_empty() {
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(StoreError::new("remove index bucket", &path, e)),
                }
                continue;
            }
            let mut text = String::new();
            for (ip, key) in entries {
                text.push_str(&format!("{ip} {}\n", hex(key)));
            }
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .custom_flags(libc_o_nofollow())
                .open(&path)
                .map_err(|e| StoreError::new("write index bucket", &path, e))?;
            f.write_all(text.as_bytes())
                .map_err(|e| StoreError::new("write index bucket", &path, e))?;
        }
        self.replace_all = false;
        let text = format!(
            "{STATE_HEADER}\n{} {} {} {} {}\n",
            stamp.dev, stamp.ino, stamp.mtime_sec, stamp.mtime_nsec, self.count
        );
        write_atomic(&state, text.as_bytes())
    }

    /// Is anything waiting to be written?
    pub fn is_dirty(&self) -> bool {
        self.replace_all || !self.dirty.is_empty()
    }
}

fn parse_state(s: &str) -> Option<(DirStamp, usize)> {
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

fn parse_bucket(text: &str) -> Option<Vec<(IpAddr, String)>> {
    text.lines()
        .map(|l| {
            let (ip, key) = l.split_once(' ')?;
            Some((ip.parse().ok()?, unhex(key)?))
        })
        .collect()
}

/// Open a file for reading without following a symlink at its last component.
pub fn open_nofollow(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc_o_nofollow())
        .open(path)
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
        let b = parse_bucket("10.0.0.2 610d0a62\n2001:db8::1 61\n").unwrap();
        assert_eq!(b[0].1, "a\r\nb");
        assert_eq!(b[1].0, "2001:db8::1".parse::<IpAddr>().unwrap());
        assert!(parse_bucket("garbage\n").is_none());
    }

    #[test]
    fn state_parsing() {
        let s = format!("{STATE_HEADER}\n1 2 3 4 5\n");
        let (st, n) = parse_state(&s).unwrap();
        assert_eq!(
            (st.dev, st.ino, st.mtime_sec, st.mtime_nsec, n),
            (1, 2, 3, 4, 5)
        );
        assert!(parse_state("other\n1 2 3 4 5\n").is_none());
        assert!(parse_state(&format!("{STATE_HEADER}\n1 2 3\n")).is_none());
    }
}
