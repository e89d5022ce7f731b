//! The OVSDB transactions this plugin runs, built as plain data from a [`Plan`] and what a
//! read returned. No I/O here: `vswitch.rs` sends them.

use nfv_ovsdb::{
    Atom, Condition, Error as OvsdbError, Mutation, Mutator, Operation, Row, Uuid, Value, WaitUntil,
};

use crate::config::{Mode, Plan};

pub const DB: &str = "Open_vSwitch";

/// `external_ids` keys on the Port (and Interface) rows we create.
pub const KEY_NETWORK: &str = "nfv-cni/network";
pub const KEY_CONTAINER: &str = "nfv-cni/container-id";
pub const KEY_IFNAME: &str = "nfv-cni/ifname";
pub const KEY_SOCKET: &str = "nfv-cni/socket-path";
pub const KEY_MAC: &str = "nfv-cni/mac";
/// On a Bridge we created: it may be removed again once it is empty.
pub const KEY_CREATED_BY: &str = "nfv-cni/created-by";
pub const CREATOR: &str = "userspace";

/// A bridge as read before a write.
#[derive(Debug, Clone, PartialEq)]
pub struct BridgeRow {
    pub uuid: Uuid,
    pub name: String,
    pub ports: Vec<Uuid>,
    pub created_by_us: bool,
}

impl BridgeRow {
    pub fn from_row(r: &Row) -> Result<Self, OvsdbError> {
        let ext = r.get("external_ids")?;
        Ok(BridgeRow {
            uuid: r.uuid()?,
            name: r.string("name")?,
            ports: r
                .get("ports")?
                .atoms()
                .into_iter()
                .filter_map(|a| a.as_uuid().cloned())
                .collect(),
            created_by_us: ext.map_get(KEY_CREATED_BY).and_then(Atom::as_str) == Some(CREATOR),
        })
    }
}

/// One of our ports, found by its `external_ids`. `nfv-cni/socket-path` is written for
/// operators but never read back: the files DEL and GC remove are derived from the config and
/// the attachment's identity, never taken from an OVSDB answer.
#[derive(Debug, Clone, PartialEq)]
pub struct OurPort {
    pub uuid: Uuid,
    pub name: String,
    pub container_id: String,
    pub ifname: String,
    pub mac: Option<String>,
}

impl OurPort {
    pub fn from_row(r: &Row) -> Result<Self, OvsdbError> {
        let ext = r.get("external_ids")?;
        let get = |k: &str| ext.map_get(k).and_then(Atom::as_str).map(str::to_string);
        Ok(OurPort {
            uuid: r.uuid()?,
            name: r.string("name")?,
            container_id: get(KEY_CONTAINER).unwrap_or_default(),
            ifname: get(KEY_IFNAME).unwrap_or_default(),
            mac: get(KEY_MAC),
        })
    }
}

pub(crate) fn uuid_set(uuids: &[Uuid]) -> Value {
    Value::Set(uuids.iter().cloned().map(Atom::Uuid).collect())
}

pub(crate) fn by_uuid(u: &Uuid) -> Vec<Condition> {
    vec![Condition::eq("_uuid", u.clone())]
}

/// Read: every bridge, and our ports matching `filter` (an `external_ids` subset).
pub fn read_ops(filter: &[(&str, &str)]) -> Vec<Operation> {
    vec![
        Operation::select(
            "Bridge",
            vec![],
            Some(&["_uuid", "name", "ports", "external_ids"]),
        ),
        Operation::select(
            "Port",
            vec![Condition::includes(
                "external_ids",
                Value::string_map(filter),
            )],
            Some(&["_uuid", "name", "external_ids"]),
        ),
    ]
}

/// The `external_ids` subset that identifies one attachment.
pub fn attachment_filter(plan: &Plan) -> Vec<(&str, &str)> {
    vec![
        (KEY_NETWORK, plan.network.as_str()),
        (KEY_CONTAINER, plan.container_id.as_str()),
        (KEY_IFNAME, plan.ifname.as_str()),
    ]
}

/// The ADD transaction and where its answer about `next_cfg` is.
#[derive(Debug, Clone, PartialEq)]
pub struct AddTxn {
    pub ops: Vec<Operation>,
    /// Index of the `select` that returns the new `Open_vSwitch.next_cfg`.
    pub next_cfg_at: usize,
    pub creates_bridge: bool,
}

