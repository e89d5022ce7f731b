//! Links: look up, set up/down, rename, set MAC/MTU, move to a namespace, delete, veth pairs.

use std::os::fd::{AsFd, AsRawFd};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage, Prop, State,
};

use crate::error::{Action, Error, Result};
use crate::link_reply;
use crate::mac::MacAddr;
use crate::netns::Netns;
use crate::socket::{parse_reply, Expect, Netlink, Reply, Request};

/// Linux's IFNAMSIZ minus the terminating NUL.
pub const MAX_IFNAME_LEN: usize = 15;

/// Operational state (RFC 2863), as the kernel reports it in IFLA_OPERSTATE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperState {
    Unknown,
    NotPresent,
    Down,
    LowerLayerDown,
    Testing,
    Dormant,
    Up,
}

impl From<State> for OperState {
    fn from(s: State) -> Self {
        match s {
            State::NotPresent => OperState::NotPresent,
            State::Down => OperState::Down,
            State::LowerLayerDown => OperState::LowerLayerDown,
            State::Testing => OperState::Testing,
            State::Dormant => OperState::Dormant,
            State::Up => OperState::Up,
            _ => OperState::Unknown,
        }
    }
}

/// What the kernel says about one link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// IFLA_ADDRESS, when the link has a 6-byte hardware address.
    pub mac: Option<MacAddr>,
    /// IFLA_PERM_ADDRESS: the address burnt in (or assigned at creation).
    pub permanent_mac: Option<MacAddr>,
    pub mtu: Option<u32>,
    pub min_mtu: Option<u32>,
    pub max_mtu: Option<u32>,
    /// IFF_UP: administratively up.
    pub admin_up: bool,
    pub oper_state: OperState,
    /// IFLA_LINK_NETNSID: the namespace id of the peer/lower device when it lives elsewhere.
    pub link_netns_id: Option<i32>,
    /// IFLA_INFO_KIND ("veth", "bridge", ...); `None` for physical devices and VFs.
    pub kind: Option<String>,
    /// IFLA_NUM_VF: present on SR-IOV PFs when VF info was asked for.
    pub num_vfs: Option<u32>,
    /// IFLA_PARENT_DEV_NAME: the bus device behind the netdev (a VF's PCI address, e.g.
    /// `0000:01:10.0`); `None` for virtual links. Identifies a VF netdev in any namespace.
    pub parent_device: Option<String>,
    /// IFLA_PARENT_DEV_BUS_NAME: `pci` for PCI functions.
    pub parent_bus: Option<String>,
}

/// Check an interface name before the kernel sees it, so the error names the rule. The same
/// rule as `nfv_cni::validate_ifname`: both are tested against testdata/ifnames/names.tsv.
pub fn validate_ifname(name: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::invalid(format!("interface name {name:?}"), why));
    if name.is_empty() {
        return bad("must not be empty");
    }
    if name.len() > MAX_IFNAME_LEN {
        return bad("must be at most 15 bytes long");
    }
    if name == "." || name == ".." {
        return bad("must not be '.' or '..'");
    }
    if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace() || c == '\0')
    {
        return bad("must not contain '/', ':', NUL or whitespace");
    }
    Ok(())
}

/// The request adding or removing alternative name `name` of link `index`.
fn alt_name_message(index: u32, name: &str) -> LinkMessage {
    let mut msg = set_link_message(index);
    msg.attributes
        .push(LinkAttribute::PropList(vec![Prop::AltIfName(
            name.to_string(),
        )]));
    msg
}

fn set_link_message(index: u32) -> LinkMessage {
    let mut msg = LinkMessage::default();
    msg.header.index = index;
    msg
}

impl Netlink {
    fn get_link(&mut self, msg: LinkMessage, op: &str) -> Result<Link> {
        let body = self.get_link_message(msg, op)?;
        Link::from_reply(&body).map_err(|d| Error::protocol(op, d))
    }

    /// The RTM_NEWLINK body answering a GETLINK.
    fn get_link_message(&mut self, msg: LinkMessage, op: &str) -> Result<Vec<u8>> {
        let replies = self.request(Request::GetLink(msg), 0, Expect::One, op, &Action::GetLink)?;
        let raw = replies
            .first()
            .ok_or_else(|| Error::protocol(op, "no reply"))?;
        match parse_reply(raw, op)? {
            Reply::NewLink(m) => Ok(m),
            Reply::NewAddress(_) | Reply::NewRoute(_) | Reply::Other => Err(Error::protocol(
                op,
                format!(
                    "expected a link, got message type {}",
                    crate::wire::read_u16(raw, 4).unwrap_or(0)
                ),
            )),
        }
    }

