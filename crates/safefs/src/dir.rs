//! [`Dir`]: a directory handle reached without following symlinks, and the operations on the
//! entries in it. Every name is one path component; nothing here resolves a path twice.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use nix::errno::Errno;
use nix::fcntl::{openat, renameat, renameat2, AtFlags, OFlag, RenameFlags, AT_FDCWD};
use nix::sys::stat::{fchmod, fchmodat, fstat, fstatat, mkdirat, FchmodatFlags, FileStat, Mode};
use nix::unistd::{fchown, fchownat, linkat, symlinkat, unlinkat, Gid, UnlinkatFlags};

use crate::error::{FsError, Problem};
use crate::Kind;

const DIR_FLAGS: OFlag = OFlag::O_RDONLY
    .union(OFlag::O_DIRECTORY)
    .union(OFlag::O_NOFOLLOW)
    .union(OFlag::O_CLOEXEC);
/// Flags every file open carries: never follow, never block (a FIFO), never become a tty.
const FILE_FLAGS: OFlag = OFlag::O_NOFOLLOW
    .union(OFlag::O_NONBLOCK)
    .union(OFlag::O_NOCTTY)
    .union(OFlag::O_CLOEXEC);

/// What [`Dir::remove`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removed {
    /// It was there, of the expected kind, and is gone now.
    Removed,
    /// Nothing by that name: already done.
    Absent,
    /// A directory that still holds entries: left in place.
    NotEmpty,
}

/// An open directory, reached without following any symlink below the point it was opened
/// from. Entries are named relative to it, so a rename of a parent cannot redirect them.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    path: PathBuf,
}

/// One path component: not empty, no '/', not "." or "..", no NUL.
fn component<'a>(dir: &Path, name: &'a str, op: &'static str) -> Result<&'a str, FsError> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(FsError::new(
            op,
            dir.join(name),
            Problem::NotAllowed(format!("{name:?} is not a single file name")),
        ));
    }
    Ok(name)
}

/// The components of an absolute path, refusing "..": a config path is taken literally.
fn normal_components(path: &Path, op: &'static str) -> Result<Vec<String>, FsError> {
    if !path.is_absolute() {
        return Err(FsError::new(
            op,
            path,
            Problem::NotAllowed("the path must be absolute".into()),
        ));
    }
    let mut out = Vec::new();
    for c in path.components() {
        match c {
            Component::RootDir => {}
            Component::Normal(s) => match s.to_str() {
                Some(s) => out.push(s.to_string()),
                None => {
                    return Err(FsError::new(
                        op,
                        path,
                        Problem::NotAllowed("the path is not valid UTF-8".into()),
                    ))
                }
            },
            _ => {
                return Err(FsError::new(
                    op,
                    path,
                    Problem::NotAllowed("the path must not contain '.' or '..'".into()),
                ))
            }
        }
    }
    Ok(out)
}

