//! A range set: the ranges one address per ADD is drawn from (one set per address family, or
//! several sets for several addresses).

use crate::error::ConfigError;
use crate::range::{Range, RangeSpec};
use std::fmt;
use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeSet(pub Vec<Range>);

impl RangeSet {
    /// Validate every range, then the set: one family, no overlapping ranges.
    pub fn canonicalize(specs: &[RangeSpec]) -> Result<RangeSet, ConfigError> {
        if specs.is_empty() {
            return Err(ConfigError::Invalid("empty range set".into()));
        }
        let mut ranges: Vec<Range> = Vec::with_capacity(specs.len());
        for spec in specs {
            let r = spec.canonicalize()?;
            if ranges
                .first()
                .is_some_and(|first| first.family() != r.family())
            {
                return Err(ConfigError::Invalid("mixed address families".into()));
            }
            ranges.push(r);
        }
        for (i, a) in ranges.iter().enumerate() {
            for b in &ranges[i + 1..] {
                if a.overlaps(b) {
                    return Err(ConfigError::Invalid(format!("subnets {a} and {b} overlap")));
                }
            }
        }
        Ok(RangeSet(ranges))
    }

    pub fn ranges(&self) -> &[Range] {
        &self.0
    }

    /// The range holding `ip`, if any.
    pub fn range_for(&self, ip: IpAddr) -> Option<&Range> {
        self.0.iter().find(|r| r.contains(ip))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.range_for(ip).is_some()
    }

    pub fn overlaps(&self, other: &RangeSet) -> bool {
        self.0.iter().any(|a| other.0.iter().any(|b| a.overlaps(b)))
    }

    /// Addresses this set can hand out (saturating for huge IPv6 sets).
    pub fn usable_addresses(&self) -> u128 {
        self.0
            .iter()
            .fold(0u128, |acc, r| acc.saturating_add(r.usable_addresses()))
    }
}

impl fmt::Display for RangeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::Cidr;

    fn spec(subnet: &str) -> RangeSpec {
        RangeSpec {
            subnet: Cidr::parse(subnet),
            ..Default::default()
        }
    }

    #[test]
    fn set_rules() {
        assert_eq!(
            RangeSet::canonicalize(&[]).unwrap_err().to_string(),
            "empty range set"
        );
        assert_eq!(
            RangeSet::canonicalize(&[spec("10.0.0.0/24"), spec("2001:db8::/64")])
                .unwrap_err()
                .to_string(),
            "mixed address families"
        );
        assert_eq!(
            RangeSet::canonicalize(&[spec("10.0.0.0/24"), spec("10.0.0.0/25")])
                .unwrap_err()
                .to_string(),
            "subnets 10.0.0.1-10.0.0.254 and 10.0.0.1-10.0.0.126 overlap"
        );
        let s = RangeSet::canonicalize(&[spec("10.0.0.0/30"), spec("10.0.1.0/30")]).unwrap();
        assert_eq!(s.to_string(), "10.0.0.1-10.0.0.2,10.0.1.1-10.0.1.2");
        assert_eq!(s.usable_addresses(), 2);
        assert!(s.contains("10.0.1.2".parse().unwrap()));
        assert!(!s.contains("10.0.1.3".parse().unwrap()));
    }
}
