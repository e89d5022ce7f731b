//! SR-IOV VF settings, read and written through the PF link.
//!
//! Reading: RTM_GETLINK on the PF with IFLA_EXT_MASK = RTEXT_FILTER_VF returns IFLA_VFINFO_LIST.
//! Its parser is written here over the raw bytes (not the packet crate's decoder) so that a
//! driver's "not reported" (-1 for spoofchk/trust) stays distinguishable from "off": restoring
//! a setting the driver never had would fail.
//!
//! Writing: one RTM_SETLINK per setting, built by [`vf_setting_message`] (pure, byte-tested). One
//! setting per request so a refusal names the setting (the kernel stops at the first failing
//! VF attribute and does not say which one it was).

use netlink_packet_route::link::{
    LinkAttribute, LinkExtentMask, LinkMessage, LinkVfInfo, VfInfo as NlVfInfo, VfInfoLinkState,
    VfInfoMac, VfInfoRate, VfInfoSpoofCheck, VfInfoTrust, VfInfoVlan, VfLinkState as NlVfLinkState,
    VfVlan, VfVlanInfo, VlanProtocol,
};

use crate::error::{Action, Error, Result, VfField};
use crate::mac::MacAddr;
use crate::socket::{Expect, Netlink, Request};
use crate::wire::{attributes, read_u32, NLMSG_HDR_LEN};

const IFLA_VFINFO_LIST: u16 = 22;
const IFLA_VF_INFO: u16 = 1;
const IFLA_VF_MAC: u16 = 1;
const IFLA_VF_VLAN: u16 = 2;
const IFLA_VF_TX_RATE: u16 = 3;
const IFLA_VF_SPOOFCHK: u16 = 4;
const IFLA_VF_LINK_STATE: u16 = 5;
const IFLA_VF_RATE: u16 = 6;
const IFLA_VF_TRUST: u16 = 9;
const IFLA_VF_VLAN_LIST: u16 = 12;
const IFLA_VF_VLAN_INFO: u16 = 1;
const ETH_P_8021Q: u16 = 0x8100;
const ETH_P_8021AD: u16 = 0x88a8;
const IFINFOMSG_LEN: usize = 16;

/// The VLAN tag protocol a VF inserts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VlanProto {
    /// 802.1Q (ethertype 0x8100), the default.
    #[default]
    Dot1Q,
    /// 802.1ad (ethertype 0x88a8), the QinQ service tag.
    Dot1Ad,
}

impl VlanProto {
    fn from_ethertype(v: u16) -> Option<VlanProto> {
        match v {
            ETH_P_8021Q => Some(VlanProto::Dot1Q),
            ETH_P_8021AD => Some(VlanProto::Dot1Ad),
            _ => None,
        }
    }
}

/// IFLA_VF_LINK_STATE values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VfLinkState {
    /// Follow the PF's link (the default).
    #[default]
    Auto,
    /// Always up, whatever the PF link.
    Enable,
    /// Always down.
    Disable,
}

impl VfLinkState {
    fn from_u32(v: u32) -> Option<VfLinkState> {
        match v {
            0 => Some(VfLinkState::Auto),
            1 => Some(VfLinkState::Enable),
            2 => Some(VfLinkState::Disable),
            _ => None,
        }
    }

    fn to_packet(self) -> NlVfLinkState {
        match self {
            VfLinkState::Auto => NlVfLinkState::Auto,
            VfLinkState::Enable => NlVfLinkState::Enable,
            VfLinkState::Disable => NlVfLinkState::Disable,
        }
    }
}

/// One VF as the PF driver reports it. Optional fields are those a driver may leave out or
/// report as unsupported.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VfInfo {
    /// The VF index on its PF (the N of `virtfnN`).
    pub id: u32,
    /// The administrative MAC set through the PF; zero when none was set.
    pub mac: MacAddr,
    /// VLAN ID, 0 for none.
    pub vlan: u32,
    /// 802.1p priority (PCP), 0-7.
    pub qos: u32,
    /// Tag protocol; 802.1Q unless the driver reports 802.1ad in the VLAN list.
    pub vlan_proto: VlanProto,
    /// `None` when the driver does not report spoof checking.
    pub spoofchk: Option<bool>,
    /// `None` when the driver does not report trust.
    pub trust: Option<bool>,
    /// Mbps; 0 means no limit.
    pub min_tx_rate: u32,
    /// Mbps; 0 means no limit.
    pub max_tx_rate: u32,
    /// `None` when the driver does not report link state.
    pub link_state: Option<VfLinkState>,
}

