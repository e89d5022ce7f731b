//! Network configuration (spec section "Network configuration"): the keys every plugin shares.
//! Plugin-specific keys stay in [`NetConf::extra`] and reach delegates unchanged, because
//! delegation passes the original stdin bytes, not a re-serialisation.

use crate::error::{code, Error};
use crate::result::Dns;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One attachment named in GC's `cni.dev/valid-attachments`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    #[serde(rename = "containerID")]
    pub container_id: String,
    pub ifname: String,
}

/// The keys of a network configuration that the spec defines.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetConf {
    /// `cniVersion`; empty means 0.1.0.
    #[serde(default)]
    pub cni_version: String,
    /// `name`: the network name, unique per host.
    #[serde(default)]
    pub name: String,
    /// `type`: the plugin binary's name.
    #[serde(rename = "type", default)]
    pub plugin_type: String,
    /// `capabilities` as declared in a conflist (runtimes usually strip it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Map<String, Value>>,
    /// `ipam`: at least `type`; the rest belongs to the IPAM plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipam: Option<Map<String, Value>>,
    /// `dns`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<Dns>,
    /// `runtimeConfig`: capability arguments from the runtime (mac, ips, deviceID, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_config: Option<Map<String, Value>>,
    /// `args`: conventionally `{"cni": {...}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Value>,
    /// `prevResult`, untouched: read it with [`crate::Request::prev_result`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_result: Option<Value>,
    /// GC (1.1.0): the attachments the runtime still considers valid. Absent or `null` when
    /// the runtime passes no list (libcni then sends none, after it has DELed every cached
    /// attachment). Filled from the misspelt `cni.dev/attachments` that libcni also injects
    /// when only that key is present (see [`NetConf::parse`]).
    #[serde(
        rename = "cni.dev/valid-attachments",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub valid_attachments: Option<Vec<Attachment>>,
    /// Every other key, kept in order. `logLevel` and `logFile` are here too: they belong to
    /// the main plugin (an IPAM plugin reads its own from `ipam`), so nothing in the shared
    /// keys may refuse them (see [`crate::log`]).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The misspelt key libcni injects next to `cni.dev/valid-attachments` (libcni #1101).
pub const MISSPELT_VALID_ATTACHMENTS: &str = "cni.dev/attachments";

impl NetConf {
    /// Parse a network configuration. `cni.dev/valid-attachments` wins; when it is absent or
    /// `null`, the misspelt `cni.dev/attachments` (kept in [`NetConf::extra`] too) fills it.
    /// Both keys cannot be one serde field: libcni sends both, and serde refuses a field given
    /// twice.
    pub fn parse(bytes: &[u8]) -> Result<NetConf, Error> {
        let doc: Value = parse_json(bytes, "network configuration")?;
        NetConf::from_document(&doc)
    }

    /// [`NetConf::parse`] of a document already parsed (the runner parses stdin once).
    pub fn from_document(doc: &Value) -> Result<NetConf, Error> {
        let mut conf: NetConf = from_value(doc, "network configuration")?;
        if conf.valid_attachments.is_none() {
            if let Some(v) = conf
                .extra
                .get(MISSPELT_VALID_ATTACHMENTS)
                .filter(|v| !v.is_null())
            {
                conf.valid_attachments = Some(from_value(
                    v,
                    "network configuration at \"cni.dev/attachments\"",
                )?);
            }
        }
        Ok(conf)
    }

    /// `ipam.type`, when an IPAM section with a type is configured.
    pub fn ipam_type(&self) -> Option<&str> {
        self.ipam
            .as_ref()?
            .get("type")?
            .as_str()
            .filter(|t| !t.is_empty())
    }

    /// A `runtimeConfig` key, when present and not null.
    pub fn runtime(&self, key: &str) -> Option<&Value> {
        self.runtime_config
            .as_ref()?
            .get(key)
            .filter(|v| !v.is_null())
    }

    /// `args.cni.<key>`, when present.
    pub fn args_cni(&self, key: &str) -> Option<&Value> {
        self.args
            .as_ref()?
            .get("cni")?
            .get(key)
            .filter(|v| !v.is_null())
    }
}

/// Deserialise JSON into `T`, naming the offending field in the error.
/// Syntax errors are code 6 (decode); a value of the wrong type is code 6 too (it did not
/// decode); a missing required field is code 7 (the config is invalid).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, Error> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| decode_error(e, what))?;
    one_document(de, what)?;
    Ok(value)
}

/// `T` from a JSON value already parsed, naming the offending field in the error as
/// [`parse_json`] does (the codes are the same; no line and column: there is no text).
pub fn from_value<T: DeserializeOwned>(value: &Value, what: &str) -> Result<T, Error> {
    serde_path_to_error::deserialize(value).map_err(|e| decode_error(e, what))
}

/// Like [`parse_json`], with the keys of the plugin's own config matched as Go's
/// encoding/json matches them (exact, else ignoring case; see [`crate::gojson`]): a config
/// written for the Go plugins means the same here.
pub fn parse_go_json<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, Error> {
    let value: Value = parse_json(bytes, what)?;
    from_go_value(value, what)
}

