//! SR-IOV discovery: a VF's PF, index, netdevs, driver, IOMMU/VFIO group.

use std::path::PathBuf;

use crate::address::PciAddress;
use crate::error::{Error, Result};
use crate::sysfs::{dir_names, link_name, read_attr, read_u32, Sysfs};

/// The drivers that take a VF away from the kernel network stack for a userspace (DPDK) app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserspaceDriver {
    VfioPci,
    UioPciGeneric,
    IgbUio,
}

impl UserspaceDriver {
    /// The driver's name in sysfs.
    pub fn name(self) -> &'static str {
        match self {
            UserspaceDriver::VfioPci => "vfio-pci",
            UserspaceDriver::UioPciGeneric => "uio_pci_generic",
            UserspaceDriver::IgbUio => "igb_uio",
        }
    }

    pub fn from_name(name: &str) -> Option<UserspaceDriver> {
        match name {
            "vfio-pci" => Some(UserspaceDriver::VfioPci),
            "uio_pci_generic" => Some(UserspaceDriver::UioPciGeneric),
            "igb_uio" => Some(UserspaceDriver::IgbUio),
            _ => None,
        }
    }
}

/// Which driver a PCI device is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverBinding {
    /// No driver (no `driver` link).
    Unbound,
    /// A userspace-I/O driver: the device has no netdev; a DPDK app drives it.
    Userspace(UserspaceDriver),
    /// Any other (kernel) driver, e.g. `igbvf`, `iavf`, `mlx5_core`.
    Kernel(String),
}

impl DriverBinding {
    pub fn name(&self) -> Option<&str> {
        match self {
            DriverBinding::Unbound => None,
            DriverBinding::Userspace(u) => Some(u.name()),
            DriverBinding::Kernel(k) => Some(k),
        }
    }
}

/// The VFIO group a vfio-pci device is reached through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VfioGroup {
    /// The IOMMU group number.
    pub group: u32,
    /// True when the group is a vfio no-IOMMU group (VMs without a virtual IOMMU, with
    /// `enable_unsafe_noiommu_mode`): the device node is then `noiommu-<group>`.
    pub noiommu: bool,
    /// `/dev/vfio/<group>` or `/dev/vfio/noiommu-<group>`.
    pub device: PathBuf,
}

/// Everything about one VF that attaching it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VfDevice {
    pub address: PciAddress,
    /// The PF's PCI address.
    pub pf: PciAddress,
    /// The PF's network interface (the first one, sorted by name, as sriov-cni takes it).
    pub pf_netdev: String,
    /// The VF index on the PF (the N of the PF's `virtfnN` link to this VF).
    pub index: u32,
    /// The VF's own network interfaces (`net/<name>`); empty when bound to a userspace
    /// driver, unbound, or while its netdev sits in a pod namespace.
    pub netdevs: Vec<String>,
    pub driver: DriverBinding,
    pub iommu_group: Option<u32>,
    /// Set when the VF is bound to vfio-pci.
    pub vfio: Option<VfioGroup>,
}

impl VfDevice {
    /// The VF's netdev, when it has one here.
    pub fn netdev(&self) -> Option<&str> {
        self.netdevs.first().map(String::as_str)
    }

    /// Bound to vfio-pci, uio_pci_generic or igb_uio.
    pub fn is_userspace(&self) -> bool {
        matches!(self.driver, DriverBinding::Userspace(_))
    }
}

/// Parse a config field holding a PCI address; the error names the field.
pub fn parse_pci_address(field: &str, value: &str) -> Result<PciAddress> {
    value.parse().map_err(|source| Error::InvalidAddress {
        field: field.to_string(),
        source,
    })
}

impl Sysfs {
    /// Whether the device is an SR-IOV VF (has a `physfn` link).
    pub fn is_vf(&self, addr: PciAddress) -> Result<bool> {
        let dev = self.pci_device(addr)?;
        Ok(link_name(&dev.join("physfn"))?.is_some())
    }

    /// The PF of a VF.
    pub fn pf_of(&self, vf: PciAddress) -> Result<PciAddress> {
        let dev = self.pci_device(vf)?;
        let path = dev.join("physfn");
        let name = link_name(&path)?.ok_or(Error::NotAVf(vf))?;
        name.parse().map_err(|_| Error::Content {
            path,
            content: name,
        })
    }

    /// The network interfaces of a PCI device (`net/<name>`), sorted.
    pub fn netdevs(&self, addr: PciAddress) -> Result<Vec<String>> {
        let dev = self.pci_device(addr)?;
        dir_names(&dev.join("net"))
    }

    /// The PF's network interface, looked up from the VF (`physfn/net/<pf>`).
    pub fn pf_netdev(&self, vf: PciAddress) -> Result<String> {
        let pf = self.pf_of(vf)?;
        self.netdevs(pf)?
            .into_iter()
            .next()
            .ok_or(Error::NoPfNetdev { vf, pf })
    }

    /// The VFs of a PF by index (from its `virtfnN` links), sorted by index.
    pub fn vfs_of(&self, pf: PciAddress) -> Result<Vec<(u32, PciAddress)>> {
        let dev = self.pci_device(pf)?;
        let mut out = Vec::new();
        for name in dir_names(&dev)? {
            let Some(n) = name
                .strip_prefix("virtfn")
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let path = dev.join(&name);
            if let Some(target) = link_name(&path)? {
                let addr = target.parse().map_err(|_| Error::Content {
                    path,
                    content: target,
                })?;
                out.push((n, addr));
            }
        }
        out.sort();
        Ok(out)
    }