    /// The link's alternative names (IFLA_PROP_LIST; udev gives some, `ip link property add`
    /// too). They move with the link into another namespace.
    pub fn alt_names(&mut self, index: u32) -> Result<Vec<String>> {
        let op = format!("looking up interface index {index}");
        let body = self.get_link_message(set_link_message(index), &op)?;
        link_reply::alt_names(&body).map_err(|d| Error::protocol(op, d))
    }

    /// Remove the alternative name `name` from the link (RTM_DELLINKPROP). A link cannot be
    /// renamed to a name it carries as an alternative name (EEXIST).
    pub fn remove_alt_name(&mut self, index: u32, name: &str) -> Result<()> {
        self.request(
            Request::DelLinkProp(alt_name_message(index, name)),
            0,
            Expect::Ack,
            &format!("removing alternative name {name} from interface index {index}"),
            &Action::Other,
        )
        .map(|_| ())
    }

    /// The link called `name` in this socket's namespace. ENODEV ([`Error::is_not_found`])
    /// when there is none.
    pub fn link_by_name(&mut self, name: &str) -> Result<Link> {
        validate_ifname(name)?;
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        self.get_link(msg, &format!("looking up interface {name}"))
    }

    /// The link with this index.
    pub fn link_by_index(&mut self, index: u32) -> Result<Link> {
        self.get_link(
            set_link_message(index),
            &format!("looking up interface index {index}"),
        )
    }

    /// Every link in this socket's namespace.
    pub fn links(&mut self) -> Result<Vec<Link>> {
        let op = "listing interfaces";
        let replies = self.request(
            Request::GetLink(LinkMessage::default()),
            0,
            Expect::Dump,
            op,
            &Action::Other,
        )?;
        let mut out = Vec::with_capacity(replies.len());
        for raw in &replies {
            if let Reply::NewLink(body) = parse_reply(raw, op)? {
                out.push(Link::from_reply(&body).map_err(|d| Error::protocol(op, d))?);
            }
        }
        Ok(out)
    }

    fn set_link(&mut self, msg: LinkMessage, op: &str, action: Action) -> Result<()> {
        self.request(Request::SetLink(msg), 0, Expect::Ack, op, &action)
            .map(|_| ())
    }

    /// Set a link administratively up.
    pub fn set_up(&mut self, index: u32) -> Result<()> {
        let mut msg = set_link_message(index);
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        self.set_link(
            msg,
            &format!("setting interface index {index} up"),
            Action::SetState,
        )
    }

    /// Set a link administratively down.
    pub fn set_down(&mut self, index: u32) -> Result<()> {
        let mut msg = set_link_message(index);
        msg.header.change_mask = LinkFlags::Up;
        self.set_link(
            msg,
            &format!("setting interface index {index} down"),
            Action::SetState,
        )
    }

    /// Rename a link (it must be down on most kernels: EBUSY otherwise).
    pub fn rename(&mut self, index: u32, new_name: &str) -> Result<()> {
        validate_ifname(new_name)?;
        let mut msg = set_link_message(index);
        msg.attributes
            .push(LinkAttribute::IfName(new_name.to_string()));
        self.set_link(
            msg,
            &format!("renaming interface index {index} to {new_name}"),
            Action::Rename(new_name.to_string()),
        )
    }

    /// Set the link's own MAC address (for a VF: its netdev side; see [`crate::VfSetting::Mac`]
    /// for the administrative MAC set through the PF).
    pub fn set_mac(&mut self, index: u32, mac: MacAddr) -> Result<()> {
        let mut msg = set_link_message(index);
        msg.attributes.push(LinkAttribute::Address(mac.0.to_vec()));
        self.set_link(
            msg,
            &format!("setting MAC {mac} on interface index {index}"),
            Action::SetMac,
        )
    }

    /// Set the MTU.
    pub fn set_mtu(&mut self, index: u32, mtu: u32) -> Result<()> {
        let mut msg = set_link_message(index);
        msg.attributes.push(LinkAttribute::Mtu(mtu));
        self.set_link(
            msg,
            &format!("setting MTU {mtu} on interface index {index}"),
            Action::SetMtu,
        )
    }

