//! Give a kernel netdev to a pod and take it back intact: the part of attaching a device that
//! does not depend on what the device is (an SR-IOV VF's netdev, a virtio-vDPA netdev, ...).
//!
//! - [`give::give`]: move the netdev into the pod namespace under the requested name in one
//!   netlink request (no temporary name, no race with udev), set MAC and MTU, bring it up.
//! - [`addresses::add`]: put IPAM's addresses and routes on it in the pod;
//!   [`addresses::interface`] is the result's interface entry.
//! - [`take_back::take_back`]: find it again (in the pod, back in the host under the pod's name
//!   after the namespace died, or already home) and restore its name, MAC, MTU and admin state;
//!   [`take_back::bring_home_as`] when its original state is unknown.
//! - [`announce::announce`]: once the addresses are on it, tell the pod's neighbours (a
//!   gratuitous ARP, an unsolicited neighbour advertisement per address; `arp_notify` and
//!   `ndisc_notify` on), as sriov-cni does.
//! - [`verify::verify`]: CHECK's view: the netdev in the pod is the device, with the expected
//!   MAC, MTU and addresses.
//!
//! Device-specific state (VF settings on the PF, locks, records) stays with the plugins. Every
//! function works on sockets the caller opened, so the plugin decides which namespaces are
//! involved: anything with the [`nfv_netlink::Rtnetlink`] calls, the real
//! [`nfv_netlink::Netlink`] or nfv-testkit's recording fake, on which the unit tests here run
//! without root. Restoring keeps going after a failed step and returns all failures together
//! (STYLE.md 5), as [`nfv_plugin::Failures`].

pub mod addresses;
pub mod announce;
mod device;
pub mod give;
pub mod take_back;
pub mod verify;

pub use device::{is_device, HostNetdev};
