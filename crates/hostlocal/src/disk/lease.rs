//! One lease file: its bytes parsed (a pure function, fuzzed) and its directory entry read
//! without following a symlink, without blocking on a FIFO and without reading more than a
//! lease can hold.

use crate::error::StoreError;
use nfv_safefs::{Dir, Problem};

/// The most a lease file may hold. Ours hold `<containerID>\r\n<ifname>`: a container ID is
/// 64 characters under every runtime we know, an ifname at most 15. Anything larger is not a
/// lease of ours (nor the reference's) and is never read whole.
pub const LEASE_MAX: u64 = 4096;

/// What a lease file's bytes say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseContent {
    /// The whitespace-trimmed content, matched against `Owner::key`/`legacy_key` as the
    /// reference does. Empty when a writer died between creating and writing the file.
    Key(String),
    /// Not UTF-8: no key of ours can match it, so it holds its address and is never ours.
    Foreign,
}

/// Parse the bytes of one lease file.
pub fn parse_lease(bytes: &[u8]) -> LeaseContent {
    match std::str::from_utf8(bytes) {
        Ok(s) => LeaseContent::Key(s.trim().to_string()),
        Err(_) => LeaseContent::Foreign,
    }
}

/// What is found under an address's name in the lease directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseEntry {
    Absent,
    /// A regular file of ours or the reference's, with its trimmed content.
    Held(String),
    /// Something that takes the address but is never read as a lease nor removed: a symlink,
    /// a FIFO, a directory, a file over [`LEASE_MAX`] or not UTF-8. Says why.
    Foreign(String),
}

/// Read the entry `name` in the lease directory.
pub fn read_lease(dir: &Dir, name: &str) -> Result<LeaseEntry, StoreError> {
    match dir.read_bounded(name, LEASE_MAX) {
        Ok(bytes) => Ok(match parse_lease(&bytes) {
            LeaseContent::Key(k) => LeaseEntry::Held(k),
            LeaseContent::Foreign => LeaseEntry::Foreign(format!(
                "{}: it is not UTF-8 text",
                dir.join(name).display()
            )),
        }),
        Err(e) if e.is_not_found() => Ok(LeaseEntry::Absent),
        Err(e) => match e.problem {
            Problem::Symlink | Problem::WrongKind { .. } | Problem::TooLarge(_) => {
                Ok(LeaseEntry::Foreign(e.to_string()))
            }
            _ => Err(StoreError::Fs(e)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_legacy_empty_and_binary() {
        assert_eq!(
            parse_lease(b"c1\r\neth0"),
            LeaseContent::Key("c1\r\neth0".into())
        );
        assert_eq!(parse_lease(b" c1 \n"), LeaseContent::Key("c1".into()));
        assert_eq!(parse_lease(b""), LeaseContent::Key(String::new()));
        assert_eq!(parse_lease(b"\r\n"), LeaseContent::Key(String::new()));
        assert_eq!(parse_lease(&[0xff, 0xfe]), LeaseContent::Foreign);
    }
}
