//! The IPAM configuration host-local reads: `ipam.ranges`, the legacy single range, `routes`,
//! `dataDir`, `resolvConf`, plus requested addresses (`CNI_ARGS IP=`, `args.cni.ips`,
//! `runtimeConfig.ips`) and `runtimeConfig.ipRanges`.
//!
//! Keys are matched case-insensitively (the last matching key wins) and null counts as absent,
//! as in the reference plugin, so every config it accepts we accept the same way.

use crate::addr::{self, Cidr, Family};
use crate::error::ConfigError;
use crate::range::RangeSpec;
use crate::range_set::RangeSet;
use serde_json::{Map, Value};
use std::net::IpAddr;
use std::path::PathBuf;

/// Where leases live when `ipam.dataDir` is not set.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/cni/networks";

/// A route handed back in the result (`ipam.routes[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    pub dst: Cidr,
    pub gw: Option<IpAddr>,
    pub mtu: Option<u32>,
    pub advmss: Option<u32>,
    pub priority: Option<u32>,
    pub table: Option<u32>,
    pub scope: Option<u8>,
}

/// A validated host-local configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpamConfig {
    /// The network `name`: the lease directory under `data_dir`.
    pub name: String,
    pub cni_version: String,
    /// In allocation order: `runtimeConfig.ipRanges`, the legacy range, `ipam.ranges`.
    /// The index is the `N` of `last_reserved_ip.N`.
    pub range_sets: Vec<RangeSet>,
    pub routes: Vec<RouteSpec>,
    pub data_dir: PathBuf,
    /// `ipam.resolvConf`: a resolv.conf whose contents become the result's `dns`.
    pub resolv_conf: Option<PathBuf>,
    /// Requested addresses in the order given: CNI_ARGS, args.cni.ips, runtimeConfig.ips.
    pub requested: Vec<IpAddr>,
}

/// The JSON value of `key` in `obj`, matched as Go's encoding/json does (exact or ASCII
/// case-insensitive, the last one wins); null is absent.
fn field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.iter()
        .rev()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_error(v: &Value, path: &str, expected: &str) -> ConfigError {
    ConfigError::Decode {
        msg: format!(
            "json: cannot unmarshal {} into {path} of type {expected}",
            json_kind(v)
        ),
        field: path.to_string(),
    }
}

fn as_object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, ConfigError> {
    v.as_object().ok_or_else(|| type_error(v, path, "object"))
}

fn as_array<'a>(v: &'a Value, path: &str) -> Result<&'a Vec<Value>, ConfigError> {
    v.as_array().ok_or_else(|| type_error(v, path, "array"))
}

fn as_str<'a>(v: &'a Value, path: &str) -> Result<&'a str, ConfigError> {
    v.as_str().ok_or_else(|| type_error(v, path, "string"))
}

fn opt_str<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'a str>, ConfigError> {
    field(obj, key)
        .map(|v| as_str(v, &format!("{path}.{key}")))
        .transpose()
}

/// A plain address (Go `net.IP`): empty means absent.
fn opt_ip(obj: &Map<String, Value>, key: &str, path: &str) -> Result<Option<IpAddr>, ConfigError> {
    match opt_str(obj, key, path)? {
        None | Some("") => Ok(None),
        Some(s) => addr::parse_ip(s)
            .map(Some)
            .ok_or_else(|| ConfigError::Decode {
                msg: format!("invalid IP address: {s}"),
                field: format!("{path}.{key}"),
            }),
    }
}

/// A network (`types.IPNet`): must parse as a CIDR when present.
fn opt_cidr(obj: &Map<String, Value>, key: &str, path: &str) -> Result<Option<Cidr>, ConfigError> {
    match opt_str(obj, key, path)? {
        None => Ok(None),
        Some(s) => Cidr::parse(s).map(Some).ok_or_else(|| ConfigError::Decode {
            msg: format!("invalid CIDR address: {s}"),
            field: format!("{path}.{key}"),
        }),
    }
}

fn opt_u32(obj: &Map<String, Value>, key: &str, path: &str) -> Result<Option<u32>, ConfigError> {
    field(obj, key)
        .map(|v| {
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| type_error(v, &format!("{path}.{key}"), "uint32"))
        })
        .transpose()
}

