//! The plugin's own CNI error codes (100+), and where library errors map to them.

use nfv_cni::{code, Error};

/// The vDPA device cannot be used: not found, unbound, bound to the other driver, no netdev.
pub const DEVICE_UNUSABLE: u32 = 130;
/// The kernel refused a netlink request (moving, renaming, MAC, MTU, addresses, routes).
pub const KERNEL_REFUSED: u32 = 131;
/// The pod already has an interface with the requested name.
pub const IFNAME_IN_USE: u32 = 132;
/// The vDPA device is attached to another pod (its record names another container).
pub const DEVICE_IN_USE: u32 = 133;

/// A sysfs discovery error: an invalid name or address in the config is a config error (7).
pub fn from_pci(e: nfv_pci::Error) -> Error {
    match e {
        nfv_pci::Error::InvalidAddress { .. } | nfv_pci::Error::InvalidName { .. } => {
            Error::new(code::INVALID_CONFIG, e.to_string())
        }
        nfv_pci::Error::Io { .. } => Error::new(code::IO, e.to_string()),
        _ => Error::new(DEVICE_UNUSABLE, e.to_string()),
    }
}

/// A netlink/netns error.
pub fn from_netlink(e: nfv_netlink::Error) -> Error {
    match &e {
        nfv_netlink::Error::Io { .. } => Error::new(code::IO, e.to_string()),
        nfv_netlink::Error::DumpInterrupted { .. } => {
            Error::new(code::TRY_AGAIN_LATER, e.to_string())
        }
        _ => Error::new(KERNEL_REFUSED, e.to_string()),
    }
}

/// Shorthand for netlink results.
pub fn netlink<T>(r: nfv_netlink::Result<T>) -> Result<T, Error> {
    r.map_err(from_netlink)
}
