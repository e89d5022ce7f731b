//! sriov-cni's cache file as its `pkg/types` NetConf writes it (one JSON object: the CNI keys,
//! its own fields, and `OrigVfState`, the VF as it was before ADD), read as untrusted input:
//! every field is validated on its own, and one that is not what sriov-cni writes is not acted
//! on (and said why); the rest still is.
//!
//! What sriov-cni's DEL restores, and so what is restored here: the VF settings its ADD
//! changed, i.e. those the cached config asks for (`vlan`, `spoofchk`, `trust`, `MAC`,
//! `min_tx_rate`/`max_tx_rate`, `link_state`), each back to `OrigVfState`; the netdev under
//! `HostIFName`, with `EffectiveMAC` when ADD set a MAC, and `MTU` when it was captured. A
//! setting the config did not ask for was never touched and stays as it is now.

use nfv_cni::gojson::GoValue;
use nfv_netlink::{MacAddr, VfSetting, VlanProto};
use nfv_pci::{PciAddress, VfDevice};
use serde::Deserialize;
use serde_json::Value;

use crate::record::{Record, SavedVf, VfMode};

/// The keys a teardown reads, each as it came (JSON `null` when absent), so that one bad value
/// spoils only itself. Decoded with Go's key matching, as sriov-cni reads its own file.
#[derive(Debug, Default, Deserialize)]
struct RawNetConf {
    #[serde(default)]
    name: Value,
    #[serde(rename = "deviceID", default)]
    device_id: Value,
    #[serde(rename = "Master", default)]
    master: Value,
    #[serde(rename = "VFID", default)]
    vf_id: Value,
    #[serde(rename = "MAC", default)]
    mac: Value,
    #[serde(default)]
    vlan: Value,
    #[serde(default)]
    spoofchk: Value,
    #[serde(default)]
    trust: Value,
    #[serde(default)]
    link_state: Value,
    #[serde(default)]
    min_tx_rate: Value,
    #[serde(default)]
    max_tx_rate: Value,
    #[serde(rename = "OrigVfState", default)]
    orig: Value,
}

/// `OrigVfState` (sriov-cni's `VfState`).
#[derive(Debug, Default, Deserialize)]
#[allow(non_snake_case)]
struct RawVfState {
    #[serde(default)]
    HostIFName: Value,
    #[serde(default)]
    SpoofChk: Value,
    #[serde(default)]
    Trust: Value,
    #[serde(default)]
    AdminMAC: Value,
    #[serde(default)]
    EffectiveMAC: Value,
    #[serde(default)]
    Vlan: Value,
    #[serde(default)]
    VlanQoS: Value,
    #[serde(default)]
    VlanProto: Value,
    #[serde(default)]
    MinTxRate: Value,
    #[serde(default)]
    MaxTxRate: Value,
    #[serde(default)]
    LinkState: Value,
    #[serde(default)]
    MTU: Value,
}

/// What a teardown may act on, from one cache file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cache {
    /// The network (`name`): GC of a network only looks at its own attachments.
    pub network: Option<String>,
    /// `deviceID`: the VF.
    pub device: Option<PciAddress>,
    /// `Master` and `VFID`: the PF netdev and the VF's index, as sriov-cni saw them; acted on
    /// only when sysfs says the same of `device`.
    pub master: Option<String>,
    pub vf_id: Option<u32>,
    /// `OrigVfState.HostIFName`: the netdev's name before ADD (none in DPDK mode).
    pub host_ifname: Option<String>,
    /// `OrigVfState.EffectiveMAC`, when ADD set a MAC (`MAC`): the netdev's own MAC before.
    pub host_mac: Option<MacAddr>,
    /// `OrigVfState.MTU`, when sriov-cni captured it (not 0).
    pub host_mtu: Option<u32>,
    /// The VF settings ADD changed, as they were before ADD.
    pub saved_vf: SavedVf,
    /// What is not acted on, and why, one sentence each.
    pub ignored: Vec<String>,
}

