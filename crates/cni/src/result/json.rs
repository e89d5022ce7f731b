//! The JSON helpers every result version's reader and printer shares: typed field reads that
//! name the field in their errors, and the printed form of interfaces, IPs, routes and DNS.

use super::model::{Dns, Interface, IpConfig, Route};
use crate::error::{code, Error};
use ipnetwork::IpNetwork;
use serde_json::{Map, Value};
use std::net::IpAddr;

pub(super) fn decode_err(what: impl std::fmt::Display) -> Error {
    Error::new(code::DECODE, format!("cannot decode CNI result: {what}"))
}

pub(super) fn field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

pub(super) fn opt_str(
    obj: &Map<String, Value>,
    key: &str,
    ctx: &str,
) -> Result<Option<String>, Error> {
    match field(obj, key) {
        None => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(decode_err(format!(
            "{ctx}.{key} must be a string, not {other}"
        ))),
    }
}

pub(super) fn opt_num<T: TryFrom<u64>>(
    obj: &Map<String, Value>,
    key: &str,
    ctx: &str,
) -> Result<Option<T>, Error> {
    match field(obj, key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| T::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| {
                decode_err(format!(
                    "{ctx}.{key} must be a non-negative integer in range, not {v}"
                ))
            }),
    }
}

pub(super) fn parse_net(v: &Value, ctx: &str) -> Result<IpNetwork, Error> {
    let s = v
        .as_str()
        .ok_or_else(|| decode_err(format!("{ctx} must be a string \"ip/prefix\", not {v}")))?;
    if !s.contains('/') {
        return Err(decode_err(format!(
            "{ctx} {s:?} has no prefix length: write it as ip/prefix"
        )));
    }
    s.parse()
        .map_err(|e| decode_err(format!("{ctx} {s:?}: {e}")))
}

pub(super) fn parse_ip(
    obj: &Map<String, Value>,
    key: &str,
    ctx: &str,
) -> Result<Option<IpAddr>, Error> {
    match opt_str(obj, key, ctx)? {
        None => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|e| decode_err(format!("{ctx}.{key} {s:?}: {e}"))),
    }
}

pub(super) fn as_obj<'a>(v: &'a Value, ctx: &str) -> Result<&'a Map<String, Value>, Error> {
    v.as_object()
        .ok_or_else(|| decode_err(format!("{ctx} must be an object, not {v}")))
}

pub(super) fn as_array<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    ctx: &str,
) -> Result<&'a [Value], Error> {
    match field(obj, key) {
        None => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(other) => Err(decode_err(format!(
            "{ctx}.{key} must be a list, not {other}"
        ))),
    }
}

pub(super) fn parse_route(v: &Value, ctx: &str) -> Result<Route, Error> {
    let o = as_obj(v, ctx)?;
    let dst = parse_net(
        field(o, "dst").ok_or_else(|| decode_err(format!("{ctx}.dst is missing")))?,
        &format!("{ctx}.dst"),
    )?;
    Ok(Route {
        dst,
        gw: parse_ip(o, "gw", ctx)?,
        mtu: opt_num(o, "mtu", ctx)?,
        advmss: opt_num(o, "advmss", ctx)?,
        priority: opt_num(o, "priority", ctx)?,
        table: opt_num(o, "table", ctx)?,
        scope: opt_num(o, "scope", ctx)?,
    })
}

pub(super) fn route_json(r: &Route, extended: bool) -> Value {
    let mut m = Map::new();
    m.insert("dst".into(), r.dst.to_string().into());
    if let Some(gw) = r.gw {
        m.insert("gw".into(), gw.to_string().into());
    }
    if extended {
        let nums = [
            ("mtu", r.mtu),
            ("advmss", r.advmss),
            ("priority", r.priority),
            ("table", r.table),
        ];
        for (k, v) in nums {
            if let Some(v) = v {
                m.insert(k.into(), v.into());
            }
        }
        if let Some(s) = r.scope {
            m.insert("scope".into(), s.into());
        }
    }
    Value::Object(m)
}

pub(super) fn parse_dns(obj: &Map<String, Value>) -> Result<Dns, Error> {
    match field(obj, "dns") {
        None => Ok(Dns::default()),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| decode_err(format!("dns: {e}"))),
    }
}

pub(super) fn dns_json(d: &Dns) -> Value {
    serde_json::to_value(d).unwrap_or_else(|_| Value::Object(Map::new()))
}

pub(super) fn interface_json(i: &Interface, extended: bool) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), i.name.clone().into());
    if let Some(mac) = &i.mac {
        m.insert("mac".into(), mac.clone().into());
    }
    if extended {
        if let Some(mtu) = i.mtu {
            m.insert("mtu".into(), mtu.into());
        }
    }
    if let Some(sb) = &i.sandbox {
        m.insert("sandbox".into(), sb.clone().into());
    }
    if extended {
        if let Some(p) = &i.socket_path {
            m.insert("socketPath".into(), p.clone().into());
        }
        if let Some(p) = &i.pci_id {
            m.insert("pciID".into(), p.clone().into());
        }
    }
    Value::Object(m)
}

pub(super) fn ip_json(ip: &IpConfig, with_family: bool) -> Value {
    let mut m = Map::new();
    if with_family {
        m.insert(
            "version".into(),
            if ip.address.is_ipv4() { "4" } else { "6" }.into(),
        );
    }
    if let Some(i) = ip.interface {
        m.insert("interface".into(), i.into());
    }
    m.insert("address".into(), ip.address.to_string().into());
    if let Some(gw) = ip.gateway {
        m.insert("gateway".into(), gw.to_string().into());
    }
    Value::Object(m)
}
