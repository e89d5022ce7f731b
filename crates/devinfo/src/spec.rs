//! The file's content. Field names and order follow the device-info spec 1.1.0
//! (k8snetworkplumbingwg/device-info-spec, `SPEC.md` section "Device Information"): a `type`,
//! the spec `version`, and one object named after the type. Optional fields are left out when
//! unknown, as the spec asks.

use serde::{Deserialize, Serialize};

/// The spec version we write.
pub const SPEC_VERSION: &str = "1.1.0";

/// The device type (`type`), which also names the object holding the details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceType {
    #[serde(rename = "pci")]
    Pci,
    #[serde(rename = "vdpa")]
    Vdpa,
    #[serde(rename = "vhost-user")]
    VhostUser,
    #[serde(rename = "memif")]
    Memif,
}

/// One device-info file. Build it with [`DeviceInfo::pci`], [`DeviceInfo::vdpa`] or
/// [`DeviceInfo::vhost_user`] so `type` and the detail object always agree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    #[serde(rename = "type")]
    pub device_type: DeviceType,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pci: Option<Pci>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vdpa: Option<Vdpa>,
    #[serde(
        rename = "vhost-user",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub vhost_user: Option<VhostUser>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memif: Option<Memif>,
}

/// Spec "pci": a PCI device (an SR-IOV VF, bound to a kernel or a userspace-I/O driver).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Pci {
    /// The device's PCI address (`0000:01:10.0`).
    pub pci_address: String,
    /// A vhost-net char device attached to it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vhost_net: Option<String>,
    /// Its RDMA device, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rdma_device: Option<String>,
    /// The physical function's PCI address, for a VF.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pf_pci_address: Option<String>,
    /// The VF representor netdev (switchdev mode), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub representor_device: Option<String>,
}

/// The vDPA bus driver the device is bound to (spec "vdpa" `driver`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VdpaDriver {
    /// vhost_vdpa: a `/dev/vhost-vdpa-N` char device for a userspace app.
    Vhost,
    /// virtio_vdpa: a kernel netdev.
    Virtio,
}

/// Spec "vdpa": a vDPA device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Vdpa {
    /// The vDPA device's name on the vdpa bus (`vdpa0`), as the device plugin reports it.
    pub parent_device: String,
    pub driver: VdpaDriver,
    /// The char device (vhost driver only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The PCI device the vDPA device sits on, when it is a PCI device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pci_address: Option<String>,
    /// That PCI device's physical function, when it is a VF.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pf_pci_address: Option<String>,
}

/// Which side of a vhost-user socket the pod's application is (spec "vhost-user" `mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VhostUserMode {
    Client,
    Server,
}

/// Spec "vhost-user": a vhost-user socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VhostUser {
    /// The pod's side of the socket.
    pub mode: VhostUserMode,
    /// The socket's path.
    pub path: String,
}

/// Spec "memif": a shared-memory packet interface socket. The spec's words (nadutils'
/// `MemifDevice`): `role` `master` or `slave`, `mode` `ethernet`, `ip` or `punt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memif {
    /// The pod's side of the connection.
    pub role: String,
    /// The socket's path.
    pub path: String,
    pub mode: String,
}

impl DeviceInfo {
    fn of(device_type: DeviceType) -> DeviceInfo {
        DeviceInfo {
            device_type,
            version: SPEC_VERSION.to_string(),
            pci: None,
            vdpa: None,
            vhost_user: None,
            memif: None,
        }
    }

    pub fn pci(pci: Pci) -> DeviceInfo {
        DeviceInfo {
            pci: Some(pci),
            ..DeviceInfo::of(DeviceType::Pci)
        }
    }

    pub fn vdpa(vdpa: Vdpa) -> DeviceInfo {
        DeviceInfo {
            vdpa: Some(vdpa),
            ..DeviceInfo::of(DeviceType::Vdpa)
        }
    }

