//! igb's admin-MAC quirk. With a MAC set for a VF through the PF (the admin MAC), igbvf refuses
//! any MAC from the VF side (EADDRNOTAVAIL) and reads the admin MAC only when it probes: the
//! VF driver is unbound and bound again, and the netdev it creates (new index, possibly a new
//! name) is found by its PCI address. ADD does it when the netdev must take the configured
//! MAC; restoring does it when the netdev must take its recorded MAC back (docs/sriov.md).

use nfv_cni::Error;
use nfv_netlink::{Link, Rtnetlink, VfSetting};
use nfv_pci::{PciAddress, VfDriver};

use crate::codes::{self, from_netlink};
use crate::config::Plan;

fn netlink<T>(r: nfv_netlink::Result<T>) -> Result<T, Error> {
    r.map_err(from_netlink)
}

/// With an admin MAC set through the PF, the VF netdev must carry the same MAC. Drivers
/// that let the VF set it (iavf, mlx5) take it as the netdev's MAC; igbvf refuses any MAC
/// from the VF once the PF has set one (EADDRNOTAVAIL) and only reads the admin MAC when
/// it probes: then unbind and bind the VF driver, and use the netdev it creates (new
/// index, possibly a new name). DEL finds it by its PCI address and restores the name.
pub(crate) fn netdev_takes_admin_mac(
    host: &mut impl Rtnetlink,
    sysfs: &impl VfDriver,
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
    let driver = sysfs.rebind_driver(plan.device).map_err(|e| {
        Error::new(
            codes::KERNEL_REFUSED,
            format!(
                "VF {}: rebinding its driver to take MAC {mac}: {e}",
                plan.device
            ),
        )
    })?;
    let name = wait_for_netdev(sysfs, plan.device)?;
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

/// The VF's netdev after a rebind: probing registers it, but give udev-less hosts and slow
/// drivers a few seconds.
pub(crate) fn wait_for_netdev(sysfs: &impl VfDriver, device: PciAddress) -> Result<String, Error> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(n) = sysfs.vf_netdev(device) {
            return Ok(n);
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

/// On nfv-testkit's fake kernel: which drivers are rebound, and what comes out.
#[cfg(test)]
mod tests {
    use super::*;
    use nfv_testkit::kernel::{FakeKernel, MacBehaviour, EADDRNOTAVAIL};

    const VF: &str = "0000:01:10.1";

    fn plan(admin: bool) -> Plan {
        let mac = "02:00:00:00:0a:0a".parse().ok();
        Plan {
            device: VF.parse().unwrap(),
            vf_settings: mac
                .filter(|_| admin)
                .map(VfSetting::Mac)
                .into_iter()
                .collect(),
            mac,
            mtu: None,
        }
    }

    /// PF `pf0` with VF 1 at [`VF`], its netdev `vf0`; the admin MAC already set when
    /// `admin` (ADD's VF settings come first).
    fn node(behaviour: MacBehaviour, admin: bool) -> (FakeKernel, nfv_testkit::kernel::FakeNs) {
        let k = FakeKernel::new();
        let host = k.namespace("host");
        let pf = k.add_link(host, "pf0", "02:00:00:00:0f:00", 1500, None);
        k.add_vf(pf, 1, VF, "igbvf", behaviour);
        k.add_link(host, "vf0", "02:00:00:00:00:01", 1500, Some(VF));
        for s in &plan(admin).vf_settings {
            k.preset_vf(pf, 1, *s);
        }
        (k, host)
    }

    #[test]
    fn an_igb_netdev_that_refuses_the_admin_mac_is_rebound_and_its_new_netdev_used() {
        let (k, host) = node(MacBehaviour::Igb, true);
        let link = k.link(host, "vf0").unwrap();
        let got =
            netdev_takes_admin_mac(&mut k.socket(host), &k.sysfs(), &plan(true), &link).unwrap();
        assert_eq!(got.mac, plan(true).mac);
        assert_ne!(got.index, link.index, "the driver's new netdev");
        assert_eq!(got.parent_device.as_deref(), Some(VF));
        assert_eq!(
            k.log(),
            [
                "host: mac vf0 02:00:00:00:0a:0a (refused)".to_string(),
                format!("sysfs: rebind {VF}"),
            ]
        );
    }

    #[test]
    fn a_netdev_that_takes_the_mac_is_not_rebound() {
        let (k, host) = node(MacBehaviour::Plain, true);
        let link = k.link(host, "vf0").unwrap();
        let got =
            netdev_takes_admin_mac(&mut k.socket(host), &k.sysfs(), &plan(true), &link).unwrap();
        assert_eq!((got.index, got.mac), (link.index, plan(true).mac));
        assert_eq!(k.log(), ["host: mac vf0 02:00:00:00:0a:0a"]);
    }

    #[test]
    fn without_an_admin_mac_of_ours_a_refusal_is_an_error_and_nothing_is_rebound() {
        let (k, host) = node(MacBehaviour::Plain, false);
        k.fail("host: mac vf0", EADDRNOTAVAIL);
        let link = k.link(host, "vf0").unwrap();
        let e = netdev_takes_admin_mac(&mut k.socket(host), &k.sysfs(), &plan(false), &link)
            .unwrap_err();
        assert_eq!(e.code, codes::KERNEL_REFUSED);
        assert!(
            !k.log().iter().any(|l| l.starts_with("sysfs:")),
            "{:?}",
            k.log()
        );
    }
}
