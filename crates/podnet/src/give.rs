//! Moving a host netdev into the pod under the requested name and configuring it there.

use nfv_netlink::{Link, MacAddr, Result, Rtnetlink};

/// How the netdev should look in the pod. `None` leaves the MAC or MTU as they are.
#[derive(Debug, Clone, Copy)]
pub struct PodNetdev<'a> {
    pub ifname: &'a str,
    pub mac: Option<MacAddr>,
    pub mtu: Option<u32>,
}

/// The steps [`give`] reports to its `step` callback, in order (plugins hang test-only crash
/// points on them).
pub const STEPS: &[&str] = &[
    "after-set-down",
    "after-set-mac",
    "after-move",
    "after-mtu",
    "after-up",
];

/// Move `link` (in `host`'s namespace) into `pod_ns` as `want.ifname`: down, MAC (set while
/// still in the host, so a refusal leaves nothing to move back; a VF's admin MAC must already
/// be set through the PF), move and rename in one request (and drop its host name from its
/// alternative names), MTU, up.
/// `pod` is a socket in `pod_ns`. Returns the link as it is in the pod.
///
/// On error the netdev may be half-way (down, new MAC, in the pod): the caller undoes it with
/// [`crate::take_back::take_back`] from the [`crate::HostNetdev`] it saved before.
pub fn give<K: Rtnetlink>(
    host: &mut K,
    pod: &mut K,
    pod_ns: &K::Netns,
    link: &Link,
    want: &PodNetdev,
    step: &mut dyn FnMut(&'static str),
) -> Result<Link> {
    host.set_down(link.index)?;
    step("after-set-down");
    if let Some(mac) = want.mac {
        if link.mac != Some(mac) {
            host.set_mac(link.index, mac)?;
        }
    }
    step("after-set-mac");
    host.move_to_netns(link.index, pod_ns, Some(want.ifname))?;
    step("after-move");
    let moved = pod.link_by_name(want.ifname)?;
    // The host name among the netdev's alternative names (a kernel that keeps the old name
    // on rename, or udev, put it there) would tell the pod the host's name for it and keep
    // the netdev from taking that name back when it goes home (a link cannot be renamed to
    // one of its alternative names): removed, as sriov-cni does.
    crate::take_back::drop_alt_name(pod, moved.index, &link.name)?;
    if let Some(mtu) = want.mtu {
        if moved.mtu != Some(mtu) {
            pod.set_mtu(moved.index, mtu)?;
        }
    }
    step("after-mtu");
    pod.set_up(moved.index)?;
    step("after-up");
    pod.link_by_index(moved.index)
}

/// On the fake kernel: the order of the steps, and what a refusal leaves.
#[cfg(test)]
mod tests {
    use super::*;
    use nfv_testkit::kernel::FakeKernel;

    #[test]
    fn down_then_mac_in_the_host_then_move_and_rename_then_mtu_then_up() {
        let k = FakeKernel::new();
        let (host, pod) = (k.namespace("host"), k.namespace("pod"));
        let i = k.add_link(host, "vf0", "02:00:00:00:00:01", 1500, Some("0000:01:10.1"));
        let mut h = k.socket(host);
        let link = h.link_by_index(i).unwrap();
        let mut steps = Vec::new();
        let want = PodNetdev {
            ifname: "net1",
            mac: "02:00:00:00:00:02".parse().ok(),
            mtu: Some(9000),
        };
        let moved = give(&mut h, &mut k.socket(pod), &pod, &link, &want, &mut |s| {
            steps.push(s)
        })
        .unwrap();
        assert_eq!(steps, STEPS);
        assert_eq!(
            k.log(),
            [
                "host: down vf0",
                "host: mac vf0 02:00:00:00:00:02",
                "host: move vf0 to pod as net1",
                "pod: mtu net1 9000",
                "pod: up net1",
            ]
        );
        assert_eq!((moved.name.as_str(), moved.admin_up), ("net1", true));
    }

    /// A kernel that keeps the old name as an alternative name on rename: the host name is
    /// dropped in the pod (it would keep the netdev from being named back at DEL).
    #[test]
    fn the_host_name_does_not_follow_the_netdev_as_an_alternative_name() {
        let k = FakeKernel::new();
        k.keep_old_names_as_alt_names();
        let (host, pod) = (k.namespace("host"), k.namespace("pod"));
        let i = k.add_link(host, "vf0", "02:00:00:00:00:01", 1500, Some("0000:01:10.1"));
        k.add_alt_name(host, "vf0", "enp1s0f0v1");
        let mut h = k.socket(host);
        let link = h.link_by_index(i).unwrap();
        let want = PodNetdev {
            ifname: "net1",
            mac: None,
            mtu: None,
        };
        give(&mut h, &mut k.socket(pod), &pod, &link, &want, &mut |_| {}).unwrap();
        assert_eq!(
            k.log(),
            [
                "host: down vf0",
                "host: move vf0 to pod as net1",
                "pod: del-altname net1 vf0",
                "pod: up net1",
            ]
        );
        assert_eq!(k.alt_names(pod, "net1"), ["enp1s0f0v1"], "udev's own stay");
    }

    #[test]
    fn a_refused_mac_stops_before_the_move() {
        let k = FakeKernel::new();
        let (host, pod) = (k.namespace("host"), k.namespace("pod"));
        let i = k.add_link(host, "vf0", "02:00:00:00:00:01", 1500, None);
        let mut h = k.socket(host);
        let link = h.link_by_index(i).unwrap();
        k.fail("host: mac vf0", 99);
        let want = PodNetdev {
            ifname: "net1",
            mac: "02:00:00:00:00:02".parse().ok(),
            mtu: None,
        };
        let e = give(&mut h, &mut k.socket(pod), &pod, &link, &want, &mut |_| {}).unwrap_err();
        assert_eq!(e.errno(), Some(99));
        assert_eq!(k.names(pod), Vec::<String>::new(), "nothing moved");
        assert_eq!(
            k.log(),
            [
                "host: down vf0",
                "host: mac vf0 02:00:00:00:00:02 (refused)"
            ]
        );
    }
}