/// Bumps `next_cfg` so the caller can wait for ovs-vswitchd to apply the change (`cur_cfg`).
pub(crate) fn bump_cfg(ops: &mut Vec<Operation>) -> usize {
    ops.push(Operation::mutate(
        "Open_vSwitch",
        vec![],
        vec![Mutation::new("next_cfg", Mutator::Add, 1i64)],
    ));
    ops.push(Operation::select(
        "Open_vSwitch",
        vec![],
        Some(&["next_cfg"]),
    ));
    ops.len() - 1
}

/// One transaction: (the bridge, if missing) + Interface + Port + Bridge.ports, then `next_cfg`.
/// `existing` is the bridge row as read just before; a `wait` makes the transaction fail if it
/// vanished in between, and a unique-name violation makes it fail if someone created it.
pub fn add_txn(plan: &Plan, mac: &str, existing: Option<&BridgeRow>) -> AddTxn {
    let ids = Value::string_map(&[
        (KEY_NETWORK, plan.network.as_str()),
        (KEY_CONTAINER, plan.container_id.as_str()),
        (KEY_IFNAME, plan.ifname.as_str()),
        (KEY_SOCKET, &plan.socket_path.to_string_lossy()),
        (KEY_MAC, mac),
    ]);
    let mut iface = Operation::insert("Interface", Some("iface"))
        .with("name", plan.port.as_str())
        .with("type", plan.interface_type())
        .with("external_ids", ids.clone());
    if let Some(m) = &plan.memif {
        let devargs = m.devargs(&plan.socket_path);
        let n_rxq = m.queues.map(|q| q.to_string());
        let mut options = vec![("dpdk-devargs", devargs.as_str())];
        if let Some(n) = &n_rxq {
            options.push(("n_rxq", n.as_str()));
        }
        iface = iface.with("options", Value::string_map(&options));
    } else if plan.mode == Mode::Client {
        iface = iface.with(
            "options",
            Value::string_map(&[("vhost-server-path", plan.socket_path.to_string_lossy())]),
        );
    }
    let mut port = Operation::insert("Port", Some("port"))
        .with("name", plan.port.as_str())
        .with("interfaces", Value::named_uuid("iface"))
        .with("external_ids", ids);
    if let Some(tag) = plan.vlan {
        port = port.with("tag", i64::from(tag));
    }
    let mut ops = vec![
        Operation::comment(&format!(
            "nfv-cni userspace: ADD {} {} on {}",
            plan.container_id, plan.ifname, plan.network
        )),
        iface,
        port,
    ];
    let ours = Value::Set(vec![Atom::NamedUuid("port".into())]);
    match existing {
        Some(b) => {
            ops.push(Operation::wait_now(
                "Bridge",
                by_uuid(&b.uuid),
                &["name"],
                WaitUntil::Equal,
                vec![vec![("name".into(), Value::from(b.name.as_str()))]],
            ));
            ops.push(Operation::mutate(
                "Bridge",
                by_uuid(&b.uuid),
                vec![Mutation::new("ports", Mutator::Insert, ours)],
            ));
        }
        None => {
            // What `ovs-vsctl add-br` creates: the bridge and its LOCAL internal port.
            ops.push(
                Operation::insert("Interface", Some("local_iface"))
                    .with("name", plan.bridge.as_str())
                    .with("type", "internal"),
            );
            ops.push(
                Operation::insert("Port", Some("local_port"))
                    .with("name", plan.bridge.as_str())
                    .with("interfaces", Value::named_uuid("local_iface")),
            );
            ops.push(
                Operation::insert("Bridge", Some("bridge"))
                    .with("name", plan.bridge.as_str())
                    .with("datapath_type", "netdev")
                    .with(
                        "ports",
                        Value::Set(vec![
                            Atom::NamedUuid("local_port".into()),
                            Atom::NamedUuid("port".into()),
                        ]),
                    )
                    .with(
                        "external_ids",
                        Value::string_map(&[(KEY_CREATED_BY, CREATOR)]),
                    ),
            );
            ops.push(Operation::mutate(
                "Open_vSwitch",
                vec![],
                vec![Mutation::new(
                    "bridges",
                    Mutator::Insert,
                    Value::Set(vec![Atom::NamedUuid("bridge".into())]),
                )],
            ));
        }
    }
    let next_cfg_at = bump_cfg(&mut ops);
    AddTxn {
        ops,
        next_cfg_at,
        creates_bridge: existing.is_none(),
    }
}

