//! The plugin's logic (retry on races, rollback, error codes) against a recording fake
//! ovsdb-server on a unix socket: each test scripts what the "server" answers to each kind of
//! transaction and then checks what the plugin sent. No OVS (real OVS is
//! conformance/ovs/e2e.sh's job), and no root except for the tests that write device-info
//! files: those only go in the node's real device-info tree.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test file: a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};

use common::scripted::{bridge_row, ok_results, LOCAL, PORT};
use common::{FakeOvsdb, Kind, OvsModel};
use nfv_testkit::devinfo::DevinfoDir;
use nfv_testkit::root_or_skip;
use serde_json::{json, Value};
use userspace::places::Places;

fn our_port_row(dir: &Path) -> Value {
    json!({"_uuid": ["uuid", PORT], "name": "c0ffee000000-net1",
           "external_ids": ["map", [["nfv-cni/network", "n"], ["nfv-cni/container-id", "c0ffee0000000000"],
                                    ["nfv-cni/ifname", "net1"],
                                    ["nfv-cni/socket-path", format!("{}/s/c0ffee000000/c0ffee000000-net1", dir.display())]]]})
}

fn state(error: Option<&str>) -> Value {
    let err = error.map_or(json!(["set", []]), |e| json!(e));
    json!([{"rows": [{"cur_cfg": 5}]},
           {"rows": [{"name": "c0ffee000000-net1", "type": "dpdkvhostuserclient",
                      "options": ["map", []], "error": err, "mac_in_use": "", "ofport": 1}]},
           {"rows": [{"name": "c0ffee000000-net1", "tag": ["set", []], "external_ids": ["map", []]}]}])
}

fn scratch(name: &str) -> PathBuf {
    common::scratch("fake", name)
}

fn conf(dir: &Path, extra: Value) -> String {
    let mut c = json!({"cniVersion": "1.1.0", "name": "n", "type": "userspace",
        "ovsdbSocket": dir.join("db.sock"), "sharedDir": dir.join("s"), "ovsTimeout": 0.3,
        "host": {"engine": "ovs-dpdk", "iftype": "vhostuser", "bridge": {"bridgeName": "br-t"}}});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c.to_string()
}

/// Runs `verb` with every place (sharedDir, ovsdbSocket, ovsSocketDir) rooted at `dir`.
fn run(dir: &Path, verb: &str, stdin: &str) -> (i32, Value) {
    let plugin = userspace::UserspaceAt(Places::under(dir));
    common::run_with(&plugin, verb, common::CID, stdin, None)
}

#[test]
fn add_retries_when_another_add_created_the_bridge_first() {
    let d = scratch("race");
    let fake = FakeOvsdb::start(
        &d,
        Box::new(|k, ops, n| match (k, n) {
            (Kind::Read, 1) => json!([{"rows": []}, {"rows": []}]),
            (Kind::Read, _) => json!([{"rows": [bridge_row(&[LOCAL], false)]}, {"rows": []}]),
            (Kind::Add, 1) => {
                let mut r: Vec<Value> = ops.iter().map(|_| json!({})).collect();
                r.push(
                    json!({"error": "constraint violation", "details": "duplicate Bridge name"}),
                );
                Value::Array(r)
            }
            (Kind::Add, _) => ok_results(ops, 5),
            (Kind::CurCfg, _) => json!([{"rows": [{"cur_cfg": 5}]}]),
            (Kind::State, _) => state(None),
            (k, _) => panic!("unexpected {k:?}"),
        }),
    );
    let (rc, out) = run(&d, "ADD", &conf(&d, json!({})));
    assert_eq!(rc, 0, "{out}");
    assert_eq!(
        out["interfaces"][0]["socketPath"],
        json!(format!("{}/s/c0ffee000000/c0ffee000000-net1", d.display()))
    );
    let adds = fake.sent(Kind::Add);
    assert_eq!(adds.len(), 2, "one failed attempt, one retry");
    assert!(adds[0]
        .iter()
        .any(|o| o["op"] == "insert" && o["table"] == "Bridge"));
    assert!(!adds[1]
        .iter()
        .any(|o| o["op"] == "insert" && o["table"] == "Bridge"));
    assert!(adds[1]
        .iter()
        .any(|o| o["op"] == "mutate" && o["table"] == "Bridge"));
    assert!(fake.sent(Kind::Remove).is_empty());
    assert!(d.join("s/c0ffee000000/c0ffee000000-net1.json").exists());
}

