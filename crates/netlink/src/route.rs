//! Routes: add, list, delete, with the CNI 1.1.0 attributes (mtu, advmss, priority, table, scope).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnetwork::IpNetwork;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteMetric, RouteProtocol,
    RouteScope, RouteType,
};
use netlink_packet_route::AddressFamily;

use crate::error::{Action, Error, Result};
use crate::socket::{parse_reply, Expect, Netlink, Reply, Request};

/// RT_TABLE_MAIN.
pub const TABLE_MAIN: u32 = 254;
/// RT_SCOPE_UNIVERSE.
pub const SCOPE_UNIVERSE: u8 = 0;
/// RT_SCOPE_LINK.
pub const SCOPE_LINK: u8 = 253;
/// RT_SCOPE_HOST.
pub const SCOPE_HOST: u8 = 254;

/// A unicast route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub destination: IpNetwork,
    pub gateway: Option<IpAddr>,
    /// Output interface index.
    pub oif: Option<u32>,
    /// RTAX_MTU.
    pub mtu: Option<u32>,
    /// RTAX_ADVMSS.
    pub advmss: Option<u32>,
    /// RTA_PRIORITY (the metric).
    pub priority: Option<u32>,
    /// Routing table; `None` means main when adding.
    pub table: Option<u32>,
    /// RT_SCOPE_*; `None` when adding means link for a route without gateway, universe otherwise.
    pub scope: Option<u8>,
}

impl Route {
    /// A route to `destination` with nothing else set.
    pub fn new(destination: IpNetwork) -> Route {
        Route {
            destination,
            gateway: None,
            oif: None,
            mtu: None,
            advmss: None,
            priority: None,
            table: None,
            scope: None,
        }
    }
}

/// The RTM_NEWROUTE/RTM_DELROUTE body for `route` (protocol boot, type unicast, like `ip route add`).
pub fn route_message(route: &Route) -> RouteMessage {
    let dst = route.destination;
    let mut msg = RouteMessage::default();
    msg.header = RouteHeader {
        address_family: match dst {
            IpNetwork::V4(_) => AddressFamily::Inet,
            IpNetwork::V6(_) => AddressFamily::Inet6,
        },
        destination_prefix_length: dst.prefix(),
        table: RouteHeader::RT_TABLE_MAIN,
        protocol: RouteProtocol::Boot,
        scope: RouteScope::from(route.scope.unwrap_or(
            if route.gateway.is_none() && route.oif.is_some() {
                SCOPE_LINK
            } else {
                SCOPE_UNIVERSE
            },
        )),
        kind: RouteType::Unicast,
        ..Default::default()
    };
    let table = route.table.unwrap_or(TABLE_MAIN);
    msg.header.table = u8::try_from(table).unwrap_or(0); // RT_TABLE_UNSPEC: the attribute says
    msg.attributes.push(RouteAttribute::Table(table));
    if dst.prefix() > 0 {
        msg.attributes
            .push(RouteAttribute::Destination(RouteAddress::from(
                dst.network(),
            )));
    }
    if let Some(gw) = route.gateway {
        msg.attributes
            .push(RouteAttribute::Gateway(RouteAddress::from(gw)));
    }
    if let Some(oif) = route.oif {
        msg.attributes.push(RouteAttribute::Oif(oif));
    }
    if let Some(p) = route.priority {
        msg.attributes.push(RouteAttribute::Priority(p));
    }
    let mut metrics = Vec::new();
    if let Some(m) = route.mtu {
        metrics.push(RouteMetric::Mtu(m));
    }
    if let Some(a) = route.advmss {
        metrics.push(RouteMetric::Advmss(a));
    }
    if !metrics.is_empty() {
        msg.attributes.push(RouteAttribute::Metrics(metrics));
    }
    msg
}

