//! The sriov network configuration: sriov-cni's fields, unchanged, plus `mtu`; validated so
//! that a wrong value is an error naming the field, never silently ignored.
//!
//! [`plan`] turns a validated config (and the runtime's arguments) into what the VF should look
//! like: pure, so every rule is unit-tested without a NIC.

use nfv_cni::{CniArgs, Error};
use nfv_netlink::{MacAddr, VfLinkState, VfSetting, VlanProto};
use nfv_pci::PciAddress;
use nfv_plugin::conf::{agreed_device_id, invalid, requested_mac, runtime_str};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The plugin-specific keys (the spec keys are read by the runner into `NetConf`).
/// Field names are sriov-cni's, so existing NetworkAttachmentDefinitions keep working.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SriovConf {
    /// VF PCI address, as Multus injects it from the device plugin allocation.
    #[serde(rename = "deviceID", default)]
    pub device_id: Option<String>,
    /// VLAN ID, 0-4094; 0 removes the tag.
    #[serde(default)]
    pub vlan: Option<i64>,
    /// 802.1p priority, 0-7; needs `vlan`.
    #[serde(rename = "vlanQoS", default)]
    pub vlan_qos: Option<i64>,
    /// "802.1Q" (default) or "802.1ad"; needs `vlan`.
    #[serde(rename = "vlanProto", default)]
    pub vlan_proto: Option<String>,
    /// MAC for the VF (admin MAC on the PF and the netdev's own).
    #[serde(default)]
    pub mac: Option<String>,
    /// "on" or "off" ("" = untouched, as in sriov-cni).
    #[serde(default)]
    pub spoofchk: Option<String>,
    /// "on" or "off" ("" = untouched, as in sriov-cni).
    #[serde(default)]
    pub trust: Option<String>,
    /// "auto", "enable" or "disable".
    #[serde(default)]
    pub link_state: Option<String>,
    /// Mbps, 0 = no minimum.
    #[serde(default)]
    pub min_tx_rate: Option<i64>,
    /// Mbps, 0 = no limit.
    #[serde(default)]
    pub max_tx_rate: Option<i64>,
    /// MTU of the VF netdev in the pod (not in sriov-cni).
    #[serde(default)]
    pub mtu: Option<i64>,
    #[serde(rename = "runtimeConfig", default)]
    pub runtime_config: Option<Map<String, Value>>,
}

/// What the VF should look like for this attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub device: PciAddress,
    /// Settings to apply through the PF, in order; only what the config asks for.
    pub vf_settings: Vec<VfSetting>,
    /// MAC for the VF netdev (and admin MAC), after precedence.
    pub mac: Option<MacAddr>,
    pub mtu: Option<u32>,
}

/// How a value that sriov-cni reads leniently is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// ADD: a value sriov-cni would silently misread is refused, naming what it would have
    /// done, before anything is touched.
    Add,
    /// CHECK: read as sriov-cni read it. ADD refuses such a value, so an attachment carrying
    /// one was made by sriov-cni, which applied its own reading; CHECK compares with that.
    Check,
}

/// `spoofchk` / `trust`: "on" or "off"; absent or "" is untouched (sriov-cni skips an empty
/// value). sriov-cni reads any other value as off (`"true"` turns the feature off): ADD
/// refuses it, CHECK takes it as sriov-cni did, with a warning. `feature` names it in words.
fn on_off(
    field: &str,
    feature: &str,
    v: &Option<String>,
    reading: Reading,
) -> Result<Option<bool>, Error> {
    match v.as_deref() {
        None | Some("") => Ok(None),
        Some("on") => Ok(Some(true)),
        Some("off") => Ok(Some(false)),
        Some(other) if reading == Reading::Check => {
            nfv_cni::warn!(
                "{field}: {other:?} is read as \"off\", as sriov-cni read it; write \"on\" or \"off\""
            );
            Ok(Some(false))
        }
        Some(other) => Err(invalid(
            field,
            format!(
                "{other:?} is not allowed: use \"on\" or \"off\". sriov-cni reads every value \
                 but \"on\" as off, so with it this config turned {feature} off: write \"off\" \
                 to keep that, or \"on\" if that was meant"
            ),
        )),
    }
}

fn ranged(field: &str, v: Option<i64>, min: i64, max: i64) -> Result<Option<u32>, Error> {
    match v {
        None => Ok(None),
        Some(n) if (min..=max).contains(&n) => Ok(u32::try_from(n).ok()),
        Some(n) => Err(invalid(field, format!("{n} is out of range {min}-{max}"))),
    }
}