    pub fn vhost_user(vhost_user: VhostUser) -> DeviceInfo {
        DeviceInfo {
            vhost_user: Some(vhost_user),
            ..DeviceInfo::of(DeviceType::VhostUser)
        }
    }

    pub fn memif(memif: Memif) -> DeviceInfo {
        DeviceInfo {
            memif: Some(memif),
            ..DeviceInfo::of(DeviceType::Memif)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn value(info: &DeviceInfo) -> Value {
        serde_json::to_value(info).unwrap()
    }

    #[test]
    fn pci_uses_the_spec_field_names() {
        let full = DeviceInfo::pci(Pci {
            pci_address: "0000:01:10.0".into(),
            vhost_net: Some("/dev/vhost-net".into()),
            rdma_device: Some("mlx5_2".into()),
            pf_pci_address: Some("0000:01:00.0".into()),
            representor_device: Some("pf0vf0".into()),
        });
        assert_eq!(
            value(&full),
            json!({"type": "pci", "version": "1.1.0", "pci": {
                "pci-address": "0000:01:10.0", "vhost-net": "/dev/vhost-net",
                "rdma-device": "mlx5_2", "pf-pci-address": "0000:01:00.0",
                "representor-device": "pf0vf0"}})
        );
        let bare = DeviceInfo::pci(Pci {
            pci_address: "0000:01:10.0".into(),
            ..Pci::default()
        });
        assert_eq!(value(&bare)["pci"], json!({"pci-address": "0000:01:10.0"}));
    }

    #[test]
    fn vdpa_uses_the_spec_field_names() {
        let info = DeviceInfo::vdpa(Vdpa {
            parent_device: "vdpa0".into(),
            driver: VdpaDriver::Vhost,
            path: Some("/dev/vhost-vdpa-0".into()),
            pci_address: Some("0000:02:00.2".into()),
            pf_pci_address: Some("0000:02:00.0".into()),
        });
        assert_eq!(
            value(&info),
            json!({"type": "vdpa", "version": "1.1.0", "vdpa": {
                "parent-device": "vdpa0", "driver": "vhost", "path": "/dev/vhost-vdpa-0",
                "pci-address": "0000:02:00.2", "pf-pci-address": "0000:02:00.0"}})
        );
        let virtio = DeviceInfo::vdpa(Vdpa {
            parent_device: "vdpa1".into(),
            driver: VdpaDriver::Virtio,
            path: None,
            pci_address: None,
            pf_pci_address: None,
        });
        assert_eq!(
            value(&virtio)["vdpa"],
            json!({"parent-device": "vdpa1", "driver": "virtio"})
        );
    }

    #[test]
    fn memif_uses_the_spec_field_names() {
        let info = DeviceInfo::memif(Memif {
            role: "slave".into(),
            path: "/run/vhostuser/0123456789ab/memif-0123456789ab-net1.sock".into(),
            mode: "ethernet".into(),
        });
        assert_eq!(
            value(&info),
            json!({"type": "memif", "version": "1.1.0", "memif": {
                "role": "slave",
                "path": "/run/vhostuser/0123456789ab/memif-0123456789ab-net1.sock",
                "mode": "ethernet"}})
        );
        let back: DeviceInfo = serde_json::from_value(value(&info)).unwrap();
        assert_eq!(back, info);
    }

    #[test]
    fn vhost_user_uses_the_spec_field_names() {
        let info = DeviceInfo::vhost_user(VhostUser {
            mode: VhostUserMode::Server,
            path: "/var/run/vhost/abc/net1".into(),
        });
        assert_eq!(
            value(&info),
            json!({"type": "vhost-user", "version": "1.1.0", "vhost-user": {
                "mode": "server", "path": "/var/run/vhost/abc/net1"}})
        );
    }

    #[test]
    fn reads_back_what_it_writes() {
        let info = DeviceInfo::vhost_user(VhostUser {
            mode: VhostUserMode::Client,
            path: "/x".into(),
        });
        let back: DeviceInfo = serde_json::from_value(value(&info)).unwrap();
        assert_eq!(back, info);
    }
}
