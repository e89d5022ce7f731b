//! Bringing a netdev home: from the pod, or from where the kernel left it when the pod's
//! namespace died, under its original name, MAC, MTU and admin state.

use nfv_netlink::{Link, MacAddr, Netlink, Netns};
use nfv_plugin::{Failure, Failures};

use crate::device::{is_device, HostNetdev};

fn find(nl: &mut Netlink, name: &str, device: &str) -> Option<Link> {
    nl.link_by_name(name).ok().filter(|l| is_device(l, device))
}

/// Put the netdev of `device` back in `host`'s namespace as `saved` says it was. It is looked
/// for already home (`saved.name`), fallen back to the host (the kernel returns a dying
/// namespace's physical devices under their pod name, or as `devN` when that name is taken: by
/// name, then by parent device), then in the pod as `pod_ifname` when `pod_ns` still exists.
/// Returns the failures (empty: fully restored).
pub fn take_back(
    host: &mut Netlink,
    pod_ns: Option<&Netns>,
    saved: &HostNetdev,
    pod_ifname: &str,
    device: &str,
) -> Failures {
    let mut failures = Failures::new();
    let at_home = find(host, &saved.name, device);
    let fallen_back = if at_home.is_some() {
        None
    } else {
        find(host, pod_ifname, device).or_else(|| {
            host.links()
                .ok()?
                .into_iter()
                .find(|l| l.parent_device.as_deref() == Some(device))
        })
    };
    let link = match (at_home, fallen_back) {
        (Some(l), _) => Some(l),
        (None, Some(l)) => {
            let _ = host.set_down(l.index);
            match host.rename(l.index, &saved.name) {
                Ok(()) => host.link_by_name(&saved.name).ok(),
                Err(e) => {
                    let step = format!("renaming {device} back to {}", saved.name);
                    failures.push(Failure::new(step, device, e));
                    None
                }
            }
        }
        (None, None) => match pod_ns {
            None => None,
            Some(ns) => from_pod(host, ns, saved, pod_ifname, device, &mut failures),
        },
    };
    match link {
        Some(l) => failures.extend(restore_state(host, &l, saved, device)),
        None => failures.push(Failure::stated(
            device,
            format!(
                "{device}: not found as {pod_ifname} in the pod nor as {pod_ifname} or {} in the \
                 host; if the pod namespace was just deleted the kernel may not have returned \
                 it yet: try again",
                saved.name
            ),
        )),
    }
    failures
}

fn from_pod(
    host: &mut Netlink,
    ns: &Netns,
    saved: &HostNetdev,
    pod_ifname: &str,
    device: &str,
    failures: &mut Failures,
) -> Option<Link> {
    let mut pod = match Netlink::open_in(ns) {
        Ok(p) => p,
        Err(e) => {
            let step = format!("reaching the pod namespace for {device}");
            failures.push(Failure::new(step, device, e));
            return None;
        }
    };
    let l = find(&mut pod, pod_ifname, device)?;
    let _ = pod.set_down(l.index);
    let home = host.netns().try_clone();
    match home.and_then(|h| pod.move_to_netns(l.index, &h, Some(&saved.name))) {
        Ok(()) => host.link_by_name(&saved.name).ok(),
        Err(e) => {
            let step = format!("moving {device} back to the host");
            failures.push(Failure::new(step, device, e));
            None
        }
    }
}

/// MAC, MTU and admin state of a netdev that is home again.
fn restore_state(host: &mut Netlink, l: &Link, saved: &HostNetdev, device: &str) -> Failures {
    let mut failures = Failures::new();
    let mut failed = |step: String, e| failures.push(Failure::new(step, device, e));
    if let Some(mac) = saved.mac.as_deref().and_then(|m| m.parse::<MacAddr>().ok()) {
        if l.mac != Some(mac) {
            if let Err(e) = host.set_mac(l.index, mac) {
                failed(format!("restoring the MAC of {}", saved.name), e);
            }
        }
    }
    if let Some(mtu) = saved.mtu {
        if l.mtu != Some(mtu) {
            if let Err(e) = host.set_mtu(l.index, mtu) {
                failed(format!("restoring the MTU of {}", saved.name), e);
            }
        }
    }
    if saved.up && !l.admin_up {
        if let Err(e) = host.set_up(l.index) {
            failed(format!("setting {} up again", saved.name), e);
        }
    }
    failures
}

/// Without a saved state: if the netdev of `device` is in the pod as `pod_ifname`, bring it
/// home to the calling thread's namespace as `name`. Not there is success (nothing to give
/// back; the kernel returns it itself when the namespace dies).
pub fn bring_home_as(pod_ns: &Netns, pod_ifname: &str, device: &str, name: &str) -> Failures {
    let mut pod = match Netlink::open_in(pod_ns) {
        Ok(p) => p,
        Err(e) => return Failure::bare(device, e).into(),
    };
    let Some(link) = find(&mut pod, pod_ifname, device) else {
        return Failures::new();
    };
    let home = match Netns::current() {
        Ok(h) => h,
        Err(e) => return Failure::bare(device, e).into(),
    };
    let _ = pod.set_down(link.index);
    match pod.move_to_netns(link.index, &home, Some(name)) {
        Ok(()) => Failures::new(),
        Err(e) => Failure::new(format!("bringing {device} home as {name}"), device, e).into(),
    }
}
