//! igb's admin-MAC quirk. With a MAC set for a VF through the PF (the admin MAC), igbvf refuses
//! any MAC from the VF side (EADDRNOTAVAIL) and reads the admin MAC only when it probes: the
//! VF driver is unbound and bound again, and the netdev it creates (new index, possibly a new
//! name) is found by its PCI address. ADD does it when the netdev must take the configured
//! MAC; restoring does it when the netdev must take its recorded MAC back (docs/sriov.md).

use nfv_cni::Error;
use nfv_netlink::{Link, Netlink, VfSetting};
use nfv_pci::{PciAddress, Sysfs};

use crate::codes::{self, from_netlink};
use crate::config::Plan;
use crate::Sriov;

fn netlink<T>(r: nfv_netlink::Result<T>) -> Result<T, Error> {
    r.map_err(from_netlink)
}

impl Sriov {
    /// With an admin MAC set through the PF, the VF netdev must carry the same MAC. Drivers
    /// that let the VF set it (iavf, mlx5) take it as the netdev's MAC; igbvf refuses any MAC
    /// from the VF once the PF has set one (EADDRNOTAVAIL) and only reads the admin MAC when
    /// it probes: then unbind and bind the VF driver, and use the netdev it creates (new
    /// index, possibly a new name). DEL finds it by its PCI address and restores the name.
    pub(crate) fn netdev_takes_admin_mac(
        &self,
        host: &mut Netlink,
        plan: &Plan,
        link: &Link,
    ) -> Result<Link, Error> {
        let link = netlink(host.link_by_index(link.index))?; // as it is after the VF settings
        let Some(mac) = plan.mac else {
            return Ok(link);
        };
        if link.mac == Some(mac) {
            return Ok(link);
        }
        let refused = match host.set_mac(link.index, mac) {
            Ok(()) => return netlink(host.link_by_index(link.index)),
            Err(e) => e,
        };
        if !plan.vf_settings.contains(&VfSetting::Mac(mac)) {
            return Err(from_netlink(refused));
        }
        nfv_cni::info!(
            "VF {}: the netdev refused MAC {mac} ({refused}); rebinding its driver so it takes \
             the admin MAC",
            plan.device
        );
        let driver = self.sysfs.rebind_driver(plan.device).map_err(|e| {
            Error::new(
                codes::KERNEL_REFUSED,
                format!(
                    "VF {}: rebinding its driver to take MAC {mac}: {e}",
                    plan.device
                ),
            )
        })?;
        let name = wait_for_netdev(&self.sysfs, plan.device)?;
        // By PCI address: udev may rename the new netdev at any moment.
        let device = plan.device.to_string();
        let now = match netlink(host.links())?
            .into_iter()
            .find(|l| l.parent_device.as_deref() == Some(device.as_str()))
        {
            Some(l) => l,
            None => netlink(host.link_by_name(&name))?,
        };
        if now.mac != Some(mac) {
            return Err(Error::new(
                codes::KERNEL_REFUSED,
                format!(
                    "VF {}: after rebinding {} its netdev {name} has MAC {}, not the admin MAC \
                     {mac}: the driver does not follow the PF's setting",
                    plan.device,
                    driver.as_deref().unwrap_or("the driver"),
                    now.mac
                        .map(|m| m.to_string())
                        .unwrap_or_else(|| "none".into())
                ),
            ));
        }
        Ok(now)
    }
}

/// The VF's netdev after a rebind: probing registers it, but give udev-less hosts and slow
/// drivers a few seconds.
pub(crate) fn wait_for_netdev(sysfs: &Sysfs, device: PciAddress) -> Result<String, Error> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Ok(vf) = sysfs.vf(device) {
            if let Some(n) = vf.netdev() {
                return Ok(n.to_string());
            }
        }
        if std::time::Instant::now() > deadline {
            return Err(Error::new(
                codes::VF_UNUSABLE,
                format!("VF {device}: no netdev 10 s after rebinding its driver"),
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