/// The VF PCI address: top-level `deviceID` or `runtimeConfig.deviceID` (they must agree).
pub fn device(conf: &SriovConf) -> Result<PciAddress, Error> {
    // The parse error says what is wrong with the value; the field is named once, here.
    let address = |field: &str, s: &str| s.parse::<PciAddress>().map_err(|e| invalid(field, e));
    let top = conf
        .device_id
        .as_deref()
        .map(|s| address("deviceID", s))
        .transpose()?;
    let rc = runtime_str(&conf.runtime_config, "deviceID")?
        .map(|s| address("runtimeConfig.deviceID", s))
        .transpose()?;
    match agreed_device_id(top, rc, "VF")? {
        Some(a) => Ok(a),
        None => Err(invalid(
            "deviceID",
            "missing: the VF's PCI address comes from the device plugin through Multus \
             (deviceID) or from runtimeConfig.deviceID",
        )),
    }
}

/// Validate the config and work out the VF's target state (for ADD). `args` is CNI_ARGS (for
/// `MAC=`).
pub fn plan(conf: &SriovConf, args: &CniArgs) -> Result<Plan, Error> {
    plan_as(conf, args, Reading::Add)
}

/// [`plan`] for CHECK: `spoofchk` and `trust` read as sriov-cni read them (see [`Reading`]).
pub fn plan_for_check(conf: &SriovConf, args: &CniArgs) -> Result<Plan, Error> {
    plan_as(conf, args, Reading::Check)
}

