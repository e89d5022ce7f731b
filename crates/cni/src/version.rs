//! CNI spec versions: which ones exist, parsing and ordering, and the per-verb minimums.

use crate::error::{code, Error};
use std::cmp::Ordering;

/// Every version whose result format this crate reads and writes, oldest first.
pub const SUPPORTED_VERSIONS: [&str; 7] = [
    "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0",
];

/// The newest version: what VERSION reports as its own.
pub const CURRENT_VERSION: &str = "1.1.0";

/// A parsed `major.minor.patch` version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl Version {
    /// Parse a version string. An empty string means 0.1.0, as the reference decoder does.
    pub fn parse(s: &str) -> Result<Version, Error> {
        if s.is_empty() {
            return Ok(Version(0, 1, 0));
        }
        let bad = || {
            Error::new(
                code::DECODE,
                format!("cniVersion {s:?} is not a version: use the form major.minor.patch, e.g. \"1.0.0\""),
            )
        };
        let mut parts = s.split('.');
        let mut next = || -> Result<u32, Error> {
            let p = parts.next().ok_or_else(bad)?;
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.len() > 6 {
                return Err(bad());
            }
            p.parse().map_err(|_| bad())
        };
        let v = Version(next()?, next()?, next()?);
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(v)
    }

    pub fn at_least(&self, other: Version) -> bool {
        self.cmp(&other) != Ordering::Less
    }
}

pub const V0_3_0: Version = Version(0, 3, 0);
pub const V0_4_0: Version = Version(0, 4, 0);
pub const V1_0_0: Version = Version(1, 0, 0);
pub const V1_1_0: Version = Version(1, 1, 0);

/// Is this version string one we implement?
pub fn is_supported(v: &str) -> bool {
    SUPPORTED_VERSIONS.contains(&v)
}

/// The code-1 error for a config version this plugin does not implement.
pub fn incompatible(config_version: &str) -> Error {
    Error::new(code::INCOMPATIBLE_VERSION, "incompatible CNI versions").with_details(format!(
        "config is {config_version:?}, plugin supports {:?}",
        SUPPORTED_VERSIONS
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders() {
        assert_eq!(Version::parse("").unwrap(), Version(0, 1, 0));
        assert!(Version::parse("1.1.0").unwrap() > Version::parse("1.0.0").unwrap());
        assert!(Version::parse("0.10.0").unwrap() > Version::parse("0.4.0").unwrap());
        for bad in ["1", "1.0", "1.0.0.0", "a.b.c", "1.-1.0", " 1.0.0", "1..0"] {
            assert_eq!(Version::parse(bad).unwrap_err().code, code::DECODE, "{bad}");
        }
    }

    #[test]
    fn incompatible_names_both_sides() {
        let e = incompatible("9.9.9");
        assert_eq!(e.code, 1);
        assert!(e.details.contains("9.9.9") && e.details.contains("1.1.0"));
    }
}
