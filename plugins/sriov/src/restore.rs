//! Putting a VF back the way a [`Record`] says it was: shared by DEL, GC and ADD's rollback.
//! Every step is tried; failures are collected and reported together (STYLE.md 5), and a VF
//! already back in place is success.

use nfv_netlink::{Link, MacAddr, Netlink, Netns};

use crate::record::Record;

/// Whether `link` is the VF `device` (when the kernel names the bus device; veths and old
/// kernels do not, and are taken on their name alone).
pub fn is_device(link: &Link, device: &str) -> bool {
    link.parent_device.as_deref().is_none_or(|d| d == device)
}

fn find(nl: &mut Netlink, name: &str, device: &str) -> Option<Link> {
    nl.link_by_name(name).ok().filter(|l| is_device(l, device))
}

/// Bring the VF netdev back to the host namespace under its original name, with its original
/// MAC and MTU, and put the VF settings on the PF back. `pod_ns` is the pod's namespace when
/// it still exists. Returns the failures (empty: fully restored).
pub fn restore(host: &mut Netlink, pod_ns: Option<&Netns>, r: &Record) -> Vec<String> {
    let mut failures = Vec::new();
    let dev = r.device.as_str();

    // 1. VF settings first: with igb, the admin MAC must be back before the netdev's own.
    let settings = r.saved_vf.restore_settings();
    if !settings.is_empty() {
        match host.link_by_name(&r.pf_netdev) {
            Ok(pf) => {
                for s in &settings {
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

    // 2. Where is the netdev? Already home, fallen back to the host under the pod's name (the
    //    pod namespace died), or still in the pod.
    let at_home = find(host, &r.host_ifname, dev);
    let fallen_back = if at_home.is_some() {
        None
    } else {
        // The kernel returns a dying namespace's devices under their pod name, or as devN
        // when that name is taken: look by name, then by PCI address.
        find(host, &r.ifname, dev).or_else(|| {
            host.links()
                .ok()?
                .into_iter()
                .find(|l| l.parent_device.as_deref() == Some(dev))
        })
    };
    let link = match (at_home, fallen_back) {
        (Some(l), _) => Some(l),
        (None, Some(l)) => {
            let _ = host.set_down(l.index);
            match host.rename(l.index, &r.host_ifname) {
                Ok(()) => host.link_by_name(&r.host_ifname).ok(),
                Err(e) => {
                    failures.push(format!("renaming VF {dev} back to {}: {e}", r.host_ifname));
                    None
                }
            }
        }
        (None, None) => match pod_ns {
            None => None,
            Some(ns) => match Netlink::open_in(ns) {
                Err(e) => {
                    failures.push(format!("reaching the pod namespace for VF {dev}: {e}"));
                    None
                }
                Ok(mut pod) => match find(&mut pod, &r.ifname, dev) {
                    None => None,
                    Some(l) => {
                        let _ = pod.set_down(l.index);
                        let home = host.netns().try_clone();
                        match home
                            .and_then(|h| pod.move_to_netns(l.index, &h, Some(&r.host_ifname)))
                        {
                            Ok(()) => host.link_by_name(&r.host_ifname).ok(),
                            Err(e) => {
                                failures.push(format!("moving VF {dev} back to the host: {e}"));
                                None
                            }
                        }
                    }
                },
            },
        },
    };

    if let Some(f) = &r.device_info_file {
        if let Err(e) = crate::devinfo::remove(std::path::Path::new(f)) {
            failures.push(e);
        }
    }

    // 3. Its own MAC and MTU.
    match link {
        Some(l) => {
            if let Some(mac) = r
                .host_mac
                .as_deref()
                .and_then(|m| m.parse::<MacAddr>().ok())
            {
                if l.mac != Some(mac) {
                    if let Err(e) = host.set_mac(l.index, mac) {
                        failures.push(format!("restoring the MAC of {}: {e}", r.host_ifname));
                    }
                }
            }
            if let Some(mtu) = r.host_mtu {
                if l.mtu != Some(mtu) {
                    if let Err(e) = host.set_mtu(l.index, mtu) {
                        failures.push(format!("restoring the MTU of {}: {e}", r.host_ifname));
                    }
                }
            }
            if r.host_up && !l.admin_up {
                if let Err(e) = host.set_up(l.index) {
                    failures.push(format!("setting {} up again: {e}", r.host_ifname));
                }
            }
        }
        None => failures.push(format!(
            "VF {dev}: not found as {} in the pod nor as {} or {} in the host; if the pod \
             namespace was just deleted the kernel may not have returned it yet: try again",
            r.ifname, r.ifname, r.host_ifname
        )),
    }
    failures
}
