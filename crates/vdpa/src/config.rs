//! The vdpa network configuration, validated so a wrong value is an error naming the field,
//! and the [`Plan`] it asks for: which device, which driver it must be on, MAC and MTU for a
//! virtio netdev, the device-info file. Pure: every rule is unit-tested without a device.

use std::path::PathBuf;

use nfv_cni::{code, CniArgs, Error};
use nfv_netlink::MacAddr;
use nfv_pci::{parse_pci_address, PciAddress};
use nfv_plugin::conf::{agreed_device_id, invalid, requested_mac};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The plugin-specific keys (the spec keys are read by the runner into `NetConf`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VdpaConf {
    /// The parent PCI function (a VF), as Multus injects it from the device plugin allocation.
    #[serde(rename = "deviceID", default)]
    pub device_id: Option<String>,
    /// The vDPA device's name on the vdpa bus (`vdpa0`), for devices without a PCI parent or
    /// a static setup.
    #[serde(default)]
    pub vdpa_device: Option<String>,
    /// "vhost" or "virtio" (also "vhost_vdpa" / "virtio_vdpa"): refuse a device bound to the
    /// other driver. Absent: whichever it is bound to.
    #[serde(default)]
    pub driver: Option<String>,
    /// MAC for the virtio netdev in the pod.
    #[serde(default)]
    pub mac: Option<String>,
    /// MTU for the virtio netdev in the pod.
    #[serde(default)]
    pub mtu: Option<i64>,
    #[serde(default)]
    pub runtime_config: Option<Map<String, Value>>,
}

/// Which driver a device must be bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// `vhost_vdpa`: the pod gets `/dev/vhost-vdpa-N`.
    Vhost,
    /// `virtio_vdpa`: the pod gets the virtio netdev.
    Virtio,
}

impl Mode {
    /// The vdpa bus driver's name.
    pub fn driver_name(self) -> &'static str {
        match self {
            Mode::Vhost => "vhost_vdpa",
            Mode::Virtio => "virtio_vdpa",
        }
    }

    /// The device-info spec's `driver` value.
    pub fn devinfo_driver(self) -> nfv_devinfo::VdpaDriver {
        match self {
            Mode::Vhost => nfv_devinfo::VdpaDriver::Vhost,
            Mode::Virtio => nfv_devinfo::VdpaDriver::Virtio,
        }
    }
}

/// How the device is named in the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// `vdpaDevice`.
    Name(String),
    /// `deviceID` / `runtimeConfig.deviceID`.
    Parent(PciAddress),
    /// Both: they must name the same device.
    NameAndParent(String, PciAddress),
}

impl Selector {
    /// How the config names the device, for messages.
    pub fn describe(&self) -> String {
        match self {
            Selector::Name(n) => format!("vDPA device {n} (vdpaDevice)"),
            Selector::Parent(p) => format!("the vDPA device on PCI device {p} (deviceID)"),
            Selector::NameAndParent(n, p) => {
                format!("vDPA device {n} on PCI device {p} (vdpaDevice, deviceID)")
            }
        }
    }
}

/// What this attachment asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub selector: Selector,
    pub mode: Option<Mode>,
    /// Virtio mode only.
    pub mac: Option<MacAddr>,
    /// Virtio mode only.
    pub mtu: Option<u32>,
    /// `runtimeConfig.CNIDeviceInfoFile`.
    pub device_info_file: Option<PathBuf>,
}

/// `runtimeConfig.{key}`; an empty string counts as absent here (unlike sriov).
fn runtime_str<'a>(
    rc: &'a Option<Map<String, Value>>,
    key: &str,
) -> Result<Option<&'a str>, Error> {
    Ok(nfv_plugin::conf::runtime_str(rc, key)?.filter(|s| !s.is_empty()))
}

fn pci(field: &str, s: &str) -> Result<PciAddress, Error> {
    parse_pci_address(field, s).map_err(|e| Error::new(code::INVALID_CONFIG, e.to_string()))
}

/// The device: `vdpaDevice`, `deviceID` or `runtimeConfig.deviceID` (the last two must agree).
pub fn selector(conf: &VdpaConf) -> Result<Selector, Error> {
    let top = conf
        .device_id
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| pci("deviceID", s))
        .transpose()?;
    let rc = runtime_str(&conf.runtime_config, "deviceID")?
        .map(|s| pci("runtimeConfig.deviceID", s))
        .transpose()?;
    let parent = agreed_device_id(top, rc, "device")?;
    let name = match conf.vdpa_device.as_deref() {
        None => None,
        Some(n) if n.is_empty() || n == "." || n == ".." || n.contains(['/', '\0']) => {
            return Err(invalid(
                "vdpaDevice",
                format!("{n:?} is not a vDPA device name (as `vdpa dev show` lists it)"),
            ))
        }
        Some(n) => Some(n.to_string()),
    };
    match (name, parent) {
        (Some(n), Some(p)) => Ok(Selector::NameAndParent(n, p)),
        (Some(n), None) => Ok(Selector::Name(n)),
        (None, Some(p)) => Ok(Selector::Parent(p)),
        (None, None) => Err(invalid(
            "deviceID",
            "missing: name the vDPA device by its parent PCI address (deviceID, injected by \
             Multus from the device plugin) or by name (vdpaDevice)",
        )),
    }
}

