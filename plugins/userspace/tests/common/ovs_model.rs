//! A stateful stand-in for ovsdb-server + ovs-vswitchd, enough for the plugin's transactions:
//! Bridge, Port, Interface and Open_vSwitch rows; select, insert, mutate, wait; unique names;
//! garbage collection of unreferenced rows; `cur_cfg` follows `next_cfg` at once. With an OVS
//! socket directory it also plays ovs-vswitchd for server mode: a `dpdkvhostuser` interface gets
//! a listening socket there, removed again with the interface (if still there). It plays OVS's
//! memif driver too: a `dpdk` interface whose `dpdk-devargs` name a `socket=` gets a listening
//! socket at that path (in any directory), removed again with the interface.

use std::collections::BTreeMap;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use super::server::{Handler, Kind};

type Map = Vec<(String, String)>;

#[derive(Debug, Clone, Default)]
struct Row {
    name: String,
    /// Bridge.ports, Port.interfaces, Open_vSwitch.bridges.
    refs: Vec<String>,
    ext: Map,
    options: Map,
    iface_type: String,
    datapath_type: String,
    tag: Option<i64>,
}

#[derive(Debug, Clone, Default)]
struct State {
    seq: u32,
    /// table -> uuid -> row
    tables: BTreeMap<String, BTreeMap<String, Row>>,
    next_cfg: i64,
}

const ROOT: &str = "00000000-0000-0000-0000-0000000000a1";
const TABLES: [&str; 4] = ["Open_vSwitch", "Bridge", "Port", "Interface"];

#[derive(Debug, Clone)]
pub struct OvsModel {
    state: Arc<Mutex<State>>,
    ovs_dir: Option<PathBuf>,
}

fn uuids(v: &Value, named: &BTreeMap<String, String>) -> Vec<String> {
    match v.as_array().map(Vec::as_slice) {
        Some([t, Value::String(u)]) if t == "uuid" => vec![u.clone()],
        Some([t, Value::String(n)]) if t == "named-uuid" => {
            vec![named.get(n).cloned().unwrap_or_else(|| n.clone())]
        }
        Some([t, Value::Array(items)]) if t == "set" => {
            items.iter().flat_map(|i| uuids(i, named)).collect()
        }
        _ => vec![],
    }
}

fn map_of(v: &Value) -> Map {
    match v.as_array().map(Vec::as_slice) {
        Some([t, Value::Array(pairs)]) if t == "map" => pairs
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap_or_default().to_string(),
                    p[1].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect(),
        _ => vec![],
    }
}

fn map_json(m: &Map) -> Value {
    json!([
        "map",
        m.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>()
    ])
}

fn set_json(u: &[String]) -> Value {
    json!([
        "set",
        u.iter().map(|u| json!(["uuid", u])).collect::<Vec<_>>()
    ])
}

impl State {
    fn row_json(&self, table: &str, uuid: &str, r: &Row) -> Value {
        let mut j = json!({"_uuid": ["uuid", uuid], "name": r.name,
                           "external_ids": map_json(&r.ext)});
        match table {
            "Bridge" => {
                j["ports"] = set_json(&r.refs);
                j["datapath_type"] = json!(r.datapath_type);
            }
            "Port" => {
                j["interfaces"] = set_json(&r.refs);
                j["tag"] = r.tag.map_or(json!(["set", []]), |t| json!(t));
            }
            "Interface" => {
                j["type"] = json!(r.iface_type);
                j["options"] = map_json(&r.options);
                j["error"] = json!(["set", []]);
                j["mac_in_use"] = json!("");
                j["ofport"] = json!(1);
            }
            _ => {
                j["bridges"] = set_json(&r.refs);
                j["next_cfg"] = json!(self.next_cfg);
                j["cur_cfg"] = json!(self.next_cfg);
            }
        }
        j
    }

    fn matches(&self, table: &str, uuid: &str, r: &Row, conds: &Value) -> bool {
        conds.as_array().into_iter().flatten().all(|c| {
            let (col, func, val) = (
                c[0].as_str().unwrap_or(""),
                c[1].as_str().unwrap_or(""),
                &c[2],
            );
            let have = self.row_json(table, uuid, r);
            match (col, func) {
                ("external_ids", "includes") => map_of(val).iter().all(|kv| r.ext.contains(kv)),
                ("_uuid", "==") => val[1].as_str() == Some(uuid),
                (col, "==") => &have[col] == val,
                _ => panic!("condition {c} not modelled"),
            }
        })
    }

