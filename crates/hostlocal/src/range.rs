//! One range: a subnet, the first and last address to hand out, and the gateway to skip.
//! Validation and defaults follow the reference plugin's rules and error texts.

use crate::addr::{self, Cidr, Family};
use crate::error::ConfigError;
use std::fmt;
use std::net::IpAddr;

/// A range as written in the config, before defaults are filled in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeSpec {
    pub subnet: Option<Cidr>,
    pub range_start: Option<IpAddr>,
    pub range_end: Option<IpAddr>,
    pub gateway: Option<IpAddr>,
}

/// A validated range with every default filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// The network address (no host bits).
    pub network: IpAddr,
    pub prefix: u8,
    /// First address handed out, inclusive.
    pub range_start: IpAddr,
    /// Last address handed out, inclusive.
    pub range_end: IpAddr,
    /// Never handed out; reported as the gateway of leases from this range. The reference does
    /// not check that it lies in the subnet, and neither do we.
    pub gateway: IpAddr,
}

impl RangeSpec {
    /// Fill in defaults and validate: the network must hold at least two addresses, have no
    /// host bits set, and contain rangeStart <= rangeEnd.
    pub fn canonicalize(&self) -> Result<Range, ConfigError> {
        let cidr = self
            .subnet
            .ok_or_else(|| ConfigError::Invalid("IP <nil> not v4 nor v6".into()))?;
        let network_written = addr::canonical(cidr.addr);
        let mask_family = cidr.mask_family();
        if cidr.prefix > mask_family.bits() - 2 {
            return Err(ConfigError::Invalid(format!(
                "Network {cidr} too small to allocate from"
            )));
        }
        let family = Family::of(network_written);
        if family != mask_family {
            return Err(ConfigError::Invalid(
                "IPNet IP and Mask version mismatch".into(),
            ));
        }
        let mask = addr::mask(family, cidr.prefix);
        let network = addr::from_int(family, addr::to_int(network_written) & mask);
        if network != network_written {
            return Err(ConfigError::Invalid(format!(
                "Network has host bits set. For a subnet mask of length {} the network address is {}",
                cidr.prefix, network
            )));
        }
        let subnet_text = format!("{network}/{}", cidr.prefix);
        let gateway = self
            .gateway
            .map(addr::canonical)
            .unwrap_or_else(|| addr::next(network));
        let end_written = self.range_end.map(addr::canonical);
        let range_start = match self.range_start.map(addr::canonical) {
            Some(start) => {
                if !contains_parts(network, cidr.prefix, Some(start), end_written, start) {
                    return Err(ConfigError::Invalid(format!(
                        "RangeStart {start} not in network {subnet_text}"
                    )));
                }
                start
            }
            None => addr::next(network),
        };
        let range_end = match end_written {
            Some(end) => {
                if !contains_parts(network, cidr.prefix, Some(range_start), Some(end), end) {
                    return Err(ConfigError::Invalid(format!(
                        "RangeEnd {end} not in network {subnet_text}"
                    )));
                }
                end
            }
            None => last_address(network, cidr.prefix),
        };
        // Only reachable with the default rangeEnd and rangeStart on the IPv4 broadcast address.
        // The reference accepts this and then hands out addresses beyond the subnet; we refuse.
        if addr::cmp(range_start, range_end).is_gt() {
            return Err(ConfigError::Invalid(format!(
                "RangeStart {range_start} is after RangeEnd {range_end} in network {subnet_text}"
            )));
        }
        Ok(Range {
            network,
            prefix: cidr.prefix,
            range_start,
            range_end,
            gateway,
        })
    }
}

/// The reference's `Range.Contains`, usable while the range is still being built.
fn contains_parts(
    network: IpAddr,
    prefix: u8,
    start: Option<IpAddr>,
    end: Option<IpAddr>,
    ip: IpAddr,
) -> bool {
    let ip = addr::canonical(ip);
    let family = Family::of(network);
    if Family::of(ip) != family {
        return false;
    }
    let mask = addr::mask(family, prefix);
    if addr::to_int(ip) & mask != addr::to_int(network) {
        return false;
    }
    if start.is_some_and(|s| addr::cmp(ip, s).is_lt()) {
        return false;
    }
    if end.is_some_and(|e| addr::cmp(ip, e).is_gt()) {
        return false;
    }
    true
}

/// The last address of a network; for IPv4 the one before the broadcast address.
fn last_address(network: IpAddr, prefix: u8) -> IpAddr {
    let family = Family::of(network);
    let all_ones = addr::mask(family, family.bits());
    let last = addr::to_int(network) | (!addr::mask(family, prefix) & all_ones);
    match family {
        Family::V4 => addr::from_int(family, last.wrapping_sub(1)),
        Family::V6 => addr::from_int(family, last),
    }
}

impl Range {
    pub fn family(&self) -> Family {
        Family::of(self.network)
    }