/// `driver`, if given.
pub fn mode(conf: &VdpaConf) -> Result<Option<Mode>, Error> {
    match conf.driver.as_deref() {
        None => Ok(None),
        Some("vhost") | Some("vhost_vdpa") => Ok(Some(Mode::Vhost)),
        Some("virtio") | Some("virtio_vdpa") => Ok(Some(Mode::Virtio)),
        Some(other) => Err(invalid(
            "driver",
            format!("{other:?} is not allowed: use \"vhost\" or \"virtio\""),
        )),
    }
}

/// `runtimeConfig.CNIDeviceInfoFile`, checked for ADD: a file in the device-info tree
/// (nfv-devinfo), else code 7 naming the field.
pub fn device_info_file(rc: &Option<Map<String, Value>>) -> Result<Option<PathBuf>, Error> {
    nfv_devinfo::requested_path(rc, &nfv_devinfo::place())
}

/// Validate the config for ADD. `args` is CNI_ARGS (for `MAC=`).
/// MAC precedence: `mac` < CNI_ARGS `MAC=` < `runtimeConfig.mac`.
pub fn plan(conf: &VdpaConf, args: &CniArgs) -> Result<Plan, Error> {
    let mut plan = plan_without_device_info(conf, args)?;
    plan.device_info_file = device_info_file(&conf.runtime_config)?;
    Ok(plan)
}

/// The plan for DEL and CHECK: like [`plan`], except that a `CNIDeviceInfoFile` ADD would
/// refuse is no file at all (never an error: those verbs must not fail on it).
pub fn plan_for_teardown(conf: &VdpaConf, args: &CniArgs) -> Result<Plan, Error> {
    let mut plan = plan_without_device_info(conf, args)?;
    plan.device_info_file =
        nfv_devinfo::requested_path_for_teardown(&conf.runtime_config, &nfv_devinfo::place());
    Ok(plan)
}

