//! The pod-facing configuration in the Intel userspace-cni plugin's schema: its
//! `ConfigurationData`, one per interface, which that plugin puts in the pod annotation
//! `userspace/configuration-data` (a list of them) through the Kubernetes API, or, without API
//! access, in the file `configData-<containerID[:12]>-<ifname>.json` next to the socket. This
//! plugin has no API access, so it writes that file, with the same name and content: the
//! container's side of the config (`container` block, the vhost mode flipped from the host's
//! when not given, the socket's file name) and the IPAM result. An app that reads the
//! annotation list (the app-netutil library does, from the downward API file) gets the same
//! list from the `configData-*.json` files of its socket directory, the annotation's
//! `userspace/mapped-dir` being the directory it mounts there.

use nfv_cni::result::{Interface, Success};
use nfv_cni::Error;
use serde::Serialize;
use serde_json::Value;

use crate::config::{Plan, UserspaceConf};

/// One interface, as the Intel plugin's `ConfigurationData` (same keys, same order).
#[derive(Debug, Serialize)]
pub struct ConfigurationData {
    #[serde(rename = "containerId")]
    container_id: String,
    #[serde(rename = "ifName")]
    if_name: String,
    name: String,
    config: SideData,
    #[serde(rename = "ipResult")]
    ip_result: Value,
}

/// Its `UserSpaceConf`: the container's side. `memif`, `vhost` and `bridge` are always there
/// (Go structs), their fields only when set.
#[derive(Debug, Serialize)]
struct SideData {
    #[serde(skip_serializing_if = "String::is_empty")]
    engine: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    iftype: String,
    #[serde(rename = "netType", skip_serializing_if = "String::is_empty")]
    net_type: String,
    memif: Memif,
    vhost: Vhost,
    bridge: Bridge,
}

/// For a memif port the pod's side (`role` "slave", the Intel plugin's word for the client)
/// and the socket's file name, the fields app-netutil reads; empty for vhost-user.
#[derive(Debug, Default, Serialize)]
struct Memif {
    #[serde(skip_serializing_if = "String::is_empty")]
    role: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    mode: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    socketfile: String,
}

#[derive(Debug, Default, Serialize)]
struct Vhost {
    #[serde(skip_serializing_if = "String::is_empty")]
    mode: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    group: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    socketfile: String,
}

#[derive(Debug, Serialize)]
struct Bridge {
    #[serde(rename = "bridgeName", skip_serializing_if = "String::is_empty")]
    bridge_name: String,
    #[serde(rename = "vlanId", skip_serializing_if = "is_zero")]
    vlan_id: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// What the Intel plugin writes for this attachment: the `container` block as configured,
/// with `iftype` from the host's when not given, `netType` "interface", `vhost.mode` the
/// opposite of the host's when not given and `vhost.socketfile` the socket's file name; the
/// IPAM result in CNI 1.0.0 form with this interface (name, MAC, sandbox) and no gateways.
pub fn for_pod(
    conf: &UserspaceConf,
    plan: &Plan,
    mac: &str,
    sandbox: Option<String>,
    ipam: Option<&Success>,
) -> Result<ConfigurationData, Error> {
    let c = conf.container.as_ref();
    let text = |v: Option<&String>| v.cloned().unwrap_or_default();
    let vhost = c.and_then(|c| c.vhost.as_ref());
    let bridge = c.and_then(|c| c.bridge.as_ref());
    let config = SideData {
        engine: text(c.and_then(|c| c.engine.as_ref())),
        iftype: c
            .and_then(|c| c.iftype.clone())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| plan.iftype().into()),
        net_type: c
            .and_then(|c| c.net_type.clone())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "interface".into()),
        memif: match plan.memif {
            Some(_) => Memif {
                role: "slave".into(),
                mode: "ethernet".into(),
                socketfile: plan.port.clone(),
            },
            None => Memif::default(),
        },
        vhost: match plan.memif {
            Some(_) => Vhost::default(),
            None => Vhost {
                mode: plan.mode.flipped().as_str().into(),
                group: text(vhost.and_then(|v| v.group.as_ref())),
                socketfile: plan.port.clone(),
            },
        },
        bridge: Bridge {
            bridge_name: text(bridge.and_then(|b| b.bridge_name.as_ref())),
            vlan_id: bridge.and_then(|b| b.vlan_id).unwrap_or(0),
        },
    };
    let mut result = ipam.cloned().unwrap_or_default();
    result.cni_version = "1.0.0".into();
    result.interfaces = vec![Interface {
        name: plan.ifname.clone(),
        mac: Some(mac.to_string()),
        sandbox,
        ..Default::default()
    }];
    for ip in &mut result.ips {
        ip.gateway = None;
        ip.interface = Some(0);
    }
    Ok(ConfigurationData {
        container_id: plan.container_id.clone(),
        if_name: plan.ifname.clone(),
        name: plan.network.clone(),
        config,
        ip_result: result.to_version("1.0.0")?,
    })
}

