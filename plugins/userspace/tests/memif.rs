//! memif ports (issue 16) against the recording fake ovsdb-server: the ADD transaction, the
//! socket OVS's memif server makes, rollback on `Interface.error` or a missing socket, and DEL
//! and GC finding the files again from config and identity alone. Real OVS-DPDK with testpmd
//! memif clients is conformance/ovs/e2e.sh, section 7.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test file: a failed unwrap is a failed test

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use common::scripted::{bridge_row, ok_results, LOCAL, PORT};
use common::{FakeOvsdb, Kind};
use serde_json::{json, Value};
use userspace::places::Places;

const SOCK: &str = "memif-c0ffee000000-net1.sock";

fn our_port_row(container_id: &str) -> Value {
    json!({"_uuid": ["uuid", PORT], "name": SOCK,
           "external_ids": ["map", [["nfv-cni/network", "n"], ["nfv-cni/container-id", container_id],
                                    ["nfv-cni/ifname", "net1"]]]})
}

fn state(error: Option<&str>) -> Value {
    let err = error.map_or(json!(["set", []]), |e| json!(e));
    json!([{"rows": [{"cur_cfg": 5}]},
           {"rows": [{"name": SOCK, "type": "dpdk",
                      "options": ["map", []], "error": err, "mac_in_use": "", "ofport": 1}]},
           {"rows": [{"name": SOCK, "tag": ["set", []], "external_ids": ["map", []]}]}])
}

fn conf(dir: &Path, memif: Value) -> String {
    json!({"cniVersion": "1.1.0", "name": "n", "type": "userspace",
        "ovsdbSocket": dir.join("db.sock"), "sharedDir": dir.join("s"), "ovsTimeout": 0.3,
        "host": {"engine": "ovs-dpdk", "iftype": "memif", "memif": memif,
                 "bridge": {"bridgeName": "br-t"}},
        "container": {"engine": "ovs-dpdk", "iftype": "memif", "memif": {"role": "slave"}}})
    .to_string()
}

fn run(dir: &Path, verb: &str, stdin: &str) -> (i32, Value) {
    let plugin = userspace::UserspaceAt(Places::under(dir));
    common::run_with(&plugin, verb, common::CID, stdin, None)
}