fn plan_without_device_info(conf: &VdpaConf, args: &CniArgs) -> Result<Plan, Error> {
    let selector = selector(conf)?;
    let mode = mode(conf)?;
    let mac = requested_mac(conf.mac.as_deref(), args, || {
        runtime_str(&conf.runtime_config, "mac")
    })?;
    let mtu = match conf.mtu {
        None => None,
        Some(n) if (68..=65535).contains(&n) => u32::try_from(n).ok(),
        Some(n) => return Err(invalid("mtu", format!("{n} is out of range 68-65535"))),
    };
    if mode == Some(Mode::Vhost) {
        if mac.is_some() {
            return Err(invalid(
                "mac",
                "a vhost_vdpa device has no netdev to set a MAC on: give the MAC when \
                 creating the device (vdpa dev add ... mac) or use driver \"virtio\"",
            ));
        }
        if mtu.is_some() {
            return Err(invalid(
                "mtu",
                "a vhost_vdpa device has no netdev to set an MTU on: the DPDK application \
                 sets it",
            ));
        }
    }
    Ok(Plan {
        selector,
        mode,
        mac,
        mtu,
        device_info_file: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn conf(v: Value) -> VdpaConf {
        serde_json::from_value(v).unwrap()
    }

    fn plan_of(v: Value) -> Result<Plan, Error> {
        plan(&conf(v), &CniArgs::default())
    }

    fn pci(s: &str) -> PciAddress {
        s.parse().unwrap()
    }

    #[test]
    fn device_by_parent_name_or_both() {
        assert_eq!(
            plan_of(json!({"deviceID": "0000:02:00.2"}))
                .unwrap()
                .selector,
            Selector::Parent(pci("0000:02:00.2"))
        );
        assert_eq!(
            plan_of(json!({"runtimeConfig": {"deviceID": "0000:02:00.2"}}))
                .unwrap()
                .selector,
            Selector::Parent(pci("0000:02:00.2"))
        );
        assert_eq!(
            plan_of(json!({"vdpaDevice": "vdpa:0000:02:00.2"}))
                .unwrap()
                .selector,
            Selector::Name("vdpa:0000:02:00.2".into())
        );
        assert_eq!(
            plan_of(json!({"vdpaDevice": "vdpa0", "deviceID": "0000:02:00.2"}))
                .unwrap()
                .selector,
            Selector::NameAndParent("vdpa0".into(), pci("0000:02:00.2"))
        );
    }

    #[test]
    fn bad_device_fields_are_named() {
        for (v, field) in [
            (json!({}), "deviceID:"),
            (json!({"deviceID": "02:00.2x"}), "deviceID:"),
            (
                json!({"runtimeConfig": {"deviceID": "nope"}}),
                "runtimeConfig.deviceID:",
            ),
            (
                json!({"runtimeConfig": {"deviceID": 5}}),
                "runtimeConfig.deviceID:",
            ),
            (
                json!({"deviceID": "0000:02:00.2", "runtimeConfig": {"deviceID": "0000:02:00.3"}}),
                "deviceID:",
            ),
            (json!({"vdpaDevice": "../vdpa0"}), "vdpaDevice:"),
            (json!({"vdpaDevice": ""}), "vdpaDevice:"),
            (json!({"vdpaDevice": "vdpa0", "driver": "vfio"}), "driver:"),
            (json!({"vdpaDevice": "vdpa0", "mtu": 20}), "mtu:"),
            (
                json!({"vdpaDevice": "vdpa0", "mac": "01:00:00:00:00:01"}),
                "mac:",
            ),
            (
                json!({"vdpaDevice": "vdpa0", "runtimeConfig": {"CNIDeviceInfoFile": "x.json"}}),
                "runtimeConfig.CNIDeviceInfoFile:",
            ),
        ] {
            let e = plan_of(v.clone()).unwrap_err();
            assert_eq!(e.code, code::INVALID_CONFIG, "{v}: {}", e.msg);
            assert!(e.msg.starts_with(field), "{v}: {}", e.msg);
        }
    }

    #[test]
    fn driver_spellings_and_vhost_refuses_netdev_settings() {
        for (d, m) in [
            ("vhost", Mode::Vhost),
            ("vhost_vdpa", Mode::Vhost),
            ("virtio", Mode::Virtio),
            ("virtio_vdpa", Mode::Virtio),
        ] {
            assert_eq!(
                plan_of(json!({"vdpaDevice": "vdpa0", "driver": d}))
                    .unwrap()
                    .mode,
                Some(m)
            );
        }
        let e = plan_of(json!({"vdpaDevice": "v", "driver": "vhost", "mtu": 1400})).unwrap_err();
        assert!(e.msg.starts_with("mtu:"), "{}", e.msg);
        let e = plan_of(json!({"vdpaDevice": "v", "driver": "vhost", "mac": "02:00:00:00:00:01"}))
            .unwrap_err();
        assert!(e.msg.starts_with("mac:"), "{}", e.msg);
    }

    #[test]
    fn mac_precedence() {
        let c = conf(json!({"vdpaDevice": "v", "mac": "02:00:00:00:00:01"}));
        let args = CniArgs::parse("IgnoreUnknown=1;MAC=02:00:00:00:00:02").unwrap();
        assert_eq!(
            plan(&c, &args).unwrap().mac,
            Some("02:00:00:00:00:02".parse().unwrap())
        );
        let c = conf(json!({"vdpaDevice": "v", "mac": "02:00:00:00:00:01",
            "runtimeConfig": {"mac": "02:00:00:00:00:03"}}));
        assert_eq!(
            plan(&c, &args).unwrap().mac,
            Some("02:00:00:00:00:03".parse().unwrap())
        );
        let p = plan_of(json!({"vdpaDevice": "v", "mtu": 9000,
            "runtimeConfig": {"CNIDeviceInfoFile": "/run/k8s.cni.cncf.io/devinfo/cni/x.json"}}))
        .unwrap();
        assert_eq!(p.mtu, Some(9000));
        assert_eq!(
            p.device_info_file,
            Some(PathBuf::from("/run/k8s.cni.cncf.io/devinfo/cni/x.json"))
        );
    }

    /// ADD refuses a device-info file outside the device-info tree; DEL and CHECK plan
    /// without it instead of failing.
    #[test]
    fn a_device_info_file_outside_the_tree_is_refused_for_add_only() {
        let c = conf(json!({"vdpaDevice": "v",
            "runtimeConfig": {"CNIDeviceInfoFile": "/etc/cron.d/x"}}));
        let e = plan(&c, &CniArgs::default()).unwrap_err();
        assert_eq!(e.code, code::INVALID_CONFIG);
        assert!(
            e.msg.starts_with("runtimeConfig.CNIDeviceInfoFile:")
                && e.msg.contains("/run/k8s.cni.cncf.io/devinfo"),
            "{}",
            e.msg
        );
        let p = plan_for_teardown(&c, &CniArgs::default()).unwrap();
        assert_eq!(p.device_info_file, None);
        assert_eq!(p.selector, Selector::Name("v".into()));
    }
}
