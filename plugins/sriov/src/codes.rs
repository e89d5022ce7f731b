//! The plugin's own CNI error codes (100+), and where library errors map to them.

use nfv_cni::{code, Error};

/// The VF named by deviceID cannot be used: not found in sysfs, not a VF, no netdev, ...
pub const VF_UNUSABLE: u32 = 120;
/// The kernel refused a netlink request (moving, renaming, VF settings, addresses, routes).
pub const KERNEL_REFUSED: u32 = 121;
/// The pod already has an interface with the requested name.
pub const IFNAME_IN_USE: u32 = 122;
/// The VF is attached to another pod (its record names another container).
pub const VF_IN_USE: u32 = 123;

/// A sysfs discovery error: an invalid address in the config is a config error (7), the
/// rest means the VF cannot be used.
pub fn from_pci(e: nfv_pci::Error) -> Error {
    match e {
        nfv_pci::Error::InvalidAddress { .. } | nfv_pci::Error::InvalidName { .. } => {
            Error::new(code::INVALID_CONFIG, e.to_string())
        }
        nfv_pci::Error::Io { .. } => Error::new(code::IO, e.to_string()),
        _ => Error::new(VF_UNUSABLE, e.to_string()),
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
