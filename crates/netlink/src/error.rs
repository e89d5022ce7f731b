//! One error type for the netlink layer, with the kernel's errno turned into words an operator
//! understands and the operation that failed named in front.

use std::fmt;
use std::io;

/// What kind of request failed: decides how an errno is worded.
///
/// The same errno means different things for different requests (EEXIST on a rename is a name
/// clash, on an address add it is a duplicate address), so every request carries its action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Looking up a link by name or index.
    GetLink,
    /// Creating a link (veth); the name that was asked for.
    CreateLink(String),
    /// Renaming a link; the new name.
    Rename(String),
    /// Setting a link up or down.
    SetState,
    /// Setting the MAC address of a link (the VF netdev side).
    SetMac,
    /// Setting the MTU of a link.
    SetMtu,
    /// Moving a link to another network namespace.
    MoveToNetns,
    /// Deleting a link.
    DeleteLink,
    /// Adding, listing or deleting an address.
    Address,
    /// Adding, listing or deleting a route.
    Route,
    /// Setting one VF attribute through the PF.
    SetVf(VfField),
    /// Anything else (dumps, socket setup).
    Other,
}

/// The VF attribute a VF request changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VfField {
    Mac,
    Vlan,
    VlanProto8021ad,
    SpoofCheck,
    Trust,
    Rate,
    LinkState,
}

impl fmt::Display for VfField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VfField::Mac => "MAC address",
            VfField::Vlan => "VLAN",
            VfField::VlanProto8021ad => "802.1ad VLAN",
            VfField::SpoofCheck => "spoof checking",
            VfField::Trust => "trust",
            VfField::Rate => "TX rate",
            VfField::LinkState => "link state",
        })
    }
}

/// Errors of the netlink and netns layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kernel refused a request. `reason` is the errno in words, plus the kernel's own
    /// extended-ack message when it sent one.
    #[error("{op}: {reason}")]
    Kernel {
        op: String,
        errno: i32,
        reason: String,
    },
    /// A system call around the request failed (socket, send, recv, open, setns).
    #[error("{op}: {source}")]
    Io {
        op: String,
        #[source]
        source: io::Error,
    },
    /// The kernel's reply could not be decoded, or was not the reply we asked for.
    #[error("{op}: unexpected netlink reply: {detail}")]
    Protocol { op: String, detail: String },
    /// A dump kept being interrupted by concurrent changes.
    #[error("{op}: the kernel interrupted the dump {attempts} times in a row (the table kept changing); try again")]
    DumpInterrupted { op: String, attempts: u32 },
    /// The caller passed a value the layer cannot send (a name too long, a bad MAC string).
    #[error("{op}: {detail}")]
    InvalidArgument { op: String, detail: String },
}

impl Error {
    pub(crate) fn kernel(
        op: impl Into<String>,
        action: &Action,
        errno: i32,
        ext: Option<String>,
    ) -> Self {
        let mut reason = explain(action, errno);
        if let Some(msg) = ext.filter(|m| !m.is_empty()) {
            reason.push_str(&format!(" (kernel: {msg})"));
        }
        Error::Kernel {
            op: op.into(),
            errno,
            reason,
        }
    }

