//! The plugin's own CNI error codes (100+), and where library errors map to them.

use nfv_cni::Error;

/// The VF named by deviceID cannot be used: not found in sysfs, not a VF, no netdev, ...
pub const VF_UNUSABLE: u32 = 120;
/// The kernel refused a netlink request (moving, renaming, VF settings, addresses, routes).
pub const KERNEL_REFUSED: u32 = 121;
/// The pod already has an interface with the requested name.
pub const IFNAME_IN_USE: u32 = 122;
/// The VF is attached to another pod (its record names another container).
pub const VF_IN_USE: u32 = 123;

/// A sysfs discovery error (nfv-plugin's mapping; the rest is VF_UNUSABLE).
pub fn from_pci(e: nfv_pci::Error) -> Error {
    nfv_plugin::codes::from_pci(e, VF_UNUSABLE)
}

/// A netlink/netns error (nfv-plugin's mapping; a refusal is KERNEL_REFUSED).
pub fn from_netlink(e: nfv_netlink::Error) -> Error {
    nfv_plugin::codes::from_netlink(e, KERNEL_REFUSED)
}
