//! What ADD changed, written before the first change so DEL (or GC) can undo it, even after
//! a crash half-way through ADD. One JSON file per attachment; one lock file per VF; the store
//! itself is nfv-records'.

use std::fmt;

use nfv_netlink::{MacAddr, VfInfo, VfLinkState, VfSetting, VlanProto};
use nfv_pci::PciAddress;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Where the records live on a node.
pub const STATE_DIR: &str = "/var/lib/cni/nfv-sriov";

/// A VF's settings on the PF before ADD changed them (only those ADD changes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SavedVf {
    pub mac: Option<String>,
    pub vlan: Option<(u32, u32, bool)>,
    pub spoofchk: Option<bool>,
    pub trust: Option<bool>,
    pub rate: Option<(u32, u32)>,
    pub link_state: Option<u32>,
}

impl SavedVf {
    /// Remember, from the VF's current state, the fields `changes` will overwrite.
    pub fn capture(current: &VfInfo, changes: &[VfSetting]) -> SavedVf {
        let mut s = SavedVf::default();
        for c in changes {
            match c {
                VfSetting::Mac(_) => s.mac = Some(current.mac.to_string()),
                VfSetting::Vlan { .. } => {
                    s.vlan = Some((
                        current.vlan,
                        current.qos,
                        current.vlan_proto == VlanProto::Dot1Ad,
                    ))
                }
                VfSetting::SpoofCheck(_) => s.spoofchk = current.spoofchk,
                VfSetting::Trust(_) => s.trust = current.trust,
                VfSetting::Rate { .. } => s.rate = Some((current.min_tx_rate, current.max_tx_rate)),
                VfSetting::LinkState(_) => {
                    s.link_state = current.link_state.map(|l| match l {
                        VfLinkState::Auto => 0,
                        VfLinkState::Enable => 1,
                        VfLinkState::Disable => 2,
                    })
                }
            }
        }
        s
    }

    /// What [`capture`](Self::capture) keeps of `current` when it is known; nothing
    /// otherwise (no VF settings to change, so none to read).
    pub fn of(current: Option<&VfInfo>, changes: &[VfSetting]) -> SavedVf {
        current
            .map(|c| SavedVf::capture(c, changes))
            .unwrap_or_default()
    }

    /// The values `changes` set, in the same shape (the record's `appliedVf`: what the VF
    /// should show on the PF while the attachment lasts).
    pub fn applied(changes: &[VfSetting]) -> SavedVf {
        let mut s = SavedVf::default();
        for c in changes {
            match c {
                VfSetting::Mac(m) => s.mac = Some(m.to_string()),
                VfSetting::Vlan { vlan, qos, proto } => {
                    s.vlan = Some((*vlan, *qos, *proto == VlanProto::Dot1Ad))
                }
                VfSetting::SpoofCheck(b) => s.spoofchk = Some(*b),
                VfSetting::Trust(b) => s.trust = Some(*b),
                VfSetting::Rate { min_mbps, max_mbps } => s.rate = Some((*min_mbps, *max_mbps)),
                VfSetting::LinkState(l) => {
                    s.link_state = Some(match l {
                        VfLinkState::Auto => 0,
                        VfLinkState::Enable => 1,
                        VfLinkState::Disable => 2,
                    })
                }
            }
        }
        s
    }

    /// Nothing saved (a record field left out of the file when so).
    pub fn is_empty(&self) -> bool {
        *self == SavedVf::default()
    }

    /// The settings that put the saved fields back.
    pub fn restore_settings(&self) -> Vec<VfSetting> {
        let mut out = Vec::new();
        if let Some(m) = self.mac.as_deref().and_then(|m| m.parse::<MacAddr>().ok()) {
            out.push(VfSetting::Mac(m));
        }
        if let Some((vlan, qos, ad)) = self.vlan {
            let proto = if ad {
                VlanProto::Dot1Ad
            } else {
                VlanProto::Dot1Q
            };
            out.push(VfSetting::Vlan { vlan, qos, proto });
        }
        if let Some(s) = self.spoofchk {
            out.push(VfSetting::SpoofCheck(s));
        }
        if let Some(t) = self.trust {
            out.push(VfSetting::Trust(t));
        }
        if let Some((min_mbps, max_mbps)) = self.rate {
            out.push(VfSetting::Rate { min_mbps, max_mbps });
        }
        match self.link_state {
            Some(0) => out.push(VfSetting::LinkState(VfLinkState::Auto)),
            Some(1) => out.push(VfSetting::LinkState(VfLinkState::Enable)),
            Some(2) => out.push(VfSetting::LinkState(VfLinkState::Disable)),
            _ => {}
        }
        out
    }
}

