//! How library errors become CNI errors, the same way in every plugin that attaches a device.
//! The plugin-specific codes (>= 101) stay with each plugin: it passes its own.

use nfv_cni::{code, Error};

/// A sysfs discovery error: an invalid name or address in the config is a config error (7),
/// an I/O failure is 5, the rest means the device cannot be used (`unusable`, the plugin's
/// own code).
pub fn from_pci(e: nfv_pci::Error, unusable: u32) -> Error {
    match e {
        nfv_pci::Error::InvalidAddress { .. } | nfv_pci::Error::InvalidName { .. } => {
            Error::new(code::INVALID_CONFIG, e.to_string())
        }
        nfv_pci::Error::Io { .. } => Error::new(code::IO, e.to_string()),
        _ => Error::new(unusable, e.to_string()),
    }
}

/// A netlink/netns error: I/O is 5, an interrupted dump is 11 (try again), anything else is
/// the kernel refusing the request (`refused`, the plugin's own code).
pub fn from_netlink(e: nfv_netlink::Error, refused: u32) -> Error {
    match &e {
        nfv_netlink::Error::Io { .. } => Error::new(code::IO, e.to_string()),
        nfv_netlink::Error::DumpInterrupted { .. } => {
            Error::new(code::TRY_AGAIN_LATER, e.to_string())
        }
        _ => Error::new(refused, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(e: Error) -> (u32, String) {
        (e.code, e.msg)
    }

    #[test]
    fn netlink_errors_keep_their_message_and_take_the_given_code_when_refused() {
        let refused = nfv_netlink::Error::Kernel {
            op: "move".into(),
            errno: 1,
            reason: "Operation not permitted".into(),
        };
        let msg = refused.to_string();
        assert_eq!(pair(from_netlink(refused, 121)), (121, msg));
        let io = nfv_netlink::Error::Io {
            op: "open".into(),
            source: std::io::Error::from_raw_os_error(13),
        };
        let msg = io.to_string();
        assert_eq!(pair(from_netlink(io, 121)), (code::IO, msg));
        let busy = nfv_netlink::Error::DumpInterrupted {
            op: "links".into(),
            attempts: 3,
        };
        let msg = busy.to_string();
        assert_eq!(pair(from_netlink(busy, 131)), (code::TRY_AGAIN_LATER, msg));
    }

    #[test]
    fn pci_errors_map_to_config_io_or_the_given_code() {
        let bad = nfv_pci::parse_pci_address("deviceID", "nope").unwrap_err();
        let msg = bad.to_string();
        assert_eq!(pair(from_pci(bad, 130)), (code::INVALID_CONFIG, msg));
        let gone = nfv_pci::Error::NoSuchVdpa("vdpa9".into());
        let msg = gone.to_string();
        assert_eq!(pair(from_pci(gone, 130)), (130, msg));
    }
}
