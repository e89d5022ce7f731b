//! Address arithmetic and parsing with the reference plugin's rules: IPv4-mapped IPv6 addresses
//! are IPv4 (Go's `To4`), and parse errors read like the reference's so operators see the same text.

use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(ip: IpAddr) -> Family {
        match ip {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// Address length in bits.
    pub fn bits(self) -> u8 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }
}

/// The reference's canonical form: an IPv4-mapped IPv6 address is the IPv4 address.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// The address as an integer in its family's space.
pub fn to_int(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The address of `family` with integer value `n` (truncated to the family's width).
pub fn from_int(family: Family, n: u128) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::from((n & 0xffff_ffff) as u32)),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(n)),
    }
}

/// The next address, wrapping at the end of the family's space (as Go's `ip.NextIP`).
pub fn next(ip: IpAddr) -> IpAddr {
    from_int(Family::of(ip), to_int(ip).wrapping_add(1))
}

/// Numeric comparison; addresses of different families compare by value like the reference's
/// big-integer `Cmp` does.
pub fn cmp(a: IpAddr, b: IpAddr) -> Ordering {
    to_int(a).cmp(&to_int(b))
}

/// The network mask of `prefix` bits as an integer of `family`'s width.
pub fn mask(family: Family, prefix: u8) -> u128 {
    let bits = u32::from(family.bits());
    let host_bits = bits - u32::from(prefix).min(bits);
    let all: u128 = if bits == 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    };
    if host_bits >= 128 {
        0
    } else {
        all & !((1u128 << host_bits).wrapping_sub(1))
    }
}

/// Parse an IP address as Go's `net.ParseIP` does, canonicalised.
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    s.parse::<IpAddr>().ok().map(canonical)
}

/// A CIDR as written: the address (host bits kept, not canonicalised) and the prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    /// Parse `addr/prefix` as Go's `net.ParseCIDR` does: the prefix is decimal, at most the
    /// address length; an IPv4-mapped IPv6 address keeps an IPv6-length mask.
    pub fn parse(s: &str) -> Option<Cidr> {
        let (a, p) = s.split_once('/')?;
        let addr: IpAddr = a.parse().ok()?;
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let prefix: u8 = p.parse().ok()?;
        if prefix > Family::of(addr).bits() {
            return None;
        }
        Some(Cidr { addr, prefix })
    }

    /// Does the family of the mask (as written) differ from the canonical address family?
    /// True for an IPv4-mapped IPv6 network, which the reference rejects.
    pub fn mask_family(&self) -> Family {
        Family::of(self.addr)
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", canonical(self.addr), self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn next_wraps_and_crosses_octets() {
        assert_eq!(next(ip("10.0.0.255")), ip("10.0.1.0"));
        assert_eq!(next(ip("255.255.255.255")), ip("0.0.0.0"));
        assert_eq!(next(ip("2001:db8::ffff")), ip("2001:db8::1:0"));
    }

    #[test]
    fn mapped_addresses_are_ipv4() {
        assert_eq!(parse_ip("::ffff:10.1.2.3"), Some(ip("10.1.2.3")));
        assert_eq!(parse_ip("10.1.2.3/24"), None);
        assert_eq!(parse_ip("nope"), None);
    }

    #[test]
    fn masks() {
        assert_eq!(mask(Family::V4, 24), 0xffff_ff00);
        assert_eq!(mask(Family::V4, 0), 0);
        assert_eq!(mask(Family::V4, 32), 0xffff_ffff);
        assert_eq!(mask(Family::V6, 128), u128::MAX);
        assert_eq!(mask(Family::V6, 0), 0);
        assert_eq!(mask(Family::V6, 64), u128::MAX << 64);
    }

    #[test]
    fn cidr_parsing() {
        assert_eq!(
            Cidr::parse("10.0.0.5/24"),
            Some(Cidr {
                addr: ip("10.0.0.5"),
                prefix: 24
            })
        );
        assert_eq!(Cidr::parse("10.0.0.0/33"), None);
        assert_eq!(Cidr::parse("10.0.0.0/"), None);
        assert_eq!(Cidr::parse("10.0.0.0"), None);
        assert_eq!(Cidr::parse("10.0.0.0/+4"), None);
        assert_eq!(
            Cidr::parse("::ffff:10.0.0.0/120").unwrap().mask_family(),
            Family::V6
        );
        assert_eq!(
            Cidr::parse("2001:db8::/64").unwrap().to_string(),
            "2001:db8::/64"
        );
    }
}