/// A VF's PCI address as an attachment holds it: typed, parsed once (from the config at ADD,
/// from the record file later), with the text the record file, the per-VF lock and the
/// messages use kept beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VfAddress {
    pci: PciAddress,
    text: String,
}

impl VfAddress {
    pub fn pci(&self) -> PciAddress {
        self.pci
    }

    /// The canonical form, `0000:01:10.2`.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl AsRef<str> for VfAddress {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl From<PciAddress> for VfAddress {
    fn from(pci: PciAddress) -> Self {
        VfAddress {
            pci,
            text: pci.to_string(),
        }
    }
}

impl std::str::FromStr for VfAddress {
    type Err = nfv_pci::ParsePciAddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<PciAddress>().map(VfAddress::from)
    }
}

impl fmt::Display for VfAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for VfAddress {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for VfAddress {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// How the VF was given to the pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum VfMode {
    /// Its kernel netdev was moved into the pod.
    #[default]
    Netdev,
    /// Bound to a userspace-I/O driver (vfio-pci, uio_pci_generic, igb_uio): no netdev; the
    /// pod's DPDK app drives the device. Only the VF settings on the PF were changed.
    Userspace,
    /// The VF carries a vDPA device: its VF settings were changed here, and the vDPA device
    /// was handed to the vdpa plugin's code, which keeps its own record (and ran IPAM).
    Vdpa,
}

/// One attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub container_id: String,
    pub ifname: String,
    /// VF PCI address.
    pub device: VfAddress,
    pub pf_netdev: String,
    pub vf_index: u32,
    /// Netdev or userspace-driver mode (records written before the mode existed are netdev).
    #[serde(default)]
    pub mode: VfMode,
    /// The userspace driver the VF was bound to at ADD (userspace mode).
    #[serde(default)]
    pub driver: Option<String>,
    /// The vDPA device on the VF handed to the vdpa code (vdpa mode only; absent from the
    /// file otherwise, so netdev and userspace records keep their bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vdpa_device: Option<String>,
    /// The VF netdev's name, MAC and MTU in the host before ADD (empty in userspace mode).
    pub host_ifname: String,
    pub host_mac: Option<String>,
    pub host_mtu: Option<u32>,
    /// Whether the VF netdev was administratively up in the host before ADD.
    #[serde(default)]
    pub host_up: bool,
    /// The VF settings ADD changes on the PF, as they were.
    pub saved_vf: SavedVf,
    /// The VF settings ADD applied on the PF (the values it set), for operators: `nfvctl
    /// status` compares them with what the PF shows now to see a VF changed behind our back.
    /// DEL never reads it. Absent from the file when ADD changed none, and in records of
    /// earlier releases, so those keep their bytes.
    #[serde(default, skip_serializing_if = "SavedVf::is_empty")]
    pub applied_vf: SavedVf,
    /// CNI_NETNS at ADD.
    pub netns: String,
    /// The device-info file ADD writes (runtimeConfig.CNIDeviceInfoFile; nothing was there
    /// before ADD), removed by DEL. Records of earlier releases name the file they wrote here
    /// too (they wrote it whatever was there).
    #[serde(default)]
    pub device_info_file: Option<String>,
    /// The device-info file that was already there at ADD (Multus copied the device plugin's,
    /// device-info spec §5.1.2): kept as it was, and never removed by DEL. Absent from the
    /// file when there is none, so other records keep their bytes; a binary that does not
    /// know the field ignores it and, seeing no `deviceInfoFile`, removes nothing either.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_info_kept: Option<String>,
    /// The network (`name` of the config at ADD): GC of a network only tears down its own
    /// attachments. Empty in records written before it existed (GC then leaves them to DEL),
    /// and absent from the file when empty, so those records keep their bytes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub network: String,
}