impl Dir {
    /// Opens `path` as a trusted starting point: symlinks in it are followed (`/var/run` is
    /// one on most nodes). Only for paths the plugin itself names, never for config values.
    pub fn open_trusted(path: &Path) -> Result<Dir, FsError> {
        let fd = openat(
            AT_FDCWD,
            path,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| FsError::errno("opening", path, e))?;
        Ok(Dir {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// Opens an absolute path from `/`, one component at a time, refusing symlinks anywhere.
    pub fn open(path: &Path) -> Result<Dir, FsError> {
        let mut dir = Dir::open_trusted(Path::new("/"))?;
        for c in normal_components(path, "opening")? {
            dir = dir.open_dir(&c)?;
        }
        Ok(dir)
    }

    /// Like [`Dir::open`], creating missing directories with `mode` (less the umask).
    pub fn create_all(path: &Path, mode: u32) -> Result<Dir, FsError> {
        let mut dir = Dir::open_trusted(Path::new("/"))?;
        for c in normal_components(path, "creating")? {
            dir = dir.create_dir(&c, mode)?.0;
        }
        Ok(dir)
    }

    /// The path this handle was opened by (for messages; never resolved again).
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The subdirectory `name`, refusing a symlink or anything not a directory.
    pub fn open_dir(&self, name: &str) -> Result<Dir, FsError> {
        let name = component(&self.path, name, "opening")?;
        let path = self.path.join(name);
        match openat(&self.fd, name, DIR_FLAGS, Mode::empty()) {
            Ok(fd) => Ok(Dir { fd, path }),
            Err(Errno::ENOTDIR) => {
                let found = self.kind(name)?.unwrap_or(Kind::File);
                Err(FsError::new(
                    "opening",
                    path,
                    if found == Kind::Symlink {
                        Problem::Symlink
                    } else {
                        Problem::WrongKind {
                            found,
                            expected: Kind::Dir,
                        }
                    },
                ))
            }
            Err(e) => Err(FsError::errno("opening", path, e)),
        }
    }

    /// The subdirectory `name`, created with `mode` (less the umask) if missing. Returns it
    /// and whether this call created it.
    pub fn create_dir(&self, name: &str, mode: u32) -> Result<(Dir, bool), FsError> {
        let name = component(&self.path, name, "creating")?;
        let created = match mkdirat(&self.fd, name, Mode::from_bits_truncate(mode)) {
            Ok(()) => true,
            Err(Errno::EEXIST) => false,
            Err(e) => return Err(FsError::errno("creating", self.path.join(name), e)),
        };
        Ok((self.open_dir(name)?, created))
    }

    /// The entry's own status (a symlink is reported as one); `None` if there is none.
    pub fn stat(&self, name: &str) -> Result<Option<FileStat>, FsError> {
        let name = component(&self.path, name, "checking")?;
        match fstatat(&self.fd, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(st)),
            Err(Errno::ENOENT) => Ok(None),
            Err(e) => Err(FsError::errno("checking", self.path.join(name), e)),
        }
    }

    /// The entry's kind; `None` if there is none.
    pub fn kind(&self, name: &str) -> Result<Option<Kind>, FsError> {
        Ok(self.stat(name)?.map(|st| Kind::of(&st)))
    }

    fn expect_kind(
        &self,
        name: &str,
        st: &FileStat,
        expected: Kind,
        op: &'static str,
    ) -> Result<(), FsError> {
        let found = Kind::of(st);
        if found == expected {
            Ok(())
        } else if found == Kind::Symlink {
            Err(FsError::new(op, self.path.join(name), Problem::Symlink))
        } else {
            Err(FsError::new(
                op,
                self.path.join(name),
                Problem::WrongKind { found, expected },
            ))
        }
    }

    /// `name` exists and is of kind `expected` (not found is an ENOENT error).
    fn expect_present(&self, name: &str, expected: Kind, op: &'static str) -> Result<(), FsError> {
        match self.stat(name)? {
            Some(st) => self.expect_kind(name, &st, expected, op),
            None => Err(FsError::errno(op, self.path.join(name), Errno::ENOENT)),
        }
    }

    /// Opens with `flags` plus [`FILE_FLAGS`], then checks that what was opened is a regular file.
    fn open_regular(
        &self,
        name: &str,
        flags: OFlag,
        mode: u32,
        op: &'static str,
    ) -> Result<File, FsError> {
        let name = component(&self.path, name, op)?;
        if let Some(st) = self.stat(name)? {
            // Checked before opening too, so a device or FIFO is never opened at all.
            self.expect_kind(name, &st, Kind::File, op)?;
        }
        let fd = openat(
            &self.fd,
            name,
            flags | FILE_FLAGS,
            Mode::from_bits_truncate(mode),
        )
        .map_err(|e| FsError::errno(op, self.path.join(name), e))?;
        let st = fstat(&fd).map_err(|e| FsError::errno(op, self.path.join(name), e))?;
        self.expect_kind(name, &st, Kind::File, op)?;
        Ok(File::from(fd))
    }

    /// An existing regular file, for reading.
    pub fn open_read(&self, name: &str) -> Result<File, FsError> {
        self.open_regular(name, OFlag::O_RDONLY, 0, "reading")
    }

    /// A regular file for appending, created with `mode` if missing (a log file).
    pub fn open_append(&self, name: &str, mode: u32) -> Result<File, FsError> {
        self.open_regular(
            name,
            OFlag::O_WRONLY | OFlag::O_APPEND | OFlag::O_CREAT,
            mode,
            "opening",
        )
    }

    /// A new regular file (fails with "exists" if there is any entry by that name).
    pub fn create_new(&self, name: &str, mode: u32) -> Result<File, FsError> {
        self.open_regular(
            name,
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL,
            mode,
            "creating",
        )
    }

    /// Reads a regular file, at most `max` bytes (more is [`Problem::TooLarge`]).
    pub fn read_bounded(&self, name: &str, max: u64) -> Result<Vec<u8>, FsError> {
        let f = self.open_read(name)?;
        crate::read::read_to_bound(f, max)
            .map_err(|p| FsError::new("reading", self.path.join(name), p))
    }

    /// Replaces (or creates) the regular file `name` with `bytes` at `mode`: written to an
    /// exclusively created temp file in this directory, synced, then renamed over it. An
    /// existing entry that is not a regular file is refused, not replaced.
    pub fn write_atomic(&self, name: &str, bytes: &[u8], mode: u32) -> Result<(), FsError> {
        let name = component(&self.path, name, "writing")?;
        if let Some(st) = self.stat(name)? {
            self.expect_kind(name, &st, Kind::File, "writing")?;
        }
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let tmp = format!(
            ".{name}.{}-{}.tmp",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let written = (|| {
            let mut f = self.create_new(&tmp, 0o600)?;
            let io =
                |e: std::io::Error| FsError::new("writing", self.path.join(&tmp), Problem::Io(e));
            f.write_all(bytes).map_err(io)?;
            // The umask may have taken bits off the mode given to open().
            fchmod(f.as_fd(), Mode::from_bits_truncate(mode))
                .map_err(|e| FsError::errno("writing", self.path.join(&tmp), e))?;
            f.sync_all().map_err(io)?;
            renameat(&self.fd, tmp.as_str(), &self.fd, name)
                .map_err(|e| FsError::errno("writing", self.path.join(name), e))
        })();
        if written.is_err() {
            let _ = unlinkat(&self.fd, tmp.as_str(), UnlinkatFlags::NoRemoveDir);
        }
        written
    }

    /// Removes `name` if it is of kind `expected`; a directory only when empty. Anything of
    /// another kind (a symlink where a socket was expected) is refused and left alone.
    pub fn remove(&self, name: &str, expected: Kind) -> Result<Removed, FsError> {
        let name = component(&self.path, name, "removing")?;
        let Some(st) = self.stat(name)? else {
            return Ok(Removed::Absent);
        };
        self.expect_kind(name, &st, expected, "removing")?;
        let flag = if expected == Kind::Dir {
            UnlinkatFlags::RemoveDir
        } else {
            UnlinkatFlags::NoRemoveDir
        };
        match unlinkat(&self.fd, name, flag) {
            Ok(()) => Ok(Removed::Removed),
            Err(Errno::ENOENT) => Ok(Removed::Absent),
            Err(Errno::ENOTEMPTY | Errno::EEXIST) => Ok(Removed::NotEmpty),
            Err(e) => Err(FsError::errno("removing", self.path.join(name), e)),
        }
    }

    /// Moves `name` (which must be of kind `expected`) to `to_name` in `to`.
    pub fn rename_to(
        &self,
        name: &str,
        expected: Kind,
        to: &Dir,
        to_name: &str,
    ) -> Result<(), FsError> {
        let name = component(&self.path, name, "moving")?;
        let to_name = component(&to.path, to_name, "moving")?;
        self.expect_present(name, expected, "moving")?;
        if let Some(st) = to.stat(to_name)? {
            // Never replace something of another kind at the destination.
            to.expect_kind(to_name, &st, expected, "moving")?;
        }
        renameat(&self.fd, name, &to.fd, to_name)
            .map_err(|e| FsError::errno("moving", self.path.join(name), e))
    }

    /// Moves `name` (which must be of kind `expected`) to `to_name` in `to`, never replacing
    /// anything: when `to_name` exists the call fails with an "already exists" I/O problem and
    /// `name` stays. One `renameat2(RENAME_NOREPLACE)`; on a filesystem without it, a hard
    /// link then an unlink of `name` (so a crash in between leaves both names, never neither).
    /// The way to publish a file whole under a name that must be taken exclusively.
    pub fn rename_new(
        &self,
        name: &str,
        expected: Kind,
        to: &Dir,
        to_name: &str,
    ) -> Result<(), FsError> {
        let name = component(&self.path, name, "moving")?;
        let to_name = component(&to.path, to_name, "moving")?;
        self.expect_present(name, expected, "moving")?;
        let err = |e| FsError::errno("moving", to.path.join(to_name), e);
        match renameat2(
            &self.fd,
            name,
            &to.fd,
            to_name,
            RenameFlags::RENAME_NOREPLACE,
        ) {
            Ok(()) => Ok(()),
            Err(Errno::EINVAL | Errno::ENOSYS | Errno::EOPNOTSUPP) if expected != Kind::Dir => {
                linkat(&self.fd, name, &to.fd, to_name, AtFlags::empty()).map_err(err)?;
                match unlinkat(&self.fd, name, UnlinkatFlags::NoRemoveDir) {
                    Ok(()) | Err(Errno::ENOENT) => Ok(()),
                    Err(e) => Err(FsError::errno("moving", self.path.join(name), e)),
                }
            }
            Err(e) => Err(err(e)),
        }
    }

    /// Makes `name` a symlink to `target` (which is stored, never resolved here): a new link is
    /// created under a temp name and renamed over `name`, so `name` is never missing while an
    /// old link is replaced. An existing entry that is not a symlink is refused and left.
    pub fn set_symlink(&self, name: &str, target: &Path) -> Result<(), FsError> {
        let name = component(&self.path, name, "linking")?;
        if let Some(st) = self.stat(name)? {
            self.expect_kind(name, &st, Kind::Symlink, "linking")?;
        }
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let tmp = format!(
            ".{name}.{}-{}.tmp",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        symlinkat(target, &self.fd, tmp.as_str())
            .map_err(|e| FsError::errno("linking", self.path.join(&tmp), e))?;
        renameat(&self.fd, tmp.as_str(), &self.fd, name).map_err(|e| {
            let _ = unlinkat(&self.fd, tmp.as_str(), UnlinkatFlags::NoRemoveDir);
            FsError::errno("linking", self.path.join(name), e)
        })
    }

    /// Gives `name` (of kind `expected`) group `gid` (if any) and `mode`, through a handle on
    /// the entry itself: a symlink is refused, never followed.
    pub fn set_owner_mode(
        &self,
        name: &str,
        expected: Kind,
        gid: Option<u32>,
        mode: u32,
    ) -> Result<(), FsError> {
        let name = component(&self.path, name, "changing")?;
        let path = self.path.join(name);
        let fd = openat(
            &self.fd,
            name,
            OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| FsError::errno("changing", &path, e))?;
        let st = fstat(&fd).map_err(|e| FsError::errno("changing", &path, e))?;
        self.expect_kind(name, &st, expected, "changing")?;
        if let Some(gid) = gid {
            fchownat(
                &fd,
                "",
                None,
                Some(Gid::from_raw(gid)),
                AtFlags::AT_EMPTY_PATH,
            )
            .map_err(|e| FsError::errno("changing the group of", &path, e))?;
        }
        // chmod has no "this handle" form for an O_PATH descriptor; its /proc link names the
        // very inode we checked, whatever happens to the name meanwhile.
        let proc = format!("/proc/self/fd/{}", fd.as_raw_fd());
        fchmodat(
            AT_FDCWD,
            proc.as_str(),
            Mode::from_bits_truncate(mode),
            FchmodatFlags::FollowSymlink,
        )
        .map_err(|e| FsError::errno("changing the mode of", &path, e))
    }

    /// Gives this directory itself group `gid` (if any) and `mode`.
    pub fn set_own_owner_mode(&self, gid: Option<u32>, mode: u32) -> Result<(), FsError> {
        if let Some(gid) = gid {
            fchown(&self.fd, None, Some(Gid::from_raw(gid)))
                .map_err(|e| FsError::errno("changing the group of", &self.path, e))?;
        }
        fchmod(&self.fd, Mode::from_bits_truncate(mode))
            .map_err(|e| FsError::errno("changing the mode of", &self.path, e))
    }

    /// The names in this directory (not "." and ".."), in no particular order.
    pub fn names(&self) -> Result<Vec<String>, FsError> {
        let fd = openat(&self.fd, ".", DIR_FLAGS, Mode::empty())
            .map_err(|e| FsError::errno("listing", &self.path, e))?;
        let mut d =
            nix::dir::Dir::from_fd(fd).map_err(|e| FsError::errno("listing", &self.path, e))?;
        let mut out = Vec::new();
        for entry in d.iter() {
            let entry = entry.map_err(|e| FsError::errno("listing", &self.path, e))?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            // Names that are not UTF-8 are skipped: nothing the plugins create has one.
            if let Ok(s) = std::str::from_utf8(name) {
                out.push(s.to_string());
            }
        }
        Ok(out)
    }
}

impl AsFd for Dir {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
