//! The device-info file (Network Plumbing WG device-info spec 1.1.0, type `vdpa`) telling the
//! pod which vDPA device it got, written where `runtimeConfig.CNIDeviceInfoFile` says.

use nfv_devinfo::{DeviceInfo, Vdpa};

use crate::discover::Found;

/// The file's content: `parent-device` is the vDPA device's name (as the device plugin
/// reports it), `path` the char device in vhost mode; PCI addresses when the parent is PCI.
/// Written with [`nfv_devinfo::write`] (compact layout); without a record DEL removes a file
/// only when it holds exactly this ([`nfv_devinfo::remove_if_ours`]).
pub fn vdpa_device_info(found: &Found) -> DeviceInfo {
    DeviceInfo::vdpa(Vdpa {
        parent_device: found.device.name.clone(),
        driver: found.mode.devinfo_driver(),
        path: found
            .device
            .vhost_device
            .as_ref()
            .map(|p| p.display().to_string()),
        pci_address: found.parent.map(|p| p.to_string()),
        pf_pci_address: found.pf.map(|p| p.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Mode;
    use nfv_devinfo::Layout;
    use nfv_pci::Sysfs;
    use serde_json::{json, Value};
    use std::path::Path;

    fn vdpa_device_info(found: &Found) -> Value {
        serde_json::to_value(super::vdpa_device_info(found)).unwrap()
    }

    fn sysfs() -> Sysfs {
        Sysfs::at(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sysfs/nic"))
    }

    #[test]
    fn vhost_on_a_vf() {
        let sel = crate::config::Selector::Name("vdpa0".into());
        let f = crate::discover::find(&sysfs(), None, &sel, None).unwrap();
        assert_eq!(
            vdpa_device_info(&f),
            json!({"type": "vdpa", "version": "1.1.0", "vdpa": {
                "parent-device": "vdpa0", "driver": "vhost", "path": "/dev/vhost-vdpa-0",
                "pci-address": "0000:02:00.2", "pf-pci-address": "0000:02:00.0"}})
        );
    }

    #[test]
    fn virtio_and_simulator() {
        let s = sysfs();
        let f = crate::discover::find(
            &s,
            None,
            &crate::config::Selector::Name("vdpa1".into()),
            None,
        )
        .unwrap();
        assert_eq!(f.mode, Mode::Virtio);
        let v = vdpa_device_info(&f);
        assert_eq!(v["vdpa"]["driver"], "virtio");
        assert!(v["vdpa"].get("path").is_none());
        let f = crate::discover::find(
            &s,
            None,
            &crate::config::Selector::Name("vdpa2".into()),
            None,
        )
        .unwrap();
        assert_eq!(
            vdpa_device_info(&f)["vdpa"],
            json!({"parent-device": "vdpa2", "driver": "vhost", "path": "/dev/vhost-vdpa-1"})
        );
    }

    /// The files the binary wrote before nfv-devinfo (fixtures saved by that code), byte for byte.
    #[test]
    fn bytes_match_the_earlier_binary() {
        let s = sysfs();
        for (name, fixture) in [
            (
                "vdpa0",
                &include_bytes!("../tests/fixtures/devinfo-vdpa0.json")[..],
            ),
            (
                "vdpa1",
                &include_bytes!("../tests/fixtures/devinfo-vdpa1.json")[..],
            ),
        ] {
            let sel = crate::config::Selector::Name(name.into());
            let f = crate::discover::find(&s, None, &sel, None).unwrap();
            let info = super::vdpa_device_info(&f);
            assert_eq!(
                nfv_devinfo::file::encode(&info, Layout::Compact).unwrap(),
                fixture,
                "{name}"
            );
        }
    }
}