impl Record {
    /// The record of `req`'s attachment of `vf` in `mode`, before any change, with the VF
    /// settings as they were (`saved_vf`). What only one mode records (the netdev, the
    /// driver, the vDPA device, the device-info file) is the caller's to fill in.
    pub fn new(
        req: &nfv_cni::Request,
        vf: &nfv_pci::VfDevice,
        mode: VfMode,
        saved_vf: SavedVf,
    ) -> Record {
        Record {
            container_id: req.container_id().to_string(),
            ifname: req.ifname().to_string(),
            device: vf.address.into(),
            pf_netdev: vf.pf_netdev.clone(),
            vf_index: vf.index,
            mode,
            driver: None,
            vdpa_device: None,
            host_ifname: String::new(),
            host_mac: None,
            host_mtu: None,
            host_up: false,
            saved_vf,
            applied_vf: SavedVf::default(),
            netns: req
                .netns()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            device_info_file: None,
            device_info_kept: None,
            network: req.conf.name.clone(),
        }
    }
}

/// The records of one node: unversioned (sriov's records never had a `version` field, and a
/// DEL by this binary must find a record written by an earlier one); an unreadable record is
/// an error on load (code 5) and skipped by GC's listing.
pub type RecordStore = nfv_records::RecordStore<Record>;

