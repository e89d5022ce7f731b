//! PCI addresses: `DDDD:BB:DD.F` (domain, bus, device, function), as sysfs names devices.

use std::fmt;
use std::str::FromStr;

/// A PCI function address. Displays in the canonical sysfs form, `0000:01:10.2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PciAddress {
    pub domain: u32,
    pub bus: u8,
    pub device: u8,
    pub function: u8,
}

/// Why a PCI address did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a PCI address: {reason}; expected domain:bus:device.function like 0000:01:10.2")]
pub struct ParsePciAddressError {
    pub value: String,
    pub reason: &'static str,
}

fn hex_field(s: &str, max_len: usize, what: &'static str) -> Result<u32, &'static str> {
    if s.is_empty() || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(what);
    }
    u32::from_str_radix(s, 16).map_err(|_| what)
}

impl FromStr for PciAddress {
    type Err = ParsePciAddressError;

    /// Accepts the full form `0000:01:10.2` (domain of 4 to 8 hex digits; VMD domains have
    /// 5) and the short form `01:10.2`, which means domain 0000 (as `lspci -s` and DPDK take
    /// it). Hex digits may be upper or lower case; the canonical form is lower case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| ParsePciAddressError {
            value: s.to_string(),
            reason,
        };
        let (rest, function) = s
            .rsplit_once('.')
            .ok_or_else(|| err("no '.' before the function number"))?;
        let function = hex_field(function, 1, "the function must be one digit 0-7").map_err(err)?;
        if function > 7 {
            return Err(err("the function must be one digit 0-7"));
        }
        let parts: Vec<&str> = rest.split(':').collect();
        let (domain, bus, device) = match parts.as_slice() {
            [d, b, dev] => {
                if d.len() < 4 {
                    return Err(err("the domain must have 4 to 8 hex digits"));
                }
                (
                    hex_field(d, 8, "the domain must have 4 to 8 hex digits").map_err(err)?,
                    *b,
                    *dev,
                )
            }
            [b, dev] => (0, *b, *dev),
            _ => return Err(err("wrong number of ':' separated fields")),
        };
        if bus.len() != 2 {
            return Err(err("the bus must be two hex digits"));
        }
        let bus = hex_field(bus, 2, "the bus must be two hex digits").map_err(err)?;
        if device.len() != 2 {
            return Err(err("the device must be two hex digits 00-1f"));
        }
        let device =
            hex_field(device, 2, "the device must be two hex digits 00-1f").map_err(err)?;
        if device > 0x1f {
            return Err(err("the device must be two hex digits 00-1f"));
        }
        Ok(PciAddress {
            domain,
            bus: bus as u8,
            device: device as u8,
            function: function as u8,
        })
    }
}

impl fmt::Display for PciAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{:x}",
            self.domain, self.bus, self.device, self.function
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_and_short_forms() {
        let a: PciAddress = "0000:01:10.2".parse().unwrap();
        assert_eq!((a.domain, a.bus, a.device, a.function), (0, 1, 0x10, 2));
        assert_eq!(a.to_string(), "0000:01:10.2");
        let short: PciAddress = "01:10.2".parse().unwrap();
        assert_eq!(short, a);
        let upper: PciAddress = "0000:AF:1F.7".parse().unwrap();
        assert_eq!(upper.to_string(), "0000:af:1f.7");
        let vmd: PciAddress = "10000:e1:00.0".parse().unwrap();
        assert_eq!(vmd.to_string(), "10000:e1:00.0");
    }

    #[test]
    fn rejects_malformed_with_a_reason() {
        for (bad, why) in [
            ("", "no '.'"),
            ("0000:01:10", "no '.'"),
            ("0000:01:10.8", "function"),
            ("0000:01:20.0", "device"),
            ("0000:1:10.0", "bus"),
            ("000:01:10.0", "domain"),
            ("0000:01:10.0.1", "device"),
            ("1:2:3:4.0", "wrong number"),
            ("0000:0g:10.0", "bus"),
            ("../../etc:00.0", "bus"),
            ("0000:01:10.-1", "function"),
            (" 0000:01:10.0", "domain"),
        ] {
            let e = bad.parse::<PciAddress>().unwrap_err();
            assert!(
                e.to_string().contains(why) || e.reason.contains(why),
                "{bad}: {e}"
            );
        }
    }
}
