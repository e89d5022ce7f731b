//! Finding the vDPA device a config names. The "vdpa" generic-netlink family is asked first
//! (it is the kernel's own list, and what `vdpa dev show` prints); sysfs is the fallback when
//! the family is absent, and always supplies what netlink does not say: the driver binding,
//! the `/dev/vhost-vdpa-N` node, the virtio netdev.

use nfv_cni::Error;
use nfv_netlink::{VdpaDev, VdpaNetlink};
use nfv_pci::{PciAddress, Sysfs, VdpaDevice, VdpaDriver};

use crate::codes::{from_netlink, from_pci, DEVICE_UNUSABLE};
use crate::config::{Mode, Selector};

/// The kernel's list of vDPA devices (the vdpa generic-netlink family). A trait so that unit
/// tests can answer with recorded replies.
pub trait DeviceList {
    fn devices(&mut self) -> Result<Vec<VdpaDev>, Error>;
}

impl DeviceList for VdpaNetlink {
    fn devices(&mut self) -> Result<Vec<VdpaDev>, Error> {
        VdpaNetlink::devices(self).map_err(from_netlink)
    }
}

/// Open the vdpa family; `None` when the kernel does not have it (module not loaded) or it
/// cannot be reached, in which case sysfs alone is used.
pub fn open_netlink() -> Option<VdpaNetlink> {
    match VdpaNetlink::open() {
        Ok(nl) => nl,
        Err(e) => {
            nfv_cni::debug!("vdpa generic netlink unusable, using sysfs only: {e}");
            None
        }
    }
}

/// A device found and checked: bound to a driver we handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub device: VdpaDevice,
    pub mode: Mode,
    /// The parent PCI function (from netlink's management device, else sysfs).
    pub parent: Option<PciAddress>,
    /// The parent's PF, when the parent is an SR-IOV VF.
    pub pf: Option<PciAddress>,
}

fn unusable(msg: String) -> Error {
    Error::new(DEVICE_UNUSABLE, msg)
}

/// The name of the device `selector` means, from the kernel's list.
fn name_from_list(
    list: &[VdpaDev],
    selector: &Selector,
) -> Result<(String, Option<PciAddress>), Error> {
    // The kernel names the parent as text: compared as an address, not as our spelling of it.
    let parent_of = |d: &VdpaDev| d.pci_parent().and_then(|p| p.parse::<PciAddress>().ok());
    let hit = list.iter().find(|d| match selector {
        Selector::Name(n) => &d.name == n,
        Selector::Parent(p) => parent_of(d) == Some(*p),
        Selector::NameAndParent(n, _) => &d.name == n,
    });
    let Some(d) = hit else {
        let names: Vec<&str> = list.iter().map(|d| d.name.as_str()).collect();
        return Err(unusable(format!(
            "{} does not exist on this node (the kernel lists {}); create it with `vdpa dev \
             add` or fix the config",
            selector.describe(),
            if names.is_empty() {
                "no vDPA devices".to_string()
            } else {
                names.join(", ")
            }
        )));
    };
    Ok((d.name.clone(), parent_of(d)))
}

/// Find the device `selector` names: the name through `netlink` when given, the details from
/// sysfs. Does not check the driver (see [`check_mode`]).
pub fn locate(
    sysfs: &Sysfs,
    netlink: Option<&mut dyn DeviceList>,
    selector: &Selector,
) -> Result<(VdpaDevice, Option<PciAddress>), Error> {
    let (device, parent) = match netlink {
        Some(nl) => {
            let (name, parent) = name_from_list(&nl.devices()?, selector)?;
            let d = sysfs.vdpa_by_name(&name).map_err(from_pci)?;
            let parent = parent.or(d.parent);
            (d, parent)
        }
        None => {
            let d = match selector {
                Selector::Name(n) | Selector::NameAndParent(n, _) => {
                    sysfs.vdpa_by_name(n).map_err(from_pci)?
                }
                Selector::Parent(p) => sysfs.vdpa_by_parent(*p).map_err(from_pci)?.ok_or_else(|| {
                    unusable(format!(
                        "{} does not exist: PCI device {p} has no vDPA device in {}/bus/vdpa/devices \
                         (create one with `vdpa dev add name NAME mgmtdev pci/{p}`)",
                        selector.describe(),
                        sysfs.root().display()
                    ))
                })?,
            };
            let parent = d.parent;
            (d, parent)
        }
    };
    if let Selector::NameAndParent(n, p) = selector {
        if parent != Some(*p) {
            return Err(unusable(format!(
                "vdpaDevice {n} is not on PCI device {p} (deviceID): its parent is {}",
                parent.map_or("not a PCI device".to_string(), |x| x.to_string())
            )));
        }
    }
    Ok((device, parent))
}