    fn selected(&self, table: &str, conds: &Value) -> Vec<(String, Row)> {
        self.tables
            .get(table)
            .into_iter()
            .flatten()
            .filter(|(u, r)| self.matches(table, u, r, conds))
            .map(|(u, r)| (u.clone(), r.clone()))
            .collect()
    }

    fn new_uuid(&mut self) -> String {
        self.seq += 1;
        format!("{:08x}-0000-0000-0000-{:012x}", self.seq, self.seq)
    }

    /// One operation; `Err` is the OVSDB error object for it.
    fn apply(&mut self, op: &Value, named: &mut BTreeMap<String, String>) -> Result<Value, Value> {
        let table = op["table"].as_str().unwrap_or("");
        match op["op"].as_str().unwrap_or("") {
            "comment" => Ok(json!({})),
            "select" => {
                let rows: Vec<Value> = self
                    .selected(table, &op["where"])
                    .iter()
                    .map(|(u, r)| self.row_json(table, u, r))
                    .collect();
                Ok(json!({ "rows": rows }))
            }
            "insert" => {
                let uuid = self.new_uuid();
                if let Some(n) = op["uuid-name"].as_str() {
                    named.insert(n.to_string(), uuid.clone());
                }
                let row = &op["row"];
                let refs = ["ports", "interfaces", "bridges"]
                    .iter()
                    .flat_map(|c| uuids(&row[*c], named))
                    .collect();
                let r = Row {
                    name: row["name"].as_str().unwrap_or_default().to_string(),
                    refs,
                    ext: map_of(&row["external_ids"]),
                    options: map_of(&row["options"]),
                    iface_type: row["type"].as_str().unwrap_or_default().to_string(),
                    datapath_type: row["datapath_type"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    tag: row["tag"].as_i64(),
                };
                self.tables
                    .entry(table.to_string())
                    .or_default()
                    .insert(uuid.clone(), r);
                Ok(json!({"uuid": ["uuid", uuid]}))
            }
            "mutate" => {
                let hit = self.selected(table, &op["where"]);
                for m in op["mutations"].as_array().into_iter().flatten() {
                    let (col, mutator) = (m[0].as_str().unwrap_or(""), m[1].as_str().unwrap_or(""));
                    if col == "next_cfg" {
                        self.next_cfg += m[2].as_i64().unwrap_or(0);
                        continue;
                    }
                    let items = uuids(&m[2], named);
                    for (u, _) in &hit {
                        let r = self.tables.get_mut(table).unwrap().get_mut(u).unwrap();
                        match mutator {
                            "insert" => r.refs.extend(items.iter().cloned()),
                            "delete" => r.refs.retain(|x| !items.contains(x)),
                            other => panic!("mutator {other} not modelled"),
                        }
                    }
                }
                Ok(json!({"count": hit.len()}))
            }
            "wait" => {
                let cols: Vec<&str> = op["columns"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let have: Vec<Value> = self
                    .selected(table, &op["where"])
                    .iter()
                    .map(|(u, r)| {
                        let j = self.row_json(table, u, r);
                        let mut o = serde_json::Map::new();
                        for c in &cols {
                            let v = if *c == "ports" || *c == "interfaces" {
                                let mut s = uuids(&j[*c], named);
                                s.sort();
                                set_json(&s)
                            } else {
                                j[*c].clone()
                            };
                            o.insert(c.to_string(), v);
                        }
                        Value::Object(o)
                    })
                    .collect();
                let want: Vec<Value> = op["rows"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| {
                        let mut r = r.clone();
                        for c in ["ports", "interfaces"] {
                            if r.get(c).is_some() {
                                let mut s = uuids(&r[c], named);
                                s.sort();
                                r[c] = set_json(&s);
                            }
                        }
                        r
                    })
                    .collect();
                if have == want {
                    Ok(json!({}))
                } else {
                    Err(json!({"error": "timed out", "details": "wait condition not met"}))
                }
            }
            other => panic!("operation {other} not modelled"),
        }
    }

    /// Drops rows nothing refers to (what OVSDB does for non-root tables), then checks names.
    fn collect_garbage(&mut self) -> Result<(), Value> {
        let reach = |st: &State, from: &str, to: &str, keep: &[String]| -> Vec<String> {
            st.tables
                .get(from)
                .into_iter()
                .flatten()
                .filter(|(u, _)| keep.contains(u))
                .flat_map(|(_, r)| r.refs.clone())
                .filter(|u| st.tables.get(to).is_some_and(|t| t.contains_key(u)))
                .collect()
        };
        let roots: Vec<String> = vec![ROOT.to_string()];
        let bridges = reach(self, "Open_vSwitch", "Bridge", &roots);
        let ports = reach(self, "Bridge", "Port", &bridges);
        let ifaces = reach(self, "Port", "Interface", &ports);
        for (t, keep) in [
            ("Bridge", &bridges),
            ("Port", &ports),
            ("Interface", &ifaces),
        ] {
            if let Some(rows) = self.tables.get_mut(t) {
                rows.retain(|u, _| keep.contains(u));
            }
        }
        for t in ["Bridge", "Port", "Interface"] {
            let mut names: Vec<&str> = self
                .tables
                .get(t)
                .into_iter()
                .flatten()
                .map(|(_, r)| r.name.as_str())
                .collect();
            let n = names.len();
            names.sort_unstable();
            names.dedup();
            if names.len() != n {
                return Err(json!({"error": "constraint violation",
                                  "details": format!("duplicate {t} name")}));
            }
        }
        Ok(())
    }
}

impl Default for OvsModel {
    fn default() -> Self {
        OvsModel::new(None)
    }
}

impl OvsModel {
    /// An empty Open vSwitch; with `ovs_dir`, server-mode sockets appear there.
    pub fn new(ovs_dir: Option<PathBuf>) -> OvsModel {
        let mut st = State::default();
        let mut tables = BTreeMap::new();
        for t in TABLES {
            tables.insert(t.to_string(), BTreeMap::new());
        }
        tables
            .get_mut("Open_vSwitch")
            .unwrap()
            .insert(ROOT.to_string(), Row::default());
        st.tables = tables;
        st.seq = 0x100;
        OvsModel {
            state: Arc::new(Mutex::new(st)),
            ovs_dir,
        }
    }

    fn vhost_servers(st: &State) -> Vec<String> {
        st.tables["Interface"]
            .values()
            .filter(|r| r.iface_type == "dpdkvhostuser")
            .map(|r| r.name.clone())
            .collect()
    }

    fn memif_servers(st: &State) -> Vec<PathBuf> {
        st.tables["Interface"]
            .values()
            .filter(|r| r.iface_type == "dpdk")
            .filter_map(|r| r.options.iter().find(|(k, _)| k == "dpdk-devargs"))
            .filter_map(|(_, v)| v.split(',').find_map(|a| a.strip_prefix("socket=")))
            .map(PathBuf::from)
            .collect()
    }

    /// One transaction, all or nothing.
    pub fn transact(&self, ops: &[Value]) -> Value {
        let mut st = self.state.lock().unwrap();
        if ops.is_empty() {
            // The cur_cfg monitor.
            return json!([{"rows": [{"cur_cfg": st.next_cfg}]}]);
        }
        let mut work = st.clone();
        let mut named = BTreeMap::new();
        let mut results = Vec::new();
        for op in ops {
            match work.apply(op, &mut named) {
                Ok(r) => results.push(r),
                Err(e) => {
                    results.push(e);
                    return Value::Array(results);
                }
            }
        }
        if let Err(e) = work.collect_garbage() {
            results.push(e);
            return Value::Array(results);
        }
        let before = Self::vhost_servers(&st);
        let after = Self::vhost_servers(&work);
        let (memif_before, memif_after) = (Self::memif_servers(&st), Self::memif_servers(&work));
        *st = work;
        for p in memif_after.iter().filter(|p| !memif_before.contains(p)) {
            let _ = UnixListener::bind(p);
        }
        for p in memif_before.iter().filter(|p| !memif_after.contains(p)) {
            if std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_socket()) {
                let _ = std::fs::remove_file(p);
            }
        }
        if let Some(dir) = &self.ovs_dir {
            for name in after.iter().filter(|n| !before.contains(n)) {
                // ovs-vswitchd listening on a server-mode port's socket.
                let _ = UnixListener::bind(dir.join(name));
            }
            for name in before.iter().filter(|n| !after.contains(n)) {
                let p = dir.join(name);
                if std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_socket()) {
                    let _ = std::fs::remove_file(p);
                }
            }
        }
        Value::Array(results)
    }