/// The Interface row's `options` in an ADD transaction, as a map.
fn interface_options(ops: &[Value]) -> Vec<(String, String)> {
    let row = &ops
        .iter()
        .find(|o| o["op"] == "insert" && o["table"] == "Interface")
        .unwrap()["row"];
    assert_eq!(row["type"], json!("dpdk"), "{row}");
    row["options"][1]
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| {
            (
                kv[0].as_str().unwrap().to_string(),
                kv[1].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// What OVS's memif server does when it attaches the port: bind the socket named in
/// `dpdk-devargs` (the file stays after the listener is dropped).
fn bind_devargs_socket(ops: &[Value]) {
    let opts = interface_options(ops);
    let devargs = &opts.iter().find(|(k, _)| k == "dpdk-devargs").unwrap().1;
    let path = devargs
        .split(',')
        .find_map(|a| a.strip_prefix("socket="))
        .unwrap();
    drop(UnixListener::bind(path).unwrap());
}

fn socket_path(d: &Path) -> PathBuf {
    d.join("s/c0ffee000000").join(SOCK)
}

#[test]
fn add_makes_one_dpdk_port_with_memif_devargs_and_del_finds_the_files_again() {
    let d = common::scratch("memif", "adddel");
    let fake = FakeOvsdb::start(
        &d,
        Box::new(|k, ops, _| match k {
            Kind::Read if ops.len() == 2 => {
                json!([{"rows": [bridge_row(&[LOCAL], false)]}, {"rows": []}])
            }
            Kind::Read => json!([{"rows": [bridge_row(&[LOCAL], false)]}, {"rows": []}]),
            Kind::Add => {
                bind_devargs_socket(ops);
                ok_results(ops, 5)
            }
            Kind::CurCfg => json!([{"rows": [{"cur_cfg": 5}]}]),
            Kind::State => state(None),
            k => panic!("unexpected {k:?}"),
        }),
    );
    let (rc, out) = run(&d, "ADD", &conf(&d, json!({"role": "master", "queues": 2})));
    assert_eq!(rc, 0, "{out}");
    let sock = socket_path(&d);
    assert_eq!(
        out["interfaces"][0]["socketPath"],
        json!(sock.to_string_lossy())
    );
    let adds = fake.sent(Kind::Add);
    assert_eq!(adds.len(), 1, "one transaction");
    let opts = interface_options(&adds[0]);
    let vdev = userspace::config::memif_vdev("n", "c0ffee0000000000", "net1");
    assert_eq!(
        opts,
        vec![
            (
                "dpdk-devargs".to_string(),
                format!(
                    "{vdev},role=server,socket={},id=0,socket-abstract=no",
                    sock.display()
                )
            ),
            ("n_rxq".to_string(), "2".to_string())
        ]
    );
    // Port and Bridge.ports in the same transaction.
    assert!(adds[0]
        .iter()
        .any(|o| o["op"] == "insert" && o["table"] == "Port" && o["row"]["name"] == SOCK));
    assert!(adds[0]
        .iter()
        .any(|o| o["op"] == "mutate" && o["table"] == "Bridge"));
    // The pod's view says memif.
    let pod: Value = serde_json::from_slice(
        &std::fs::read(d.join("s/c0ffee000000").join(format!("{SOCK}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(pod["type"], json!("memif"));
    assert_eq!(pod["memif"]["role"], json!("client"));
    let cd: Value = serde_json::from_slice(
        &std::fs::read(d.join("s/c0ffee000000/configData-c0ffee000000-net1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(cd["config"]["iftype"], json!("memif"));
    assert_eq!(cd["config"]["memif"]["socketfile"], json!(SOCK));
    assert_eq!(cd["config"]["vhost"], json!({}));
    // Without a group the socket is left as OVS made it, the directory private.
    let mode = std::fs::metadata(d.join("s/c0ffee000000"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);

    // DEL: the port row is found by external_ids; the files come from config and identity.
    drop(fake);
    let _ = std::fs::remove_file(d.join("db.sock"));
    let fake = FakeOvsdb::start(
        &d,
        Box::new(|k, ops, n| match (k, n) {
            (Kind::Read, 1) => json!([{"rows": [bridge_row(&[LOCAL, PORT], false)]},
                                      {"rows": [our_port_row("c0ffee0000000000")]}]),
            (Kind::Read, _) => json!([{"rows": [bridge_row(&[LOCAL], false)]}, {"rows": []}]),
            (Kind::Remove, _) => ok_results(ops, 6),
            (Kind::CurCfg, _) => json!([{"rows": [{"cur_cfg": 6}]}]),
            (k, _) => panic!("unexpected {k:?} (no adoption of the Intel plugin's state)"),
        }),
    );
    let (rc, out) = run(&d, "DEL", &conf(&d, json!({})));
    assert_eq!(rc, 0, "{out}");
    assert_eq!(fake.sent(Kind::Remove).len(), 1);
    assert!(!sock.exists(), "socket removed");
    assert!(!d.join("s/c0ffee000000").exists(), "directory removed");
}

#[test]
fn interface_error_rolls_back_the_memif_port_and_its_files() {
    let d = common::scratch("memif", "ifaceerr");
    let fake = FakeOvsdb::start(
        &d,
        Box::new(|k, ops, n| match (k, n) {
            (Kind::Read, 1) => json!([{"rows": []}, {"rows": []}]),
            (Kind::Read, _) => json!([{"rows": [bridge_row(&[LOCAL, PORT], true)]},
                                      {"rows": [our_port_row("c0ffee0000000000")]}]),
            (Kind::Add, _) => {
                bind_devargs_socket(ops);
                ok_results(ops, 5)
            }
            (Kind::Remove, _) => ok_results(ops, 6),
            (Kind::CurCfg, _) => json!([{"rows": [{"cur_cfg": 6}]}]),
            (Kind::State, _) => state(Some("Error attaching device 'net_memif...' to DPDK")),
            (k, _) => panic!("unexpected {k:?}"),
        }),
    );
    let (rc, out) = run(&d, "ADD", &conf(&d, json!({})));
    assert_eq!((rc, out["code"].clone()), (1, json!(111)), "{out}");
    let msg = out["msg"].as_str().unwrap();
    assert!(
        msg.contains("memif port") && msg.contains("Error attaching device"),
        "{msg}"
    );
    assert!(
        msg.contains("librte-net-memif23"),
        "says what to install: {msg}"
    );
    let removes = fake.sent(Kind::Remove);
    assert_eq!(removes.len(), 1, "rolled back in one transaction");
    assert!(removes[0].iter().any(|o| o["table"] == "Open_vSwitch"
        && o["mutations"][0][0] == "bridges"
        && o["mutations"][0][1] == "delete"));
    assert!(
        !d.join("s/c0ffee000000").exists(),
        "socket and directory removed"
    );
}

#[test]
fn a_memif_port_whose_socket_never_appeared_is_rolled_back() {
    let d = common::scratch("memif", "nosocket");
    let fake = FakeOvsdb::start(
        &d,
        Box::new(|k, ops, n| match (k, n) {
            (Kind::Read, 1) => json!([{"rows": [bridge_row(&[LOCAL], false)]}, {"rows": []}]),
            (Kind::Read, _) => json!([{"rows": [bridge_row(&[LOCAL, PORT], false)]},
                                      {"rows": [our_port_row("c0ffee0000000000")]}]),
            (Kind::Add, _) => ok_results(ops, 5), // no socket made
            (Kind::Remove, _) => ok_results(ops, 6),
            (Kind::CurCfg, _) => json!([{"rows": [{"cur_cfg": 6}]}]),
            (Kind::State, _) => state(None),
            (k, _) => panic!("unexpected {k:?}"),
        }),
    );
    let (rc, out) = run(&d, "ADD", &conf(&d, json!({})));
    assert_eq!((rc, out["code"].clone()), (1, json!(111)), "{out}");
    assert!(
        out["msg"].as_str().unwrap().contains("not its socket"),
        "{out}"
    );
    assert_eq!(fake.sent(Kind::Remove).len(), 1);
    assert!(!d.join("s/c0ffee000000").exists());
}

#[test]
fn gc_rederives_the_memif_files_of_a_stale_port_from_its_identity() {
    let d = common::scratch("memif", "gc");
    let stale = d.join("s/5ta1e0000000");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::set_permissions(&stale, std::fs::Permissions::from_mode(0o700)).unwrap();
    drop(UnixListener::bind(stale.join("memif-5ta1e0000000-net1.sock")).unwrap());
    std::fs::write(stale.join("memif-5ta1e0000000-net1.sock.json"), b"{}").unwrap();
    let fake = FakeOvsdb::start(
        &d,
        Box::new(|k, ops, n| match (k, n) {
            (Kind::Read, 1) => json!([{"rows": [bridge_row(&[LOCAL, PORT], false)]},
                                      {"rows": [our_port_row("5ta1e00000000000")]}]),
            (Kind::Read, _) => json!([{"rows": [bridge_row(&[LOCAL], false)]}, {"rows": []}]),
            (Kind::Remove, _) => ok_results(ops, 6),
            (Kind::CurCfg, _) => json!([{"rows": [{"cur_cfg": 6}]}]),
            (k, _) => panic!("unexpected {k:?}"),
        }),
    );
    let mut c: Value = serde_json::from_str(&conf(&d, json!({}))).unwrap();
    c["cni.dev/valid-attachments"] = json!([]);
    let (rc, out) = run(&d, "GC", &c.to_string());
    assert_eq!(rc, 0, "{out}");
    assert_eq!(fake.sent(Kind::Remove).len(), 1);
    assert!(
        !stale.exists(),
        "the stale port's memif socket, pod JSON and dir are gone"
    );
}

/// Hostile: something other than OVS's socket where the memif socket goes (a symlink to a
/// victim, planted by the pod in its group-writable directory, or a plain file): ADD fails and
/// rolls back, and with `group` set nothing is chgrp'd or chmodded through it.
#[test]
fn a_symlink_or_file_where_the_memif_socket_goes_is_never_followed_or_changed() {
    for planted in ["symlink", "file"] {
        let d = common::scratch("memif", &format!("planted-{planted}"));
        let victim = d.join("victim");
        std::fs::write(&victim, b"v").unwrap();
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
        let (v2, p2) = (victim.clone(), planted.to_string());
        let fake = FakeOvsdb::start(
            &d,
            Box::new(move |k, ops, n| match (k, n) {
                (Kind::Read, 1) => {
                    json!([{"rows": [bridge_row(&[LOCAL], false)]}, {"rows": []}])
                }
                (Kind::Read, _) => json!([{"rows": [bridge_row(&[LOCAL, PORT], false)]},
                                          {"rows": [our_port_row("c0ffee0000000000")]}]),
                (Kind::Add, _) => {
                    let opts = interface_options(ops);
                    let devargs = &opts.iter().find(|(k, _)| k == "dpdk-devargs").unwrap().1;
                    let path = devargs
                        .split(',')
                        .find_map(|a| a.strip_prefix("socket="))
                        .unwrap();
                    if p2 == "symlink" {
                        std::os::unix::fs::symlink(&v2, path).unwrap();
                    } else {
                        std::fs::write(path, b"x").unwrap();
                    }
                    ok_results(ops, 5)
                }
                (Kind::Remove, _) => ok_results(ops, 6),
                (Kind::CurCfg, _) => json!([{"rows": [{"cur_cfg": 6}]}]),
                (Kind::State, _) => state(None),
                (k, _) => panic!("unexpected {k:?}"),
            }),
        );
        let (rc, out) = run(&d, "ADD", &conf(&d, json!({"group": "0"})));
        assert_eq!(
            (rc, out["code"].clone()),
            (1, json!(111)),
            "{planted}: {out}"
        );
        assert!(
            out["msg"].as_str().unwrap().contains("not its socket"),
            "{planted}: {out}"
        );
        assert_eq!(fake.sent(Kind::Remove).len(), 1, "{planted}: rolled back");
        let meta = std::fs::metadata(&victim).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{planted}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"v");
        // The planted entry is not ours to remove (only a socket is), and is left.
        let planted_path = socket_path(&d);
        assert!(
            std::fs::symlink_metadata(&planted_path).is_ok(),
            "{planted}: left in place"
        );
    }
}

#[test]
fn check_compares_type_devargs_and_the_socket_ovs_made() {
    let d = common::scratch("memif", "check");
    let sock = socket_path(&d);
    std::fs::create_dir_all(sock.parent().unwrap()).unwrap();
    std::fs::set_permissions(
        sock.parent().unwrap(),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    let vdev = userspace::config::memif_vdev("n", "c0ffee0000000000", "net1");
    let good = format!(
        "{vdev},role=server,socket={},id=0,socket-abstract=no",
        sock.display()
    );
    let devargs = std::sync::Arc::new(std::sync::Mutex::new(good.clone()));
    let da = devargs.clone();
    let _fake = FakeOvsdb::start(
        &d,
        Box::new(move |k, _ops, _| match k {
            Kind::Read => json!([{"rows": [bridge_row(&[LOCAL, PORT], false)]},
                                 {"rows": [our_port_row("c0ffee0000000000")]}]),
            Kind::State => {
                let mut s = state(None);
                s[1]["rows"][0]["options"] =
                    json!(["map", [["dpdk-devargs", da.lock().unwrap().clone()]]]);
                s
            }
            k => panic!("unexpected {k:?}"),
        }),
    );
    let c = conf(&d, json!({}));
    // No socket yet: OVS listens on nothing the pod can reach.
    let (rc, out) = run(&d, "CHECK", &c);
    assert_eq!((rc, out["code"].clone()), (1, json!(111)), "{out}");
    assert!(
        out["msg"].as_str().unwrap().contains("memif socket"),
        "{out}"
    );
    drop(UnixListener::bind(&sock).unwrap());
    let (rc, out) = run(&d, "CHECK", &c);
    assert_eq!(rc, 0, "{out}");
    // Devargs that differ from the derived ones (another id, another socket).
    for bad in [
        good.replace("id=0", "id=1"),
        good.replace("role=server", "role=client"),
    ] {
        *devargs.lock().unwrap() = bad;
        let (rc, out) = run(&d, "CHECK", &c);
        assert_eq!((rc, out["code"].clone()), (1, json!(111)), "{out}");
        assert!(
            out["msg"].as_str().unwrap().contains("dpdk-devargs"),
            "{out}"
        );
    }
}