    /// Is `ip` a member of the subnet and between rangeStart and rangeEnd?
    pub fn contains(&self, ip: IpAddr) -> bool {
        contains_parts(
            self.network,
            self.prefix,
            Some(self.range_start),
            Some(self.range_end),
            ip,
        )
    }

    /// Do the two ranges share an address (same family only)?
    pub fn overlaps(&self, other: &Range) -> bool {
        if self.family() != other.family() {
            return false;
        }
        self.contains(other.range_start)
            || self.contains(other.range_end)
            || other.contains(self.range_start)
            || other.contains(self.range_end)
    }

    /// Number of addresses between rangeStart and rangeEnd, minus the gateway when inside.
    pub fn usable_addresses(&self) -> u128 {
        let span = addr::to_int(self.range_end).saturating_sub(addr::to_int(self.range_start));
        let total = span.saturating_add(1);
        if self.contains(self.gateway) {
            total - 1
        } else {
            total
        }
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.range_start, self.range_end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn spec(subnet: &str) -> RangeSpec {
        RangeSpec {
            subnet: Cidr::parse(subnet),
            ..Default::default()
        }
    }

    fn err(s: RangeSpec) -> String {
        match s.canonicalize() {
            Err(ConfigError::Invalid(m)) => m,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn defaults_v4() {
        let r = spec("10.1.2.0/24").canonicalize().unwrap();
        assert_eq!(r.range_start, ip("10.1.2.1"));
        assert_eq!(r.range_end, ip("10.1.2.254"));
        assert_eq!(r.gateway, ip("10.1.2.1"));
        assert_eq!(r.usable_addresses(), 253);
        assert_eq!(r.to_string(), "10.1.2.1-10.1.2.254");
    }

    #[test]
    fn defaults_v6() {
        let r = spec("2001:db8::/120").canonicalize().unwrap();
        assert_eq!(r.range_start, ip("2001:db8::1"));
        assert_eq!(r.range_end, ip("2001:db8::ff"));
        let r = spec("2001:db8::/64").canonicalize().unwrap();
        assert_eq!(r.range_end, ip("2001:db8::ffff:ffff:ffff:ffff"));
    }

    #[test]
    fn a_slash_30_has_two_addresses_and_31_is_too_small() {
        let r = spec("10.0.0.0/30").canonicalize().unwrap();
        assert_eq!(
            (r.range_start, r.range_end),
            (ip("10.0.0.1"), ip("10.0.0.2"))
        );
        assert_eq!(
            err(spec("10.0.0.0/31")),
            "Network 10.0.0.0/31 too small to allocate from"
        );
        assert_eq!(
            err(spec("2001:db8::/127")),
            "Network 2001:db8::/127 too small to allocate from"
        );
    }

    #[test]
    fn host_bits_and_mapped_networks() {
        assert_eq!(
            err(spec("10.0.0.1/24")),
            "Network has host bits set. For a subnet mask of length 24 the network address is 10.0.0.0"
        );
        assert_eq!(
            err(spec("::ffff:10.0.0.0/120")),
            "IPNet IP and Mask version mismatch"
        );
        assert_eq!(err(RangeSpec::default()), "IP <nil> not v4 nor v6");
    }

    #[test]
    fn start_and_end_must_be_inside_and_ordered() {
        let mut s = spec("10.0.0.0/24");
        s.range_start = Some(ip("10.0.1.5"));
        assert_eq!(
            err(s.clone()),
            "RangeStart 10.0.1.5 not in network 10.0.0.0/24"
        );
        s.range_start = Some(ip("10.0.0.50"));
        s.range_end = Some(ip("10.0.0.40"));
        assert_eq!(
            err(s.clone()),
            "RangeStart 10.0.0.50 not in network 10.0.0.0/24"
        );
        s.range_start = None;
        s.range_end = Some(ip("2001:db8::1"));
        assert_eq!(
            err(s.clone()),
            "RangeEnd 2001:db8::1 not in network 10.0.0.0/24"
        );
        s.range_end = None;
        s.range_start = Some(ip("10.0.0.255"));
        assert_eq!(
            err(s.clone()),
            "RangeStart 10.0.0.255 is after RangeEnd 10.0.0.254 in network 10.0.0.0/24"
        );
        s.range_start = Some(ip("10.0.0.0"));
        s.range_end = Some(ip("10.0.0.255"));
        let r = s.canonicalize().unwrap();
        assert!(r.contains(ip("10.0.0.0")) && r.contains(ip("10.0.0.255")));
    }

    #[test]
    fn overlap_is_per_family() {
        let a = spec("10.0.0.0/24").canonicalize().unwrap();
        let b = spec("10.0.0.0/25").canonicalize().unwrap();
        let c = spec("10.0.1.0/24").canonicalize().unwrap();
        let d = spec("2001:db8::/64").canonicalize().unwrap();
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!a.overlaps(&c) && !a.overlaps(&d));
    }
}
