//! Reading an RTM_NEWLINK reply: the few attributes [`Link`] and the alternative names need,
//! read with the crate's own attribute walker. netlink-packet-route's `LinkMessage` parser
//! decodes every attribute of every link kind (bond, GRE, CAN, VRF, AF_SPEC, xstats, ...):
//! over 116 KiB of each plugin that only asks for a name, an index, a MAC and an MTU
//! (docs/design.md, "Binary size and memory"). Requests are still built with its types.

use crate::link::{Link, OperState};
use crate::mac::MacAddr;
use crate::wire::{attributes, read_u32};

/// `struct ifinfomsg`: family, pad, type, index, flags, change.
const IFINFOMSG_LEN: usize = 16;
const IFF_UP: u32 = 1;

// Attribute types from <linux/if_link.h>.
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NUM_VF: u16 = 21;
const IFLA_LINK_NETNSID: u16 = 37;
const IFLA_MIN_MTU: u16 = 50;
const IFLA_MAX_MTU: u16 = 51;
const IFLA_PROP_LIST: u16 = 52;
const IFLA_ALT_IFNAME: u16 = 53;
const IFLA_PERM_ADDRESS: u16 = 54;
const IFLA_PARENT_DEV_NAME: u16 = 56;
const IFLA_PARENT_DEV_BUS_NAME: u16 = 57;
const IFLA_INFO_KIND: u16 = 1;

/// A netlink string: UTF-8, the terminating NUL dropped.
fn string(value: &[u8], what: &str) -> Result<String, String> {
    let value = value.strip_suffix(&[0]).unwrap_or(value);
    String::from_utf8(value.to_vec()).map_err(|_| format!("{what} is not UTF-8"))
}

fn u32_of(value: &[u8], what: &str) -> Result<u32, String> {
    match <[u8; 4]>::try_from(value) {
        Ok(b) => Ok(u32::from_ne_bytes(b)),
        Err(_) => Err(format!("{what} has {} bytes, not 4", value.len())),
    }
}

fn oper_state(value: &[u8]) -> Result<OperState, String> {
    match value {
        [1] => Ok(OperState::NotPresent),
        [2] => Ok(OperState::Down),
        [3] => Ok(OperState::LowerLayerDown),
        [4] => Ok(OperState::Testing),
        [5] => Ok(OperState::Dormant),
        [6] => Ok(OperState::Up),
        [_] => Ok(OperState::Unknown),
        _ => Err(format!("IFLA_OPERSTATE has {} bytes, not 1", value.len())),
    }
}

