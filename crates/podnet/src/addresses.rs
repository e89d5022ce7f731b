//! IPAM's addresses and routes on the pod's netdev, and the result's interface entry.

use nfv_cni::result::{Interface, IpConfig, Route as CniRoute};
use nfv_netlink::{Link, Result, Route, Rtnetlink};

/// Add `ips` to the link `index` and `routes` through it, in the socket's namespace (the pod).
pub fn add(
    pod: &mut impl Rtnetlink,
    index: u32,
    ips: &[IpConfig],
    routes: &[CniRoute],
) -> Result<()> {
    for ip in ips {
        pod.add_address(index, ip.address)?;
    }
    for r in routes {
        let mut route = Route::new(r.dst);
        route.gateway = r.gw;
        route.oif = Some(index);
        route.mtu = r.mtu;
        route.advmss = r.advmss;
        route.priority = r.priority;
        route.table = r.table;
        route.scope = r.scope;
        pod.add_route(&route)?;
    }
    Ok(())
}

/// The result's `interfaces[]` entry for a netdev in the pod.
pub fn interface(link: &Link, sandbox: Option<String>, pci_id: Option<String>) -> Interface {
    Interface {
        name: link.name.clone(),
        mac: link.mac.map(|m| m.to_string()),
        mtu: link.mtu,
        sandbox,
        socket_path: None,
        pci_id,
    }
}