#[test]
fn interface_error_rolls_back_port_bridge_and_dir() {
    let d = scratch("ifaceerr");
    let dd = d.clone();
    let fake = FakeOvsdb::start(
        &d,
        Box::new(move |k, ops, n| match (k, n) {
            (Kind::Read, 1) => json!([{"rows": []}, {"rows": []}]),
            // The rollback's read: our port is in the bridge we just created.
            (Kind::Read, _) => json!([{"rows": [bridge_row(&[LOCAL, PORT], true)]},
                                      {"rows": [our_port_row(&dd)]}]),
            (Kind::Add, _) => ok_results(ops, 5),
            (Kind::Remove, _) => ok_results(ops, 6),
            (Kind::CurCfg, _) => json!([{"rows": [{"cur_cfg": 6}]}]),
            (Kind::State, _) => state(Some("could not open network device (No such file)")),
            (Kind::Foreign, _) => unreachable!("the fake answers it"),
        }),
    );
    let (rc, out) = run(&d, "ADD", &conf(&d, json!({})));
    assert_eq!(rc, 1);
    assert_eq!(out["code"], json!(111), "{out}");
    assert!(out["msg"]
        .as_str()
        .unwrap()
        .contains("could not open network device"));
    let removes = fake.sent(Kind::Remove);
    assert_eq!(removes.len(), 1, "rolled back in one transaction");
    // We created the bridge and only its LOCAL port is left: the bridge goes too.
    assert!(removes[0].iter().any(|o| o["table"] == "Open_vSwitch"
        && o["mutations"][0][1] == "delete"
        && o["mutations"][0][0] == "bridges"));
    assert!(!d.join("s/c0ffee000000").exists(), "socket dir removed");
}

#[test]
fn vswitchd_that_never_applies_times_out_with_112_and_rolls_back() {
    let d = scratch("novswitchd");
    let dd = d.clone();
    let fake = FakeOvsdb::start(
        &d,
        Box::new(move |k, ops, n| match (k, n) {
            (Kind::Read, 1) => json!([{"rows": [bridge_row(&[LOCAL], false)]}, {"rows": []}]),
            (Kind::Read, _) => json!([{"rows": [bridge_row(&[LOCAL, PORT], false)]},
                                      {"rows": [our_port_row(&dd)]}]),
            (Kind::Add, _) => ok_results(ops, 5),
            (Kind::Remove, _) => ok_results(ops, 6),
            (Kind::CurCfg, _) => json!([{"rows": [{"cur_cfg": 4}]}]),
            (k, _) => panic!("unexpected {k:?}"),
        }),
    );
    let (rc, out) = run(&d, "ADD", &conf(&d, json!({})));
    assert_eq!(rc, 1);
    assert_eq!(out["code"], json!(112), "{out}");
    let removes = fake.sent(Kind::Remove);
    assert_eq!(removes.len(), 1);
    // Not our bridge: only the port is taken out of it.
    assert!(!removes[0]
        .iter()
        .any(|o| o["table"] == "Open_vSwitch" && o["mutations"][0][0] == "bridges"));
    assert!(removes[0]
        .iter()
        .any(|o| o["table"] == "Bridge" && o["op"] == "mutate"));
}

