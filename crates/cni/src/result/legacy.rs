//! The 0.1.0/0.2.0 result format: `ip4` and `ip6` objects, each `{ip, gateway, routes}`.

use super::json::{
    as_array, as_obj, decode_err, dns_json, field, parse_dns, parse_ip, parse_net, parse_route,
    route_json,
};
use super::model::{IpConfig, Success};
use crate::error::{code, Error};
use serde_json::{Map, Value};

pub(super) fn from_020(obj: &Map<String, Value>) -> Result<Success, Error> {
    let mut s = Success::default();
    for key in ["ip4", "ip6"] {
        let Some(v) = field(obj, key) else { continue };
        let o = as_obj(v, key)?;
        let address = parse_net(
            field(o, "ip").ok_or_else(|| decode_err(format!("{key}.ip is missing")))?,
            &format!("{key}.ip"),
        )?;
        if address.is_ipv4() != (key == "ip4") {
            return Err(decode_err(format!(
                "{key}.ip {address} is of the other address family"
            )));
        }
        s.ips.push(IpConfig {
            address,
            gateway: parse_ip(o, "gateway", key)?,
            interface: None,
        });
        for (i, r) in as_array(o, "routes", key)?.iter().enumerate() {
            s.routes
                .push(parse_route(r, &format!("{key}.routes[{i}]"))?);
        }
    }
    s.dns = parse_dns(obj)?;
    Ok(s)
}

pub(super) fn to_020(s: &Success, version: &str) -> Result<Value, Error> {
    let v4 = s.ips.iter().find(|ip| ip.address.is_ipv4());
    let v6 = s.ips.iter().find(|ip| ip.address.is_ipv6());
    if v4.is_none() && v6.is_none() {
        return Err(Error::new(
            code::INCOMPATIBLE_VERSION,
            format!("cannot convert the result to cniVersion {version}: it has no IP address, and {version} results consist of ip4/ip6 only"),
        )
        .with_details("use cniVersion 0.3.0 or later for results without addresses"));
    }
    let mut m = Map::new();
    m.insert("cniVersion".into(), version.into());
    for (key, ip) in [("ip4", v4), ("ip6", v6)] {
        let Some(ip) = ip else { continue };
        let mut o = Map::new();
        o.insert("ip".into(), ip.address.to_string().into());
        if let Some(gw) = ip.gateway {
            o.insert("gateway".into(), gw.to_string().into());
        }
        let routes: Vec<Value> = s
            .routes
            .iter()
            .filter(|r| r.dst.is_ipv4() == ip.address.is_ipv4())
            .map(|r| route_json(r, false))
            .collect();
        if !routes.is_empty() {
            o.insert("routes".into(), Value::Array(routes));
        }
        m.insert(key.into(), Value::Object(o));
    }
    m.insert("dns".into(), dns_json(&s.dns));
    Ok(Value::Object(m))
}
