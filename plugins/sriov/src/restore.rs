//! Putting a VF back the way a [`Record`] says it was: shared by DEL, GC and ADD's rollback.
//! Every step is tried; failures are collected and reported together (STYLE.md 5), and a VF
//! already back in place is success. The netdev side is `nfv_podnet::take_back`.

use nfv_netlink::MacAddr;
use nfv_netlink::{Netlink, Netns};
use nfv_pci::Sysfs;
use nfv_podnet::HostNetdev;

use crate::record::{Record, VfMode};

pub use nfv_podnet::is_device;

impl Record {
    /// The VF netdev as it was in the host before ADD.
    pub fn host_netdev(&self) -> HostNetdev {
        HostNetdev {
            name: self.host_ifname.clone(),
            mac: self.host_mac.clone(),
            mtu: self.host_mtu,
            up: self.host_up,
        }
    }
}

/// Put the VF settings on the PF back, then bring the VF netdev back to the host namespace
/// under its original name, with its original MAC and MTU. `pod_ns` is the pod's namespace
/// when it still exists. Returns the failures (empty: fully restored).
pub fn restore(
    host: &mut Netlink,
    sysfs: &Sysfs,
    pod_ns: Option<&Netns>,
    r: &Record,
) -> Vec<String> {
    let mut failures = Vec::new();
    let dev = r.device.as_str();

    // 1. VF settings first: with igb, the admin MAC must be back before the netdev's own.
    let settings = r.saved_vf.restore_settings();
    if !settings.is_empty() {
        match host.link_by_name(&r.pf_netdev) {
            Ok(pf) => {
                // Only what differs now: a setting whose change failed (igb refusing link
                // state) was never applied, and the driver would refuse restoring it too.
                let current = host.vf(pf.index, r.vf_index).ok();
                for s in settings
                    .iter()
                    .filter(|s| current.as_ref().is_none_or(|c| !c.has(s)))
                {
                    if let Err(e) = host.set_vf(pf.index, r.vf_index, s) {
                        failures.push(format!("restoring VF {dev}: {e}"));
                    }
                }
            }
            Err(e) => failures.push(format!(
                "restoring VF {dev} settings: PF {}: {e}",
                r.pf_netdev
            )),
        }
    }

    if r.mode == VfMode::Userspace {
        // No netdev was moved: the VF settings were the whole attachment.
        remove_device_info(r, &mut failures);
        return failures;
    }

    // 2. The netdev: name, namespace, MTU, admin state; its MAC below when an admin MAC was
    //    restored (the VF driver may only take it by probing again).
    let mut netdev = r.host_netdev();
    let admin_mac_restored = r.saved_vf.mac.is_some();
    if admin_mac_restored {
        netdev.mac = None;
    }
    failures.extend(
        nfv_podnet::take_back::take_back(host, pod_ns, &netdev, &r.ifname, dev)
            .into_iter()
            .map(|f| format!("VF {f}")),
    );
    if admin_mac_restored {
        if let Some(e) = restore_mac_after_admin_mac(host, sysfs, r) {
            failures.push(e);
        }
    }

    remove_device_info(r, &mut failures);
    failures
}

fn remove_device_info(r: &Record, failures: &mut Vec<String>) {
    if let Some(f) = &r.device_info_file {
        if let Err(e) = crate::devinfo::remove(std::path::Path::new(f)) {
            failures.push(e);
        }
    }
}

/// The netdev's own MAC once the admin MAC is back. igbvf refuses a MAC from the VF side while
/// the PF has set one (EADDRNOTAVAIL) and takes the admin MAC only when it probes, so: try to
/// set it; when that fails, rebind the driver, and give the new netdev the recorded name, MTU
/// and admin state again.
fn restore_mac_after_admin_mac(host: &mut Netlink, sysfs: &Sysfs, r: &Record) -> Option<String> {
    let mac = r.host_mac.as_deref()?.parse::<MacAddr>().ok()?;
    let link = host.link_by_name(&r.host_ifname).ok()?; // not home: take_back reported it
    if link.mac == Some(mac) {
        return None;
    }
    let refused = match host.set_mac(link.index, mac) {
        Ok(()) => return None,
        Err(e) => e,
    };
    let fail = |m: String| Some(format!("restoring the MAC of {}: {m}", r.host_ifname));
    let Ok(device) = r.device.parse() else {
        return fail(refused.to_string());
    };
    nfv_cni::info!(
        "VF {}: the netdev refused MAC {mac} ({refused}); rebinding its driver",
        r.device
    );
    if let Err(e) = sysfs.rebind_driver(device) {
        return fail(format!("{refused}; rebinding the VF driver: {e}"));
    }
    let name = match crate::attach::wait_for_netdev(sysfs, device) {
        Ok(n) => n,
        Err(e) => return fail(e.msg),
    };
    let saved = r.host_netdev();
    let failures = nfv_podnet::take_back::take_back(host, None, &saved, &name, &r.device);
    if failures.is_empty() {
        None
    } else {
        fail(format!("after rebinding: {}", failures.join("; ")))
    }
}
