//! Discovery over the fake sysfs tree in testdata/sysfs/nic (built by make-trees.sh): an igb
//! PF with VFs on igbvf, vfio-pci (IOMMU and no-IOMMU), igb_uio and no driver; a PF whose VFs
//! carry vDPA devices on vhost_vdpa and virtio_vdpa; the vdpa_sim_net simulator.

// Helpers outside #[test] functions panic on setup failure, like the tests themselves.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use nfv_pci::{
    parse_pci_address, DriverBinding, Error, PciAddress, Sysfs, UserspaceDriver, VdpaDriver,
};

fn sysfs() -> Sysfs {
    Sysfs::at(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sysfs/nic"))
}

fn pci(s: &str) -> PciAddress {
    match s.parse() {
        Ok(a) => a,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn netdev_vf_on_igbvf() {
    let vf = sysfs().vf(pci("0000:01:10.0")).unwrap();
    assert_eq!(vf.pf, pci("0000:01:00.0"));
    assert_eq!(vf.pf_netdev, "enp1s0");
    assert_eq!(vf.index, 0);
    assert_eq!(vf.netdev(), Some("enp1s0v0"));
    assert_eq!(vf.driver, DriverBinding::Kernel("igbvf".into()));
    assert!(!vf.is_userspace());
    assert_eq!(vf.iommu_group, Some(11));
    assert_eq!(vf.vfio, None, "not bound to vfio-pci");
}

#[test]
fn vfio_vf_reports_its_group_device() {
    let vf = sysfs().vf(pci("0000:01:10.2")).unwrap();
    assert_eq!(vf.index, 1);
    assert!(vf.netdevs.is_empty());
    assert_eq!(
        vf.driver,
        DriverBinding::Userspace(UserspaceDriver::VfioPci)
    );
    assert!(vf.is_userspace());
    let g = vf.vfio.unwrap();
    assert_eq!((g.group, g.noiommu), (12, false));
    assert_eq!(g.device, PathBuf::from("/dev/vfio/12"));
}

#[test]
fn noiommu_group_uses_the_noiommu_device_node() {
    let g = sysfs().vfio_group(pci("0000:01:10.4")).unwrap().unwrap();
    assert_eq!((g.group, g.noiommu), (0, true));
    assert_eq!(g.device, PathBuf::from("/dev/vfio/noiommu-0"));
}

#[test]
fn unbound_and_igb_uio_vfs() {
    let s = sysfs();
    let unbound = s.vf(pci("0000:01:10.6")).unwrap();
    assert_eq!(unbound.index, 3);
    assert_eq!(unbound.driver, DriverBinding::Unbound);
    assert_eq!(unbound.driver.name(), None);
    assert_eq!(unbound.iommu_group, None);
    let uio = s.vf(pci("0000:01:11.0")).unwrap();
    assert_eq!(uio.index, 4);
    assert_eq!(uio.driver.name(), Some("igb_uio"));
    assert!(uio.is_userspace());
    assert_eq!(uio.vfio, None);
}

#[test]
fn pf_counts_and_vf_list() {
    let s = sysfs();
    let pf = pci("0000:01:00.0");
    assert_eq!(s.sriov_numvfs(pf).unwrap(), 5);
    assert_eq!(s.sriov_totalvfs(pf).unwrap(), 7);
    let vfs = s.vfs_of(pf).unwrap();
    assert_eq!(vfs.len(), 5);
    assert_eq!(vfs[2], (2, pci("0000:01:10.4")));
    assert!(!s.is_vf(pf).unwrap());
    assert!(s.is_vf(pci("0000:01:10.0")).unwrap());
    assert_eq!(s.netdev_pci_address("enp1s0").unwrap(), Some(pf));
    assert_eq!(
        s.netdev_pci_address("eth5").unwrap(),
        None,
        "a virtio netdev is not a PCI function"
    );
    assert_eq!(s.netdev_pci_address("nosuch").unwrap(), None);
}

#[test]
fn errors_name_the_device_and_the_problem() {
    let s = sysfs();
    let missing = s.vf(pci("0000:09:00.1")).unwrap_err();
    assert!(matches!(missing, Error::NoSuchDevice(..)), "{missing}");
    assert!(
        missing.to_string().contains("0000:09:00.1 does not exist"),
        "{missing}"
    );

    let not_vf = s.vf(pci("0000:00:1f.0")).unwrap_err();
    assert!(matches!(not_vf, Error::NotAVf(_)), "{not_vf}");
    assert!(not_vf.to_string().contains("not an SR-IOV VF"));

    let bad = parse_pci_address("deviceID", "0000:01:10").unwrap_err();
    assert!(
        bad.to_string()
            .starts_with("deviceID: \"0000:01:10\" is not a PCI address"),
        "{bad}"
    );
    assert_eq!(
        parse_pci_address("deviceID", "01:10.0").unwrap(),
        pci("0000:01:10.0")
    );

    assert!(matches!(
        s.netdev_pci_address("../../etc").unwrap_err(),
        Error::InvalidName { .. }
    ));
}

#[test]
fn vdpa_vhost_on_a_vf() {
    let s = sysfs();
    let d = s.vdpa_by_name("vdpa0").unwrap();
    assert_eq!(d.driver, Some(VdpaDriver::Vhost));
    assert_eq!(d.parent, Some(pci("0000:02:00.2")));
    assert_eq!(d.vhost_device, Some(PathBuf::from("/dev/vhost-vdpa-0")));
    assert!(d.netdevs.is_empty());
    assert_eq!(d.virtio_device, None);
    let by_parent = s.vdpa_by_parent(pci("0000:02:00.2")).unwrap().unwrap();
    assert_eq!(by_parent, d);
    // The VF itself is a normal VF of its PF, with no netdev of its own.
    let vf = s.vf(pci("0000:02:00.2")).unwrap();
    assert_eq!((vf.pf_netdev.as_str(), vf.index), ("enp2s0f0", 0));
}

#[test]
fn vdpa_virtio_has_a_netdev() {
    let d = sysfs()
        .vdpa_by_parent(pci("0000:02:00.3"))
        .unwrap()
        .unwrap();
    assert_eq!(d.name, "vdpa1");
    assert_eq!(d.driver, Some(VdpaDriver::Virtio));
    assert_eq!(d.vhost_device, None);
    assert_eq!(d.netdevs, vec!["eth5".to_string()]);
    assert_eq!(d.virtio_device.as_deref(), Some("virtio1"));
}

#[test]
fn vdpa_simulator_has_no_pci_parent_and_lookups_fail_cleanly() {
    let s = sysfs();
    let sim = s.vdpa_by_name("vdpa2").unwrap();
    assert_eq!(sim.parent, None);
    assert_eq!(sim.vhost_device, Some(PathBuf::from("/dev/vhost-vdpa-1")));
    assert_eq!(s.vdpa_names().unwrap(), vec!["vdpa0", "vdpa1", "vdpa2"]);
    assert_eq!(s.vdpa_by_parent(pci("0000:01:10.0")).unwrap(), None);
    let e = s.vdpa_by_name("vdpa9").unwrap_err();
    assert!(matches!(e, Error::NoSuchVdpa(_)), "{e}");
    let e = s.vdpa_by_name("../vdpa0").unwrap_err();
    assert!(e.to_string().starts_with("vdpaDevice:"), "{e}");
    // A node without the vdpa bus has no devices, not an error.
    let empty = Sysfs::at(Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert_eq!(empty.vdpa_devices().unwrap(), vec![]);
}

#[test]
fn the_real_sysfs_is_the_default() {
    assert_eq!(Sysfs::new().root(), Path::new("/sys"));
    assert_eq!(Sysfs::default(), Sysfs::new());
}

/// The same readers over the machine's real /sys: every PCI device's address parses and its
/// driver, IOMMU group and netdevs read without error (the layout matches the fake tree).
#[test]
fn real_sysfs_reads_cleanly() {
    let s = Sysfs::new();
    let Ok(entries) = std::fs::read_dir("/sys/bus/pci/devices") else {
        eprintln!("SKIPPED real_sysfs_reads_cleanly: no /sys/bus/pci on this machine");
        return;
    };
    let mut seen = 0;
    for e in entries {
        let name = e.unwrap().file_name().into_string().unwrap();
        let addr = pci(&name);
        assert_eq!(addr.to_string(), name, "canonical form round-trips");
        s.driver(addr).unwrap();
        s.iommu_group(addr).unwrap();
        let netdevs = s.netdevs(addr).unwrap();
        for n in &netdevs {
            assert_eq!(s.netdev_pci_address(n).unwrap(), Some(addr));
        }
        if s.is_vf(addr).unwrap() {
            s.vf(addr).unwrap();
        }
        seen += 1;
    }
    assert!(seen > 0);
    s.vdpa_devices().unwrap();
}

/// A disposable copy of the fake tree (symlinks kept) for tests that write.
fn scratch_copy(tag: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sysfs/nic");
    let dst = std::env::temp_dir().join(format!("nfv-pci-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dst);
    let ok = std::process::Command::new("cp")
        .arg("-a")
        .arg(&src)
        .arg(&dst)
        .status()
        .unwrap()
        .success();
    assert!(ok, "cp -a {} {}", src.display(), dst.display());
    dst
}

#[test]
fn rebind_writes_unbind_then_bind() {
    let root = scratch_copy("rebind");
    let s = Sysfs::at(&root);
    assert_eq!(
        s.rebind_driver(pci("0000:01:10.0")).unwrap().as_deref(),
        Some("igbvf")
    );
    let drv = root.join("bus/pci/drivers/igbvf");
    assert_eq!(
        std::fs::read_to_string(drv.join("unbind")).unwrap(),
        "0000:01:10.0"
    );
    assert_eq!(
        std::fs::read_to_string(drv.join("bind")).unwrap(),
        "0000:01:10.0"
    );
    assert_eq!(
        s.rebind_driver(pci("0000:01:10.6")).unwrap(),
        None,
        "unbound: nothing to do"
    );
    std::fs::remove_dir_all(&root).unwrap();
}
