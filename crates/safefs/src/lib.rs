//! File operations for paths that a network config (or another outside answer) names, done by
//! a plugin running as root. The rules (docs/security.md):
//!
//! - every directory on the way is opened with `O_NOFOLLOW`, one component at a time from a
//!   trusted starting point, so a symlink planted anywhere below it is refused, not followed;
//! - every file is opened or removed through the directory handle, its type checked first
//!   (a socket is a socket, a lease is a regular file), FIFOs never opened for writing in a
//!   way that blocks;
//! - files are written through an exclusively created temp file in the same directory, then
//!   renamed over the target;
//! - reads are bounded.
//!
//! [`Place`] holds where a kind of file may live at all: a config path is checked against it
//! before anything is opened.

mod dir;
mod error;
mod kind;
mod place;
mod read;

pub use dir::{Dir, Removed};
pub use error::{FsError, Problem};
pub use kind::Kind;
pub use place::Place;
pub use read::read_regular_bounded;