/// Parse a cache file. An error only when it is not a JSON object at all; a field that is not
/// what sriov-cni writes is left out and named in [`Cache::ignored`].
pub fn parse(bytes: &[u8]) -> Result<Cache, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    if !value.is_object() {
        return Err("not a JSON object".into());
    }
    let raw = RawNetConf::deserialize(GoValue(value)).map_err(|e| e.to_string())?;
    let mut c = Cache::default();
    let mut ignored = Vec::new();
    let mut bad = |field: &str, v: &Value, why: &str| ignored.push(format!("{field} {v}: {why}"));

    c.network = text(&raw.name).filter(|n| nfv_cni::env::matches_id_pattern(n));
    if c.network.is_none() && !raw.name.is_null() {
        bad("name", &raw.name, "not a network name");
    }
    c.device = text(&raw.device_id).and_then(|d| d.parse().ok());
    if c.device.is_none() {
        bad("deviceID", &raw.device_id, "not a PCI address");
    }
    c.master = text(&raw.master).filter(|m| nfv_netlink::validate_ifname(m).is_ok());
    if c.master.is_none() {
        bad("Master", &raw.master, "not an interface name");
    }
    c.vf_id = number(&raw.vf_id, u64::from(u32::MAX)).map(|n| n as u32);
    if c.vf_id.is_none() {
        bad("VFID", &raw.vf_id, "not a VF index");
    }

    if !raw.orig.is_object() {
        bad(
            "OrigVfState",
            &raw.orig,
            "not an object: nothing of the VF is restored",
        );
        c.ignored = ignored;
        return Ok(c);
    }
    let s = RawVfState::deserialize(GoValue(raw.orig.clone())).unwrap_or_default();
    match &s.HostIFName {
        Value::String(n) if n.is_empty() => {} // DPDK mode: no netdev
        v => match text(v).filter(|n| nfv_netlink::validate_ifname(n).is_ok()) {
            Some(n) => c.host_ifname = Some(n),
            None => bad("OrigVfState.HostIFName", v, "not an interface name"),
        },
    }
    match &s.MTU {
        Value::Number(n) if n.as_u64() == Some(0) => {} // not captured
        Value::Null => {}
        v => match number(v, 65535).filter(|m| *m >= 68) {
            Some(m) => c.host_mtu = Some(m as u32),
            None => bad("OrigVfState.MTU", v, "not an MTU (68-65535)"),
        },
    }

    // Which settings ADD changed: the cached config's fields, read as sriov-cni's DEL reads
    // them (a number, or a non-empty string).
    let mut changed = |field: &str, v: &Value| match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Number(_) => true,
        _ => {
            bad(
                field,
                v,
                "not a value sriov-cni writes: that setting is left as it is",
            );
            false
        }
    };
    let mac_changed = changed("MAC", &raw.mac);
    let vlan_changed = changed("vlan", &raw.vlan);
    let spoofchk_changed = changed("spoofchk", &raw.spoofchk);
    let trust_changed = changed("trust", &raw.trust);
    let rate_changed =
        changed("min_tx_rate", &raw.min_tx_rate) | changed("max_tx_rate", &raw.max_tx_rate);
    let link_state_changed = changed("link_state", &raw.link_state);
    let mut bad = |field: &str, v: &Value, why: &str| {
        bad(
            &format!("OrigVfState.{field}"),
            v,
            &format!("{why}: left as it is"),
        )
    };

    if mac_changed {
        match mac(&s.AdminMAC) {
            Some(m) => c.saved_vf.mac = Some(m.to_string()),
            None => bad("AdminMAC", &s.AdminMAC, "not a MAC address"),
        }
        match mac(&s.EffectiveMAC) {
            Some(m) => c.host_mac = Some(m),
            None => bad("EffectiveMAC", &s.EffectiveMAC, "not a MAC address"),
        }
    }
    if vlan_changed {
        match (
            number(&s.Vlan, 4094),
            number(&s.VlanQoS, 7),
            vlan_proto(&s.VlanProto),
        ) {
            (Some(v), Some(q), Some(p)) => {
                c.saved_vf.vlan = Some((v as u32, q as u32, p == VlanProto::Dot1Ad))
            }
            (None, _, _) => bad("Vlan", &s.Vlan, "not a VLAN ID (0-4094)"),
            (_, None, _) => bad("VlanQoS", &s.VlanQoS, "not a priority (0-7)"),
            (_, _, None) => bad("VlanProto", &s.VlanProto, "not 802.1Q or 802.1ad"),
        }
    }
    if spoofchk_changed {
        match s.SpoofChk.as_bool() {
            Some(b) => c.saved_vf.spoofchk = Some(b),
            None => bad("SpoofChk", &s.SpoofChk, "not true or false"),
        }
    }
    if trust_changed {
        // Absent from caches of sriov-cni releases before it read trust back; those turned
        // trust off at DEL, which is also the safe side.
        match s.Trust.as_bool().or(s.Trust.is_null().then_some(false)) {
            Some(b) => c.saved_vf.trust = Some(b),
            None => bad("Trust", &s.Trust, "not true or false"),
        }
    }
    if rate_changed {
        let rate = |v: &Value| number(v, u64::from(u32::MAX)).map(|n| n as u32);
        match (rate(&s.MinTxRate), rate(&s.MaxTxRate)) {
            (Some(min), Some(max)) => c.saved_vf.rate = Some((min, max)),
            (None, _) => bad("MinTxRate", &s.MinTxRate, "not a rate in Mbps"),
            (_, None) => bad("MaxTxRate", &s.MaxTxRate, "not a rate in Mbps"),
        }
    }
    if link_state_changed {
        match number(&s.LinkState, 2) {
            Some(l) => c.saved_vf.link_state = Some(l as u32),
            None => bad(
                "LinkState",
                &s.LinkState,
                "not auto (0), enable (1) or disable (2)",
            ),
        }
    }
    c.ignored = ignored;
    Ok(c)
}