/// [`parse_go_json`] of a document already parsed.
pub fn from_go_value<T: DeserializeOwned>(value: Value, what: &str) -> Result<T, Error> {
    serde_path_to_error::deserialize(crate::gojson::GoValue(value))
        .map_err(|e| decode_error(e, what))
}

/// A decode error naming the field: a missing field or an invalid value is an invalid config
/// (7), anything else did not decode (6).
fn decode_error(e: serde_path_to_error::Error<serde_json::Error>, what: &str) -> Error {
    let path = e.path().to_string();
    let inner = e.into_inner();
    let at = if path == "." || path.is_empty() {
        String::new()
    } else {
        format!(" at {path:?}")
    };
    let msg = inner.to_string();
    let code = if msg.starts_with("missing field") || msg.starts_with("invalid value") {
        code::INVALID_CONFIG
    } else {
        code::DECODE
    };
    Error::new(code, format!("{what}{at}: {msg}"))
}

/// One JSON document and nothing after it: trailing bytes mean a broken writer.
fn one_document<'a>(
    de: &mut serde_json::Deserializer<serde_json::de::SliceRead<'a>>,
    what: &str,
) -> Result<(), Error> {
    de.end().map_err(|e| {
        Error::new(
            code::DECODE,
            format!("{what}: {e}: only one JSON document is allowed"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_unknown_keys_and_reads_shared_ones() {
        let c: NetConf = parse_json(
            br#"{"cniVersion":"1.1.0","name":"n","type":"sriov","vlan":100,"ipam":{"type":"host-local","subnet":"10.0.0.0/24"},
                "runtimeConfig":{"mac":"02:00:00:00:00:01"},"args":{"cni":{"ips":["10.0.0.9"]}},
                "cni.dev/valid-attachments":[{"containerID":"c","ifname":"net1"}]}"#,
            "network configuration",
        )
        .unwrap();
        assert_eq!(c.plugin_type, "sriov");
        assert_eq!(c.extra["vlan"], 100);
        assert_eq!(c.ipam_type(), Some("host-local"));
        assert_eq!(c.runtime("mac").unwrap(), "02:00:00:00:00:01");
        assert_eq!(c.args_cni("ips").unwrap()[0], "10.0.0.9");
        assert_eq!(c.valid_attachments.unwrap()[0].ifname, "net1");
    }

    #[test]
    fn gc_list_from_either_key() {
        let one = r#"[{"containerID":"c","ifname":"a"}]"#;
        let two = r#"[{"containerID":"d","ifname":"b"}]"#;
        let attach = |s: &str| NetConf::parse(s.as_bytes()).map(|c| c.valid_attachments);
        // libcni sends both (same list): serde alone would refuse the second as a duplicate.
        let both = format!(r#"{{"cni.dev/valid-attachments":{one},"cni.dev/attachments":{one}}}"#);
        assert_eq!(attach(&both).unwrap().unwrap()[0].container_id, "c");
        // The spec's key wins over the misspelt one.
        let differ =
            format!(r#"{{"cni.dev/valid-attachments":{one},"cni.dev/attachments":{two}}}"#);
        assert_eq!(attach(&differ).unwrap().unwrap()[0].container_id, "c");
        // Only the misspelt one, or the spec's one null: the misspelt one is used.
        let only = format!(r#"{{"cni.dev/attachments":{two}}}"#);
        assert_eq!(attach(&only).unwrap().unwrap()[0].ifname, "b");
        let null = format!(r#"{{"cni.dev/valid-attachments":null,"cni.dev/attachments":{two}}}"#);
        assert_eq!(attach(&null).unwrap().unwrap()[0].ifname, "b");
        // Neither, or both null: no list (None), which GC reads as "nothing is valid".
        assert_eq!(attach("{}").unwrap(), None);
        let nulls = r#"{"cni.dev/valid-attachments":null,"cni.dev/attachments":null}"#;
        assert_eq!(attach(nulls).unwrap(), None);
        // A malformed misspelt list is refused as the spec's key would be.
        let e = attach(r#"{"cni.dev/attachments":[{"ifname":"x"}]}"#).unwrap_err();
        assert_eq!(e.code, code::INVALID_CONFIG);
        assert!(e.msg.contains("cni.dev/attachments"), "{}", e.msg);
        let e = attach(r#"{"cni.dev/attachments":5}"#).unwrap_err();
        assert_eq!(e.code, code::DECODE);
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse_json::<NetConf>(br#"{"name": 5}"#, "network configuration").unwrap_err();
        assert_eq!(e.code, code::DECODE);
        assert!(e.msg.contains("\"name\""), "{}", e.msg);
        let e = parse_json::<NetConf>(br#"{"name": "#, "network configuration").unwrap_err();
        assert_eq!(e.code, code::DECODE);
        let e = parse_json::<NetConf>(br#"{"name": "n"} x"#, "network configuration").unwrap_err();
        assert_eq!(e.code, code::DECODE, "trailing bytes");
        assert!(
            parse_json::<NetConf>(b"{\"name\": \"n\"}\n  ", "c").is_ok(),
            "trailing whitespace is fine"
        );
        let e = parse_json::<NetConf>(br#"{"cni.dev/valid-attachments":[{"ifname":"x"}]}"#, "c")
            .unwrap_err();
        assert_eq!(e.code, code::INVALID_CONFIG);
        assert!(e.msg.contains("containerID"), "{}", e.msg);
    }
}