// The VF's PCI address (its canonical text) keys the per-VF lock and
// `RecordStore::holder_of`.
nfv_records::attachment_record!(Record, network);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_vf_restores_exactly_what_was_changed() {
        let current = VfInfo {
            id: 1,
            mac: "02:00:00:00:00:09".parse().unwrap(),
            vlan: 0,
            qos: 0,
            spoofchk: Some(true),
            trust: None,
            link_state: Some(VfLinkState::Auto),
            ..Default::default()
        };
        let changes = [
            VfSetting::Vlan {
                vlan: 100,
                qos: 0,
                proto: VlanProto::Dot1Q,
            },
            VfSetting::SpoofCheck(false),
            VfSetting::Trust(true),
        ];
        let saved = SavedVf::capture(&current, &changes);
        assert_eq!(
            saved.restore_settings(),
            vec![
                VfSetting::Vlan {
                    vlan: 0,
                    qos: 0,
                    proto: VlanProto::Dot1Q
                },
                VfSetting::SpoofCheck(true),
            ],
            "trust was not reported by the driver: nothing to restore; MAC untouched"
        );
    }

    #[test]
    fn applied_settings_are_kept_in_the_saved_shape_and_left_out_when_none() {
        let changes = [
            VfSetting::Vlan {
                vlan: 100,
                qos: 3,
                proto: VlanProto::Dot1Ad,
            },
            VfSetting::SpoofCheck(false),
            VfSetting::Mac("02:00:00:00:00:09".parse().unwrap()),
            VfSetting::Rate {
                min_mbps: 0,
                max_mbps: 500,
            },
            VfSetting::LinkState(VfLinkState::Enable),
        ];
        let a = SavedVf::applied(&changes);
        assert_eq!(a.vlan, Some((100, 3, true)));
        assert_eq!(
            (a.spoofchk, a.trust, a.rate, a.link_state),
            (Some(false), None, Some((0, 500)), Some(1))
        );
        assert_eq!(a.mac.as_deref(), Some("02:00:00:00:00:09"));
        // Read back as settings, they are exactly the changes (in the record's order).
        let back = a.restore_settings();
        assert_eq!(back.len(), changes.len());
        assert!(changes.iter().all(|c| back.contains(c)), "{back:?}");
        assert!(SavedVf::applied(&[]).is_empty());
    }

    #[test]
    fn records_without_a_mode_are_netdev_mode() {
        let old = r#"{"containerId":"c","ifname":"net1","device":"0000:01:10.0","pfNetdev":"p",
            "vfIndex":0,"hostIfname":"p0v0","hostMac":null,"hostMtu":null,
            "savedVf":{"mac":null,"vlan":null,"spoofchk":null,"trust":null,"rate":null,
            "link_state":null},"netns":"/run/netns/x"}"#;
        let r: Record = serde_json::from_str(old).unwrap();
        assert_eq!((r.mode, r.driver.clone()), (VfMode::Netdev, None));
        let mut u = r.clone();
        u.mode = VfMode::Userspace;
        let text = serde_json::to_string(&u).unwrap();
        assert!(text.contains(r#""mode":"userspace""#), "{text}");
    }

    #[test]
    fn store_roundtrip_and_lock() {
        let dir = std::env::temp_dir().join(format!("sriov-records-{}", std::process::id()));
        let store = RecordStore::new(&dir);
        let r = Record {
            container_id: "c1".into(),
            ifname: "net1".into(),
            device: "0000:01:10.0".parse().unwrap(),
            pf_netdev: "enp1s0".into(),
            vf_index: 0,
            mode: VfMode::Netdev,
            driver: None,
            vdpa_device: None,
            host_ifname: "enp1s0v0".into(),
            host_mac: Some("02:00:00:00:00:01".into()),
            host_mtu: Some(1500),
            host_up: true,
            saved_vf: SavedVf::default(),
            applied_vf: SavedVf::default(),
            netns: "/run/netns/x".into(),
            device_info_file: None,
            device_info_kept: None,
            network: "sriov-net".into(),
        };
        assert_eq!(store.load("c1", "net1").unwrap(), None);
        let _lock = store.lock_device(r.device.as_str()).unwrap();
        store.save(&r).unwrap();
        assert_eq!(store.load("c1", "net1").unwrap(), Some(r.clone()));
        assert_eq!(store.holder_of("0000:01:10.0").unwrap(), Some(r));
        store.remove("c1", "net1").unwrap();
        store.remove("c1", "net1").unwrap();
        assert!(store.all().unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Records written by the binary before the store moved to nfv-records (fixtures saved by
    /// that code, and a first-release record without `mode`): the new store finds them, keyed
    /// and locked as before, and writes the same bytes back.
    #[test]
    fn records_of_earlier_binaries_load_and_save_byte_for_byte() {
        let dir = std::env::temp_dir().join(format!("sriov-records-fx-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let written = [
            (
                "0123456789abcdef-net1.json",
                &include_bytes!("../tests/fixtures/0123456789abcdef-net1.json")[..],
            ),
            (
                "fedcba9876543210-net2.json",
                &include_bytes!("../tests/fixtures/fedcba9876543210-net2.json")[..],
            ),
        ];
        let first_release = (
            "1111111111111111-net1.json",
            &include_bytes!("../tests/fixtures/1111111111111111-net1.json")[..],
        );
        for (name, bytes) in written.iter().chain([&first_release]) {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        let store = RecordStore::new(&dir);
        let netdev = store.load("0123456789abcdef", "net1").unwrap().unwrap();
        assert_eq!(netdev.mode, VfMode::Netdev);
        assert_eq!(
            (netdev.host_ifname.as_str(), netdev.host_up),
            ("enp1s0f0v1", true)
        );
        assert_eq!(netdev.saved_vf.vlan, Some((0, 0, false)));
        assert_eq!(netdev.saved_vf.link_state, Some(0));
        let userspace = store.holder_of("0000:01:10.2").unwrap().unwrap();
        assert_eq!(
            (userspace.mode, userspace.driver.as_deref()),
            (VfMode::Userspace, Some("vfio-pci"))
        );
        assert_eq!(userspace.saved_vf.vlan, Some((100, 3, true)));
        let old = store.load("1111111111111111", "net1").unwrap().unwrap();
        assert_eq!(
            (old.mode, old.host_up, old.device_info_file.clone()),
            (VfMode::Netdev, false, None)
        );
        assert_eq!(old.vdpa_device, None);
        assert_eq!(store.all().unwrap().len(), 3);
        // The lock file has the name the earlier binary used (`<pci address>.lock`).
        drop(store.lock_device("0000:01:10.1").unwrap());
        assert!(dir.join("0000:01:10.1.lock").exists());
        for (name, _) in written {
            std::fs::remove_file(dir.join(name)).unwrap();
        }
        store.save(&netdev).unwrap();
        store.save(&userspace).unwrap();
        for (name, bytes) in written {
            assert_eq!(std::fs::read(dir.join(name)).unwrap(), bytes, "{name}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_vdpa_hand_off_record_names_its_device_and_others_do_not_grow() {
        let old = r#"{"containerId":"c","ifname":"net1","device":"0000:01:10.0","pfNetdev":"p",
            "vfIndex":0,"hostIfname":"","hostMac":null,"hostMtu":null,
            "savedVf":{"mac":null,"vlan":null,"spoofchk":null,"trust":null,"rate":null,
            "link_state":null},"netns":"/run/netns/x"}"#;
        let r: Record = serde_json::from_str(old).unwrap();
        assert!(!serde_json::to_string(&r).unwrap().contains("vdpaDevice"));
        let v = Record {
            mode: VfMode::Vdpa,
            vdpa_device: Some("vdpa0".into()),
            ..r
        };
        let text = serde_json::to_string(&v).unwrap();
        assert!(
            text.contains(r#""mode":"vdpa","driver":null,"vdpaDevice":"vdpa0""#),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Record>(&text).unwrap(), v);
    }
}
