//! The CNI bin dir as the installer sees it: the plugin names in it, and its own directory
//! `.nfv-cni/` beside them (records, the binaries it replaced, temp files). Every write is a
//! temp file in `.nfv-cni/`, synced, then renamed over the name: the name always holds a whole
//! binary, the old one or the new one. The whole run holds an exclusive `flock` on the bin
//! dir, so two installers on one node (an overlapping rollout, the operator's init container)
//! take turns.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nfv_safefs::{Dir, Kind};
use nix::fcntl::{Flock, FlockArg, AT_FDCWD};
use nix::unistd::linkat;

use crate::plan::{Current, Kept, Seen};
use crate::record::Record;
use crate::sha256::Sha256;

/// The installer's own directory inside the bin dir.
pub const STATE_DIR: &str = ".nfv-cni";
/// How long to wait for another installer holding the bin dir's lock.
const LOCK_WAIT: Duration = Duration::from_secs(120);
/// A record is a few lines; anything larger is not one of ours.
const RECORD_MAX: u64 = 64 * 1024;

pub struct BinDir {
    bin: Dir,
    state: Option<Dir>,
    _lock: Flock<File>,
}

impl std::fmt::Debug for BinDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BinDir").field("bin", &self.bin).finish()
    }
}

fn previous(name: &str) -> String {
    format!("{name}.previous")
}
fn record(name: &str) -> String {
    format!("{name}.record")
}

/// Syncs a directory, so a rename in it survives a power cut.
fn sync_dir(path: &Path) -> Result<(), String> {
    File::open(path)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("syncing {}: {e}", path.display()))
}

/// The digest of everything `r` yields.
fn digest_of(mut r: impl Read, what: &Path) -> Result<String, String> {
    let mut h = Sha256::default();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok(h.hex()),
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("reading {}: {e}", what.display())),
        }
    }
}