/// The device's mode from its driver binding, checked against `driver` in the config.
pub fn check_mode(device: &VdpaDevice, wanted: Option<Mode>) -> Result<Mode, Error> {
    let name = &device.name;
    let mode = match &device.driver {
        Some(VdpaDriver::Vhost) => Mode::Vhost,
        Some(VdpaDriver::Virtio) => Mode::Virtio,
        Some(VdpaDriver::Other(d)) => {
            return Err(unusable(format!(
                "vDPA device {name} is bound to {d}: bind it to vhost_vdpa or virtio_vdpa"
            )))
        }
        None => {
            return Err(unusable(format!(
                "vDPA device {name} is not bound to a driver: bind it to vhost_vdpa or \
                 virtio_vdpa (echo {name} > /sys/bus/vdpa/drivers/vhost_vdpa/bind)"
            )))
        }
    };
    if let Some(w) = wanted {
        if w != mode {
            return Err(unusable(format!(
                "driver: the config asks for {} but vDPA device {name} is bound to {}; rebind \
                 it or change driver",
                w.driver_name(),
                mode.driver_name()
            )));
        }
    }
    Ok(mode)
}

/// Locate, check the mode, and find the parent's PF.
pub fn find(
    sysfs: &Sysfs,
    netlink: Option<&mut dyn DeviceList>,
    selector: &Selector,
    wanted: Option<Mode>,
) -> Result<Found, Error> {
    let (device, parent) = locate(sysfs, netlink, selector)?;
    let mode = check_mode(&device, wanted)?;
    let pf = parent.and_then(|p| match sysfs.is_vf(p) {
        Ok(true) => sysfs.pf_of(p).ok(),
        _ => None,
    });
    Ok(Found {
        device,
        mode,
        parent,
        pf,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn sysfs() -> Sysfs {
        Sysfs::at(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sysfs/nic"))
    }

    fn sel_parent(p: &str) -> Selector {
        Selector::Parent(p.parse().unwrap())
    }

    fn recorded() -> crate::testdata::Recorded {
        crate::testdata::recorded_devices()
    }

    #[test]
    fn by_parent_from_sysfs_alone() {
        let f = find(&sysfs(), None, &sel_parent("0000:02:00.2"), None).unwrap();
        assert_eq!(f.device.name, "vdpa0");
        assert_eq!(f.mode, Mode::Vhost);
        assert_eq!(
            f.device.vhost_device,
            Some(PathBuf::from("/dev/vhost-vdpa-0"))
        );
        assert_eq!(f.parent, Some("0000:02:00.2".parse().unwrap()));
        assert_eq!(f.pf, Some("0000:02:00.0".parse().unwrap()));
        let f = find(&sysfs(), None, &sel_parent("0000:02:00.3"), None).unwrap();
        assert_eq!((f.device.name.as_str(), f.mode), ("vdpa1", Mode::Virtio));
        assert_eq!(f.device.netdevs, vec!["eth5".to_string()]);
    }

    #[test]
    fn by_name_through_netlink_then_sysfs() {
        let mut nl = recorded();
        let f = find(
            &sysfs(),
            Some(&mut nl),
            &Selector::Name("vdpa2".into()),
            None,
        )
        .unwrap();
        assert_eq!(f.mode, Mode::Vhost);
        assert_eq!(f.parent, None, "the simulator has no PCI parent");
        assert_eq!(f.pf, None);
        let f = find(&sysfs(), Some(&mut nl), &sel_parent("0000:02:00.3"), None).unwrap();
        assert_eq!(f.device.name, "vdpa1");
    }

    #[test]
    fn missing_devices_are_named_with_what_exists() {
        let mut nl = recorded();
        let e = find(&sysfs(), Some(&mut nl), &sel_parent("0000:01:10.0"), None).unwrap_err();
        assert_eq!(e.code, DEVICE_UNUSABLE);
        assert!(
            e.msg.contains("0000:01:10.0") && e.msg.contains("vdpa0, vdpa1, vdpa2"),
            "{}",
            e.msg
        );
        let e = find(&sysfs(), None, &sel_parent("0000:01:10.0"), None).unwrap_err();
        assert!(e.msg.contains("vdpa dev add"), "{}", e.msg);
        let e = find(&sysfs(), None, &Selector::Name("vdpa9".into()), None).unwrap_err();
        assert_eq!(e.code, DEVICE_UNUSABLE, "{}", e.msg);
    }

    /// The kernel's text for the parent is compared as an address: a spelling other than
    /// ours (upper-case hex) still finds the device.
    #[test]
    fn a_parent_is_matched_as_an_address_not_as_text() {
        let dev = |name: &str, parent: &str| VdpaDev {
            name: name.into(),
            mgmt_bus: Some("pci".into()),
            mgmt_dev: parent.into(),
            device_id: Some(1),
            vendor_id: None,
            max_vqs: None,
            max_vq_size: None,
        };
        let list = [dev("vdpa0", "0000:AF:00.2"), dev("vdpa1", "0000:af:00.3")];
        let (name, parent) = name_from_list(&list, &sel_parent("0000:af:00.2")).unwrap();
        assert_eq!(name, "vdpa0");
        assert_eq!(parent, Some("0000:af:00.2".parse().unwrap()));
        let (name, _) = name_from_list(&list, &sel_parent("0000:AF:00.3")).unwrap();
        assert_eq!(name, "vdpa1");
    }

    /// What the lab's 6.12 kernel answered (two vdpa_sim_net devices), decoded and used.
    #[test]
    fn replies_recorded_from_a_kernel() {
        use crate::testdata::{devices, messages};
        let family = messages("lab-6.12/family.hex");
        assert_eq!(nfv_netlink::parse_family_id(&family[0]), Ok(0x23));
        let mut nl = devices("lab-6.12/dev-dump.hex");
        let names: Vec<&str> = nl.0.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["vdpa0", "vdpa1"]);
        for d in &nl.0 {
            assert_eq!(d.mgmt_dev, "vdpasim_net");
            assert_eq!(d.mgmt_bus, None);
            assert_eq!(d.pci_parent(), None);
            assert_eq!(
                (d.device_id, d.max_vqs, d.max_vq_size),
                (Some(1), Some(3), Some(256))
            );
        }
        let one = devices("lab-6.12/dev-get.hex");
        assert_eq!(one.0.len(), 1);
        assert_eq!(one.0[0].name, "vdpa1");
        // The kernel's answer for a missing device is NLMSG_ERROR with -ENODEV.
        let missing = &messages("lab-6.12/dev-get-missing.hex")[0];
        assert_eq!(u16::from_ne_bytes([missing[4], missing[5]]), 2);
        let errno = i32::from_ne_bytes([missing[16], missing[17], missing[18], missing[19]]);
        assert_eq!(errno, -19);
        // A name resolves; a parent PCI address does not match the simulator's devices.
        let (name, parent) = name_from_list(&nl.0, &Selector::Name("vdpa1".into())).unwrap();
        assert_eq!((name.as_str(), parent), ("vdpa1", None));
        let e = locate(&sysfs(), Some(&mut nl), &sel_parent("0000:02:00.3")).unwrap_err();
        assert!(e.msg.contains("the kernel lists vdpa0, vdpa1"), "{}", e.msg);
    }

    #[test]
    fn wrong_driver_names_the_field() {
        let e = find(
            &sysfs(),
            None,
            &Selector::Name("vdpa1".into()),
            Some(Mode::Vhost),
        )
        .unwrap_err();
        assert!(
            e.msg.starts_with("driver:") && e.msg.contains("virtio_vdpa"),
            "{}",
            e.msg
        );
        let ok = find(
            &sysfs(),
            None,
            &Selector::Name("vdpa1".into()),
            Some(Mode::Virtio),
        );
        assert_eq!(ok.unwrap().mode, Mode::Virtio);
    }

    #[test]
    fn name_and_parent_must_agree() {
        let both = Selector::NameAndParent("vdpa0".into(), "0000:02:00.3".parse().unwrap());
        let e = find(&sysfs(), None, &both, None).unwrap_err();
        assert!(
            e.msg.contains("not on PCI device 0000:02:00.3"),
            "{}",
            e.msg
        );
        let mut nl = recorded();
        let e = find(&sysfs(), Some(&mut nl), &both, None).unwrap_err();
        assert!(e.msg.contains("its parent is 0000:02:00.2"), "{}", e.msg);
    }

    #[test]
    fn unbound_and_foreign_drivers_are_refused() {
        let mut d = sysfs().vdpa_by_name("vdpa0").unwrap();
        d.driver = None;
        assert!(check_mode(&d, None).unwrap_err().msg.contains("not bound"));
        d.driver = Some(VdpaDriver::Other("mlx5_vdpa_blk".into()));
        assert!(check_mode(&d, None)
            .unwrap_err()
            .msg
            .contains("mlx5_vdpa_blk"));
    }
}
