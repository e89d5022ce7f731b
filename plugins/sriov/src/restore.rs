//! Putting a VF back the way a [`Record`] says it was: shared by DEL, GC and ADD's rollback.
//! Every step is tried; failures are collected and reported together (STYLE.md 5), and a VF
//! already back in place is success. The netdev side is `nfv_podnet::take_back`.

use nfv_cni::result::Success;
use nfv_cni::Error;
use nfv_netlink::{MacAddr, Rtnetlink, VfSetting};
use nfv_pci::VfDriver;
use nfv_plugin::{Cause, CniRecordStore, Failure, Failures};
use nfv_podnet::HostNetdev;

use crate::record::{Record, VfMode};

pub use nfv_podnet::is_device;

impl crate::Sriov {
    /// The end of an ADD that has begun changing things (its record is written): on error,
    /// put everything back as `record` says, and keep the record when that is incomplete
    /// (DEL finishes the job); the error says so in its details.
    pub(crate) fn rolled_back_on_error<K: Rtnetlink>(
        &self,
        attached: Result<Success, Error>,
        host: &mut K,
        pod_ns: Option<&K::Netns>,
        record: &Record,
    ) -> Result<Success, Error> {
        let e = match attached {
            Ok(result) => return Ok(result),
            Err(e) => e,
        };
        nfv_cni::warn!("ADD failed, rolling back VF {}: {}", record.device, e.msg);
        let failures = restore(host, &self.sysfs, pod_ns, record);
        Err(self.records.rolled_back(record, e, &failures))
    }
}

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
pub fn restore<K: Rtnetlink>(
    host: &mut K,
    sysfs: &impl VfDriver,
    pod_ns: Option<&K::Netns>,
    r: &Record,
) -> Failures {
    let mut failures = Failures::new();
    let dev = r.device.as_str();

    // 1. VF settings first: with igb, the admin MAC must be back before the netdev's own.
    //    When the PF's view of the MAC was only the VF's own choice (the same as its netdev's),
    //    clear the admin MAC instead of setting it: setting it would mark it as PF-set (igb
    //    then refuses the VF any other MAC); the netdev's MAC, restored below, shows through
    //    again. Checked below, with the recorded value set after all if it does not.
    let mirrored = mirrored_mac(r);
    let mut cleared_admin_mac = false;
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
                    let s = match (s, mirrored) {
                        (VfSetting::Mac(_), Some(_)) => {
                            cleared_admin_mac = true;
                            VfSetting::Mac(MacAddr([0; 6]))
                        }
                        _ => *s,
                    };
                    if let Err(e) = host.set_vf(pf.index, r.vf_index, &s) {
                        failures.push(Failure::new(format!("restoring VF {dev}"), dev, e));
                    }
                }
            }
            Err(e) => failures.push(Failure::new(
                format!("restoring VF {dev} settings: PF {}", r.pf_netdev),
                dev,
                e,
            )),
        }
    }

    if r.mode != VfMode::Netdev {
        // No netdev was moved by sriov (userspace driver; or a vDPA hand-off, whose netdev,
        // if any, the vdpa code brought home before this runs): the VF settings were the
        // whole of sriov's part.
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
        nfv_podnet::take_back::take_back(host, pod_ns, &netdev, &r.ifname, dev).within("VF "),
    );
    if admin_mac_restored {
        if let Some(e) = restore_mac_after_admin_mac(host, sysfs, r, cleared_admin_mac) {
            failures.push(e);
        }
    }
    if let (true, Some(saved)) = (cleared_admin_mac, mirrored) {
        if let Some(e) = pf_shows_mac(host, sysfs, r, saved) {
            failures.push(e);
        }
    }

    remove_device_info(r, &mut failures);
    failures
}

/// The device-info file the record says ADD wrote (never one it kept): removed when it is a
/// regular file in the device-info tree, left in place (and logged) otherwise.
fn remove_device_info(r: &Record, failures: &mut Failures) {
    if let Some(f) = &r.device_info_file {
        let place = crate::devinfo::place();
        if let Err(e) = nfv_devinfo::remove_written(&place, std::path::Path::new(f)) {
            failures.push(Failure::bare(r.device.as_str(), e));
        }
    }
}

