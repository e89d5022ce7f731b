//! Moving a host netdev into the pod under the requested name and configuring it there.

use nfv_netlink::{Link, MacAddr, Netlink, Netns, Result};

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
/// be set through the PF), move and rename in one request, MTU, up.
/// `pod` is a socket in `pod_ns`. Returns the link as it is in the pod.
///
/// On error the netdev may be half-way (down, new MAC, in the pod): the caller undoes it with
/// [`crate::take_back::take_back`] from the [`crate::HostNetdev`] it saved before.
pub fn give(
    host: &mut Netlink,
    pod: &mut Netlink,
    pod_ns: &Netns,
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
