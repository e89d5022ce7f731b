//! Drift: where the node differs from what was recorded. Plain functions over plain data.

use nfv_netlink::{VfInfo, VfLinkState, VlanProto};
use serde::Serialize;
use sriov::record::SavedVf;

/// The kinds, as `--json` names them (docs/nfvctl.md says what to do about each).
pub const VF_SETTINGS_CHANGED: &str = "vf-settings-changed";
pub const NETNS_GONE: &str = "netns-gone";
pub const VF_GONE: &str = "vf-gone";
pub const VDPA_DEVICE_GONE: &str = "vdpa-device-gone";
pub const OVS_PORT_GONE: &str = "ovs-port-gone";
pub const OVS_PORT_ERROR: &str = "ovs-port-error";
pub const OVS_PORT_WITHOUT_RECORD: &str = "ovs-port-without-record";
pub const LEASE_WITHOUT_ATTACHMENT: &str = "lease-without-attachment";

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub kind: &'static str,
    pub detail: String,
}

impl Drift {
    pub fn new(kind: &'static str, detail: impl Into<String>) -> Drift {
        Drift {
            kind,
            detail: detail.into(),
        }
    }
}

fn link_state(l: VfLinkState) -> u32 {
    match l {
        VfLinkState::Auto => 0,
        VfLinkState::Enable => 1,
        VfLinkState::Disable => 2,
    }
}

fn on(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

fn vlan_words((vlan, qos, ad): (u32, u32, bool)) -> String {
    format!(
        "vlan {vlan} qos {qos} proto {}",
        if ad { "802.1ad" } else { "802.1Q" }
    )
}

fn state_words(l: u32) -> &'static str {
    match l {
        0 => "auto",
        1 => "enable",
        2 => "disable",
        _ => "?",
    }
}

/// The settings ADD applied that the PF no longer shows, each as "<applied> set at ADD, now
/// <now>" in `ip link set <pf> vf N` words. A setting the driver does not report is not
/// compared.
pub fn vf_settings(applied: &SavedVf, now: &VfInfo) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(m) = &applied.mac {
        if !m.eq_ignore_ascii_case(&now.mac.to_string()) {
            out.push(format!("mac {m} set at ADD, now mac {}", now.mac));
        }
    }
    if let Some(v) = applied.vlan {
        let n = (now.vlan, now.qos, now.vlan_proto == VlanProto::Dot1Ad);
        if v != n {
            out.push(format!(
                "{} set at ADD, now {}",
                vlan_words(v),
                vlan_words(n)
            ));
        }
    }
    if let (Some(a), Some(n)) = (applied.spoofchk, now.spoofchk) {
        if a != n {
            out.push(format!("spoofchk {} set at ADD, now {}", on(a), on(n)));
        }
    }
    if let (Some(a), Some(n)) = (applied.trust, now.trust) {
        if a != n {
            out.push(format!("trust {} set at ADD, now {}", on(a), on(n)));
        }
    }
    if let Some((min, max)) = applied.rate {
        if (min, max) != (now.min_tx_rate, now.max_tx_rate) {
            out.push(format!(
                "min_tx_rate {min} max_tx_rate {max} set at ADD, now min_tx_rate {} \
                 max_tx_rate {}",
                now.min_tx_rate, now.max_tx_rate
            ));
        }
    }
    if let (Some(a), Some(n)) = (applied.link_state, now.link_state.map(link_state)) {
        if a != n {
            out.push(format!(
                "state {} set at ADD, now {}",
                state_words(a),
                state_words(n)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_add_applied_and_the_driver_reports_is_compared() {
        let applied = SavedVf {
            vlan: Some((100, 0, false)),
            spoofchk: Some(false),
            trust: Some(true),
            mac: Some("02:00:00:00:00:09".into()),
            ..Default::default()
        };
        let mut now = VfInfo {
            vlan: 100,
            mac: "02:00:00:00:00:09".parse().unwrap(),
            spoofchk: Some(false),
            trust: None,      // not reported: not compared
            max_tx_rate: 300, // not applied: not compared
            ..Default::default()
        };
        assert!(vf_settings(&applied, &now).is_empty());
        now.vlan = 200;
        now.spoofchk = Some(true);
        assert_eq!(
            vf_settings(&applied, &now),
            [
                "vlan 100 qos 0 proto 802.1Q set at ADD, now vlan 200 qos 0 proto 802.1Q",
                "spoofchk off set at ADD, now on"
            ]
        );
        now.vlan = 100;
        now.vlan_proto = VlanProto::Dot1Ad;
        assert_eq!(
            vf_settings(&applied, &now).len(),
            2,
            "802.1ad is not 802.1Q"
        );
    }
}