#[test]
fn existing_attachment_fails_add_without_touching_anything() {
    let d = scratch("exists");
    let dd = d.clone();
    let fake = FakeOvsdb::start(
        &d,
        Box::new(move |k, _ops, _n| match k {
            Kind::Read => json!([{"rows": [bridge_row(&[LOCAL, PORT], false)]},
                                 {"rows": [our_port_row(&dd)]}]),
            k => panic!("unexpected {k:?}"),
        }),
    );
    let (rc, out) = run(&d, "ADD", &conf(&d, json!({})));
    assert_eq!((rc, out["code"].clone()), (1, json!(114)), "{out}");
    assert!(fake.sent(Kind::Add).is_empty() && fake.sent(Kind::Remove).is_empty());
    assert!(!d.join("s").exists());
}

#[test]
fn del_of_nothing_is_success_and_sends_no_write() {
    let d = scratch("delnothing");
    let fake = FakeOvsdb::start(
        &d,
        Box::new(|k, _ops, _n| match k {
            Kind::Read => json!([{"rows": []}, {"rows": []}]),
            k => panic!("unexpected {k:?}"),
        }),
    );
    let (rc, out) = run(&d, "DEL", &conf(&d, json!({})));
    assert_eq!(rc, 0, "{out}");
    assert!(fake.sent(Kind::Remove).is_empty());
    // The read asked for exactly this attachment.
    let reads = fake.sent(Kind::Read);
    assert_eq!(
        reads[0][1]["where"],
        json!([[
            "external_ids",
            "includes",
            [
                "map",
                [
                    ["nfv-cni/network", "n"],
                    ["nfv-cni/container-id", "c0ffee0000000000"],
                    ["nfv-cni/ifname", "net1"]
                ]
            ]
        ]])
    );
}

#[test]
fn status_is_50_when_nothing_listens() {
    let d = scratch("status");
    let (rc, out) = run(&d, "STATUS", &conf(&d, json!({})));
    assert_eq!((rc, out["code"].clone()), (1, json!(50)), "{out}");
    assert!(out["msg"]
        .as_str()
        .unwrap()
        .contains("is ovsdb-server running"));
}

/// A fake ovsdb-server for which ADD succeeds (a bridge that exists) and DEL finds nothing.
fn ovsdb_where_add_succeeds(d: &Path) -> FakeOvsdb {
    FakeOvsdb::start(
        d,
        Box::new(|k, ops, _| match k {
            Kind::Read => json!([{"rows": [bridge_row(&[LOCAL], false)]}, {"rows": []}]),
            Kind::Add => ok_results(ops, 5),
            Kind::CurCfg => json!([{"rows": [{"cur_cfg": 5}]}]),
            Kind::State => state(None),
            k => panic!("unexpected {k:?}"),
        }),
    )
}

/// What ADD writes as the device-info file of the test attachment in `d`.
fn our_device_info(d: &Path) -> Value {
    json!({"type": "vhost-user", "version": "1.1.0", "vhost-user": {
        "mode": "server",
        "path": format!("{}/s/c0ffee000000/c0ffee000000-net1", d.display())}})
}

fn with_devinfo(d: &Path, info: &Path) -> String {
    conf(d, json!({"runtimeConfig": {"CNIDeviceInfoFile": info}}))
}

#[test]
fn add_writes_the_device_info_file_and_del_removes_it() {
    if !root_or_skip("add_writes_the_device_info_file_and_del_removes_it") {
        return;
    }
    let d = scratch("devinfo");
    let _fake = ovsdb_where_add_succeeds(&d);
    let tree = DevinfoDir::new("us-devinfo");
    let info = tree.file("net1.json");
    let (rc, out) = run(&d, "ADD", &with_devinfo(&d, &info));
    assert_eq!(rc, 0, "{out}");
    let text = std::fs::read_to_string(&info).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v, our_device_info(&d));
    assert!(
        text.ends_with("}\n"),
        "pretty-printed with a newline, as before"
    );
    // 0444, as nadutils writes device-info files (earlier releases wrote 0644).
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&info).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o444);
    let (rc, out) = run(&d, "DEL", &with_devinfo(&d, &info));
    assert_eq!(rc, 0, "{out}");
    assert!(!info.exists(), "recognisably ours: DEL removes it");
}