/// The DEL/GC transaction and where its `next_cfg` answer is.
#[derive(Debug, Clone, PartialEq)]
pub struct DelTxn {
    pub ops: Vec<Operation>,
    pub next_cfg_at: usize,
    /// Bridges this transaction removes (we created them and they are left empty).
    pub removes_bridges: Vec<String>,
}

/// Removes `ports` from their bridges (OVSDB garbage-collects the Port and Interface rows) and
/// removes a bridge we created when only its LOCAL port would remain. Changes to a bridge we
/// created are guarded by a `wait` on its exact port set, so a concurrent ADD or DEL makes the
/// transaction fail (and the caller re-read and retry) rather than delete a bridge that just
/// got a new port, or leave one empty because every racing DEL saw the others' ports. Other
/// bridges need no guard: removing elements from a set is safe. With `keep_bridges`, bridges
/// are never removed and the transaction cannot fail on a race.
pub fn del_txn(ports: &[OurPort], bridges: &[BridgeRow], keep_bridges: bool) -> DelTxn {
    let mut ops = vec![Operation::comment(&format!(
        "nfv-cni userspace: remove {}",
        ports
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ))];
    let mut removes_bridges = Vec::new();
    for b in bridges {
        let mine: Vec<Uuid> = b
            .ports
            .iter()
            .filter(|u| ports.iter().any(|p| &p.uuid == *u))
            .cloned()
            .collect();
        if mine.is_empty() {
            continue;
        }
        let ours_to_remove = b.created_by_us && !keep_bridges;
        if ours_to_remove {
            // Our bridge may become empty, now or through a concurrent DEL: act only on the
            // port set we read, so that exactly one of several racing DELs sees it empty.
            ops.push(Operation::wait_now(
                "Bridge",
                by_uuid(&b.uuid),
                &["ports"],
                WaitUntil::Equal,
                vec![vec![("ports".into(), uuid_set(&b.ports))]],
            ));
        }
        let rest: Vec<&Uuid> = b.ports.iter().filter(|u| !mine.contains(u)).collect();
        match rest.as_slice() {
            [local] if ours_to_remove => {
                // Only if the one port left is the bridge's own LOCAL port.
                remove_bridge_with_only(&mut ops, b, local);
                removes_bridges.push(b.name.clone());
            }
            _ => ops.push(Operation::mutate(
                "Bridge",
                by_uuid(&b.uuid),
                vec![Mutation::new("ports", Mutator::Delete, uuid_set(&mine))],
            )),
        }
    }
    let next_cfg_at = bump_cfg(&mut ops);
    DelTxn {
        ops,
        next_cfg_at,
        removes_bridges,
    }
}

/// Removes bridge `b` (from Open_vSwitch.bridges, which garbage-collects its rows) provided
/// its one remaining port `local` is still the bridge's own LOCAL port (named like the bridge).
fn remove_bridge_with_only(ops: &mut Vec<Operation>, b: &BridgeRow, local: &Uuid) {
    ops.push(Operation::wait_now(
        "Port",
        by_uuid(local),
        &["name"],
        WaitUntil::Equal,
        vec![vec![("name".into(), Value::from(b.name.as_str()))]],
    ));
    ops.push(Operation::mutate(
        "Open_vSwitch",
        vec![],
        vec![Mutation::new(
            "bridges",
            Mutator::Delete,
            uuid_set(std::slice::from_ref(&b.uuid)),
        )],
    ));
}

