//! A fake ovsdb-server on a unix socket (nfv-testkit's, which serves connections one after the
//! other): answers `transact` with `handler(kind, ops, nth of that kind)` and records every
//! transaction, so a test can script the "server" and then check what the plugin sent.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

/// What kind of transaction the plugin sent, recognised from its operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Read,
    Add,
    Remove,
    /// The `cur_cfg` monitor (no operations).
    CurCfg,
    State,
    /// DEL's look for the Intel userspace-cni plugin's port by the attachment's name.
    Foreign,
}

pub fn kind(ops: &[Value]) -> Kind {
    let comment = ops
        .iter()
        .find(|o| o["op"] == "comment")
        .and_then(|o| o["comment"].as_str())
        .unwrap_or("");
    if comment.contains("find userspace-cni's port") {
        Kind::Foreign
    } else if comment.contains(": ADD ") {
        Kind::Add
    } else if comment.contains("remove") {
        Kind::Remove
    } else if ops.len() == 1 && ops[0]["columns"] == json!(["cur_cfg"]) {
        Kind::CurCfg
    } else if ops.first().map(|o| &o["columns"]) == Some(&json!(["cur_cfg"])) {
        Kind::State
    } else {
        Kind::Read
    }
}

/// Every transaction the plugin sent, in order.
type Log = Arc<Mutex<Vec<(Kind, Vec<Value>)>>>;

pub type Handler = Box<dyn FnMut(Kind, &[Value], usize) -> Value + Send>;

#[derive(Debug)]
pub struct FakeOvsdb {
    log: Log,
}

/// The answer to [`Kind::Foreign`] when the handler is not asked: no such port.
fn no_foreign_port(ops: &[Value]) -> Value {
    Value::Array(ops.iter().map(|_| json!({"rows": []})).collect())
}

impl FakeOvsdb {
    /// Listens on `dir/db.sock`. DEL's look for a port of the Intel plugin
    /// ([`Kind::Foreign`]) is recorded and answered "none" without asking `handler`.
    pub fn start(dir: &Path, handler: Handler) -> FakeOvsdb {
        FakeOvsdb::start_at(&dir.join("db.sock"), handler)
    }

    pub fn start_at(path: &Path, mut handler: Handler) -> FakeOvsdb {
        FakeOvsdb::serve(
            path,
            Box::new(move |k, ops, n| match k {
                Kind::Foreign => no_foreign_port(ops),
                k => handler(k, ops, n),
            }),
        )
    }

    /// Like [`FakeOvsdb::start`], with every transaction answered by `handler` (a model that
    /// holds the Intel plugin's ports).
    pub fn start_answering_all(dir: &Path, handler: Handler) -> FakeOvsdb {
        FakeOvsdb::serve(&dir.join("db.sock"), handler)
    }

    fn serve(path: &Path, mut handler: Handler) -> FakeOvsdb {
        let log: Log = Arc::new(Mutex::new(Vec::new()));
        let log2 = log.clone();
        let mut counts: HashMap<Kind, usize> = HashMap::new();
        nfv_testkit::ovsdb::serve(path, move |req| match req["method"].as_str() {
            Some("transact") => {
                let ops: Vec<Value> = req["params"].as_array().unwrap()[1..].to_vec();
                let k = kind(&ops);
                let n = counts.entry(k).or_insert(0);
                *n += 1;
                log2.lock().unwrap().push((k, ops.clone()));
                handler(k, &ops, *n)
            }
            Some("list_dbs") => json!(["Open_vSwitch"]),
            // The plugin watches cur_cfg: answer with the scripted value, and never send an
            // update (so a low value means "vswitchd is stuck").
            Some("monitor") => {
                let k = Kind::CurCfg;
                let n = counts.entry(k).or_insert(0);
                *n += 1;
                log2.lock().unwrap().push((k, Vec::new()));
                let r = handler(k, &[], *n);
                let cfg = r[0]["rows"][0]["cur_cfg"].clone();
                json!({"Open_vSwitch": {"00000000-0000-0000-0000-0000000000a1":
                                        {"new": {"cur_cfg": cfg}}}})
            }
            other => panic!("unexpected method {other:?}"),
        });
        FakeOvsdb { log }
    }

    pub fn sent(&self, k: Kind) -> Vec<Vec<Value>> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(kk, _)| *kk == k)
            .map(|(_, o)| o.clone())
            .collect()
    }
}