/// The netdev's own MAC once the admin MAC is back. igbvf refuses a MAC from the VF side while
/// the PF has set one (EADDRNOTAVAIL) and takes the admin MAC only when it probes, so: try to
/// set it; when that fails, rebind the driver, and give the new netdev the recorded name, MTU
/// and admin state again.
/// `resend`: set it even when the netdev already has it, so the VF driver tells the PF again
/// (after the admin MAC was cleared).
fn restore_mac_after_admin_mac(
    host: &mut impl Rtnetlink,
    sysfs: &impl VfDriver,
    r: &Record,
    resend: bool,
) -> Option<Failure> {
    let mac = r.host_mac.as_deref()?.parse::<MacAddr>().ok()?;
    let link = host.link_by_name(&r.host_ifname).ok()?; // not home: take_back reported it
    if link.mac == Some(mac) && !resend {
        return None;
    }
    let refused = match host.set_mac(link.index, mac) {
        Ok(()) => return None,
        Err(e) => e,
    };
    let step = format!("restoring the MAC of {}", r.host_ifname);
    let fail = |cause: Cause| Some(Failure::new(step.clone(), r.device.as_str(), cause));
    let device = r.device.pci();
    nfv_cni::info!(
        "VF {}: the netdev refused MAC {mac} ({refused}); rebinding its driver",
        r.device
    );
    if let Err(e) = sysfs.rebind_driver(device) {
        let rebinding = Failure::new("rebinding the VF driver", r.device.as_str(), e);
        return fail(Cause::Then(Box::new(refused.into()), Box::new(rebinding)));
    }
    let name = match crate::admin_mac::wait_for_netdev(sysfs, device) {
        Ok(n) => n,
        Err(e) => return fail(e.into()),
    };
    let saved = r.host_netdev();
    let failures = nfv_podnet::take_back::take_back(host, None, &saved, &name, r.device.as_str());
    if failures.is_empty() {
        None
    } else {
        let step = format!("{step}: after rebinding");
        Some(Failure::new(step, r.device.as_str(), Cause::All(failures)))
    }
}

/// The recorded admin MAC when it was the netdev's own MAC too (the PF mirrored the VF's
/// choice, as igb does), and not zero.
fn mirrored_mac(r: &Record) -> Option<MacAddr> {
    let admin = r.saved_vf.mac.as_deref()?.parse::<MacAddr>().ok()?;
    let own = r.host_mac.as_deref()?.parse::<MacAddr>().ok()?;
    (admin == own && !admin.is_zero()).then_some(admin)
}

/// After clearing the admin MAC and restoring the netdev's: the PF must show the recorded MAC
/// again. A driver that does not mirror the VF's MAC gets it set as an admin MAC after all
/// (and the netdev follows, by a rebind if need be).
fn pf_shows_mac(
    host: &mut impl Rtnetlink,
    sysfs: &impl VfDriver,
    r: &Record,
    saved: MacAddr,
) -> Option<Failure> {
    let fail = |e: nfv_netlink::Error| {
        let step = format!("restoring the admin MAC of VF {}", r.device);
        Some(Failure::new(step, r.device.as_str(), e))
    };
    let pf = match host.link_by_name(&r.pf_netdev) {
        Ok(pf) => pf,
        Err(e) => return fail(e),
    };
    if host.vf(pf.index, r.vf_index).is_ok_and(|v| v.mac == saved) {
        return None;
    }
    nfv_cni::info!(
        "VF {}: the PF does not show the netdev's MAC {saved}: setting it as the admin MAC",
        r.device
    );
    if let Err(e) = host.set_vf(pf.index, r.vf_index, &VfSetting::Mac(saved)) {
        return fail(e);
    }
    restore_mac_after_admin_mac(host, sysfs, r, false)
}

#[cfg(test)]
mod tests;
