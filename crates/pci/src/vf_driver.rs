//! The kernel seam on the sysfs side of igb's admin-MAC quirk: a VF netdev takes a MAC set
//! through the PF only when its driver probes again. [`Sysfs`] is the real one; nfv-testkit
//! has a recording fake.

use crate::{PciAddress, Result, Sysfs};

/// Rebinding a VF's driver and finding the netdev it creates.
pub trait VfDriver {
    /// Unbind the VF from its driver and bind it again; the driver's name (`None`: unbound,
    /// left alone). See [`Sysfs::rebind_driver`].
    fn rebind_driver(&self, vf: PciAddress) -> Result<Option<String>>;
    /// The VF's netdev in this namespace, if it has one now (none while the driver probes).
    fn vf_netdev(&self, vf: PciAddress) -> Option<String>;
}

impl VfDriver for Sysfs {
    fn rebind_driver(&self, vf: PciAddress) -> Result<Option<String>> {
        Sysfs::rebind_driver(self, vf)
    }

    fn vf_netdev(&self, vf: PciAddress) -> Option<String> {
        self.vf(vf).ok()?.netdev().map(str::to_string)
    }
}