/// A source binary: the image's own file (a trusted path), which must be a regular file.
pub fn open_source(path: &Path) -> Result<File, String> {
    let f = File::open(path).map_err(|e| format!("opening {}: {e}", path.display()))?;
    let meta = f
        .metadata()
        .map_err(|e| format!("checking {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    Ok(f)
}

pub fn source_digest(path: &Path) -> Result<String, String> {
    digest_of(open_source(path)?, path)
}

impl BinDir {
    /// Opens the bin dir (a path the operator gave: symlinks in it are followed) and locks it.
    /// `create_state` makes `.nfv-cni/` when it is missing (install); otherwise a missing one
    /// means nothing was ever installed here.
    pub fn open(path: &Path, create_state: bool) -> Result<BinDir, String> {
        let bin = Dir::open_trusted(path).map_err(|e| e.to_string())?;
        let lock = lock(path)?;
        let state = if create_state {
            Some(
                bin.create_dir(STATE_DIR, 0o700)
                    .map_err(|e| e.to_string())?
                    .0,
            )
        } else {
            match bin.open_dir(STATE_DIR) {
                Ok(d) => Some(d),
                Err(e) if e.is_not_found() => None,
                Err(e) => return Err(e.to_string()),
            }
        };
        Ok(BinDir {
            bin,
            state,
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        self.bin.path()
    }

    fn state(&self) -> Result<&Dir, String> {
        self.state
            .as_ref()
            .ok_or_else(|| format!("{} has no {STATE_DIR}/", self.bin.path().display()))
    }

    /// What is on disk for `name`.
    pub fn seen(&self, name: &str) -> Result<Seen, String> {
        let cur_stat = self.bin.stat(name).map_err(|e| e.to_string())?;
        let current = match &cur_stat {
            None => Current::Absent,
            Some(st) if Kind::of(st) == Kind::File => {
                let f = self.bin.open_read(name).map_err(|e| e.to_string())?;
                Current::File(digest_of(f, &self.bin.join(name))?)
            }
            Some(st) => Current::Other(Kind::of(st).words()),
        };
        let Some(state) = &self.state else {
            return Ok(Seen {
                current,
                kept: Kept::Absent,
                record: None,
            });
        };
        let kept = match state.stat(&previous(name)).map_err(|e| e.to_string())? {
            None => Kept::Absent,
            Some(st) if Kind::of(&st) == Kind::File => match &cur_stat {
                Some(c) if c.st_dev == st.st_dev && c.st_ino == st.st_ino => {
                    Kept::SameFileAsCurrent
                }
                _ => {
                    let f = state
                        .open_read(&previous(name))
                        .map_err(|e| e.to_string())?;
                    Kept::File(digest_of(f, &state.join(&previous(name)))?)
                }
            },
            Some(st) => Kept::Other(Kind::of(&st).words()),
        };
        let record = match state.read_bounded(&record(name), RECORD_MAX) {
            Ok(bytes) => {
                let text = String::from_utf8(bytes)
                    .map_err(|_| format!("{}: not UTF-8", state.join(&record(name)).display()))?;
                Some(
                    Record::parse(&text)
                        .map_err(|e| format!("{}: {e}", state.join(&record(name)).display()))?,
                )
            }
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e.to_string()),
        };
        Ok(Seen {
            current,
            kept,
            record,
        })
    }

    /// Removes temp files a killed run left for `name`.
    pub fn clear_temps(&self, name: &str) -> Result<(), String> {
        let Some(state) = &self.state else {
            return Ok(());
        };
        let prefix = format!("{name}.new-");
        for entry in state.names().map_err(|e| e.to_string())? {
            if entry.starts_with(&prefix) {
                state
                    .remove(&entry, Kind::File)
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }

    /// Copies `source` to a new temp file in `.nfv-cni/` (mode 0755, synced); returns its
    /// name. Fails if the content read is not the digest `expect` (the source changed).
    pub fn write_temp(&self, name: &str, source: &Path, expect: &str) -> Result<String, String> {
        let state = self.state()?;
        let tmp = format!("{name}.new-{}", std::process::id());
        let mut out = state.create_new(&tmp, 0o600).map_err(|e| e.to_string())?;
        let tmp_path = state.join(&tmp);
        let written = (|| {
            let mut src = open_source(source)?;
            let mut h = Sha256::default();
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = match src.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(format!("reading {}: {e}", source.display())),
                };
                h.update(&buf[..n]);
                out.write_all(&buf[..n])
                    .map_err(|e| format!("writing {}: {e}", tmp_path.display()))?;
            }
            if h.hex() != expect {
                return Err(format!("{} changed while it was copied", source.display()));
            }
            out.set_permissions(std::fs::Permissions::from_mode(0o755))
                .and_then(|()| out.sync_all())
                .map_err(|e| format!("writing {}: {e}", tmp_path.display()))
        })();
        if let Err(e) = written {
            let _ = state.remove(&tmp, Kind::File);
            return Err(e);
        }
        Ok(tmp)
    }

    /// Hard-links the file now at `name` to `.nfv-cni/<name>.previous` (replacing an older
    /// copy): the binary `uninstall` puts back, the very inode, mode and content.
    pub fn keep_current(&self, name: &str) -> Result<(), String> {
        let state = self.state()?;
        let prev = previous(name);
        state.remove(&prev, Kind::File).map_err(|e| e.to_string())?;
        let (from, to) = (self.bin.join(name), state.join(&prev));
        linkat(AT_FDCWD, &from, AT_FDCWD, &to, nix::fcntl::AtFlags::empty())
            .map_err(|e| format!("keeping {} as {}: {e}", from.display(), to.display()))?;
        // Both names must be the same inode, whatever happened to the paths meanwhile.
        let a = self.bin.stat(name).map_err(|e| e.to_string())?;
        let b = state.stat(&prev).map_err(|e| e.to_string())?;
        match (a, b) {
            (Some(a), Some(b)) if a.st_dev == b.st_dev && a.st_ino == b.st_ino => {
                sync_dir(state.path())
            }
            _ => {
                let _ = state.remove(&prev, Kind::File);
                Err(format!(
                    "{} changed while it was being kept",
                    from.display()
                ))
            }
        }
    }

    pub fn write_record(&self, name: &str, rec: &Record) -> Result<(), String> {
        let state = self.state()?;
        state
            .write_atomic(&record(name), rec.to_text().as_bytes(), 0o600)
            .map_err(|e| e.to_string())?;
        sync_dir(state.path())
    }

    /// Renames the temp file over `name`: the one step that changes what the runtime execs.
    pub fn rename_in(&self, tmp: &str, name: &str) -> Result<(), String> {
        let state = self.state()?;
        state
            .rename_to(tmp, Kind::File, &self.bin, name)
            .map_err(|e| e.to_string())?;
        sync_dir(self.bin.path())
    }

    /// Renames `.nfv-cni/<name>.previous` back over (or into) `name`.
    pub fn restore(&self, name: &str) -> Result<(), String> {
        let state = self.state()?;
        state
            .rename_to(&previous(name), Kind::File, &self.bin, name)
            .map_err(|e| e.to_string())?;
        sync_dir(self.bin.path())
    }

    pub fn remove_plugin(&self, name: &str) -> Result<(), String> {
        self.bin
            .remove(name, Kind::File)
            .map_err(|e| e.to_string())?;
        sync_dir(self.bin.path())
    }

    /// Drops the record of `name` and, with `kept_too`, the kept copy.
    pub fn forget(&self, name: &str, kept_too: bool) -> Result<(), String> {
        let state = self.state()?;
        if kept_too {
            state
                .remove(&previous(name), Kind::File)
                .map_err(|e| e.to_string())?;
        }
        state
            .remove(&record(name), Kind::File)
            .map_err(|e| e.to_string())?;
        sync_dir(state.path())
    }

    /// Removes `.nfv-cni/` when nothing is left in it.
    pub fn remove_state_if_empty(&self) -> Result<bool, String> {
        match &self.state {
            Some(state) if state.names().map_err(|e| e.to_string())?.is_empty() => {
                self.bin
                    .remove(STATE_DIR, Kind::Dir)
                    .map_err(|e| e.to_string())?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.bin.join(name)
    }
}

/// An exclusive flock on the bin dir itself, waiting up to [`LOCK_WAIT`].
fn lock(path: &Path) -> Result<Flock<File>, String> {
    let deadline = Instant::now() + LOCK_WAIT;
    let mut file = File::open(path).map_err(|e| format!("opening {}: {e}", path.display()))?;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(l) => return Ok(l),
            Err((f, nix::errno::Errno::EWOULDBLOCK)) if Instant::now() < deadline => {
                file = f;
                std::thread::sleep(Duration::from_millis(200));
            }
            Err((_, e)) => {
                return Err(format!(
                    "locking {} (another installer holds it for over {}s?): {e}",
                    path.display(),
                    LOCK_WAIT.as_secs()
                ))
            }
        }
    }
}