    /// The fake server's handler, answering from this model.
    pub fn handler(&self) -> Handler {
        let m = self.clone();
        Box::new(move |_k: Kind, ops: &[Value], _n| m.transact(ops))
    }

    /// Puts a port (with `ext` as its external_ids) on bridge `bridge`, creating the bridge.
    pub fn plant_port(&self, bridge: &str, port: &str, ext: &[(&str, &str)]) {
        let ext = json!([
            "map",
            ext.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>()
        ]);
        let r = self.transact(&[
            json!({"op": "insert", "table": "Interface", "uuid-name": "i",
                   "row": {"name": port, "type": "dpdkvhostuserclient", "external_ids": ext}}),
            json!({"op": "insert", "table": "Port", "uuid-name": "p",
                   "row": {"name": port, "interfaces": ["named-uuid", "i"], "external_ids": ext}}),
            json!({"op": "insert", "table": "Bridge", "uuid-name": "b",
                   "row": {"name": bridge, "ports": ["named-uuid", "p"], "datapath_type": "netdev"}}),
            json!({"op": "mutate", "table": "Open_vSwitch", "where": [],
                   "mutations": [["bridges", "insert", ["named-uuid", "b"]]]}),
        ]);
        assert!(
            r.as_array()
                .unwrap()
                .iter()
                .all(|o| o.get("error").is_none()),
            "{r}"
        );
    }

