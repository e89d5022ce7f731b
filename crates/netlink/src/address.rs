//! IP addresses on links: add, list, delete.

use std::net::IpAddr;

use ipnetwork::IpNetwork;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{AddressAttribute, AddressMessage, AddressScope};
use netlink_packet_route::AddressFamily;

use crate::error::{Action, Error, Result};
use crate::socket::{parse_reply, Expect, Netlink, Reply, Request};

/// One address as the kernel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// The link it is on.
    pub index: u32,
    /// Address and prefix length (IFA_LOCAL for IPv4 when present, else IFA_ADDRESS).
    pub network: IpNetwork,
    /// RT_SCOPE_* value (0 universe, 253 link, 254 host).
    pub scope: u8,
}

fn family(ip: &IpAddr) -> AddressFamily {
    match ip {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

/// The RTM_NEWADDR/RTM_DELADDR body for `net` on link `index`. IPv4 addresses get IFA_LOCAL
/// and, for prefixes shorter than /31, the subnet broadcast (like `ip addr add ... brd +`).
pub fn address_message(index: u32, net: IpNetwork) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.family = family(&net.ip());
    msg.header.prefix_len = net.prefix();
    msg.header.index = index;
    msg.header.scope = AddressScope::Universe;
    msg.attributes.push(AddressAttribute::Address(net.ip()));
    if let IpNetwork::V4(v4) = net {
        msg.attributes.push(AddressAttribute::Local(net.ip()));
        if v4.prefix() < 31 {
            msg.attributes
                .push(AddressAttribute::Broadcast(v4.broadcast()));
        }
    }
    msg
}

impl Netlink {
    /// Add `net` (address/prefix) to link `index`. EEXIST ([`Error::is_exists`]) when present.
    pub fn add_address(&mut self, index: u32, net: IpNetwork) -> Result<()> {
        self.request(
            Request::NewAddress(address_message(index, net)),
            NLM_F_CREATE | NLM_F_EXCL,
            Expect::Ack,
            &format!("adding address {net} to interface index {index}"),
            &Action::Address,
        )
        .map(|_| ())
    }

    /// Remove `net` from link `index`. The kernel answers EADDRNOTAVAIL when it is not there.
    pub fn del_address(&mut self, index: u32, net: IpNetwork) -> Result<()> {
        self.request(
            Request::DelAddress(address_message(index, net)),
            0,
            Expect::Ack,
            &format!("removing address {net} from interface index {index}"),
            &Action::Address,
        )
        .map(|_| ())
    }

    /// Addresses in this namespace, of link `index` only when given.
    pub fn addresses(&mut self, index: Option<u32>) -> Result<Vec<Address>> {
        let op = "listing addresses";
        let replies = self.request(
            Request::GetAddress(AddressMessage::default()),
            0,
            Expect::Dump,
            op,
            &Action::Address,
        )?;
        let mut out = Vec::new();
        for raw in &replies {
            let Reply::NewAddress(m) = parse_reply(raw, op)? else {
                continue;
            };
            if index.is_some_and(|i| i != m.header.index) {
                continue;
            }
            out.extend(address_from_message(&m, op)?);
        }
        Ok(out)
    }
}

/// The address an RTM_NEWADDR reply describes; `None` when it carries no address at all.
pub(crate) fn address_from_message(m: &AddressMessage, op: &str) -> Result<Option<Address>> {
    let mut local = None;
    let mut address = None;
    for a in &m.attributes {
        match a {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => address = Some(*ip),
            _ => {}
        }
    }
    let Some(ip) = local.or(address) else {
        return Ok(None);
    };
    let network = IpNetwork::new(ip, m.header.prefix_len)
        .map_err(|e| Error::protocol(op, format!("address {ip}/{}: {e}", m.header.prefix_len)))?;
    Ok(Some(Address {
        index: m.header.index,
        network,
        scope: u8::from(m.header.scope),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::serialize;

    #[test]
    fn ipv4_message_has_local_and_broadcast() {
        let m = address_message(3, "10.1.2.3/24".parse().unwrap());
        let bytes = serialize(Request::NewAddress(m), 0x605, 1);
        // ifaddrmsg: family AF_INET, prefix 24, flags 0, scope 0, index 3
        assert_eq!(&bytes[16..24], &[2, 24, 0, 0, 3, 0, 0, 0][..]);
        // IFA_ADDRESS(1), IFA_LOCAL(2), IFA_BROADCAST(4), each 8 bytes
        let attrs = &bytes[24..];
        assert_eq!(attrs.len(), 24);
        assert_eq!(&attrs[2..4], &1u16.to_ne_bytes());
        assert_eq!(&attrs[4..8], &[10, 1, 2, 3]);
        assert_eq!(&attrs[10..12], &2u16.to_ne_bytes());
        assert_eq!(&attrs[18..20], &4u16.to_ne_bytes());
        assert_eq!(&attrs[20..24], &[10, 1, 2, 255]);
    }

    #[test]
    fn ipv6_and_slash31_have_no_broadcast() {
        let m = address_message(3, "fd00::5/64".parse().unwrap());
        assert_eq!(m.attributes.len(), 1);
        let m = address_message(3, "10.0.0.0/31".parse().unwrap());
        assert_eq!(m.attributes.len(), 2);
    }
}