fn text(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

/// A whole number from 0 to `max` (Go wrote an `int`; 1.5 or -1 is not one).
fn number(v: &Value, max: u64) -> Option<u64> {
    v.as_u64().filter(|n| *n <= max)
}

fn mac(v: &Value) -> Option<MacAddr> {
    v.as_str()?.parse().ok()
}

/// `VlanProto`: the ethertype as vishvananda/netlink reports it; 0 or absent (a cache written
/// before the field existed) is 802.1Q, as sriov-cni reads it. On s390x sriov-cni wrote the
/// two bytes swapped (0x81, 0xa888): read those too.
fn vlan_proto(v: &Value) -> Option<VlanProto> {
    if v.is_null() {
        return Some(VlanProto::Dot1Q);
    }
    match v.as_u64()? {
        0 | 0x8100 | 0x0081 => Some(VlanProto::Dot1Q),
        0x88a8 | 0xa888 => Some(VlanProto::Dot1Ad),
        _ => None,
    }
}

impl Cache {
    /// The record DEL, GC and CHECK act on for VF `vf` (the config's, or this cache's when
    /// the config names none; the caller checked `device` is it): the netdev and the VF
    /// settings as they were before sriov-cni's ADD. The VF settings only when `Master` and
    /// `VFID` are what sysfs says of the VF; else they are left as they are, and said so in
    /// the second value. `ifname` is the pod's interface name (for GC, a guess from the file
    /// name: the netdev is found by its PCI address anyway).
    pub fn record(
        &self,
        vf: &VfDevice,
        container_id: &str,
        ifname: &str,
        netns: String,
        network: &str,
    ) -> (Record, Vec<String>) {
        let mut notes = Vec::new();
        let same_vf =
            self.master.as_deref() == Some(vf.pf_netdev.as_str()) && self.vf_id == Some(vf.index);
        let saved_vf = if same_vf {
            self.saved_vf.clone()
        } else {
            if self.saved_vf != SavedVf::default() {
                notes.push(format!(
                    "Master {:?} / VFID {:?} are not what sysfs says of VF {} ({} / {}): its \
                     VF settings are left as they are",
                    self.master.as_deref().unwrap_or(""),
                    self.vf_id,
                    vf.address,
                    vf.pf_netdev,
                    vf.index
                ));
            }
            SavedVf::default()
        };
        let userspace = vf.is_userspace();
        let record = Record {
            container_id: container_id.to_string(),
            ifname: ifname.to_string(),
            device: vf.address.into(),
            pf_netdev: vf.pf_netdev.clone(),
            vf_index: vf.index,
            mode: if userspace {
                VfMode::Userspace
            } else {
                VfMode::Netdev
            },
            driver: userspace.then(|| vf.driver.name().unwrap_or("?").to_string()),
            vdpa_device: None,
            host_ifname: if userspace {
                String::new()
            } else {
                self.host_ifname
                    .clone()
                    .unwrap_or_else(|| crate::detach::name_without_record(vf))
            },
            host_mac: self.host_mac.map(|m| m.to_string()),
            host_mtu: self.host_mtu,
            // sriov-cni never brought the netdev up in the host at DEL, nor recorded whether it
            // was: it stays down, as sriov-cni leaves it.
            host_up: false,
            saved_vf,
            // What sriov-cni applied is in its config, not read here (DEL does not need it).
            applied_vf: SavedVf::default(),
            netns,
            device_info_file: None, // sriov-cni writes none
            device_info_kept: None,
            network: self.network.clone().unwrap_or_else(|| network.to_string()),
        };
        (record, notes)
    }

    /// The settings [`Cache::saved_vf`] puts back (for messages and tests).
    pub fn restore_settings(&self) -> Vec<VfSetting> {
        self.saved_vf.restore_settings()
    }
}

#[cfg(test)]
mod tests;