impl VfInfo {
    /// The settings that put a VF back the way this snapshot shows it, in the order to apply
    /// them. Settings the driver did not report are left out.
    pub fn restore_settings(&self) -> Vec<VfSetting> {
        let mut out = vec![
            VfSetting::Mac(self.mac),
            VfSetting::Vlan {
                vlan: self.vlan,
                qos: self.qos,
                proto: self.vlan_proto,
            },
        ];
        if let Some(s) = self.spoofchk {
            out.push(VfSetting::SpoofCheck(s));
        }
        if let Some(t) = self.trust {
            out.push(VfSetting::Trust(t));
        }
        out.push(VfSetting::Rate {
            min_mbps: self.min_tx_rate,
            max_mbps: self.max_tx_rate,
        });
        if let Some(l) = self.link_state {
            out.push(VfSetting::LinkState(l));
        }
        out
    }

    /// Whether the VF already has `setting` (to skip no-op writes, and for CHECK).
    pub fn has(&self, setting: &VfSetting) -> bool {
        match *setting {
            VfSetting::Mac(m) => self.mac == m,
            VfSetting::Vlan { vlan, qos, proto } => {
                self.vlan == vlan && self.qos == qos && (vlan == 0 || self.vlan_proto == proto)
            }
            VfSetting::SpoofCheck(s) => self.spoofchk == Some(s),
            VfSetting::Trust(t) => self.trust == Some(t),
            VfSetting::Rate { min_mbps, max_mbps } => {
                self.min_tx_rate == min_mbps && self.max_tx_rate == max_mbps
            }
            VfSetting::LinkState(l) => self.link_state == Some(l),
        }
    }
}

/// One VF attribute to set through the PF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VfSetting {
    /// Administrative MAC (IFLA_VF_MAC). Zero clears it on most drivers.
    Mac(MacAddr),
    /// VLAN and QoS (IFLA_VF_VLAN for 802.1Q; the IFLA_VF_VLAN_LIST form for 802.1ad).
    /// `vlan: 0, qos: 0` removes the tag.
    Vlan {
        vlan: u32,
        qos: u32,
        proto: VlanProto,
    },
    /// IFLA_VF_SPOOFCHK.
    SpoofCheck(bool),
    /// IFLA_VF_TRUST.
    Trust(bool),
    /// IFLA_VF_RATE: both limits in Mbps, 0 = none.
    Rate { min_mbps: u32, max_mbps: u32 },
    /// IFLA_VF_LINK_STATE.
    LinkState(VfLinkState),
}

impl VfSetting {
    fn field(&self) -> VfField {
        match self {
            VfSetting::Mac(_) => VfField::Mac,
            VfSetting::Vlan {
                proto: VlanProto::Dot1Ad,
                ..
            } => VfField::VlanProto8021ad,
            VfSetting::Vlan { .. } => VfField::Vlan,
            VfSetting::SpoofCheck(_) => VfField::SpoofCheck,
            VfSetting::Trust(_) => VfField::Trust,
            VfSetting::Rate { .. } => VfField::Rate,
            VfSetting::LinkState(_) => VfField::LinkState,
        }
    }