    /// Move a link into `netns`, renaming it to `new_name` there in the same request.
    ///
    /// The kernel moves first, then renames, under one rtnl lock: udev on either side never
    /// sees the link under a name it might fight over, and no temporary name is needed. If
    /// the link's current name is taken in the target, the new name is used for the move.
    /// The link arrives down, and may get a new index (look it up by name afterwards).
    ///
    /// The kernel does not undo the move when the rename fails (EEXIST: the pod already has
    /// an interface of that name). This call does: on failure the link is moved back here
    /// under its own name, so an error always means "the link did not move".
    pub fn move_to_netns(
        &mut self,
        index: u32,
        netns: &Netns,
        new_name: Option<&str>,
    ) -> Result<()> {
        if let Some(n) = new_name {
            validate_ifname(n)?;
        }
        let before = match new_name {
            Some(_) => Some(self.link_by_index(index)?),
            None => None,
        };
        let mut msg = set_link_message(index);
        msg.attributes
            .push(LinkAttribute::NetNsFd(netns.as_fd().as_raw_fd()));
        if let Some(n) = new_name {
            msg.attributes.push(LinkAttribute::IfName(n.to_string()));
        }
        let op = match new_name {
            Some(n) => format!(
                "moving interface index {index} into {} as {n}",
                netns.path().display()
            ),
            None => format!(
                "moving interface index {index} into {}",
                netns.path().display()
            ),
        };
        let action = match new_name {
            Some(n) => Action::Rename(n.to_string()),
            None => Action::MoveToNetns,
        };
        let err = match self.set_link(msg, &op, action) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if let Some(before) = before {
            if let Err(undo) = self.undo_half_move(&before, netns) {
                return Err(err.context(format!(
                    "(and the link stayed in the target namespace under {}: {undo})",
                    before.name
                )));
            }
        }
        Err(err)
    }

    /// After a move-and-rename that failed at the rename: if the link sits in `netns` under
    /// its old name, bring it back.
    fn undo_half_move(&mut self, before: &Link, netns: &Netns) -> Result<()> {
        let mut there = Netlink::open_in(netns)?;
        let moved = match there.link_by_name(&before.name) {
            Ok(l) if l.mac == before.mac => l,
            Ok(_) => return Ok(()), // a different link of that name: ours never moved
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e),
        };
        let here = self.netns().try_clone()?;
        there.move_to_netns(moved.index, &here, None)
    }

    /// Delete a link (for a veth, both ends go).
    pub fn delete_link(&mut self, index: u32) -> Result<()> {
        self.request(
            Request::DelLink(set_link_message(index)),
            0,
            Expect::Ack,
            &format!("deleting interface index {index}"),
            &Action::DeleteLink,
        )
        .map(|_| ())
    }

    /// Create a veth pair `name` / `peer` in this namespace; the peer goes straight into
    /// `peer_netns` when given. Fails with EEXIST ([`Error::is_exists`]) when a name is taken.
    /// Tests use veths to stand in for VF netdevs.
    pub fn create_veth(
        &mut self,
        name: &str,
        peer: &str,
        peer_netns: Option<&Netns>,
    ) -> Result<()> {
        validate_ifname(name)?;
        validate_ifname(peer)?;
        let mut peer_msg = LinkMessage::default();
        peer_msg
            .attributes
            .push(LinkAttribute::IfName(peer.to_string()));
        if let Some(ns) = peer_netns {
            peer_msg
                .attributes
                .push(LinkAttribute::NetNsFd(ns.as_fd().as_raw_fd()));
        }
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer_msg))),
        ]));
        self.request(
            Request::NewLink(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            Expect::Ack,
            &format!("creating veth pair {name}/{peer}"),
            &Action::CreateLink(format!("{name} or {peer}")),
        )
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::serialize;

    #[test]
    fn ifname_rules() {
        for good in ["net1", "eth0", "a", "abcdefghijklmno", "vf-0_1.2"] {
            assert!(validate_ifname(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "abcdefghijklmnop",
            "a/b",
            "a:b",
            "a b",
            "tab\t",
        ] {
            let e = validate_ifname(bad).unwrap_err();
            assert!(e.to_string().contains("interface name"), "{e}");
        }
        // The one rule, shared with nfv_cni::validate_ifname (CNI_IFNAME).
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/ifnames/names.tsv"
        );
        for line in std::fs::read_to_string(path).unwrap().lines() {
            let (k, n) = line.split_once('\t').unwrap();
            let name: String = serde_json::from_str(n).unwrap();
            assert_eq!(validate_ifname(&name).is_ok(), k == "ok", "{name:?}");
        }
    }

    #[test]
    fn set_up_message_bytes() {
        let mut msg = set_link_message(7);
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        let bytes = serialize(Request::SetLink(msg), 5, 1);
        let mut want = Vec::new();
        want.extend_from_slice(&32u32.to_ne_bytes()); // nlmsg_len
        want.extend_from_slice(&19u16.to_ne_bytes()); // RTM_SETLINK
        want.extend_from_slice(&5u16.to_ne_bytes()); // REQUEST|ACK
        want.extend_from_slice(&1u32.to_ne_bytes()); // seq
        want.extend_from_slice(&0u32.to_ne_bytes()); // pid
        want.extend_from_slice(&[0, 0]); // family, pad
        want.extend_from_slice(&0u16.to_ne_bytes()); // ifi_type
        want.extend_from_slice(&7i32.to_ne_bytes()); // ifi_index
        want.extend_from_slice(&1u32.to_ne_bytes()); // ifi_flags IFF_UP
        want.extend_from_slice(&1u32.to_ne_bytes()); // ifi_change IFF_UP
        assert_eq!(bytes, want);
    }
}
