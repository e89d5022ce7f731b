//! Bringing a netdev home: from the pod, or from where the kernel left it when the pod's
//! namespace died, under its original name, MAC, MTU and admin state.

use nfv_netlink::{Link, MacAddr, Netlink, Netns, Result, Rtnetlink};
use nfv_plugin::{Failure, Failures};

use crate::device::{is_device, HostNetdev};

fn find(nl: &mut impl Rtnetlink, name: &str, device: &str) -> Option<Link> {
    nl.link_by_name(name).ok().filter(|l| is_device(l, device))
}

/// Put the netdev of `device` back in `host`'s namespace as `saved` says it was. It is looked
/// for already home (`saved.name`), fallen back to the host (the kernel returns a dying
/// namespace's physical devices under their pod name, or as `devN` when that name is taken: by
/// name, then by parent device), then in the pod as `pod_ifname` when `pod_ns` still exists.
/// Returns the failures (empty: fully restored).
pub fn take_back<K: Rtnetlink>(
    host: &mut K,
    pod_ns: Option<&K::Netns>,
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
            // Failing, the rename below fails too, and says so.
            let _ = drop_alt_name(host, l.index, &saved.name);
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

fn from_pod<K: Rtnetlink>(
    host: &mut K,
    ns: &K::Netns,
    saved: &HostNetdev,
    pod_ifname: &str,
    device: &str,
    failures: &mut Failures,
) -> Option<Link> {
    let mut pod = match host.socket_in(ns) {
        Ok(p) => p,
        Err(e) => {
            let step = format!("reaching the pod namespace for {device}");
            failures.push(Failure::new(step, device, e));
            return None;
        }
    };
    let l = find(&mut pod, pod_ifname, device)?;
    let _ = pod.set_down(l.index);
    let _ = drop_alt_name(&mut pod, l.index, &saved.name);
    let home = host.namespace();
    match home.and_then(|h| pod.move_to_netns(l.index, &h, Some(&saved.name))) {
        Ok(()) => host.link_by_name(&saved.name).ok(),
        Err(e) => {
            let step = format!("moving {device} back to the host");
            failures.push(Failure::new(step, device, e));
            None
        }
    }
}

/// Remove `name` from the alternative names of link `index`, if it is one: a link cannot be
/// renamed to a name it carries as an alternative one (EEXIST).
pub(crate) fn drop_alt_name(nl: &mut impl Rtnetlink, index: u32, name: &str) -> Result<()> {
    if nl.alt_names(index)?.iter().any(|n| n == name) {
        nl.remove_alt_name(index, name)?;
    }
    Ok(())
}

/// MAC, MTU and admin state of a netdev that is home again.
fn restore_state(
    host: &mut impl Rtnetlink,
    l: &Link,
    saved: &HostNetdev,
    device: &str,
) -> Failures {
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
    let _ = drop_alt_name(&mut pod, link.index, name);
    match pod.move_to_netns(link.index, &home, Some(name)) {
        Ok(()) => Failures::new(),
        Err(e) => Failure::new(format!("bringing {device} home as {name}"), device, e).into(),
    }
}

/// On the fake kernel: where the netdev is looked for, what is put back, in which order.
#[cfg(test)]
mod tests {
    use super::*;
    use nfv_testkit::kernel::{FakeKernel, FakeNs};

    const DEV: &str = "0000:01:10.1";

    fn saved() -> HostNetdev {
        HostNetdev {
            name: "vf0".into(),
            mac: Some("02:00:00:00:00:01".into()),
            mtu: Some(1500),
            up: true,
        }
    }

    /// Host and pod namespaces, the device's netdev in the pod as ADD left it.
    fn in_pod() -> (FakeKernel, FakeNs, FakeNs) {
        let k = FakeKernel::new();
        let (host, pod) = (k.namespace("host"), k.namespace("pod"));
        k.add_link(pod, "net1", "02:00:00:00:00:99", 9000, Some(DEV));
        k.preset_link(pod, "net1", |l| l.admin_up = true);
        (k, host, pod)
    }

    #[test]
    fn from_the_pod_it_comes_home_down_then_gets_mac_mtu_and_up_back() {
        let (k, host, pod) = in_pod();
        let failures = take_back(&mut k.socket(host), Some(&pod), &saved(), "net1", DEV);
        assert!(failures.is_empty(), "{failures}");
        assert_eq!(
            k.log(),
            [
                "pod: down net1",
                "pod: move net1 to host as vf0",
                "host: mac vf0 02:00:00:00:00:01",
                "host: mtu vf0 1500",
                "host: up vf0",
            ]
        );
        let home = k.link(host, "vf0").unwrap();
        assert_eq!(
            (home.mac.map(|m| m.to_string()), home.mtu, home.admin_up),
            (Some("02:00:00:00:00:01".into()), Some(1500), true)
        );
        assert!(k.names(pod).is_empty());
    }

    /// A netdev that carries its host name as an alternative name (moved into the pod by a
    /// plugin that left it, sriov-cni before it dropped them) cannot be named back until it
    /// goes: it does, first.
    #[test]
    fn its_host_name_among_its_alternative_names_is_dropped_before_it_is_named_back() {
        let (k, host, pod) = in_pod();
        k.add_alt_name(pod, "net1", "vf0");
        let failures = take_back(&mut k.socket(host), Some(&pod), &saved(), "net1", DEV);
        assert!(failures.is_empty(), "{failures}");
        assert_eq!(
            k.log()[..3],
            [
                "pod: down net1",
                "pod: del-altname net1 vf0",
                "pod: move net1 to host as vf0",
            ]
        );
        // Fallen back to the host with it (the pod's namespace died).
        let k = FakeKernel::new();
        let host = k.namespace("host");
        k.add_link(host, "net1", "02:00:00:00:00:01", 1500, Some(DEV));
        k.add_alt_name(host, "net1", "vf0");
        let failures = take_back(&mut k.socket(host), None, &saved(), "net1", DEV);
        assert!(failures.is_empty(), "{failures}");
        assert!(k.link(host, "vf0").is_some());
        assert!(k.alt_names(host, "vf0").is_empty());
    }

    #[test]
    fn fallen_back_to_the_host_it_is_found_by_pod_name_or_by_its_device_and_renamed() {
        for fallen_as in ["net1", "dev7"] {
            let k = FakeKernel::new();
            let host = k.namespace("host");
            k.add_link(host, fallen_as, "02:00:00:00:00:01", 1500, Some(DEV));
            let failures = take_back(&mut k.socket(host), None, &saved(), "net1", DEV);
            assert!(failures.is_empty(), "{failures}");
            assert_eq!(
                k.log(),
                [
                    format!("host: down {fallen_as}"),
                    format!("host: rename {fallen_as} vf0"),
                    "host: up vf0".to_string(),
                ],
                "fallen back as {fallen_as}: only what differs is set"
            );
        }
    }

    #[test]
    fn already_home_only_its_state_is_restored() {
        let k = FakeKernel::new();
        let host = k.namespace("host");
        k.add_link(host, "vf0", "02:00:00:00:00:01", 9000, Some(DEV));
        assert!(take_back(&mut k.socket(host), None, &saved(), "net1", DEV).is_empty());
        assert_eq!(k.log(), ["host: mtu vf0 1500", "host: up vf0"]);
    }

    #[test]
    fn a_failing_step_does_not_stop_the_next_and_keeps_its_errno() {
        let (k, host, pod) = in_pod();
        k.fail("host: mtu vf0", 16);
        let failures = take_back(&mut k.socket(host), Some(&pod), &saved(), "net1", DEV);
        assert_eq!(failures.len(), 1, "{failures}");
        assert_eq!(failures[0].errno(), Some(16));
        assert_eq!(failures[0].device, DEV);
        assert!(
            failures[0]
                .to_string()
                .starts_with("restoring the MTU of vf0: setting MTU"),
            "{failures}"
        );
        assert_eq!(
            k.log().last().map(String::as_str),
            Some("host: up vf0"),
            "set up after the MTU failed"
        );
    }

    #[test]
    fn a_netdev_of_another_device_under_the_same_name_is_not_taken() {
        let k = FakeKernel::new();
        let (host, pod) = (k.namespace("host"), k.namespace("pod"));
        k.add_link(pod, "net1", "02:00:00:00:00:99", 1500, Some("0000:01:10.2"));
        let failures = take_back(&mut k.socket(host), Some(&pod), &saved(), "net1", DEV);
        assert!(k.log().is_empty(), "{:?}", k.log());
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].errno(), None);
        assert_eq!(
            failures[0].to_string(),
            "0000:01:10.1: not found as net1 in the pod nor as net1 or vf0 in the host; if the \
             pod namespace was just deleted the kernel may not have returned it yet: try again"
        );
    }

    #[test]
    fn a_refused_move_back_is_reported_and_nothing_is_set_on_the_host() {
        let (k, host, pod) = in_pod();
        k.fail("pod: move net1", 1);
        let failures = take_back(&mut k.socket(host), Some(&pod), &saved(), "net1", DEV);
        assert_eq!(failures.len(), 2, "{failures}");
        assert!(
            failures[0]
                .to_string()
                .starts_with("moving 0000:01:10.1 back to the host: "),
            "{failures}"
        );
        assert_eq!(failures[0].errno(), Some(1));
        assert_eq!(
            k.log(),
            ["pod: down net1", "pod: move net1 to host as vf0 (refused)"]
        );
    }
}
