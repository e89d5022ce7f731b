//! Reaching `ipam.dataDir` and the lease directory in it.
//!
//! The reference accepts any dataDir, and configs in the field use many (`/var/lib/cni/networks`,
//! `/run/...`, `/var/run/...`), so any absolute dataDir stays accepted: refusing all but one
//! root would break the drop-in promise. What changes is how it is reached: from `/`, one
//! component at a time, never through a symbolic link. A config that points dataDir into a
//! directory someone else can write (a pod's emptyDir on the node, say) can then no longer be
//! redirected by a planted link to `/etc` or another network's leases.
//!
//! The one exception is [`TRUSTED_LINKS`]: system links that distributions ship and only root
//! can change, named here as constants, never taken from a config.

use crate::error::StoreError;
use nfv_safefs::{Dir, FsError, Problem};
use std::path::{Component, Path};

/// Paths that may be symbolic links on the way to dataDir: `/var/run` is a link to `/run` on
/// most distributions, and configs say `/var/run/...`.
pub const TRUSTED_LINKS: &[&str] = &["/var/run"];

/// Mode of the directories we create (less the umask): the files say which container holds
/// which address, nobody else's business.
pub const DIR_MODE: u32 = 0o700;

fn refused(path: &Path, problem: FsError) -> StoreError {
    StoreError::DataDir {
        path: path.to_path_buf(),
        problem,
    }
}

fn not_allowed(path: &Path, why: &str) -> StoreError {
    refused(
        path,
        FsError {
            op: "using",
            path: path.to_path_buf(),
            problem: Problem::NotAllowed(why.to_string()),
        },
    )
}

/// Open `path` as dataDir, creating missing directories. Refusals (relative, `..`, a symlink
/// or a non-directory on the way) are [`StoreError::DataDir`]; other failures (permissions,
/// a read-only filesystem) are [`StoreError::Fs`].
pub fn open_data_dir(path: &Path) -> Result<Dir, StoreError> {
    if !path.is_absolute() {
        return Err(not_allowed(path, "it must be an absolute path"));
    }
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(not_allowed(path, "it must not contain '..'"));
    }
    let classify = |e: FsError| match e.problem {
        Problem::Symlink | Problem::WrongKind { .. } | Problem::NotAllowed(_) => refused(path, e),
        _ => StoreError::Fs(e),
    };
    let root = Path::new("/");
    let trusted = TRUSTED_LINKS
        .iter()
        .map(Path::new)
        .find(|t| path.starts_with(t))
        .and_then(|t| Some((Dir::open_trusted(t).ok()?, path.strip_prefix(t).ok()?)));
    let (mut dir, rest) = match trusted {
        Some(found) => found,
        // No such link on this node: walk it like any other path.
        None => (
            Dir::open_trusted(root).map_err(classify)?,
            path.strip_prefix(root).unwrap_or(path),
        ),
    };
    for c in rest.components() {
        let Component::Normal(name) = c else { continue };
        let Some(name) = name.to_str() else {
            return Err(not_allowed(path, "it must be valid UTF-8"));
        };
        dir = dir.create_dir(name, DIR_MODE).map_err(classify)?.0;
    }
    Ok(dir)
}
