//! The client against exchanges recorded from a real ovsdb-server (testdata/ovsdb/, made by
//! testdata/ovsdb/record.sh). A peer thread on a socket pair plays the server: it checks that each
//! request the client sends equals the recorded one, then writes the recorded server bytes,
//! optionally re-cut into small chunks so replies arrive split across reads.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test file: a failed unwrap is a failed test

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use nfv_ovsdb::stream::JsonStream;
use nfv_ovsdb::{
    Atom, Condition, Error, Function, Mutation, Mutator, Operation, OvsdbClient, Value, WaitUntil,
};
use serde_json::{json, Value as Json};

#[derive(Debug, Clone)]
struct Step {
    from_client: bool,
    bytes: String,
}

fn load(name: &str) -> Vec<Step> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/ovsdb")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let doc: Json = serde_json::from_str(&text).unwrap();
    doc["exchange"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| Step {
            from_client: s["from"] == "client",
            bytes: s["bytes"].as_str().unwrap().to_string(),
        })
        .collect()
}

fn read_value(sock: &mut UnixStream, frames: &mut JsonStream) -> Option<Json> {
    let mut buf = [0u8; 4096];
    loop {
        if let Some(v) = frames.next_value().unwrap() {
            return Some(v);
        }
        let n = sock.read(&mut buf).unwrap();
        if n == 0 {
            return None;
        }
        frames.push(&buf[..n]);
    }
}

/// How the fake server writes its recorded bytes.
#[derive(Clone, Copy)]
enum Cut {
    /// As recorded (one write per recv() the recorder saw).
    Recorded,
    /// In pieces of this many bytes, each a separate write with a pause between.
    Every(usize),
    /// All consecutive server steps in a single write (several values in one read).
    Coalesced,
}

/// Plays `steps` as the server; returns the client end and the peer's verdict.
fn serve(steps: Vec<Step>, cut: Cut) -> (OvsdbClient, JoinHandle<()>) {
    let (client, mut peer) = UnixStream::pair().unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let handle = thread::spawn(move || {
        let mut frames = JsonStream::new();
        let mut i = 0;
        while i < steps.len() {
            if steps[i].from_client {
                let got = read_value(&mut peer, &mut frames).expect("client hung up early");
                let want: Json = serde_json::from_str(&steps[i].bytes).unwrap();
                assert_eq!(got, want, "request {i} differs from the recording");
                i += 1;
                continue;
            }
            let mut out = steps[i].bytes.clone();
            let mut deferred = Vec::new();
            if let Cut::Coalesced = cut {
                // Pull later server messages forward past the client's echo replies.
                let mut j = i + 1;
                while j < steps.len() {
                    if steps[j].from_client && steps[j].bytes.contains("\"result\"") {
                        deferred.push(steps[j].clone());
                    } else if !steps[j].from_client {
                        out.push_str(&steps[j].bytes);
                    } else {
                        break;
                    }
                    j += 1;
                }
                i = j;
            } else {
                i += 1;
            }
            match cut {
                Cut::Every(n) => {
                    for piece in out.as_bytes().chunks(n) {
                        peer.write_all(piece).unwrap();
                        thread::sleep(Duration::from_micros(200));
                    }
                }
                _ => peer.write_all(out.as_bytes()).unwrap(),
            }
            for d in deferred {
                let got = read_value(&mut peer, &mut frames).expect("echo reply missing");
                let want: Json = serde_json::from_str(&d.bytes).unwrap();
                assert_eq!(got, want, "echo reply differs from the recording");
            }
        }
    });
    (
        OvsdbClient::from_stream(client, Duration::from_secs(10)),
        handle,
    )
}

const CUTS: [Cut; 4] = [Cut::Recorded, Cut::Every(1), Cut::Every(7), Cut::Coalesced];

fn bridge_with_port_ops(bridge: &str, port: &str) -> Vec<Operation> {
    vec![
        Operation::insert("Interface", Some("i"))
            .with("name", port)
            .with("type", "dpdkvhostuserclient")
            .with(
                "options",
                Value::string_map(&[("vhost-server-path", format!("/tmp/x/{port}"))]),
            )
            .with(
                "external_ids",
                Value::string_map(&[("nfv-cni/container-id", "c1")]),
            ),
        Operation::insert("Port", Some("p"))
            .with("name", port)
            .with("interfaces", Value::named_uuid("i"))
            .with("tag", 100i64),
        Operation::insert("Bridge", Some("b"))
            .with("name", bridge)
            .with("datapath_type", "netdev")
            .with("ports", Value::Set(vec![Atom::NamedUuid("p".into())])),
        Operation::mutate(
            "Open_vSwitch",
            vec![],
            vec![Mutation::new(
                "bridges",
                Mutator::Insert,
                Value::Set(vec![Atom::NamedUuid("b".into())]),
            )],
        ),
        Operation::comment("recorded by testdata/ovsdb/record.py"),
    ]
}