/// Hostile: CNIDeviceInfoFile outside the device-info tree (or not a clean absolute path) is
/// refused at ADD (code 7, naming the field and the tree) before OVSDB is asked anything.
#[test]
fn add_refuses_a_device_info_file_outside_the_tree_before_any_change() {
    let none = scratch("devinfo-bad");
    let outside = none.join("devinfo/net1.json");
    for bad in [
        json!("relative.json"),
        json!("/a/../b.json"),
        json!(7),
        json!(outside),
        json!("/run/k8s.cni.cncf.io/devinfo/../../../etc/x"),
    ] {
        let (rc, out) = run(
            &none,
            "ADD",
            &conf(&none, json!({"runtimeConfig": {"CNIDeviceInfoFile": bad}})),
        );
        assert_eq!((rc, out["code"].clone()), (1, json!(7)), "{out}");
        assert!(
            out["msg"]
                .as_str()
                .unwrap()
                .starts_with("runtimeConfig.CNIDeviceInfoFile:"),
            "{out}"
        );
    }
    assert!(!none.join("s").exists(), "nothing created");
    assert!(!outside.exists());
}

/// Hostile: DEL (no record in this plugin: OVSDB rows are its record) never removes a
/// device-info file outside the tree, nor one in the tree that is not exactly what ADD
/// writes for this attachment, even when OVSDB is unreachable and DEL fails with 11.
#[test]
fn del_removes_no_device_info_file_that_is_not_its_own() {
    let d = scratch("devinfo-del");
    let victim = d.join("victim.json");
    std::fs::write(&victim, our_device_info(&d).to_string()).unwrap();
    // No ovsdb-server: DEL fails with 11 and still must not touch the file.
    let (rc, out) = run(&d, "DEL", &with_devinfo(&d, &victim));
    assert_eq!((rc, out["code"].clone()), (1, json!(11)), "{out}");
    assert!(
        victim.exists(),
        "DEL removed a file outside the device-info tree"
    );
    let _fake = ovsdb_where_add_succeeds(&d);
    let (rc, out) = run(&d, "DEL", &with_devinfo(&d, &victim));
    assert_eq!(rc, 0, "{out}");
    assert!(
        victim.exists(),
        "DEL removed a file outside the device-info tree"
    );

    if !root_or_skip("del_removes_no_device_info_file_that_is_not_its_own (in the tree)") {
        return;
    }
    let tree = DevinfoDir::new("us-devinfo-del");
    tree.create();
    let info = tree.file("net1.json");
    std::fs::write(&info, b"ssh-ed25519 AAAA attacker\n").unwrap();
    let (rc, out) = run(&d, "DEL", &with_devinfo(&d, &info));
    assert_eq!(rc, 0, "{out}");
    assert_eq!(
        std::fs::read(&info).unwrap(),
        b"ssh-ed25519 AAAA attacker\n"
    );
}

/// device-info spec §5.1.2: a file already at the path at ADD is kept as it is; DEL does
/// not remove it (it is not what ADD writes for this attachment).
#[test]
fn a_device_info_file_already_there_is_kept_and_survives_del() {
    if !root_or_skip("a_device_info_file_already_there_is_kept_and_survives_del") {
        return;
    }
    let d = scratch("devinfo-kept");
    let _fake = ovsdb_where_add_succeeds(&d);
    let tree = DevinfoDir::new("us-devinfo-kept");
    tree.create();
    let info = tree.file("net1.json");
    let before = r#"{"type":"vhost-user","version":"1.1.0","vhost-user":{"mode":"client","path":"/var/lib/dp/sock"}}"#;
    std::fs::write(&info, before).unwrap();
    let (rc, out) = run(&d, "ADD", &with_devinfo(&d, &info));
    assert_eq!(rc, 0, "{out}");
    assert_eq!(
        std::fs::read_to_string(&info).unwrap(),
        before,
        "not written over"
    );
    let (rc, out) = run(&d, "DEL", &with_devinfo(&d, &info));
    assert_eq!(rc, 0, "{out}");
    assert_eq!(
        std::fs::read_to_string(&info).unwrap(),
        before,
        "DEL keeps it"
    );
}

