//! Building fake sysfs trees: PCI devices, their drivers, SR-IOV PF/VF links.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

/// A symlink `name` -> `target`, creating `name`'s directory.
pub fn link(target: &str, name: impl AsRef<Path>) {
    let name = name.as_ref();
    std::fs::create_dir_all(name.parent().unwrap()).unwrap();
    symlink(target, name).unwrap();
}

/// PCI device `addr` of the fake tree at `root`: its directory under `devices/pci0000:00`,
/// listed in `bus/pci/devices`. Returns the directory.
pub fn pci_device(root: &Path, addr: &str) -> PathBuf {
    let dir = root.join("devices/pci0000:00").join(addr);
    std::fs::create_dir_all(&dir).unwrap();
    link(
        &format!("../../../devices/pci0000:00/{addr}"),
        root.join("bus/pci/devices").join(addr),
    );
    dir
}

/// Bind PCI device `addr` (made by [`pci_device`]) to `driver`: the driver's directory and
/// the device's `driver` link.
pub fn bind(root: &Path, addr: &str, driver: &str) {
    std::fs::create_dir_all(root.join("bus/pci/drivers").join(driver)).unwrap();
    link(
        &format!("../../../bus/pci/drivers/{driver}"),
        root.join("devices/pci0000:00").join(addr).join("driver"),
    );
}

/// Make `vf` VF number `index` of `pf` (both made by [`pci_device`]): the PF's `virtfn<index>`
/// and the VF's `physfn` links.
pub fn vf_of(root: &Path, pf: &str, index: u32, vf: &str) {
    let devs = root.join("devices/pci0000:00");
    link(
        &format!("../{vf}"),
        devs.join(pf).join(format!("virtfn{index}")),
    );
    link(&format!("../{pf}"), devs.join(vf).join("physfn"));
}
