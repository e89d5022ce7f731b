//! vDPA devices from `/sys/bus/vdpa/devices`: driver, parent PCI device, vhost char device,
//! virtio netdev.

use std::path::PathBuf;

use crate::address::PciAddress;
use crate::error::{Error, Result};
use crate::sysfs::{dir_names, link_name, Sysfs};

/// The vDPA bus driver a device is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VdpaDriver {
    /// `vhost_vdpa`: a `/dev/vhost-vdpa-N` char device for a userspace (DPDK virtio_user) app.
    Vhost,
    /// `virtio_vdpa`: a kernel virtio device with a netdev.
    Virtio,
    Other(String),
}

impl VdpaDriver {
    fn from_name(name: &str) -> VdpaDriver {
        match name {
            "vhost_vdpa" => VdpaDriver::Vhost,
            "virtio_vdpa" => VdpaDriver::Virtio,
            other => VdpaDriver::Other(other.to_string()),
        }
    }
}

/// One vDPA device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VdpaDevice {
    /// Its name on the vdpa bus (`vdpa0`).
    pub name: String,
    /// `None` when unbound.
    pub driver: Option<VdpaDriver>,
    /// The PCI function it sits on (a VF for hardware vDPA); `None` for the simulator.
    pub parent: Option<PciAddress>,
    /// `/dev/vhost-vdpa-N` when bound to vhost_vdpa.
    pub vhost_device: Option<PathBuf>,
    /// The virtio device (`virtio3`) when bound to virtio_vdpa: what the netdev's kernel
    /// parent device is named (IFLA_PARENT_DEV_NAME).
    pub virtio_device: Option<String>,
    /// The virtio netdev(s) when bound to virtio_vdpa.
    pub netdevs: Vec<String>,
}

/// A device or interface name from a config: one path component, nothing else.
pub(crate) fn validate_name(field: &str, value: &str) -> Result<()> {
    if value.is_empty()
        || value == "."
        || value == ".."
        || value.contains('/')
        || value.contains('\0')
    {
        return Err(Error::InvalidName {
            field: field.to_string(),
            value: value.to_string(),
        });
    }
    Ok(())
}

impl Sysfs {
    fn vdpa_bus(&self) -> PathBuf {
        self.root().join("bus/vdpa/devices")
    }

    /// The names of all vDPA devices (empty when the vdpa bus is not loaded).
    pub fn vdpa_names(&self) -> Result<Vec<String>> {
        dir_names(&self.vdpa_bus())
    }

    /// The vDPA device called `name`.
    pub fn vdpa_by_name(&self, name: &str) -> Result<VdpaDevice> {
        validate_name("vdpaDevice", name)?;
        let link = self.vdpa_bus().join(name);
        let dir = std::fs::canonicalize(&link).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NoSuchVdpa(format!("named {name}")),
            _ => Error::io(&link, e),
        })?;
        let driver = link_name(&dir.join("driver"))?.map(|d| VdpaDriver::from_name(&d));
        let parent = dir
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse().ok());
        let mut vhost_device = None;
        let mut virtio_device = None;
        let mut netdevs = Vec::new();
        for child in dir_names(&dir)? {
            if child.starts_with("vhost-vdpa-") {
                vhost_device = Some(PathBuf::from("/dev").join(&child));
            } else if child.starts_with("virtio") {
                netdevs.extend(dir_names(&dir.join(&child).join("net"))?);
                virtio_device = Some(child);
            }
        }
        Ok(VdpaDevice {
            name: name.to_string(),
            driver,
            parent,
            vhost_device,
            virtio_device,
            netdevs,
        })
    }

    /// All vDPA devices.
    pub fn vdpa_devices(&self) -> Result<Vec<VdpaDevice>> {
        self.vdpa_names()?
            .iter()
            .map(|n| self.vdpa_by_name(n))
            .collect()
    }

    /// The vDPA device on PCI function `parent` (a VF a device plugin allocated), if any.
    pub fn vdpa_by_parent(&self, parent: PciAddress) -> Result<Option<VdpaDevice>> {
        Ok(self
            .vdpa_devices()?
            .into_iter()
            .find(|d| d.parent == Some(parent)))
    }
}
