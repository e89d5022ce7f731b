//! Scripted answers for tests that answer each transaction by hand (fake_ovsdb.rs, memif.rs):
//! the rows' uuids, a successful result for every op, and a bridge row.

use serde_json::{json, Value};

pub const BRIDGE: &str = "00000000-0000-0000-0000-0000000000b1";
pub const LOCAL: &str = "00000000-0000-0000-0000-0000000000b2";
pub const PORT: &str = "00000000-0000-0000-0000-0000000000c1";

/// Answers: a successful result for each op (inserts get uuids, selects rows).
pub fn ok_results(ops: &[Value], next_cfg: i64) -> Value {
    Value::Array(
        ops.iter()
            .map(|o| match o["op"].as_str().unwrap() {
                "insert" => json!({"uuid": ["uuid", PORT]}),
                "select" if o["columns"] == json!(["next_cfg"]) => {
                    json!({"rows": [{"next_cfg": next_cfg}]})
                }
                "select" => json!({"rows": []}),
                "mutate" | "update" | "delete" => json!({"count": 1}),
                _ => json!({}),
            })
            .collect(),
    )
}

pub fn bridge_row(ports: &[&str], ours: bool) -> Value {
    let ext = if ours {
        json!(["map", [["nfv-cni/created-by", "userspace"]]])
    } else {
        json!(["map", []])
    };
    json!({"_uuid": ["uuid", BRIDGE], "name": "br-t",
           "ports": ["set", ports.iter().map(|p| json!(["uuid", p])).collect::<Vec<_>>()],
           "external_ids": ext})
}