/// Hostile: a directory of the device-info tree is a symlink to elsewhere: ADD refuses it
/// (code 7) before OVSDB is asked anything, and writes nothing through it.
#[test]
fn a_symlinked_directory_in_the_device_info_tree_is_refused() {
    if !root_or_skip("a_symlinked_directory_in_the_device_info_tree_is_refused") {
        return;
    }
    let d = scratch("devinfo-symlink");
    let tree = DevinfoDir::new("us-devinfo-symlink");
    tree.create();
    let target = d.join("target");
    std::fs::create_dir_all(&target).unwrap();
    std::os::unix::fs::symlink(&target, tree.file("link")).unwrap();
    let (rc, out) = run(&d, "ADD", &with_devinfo(&d, &tree.file("link/net1.json")));
    assert_eq!((rc, out["code"].clone()), (1, json!(7)), "{out}");
    assert!(
        out["msg"].as_str().unwrap().contains("symbolic link"),
        "{out}"
    );
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
    assert!(!d.join("s").exists(), "nothing created");
}

/// Runs `verb` with scratch places at `dir` and the IPAM plugins in `bin`.
fn run_ipam(dir: &Path, bin: &Path, verb: &str, stdin: &str) -> (i32, Value) {
    let plugin = userspace::UserspaceAt(Places::under(dir));
    common::run_with(&plugin, verb, common::CID, stdin, Some(bin))
}

#[test]
fn ipam_that_fails_or_prints_garbage_fails_add_before_any_ovs_change() {
    for (case, add, want_code, want_msg) in [
        (
            "fails",
            r#"echo '{"cniVersion":"1.0.0","code":11,"msg":"no addresses left"}'; exit 1"#,
            11,
            "no addresses left",
        ),
        ("garbage", "echo 'this is not json'", 6, "not JSON"),
        ("nothing", "true", 6, "printed no result"),
        (
            "wrong-shape",
            r#"echo '{"cniVersion":"1.0.0","ips":"10.0.0.1"}'"#,
            6,
            "IPAM",
        ),
    ] {
        let d = scratch(&format!("ipam-{case}"));
        let model = OvsModel::default();
        let fake = FakeOvsdb::start(&d, model.handler());
        let bin = common::install_ipam(&d, add);
        let c = conf(&d, json!({"ipam": {"type": "test-ipam"}}));
        let (rc, out) = run_ipam(&d, &bin, "ADD", &c);
        assert_eq!(rc, 1, "{case}: {out}");
        let msg = out["msg"].as_str().unwrap_or_default();
        assert!(msg.contains(want_msg), "{case}: a clear error: {out}");
        if case == "fails" {
            assert_eq!(
                out["code"],
                json!(want_code),
                "{case}: IPAM's own code: {out}"
            );
        } else {
            assert!(
                out["code"].as_u64().is_some_and(|c| c != 0),
                "{case}: {out}"
            );
        }
        assert!(fake.sent(Kind::Add).is_empty(), "{case}: OVS was changed");
        assert!(model.our_ports("n").is_empty(), "{case}");
        assert!(
            !d.join("s/c0ffee000000").exists(),
            "{case}: socket dir left"
        );
        let log = std::fs::read_to_string(d.join("ipam.log")).unwrap();
        if case != "fails" {
            // Addresses it may have taken are released again.
            assert_eq!(log, "ADD\nDEL\n", "{case}");
        }
        let (rc, out) = run_ipam(&d, &bin, "DEL", &c);
        assert_eq!(rc, 0, "{case}: DEL after a failed ADD: {out}");
        std::fs::remove_dir_all(&d).unwrap();
    }
}

