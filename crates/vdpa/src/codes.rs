//! The plugin's own CNI error codes (100+), and where library errors map to them.

use nfv_cni::Error;

/// The vDPA device cannot be used: not found, unbound, bound to the other driver, no netdev.
pub const DEVICE_UNUSABLE: u32 = 130;
/// The kernel refused a netlink request (moving, renaming, MAC, MTU, addresses, routes).
pub const KERNEL_REFUSED: u32 = 131;
/// The pod already has an interface with the requested name.
pub const IFNAME_IN_USE: u32 = 132;
/// The vDPA device is attached to another pod (its record names another container).
pub const DEVICE_IN_USE: u32 = 133;

/// A sysfs discovery error (nfv-plugin's mapping; the rest is DEVICE_UNUSABLE).
pub fn from_pci(e: nfv_pci::Error) -> Error {
    nfv_plugin::codes::from_pci(e, DEVICE_UNUSABLE)
}

/// A netlink/netns error (nfv-plugin's mapping; a refusal is KERNEL_REFUSED).
pub fn from_netlink(e: nfv_netlink::Error) -> Error {
    nfv_plugin::codes::from_netlink(e, KERNEL_REFUSED)
}

/// Shorthand for netlink results.
pub fn netlink<T>(r: nfv_netlink::Result<T>) -> Result<T, Error> {
    r.map_err(from_netlink)
}