    /// Puts a port as the Intel userspace-cni plugin leaves one (`ovs-vsctl add-br`, then
    /// `add-port <bridge> <port> -- set Interface <port> type=<type> options:...`): no
    /// external_ids anywhere, on a new bridge `bridge` with its LOCAL port and no marker.
    pub fn plant_userspace_cni_port(
        &self,
        bridge: &str,
        port: &str,
        iface_type: &str,
        options: &[(&str, &str)],
    ) {
        let options = json!([
            "map",
            options
                .iter()
                .map(|(k, v)| json!([k, v]))
                .collect::<Vec<_>>()
        ]);
        let r = self.transact(&[
            json!({"op": "insert", "table": "Interface", "uuid-name": "li",
                   "row": {"name": bridge, "type": "internal"}}),
            json!({"op": "insert", "table": "Port", "uuid-name": "lp",
                   "row": {"name": bridge, "interfaces": ["named-uuid", "li"]}}),
            json!({"op": "insert", "table": "Interface", "uuid-name": "i",
                   "row": {"name": port, "type": iface_type, "options": options}}),
            json!({"op": "insert", "table": "Port", "uuid-name": "p",
                   "row": {"name": port, "interfaces": ["named-uuid", "i"]}}),
            json!({"op": "insert", "table": "Bridge", "uuid-name": "b",
                   "row": {"name": bridge, "ports": ["set", [["named-uuid", "lp"], ["named-uuid", "p"]]],
                           "datapath_type": "netdev"}}),
            json!({"op": "mutate", "table": "Open_vSwitch", "where": [],
                   "mutations": [["bridges", "insert", ["named-uuid", "b"]]]}),
        ]);
        assert!(
            r.as_array()
                .unwrap()
                .iter()
                .all(|o| o.get("error").is_none()),
            "{r}"
        );
    }

    /// The names of every port, sorted.
    pub fn port_names(&self) -> Vec<String> {
        let st = self.state.lock().unwrap();
        let mut out: Vec<String> = st.tables["Port"].values().map(|r| r.name.clone()).collect();
        out.sort();
        out
    }

    /// The names of every bridge, sorted.
    pub fn bridge_names(&self) -> Vec<String> {
        let st = self.state.lock().unwrap();
        let mut out: Vec<String> = st.tables["Bridge"]
            .values()
            .map(|r| r.name.clone())
            .collect();
        out.sort();
        out
    }

    /// Names of the ports whose external_ids include `nfv-cni/network=<network>`.
    pub fn our_ports(&self, network: &str) -> Vec<String> {
        let st = self.state.lock().unwrap();
        st.tables["Port"]
            .values()
            .filter(|r| {
                r.ext
                    .iter()
                    .any(|(k, v)| k == "nfv-cni/network" && v == network)
            })
            .map(|r| r.name.clone())
            .collect()
    }

    /// Every bridge with its ports, and every port with its external_ids: one comparable string.
    pub fn render(&self) -> String {
        let st = self.state.lock().unwrap();
        let name = |t: &str, u: &String| {
            st.tables[t]
                .get(u)
                .map(|r| r.name.clone())
                .unwrap_or_default()
        };
        let mut out = Vec::new();
        for b in st.tables["Bridge"].values() {
            let mut ports: Vec<String> = b.refs.iter().map(|u| name("Port", u)).collect();
            ports.sort();
            out.push(format!("bridge {} {:?} {:?}", b.name, ports, b.ext));
        }
        for p in st.tables["Port"].values() {
            let mut ext = p.ext.clone();
            ext.sort();
            out.push(format!("port {} tag={:?} {:?}", p.name, p.tag, ext));
        }
        for i in st.tables["Interface"].values() {
            out.push(format!("interface {} {}", i.name, i.iface_type));
        }
        out.sort();
        out.join("\n")
    }
}