fn route_address(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

pub(crate) fn route_from_message(m: &RouteMessage) -> Option<Route> {
    let unspecified = match m.header.address_family {
        AddressFamily::Inet => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        AddressFamily::Inet6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        _ => return None,
    };
    let mut dst_ip = unspecified;
    let mut route = Route::new(IpNetwork::new(unspecified, 0).ok()?);
    route.table = Some(u32::from(m.header.table));
    route.scope = Some(u8::from(m.header.scope));
    for a in &m.attributes {
        match a {
            RouteAttribute::Destination(d) => dst_ip = route_address(d)?,
            RouteAttribute::Gateway(g) => route.gateway = route_address(g),
            RouteAttribute::Oif(i) => route.oif = Some(*i),
            RouteAttribute::Priority(p) => route.priority = Some(*p),
            RouteAttribute::Table(t) => route.table = Some(*t),
            RouteAttribute::Metrics(ms) => {
                for metric in ms {
                    match metric {
                        RouteMetric::Mtu(v) => route.mtu = Some(*v),
                        RouteMetric::Advmss(v) => route.advmss = Some(*v),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    route.destination = IpNetwork::new(dst_ip, m.header.destination_prefix_length).ok()?;
    Some(route)
}

impl Netlink {
    /// Add a route. EEXIST ([`Error::is_exists`]) when the same route exists.
    pub fn add_route(&mut self, route: &Route) -> Result<()> {
        self.request(
            Request::NewRoute(route_message(route)),
            NLM_F_CREATE | NLM_F_EXCL,
            Expect::Ack,
            &format!("adding route {}", describe(route)),
            &Action::Route,
        )
        .map(|_| ())
    }

    /// Delete a route. ESRCH ([`Error::is_not_found`]) when there is none.
    pub fn del_route(&mut self, route: &Route) -> Result<()> {
        self.request(
            Request::DelRoute(route_message(route)),
            0,
            Expect::Ack,
            &format!("deleting route {}", describe(route)),
            &Action::Route,
        )
        .map(|_| ())
    }

    /// Unicast routes of every table in this namespace (IPv4 and IPv6).
    pub fn routes(&mut self) -> Result<Vec<Route>> {
        let op = "listing routes";
        let replies = self.request(
            Request::GetRoute(RouteMessage::default()),
            0,
            Expect::Dump,
            op,
            &Action::Route,
        )?;
        let mut out = Vec::new();
        for raw in &replies {
            let Reply::NewRoute(m) = parse_reply(raw, op)? else {
                continue;
            };
            if m.header.kind != RouteType::Unicast {
                continue;
            }
            match route_from_message(&m) {
                Some(r) => out.push(r),
                None => return Err(Error::protocol(op, format!("cannot read route {m:?}"))),
            }
        }
        Ok(out)
    }
}

fn describe(r: &Route) -> String {
    let mut s = r.destination.to_string();
    if let Some(gw) = r.gateway {
        s.push_str(&format!(" via {gw}"));
    }
    if let Some(i) = r.oif {
        s.push_str(&format!(" dev index {i}"));
    }
    if let Some(t) = r.table {
        s.push_str(&format!(" table {t}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_roundtrips_the_1_1_0_attributes() {
        let mut r = Route::new("10.10.0.0/16".parse().unwrap());
        r.gateway = Some("10.0.0.1".parse().unwrap());
        r.oif = Some(4);
        r.mtu = Some(1400);
        r.advmss = Some(1360);
        r.priority = Some(100);
        r.table = Some(1000);
        let m = route_message(&r);
        assert_eq!(m.header.table, 0, "tables above 255 go in RTA_TABLE only");
        assert_eq!(u8::from(m.header.scope), SCOPE_UNIVERSE);
        let back = route_from_message(&m).unwrap();
        assert_eq!(back.destination, r.destination);
        assert_eq!(back.gateway, r.gateway);
        assert_eq!(
            (back.mtu, back.advmss, back.priority, back.table),
            (Some(1400), Some(1360), Some(100), Some(1000))
        );
    }

    #[test]
    fn device_route_defaults_to_link_scope_and_default_route_has_no_dst() {
        let mut r = Route::new("0.0.0.0/0".parse().unwrap());
        r.oif = Some(2);
        let m = route_message(&r);
        assert_eq!(u8::from(m.header.scope), SCOPE_LINK);
        assert!(!m
            .attributes
            .iter()
            .any(|a| matches!(a, RouteAttribute::Destination(_))));
        assert_eq!(m.header.table, 254);
    }
}