#[test]
fn list_dbs() {
    for cut in CUTS {
        let (mut c, peer) = serve(load("list_dbs"), cut);
        assert_eq!(c.list_dbs().unwrap(), vec!["Open_vSwitch", "_Server"]);
        peer.join().unwrap();
    }
}

#[test]
fn echo() {
    for cut in CUTS {
        let (mut c, peer) = serve(load("echo"), cut);
        c.echo().unwrap();
        peer.join().unwrap();
    }
}

#[test]
fn insert_then_select() {
    for cut in CUTS {
        let (mut c, peer) = serve(load("insert_select"), cut);
        let r = c
            .transact("Open_vSwitch", &bridge_with_port_ops("br-rec", "vhu-rec0"))
            .unwrap();
        assert_eq!(r.len(), 5);
        let iface = r[0].uuid.clone().unwrap();
        assert!(r[1].uuid.is_some() && r[2].uuid.is_some());
        assert_eq!(r[3].count, Some(1));
        let sel = c
            .transact(
                "Open_vSwitch",
                &[Operation::select(
                    "Port",
                    vec![Condition::eq("name", "vhu-rec0")],
                    Some(&["name", "tag", "interfaces"]),
                )],
            )
            .unwrap();
        let row = &sel[0].rows[0];
        assert_eq!(row.string("name").unwrap(), "vhu-rec0");
        assert_eq!(row.get("tag").unwrap().opt_i64(), Some(100));
        assert_eq!(
            row.get("interfaces").unwrap().atoms()[0].as_uuid(),
            Some(&iface)
        );
        peer.join().unwrap();
    }
}

#[test]
fn commit_error_is_reported_with_its_meaning() {
    for cut in CUTS {
        let (mut c, peer) = serve(load("commit_error"), cut);
        let e = c
            .transact("Open_vSwitch", &bridge_with_port_ops("br-rec2", "vhu-rec0"))
            .unwrap_err();
        match &e {
            Error::Commit { error, details } => {
                assert_eq!(error, "constraint violation");
                assert!(details.contains("vhu-rec0"), "{details}");
            }
            other => panic!("{other:?}"),
        }
        assert!(e.to_string().contains("nothing was changed"), "{e}");
        peer.join().unwrap();
    }
}

#[test]
fn failed_operation_is_named() {
    for cut in CUTS {
        let (mut c, peer) = serve(load("operation_error"), cut);
        let ops = [
            Operation::comment("first"),
            Operation::wait_now(
                "Bridge",
                vec![Condition::eq("name", "br-rec")],
                &["name"],
                WaitUntil::Equal,
                vec![],
            ),
            Operation::delete("Bridge", vec![]),
        ];
        let e = c.transact("Open_vSwitch", &ops).unwrap_err();
        assert!(
            matches!(&e, Error::Operation { index: 1, op, error, .. } if op == "wait Bridge" && error == "timed out"),
            "{e:?}"
        );
        peer.join().unwrap();
    }
}

#[test]
fn rpc_error_unknown_database() {
    for cut in CUTS {
        let (mut c, peer) = serve(load("rpc_error"), cut);
        let e = c
            .transact("No_Such_DB", &[Operation::comment("x")])
            .unwrap_err();
        assert_eq!(e.ovsdb_error(), Some("unknown database"));
        assert!(e.to_string().contains("No_Such_DB"), "{e}");
        peer.join().unwrap();
    }
}

#[test]
fn large_reply_over_several_reads() {
    for cut in [Cut::Recorded, Cut::Every(4096), Cut::Coalesced] {
        let (mut c, peer) = serve(load("large_reply"), cut);
        let big: Vec<(String, String)> = (0..250)
            .map(|i| (format!("pad{i:03}"), "x".repeat(400)))
            .collect();
        let r = c
            .transact(
                "Open_vSwitch",
                &[Operation::update("Open_vSwitch", vec![])
                    .with("external_ids", Value::string_map(&big))],
            )
            .unwrap();
        assert_eq!(r[0].count, Some(1));
        let r = c
            .transact(
                "Open_vSwitch",
                &[Operation::select(
                    "Open_vSwitch",
                    vec![],
                    Some(&["external_ids"]),
                )],
            )
            .unwrap();
        match r[0].rows[0].get("external_ids").unwrap() {
            Value::Map(m) => {
                assert_eq!(m.len(), 250);
                assert_eq!(m[249].0.as_str(), Some("pad249"));
            }
            other => panic!("{other:?}"),
        }
        let r = c
            .transact(
                "Open_vSwitch",
                &[Operation::update("Open_vSwitch", vec![])
                    .with("external_ids", Value::Map(vec![]))],
            )
            .unwrap();
        assert_eq!(r[0].count, Some(1));
        peer.join().unwrap();
    }
}