/// The file's bytes: compact JSON, as the Intel plugin's `json.Marshal` wrote it.
pub fn encode(data: &ConfigurationData) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(data).map_err(|e| Error::internal(format!("encoding configData: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::places::Places;
    use serde_json::json;

    fn plan(c: &UserspaceConf) -> Plan {
        c.plan(&Places::node(), "ovs-net", "0123456789abcdef", "net1", true)
            .unwrap()
    }

    #[test]
    fn the_intel_plugins_schema_in_its_key_order() {
        let c: UserspaceConf = serde_json::from_value(json!({
            "host": {"engine": "ovs-dpdk", "iftype": "vhostuser", "vhost": {"mode": "client"}},
            "container": {"engine": "ovs-dpdk", "iftype": "vhostuser", "netType": "interface"}
        }))
        .unwrap();
        let ipam = Success::from_value(&json!({"cniVersion": "1.0.0",
            "ips": [{"address": "10.56.217.2/24", "gateway": "10.56.217.1"}],
            "routes": [{"dst": "0.0.0.0/0"}]}))
        .unwrap();
        let d = for_pod(
            &c,
            &plan(&c),
            "02:00:00:00:00:01",
            Some("/var/run/netns/p".into()),
            Some(&ipam),
        )
        .unwrap();
        let text = String::from_utf8(encode(&d).unwrap()).unwrap();
        assert!(
            text.starts_with(
                r#"{"containerId":"0123456789abcdef","ifName":"net1","name":"ovs-net","config":{"engine":"ovs-dpdk","iftype":"vhostuser","netType":"interface","memif":{},"vhost":{"mode":"server","socketfile":"0123456789ab-net1"},"bridge":{}},"ipResult":{"cniVersion":"1.0.0","interfaces":[{"name":"net1","mac":"02:00:00:00:00:01","sandbox":"/var/run/netns/p"}],"ips":[{"#
            ),
            "{text}"
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["ipResult"]["ips"][0]["address"], json!("10.56.217.2/24"));
        assert!(v["ipResult"]["ips"][0].get("gateway").is_none(), "{v}");
        assert_eq!(v["ipResult"]["routes"][0]["dst"], json!("0.0.0.0/0"));
    }

    #[test]
    fn defaults_as_the_intel_plugin_fills_them() {
        // Server mode on the host: the pod is the client; no container block, no IPAM.
        let c: UserspaceConf = serde_json::from_value(json!({
            "host": {"engine": "ovs-dpdk", "iftype": "vhostuser",
                     "vhost": {"mode": "server", "socketfile": "vhu0"}}
        }))
        .unwrap();
        let v =
            serde_json::to_value(for_pod(&c, &plan(&c), "02:00:00:00:00:02", None, None).unwrap())
                .unwrap();
        assert_eq!(
            v["config"],
            json!({"iftype": "vhostuser", "netType": "interface", "memif": {},
                   "vhost": {"mode": "client", "socketfile": "vhu0"}, "bridge": {}})
        );
        assert_eq!(
            v["ipResult"]["interfaces"],
            json!([{"name": "net1", "mac": "02:00:00:00:00:02"}])
        );
    }
}
