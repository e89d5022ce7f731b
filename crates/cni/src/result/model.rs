//! The result model (CNI spec 1.1.0, section "Success").

use crate::error::{code, Error};
use crate::version::{Version, V0_3_0, V1_0_0, V1_1_0};
use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::net::IpAddr;

/// `dns`: spec section "DNS". Empty fields are omitted when printed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dns {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nameservers: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domain: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub search: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

/// `interfaces[]`. `mtu`, `socketPath` and `pciID` are 1.1.0 additions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub mac: Option<String>,
    pub mtu: Option<u32>,
    /// The netns path for an interface in a container; absent for host-side interfaces.
    pub sandbox: Option<String>,
    /// 1.1.0: the vhost-user (or similar) socket a pod's app connects to.
    pub socket_path: Option<String>,
    /// 1.1.0: the PCI address of a device handed to the pod (an SR-IOV VF).
    pub pci_id: Option<String>,
}

/// `ips[]`: an address with its prefix length, the gateway, and the index into `interfaces`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpConfig {
    pub address: IpNetwork,
    pub gateway: Option<IpAddr>,
    pub interface: Option<usize>,
}

/// `routes[]`. All but `dst` and `gw` are 1.1.0 additions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub dst: IpNetwork,
    pub gw: Option<IpAddr>,
    pub mtu: Option<u32>,
    pub advmss: Option<u32>,
    pub priority: Option<u32>,
    pub table: Option<u32>,
    pub scope: Option<u8>,
}

impl Route {
    pub fn new(dst: IpNetwork, gw: Option<IpAddr>) -> Route {
        Route {
            dst,
            gw,
            mtu: None,
            advmss: None,
            priority: None,
            table: None,
            scope: None,
        }
    }
}

/// A successful ADD result, in the 1.1.0 model whatever version it was read from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Success {
    /// The version this result was read as (or is to be printed as).
    pub cni_version: String,
    pub interfaces: Vec<Interface>,
    pub ips: Vec<IpConfig>,
    pub routes: Vec<Route>,
    pub dns: Dns,
}

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

impl Success {
    /// Read a result of any supported version. The version comes from the result's own
    /// `cniVersion`; `fallback_version` is used when it has none (the config's version).
    pub fn from_value(v: &Value) -> Result<Success, Error> {
        Self::from_value_as(v, "")
    }

    pub fn from_value_as(v: &Value, fallback_version: &str) -> Result<Success, Error> {
        let obj = as_obj(v, "result")?;
        let version = match field(obj, "cniVersion") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(decode_err(format!(
                    "cniVersion must be a string, not {other}"
                )))
            }
            None => fallback_version.to_string(),
        };
        let parsed = Version::parse(&version)?;
        if !crate::version::is_supported(&version) && !version.is_empty() {
            return Err(crate::version::incompatible(&version).context("reading a CNI result"));
        }
        let mut s = if parsed < V0_3_0 {
            super::legacy::from_020(obj)?
        } else {
            Self::from_current(obj)?
        };
        s.cni_version = if version.is_empty() {
            "0.1.0".into()
        } else {
            version
        };
        Ok(s)
    }

    fn from_current(obj: &Map<String, Value>) -> Result<Success, Error> {
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
                field(o, "address")
                    .ok_or_else(|| decode_err(format!("{ctx}.address is missing")))?,
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

    /// Print as `version` (which must be supported), following the reference conversion rules.
    pub fn to_version(&self, version: &str) -> Result<Value, Error> {
        if !crate::version::is_supported(version) {
            return Err(crate::version::incompatible(version));
        }
        let v = Version::parse(version)?;
        if v < V0_3_0 {
            return super::legacy::to_020(self, version);
        }
        let extended = v >= V1_1_0;
        let mut m = Map::new();
        m.insert("cniVersion".into(), version.into());
        if !self.interfaces.is_empty() {
            let list = self
                .interfaces
                .iter()
                .map(|i| interface_json(i, extended))
                .collect();
            m.insert("interfaces".into(), Value::Array(list));
        }
        if !self.ips.is_empty() {
            let with_family = v < V1_0_0;
            let list = self.ips.iter().map(|ip| ip_json(ip, with_family)).collect();
            m.insert("ips".into(), Value::Array(list));
        }
        if !self.routes.is_empty() {
            m.insert(
                "routes".into(),
                self.routes
                    .iter()
                    .map(|r| route_json(r, extended))
                    .collect(),
            );
        }
        m.insert("dns".into(), dns_json(&self.dns));
        Ok(Value::Object(m))
    }

    /// The first interface with this name and a sandbox (the one in the container), as an index.
    pub fn container_interface(&self, name: &str) -> Option<usize> {
        self.interfaces
            .iter()
            .position(|i| i.name == name && i.sandbox.is_some())
    }
}

fn interface_json(i: &Interface, extended: bool) -> Value {
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

fn ip_json(ip: &IpConfig, with_family: bool) -> Value {
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