    pub(crate) fn io(op: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            op: op.into(),
            source,
        }
    }

    pub(crate) fn protocol(op: impl Into<String>, detail: impl Into<String>) -> Self {
        Error::Protocol {
            op: op.into(),
            detail: detail.into(),
        }
    }

    pub(crate) fn invalid(op: impl Into<String>, detail: impl Into<String>) -> Self {
        Error::InvalidArgument {
            op: op.into(),
            detail: detail.into(),
        }
    }

    /// The errno behind this error, when the kernel or a system call gave one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Kernel { errno, .. } => Some(*errno),
            Error::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    /// The thing asked for does not exist (no such link, route or netns file). DEL paths treat
    /// this as "already gone". Deleting an address that is not assigned gives EADDRNOTAVAIL,
    /// which is not counted here because the same errno means "MAC refused" elsewhere.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self.errno(),
            Some(libc::ENODEV) | Some(libc::ENOENT) | Some(libc::ESRCH)
        )
    }

    /// The thing being created already exists (a link name, an address, a route).
    pub fn is_exists(&self) -> bool {
        self.errno() == Some(libc::EEXIST)
    }

    /// The driver does not implement the request (EOPNOTSUPP / ENOTSUP).
    pub fn is_not_supported(&self) -> bool {
        matches!(
            self.errno(),
            Some(libc::EOPNOTSUPP) | Some(libc::EPROTONOSUPPORT)
        )
    }

    /// Put more context in front of the operation, e.g. "moving VF 0000:00:11.2 into netns ...".
    pub fn context(self, ctx: impl fmt::Display) -> Self {
        let wrap = |op: String| format!("{ctx}: {op}");
        match self {
            Error::Kernel { op, errno, reason } => Error::Kernel {
                op: wrap(op),
                errno,
                reason,
            },
            Error::Io { op, source } => Error::Io {
                op: wrap(op),
                source,
            },
            Error::Protocol { op, detail } => Error::Protocol {
                op: wrap(op),
                detail,
            },
            Error::DumpInterrupted { op, attempts } => Error::DumpInterrupted {
                op: wrap(op),
                attempts,
            },
            Error::InvalidArgument { op, detail } => Error::InvalidArgument {
                op: wrap(op),
                detail,
            },
        }
    }
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Words for an errno, given what was being done. Pure, so it is unit-tested.
pub fn explain(action: &Action, errno: i32) -> String {
    use Action as A;
    let specific: Option<String> = match (action, errno) {
        (A::CreateLink(name), libc::EEXIST) | (A::Rename(name), libc::EEXIST) => Some(format!(
            "an interface named {name} already exists in the network namespace; pick another name"
        )),
        (A::Rename(_), libc::EBUSY) => Some("the interface is up; bring it down before renaming it".into()),
        (A::Rename(name), libc::EINVAL) | (A::CreateLink(name), libc::EINVAL) => Some(format!(
            "{name:?} is not a valid interface name (1-15 characters, no '/', ':' or whitespace)"
        )),
        (A::SetMac, libc::EADDRNOTAVAIL) => Some(
            "the driver refused the MAC address; for an SR-IOV VF this usually means the PF has set an \
             administrative MAC for it (igb/ixgbe behaviour): set the MAC through the PF and rebind the VF driver"
                .into(),
        ),
        (A::SetMac, libc::EBUSY) => Some("the interface must be down to change its MAC address".into()),
        (A::SetMac, libc::EINVAL) => Some("the MAC address is not a valid unicast address".into()),
        (A::SetMac, libc::EPERM) => Some(
            "the VF is not allowed to change its own MAC address (set it through the PF or enable VF trust)".into(),
        ),
        (A::SetMtu, libc::EINVAL) => {
            Some("the MTU is outside the range the device supports (see its min_mtu/max_mtu)".into())
        }
        (A::MoveToNetns, libc::EINVAL) => Some(
            "the interface cannot change network namespace (it is namespace-local) or the target namespace is invalid"
                .into(),
        ),
        (A::MoveToNetns, libc::EEXIST) => Some(
            "an interface with the same name already exists in the target network namespace".into(),
        ),
        (A::MoveToNetns, libc::EBUSY) => Some("the device is busy and cannot be moved".into()),
        (A::Address, libc::EEXIST) => Some("the address is already assigned to the interface".into()),
        (A::Address, libc::EADDRNOTAVAIL) => Some("the address is not assigned to the interface".into()),
        (A::Route, libc::EEXIST) => Some("the route already exists".into()),
        (A::Route, libc::ESRCH) => Some("no such route".into()),
        (A::Route, libc::ENETUNREACH) => Some(
            "the gateway is not reachable from the interface (add an address in the gateway's subnet first)".into(),
        ),
        (A::SetVf(VfField::LinkState), libc::EOPNOTSUPP) => {
            Some("the PF driver does not support VF link state (remove link_state from the config)".into())
        }
        (A::SetVf(VfField::Rate), libc::EINVAL) => Some(
            "the PF driver rejected the TX rate: many drivers (igb among them) do not support a minimum TX rate, \
             and the maximum must not exceed the PF link speed"
                .into(),
        ),
        (A::SetVf(VfField::Vlan), libc::EINVAL) | (A::SetVf(VfField::VlanProto8021ad), libc::EINVAL) => Some(
            "the PF driver rejected the VLAN: the ID must be 0-4094 and the QoS 0-7 (and 0 when the VLAN is 0)".into(),
        ),
        (A::SetVf(VfField::VlanProto8021ad), libc::EPROTONOSUPPORT) => {
            Some("the PF driver does not support 802.1ad (QinQ) VLANs on VFs; use 802.1Q".into())
        }
        (A::SetVf(VfField::Mac), libc::EINVAL) => {
            Some("the PF driver rejected the MAC address (multicast or all-zero) or the VF index".into())
        }
        (A::SetVf(field), libc::EOPNOTSUPP) => Some(format!("the PF driver does not support VF {field}")),
        (A::SetVf(_), libc::EBUSY) => Some("the PF or the VF is busy (a reset is in progress); try again".into()),
        (A::SetVf(_), libc::ENODEV) => Some("the PF interface no longer exists".into()),
        (A::GetLink, libc::ENODEV) => {
            Some("no such interface in this network namespace (it may have been moved or deleted)".into())
        }
        _ => None,
    };
    if let Some(s) = specific {
        return s;
    }
    match errno {
        libc::EPERM => {
            "operation not permitted: the plugin needs CAP_NET_ADMIN in this network namespace"
                .into()
        }
        libc::ENODEV => {
            "no such interface (it may have been moved to another network namespace or deleted)"
                .into()
        }
        libc::EBUSY => "the device is busy".into(),
        libc::EOPNOTSUPP => "the driver does not support this operation".into(),
        libc::ENOBUFS | libc::ENOMEM => {
            "the kernel ran out of memory for the request; try again".into()
        }
        _ => io::Error::from_raw_os_error(errno).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_state_eopnotsupp_names_the_driver_limit() {
        let s = explain(&Action::SetVf(VfField::LinkState), libc::EOPNOTSUPP);
        assert!(
            s.contains("PF driver does not support VF link state"),
            "{s}"
        );
    }

    #[test]
    fn other_vf_fields_name_themselves() {
        let s = explain(&Action::SetVf(VfField::Trust), libc::EOPNOTSUPP);
        assert_eq!(s, "the PF driver does not support VF trust");
    }

    #[test]
    fn eexist_on_rename_names_the_interface() {
        let s = explain(&Action::Rename("net1".into()), libc::EEXIST);
        assert!(s.contains("an interface named net1 already exists"), "{s}");
    }

    #[test]
    fn eaddrnotavail_on_set_mac_explains_the_admin_mac() {
        let s = explain(&Action::SetMac, libc::EADDRNOTAVAIL);
        assert!(s.contains("administrative MAC"), "{s}");
    }

    #[test]
    fn unknown_errno_falls_back_to_strerror() {
        let s = explain(&Action::Other, libc::ENOSPC);
        assert_eq!(s, io::Error::from_raw_os_error(libc::ENOSPC).to_string());
    }

    #[test]
    fn kernel_error_carries_op_errno_and_ext_ack() {
        let e = Error::kernel(
            "setting MTU 99999 on eth0",
            &Action::SetMtu,
            libc::EINVAL,
            Some("mtu greater than device maximum".into()),
        );
        assert_eq!(e.errno(), Some(libc::EINVAL));
        let text = e.to_string();
        assert!(
            text.starts_with("setting MTU 99999 on eth0: the MTU is outside"),
            "{text}"
        );
        assert!(
            text.ends_with("(kernel: mtu greater than device maximum)"),
            "{text}"
        );
    }

    #[test]
    fn context_is_prepended_and_kind_predicates_hold() {
        let e = Error::kernel("looking up eth9", &Action::GetLink, libc::ENODEV, None)
            .context("restoring VF 0000:00:11.2");
        assert!(e
            .to_string()
            .starts_with("restoring VF 0000:00:11.2: looking up eth9: no such interface"));
        assert!(e.is_not_found());
        assert!(!e.is_exists());
        let x = Error::kernel(
            "adding veth",
            &Action::CreateLink("a".into()),
            libc::EEXIST,
            None,
        );
        assert!(x.is_exists());
        assert!(!x.is_not_found());
    }
}
