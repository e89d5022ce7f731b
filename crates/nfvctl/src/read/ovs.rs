//! OVS's vhost-user ports, read from ovsdb-server in one read-only transaction (three
//! `select`s): ours carry the userspace plugin's `external_ids` tags (its own key constants);
//! userspace-cni's carry none and are named `<containerID[:12]>-<ifname>`. The socket paths a
//! row names are shown, never opened.

use std::collections::HashMap;
use std::path::Path;

use nfv_ovsdb::{Atom, Operation, OvsdbClient, Row, Uuid, Value};
use userspace::ports::{KEY_CONTAINER, KEY_IFNAME, KEY_MAC, KEY_NETWORK, KEY_SOCKET};

use crate::node::OVSDB_TIMEOUT;

/// One Port with its (first) Interface.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OvsPort {
    pub name: String,
    pub bridge: Option<String>,
    /// The Interface's `type` (`dpdkvhostuserclient`, `dpdkvhostuser`, ...).
    pub iface_type: String,
    /// Our tags (`nfv-cni/network`, `nfv-cni/container-id`, `nfv-cni/ifname`): all three, or
    /// the port is not ours.
    pub ours: Option<OurTags>,
    /// Client mode: the socket OVS connects to (`options:vhost-server-path`).
    pub server_path: Option<String>,
    /// `Interface.error`: OVS accepted the port but could not create it.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OurTags {
    pub network: String,
    pub container_id: String,
    pub ifname: String,
    pub socket: Option<String>,
    pub mac: Option<String>,
}

impl OvsPort {
    /// A vhost-user port (what the userspace plugins make).
    pub fn is_vhost_user(&self) -> bool {
        self.iface_type.starts_with("dpdkvhostuser")
    }

    /// The socket, as the rows say (ours: the tag; else client mode's server path).
    pub fn socket(&self) -> Option<&str> {
        self.ours
            .as_ref()
            .and_then(|t| t.socket.as_deref())
            .or(self.server_path.as_deref())
    }
}

/// Every port that is ours or a vhost-user port, sorted by name.
pub fn read(socket: &Path) -> Result<Vec<OvsPort>, String> {
    let mut client = OvsdbClient::connect(socket, OVSDB_TIMEOUT).map_err(|e| e.to_string())?;
    let ops = [
        Operation::select("Bridge", vec![], Some(&["name", "ports"])),
        Operation::select(
            "Port",
            vec![],
            Some(&["_uuid", "name", "external_ids", "interfaces"]),
        ),
        Operation::select(
            "Interface",
            vec![],
            Some(&["_uuid", "name", "type", "options", "error"]),
        ),
    ];
    let r = client
        .transact(userspace::ports::DB, &ops)
        .map_err(|e| format!("reading ports from {}: {e}", socket.display()))?;
    let rows = |i: usize| r.get(i).map(|x| x.rows.as_slice()).unwrap_or_default();
    ports(rows(0), rows(1), rows(2)).map_err(|e| format!("ovsdb-server's answer: {e}"))
}

/// The ports from the three tables' rows (a pure function, tested on recorded rows).
pub fn ports(
    bridges: &[Row],
    ports: &[Row],
    ifaces: &[Row],
) -> Result<Vec<OvsPort>, nfv_ovsdb::Error> {
    let mut bridge_of: HashMap<Uuid, String> = HashMap::new();
    for b in bridges {
        let name = b.string("name")?;
        for p in b.get("ports")?.atoms() {
            if let Some(u) = p.as_uuid() {
                bridge_of.insert(u.clone(), name.clone());
            }
        }
    }
    let mut iface_by_uuid: HashMap<Uuid, &Row> = HashMap::new();
    for i in ifaces {
        iface_by_uuid.insert(i.uuid()?, i);
    }
    let mut out = Vec::new();
    for p in ports {
        let uuid = p.uuid()?;
        let ext = p.get("external_ids")?;
        let tag = |k: &str| ext.map_get(k).and_then(Atom::as_str).map(str::to_string);
        let ours = match (tag(KEY_NETWORK), tag(KEY_CONTAINER), tag(KEY_IFNAME)) {
            (Some(network), Some(container_id), Some(ifname)) => Some(OurTags {
                network,
                container_id,
                ifname,
                socket: tag(KEY_SOCKET),
                mac: tag(KEY_MAC),
            }),
            _ => None,
        };
        let iface = p
            .get("interfaces")?
            .atoms()
            .first()
            .and_then(|a| a.as_uuid())
            .and_then(|u| iface_by_uuid.get(u).copied());
        let (iface_type, server_path, error) = match iface {
            Some(i) => (
                i.get("type")?.opt_str().unwrap_or_default().to_string(),
                i.get("options")?
                    .map_get("vhost-server-path")
                    .and_then(Atom::as_str)
                    .map(str::to_string),
                i.get("error")
                    .ok()
                    .as_ref()
                    .and_then(Value::opt_str)
                    .map(str::to_string),
            ),
            None => Default::default(),
        };
        let port = OvsPort {
            name: p.string("name")?,
            bridge: bridge_of.get(&uuid).cloned(),
            iface_type,
            ours,
            server_path,
            error,
        };
        if port.ours.is_some() || port.is_vhost_user() {
            out.push(port);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}