#[test]
fn answers_server_echo_while_waiting() {
    for cut in CUTS {
        let (mut c, peer) = serve(load("server_echo"), cut);
        let op = Operation::Wait {
            table: "Bridge".into(),
            conditions: vec![Condition::new("name", Function::Eq, "br-rec")],
            columns: vec!["name".into()],
            until: WaitUntil::Equal,
            rows: vec![],
            timeout_ms: Some(2500),
        };
        let e = c.transact("Open_vSwitch", &[op]).unwrap_err();
        assert_eq!(e.ovsdb_error(), Some("timed out"));
        // The peer asserts both echo replies arrived and matched the recording.
        peer.join().unwrap();
    }
}

#[test]
fn connection_lost_mid_reply() {
    let steps = load("insert_select");
    let reply = &steps[1].bytes;
    let half = reply[..reply.len() / 2].to_string();
    let (client, mut peer) = UnixStream::pair().unwrap();
    let t = thread::spawn(move || {
        let mut frames = JsonStream::new();
        read_value(&mut peer, &mut frames).unwrap();
        peer.write_all(half.as_bytes()).unwrap();
        // dropping `peer` closes the connection
    });
    let mut c = OvsdbClient::from_stream(client, Duration::from_secs(5));
    let e = c
        .transact("Open_vSwitch", &bridge_with_port_ops("br-rec", "vhu-rec0"))
        .unwrap_err();
    t.join().unwrap();
    assert!(matches!(&e, Error::Closed { .. }), "{e:?}");
    assert!(e.to_string().contains("cut off"), "{e}");
    assert!(e.is_unreachable());
}

#[test]
fn silent_server_times_out() {
    let (client, peer) = UnixStream::pair().unwrap();
    client
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut c = OvsdbClient::from_stream(client, Duration::from_millis(100));
    let e = c.list_dbs().unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
    assert!(e.to_string().contains("list_dbs"), "{e}");
    drop(peer);
}

#[test]
fn connect_to_missing_socket_says_so() {
    let e = OvsdbClient::connect(
        std::path::Path::new("/nonexistent/db.sock"),
        Duration::from_secs(1),
    )
    .unwrap_err();
    assert!(e.is_unreachable());
    assert!(e.to_string().contains("is ovsdb-server running"), "{e}");
}

#[test]
fn rpc_error_without_object_and_stale_ids() {
    // A reply to an earlier, abandoned request id is skipped; notifications are skipped.
    let (client, mut peer) = UnixStream::pair().unwrap();
    let t = thread::spawn(move || {
        let mut frames = JsonStream::new();
        let req = read_value(&mut peer, &mut frames).unwrap();
        let id = req["id"].clone();
        let msgs = [
            json!({"id": 999, "result": ["stale"], "error": null}),
            json!({"id": null, "method": "update", "params": [null, {}]}),
            json!({"id": id, "result": ["Open_vSwitch"], "error": null}),
        ];
        for m in msgs {
            peer.write_all(m.to_string().as_bytes()).unwrap();
        }
    });
    let mut c = OvsdbClient::from_stream(client, Duration::from_secs(5));
    assert_eq!(c.list_dbs().unwrap(), vec!["Open_vSwitch"]);
    t.join().unwrap();
}

#[test]
fn monitor_updates_including_one_that_arrives_before_a_reply() {
    for cut in CUTS {
        let (mut c, peer) = serve(load("monitor"), cut);
        let id = json!("cfg");
        let initial = c
            .monitor(
                "Open_vSwitch",
                &id,
                json!({"Open_vSwitch": {"columns": ["cur_cfg"]}}),
            )
            .unwrap();
        let cfg = |u: &Json| {
            u["Open_vSwitch"]
                .as_object()
                .unwrap()
                .values()
                .next()
                .unwrap()["new"]["cur_cfg"]
                .as_i64()
                .unwrap()
        };
        assert_eq!(cfg(&initial), 0);
        assert_eq!(cfg(&c.next_update(&id).unwrap()), 7);
        // The second update is on the wire before this reply: it must be kept, not dropped.
        let r = c
            .transact(
                "Open_vSwitch",
                &[Operation::select(
                    "Open_vSwitch",
                    vec![],
                    Some(&["cur_cfg"]),
                )],
            )
            .unwrap();
        assert_eq!(r[0].rows[0].get("cur_cfg").unwrap().opt_i64(), Some(8));
        assert_eq!(cfg(&c.next_update(&id).unwrap()), 8);
        peer.join().unwrap();
    }
}