/// Removes each of `bridges` that we created and that holds only its LOCAL port, guarded by a
/// `wait` on that exact port set and on the LOCAL port's name, so a racing ADD wins and the
/// bridge stays. `None` when there is no such bridge. For a DEL that had to leave bridges alone
/// (`del_txn` with `keep_bridges`) and may have taken the last port.
pub fn empty_bridges_txn(bridges: &[BridgeRow]) -> Option<DelTxn> {
    let empty: Vec<&BridgeRow> = bridges
        .iter()
        .filter(|b| b.created_by_us && b.ports.len() == 1)
        .collect();
    if empty.is_empty() {
        return None;
    }
    let mut ops = vec![Operation::comment(&format!(
        "nfv-cni userspace: remove empty bridges {}",
        empty
            .iter()
            .map(|b| b.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ))];
    for b in &empty {
        ops.push(Operation::wait_now(
            "Bridge",
            by_uuid(&b.uuid),
            &["ports"],
            WaitUntil::Equal,
            vec![vec![("ports".into(), uuid_set(&b.ports))]],
        ));
        remove_bridge_with_only(&mut ops, b, &b.ports[0]);
    }
    let next_cfg_at = bump_cfg(&mut ops);
    Some(DelTxn {
        ops,
        next_cfg_at,
        removes_bridges: empty.iter().map(|b| b.name.clone()).collect(),
    })
}

/// Read what ovs-vswitchd made of an Interface, and whether it has applied `next_cfg` yet.
pub fn state_ops(port: &str) -> Vec<Operation> {
    vec![
        Operation::select("Open_vSwitch", vec![], Some(&["cur_cfg"])),
        Operation::select(
            "Interface",
            vec![Condition::eq("name", port)],
            Some(&["name", "type", "options", "error", "mac_in_use", "ofport"]),
        ),
        Operation::select(
            "Port",
            vec![Condition::eq("name", port)],
            Some(&["name", "tag", "external_ids"]),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::UserspaceConf;
    use serde_json::json;

    fn plan(mode: &str, vlan: i64) -> Plan {
        let c: UserspaceConf = serde_json::from_value(json!({
            "host": {"engine": "ovs-dpdk", "iftype": "vhostuser",
                     "vhost": {"mode": mode}, "bridge": {"bridgeName": "br-x", "vlanId": vlan}},
            "sharedDir": "/run/us"
        }))
        .unwrap();
        let places = crate::places::Places {
            socket_dirs: nfv_safefs::Place::new("sharedDir", ["/run/us"]),
            ..crate::places::Places::node()
        };
        c.plan(&places, "net-a", "cid0123456789", "net1", true)
            .unwrap()
    }

    fn u(n: u8) -> Uuid {
        Uuid::parse(&format!("{n:08x}-0000-0000-0000-000000000000")).unwrap()
    }

    fn ops_json(ops: &[Operation]) -> Vec<serde_json::Value> {
        ops.iter().map(Operation::to_json).collect()
    }

    #[test]
    fn add_into_existing_bridge_client_mode_with_tag() {
        let b = BridgeRow {
            uuid: u(1),
            name: "br-x".into(),
            ports: vec![u(2)],
            created_by_us: false,
        };
        let t = add_txn(&plan("client", 100), "02:00:00:00:00:01", Some(&b));
        let j = ops_json(&t.ops);
        assert_eq!(j[1]["row"]["type"], json!("dpdkvhostuserclient"));
        assert_eq!(
            j[1]["row"]["options"],
            json!([
                "map",
                [[
                    "vhost-server-path",
                    "/run/us/cid012345678/cid012345678-net1"
                ]]
            ])
        );
        assert_eq!(j[2]["row"]["tag"], json!(100));
        assert_eq!(j[2]["row"]["name"], json!("cid012345678-net1"));
        let ids = &j[2]["row"]["external_ids"][1];
        assert!(ids
            .as_array()
            .unwrap()
            .contains(&json!(["nfv-cni/container-id", "cid0123456789"])));
        assert_eq!(j[3]["op"], json!("wait"));
        assert_eq!(
            j[4],
            json!({"op": "mutate", "table": "Bridge",
                   "where": [["_uuid", "==", ["uuid", "00000001-0000-0000-0000-000000000000"]]],
                   "mutations": [["ports", "insert", ["set", [["named-uuid", "port"]]]]]})
        );
        assert!(!t.creates_bridge);
        assert_eq!(j[t.next_cfg_at]["op"], json!("select"));
        assert_eq!(
            j[t.next_cfg_at - 1]["mutations"],
            json!([["next_cfg", "+=", 1]])
        );
        // Exactly one transaction's worth: no bridge inserts.
        assert!(!j
            .iter()
            .any(|o| o["table"] == json!("Bridge") && o["op"] == json!("insert")));
    }

    #[test]
    fn add_creates_netdev_bridge_when_missing_server_mode_untagged() {
        let t = add_txn(&plan("server", 0), "02:00:00:00:00:01", None);
        let j = ops_json(&t.ops);
        assert!(t.creates_bridge);
        assert_eq!(j[1]["row"]["type"], json!("dpdkvhostuser"));
        assert!(j[1]["row"].get("options").is_none());
        assert!(j[2]["row"].get("tag").is_none());
        let br = j
            .iter()
            .find(|o| o["table"] == json!("Bridge") && o["op"] == json!("insert"))
            .unwrap();
        assert_eq!(br["row"]["datapath_type"], json!("netdev"));
        assert_eq!(
            br["row"]["external_ids"],
            json!(["map", [["nfv-cni/created-by", "userspace"]]])
        );
        assert!(j.iter().any(|o| o["table"] == json!("Open_vSwitch")
            && o["mutations"]
                == json!([["bridges", "insert", ["set", [["named-uuid", "bridge"]]]]])));
    }

    #[test]
    fn add_memif_is_one_dpdk_interface_in_the_same_transaction() {
        let c: UserspaceConf = serde_json::from_value(json!({
            "host": {"engine": "ovs-dpdk", "iftype": "memif", "memif": {"queues": 2},
                     "bridge": {"bridgeName": "br-x", "vlanId": 7}},
            "sharedDir": "/run/us"
        }))
        .unwrap();
        let places = crate::places::Places {
            socket_dirs: nfv_safefs::Place::new("sharedDir", ["/run/us"]),
            ..crate::places::Places::node()
        };
        let p = c
            .plan(&places, "net-a", "cid0123456789", "net1", true)
            .unwrap();
        let b = BridgeRow {
            uuid: u(1),
            name: "br-x".into(),
            ports: vec![u(2)],
            created_by_us: false,
        };
        let t = add_txn(&p, "02:00:00:00:00:01", Some(&b));
        let j = ops_json(&t.ops);
        assert_eq!(j[1]["row"]["type"], json!("dpdk"));
        assert_eq!(j[1]["row"]["name"], json!("memif-cid012345678-net1.sock"));
        let vdev = crate::config::memif_vdev("net-a", "cid0123456789", "net1");
        assert_eq!(
            j[1]["row"]["options"],
            json!([
                "map",
                [
                    [
                        "dpdk-devargs",
                        format!(
                            "{vdev},role=server,socket=/run/us/cid012345678/\
                    memif-cid012345678-net1.sock,id=0,socket-abstract=no"
                        )
                    ],
                    ["n_rxq", "2"]
                ]
            ])
        );
        assert_eq!(j[2]["row"]["tag"], json!(7));
        assert!(j[2]["row"]["external_ids"][1]
            .as_array()
            .unwrap()
            .contains(&json!(["nfv-cni/ifname", "net1"])));
        // The same shape as a vhost-user ADD: guard, Bridge.ports, next_cfg.
        assert_eq!(j[3]["op"], json!("wait"));
        assert_eq!(j[4]["mutations"][0][0], json!("ports"));
        assert_eq!(
            j[t.next_cfg_at - 1]["mutations"],
            json!([["next_cfg", "+=", 1]])
        );
    }

    fn ours(uuid: Uuid) -> OurPort {
        OurPort {
            uuid,
            name: "p".into(),
            container_id: "c".into(),
            ifname: "net1".into(),
            mac: None,
        }
    }

    #[test]
    fn del_removes_only_our_ports_and_keeps_foreign_bridges() {
        let foreign = BridgeRow {
            uuid: u(1),
            name: "br-x".into(),
            ports: vec![u(2), u(3)],
            created_by_us: false,
        };
        let other = BridgeRow {
            uuid: u(9),
            name: "br-y".into(),
            ports: vec![u(8)],
            created_by_us: true,
        };
        let t = del_txn(&[ours(u(3))], &[foreign, other], false);
        let j = ops_json(&t.ops);
        assert!(t.removes_bridges.is_empty());
        assert!(
            !j.iter().any(|o| o["op"] == json!("wait")),
            "no guard needed: {j:?}"
        );
        assert!(j.iter().any(|o| o["mutations"]
            == json!([[
                "ports",
                "delete",
                ["set", [["uuid", "00000003-0000-0000-0000-000000000000"]]]
            ]])));
        // br-y does not hold our port: untouched.
        assert!(!j.iter().any(|o| o.to_string().contains("00000009")));
    }

    #[test]
    fn del_removes_our_bridge_when_only_local_port_is_left() {
        let b = BridgeRow {
            uuid: u(1),
            name: "br-x".into(),
            ports: vec![u(2), u(3)],
            created_by_us: true,
        };
        let t = del_txn(&[ours(u(3))], std::slice::from_ref(&b), false);
        assert_eq!(t.removes_bridges, vec!["br-x".to_string()]);
        let j = ops_json(&t.ops);
        assert!(j.iter().any(|o| o["op"] == json!("wait")
            && o["table"] == json!("Port")
            && o["rows"] == json!([{"name": "br-x"}])));
        let keep = del_txn(&[ours(u(3))], &[b], true);
        assert!(keep.removes_bridges.is_empty());
    }

    #[test]
    fn del_keeps_our_bridge_with_other_ports() {
        let b = BridgeRow {
            uuid: u(1),
            name: "br-x".into(),
            ports: vec![u(2), u(3), u(4)],
            created_by_us: true,
        };
        let t = del_txn(&[ours(u(3))], std::slice::from_ref(&b), false);
        assert!(t.removes_bridges.is_empty());
        let j = ops_json(&t.ops);
        assert!(
            j.iter()
                .any(|o| o["op"] == json!("wait") && o["table"] == json!("Bridge")),
            "racing DELs must conflict on our bridge: {j:?}"
        );
        let keep = ops_json(&del_txn(&[ours(u(3))], &[b], true).ops);
        assert!(!keep.iter().any(|o| o["op"] == json!("wait")));
    }

    #[test]
    fn empty_bridges_txn_removes_only_our_bridges_left_with_their_local_port() {
        let ours_empty = BridgeRow {
            uuid: u(1),
            name: "br-x".into(),
            ports: vec![u(2)],
            created_by_us: true,
        };
        let ours_busy = BridgeRow {
            uuid: u(3),
            name: "br-y".into(),
            ports: vec![u(4), u(5)],
            created_by_us: true,
        };
        let foreign_empty = BridgeRow {
            uuid: u(6),
            name: "br-z".into(),
            ports: vec![u(7)],
            created_by_us: false,
        };
        assert!(empty_bridges_txn(&[ours_busy.clone(), foreign_empty.clone()]).is_none());
        let t = empty_bridges_txn(&[ours_empty, ours_busy, foreign_empty]).unwrap();
        assert_eq!(t.removes_bridges, vec!["br-x".to_string()]);
        let j = ops_json(&t.ops);
        assert!(j.iter().any(|o| o["op"] == json!("wait")
            && o["table"] == json!("Bridge")
            && o["rows"] == json!([{"ports": ["set", [["uuid", "00000002-0000-0000-0000-000000000000"]]]}])));
        assert!(j.iter().any(|o| o["op"] == json!("wait")
            && o["table"] == json!("Port")
            && o["rows"] == json!([{"name": "br-x"}])));
        let deletes: Vec<_> = j
            .iter()
            .filter(|o| {
                o["table"] == json!("Open_vSwitch") && o["mutations"][0][0] == json!("bridges")
            })
            .collect();
        assert_eq!(deletes.len(), 1);
        assert!(deletes[0].to_string().contains("00000001"));
    }

    #[test]
    fn rows_parse() {
        let r = Row::from_json(
            &json!({"_uuid": ["uuid", "00000001-0000-0000-0000-000000000000"],
            "name": "br-x", "ports": ["uuid", "00000002-0000-0000-0000-000000000000"],
            "external_ids": ["map", [["nfv-cni/created-by", "userspace"]]]}),
        )
        .unwrap();
        let b = BridgeRow::from_row(&r).unwrap();
        assert_eq!(b.ports, vec![u(2)]);
        assert!(b.created_by_us);
        let r = Row::from_json(&json!({"_uuid": ["uuid", "00000003-0000-0000-0000-000000000000"],
            "name": "p", "external_ids": ["map", [["nfv-cni/container-id", "c"], ["nfv-cni/ifname", "net1"]]]}))
        .unwrap();
        let p = OurPort::from_row(&r).unwrap();
        assert_eq!((p.container_id.as_str(), p.ifname.as_str()), ("c", "net1"));
    }
}