fn plan_as(conf: &SriovConf, args: &CniArgs, reading: Reading) -> Result<Plan, Error> {
    let device = device(conf)?;
    let mut vf_settings = Vec::new();

    // MAC precedence: config < CNI_ARGS MAC= < runtimeConfig.mac.
    let mac = requested_mac(conf.mac.as_deref(), args, || {
        runtime_str(&conf.runtime_config, "mac")
    })?;
    if let Some(m) = mac {
        vf_settings.push(VfSetting::Mac(m));
    }

    let vlan = ranged("vlan", conf.vlan, 0, 4094)?;
    let qos = ranged("vlanQoS", conf.vlan_qos, 0, 7)?;
    let proto = match conf
        .vlan_proto
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None => None,
        Some("802.1q") => Some(VlanProto::Dot1Q),
        Some("802.1ad") => Some(VlanProto::Dot1Ad),
        Some(_) => {
            return Err(invalid(
                "vlanProto",
                format!(
                    "{:?} is not allowed: use \"802.1Q\" or \"802.1ad\"",
                    conf.vlan_proto.as_deref().unwrap_or_default()
                ),
            ))
        }
    };
    match vlan {
        None => {
            if qos.is_some() {
                return Err(invalid("vlanQoS", "needs vlan to be set"));
            }
            if proto.is_some() {
                return Err(invalid("vlanProto", "needs vlan to be set"));
            }
        }
        Some(v) => {
            let qos = qos.unwrap_or(0);
            let proto = proto.unwrap_or_default();
            if v == 0 && qos != 0 {
                return Err(invalid("vlanQoS", "a non-zero QoS needs a non-zero vlan"));
            }
            if v == 0 && proto == VlanProto::Dot1Ad {
                return Err(invalid("vlanProto", "802.1ad needs a non-zero vlan"));
            }
            vf_settings.push(VfSetting::Vlan {
                vlan: v,
                qos,
                proto,
            });
        }
    }

    if let Some(s) = on_off("spoofchk", "spoof checking", &conf.spoofchk, reading)? {
        vf_settings.push(VfSetting::SpoofCheck(s));
    }
    if let Some(t) = on_off("trust", "trust", &conf.trust, reading)? {
        vf_settings.push(VfSetting::Trust(t));
    }

    let min = ranged("min_tx_rate", conf.min_tx_rate, 0, i64::from(u32::MAX))?;
    let max = ranged("max_tx_rate", conf.max_tx_rate, 0, i64::from(u32::MAX))?;
    if let (Some(lo), Some(hi)) = (min, max) {
        if hi != 0 && lo > hi {
            return Err(invalid(
                "min_tx_rate",
                format!("{lo} is above max_tx_rate {hi}"),
            ));
        }
    }
    if min.is_some() || max.is_some() {
        vf_settings.push(VfSetting::Rate {
            min_mbps: min.unwrap_or(0),
            max_mbps: max.unwrap_or(0),
        });
    }

    match conf.link_state.as_deref() {
        None => {}
        Some("auto") => vf_settings.push(VfSetting::LinkState(VfLinkState::Auto)),
        Some("enable") => vf_settings.push(VfSetting::LinkState(VfLinkState::Enable)),
        Some("disable") => vf_settings.push(VfSetting::LinkState(VfLinkState::Disable)),
        Some(other) => {
            return Err(invalid(
                "link_state",
                format!("{other:?} is not allowed: use \"auto\", \"enable\" or \"disable\""),
            ))
        }
    }

    let mtu = ranged("mtu", conf.mtu, 68, 65535)?;
    Ok(Plan {
        device,
        vf_settings,
        mac,
        mtu,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nfv_cni::code;
    use serde_json::json;

    fn conf(v: Value) -> SriovConf {
        serde_json::from_value(v).unwrap()
    }

    fn args(s: &str) -> CniArgs {
        CniArgs::parse(s).unwrap()
    }

    fn err(v: Value) -> String {
        let e = plan(&conf(v), &args("")).unwrap_err();
        assert_eq!(e.code, code::INVALID_CONFIG, "{}", e.msg);
        e.msg
    }

    #[test]
    fn a_full_sriov_cni_config() {
        let p = plan(
            &conf(json!({
                "deviceID": "0000:01:10.0", "vlan": 100, "vlanQoS": 3, "vlanProto": "802.1ad",
                "mac": "02:00:00:00:00:01", "spoofchk": "off", "trust": "on",
                "min_tx_rate": 10, "max_tx_rate": 100, "link_state": "enable", "mtu": 9000
            })),
            &args(""),
        )
        .unwrap();
        assert_eq!(p.device.to_string(), "0000:01:10.0");
        let mac: MacAddr = "02:00:00:00:00:01".parse().unwrap();
        assert_eq!(
            p.vf_settings,
            vec![
                VfSetting::Mac(mac),
                VfSetting::Vlan {
                    vlan: 100,
                    qos: 3,
                    proto: VlanProto::Dot1Ad
                },
                VfSetting::SpoofCheck(false),
                VfSetting::Trust(true),
                VfSetting::Rate {
                    min_mbps: 10,
                    max_mbps: 100
                },
                VfSetting::LinkState(VfLinkState::Enable),
            ]
        );
        assert_eq!((p.mac, p.mtu), (Some(mac), Some(9000)));
    }

    #[test]
    fn only_what_is_configured_is_touched() {
        let p = plan(&conf(json!({"deviceID": "0000:01:10.0"})), &args("")).unwrap();
        assert!(p.vf_settings.is_empty());
        assert_eq!((p.mac, p.mtu), (None, None));
    }

    #[test]
    fn mac_precedence_config_then_args_then_runtime_config() {
        let c = json!({"deviceID": "0000:01:10.0", "mac": "02:00:00:00:00:01"});
        let p = plan(
            &conf(c.clone()),
            &args("IgnoreUnknown=1;MAC=02:00:00:00:00:02"),
        )
        .unwrap();
        assert_eq!(p.mac.unwrap().to_string(), "02:00:00:00:00:02");
        let mut c2 = c;
        c2["runtimeConfig"] = json!({"mac": "02:00:00:00:00:03"});
        let p = plan(&conf(c2), &args("MAC=02:00:00:00:00:02")).unwrap();
        assert_eq!(p.mac.unwrap().to_string(), "02:00:00:00:00:03");
    }

    #[test]
    fn device_id_sources() {
        let p = plan(
            &conf(json!({"runtimeConfig": {"deviceID": "01:10.2"}})),
            &args(""),
        )
        .unwrap();
        assert_eq!(p.device.to_string(), "0000:01:10.2");
        assert!(err(json!({})).starts_with("deviceID: missing"));
        assert!(err(
            json!({"deviceID": "0000:01:10.0", "runtimeConfig": {"deviceID": "0000:01:10.2"}})
        )
        .contains("disagrees"));
        let m = err(json!({"deviceID": "0000:01:1"}));
        assert!(
            m.starts_with("deviceID: \"0000:01:1\" is not a PCI address"),
            "{m}"
        );
        assert!(err(json!({"runtimeConfig": {"deviceID": 5}})).contains("must be a string"));
    }

    #[test]
    fn values_sriov_cni_silently_ignored_are_errors_naming_the_field() {
        let base = |extra: Value| {
            let mut v = json!({"deviceID": "0000:01:10.0"});
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            err(v)
        };
        assert!(base(json!({"spoofchk": "yes"})).starts_with("spoofchk: \"yes\" is not allowed"));
        assert!(base(json!({"trust": "true"})).starts_with("trust:"));
        assert!(base(json!({"link_state": "up"})).starts_with("link_state:"));
        assert!(base(json!({"vlan": 4095})).starts_with("vlan: 4095 is out of range"));
        assert!(base(json!({"vlan": -1})).starts_with("vlan:"));
        assert!(base(json!({"vlanQoS": 1})).starts_with("vlanQoS: needs vlan"));
        assert!(base(json!({"vlan": 0, "vlanQoS": 1})).starts_with("vlanQoS: a non-zero QoS"));
        assert!(base(json!({"vlan": 5, "vlanQoS": 8})).starts_with("vlanQoS:"));
        assert!(base(json!({"vlanProto": "802.1ad"})).starts_with("vlanProto: needs vlan"));
        assert!(base(json!({"vlan": 0, "vlanProto": "802.1ad"})).starts_with("vlanProto: 802.1ad"));
        assert!(base(json!({"vlan": 5, "vlanProto": "qinq"})).starts_with("vlanProto:"));
        assert!(base(json!({"min_tx_rate": 200, "max_tx_rate": 100}))
            .starts_with("min_tx_rate: 200 is above"));
        assert!(base(json!({"mac": "02:00:00:00:00"})).starts_with("mac:"));
        assert!(base(json!({"mac": "01:00:5e:00:00:01"})).contains("not a unicast"));
        assert!(base(json!({"mtu": 20})).starts_with("mtu:"));
        let e = plan(&conf(json!({"deviceID": "0000:01:10.0"})), &args("MAC=zz")).unwrap_err();
        assert!(e.msg.starts_with("CNI_ARGS MAC:"), "{}", e.msg);
    }

    /// sriov-cni sets spoof checking / trust on for "on" only and off for any other non-empty
    /// value: `"true"` silently means off there. ADD refuses it saying so; CHECK, which only
    /// meets such a value on an attachment sriov-cni made, reads it the same way.
    #[test]
    fn on_off_values_sriov_cni_misreads_are_refused_at_add_and_read_its_way_at_check() {
        for (field, feature) in [("spoofchk", "spoof checking"), ("trust", "trust")] {
            for value in ["true", "On", "yes", "1"] {
                let c = conf(json!({"deviceID": "0000:01:10.0", field: value}));
                let e = plan(&c, &args("")).unwrap_err();
                assert_eq!(e.code, code::INVALID_CONFIG);
                assert!(
                    e.msg
                        .starts_with(&format!("{field}: {value:?} is not allowed")),
                    "{}",
                    e.msg
                );
                assert!(
                    e.msg.contains(&format!("this config turned {feature} off"))
                        && e.msg.contains("write \"off\" to keep that"),
                    "says what sriov-cni did and the fix: {}",
                    e.msg
                );
                let p = plan_for_check(&c, &args("")).unwrap();
                let off = if field == "trust" {
                    VfSetting::Trust(false)
                } else {
                    VfSetting::SpoofCheck(false)
                };
                assert_eq!(p.vf_settings, vec![off], "{field}={value}");
            }
            // Empty: sriov-cni leaves the setting alone, and so does every verb here.
            let c = conf(json!({"deviceID": "0000:01:10.0", field: ""}));
            assert!(plan(&c, &args("")).unwrap().vf_settings.is_empty());
            assert!(plan_for_check(&c, &args(""))
                .unwrap()
                .vf_settings
                .is_empty());
        }
    }

    #[test]
    fn min_rate_without_max_is_fine_and_proto_is_case_insensitive() {
        let p = plan(
            &conf(json!({"deviceID": "0000:01:10.0", "min_tx_rate": 5, "vlan": 7, "vlanProto": "802.1Q"})),
            &args(""),
        )
        .unwrap();
        assert!(p.vf_settings.contains(&VfSetting::Rate {
            min_mbps: 5,
            max_mbps: 0
        }));
        assert!(p.vf_settings.contains(&VfSetting::Vlan {
            vlan: 7,
            qos: 0,
            proto: VlanProto::Dot1Q
        }));
    }
}
