//! Results of 0.3.0 and later: `interfaces`, `ips` (with `version` before 1.0.0), `routes`,
//! `dns`; the 1.1.0 interface and route fields only in 1.1.0.

use super::json::{
    as_array, as_obj, decode_err, dns_json, field, interface_json, ip_json, opt_num, opt_str,
    parse_dns, parse_ip, parse_net, parse_route, route_json,
};
use super::model::{Interface, IpConfig, Success};
use crate::error::Error;
use crate::version::{Version, V1_0_0};
use serde_json::{Map, Value};

pub(super) fn from_current(obj: &Map<String, Value>) -> Result<Success, Error> {
    let mut interfaces = Vec::new();
    for (i, v) in as_array(obj, "interfaces", "result")?.iter().enumerate() {
        let ctx = format!("interfaces[{i}]");
        let o = as_obj(v, &ctx)?;
        interfaces.push(Interface {
            name: opt_str(o, "name", &ctx)?.unwrap_or_default(),
            mac: opt_str(o, "mac", &ctx)?,
            mtu: opt_num(o, "mtu", &ctx)?,
            sandbox: opt_str(o, "sandbox", &ctx)?,
            socket_path: opt_str(o, "socketPath", &ctx)?,
            pci_id: opt_str(o, "pciID", &ctx)?,
        });
    }
    let mut ips = Vec::new();
    for (i, v) in as_array(obj, "ips", "result")?.iter().enumerate() {
        let ctx = format!("ips[{i}]");
        let o = as_obj(v, &ctx)?;
        let address = parse_net(
            field(o, "address").ok_or_else(|| decode_err(format!("{ctx}.address is missing")))?,
            &format!("{ctx}.address"),
        )?;
        let interface: Option<usize> = match field(o, "interface") {
            None => None,
            Some(v) => Some(
                v.as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| {
                        decode_err(format!(
                            "{ctx}.interface must be an index into interfaces, not {v}"
                        ))
                    })?,
            ),
        };
        if let Some(idx) = interface {
            if idx >= interfaces.len() {
                return Err(decode_err(format!(
                    "{ctx}.interface {idx} points past the {} interfaces listed",
                    interfaces.len()
                )));
            }
        }
        ips.push(IpConfig {
            address,
            gateway: parse_ip(o, "gateway", &ctx)?,
            interface,
        });
    }
    let routes = as_array(obj, "routes", "result")?
        .iter()
        .enumerate()
        .map(|(i, v)| parse_route(v, &format!("routes[{i}]")))
        .collect::<Result<_, _>>()?;
    Ok(Success {
        cni_version: String::new(),
        interfaces,
        ips,
        routes,
        dns: parse_dns(obj)?,
    })
}

/// Print as `version` (0.3.0 or later; parsed as `v`), following the reference conversion rules.
pub(super) fn to_current(s: &Success, version: &str, v: Version) -> Result<Value, Error> {
    // As the current reference library (libcni >= 1.2) prints them: one type serves 1.0.0 and
    // 1.1.0, so the interface fields appear in 1.0.0 too (Multus copies them into the
    // network-status annotation); its route type is shared by every version from 0.3.0 up.
    let interface_extended = v >= V1_0_0;
    let route_extended = true;
    let mut m = Map::new();
    m.insert("cniVersion".into(), version.into());
    if !s.interfaces.is_empty() {
        let list = s
            .interfaces
            .iter()
            .map(|i| interface_json(i, interface_extended))
            .collect();
        m.insert("interfaces".into(), Value::Array(list));
    }
    if !s.ips.is_empty() {
        let with_family = v < V1_0_0;
        let list = s.ips.iter().map(|ip| ip_json(ip, with_family)).collect();
        m.insert("ips".into(), Value::Array(list));
    }
    if !s.routes.is_empty() {
        m.insert(
            "routes".into(),
            s.routes
                .iter()
                .map(|r| route_json(r, route_extended))
                .collect(),
        );
    }
    m.insert("dns".into(), dns_json(&s.dns));
    Ok(Value::Object(m))
}
