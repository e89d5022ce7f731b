//! One error type: what was being done, to which path, and why it was refused or failed.

use std::io;
use std::path::PathBuf;

use crate::Kind;

#[derive(Debug, thiserror::Error)]
#[error("{op} {}: {problem}", path.display())]
pub struct FsError {
    /// What was being done: "opening", "creating", "removing", "renaming", ...
    pub op: &'static str,
    pub path: PathBuf,
    pub problem: Problem,
}

#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// A component (or the file itself) is a symbolic link: never followed.
    #[error("it is a symbolic link (or lies below one); links are never followed here")]
    Symlink,
    /// The entry exists and is not of the kind the operation is for.
    #[error("it is {} where {} was expected", found.words(), expected.words())]
    WrongKind { found: Kind, expected: Kind },
    /// The path is not one this kind of file may have.
    #[error("{0}")]
    NotAllowed(String),
    /// A read would go past its bound.
    #[error("it is larger than {0} bytes")]
    TooLarge(u64),
    #[error("{0}")]
    Io(#[source] io::Error),
}

impl Problem {
    /// The OS error behind it, if any (for callers that treat "not found" as done).
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            Problem::Io(e) => Some(e.kind()),
            _ => None,
        }
    }
}

impl FsError {
    pub(crate) fn new(op: &'static str, path: impl Into<PathBuf>, problem: Problem) -> Self {
        FsError {
            op,
            path: path.into(),
            problem,
        }
    }

    /// From an errno of an `*at` call made with `O_NOFOLLOW`: ELOOP means a symlink.
    pub(crate) fn errno(op: &'static str, path: impl Into<PathBuf>, e: nix::errno::Errno) -> Self {
        let problem = match e {
            nix::errno::Errno::ELOOP => Problem::Symlink,
            e => Problem::Io(io::Error::from(e)),
        };
        FsError::new(op, path, problem)
    }

    pub fn is_not_found(&self) -> bool {
        self.problem.io_kind() == Some(io::ErrorKind::NotFound)
    }
}
