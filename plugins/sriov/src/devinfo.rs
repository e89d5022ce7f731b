//! The device-info file (Network Plumbing WG device-info spec 1.1.0, type `pci`) telling the
//! pod which VF it got, written where `runtimeConfig.CNIDeviceInfoFile` says (only in the
//! device-info tree). The content, the path rules, write and remove are nfv-devinfo's; what is
//! sriov's own is the `vfio` extension object of a VF on vfio-pci (the group device the DPDK
//! app opens), which the spec has no field for and its readers ignore.

use std::path::Path;

use nfv_devinfo::{DeviceInfo, FileError, Layout, Pci, Place, Written};
use nfv_pci::VfDevice;
use serde::Serialize;

pub use nfv_devinfo::{place, requested_path};

/// `vfio`: the VFIO group a VF on vfio-pci is reached through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VfioInfo {
    pub group: u32,
    /// `/dev/vfio/<group>` or `/dev/vfio/noiommu-<group>`.
    pub device: String,
    pub noiommu: bool,
}

/// The file sriov writes: the spec's content, plus `vfio` for a VF on vfio-pci.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VfDeviceInfo {
    #[serde(flatten)]
    pub info: DeviceInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vfio: Option<VfioInfo>,
}

/// The content for a VF: its PCI address and its PF's; the VFIO group when it has one.
pub fn vf_device_info(vf: &VfDevice) -> VfDeviceInfo {
    VfDeviceInfo {
        info: DeviceInfo::pci(Pci {
            pci_address: vf.address.to_string(),
            pf_pci_address: Some(vf.pf.to_string()),
            ..Pci::default()
        }),
        vfio: vf.vfio.as_ref().map(|v| VfioInfo {
            group: v.group,
            device: v.device.display().to_string(),
            noiommu: v.noiommu,
        }),
    }
}

/// Write the file atomically in `place` (nfv-devinfo's writer: no symlink followed, temp
/// file, fsync, rename, 0444; a file already there is kept), compact as sriov always wrote
/// it, the `vfio` object included when there is one.
pub fn write(place: &Place, path: &Path, file: &VfDeviceInfo) -> Result<Written, FileError> {
    nfv_devinfo::write(place, path, file, Layout::Compact)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nfv_devinfo::{remove_written, Removal};
    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    use nfv_pci::{DriverBinding, UserspaceDriver, VfioGroup};

    fn vf(vfio: bool) -> VfDevice {
        VfDevice {
            address: "0000:01:10.2".parse().unwrap(),
            pf: "0000:01:00.0".parse().unwrap(),
            pf_netdev: "enp1s0f0".into(),
            index: 2,
            netdevs: vec![],
            driver: DriverBinding::Userspace(UserspaceDriver::VfioPci),
            iommu_group: Some(12),
            vfio: vfio.then(|| VfioGroup {
                group: 12,
                noiommu: false,
                device: "/dev/vfio/12".into(),
            }),
        }
    }

    /// A scratch directory and a device-info place rooted in it.
    fn scratch(name: &str) -> (PathBuf, Place) {
        let d = std::env::temp_dir().join(format!("sriov-devinfo-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        let place = Place::new(nfv_devinfo::FIELD, [d.clone()]);
        (d, place)
    }

    /// The files the binary wrote before nfv-devinfo (fixtures saved by that code), byte for
    /// byte: a netdev-mode VF and a VF on vfio-pci.
    #[test]
    fn bytes_match_the_earlier_binary() {
        let (d, place) = scratch("fixtures");
        let mut netdev = vf(false);
        netdev.address = "0000:01:10.1".parse().unwrap();
        netdev.driver = DriverBinding::Kernel("igbvf".into());
        for (name, info, fixture) in [
            (
                "pci.json",
                vf_device_info(&netdev),
                &include_bytes!("../tests/fixtures/devinfo-pci.json")[..],
            ),
            (
                "vfio.json",
                vf_device_info(&vf(true)),
                &include_bytes!("../tests/fixtures/devinfo-vfio.json")[..],
            ),
        ] {
            let p = d.join("sub").join(name);
            assert_eq!(write(&place, &p, &info).unwrap(), Written::Wrote);
            assert_eq!(fs::read(&p).unwrap(), fixture, "{name}");
            // 0444 as nadutils writes them (earlier releases wrote 0644).
            let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o444, "{name}");
            assert_eq!(remove_written(&place, &p).unwrap(), Removal::Removed);
            assert_eq!(remove_written(&place, &p).unwrap(), Removal::Absent);
        }
        assert_eq!(
            fs::read_dir(d.join("sub")).unwrap().count(),
            0,
            "no temp file"
        );
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_failed_extended_write_names_the_file_and_leaves_nothing() {
        let (d, place) = scratch("fail");
        let p = d.join("taken");
        fs::create_dir_all(p.join("inside")).unwrap();
        let e = write(&place, &p, &vf_device_info(&vf(true))).unwrap_err();
        assert_eq!(e.step, "writing");
        let cni: nfv_cni::Error = e.into();
        assert_eq!(
            cni.code,
            nfv_cni::code::INVALID_CONFIG,
            "a directory is refused"
        );
        assert!(cni.msg.contains("taken"), "{}", cni.msg);
        assert_eq!(fs::read_dir(&d).unwrap().count(), 1, "no temp file");
        fs::remove_dir_all(&d).unwrap();
    }
}
