//! CHECK: the netdev in the pod is the device and looks as configured.

use ipnetwork::IpNetwork;
use nfv_netlink::{Link, MacAddr, Rtnetlink};

/// What CHECK expects of the netdev in the pod; `None` is not checked.
#[derive(Debug, Clone, Default)]
pub struct Expected<'a> {
    pub ifname: &'a str,
    /// The bus device behind it (see [`crate::is_device`]).
    pub device: &'a str,
    pub mac: Option<MacAddr>,
    pub mtu: Option<u32>,
    /// Addresses it must carry (prevResult's `ips`).
    pub addresses: Vec<IpNetwork>,
}

/// Compare the pod's netdev with `want`. The error is a sentence for the operator; netlink
/// failures are returned as such so the plugin can map them to its codes.
pub fn verify(pod: &mut impl Rtnetlink, want: &Expected) -> Result<Link, Mismatch> {
    let link = pod.link_by_name(want.ifname).map_err(Mismatch::Netlink)?;
    let differs = |m: String| Err(Mismatch::Differs(m));
    if !crate::is_device(&link, want.device) {
        return differs(format!("{} in the pod is not {}", want.ifname, want.device));
    }
    if let Some(mac) = want.mac {
        if link.mac != Some(mac) {
            let have = link
                .mac
                .map(|m| m.to_string())
                .unwrap_or_else(|| "none".into());
            return differs(format!("{} has MAC {have}, config says {mac}", want.ifname));
        }
    }
    if let Some(mtu) = want.mtu {
        if link.mtu != Some(mtu) {
            let have = link
                .mtu
                .map(|m| m.to_string())
                .unwrap_or_else(|| "none".into());
            return differs(format!("{} has MTU {have}, config says {mtu}", want.ifname));
        }
    }
    if !want.addresses.is_empty() {
        let have: Vec<IpNetwork> = pod
            .addresses(Some(link.index))
            .map_err(Mismatch::Netlink)?
            .into_iter()
            .map(|a| a.network)
            .collect();
        if let Some(missing) = want.addresses.iter().find(|a| !have.contains(a)) {
            return differs(format!("{} lacks address {missing}", want.ifname));
        }
    }
    Ok(link)
}

/// Why CHECK failed.
#[derive(Debug)]
pub enum Mismatch {
    /// The netdev could not be read (not there: [`nfv_netlink::Error::is_not_found`]).
    Netlink(nfv_netlink::Error),
    /// It is there but differs from the config.
    Differs(String),
}