/// A requested address (`args.cni.ips[]`, `runtimeConfig.ips[]`, `CNI_ARGS IP=`): an address
/// or an address with a prefix (the prefix is ignored). `None` for the empty string, which the
/// reference accepts here and rejects later.
fn requested_ip(s: &str) -> Result<Option<IpAddr>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    let parsed = if s.contains('/') {
        Cidr::parse(s).map(|c| addr::canonical(c.addr))
    } else {
        addr::parse_ip(s)
    };
    parsed
        .map(Some)
        .ok_or_else(|| format!("invalid IP address {s}"))
}

fn requested_list(v: &Value, path: &str, out: &mut Vec<Option<IpAddr>>) -> Result<(), ConfigError> {
    for (i, item) in as_array(v, path)?.iter().enumerate() {
        let p = format!("{path}[{i}]");
        if item.is_null() {
            out.push(None);
            continue;
        }
        let s = as_str(item, &p)?;
        out.push(requested_ip(s).map_err(|msg| ConfigError::Decode { msg, field: p })?);
    }
    Ok(())
}

fn range_spec(v: &Value, path: &str) -> Result<RangeSpec, ConfigError> {
    let obj = as_object(v, path)?;
    Ok(RangeSpec {
        subnet: opt_cidr(obj, "subnet", path)?,
        range_start: opt_ip(obj, "rangeStart", path)?,
        range_end: opt_ip(obj, "rangeEnd", path)?,
        gateway: opt_ip(obj, "gateway", path)?,
    })
}

fn range_sets(v: &Value, path: &str) -> Result<Vec<Vec<RangeSpec>>, ConfigError> {
    let mut sets = Vec::new();
    for (i, set) in as_array(v, path)?.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let mut specs = Vec::new();
        if !set.is_null() {
            for (j, r) in as_array(set, &p)?.iter().enumerate() {
                specs.push(if r.is_null() {
                    RangeSpec::default()
                } else {
                    range_spec(r, &format!("{p}[{j}]"))?
                });
            }
        }
        sets.push(specs);
    }
    Ok(sets)
}

fn route(v: &Value, path: &str) -> Result<RouteSpec, ConfigError> {
    let obj = as_object(v, path)?;
    let dst = opt_cidr(obj, "dst", path)?.ok_or_else(|| {
        ConfigError::Invalid(format!(
            "{path}.dst is missing: every route needs a destination such as \"0.0.0.0/0\""
        ))
    })?;
    let scope = match opt_u32(obj, "scope", path)? {
        None => None,
        Some(s) => Some(u8::try_from(s).map_err(|_| {
            ConfigError::Invalid(format!("{path}.scope {s} is out of range: use 0-255"))
        })?),
    };
    Ok(RouteSpec {
        dst,
        gw: opt_ip(obj, "gw", path)?,
        mtu: opt_u32(obj, "mtu", path)?,
        advmss: opt_u32(obj, "advmss", path)?,
        priority: opt_u32(obj, "priority", path)?,
        table: opt_u32(obj, "table", path)?,
        scope,
    })
}

/// `a >= b` for dotted versions; false when `a` is not a version (as the reference).
pub fn version_at_least(a: &str, b: &str) -> bool {
    fn parse(v: &str) -> Option<(u64, u64, u64)> {
        let mut it = v.split('.');
        let major = it.next()?.parse().ok()?;
        let minor = it.next()?.parse().ok()?;
        let patch = it.next()?.parse().ok()?;
        if it.next().is_some() {
            return None;
        }
        Some((major, minor, patch))
    }
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => x >= y,
        _ => false,
    }
}

/// CNI_ARGS as the reference's IPAM reads it: `IP` and `IgnoreUnknown` are known; any other
/// key fails unless `IgnoreUnknown` is true. Returns the requested address, if any. The pairs
/// come split already (the runner refuses a pair that is not `KEY=VALUE`, code 4).
fn env_args_ip(args: &[(String, String)]) -> Result<Option<Option<IpAddr>>, ConfigError> {
    if args.is_empty() {
        return Ok(None);
    }
    let mut ip = None;
    let mut ignore_unknown = false;
    let mut unknown = Vec::new();
    for (key, value) in args {
        let pair = format!("{key}={value}");
        match key.as_str() {
            "IP" => {
                ip = Some(requested_ip(value).map_err(|e| {
                    ConfigError::Args(format!("ARGS: error parsing value of pair {pair:?}: {e}"))
                })?);
            }
            "IgnoreUnknown" => {
                ignore_unknown = match value.to_lowercase().as_str() {
                    "1" | "true" => true,
                    "0" | "false" => false,
                    other => {
                        return Err(ConfigError::Args(format!(
                            "ARGS: error parsing value of pair {pair:?}: boolean unmarshal error: invalid input {other}"
                        )))
                    }
                }
            }
            _ => unknown.push(pair),
        }
    }
    if !unknown.is_empty() && !ignore_unknown {
        let list: Vec<String> = unknown.iter().map(|p| format!("{p:?}")).collect();
        return Err(ConfigError::Args(format!(
            "ARGS: unknown args [{}]",
            list.join(" ")
        )));
    }
    Ok(ip)
}

