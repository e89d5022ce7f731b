//! PCI, SR-IOV and vDPA discovery from sysfs.
//!
//! Everything hangs off [`Sysfs`]: [`Sysfs::new`] reads `/sys` (what the plugins use);
//! [`Sysfs::at`] reads a fake tree (what the tests use, see `testdata/sysfs/`).
//!
//! - [`Sysfs::vf`] gathers what attaching a VF needs: PF and its netdev, VF index, the VF's
//!   netdevs, driver binding (kernel / userspace / none), IOMMU group and VFIO device node.
//! - [`Sysfs::vdpa_by_name`] / [`Sysfs::vdpa_by_parent`]: vDPA devices with their driver,
//!   vhost char device or virtio netdev.
//! - [`parse_pci_address`]: config validation with the field named in the error.
//! - [`VfDriver`]: rebinding a VF's driver and finding its new netdev, as a trait (the real
//!   [`Sysfs`], and nfv-testkit's fake).

mod address;
mod error;
mod sriov;
mod sysfs;
mod vdpa;
mod vf_driver;

pub use address::{ParsePciAddressError, PciAddress};
pub use error::{Error, Result};
pub use sriov::{parse_pci_address, DriverBinding, UserspaceDriver, VfDevice, VfioGroup};
pub use sysfs::Sysfs;
pub use vdpa::{VdpaDevice, VdpaDriver};
pub use vf_driver::VfDriver;