    fn describe(&self) -> String {
        match self {
            VfSetting::Mac(m) => format!("MAC {m}"),
            VfSetting::Vlan { vlan, qos, proto } => {
                let p = match proto {
                    VlanProto::Dot1Q => "802.1Q",
                    VlanProto::Dot1Ad => "802.1ad",
                };
                format!("VLAN {vlan} qos {qos} proto {p}")
            }
            VfSetting::SpoofCheck(b) => format!("spoofchk {}", on_off(*b)),
            VfSetting::Trust(b) => format!("trust {}", on_off(*b)),
            VfSetting::Rate { min_mbps, max_mbps } => {
                format!("min_tx_rate {min_mbps} max_tx_rate {max_mbps}")
            }
            VfSetting::LinkState(l) => format!("link state {}", format!("{l:?}").to_lowercase()),
        }
    }
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

/// The RTM_SETLINK message that sets `setting` on VF `vf` of the PF with index `pf_index`.
pub fn vf_setting_message(pf_index: u32, vf: u32, setting: &VfSetting) -> LinkMessage {
    let attr = match *setting {
        VfSetting::Mac(m) => NlVfInfo::Mac(VfInfoMac::new(vf, &m.0)),
        VfSetting::Vlan {
            vlan,
            qos,
            proto: VlanProto::Dot1Q,
        } => NlVfInfo::Vlan(VfInfoVlan::new(vf, vlan, qos)),
        VfSetting::Vlan {
            vlan,
            qos,
            proto: VlanProto::Dot1Ad,
        } => NlVfInfo::VlanList(vec![VfVlan::Info(VfVlanInfo::new(
            vf,
            vlan,
            qos,
            VlanProtocol::Ieee8021Ad,
        ))]),
        VfSetting::SpoofCheck(on) => NlVfInfo::SpoofCheck(VfInfoSpoofCheck::new(vf, on)),
        VfSetting::Trust(on) => NlVfInfo::Trust(VfInfoTrust::new(vf, on)),
        VfSetting::Rate { min_mbps, max_mbps } => {
            NlVfInfo::Rate(VfInfoRate::new(vf, min_mbps, max_mbps))
        }
        VfSetting::LinkState(l) => NlVfInfo::LinkState(VfInfoLinkState::new(vf, l.to_packet())),
    };
    let mut msg = LinkMessage::default();
    msg.header.index = pf_index;
    msg.attributes
        .push(LinkAttribute::VfInfoList(vec![LinkVfInfo(vec![attr])]));
    msg
}

/// The RTM_GETLINK message that asks for a link with its VF list.
pub fn vf_query_message(pf_index: u32) -> LinkMessage {
    let mut msg = LinkMessage::default();
    msg.header.index = pf_index;
    msg.attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::Vf]));
    msg
}

/// The VF list of one raw RTM_NEWLINK reply (netlink header included). A link without VFs
/// (a veth, or a PF with sriov_numvfs 0) gives an empty list.
pub fn parse_vf_list(raw_message: &[u8]) -> std::result::Result<Vec<VfInfo>, String> {
    let attrs = raw_message
        .get(NLMSG_HDR_LEN + IFINFOMSG_LEN..)
        .ok_or("link message shorter than its headers")?;
    let Some((_, list)) = attributes(attrs).find(|(k, _)| *k == IFLA_VFINFO_LIST) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (kind, vf) in attributes(list) {
        if kind == IFLA_VF_INFO {
            out.push(parse_vf(vf)?);
        }
    }
    Ok(out)
}