    /// The VF's index on its PF.
    pub fn vf_index(&self, vf: PciAddress) -> Result<u32> {
        let pf = self.pf_of(vf)?;
        self.vfs_of(pf)?
            .into_iter()
            .find(|(_, a)| *a == vf)
            .map(|(i, _)| i)
            .ok_or(Error::VfIndexNotFound { vf, pf })
    }

    /// The driver a PCI device is bound to.
    pub fn driver(&self, addr: PciAddress) -> Result<DriverBinding> {
        let dev = self.pci_device(addr)?;
        Ok(match link_name(&dev.join("driver"))? {
            None => DriverBinding::Unbound,
            Some(name) => match UserspaceDriver::from_name(&name) {
                Some(u) => DriverBinding::Userspace(u),
                None => DriverBinding::Kernel(name),
            },
        })
    }

    /// The IOMMU group of a PCI device; `None` without an IOMMU (and outside noiommu vfio).
    pub fn iommu_group(&self, addr: PciAddress) -> Result<Option<u32>> {
        let dev = self.pci_device(addr)?;
        let path = dev.join("iommu_group");
        match link_name(&path)? {
            None => Ok(None),
            Some(g) => g
                .parse()
                .map(Some)
                .map_err(|_| Error::Content { path, content: g }),
        }
    }

    /// The VFIO group device of a device bound to vfio-pci. A group named `vfio-noiommu`
    /// is a no-IOMMU group, reached through `/dev/vfio/noiommu-<group>`.
    pub fn vfio_group(&self, addr: PciAddress) -> Result<Option<VfioGroup>> {
        if self.driver(addr)? != DriverBinding::Userspace(UserspaceDriver::VfioPci) {
            return Ok(None);
        }
        let Some(group) = self.iommu_group(addr)? else {
            return Ok(None);
        };
        let name_path = self.pci_device(addr)?.join("iommu_group/name");
        let noiommu = match read_attr(&name_path) {
            Ok(name) => name == "vfio-noiommu",
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(e),
        };
        let device = if noiommu {
            PathBuf::from(format!("/dev/vfio/noiommu-{group}"))
        } else {
            PathBuf::from(format!("/dev/vfio/{group}"))
        };
        Ok(Some(VfioGroup {
            group,
            noiommu,
            device,
        }))
    }

    /// `sriov_numvfs` of a PF: how many VFs are enabled.
    pub fn sriov_numvfs(&self, pf: PciAddress) -> Result<u32> {
        read_u32(&self.pci_device(pf)?.join("sriov_numvfs"))
    }

    /// `sriov_totalvfs` of a PF: how many VFs it can have.
    pub fn sriov_totalvfs(&self, pf: PciAddress) -> Result<u32> {
        read_u32(&self.pci_device(pf)?.join("sriov_totalvfs"))
    }

    /// The PCI address behind a network interface (`class/net/<name>/device`); `None` for
    /// interfaces that are not PCI functions (veth, virtio-over-vDPA netdevs, ...).
    pub fn netdev_pci_address(&self, name: &str) -> Result<Option<PciAddress>> {
        crate::vdpa::validate_name("interface name", name)?;
        let path = self.root().join("class/net").join(name).join("device");
        match std::fs::canonicalize(&path) {
            Ok(target) => Ok(target
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.parse().ok())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Everything about the VF at `addr`: PF, PF netdev, index, netdevs, driver, IOMMU/VFIO.
    pub fn vf(&self, addr: PciAddress) -> Result<VfDevice> {
        let pf = self.pf_of(addr)?;
        Ok(VfDevice {
            address: addr,
            pf,
            pf_netdev: self.pf_netdev(addr)?,
            index: self.vf_index(addr)?,
            netdevs: self.netdevs(addr)?,
            driver: self.driver(addr)?,
            iommu_group: self.iommu_group(addr)?,
            vfio: self.vfio_group(addr)?,
        })
    }
}

impl Sysfs {
    /// Unbind a PCI device from its driver and bind it again (`driver/unbind`, then
    /// `bus/pci/drivers/<driver>/bind`). igbvf only picks up an administrative MAC set through
    /// the PF after this. Returns the driver name; an unbound device is left alone (`None`).
    ///
    /// This writes to sysfs: only for the real tree (or a disposable copy in tests).
    pub fn rebind_driver(&self, addr: PciAddress) -> Result<Option<String>> {
        let Some(driver) = self.driver(addr)?.name().map(str::to_string) else {
            return Ok(None);
        };
        let dev = self.pci_device(addr)?;
        let unbind = dev.join("driver/unbind");
        std::fs::write(&unbind, addr.to_string()).map_err(|e| Error::io(&unbind, e))?;
        let bind = self
            .root()
            .join("bus/pci/drivers")
            .join(&driver)
            .join("bind");
        std::fs::write(&bind, addr.to_string()).map_err(|e| Error::io(&bind, e))?;
        Ok(Some(driver))
    }
}
