//! Which link is the device, and what it looked like in the host.

use nfv_netlink::Link;
use serde::{Deserialize, Serialize};

/// Whether `link` is the device `device`, by the bus device name the kernel reports as the
/// netdev's parent (a VF's PCI address, `virtio3` for a virtio-vDPA netdev). Links without
/// one (veths, old kernels) are taken on their name alone.
pub fn is_device(link: &Link, device: &str) -> bool {
    link.parent_device.as_deref().is_none_or(|d| d == device)
}

/// The netdev as it was in the host before it was given to a pod: what [`crate::take_back`]
/// puts back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostNetdev {
    pub name: String,
    pub mac: Option<String>,
    pub mtu: Option<u32>,
    /// Administratively up.
    pub up: bool,
}

impl HostNetdev {
    pub fn of(link: &Link) -> HostNetdev {
        HostNetdev {
            name: link.name.clone(),
            mac: link.mac.map(|m| m.to_string()),
            mtu: link.mtu,
            up: link.admin_up,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nfv_netlink::OperState;

    fn link(parent: Option<&str>) -> Link {
        Link {
            index: 7,
            name: "eth1".into(),
            mac: "02:00:00:00:00:01".parse().ok(),
            permanent_mac: None,
            mtu: Some(1500),
            min_mtu: None,
            max_mtu: None,
            admin_up: true,
            oper_state: OperState::Up,
            link_netns_id: None,
            kind: None,
            num_vfs: None,
            parent_device: parent.map(str::to_string),
            parent_bus: None,
        }
    }

    #[test]
    fn a_link_is_the_device_by_its_parent_or_by_name_alone() {
        assert!(is_device(&link(Some("0000:01:10.0")), "0000:01:10.0"));
        assert!(!is_device(&link(Some("0000:01:10.1")), "0000:01:10.0"));
        assert!(is_device(&link(None), "0000:01:10.0"));
    }

    #[test]
    fn host_state_is_taken_from_the_link() {
        assert_eq!(
            HostNetdev::of(&link(None)),
            HostNetdev {
                name: "eth1".into(),
                mac: Some("02:00:00:00:00:01".into()),
                mtu: Some(1500),
                up: true
            }
        );
    }
}