fn parse_vf(b: &[u8]) -> std::result::Result<VfInfo, String> {
    let u = |v: &[u8], i: usize, what: &str| -> std::result::Result<u32, String> {
        read_u32(v, i * 4).ok_or_else(|| format!("{what} attribute too short ({} bytes)", v.len()))
    };
    let mut info = VfInfo::default();
    let mut have_id = false;
    let mut list_vlan: Option<(u32, u32, VlanProto)> = None;
    for (kind, v) in attributes(b) {
        match kind {
            IFLA_VF_MAC => {
                info.id = u(v, 0, "IFLA_VF_MAC")?;
                have_id = true;
                info.mac = v
                    .get(4..10)
                    .and_then(MacAddr::from_slice)
                    .ok_or("IFLA_VF_MAC too short")?;
            }
            IFLA_VF_VLAN => {
                info.vlan = u(v, 1, "IFLA_VF_VLAN")?;
                info.qos = u(v, 2, "IFLA_VF_VLAN")?;
            }
            // Legacy max rate; IFLA_VF_RATE (when present) says the same and more.
            IFLA_VF_TX_RATE if info.max_tx_rate == 0 => {
                info.max_tx_rate = u(v, 1, "IFLA_VF_TX_RATE")?;
            }
            IFLA_VF_RATE => {
                info.min_tx_rate = u(v, 1, "IFLA_VF_RATE")?;
                info.max_tx_rate = u(v, 2, "IFLA_VF_RATE")?;
            }
            IFLA_VF_SPOOFCHK => info.spoofchk = tristate(u(v, 1, "IFLA_VF_SPOOFCHK")?),
            IFLA_VF_TRUST => info.trust = tristate(u(v, 1, "IFLA_VF_TRUST")?),
            IFLA_VF_LINK_STATE => {
                info.link_state = VfLinkState::from_u32(u(v, 1, "IFLA_VF_LINK_STATE")?)
            }
            IFLA_VF_VLAN_LIST => {
                for (k, e) in attributes(v) {
                    if k == IFLA_VF_VLAN_INFO {
                        let proto = e
                            .get(12..14)
                            .map(|p| u16::from_be_bytes([p[0], p[1]]))
                            .ok_or("IFLA_VF_VLAN_INFO too short")?;
                        let proto = VlanProto::from_ethertype(proto).unwrap_or_default();
                        list_vlan = Some((
                            u(e, 1, "IFLA_VF_VLAN_INFO")?,
                            u(e, 2, "IFLA_VF_VLAN_INFO")?,
                            proto,
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    if !have_id {
        return Err("IFLA_VF_INFO without IFLA_VF_MAC (no VF index)".into());
    }
    if let Some((vlan, qos, proto)) = list_vlan {
        info.vlan = vlan;
        info.qos = qos;
        info.vlan_proto = proto;
    }
    Ok(info)
}

/// Drivers report spoofchk/trust as 0/1, or -1 (all ones) when unsupported.
fn tristate(v: u32) -> Option<bool> {
    match v {
        0 => Some(false),
        u32::MAX => None,
        _ => Some(true),
    }
}

impl Netlink {
    /// The VF list of the PF with index `pf_index` (empty for a link without VFs).
    pub fn vfs(&mut self, pf_index: u32) -> Result<Vec<VfInfo>> {
        let op = format!("reading the VF list of interface index {pf_index}");
        let replies = self.request(
            Request::GetLink(vf_query_message(pf_index)),
            0,
            Expect::One,
            &op,
            &Action::GetLink,
        )?;
        let raw = replies
            .first()
            .ok_or_else(|| Error::protocol(op.as_str(), "no reply"))?;
        parse_vf_list(raw).map_err(|d| Error::protocol(op, d))
    }

    /// One VF of the PF; an error naming the index when the PF has no such VF.
    pub fn vf(&mut self, pf_index: u32, vf: u32) -> Result<VfInfo> {
        self.vfs(pf_index)?
            .into_iter()
            .find(|v| v.id == vf)
            .ok_or_else(|| {
                Error::invalid(
                    format!("reading VF {vf} of interface index {pf_index}"),
                    "the PF reports no VF with that index (check sriov_numvfs)",
                )
            })
    }

    /// Apply one setting to VF `vf` through its PF.
    pub fn set_vf(&mut self, pf_index: u32, vf: u32, setting: &VfSetting) -> Result<()> {
        let op = format!(
            "setting {} on VF {vf} of interface index {pf_index}",
            setting.describe()
        );
        self.request(
            Request::SetLink(vf_setting_message(pf_index, vf, setting)),
            0,
            Expect::Ack,
            &op,
            &Action::SetVf(setting.field()),
        )
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::serialize;

    /// An attribute as the kernel lays it out: u16 length (header included), u16 type, value,
    /// padding to 4 bytes.
    fn nla(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
        b.extend_from_slice(&kind.to_ne_bytes());
        b.extend_from_slice(value);
        while !b.len().is_multiple_of(4) {
            b.push(0);
        }
        b
    }

    fn u32s(vals: &[u32]) -> Vec<u8> {
        vals.iter().flat_map(|v| v.to_ne_bytes()).collect()
    }

    /// The whole RTM_SETLINK request for PF index 4, seq 9, carrying one VF attribute.
    fn setlink_with_vf_attr(vf_attr: Vec<u8>) -> Vec<u8> {
        let list = nla(IFLA_VFINFO_LIST, &nla(IFLA_VF_INFO, &vf_attr));
        let mut b = Vec::new();
        b.extend_from_slice(&((32 + list.len()) as u32).to_ne_bytes());
        b.extend_from_slice(&19u16.to_ne_bytes()); // RTM_SETLINK
        b.extend_from_slice(&5u16.to_ne_bytes()); // NLM_F_REQUEST | NLM_F_ACK
        b.extend_from_slice(&9u32.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(&[0, 0]); // AF_UNSPEC, pad
        b.extend_from_slice(&0u16.to_ne_bytes()); // ifi_type
        b.extend_from_slice(&4i32.to_ne_bytes()); // ifi_index
        b.extend_from_slice(&0u32.to_ne_bytes()); // ifi_flags
        b.extend_from_slice(&0u32.to_ne_bytes()); // ifi_change
        b.extend_from_slice(&list);
        b
    }

    fn built(setting: VfSetting) -> Vec<u8> {
        serialize(Request::SetLink(vf_setting_message(4, 3, &setting)), 5, 9)
    }

    #[test]
    fn mac_message_bytes() {
        let mac: MacAddr = "02:11:22:33:44:55".parse().unwrap();
        let mut value = u32s(&[3]);
        value.extend_from_slice(&mac.0);
        value.extend_from_slice(&[0u8; 26]); // struct ifla_vf_mac has a 32-byte mac field
        assert_eq!(
            built(VfSetting::Mac(mac)),
            setlink_with_vf_attr(nla(IFLA_VF_MAC, &value))
        );
    }

    #[test]
    fn vlan_8021q_uses_the_legacy_attribute() {
        let want = setlink_with_vf_attr(nla(IFLA_VF_VLAN, &u32s(&[3, 100, 5])));
        let got = built(VfSetting::Vlan {
            vlan: 100,
            qos: 5,
            proto: VlanProto::Dot1Q,
        });
        assert_eq!(got, want);
    }

    #[test]
    fn vlan_8021ad_uses_the_vlan_list_with_a_big_endian_proto() {
        let mut info = u32s(&[3, 200, 0]);
        info.extend_from_slice(&[0x88, 0xa8, 0, 0]); // __be16 vlan_proto + struct padding
        let want = setlink_with_vf_attr(nla(IFLA_VF_VLAN_LIST, &nla(IFLA_VF_VLAN_INFO, &info)));
        let got = built(VfSetting::Vlan {
            vlan: 200,
            qos: 0,
            proto: VlanProto::Dot1Ad,
        });
        assert_eq!(got, want);
    }

    #[test]
    fn spoofchk_trust_rate_and_link_state_bytes() {
        assert_eq!(
            built(VfSetting::SpoofCheck(true)),
            setlink_with_vf_attr(nla(IFLA_VF_SPOOFCHK, &u32s(&[3, 1])))
        );
        assert_eq!(
            built(VfSetting::SpoofCheck(false)),
            setlink_with_vf_attr(nla(IFLA_VF_SPOOFCHK, &u32s(&[3, 0])))
        );
        assert_eq!(
            built(VfSetting::Trust(true)),
            setlink_with_vf_attr(nla(IFLA_VF_TRUST, &u32s(&[3, 1])))
        );
        assert_eq!(
            built(VfSetting::Rate {
                min_mbps: 10,
                max_mbps: 1000
            }),
            setlink_with_vf_attr(nla(IFLA_VF_RATE, &u32s(&[3, 10, 1000])))
        );
        for (state, raw) in [
            (VfLinkState::Auto, 0),
            (VfLinkState::Enable, 1),
            (VfLinkState::Disable, 2),
        ] {
            assert_eq!(
                built(VfSetting::LinkState(state)),
                setlink_with_vf_attr(nla(IFLA_VF_LINK_STATE, &u32s(&[3, raw])))
            );
        }
    }

    #[test]
    fn query_message_asks_for_vfs() {
        let got = serialize(Request::GetLink(vf_query_message(4)), 1, 2);
        let ext = nla(29, &u32s(&[1])); // IFLA_EXT_MASK = RTEXT_FILTER_VF
        assert_eq!(&got[32..], &ext[..]);
        assert_eq!(u16::from_ne_bytes([got[4], got[5]]), 18); // RTM_GETLINK
    }

    /// A reply as the kernel builds it for one VF (rtnl_fill_vfinfo): MAC, broadcast, VLAN,
    /// VLAN list, rates, spoofchk, link state, RSS query, trust, stats.
    #[allow(clippy::too_many_arguments)]
    fn kernel_vf(
        id: u32,
        mac: [u8; 6],
        vlan: u32,
        qos: u32,
        proto: u16,
        spoof: u32,
        trust: u32,
        ls: u32,
    ) -> Vec<u8> {
        let mut m = u32s(&[id]);
        m.extend_from_slice(&mac);
        m.extend_from_slice(&[0u8; 26]);
        let mut vinfo = u32s(&[id, vlan, qos]);
        vinfo.extend_from_slice(&proto.to_be_bytes());
        vinfo.extend_from_slice(&[0, 0]);
        let mut b = nla(IFLA_VF_MAC, &m);
        b.extend(nla(13, &[0xff; 32])); // IFLA_VF_BROADCAST
        b.extend(nla(IFLA_VF_VLAN, &u32s(&[id, vlan, qos])));
        b.extend(nla(IFLA_VF_VLAN_LIST, &nla(IFLA_VF_VLAN_INFO, &vinfo)));
        b.extend(nla(IFLA_VF_TX_RATE, &u32s(&[id, 500])));
        b.extend(nla(IFLA_VF_RATE, &u32s(&[id, 0, 500])));
        b.extend(nla(IFLA_VF_SPOOFCHK, &u32s(&[id, spoof])));
        b.extend(nla(IFLA_VF_LINK_STATE, &u32s(&[id, ls])));
        b.extend(nla(7, &u32s(&[id, 0]))); // IFLA_VF_RSS_QUERY_EN
        b.extend(nla(IFLA_VF_TRUST, &u32s(&[id, trust])));
        b.extend(nla(8 | 0x8000, &nla(0, &[0u8; 8]))); // IFLA_VF_STATS (nested flag set)
        nla(IFLA_VF_INFO | 0x8000, &b)
    }

    fn newlink_reply(attrs: Vec<u8>) -> Vec<u8> {
        let mut b = vec![0u8; 32];
        b[..4].copy_from_slice(&((32 + attrs.len()) as u32).to_ne_bytes());
        b[4..6].copy_from_slice(&16u16.to_ne_bytes());
        b.extend(attrs);
        b
    }

    #[test]
    fn parses_a_kernel_vf_list() {
        let mut list = kernel_vf(0, [2, 0, 0, 0, 0, 1], 100, 3, ETH_P_8021Q, 1, 0, 0);
        list.extend(kernel_vf(
            1,
            [0; 6],
            7,
            0,
            ETH_P_8021AD,
            u32::MAX,
            u32::MAX,
            2,
        ));
        let mut attrs = nla(3, b"enp1s0\0"); // IFLA_IFNAME before the list
        attrs.extend(nla(21, &u32s(&[2]))); // IFLA_NUM_VF
        attrs.extend(nla(IFLA_VFINFO_LIST | 0x8000, &list));
        let vfs = parse_vf_list(&newlink_reply(attrs)).unwrap();
        assert_eq!(vfs.len(), 2);
        assert_eq!(
            vfs[0],
            VfInfo {
                id: 0,
                mac: "02:00:00:00:00:01".parse().unwrap(),
                vlan: 100,
                qos: 3,
                vlan_proto: VlanProto::Dot1Q,
                spoofchk: Some(true),
                trust: Some(false),
                min_tx_rate: 0,
                max_tx_rate: 500,
                link_state: Some(VfLinkState::Auto),
            }
        );
        assert_eq!(vfs[1].id, 1);
        assert!(vfs[1].mac.is_zero());
        assert_eq!(vfs[1].vlan_proto, VlanProto::Dot1Ad);
        assert_eq!(
            vfs[1].spoofchk, None,
            "-1 means the driver does not report it"
        );
        assert_eq!(vfs[1].trust, None);
        assert_eq!(vfs[1].link_state, Some(VfLinkState::Disable));
    }

    #[test]
    fn no_list_means_no_vfs_and_garbage_is_an_error() {
        assert_eq!(
            parse_vf_list(&newlink_reply(nla(3, b"veth0\0"))).unwrap(),
            vec![]
        );
        let bad = nla(
            IFLA_VFINFO_LIST,
            &nla(IFLA_VF_INFO, &nla(IFLA_VF_MAC, &[1, 0])),
        );
        assert!(parse_vf_list(&newlink_reply(bad)).is_err());
        assert!(parse_vf_list(&[0u8; 10]).is_err());
    }

    #[test]
    fn restore_settings_skip_what_the_driver_does_not_report() {
        let snap = VfInfo {
            id: 2,
            mac: MacAddr::ZERO,
            spoofchk: Some(true),
            trust: None,
            link_state: None,
            ..Default::default()
        };
        let s = snap.restore_settings();
        assert!(s.contains(&VfSetting::SpoofCheck(true)));
        assert!(!s
            .iter()
            .any(|x| matches!(x, VfSetting::Trust(_) | VfSetting::LinkState(_))));
        assert!(
            s.iter().all(|x| snap.has(x)),
            "a snapshot has its own restore settings"
        );
        assert!(!snap.has(&VfSetting::Vlan {
            vlan: 5,
            qos: 0,
            proto: VlanProto::Dot1Q
        }));
    }
}