#[test]
fn a_failure_after_ipam_rolls_back_ovs_and_releases_the_addresses() {
    let d = scratch("ipam-then-ovs-fails");
    let dd = d.clone();
    let fake = FakeOvsdb::start(
        &d,
        Box::new(move |k, ops, n| match (k, n) {
            (Kind::Read, 1) => json!([{"rows": [bridge_row(&[LOCAL], false)]}, {"rows": []}]),
            (Kind::Read, _) => json!([{"rows": [bridge_row(&[LOCAL, PORT], false)]},
                                      {"rows": [our_port_row(&dd)]}]),
            (Kind::Add, _) => ok_results(ops, 5),
            (Kind::Remove, _) => ok_results(ops, 6),
            (Kind::CurCfg, _) => json!([{"rows": [{"cur_cfg": 6}]}]),
            (Kind::State, _) => state(Some("could not open network device")),
            (Kind::Foreign, _) => unreachable!("the fake answers it"),
        }),
    );
    let bin = common::install_ipam(
        &d,
        r#"echo '{"cniVersion":"1.0.0","ips":[{"address":"10.7.0.9/24"}]}'"#,
    );
    let c = conf(&d, json!({"ipam": {"type": "test-ipam"}}));
    let (rc, out) = run_ipam(&d, &bin, "ADD", &c);
    assert_eq!((rc, out["code"].clone()), (1, json!(111)), "{out}");
    assert_eq!(fake.sent(Kind::Remove).len(), 1, "the port is rolled back");
    assert!(!d.join("s/c0ffee000000").exists());
    assert_eq!(
        std::fs::read_to_string(d.join("ipam.log")).unwrap(),
        "ADD\nDEL\n",
        "the lease is released"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_del_that_kept_losing_races_still_removes_the_bridge_it_left_empty() {
    let d = scratch("del-last-attempt");
    let dd = d.clone();
    let removes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = removes.clone();
    let fake = FakeOvsdb::start(
        &d,
        Box::new(move |k, ops, n| match k {
            // Our port on our bridge until the removal went through, then only LOCAL is left.
            Kind::Read if seen.load(std::sync::atomic::Ordering::SeqCst) < 10 => {
                json!([{"rows": [bridge_row(&[LOCAL, PORT], true)]}, {"rows": [our_port_row(&dd)]}])
            }
            Kind::Read => json!([{"rows": [bridge_row(&[LOCAL], true)]}, {"rows": []}]),
            Kind::Remove => {
                seen.store(n, std::sync::atomic::Ordering::SeqCst);
                if n < 10 {
                    // Another DEL changed the bridge's port set first.
                    let mut r: Vec<Value> = ops.iter().map(|_| json!({})).collect();
                    r[1] = json!({"error": "timed out", "details": "wait"});
                    Value::Array(r[..2].to_vec())
                } else {
                    ok_results(ops, 6)
                }
            }
            Kind::CurCfg => json!([{"rows": [{"cur_cfg": 6}]}]),
            k => panic!("unexpected {k:?}"),
        }),
    );
    let (rc, out) = run(&d, "DEL", &conf(&d, json!({})));
    assert_eq!(rc, 0, "{out}");
    let sent = fake.sent(Kind::Remove);
    assert_eq!(
        sent.len(),
        11,
        "nine lost races, the unguarded removal, the bridge"
    );
    let deletes_bridge = |ops: &Vec<Value>| {
        ops.iter()
            .any(|o| o["table"] == "Open_vSwitch" && o["mutations"][0][0] == "bridges")
    };
    assert!(
        !sent[9].iter().any(|o| o["op"] == "wait"),
        "the last attempt cannot race"
    );
    assert!(!deletes_bridge(&sent[9]));
    assert!(
        deletes_bridge(&sent[10]),
        "then the bridge left empty goes: {:?}",
        sent[10]
    );
    assert!(sent[10]
        .iter()
        .any(|o| o["op"] == "wait" && o["table"] == "Bridge"));
    std::fs::remove_dir_all(&d).unwrap();
}