impl IpamConfig {
    /// Parse and validate the whole network configuration (stdin) plus `CNI_ARGS` (its
    /// `KEY=VALUE` pairs, in order), with the reference's checks in the reference's order.
    pub fn load(stdin: &Value, cni_args: &[(String, String)]) -> Result<IpamConfig, ConfigError> {
        let top = as_object(stdin, "network configuration")?;
        let name = opt_str(top, "name", "")?.unwrap_or_default().to_string();
        let cni_version = opt_str(top, "cniVersion", "")?
            .unwrap_or_default()
            .to_string();

        // Decode everything first, as the reference's JSON unmarshal does.
        let runtime = field(top, "runtimeConfig")
            .map(|v| as_object(v, "runtimeConfig"))
            .transpose()?;
        let runtime_ranges = match runtime.and_then(|r| field(r, "ipRanges")) {
            Some(v) => range_sets(v, "runtimeConfig.ipRanges")?,
            None => Vec::new(),
        };
        let mut requested_raw: Vec<Option<IpAddr>> = Vec::new();
        let mut args_ips = Vec::new();
        if let Some(args) = field(top, "args") {
            let args = as_object(args, "args")?;
            if let Some(cni) = field(args, "cni") {
                let cni = as_object(cni, "args.cni")?;
                if let Some(ips) = field(cni, "ips") {
                    requested_list(ips, "args.cni.ips", &mut args_ips)?;
                }
            }
        }
        let mut runtime_ips = Vec::new();
        if let Some(ips) = runtime.and_then(|r| field(r, "ips")) {
            requested_list(ips, "runtimeConfig.ips", &mut runtime_ips)?;
        }
        let ipam = match field(top, "ipam") {
            Some(v) => as_object(v, "ipam")?,
            None => {
                return Err(ConfigError::Invalid(
                    "IPAM config missing 'ipam' key".into(),
                ))
            }
        };
        let legacy = range_spec(&Value::Object(ipam.clone()), "ipam")?;
        let routes = match field(ipam, "routes") {
            Some(v) => as_array(v, "ipam.routes")?
                .iter()
                .enumerate()
                .map(|(i, r)| route(r, &format!("ipam.routes[{i}]")))
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        let data_dir = opt_str(ipam, "dataDir", "ipam")?.unwrap_or_default();
        let resolv_conf = opt_str(ipam, "resolvConf", "ipam")?.unwrap_or_default();
        let ipam_ranges = match field(ipam, "ranges") {
            Some(v) => range_sets(v, "ipam.ranges")?,
            None => Vec::new(),
        };

        if let Some(ip) = env_args_ip(cni_args)? {
            // `IP=` with an empty value requests nothing.
            if ip.is_some() {
                requested_raw.push(ip);
            }
        }
        requested_raw.extend(args_ips);
        requested_raw.extend(runtime_ips);
        let mut requested = Vec::with_capacity(requested_raw.len());
        for ip in requested_raw {
            match ip {
                Some(ip) => requested.push(ip),
                None => {
                    return Err(ConfigError::Invalid(
                        "cannot understand ip: IP <nil> not v4 nor v6".into(),
                    ))
                }
            }
        }

        let mut specs = runtime_ranges;
        if legacy.subnet.is_some() {
            specs.push(vec![legacy]);
        }
        specs.extend(ipam_ranges);
        if specs.is_empty() {
            return Err(ConfigError::Invalid("no IP ranges specified".into()));
        }
        let mut range_sets = Vec::with_capacity(specs.len());
        let (mut v4, mut v6) = (0, 0);
        for (i, set) in specs.iter().enumerate() {
            let set = RangeSet::canonicalize(set)
                .map_err(|e| ConfigError::Invalid(format!("invalid range set {i}: {e}")))?;
            match set.ranges()[0].family() {
                Family::V4 => v4 += 1,
                Family::V6 => v6 += 1,
            }
            range_sets.push(set);
        }
        if (v4 > 1 || v6 > 1) && !version_at_least(&cni_version, "0.3.0") {
            return Err(ConfigError::Invalid(format!(
                "CNI version {cni_version} does not support more than 1 address per family"
            )));
        }
        for (i, a) in range_sets.iter().enumerate() {
            for (j, b) in range_sets.iter().enumerate().skip(i + 1) {
                if a.overlaps(b) {
                    return Err(ConfigError::Invalid(format!(
                        "range set {i} overlaps with {j}"
                    )));
                }
            }
        }
        Ok(IpamConfig {
            name,
            cni_version,
            range_sets,
            routes,
            data_dir: PathBuf::from(if data_dir.is_empty() {
                DEFAULT_DATA_DIR
            } else {
                data_dir
            }),
            resolv_conf: (!resolv_conf.is_empty()).then(|| PathBuf::from(resolv_conf)),
            requested,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `args` as CNI_ARGS text: the runner hands over its `KEY=VALUE` pairs.
    fn load(v: Value, args: &str) -> Result<IpamConfig, ConfigError> {
        let pairs: Vec<(String, String)> = args
            .split(';')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        IpamConfig::load(&v, &pairs)
    }

    fn msg(r: Result<IpamConfig, ConfigError>) -> String {
        r.unwrap_err().to_string()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn order_of_range_sets_and_requested_ips() {
        let c = load(
            json!({"cniVersion":"1.0.0","name":"net","ipam":{"type":"host-local","subnet":"10.1.0.0/16",
                "ranges":[[{"subnet":"2001:db8::/64"}]],"dataDir":"/tmp/x","resolvConf":"/etc/r",
                "routes":[{"dst":"0.0.0.0/0"},{"dst":"10.9.0.5/16","gw":"10.1.0.1","mtu":1400}]},
                "runtimeConfig":{"ipRanges":[[{"subnet":"192.168.0.0/24"}]],"ips":["192.168.0.9/24"]},
                "args":{"cni":{"ips":["10.1.0.7"]}}}),
            "IgnoreUnknown=1;K8S_POD_NAME=p;IP=2001:db8::5",
        )
        .unwrap();
        let sets: Vec<String> = c.range_sets.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            sets,
            [
                "192.168.0.1-192.168.0.254",
                "10.1.0.1-10.1.255.254",
                "2001:db8::1-2001:db8::ffff:ffff:ffff:ffff"
            ]
        );
        assert_eq!(
            c.requested,
            [ip("2001:db8::5"), ip("10.1.0.7"), ip("192.168.0.9")]
        );
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(c.resolv_conf, Some(PathBuf::from("/etc/r")));
        assert_eq!(c.routes[1].dst.to_string(), "10.9.0.5/16");
        assert_eq!(c.routes[1].mtu, Some(1400));
    }

    #[test]
    fn keys_match_case_insensitively_and_null_is_absent() {
        let c = load(
            json!({"cniVersion":"0.4.0","name":"n","IPAM":{"Subnet":"10.0.0.0/24","dataDir":null}}),
            "",
        )
        .unwrap();
        assert_eq!(c.range_sets.len(), 1);
        assert_eq!(c.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
    }

    #[test]
    fn reference_errors() {
        assert_eq!(
            msg(load(json!({"name":"n"}), "")),
            "IPAM config missing 'ipam' key"
        );
        assert_eq!(
            msg(load(json!({"name":"n","ipam":{}}), "")),
            "no IP ranges specified"
        );
        assert_eq!(
            msg(load(json!({"name":"n","ipam":{"subnet":"zzz"}}), "")),
            "invalid CIDR address: zzz"
        );
        assert_eq!(
            msg(load(
                json!({"name":"n","ipam":{"subnet":"10.0.0.0/24","gateway":"x"}}),
                ""
            )),
            "invalid IP address: x"
        );
        assert_eq!(
            msg(load(json!({"name":"n","ipam":{"ranges":[[]]}}), "")),
            "invalid range set 0: empty range set"
        );
        assert_eq!(
            msg(load(
                json!({"cniVersion":"0.3.1","name":"n","ipam":{"ranges":[[{"subnet":"10.0.0.0/24"}],[{"subnet":"10.0.0.128/25"}]]}}),
                ""
            )),
            "range set 0 overlaps with 1"
        );
        assert_eq!(
            msg(load(
                json!({"cniVersion":"0.2.0","name":"n","ipam":{"ranges":[[{"subnet":"10.0.0.0/24"}],[{"subnet":"10.1.0.0/24"}]]}}),
                ""
            )),
            "CNI version 0.2.0 does not support more than 1 address per family"
        );
        let base = json!({"cniVersion":"1.0.0","name":"n","ipam":{"subnet":"10.0.0.0/24"}});
        assert_eq!(
            msg(load(base.clone(), "FOO=bar")),
            "ARGS: unknown args [\"FOO=bar\"]"
        );
        assert_eq!(
            msg(load(base.clone(), "IP=x")),
            "ARGS: error parsing value of pair \"IP=x\": invalid IP address x"
        );
        assert!(load(base.clone(), "IP=").unwrap().requested.is_empty());
        let mut with_empty = base.clone();
        with_empty["args"] = json!({"cni":{"ips":[""]}});
        assert_eq!(
            msg(load(with_empty, "")),
            "cannot understand ip: IP <nil> not v4 nor v6"
        );
        let mut bad_type = base;
        bad_type["ipam"]["ranges"] = json!("x");
        assert!(
            matches!(load(bad_type, ""), Err(ConfigError::Decode { field, .. }) if field == "ipam.ranges")
        );
    }

    #[test]
    fn versions() {
        assert!(version_at_least("0.3.0", "0.3.0"));
        assert!(version_at_least("1.0.0", "0.3.0"));
        assert!(!version_at_least("0.2.0", "0.3.0"));
        assert!(!version_at_least("", "0.3.0"));
    }

    #[test]
    fn odd_input_is_an_error_never_a_panic() {
        let odd = [
            json!(null),
            json!([]),
            json!({"ipam": 5}),
            json!({"ipam": {"ranges": 5}}),
            json!({"ipam": {"ranges": [5]}}),
            json!({"ipam": {"ranges": [[5]]}}),
            json!({"ipam": {"ranges": [[null]]}}),
            json!({"ipam": {"ranges": [null]}}),
            json!({"ipam": {"subnet": 5}}),
            json!({"ipam": {"subnet": "10.0.0.0/255"}}),
            json!({"ipam": {"subnet": "10.0.0.0/-1"}}),
            json!({"ipam": {"subnet": "::/0"}}),
            json!({"ipam": {"subnet": "0.0.0.0/0", "rangeStart": "255.255.255.255"}}),
            json!({"ipam": {"subnet": "::/0", "rangeStart": "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}}),
            json!({"ipam": {"subnet": "10.0.0.0/24", "routes": [5]}}),
            json!({"ipam": {"subnet": "10.0.0.0/24", "routes": [{"dst": "0.0.0.0/0", "mtu": -1}]}}),
            json!({"ipam": {"subnet": "10.0.0.0/24", "routes": [{"dst": "0.0.0.0/0", "scope": 300}]}}),
            json!({"ipam": {"subnet": "10.0.0.0/24", "dataDir": []}}),
            json!({"ipam": {"subnet": "10.0.0.0/24"}, "args": 5}),
            json!({"ipam": {"subnet": "10.0.0.0/24"}, "args": {"cni": {"ips": [5]}}}),
            json!({"ipam": {"subnet": "10.0.0.0/24"}, "runtimeConfig": {"ips": "x"}}),
            json!({"ipam": {"subnet": "10.0.0.0/24"}, "runtimeConfig": {"ipRanges": [[{"subnet": 1}]]}}),
            json!({"ipam": {"subnet": "10.0.0.0/24"}, "name": 5}),
        ];
        for v in odd {
            let _ = load(v.clone(), "");
            let _ = load(v, "IP=;=;==;IgnoreUnknown=maybe");
        }
        // The whole address space is a valid (if unusual) range.
        let c = load(json!({"ipam": {"subnet": "0.0.0.0/0"}}), "").unwrap();
        assert_eq!(c.range_sets[0].ranges()[0].range_end, ip("255.255.255.254"));
        assert_eq!(c.range_sets[0].usable_addresses(), (1u128 << 32) - 3);
    }
}