impl Link {
    /// The link an RTM_NEWLINK body (after the netlink header) describes.
    pub(crate) fn from_reply(body: &[u8]) -> Result<Link, String> {
        if body.len() < IFINFOMSG_LEN {
            return Err(format!("link message of {} bytes", body.len()));
        }
        let mut link = Link {
            index: read_u32(body, 4).unwrap_or(0),
            name: String::new(),
            mac: None,
            permanent_mac: None,
            mtu: None,
            min_mtu: None,
            max_mtu: None,
            admin_up: read_u32(body, 8).unwrap_or(0) & IFF_UP != 0,
            oper_state: OperState::Unknown,
            link_netns_id: None,
            kind: None,
            num_vfs: None,
            parent_device: None,
            parent_bus: None,
        };
        for (kind, value) in attributes(&body[IFINFOMSG_LEN..]) {
            match kind {
                IFLA_IFNAME => link.name = string(value, "IFLA_IFNAME")?,
                IFLA_ADDRESS if value.len() == 6 => link.mac = MacAddr::from_slice(value),
                IFLA_PERM_ADDRESS if value.len() == 6 => {
                    link.permanent_mac = MacAddr::from_slice(value)
                }
                IFLA_MTU => link.mtu = Some(u32_of(value, "IFLA_MTU")?),
                IFLA_MIN_MTU => link.min_mtu = Some(u32_of(value, "IFLA_MIN_MTU")?),
                IFLA_MAX_MTU => link.max_mtu = Some(u32_of(value, "IFLA_MAX_MTU")?),
                IFLA_OPERSTATE => link.oper_state = oper_state(value)?,
                IFLA_LINK_NETNSID => {
                    link.link_netns_id = Some(u32_of(value, "IFLA_LINK_NETNSID")? as i32)
                }
                IFLA_NUM_VF => link.num_vfs = Some(u32_of(value, "IFLA_NUM_VF")?),
                IFLA_PARENT_DEV_NAME => {
                    link.parent_device = Some(string(value, "IFLA_PARENT_DEV_NAME")?)
                }
                IFLA_PARENT_DEV_BUS_NAME => {
                    link.parent_bus = Some(string(value, "IFLA_PARENT_DEV_BUS_NAME")?)
                }
                IFLA_LINKINFO => {
                    for (k, v) in attributes(value) {
                        if k == IFLA_INFO_KIND {
                            link.kind = Some(string(v, "IFLA_INFO_KIND")?);
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(link)
    }
}

/// The alternative names (IFLA_PROP_LIST / IFLA_ALT_IFNAME) in an RTM_NEWLINK body.
pub(crate) fn alt_names(body: &[u8]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for (kind, value) in attributes(body.get(IFINFOMSG_LEN..).unwrap_or(&[])) {
        if kind == IFLA_PROP_LIST {
            for (k, v) in attributes(value) {
                if k == IFLA_ALT_IFNAME {
                    out.push(string(v, "IFLA_ALT_IFNAME")?);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::{Emitable, Parseable};
    use netlink_packet_route::link::{
        InfoData, InfoKind, InfoVeth, LinkAttribute as A, LinkFlags, LinkInfo, LinkMessage, Prop,
        State,
    };

    /// What netlink-packet-route's full parser made of the same bytes (how `Link` was read
    /// before this reader), field by field.
    fn oracle(msg: &LinkMessage) -> Link {
        let mut link = Link::from_reply(&[0; IFINFOMSG_LEN]).unwrap();
        link.index = msg.header.index;
        link.admin_up = msg.header.flags.contains(LinkFlags::Up);
        for attr in &msg.attributes {
            match attr {
                A::IfName(n) => link.name = n.clone(),
                A::Address(a) if a.len() == 6 => link.mac = MacAddr::from_slice(a),
                A::PermAddress(a) if a.len() == 6 => link.permanent_mac = MacAddr::from_slice(a),
                A::Mtu(m) => link.mtu = Some(*m),
                A::MinMtu(m) => link.min_mtu = Some(*m),
                A::MaxMtu(m) => link.max_mtu = Some(*m),
                A::OperState(s) => link.oper_state = (*s).into(),
                A::LinkNetNsId(id) => link.link_netns_id = Some(*id),
                A::NumVf(n) => link.num_vfs = Some(*n),
                A::ParentDevName(n) => link.parent_device = Some(n.clone()),
                A::ParentDevBusName(n) => link.parent_bus = Some(n.clone()),
                A::LinkInfo(infos) => {
                    for info in infos {
                        if let LinkInfo::Kind(k) = info {
                            link.kind = Some(k.to_string());
                        }
                    }
                }
                _ => {}
            }
        }
        link
    }

    fn bytes(msg: &LinkMessage) -> Vec<u8> {
        let mut b = vec![0u8; msg.buffer_len()];
        msg.emit(&mut b);
        b
    }

    #[test]
    fn reads_what_the_full_parser_reads() {
        let mut full = LinkMessage::default();
        full.header.index = 42;
        full.header.flags = LinkFlags::Up | LinkFlags::Broadcast;
        full.attributes = vec![
            A::IfName("enp1s0f0v3".into()),
            A::Address(vec![2, 0, 0, 0, 0, 9]),
            A::PermAddress(vec![2, 0, 0, 0, 0, 8]),
            A::Mtu(9000),
            A::MinMtu(68),
            A::MaxMtu(9702),
            A::OperState(State::LowerLayerDown),
            A::LinkNetNsId(-1),
            A::NumVf(7),
            A::ParentDevName("0000:01:10.2".into()),
            A::ParentDevBusName("pci".into()),
            A::LinkInfo(vec![
                LinkInfo::Kind(InfoKind::Veth),
                LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(LinkMessage::default()))),
            ]),
            A::PropList(vec![Prop::AltIfName("a-long-alternative-name".into())]),
            A::TxQueueLen(1000),
        ];
        let mut bare = LinkMessage::default();
        bare.header.index = 1;
        bare.attributes = vec![A::IfName("lo".into()), A::Address(vec![0; 4])];
        let mut other_kind = bare.clone();
        other_kind
            .attributes
            .push(A::LinkInfo(vec![LinkInfo::Kind(InfoKind::Other(
                "nfvtest".into(),
            ))]));
        for state in [State::Up, State::Dormant, State::Other(77)] {
            let mut m = bare.clone();
            m.attributes.push(A::OperState(state));
            assert_eq!(
                Link::from_reply(&bytes(&m)).unwrap(),
                oracle(&m),
                "{state:?}"
            );
        }
        for msg in [full.clone(), bare, other_kind] {
            let raw = bytes(&msg);
            let parsed = LinkMessage::parse(raw.as_slice()).unwrap();
            assert_eq!(Link::from_reply(&raw).unwrap(), oracle(&parsed), "{msg:?}");
        }
        assert_eq!(
            alt_names(&bytes(&full)).unwrap(),
            vec!["a-long-alternative-name".to_string()]
        );
    }

    #[test]
    fn malformed_replies_are_errors_not_guesses() {
        assert!(Link::from_reply(&[0; 8]).is_err());
        let mut m = LinkMessage::default();
        m.attributes = vec![A::IfName("eth0".into())];
        let mut raw = bytes(&m);
        raw[IFINFOMSG_LEN + 4] = 0xff; // a name that is not UTF-8
        assert!(Link::from_reply(&raw).unwrap_err().contains("IFLA_IFNAME"));
        let mut short_mtu = vec![0u8; IFINFOMSG_LEN];
        short_mtu.extend_from_slice(&[7, 0, IFLA_MTU as u8, 0, 1, 2, 3, 0]);
        assert!(Link::from_reply(&short_mtu)
            .unwrap_err()
            .contains("IFLA_MTU"));
    }
}
