//! Bounded reads of files named by a config (resolv.conf, say): a regular file only, at most
//! a given size. `/dev/zero` or a FIFO is refused at once instead of read without end.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::{FsError, Problem};
use crate::Kind;

/// Read through `f` until EOF or one byte past `max`.
fn read_limited(f: impl Read, max: u64) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    f.take(max.saturating_add(1)).read_to_end(&mut buf)?;
    Ok(buf)
}

pub(crate) fn read_to_bound(f: File, max: u64) -> Result<Vec<u8>, Problem> {
    let buf = read_limited(f, max).map_err(Problem::Io)?;
    if buf.len() as u64 > max {
        return Err(Problem::TooLarge(max));
    }
    Ok(buf)
}

/// Reads the regular file at `path` (symlinks followed: a read-only file such as
/// /etc/resolv.conf is often one), refusing any other kind and anything over `max` bytes.
pub fn read_regular_bounded(path: &Path, max: u64) -> Result<Vec<u8>, FsError> {
    let meta =
        std::fs::metadata(path).map_err(|e| FsError::new("reading", path, Problem::Io(e)))?;
    if !meta.is_file() {
        let found = if meta.is_dir() {
            Kind::Dir
        } else {
            kind_of(&meta)
        };
        return Err(FsError::new(
            "reading",
            path,
            Problem::WrongKind {
                found,
                expected: Kind::File,
            },
        ));
    }
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc_flags())
        .open(path)
        .map_err(|e| FsError::new("reading", path, Problem::Io(e)))?;
    // Checked again on the open handle: the name may have been swapped meanwhile.
    let meta = f
        .metadata()
        .map_err(|e| FsError::new("reading", path, Problem::Io(e)))?;
    if !meta.is_file() {
        return Err(FsError::new(
            "reading",
            path,
            Problem::WrongKind {
                found: kind_of(&meta),
                expected: Kind::File,
            },
        ));
    }
    read_to_bound(f, max).map_err(|p| FsError::new("reading", path, p))
}

fn libc_flags() -> i32 {
    (nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_NOCTTY).bits()
}

fn kind_of(meta: &std::fs::Metadata) -> Kind {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        Kind::Dir
    } else if t.is_socket() {
        Kind::Socket
    } else if t.is_fifo() {
        Kind::Fifo
    } else if t.is_char_device() {
        Kind::CharDevice
    } else if t.is_block_device() {
        Kind::BlockDevice
    } else if t.is_symlink() {
        Kind::Symlink
    } else {
        Kind::File
    }
}
