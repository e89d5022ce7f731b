//! Hostile configs and hostile OVSDB rows against the plugin as the node runs it (its real
//! places: /run/openvswitch for the fake ovsdb-server, /run/vhostuser for sharedDir), each
//! checked for what it must not do to files outside its place. Needs root (it writes under
//! /run); every directory is `nfv-test-<pid>-<test>` and removed at the end.
//!
//! Each case is a row in testdata/hostile/userspace.tsv.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::Path;

use common::{run_with, scratch, FakeOvsdb, Kind, NodeDir, OvsModel, CID, CID12, PORT};
use serde_json::{json, Value};

fn root_or_skip(test: &str) -> bool {
    let root = nfv_testkit::is_root();
    if !root {
        eprintln!("SKIPPED {test}: writes under /run as the node's plugin does (needs root)");
    }
    root
}

fn run(verb: &str, stdin: &Value) -> (i32, Value) {
    run_with(&userspace::Userspace, verb, CID, &stdin.to_string(), None)
}

/// A config on the given ovsdb socket and sharedDir; `vhost` is `host.vhost`, `extra` more
/// top-level keys.
fn conf(db: &Path, shared: &Path, vhost: Value, extra: Value) -> Value {
    let mut c = json!({"cniVersion": "1.1.0", "name": "n", "type": "userspace",
        "ovsdbSocket": db, "sharedDir": shared, "ovsTimeout": 0.5,
        "host": {"engine": "ovs-dpdk", "iftype": "vhostuser", "bridge": {"bridgeName": "br-t"},
                 "vhost": vhost}});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

/// A regular file with known content, mode 0600, in a directory of its own.
fn victim(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let d = scratch("victim", name);
    let f = d.join("victim");
    fs::write(&f, "secret\n").unwrap();
    fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).unwrap();
    (d, f)
}

fn assert_untouched(f: &Path) {
    let m = fs::symlink_metadata(f).unwrap_or_else(|e| panic!("{} is gone: {e}", f.display()));
    assert!(m.is_file(), "{} is no longer a regular file", f.display());
    assert_eq!(
        fs::read_to_string(f).unwrap(),
        "secret\n",
        "{} was rewritten",
        f.display()
    );
    assert_eq!(m.mode() & 0o7777, 0o600, "{} was chmodded", f.display());
    assert_eq!(m.gid(), 0, "{} was given another group", f.display());
}

fn msg(out: &Value) -> String {
    out["msg"].as_str().unwrap_or_default().to_string()
}

#[test]
fn server_mode_moves_nothing_from_outside_the_ovs_run_dirs() {
    if !root_or_skip("server_mode_moves_nothing_from_outside_the_ovs_run_dirs") {
        return;
    }
    let ovs = NodeDir::new("/run/openvswitch", "srv-out");
    let shared = NodeDir::new("/run/vhostuser", "srv-out");
    let model = OvsModel::default();
    let fake = FakeOvsdb::start(ovs.path(), model.handler());
    let (vd, vf) = victim("srv-out");
    let c = conf(
        &ovs.join("db.sock"),
        shared.path(),
        json!({"mode": "server", "group": "4242", "socketfile": "victim"}),
        json!({"ovsSocketDir": vd}),
    );
    let (rc, out) = run("ADD", &c);
    assert_untouched(&vf);
    assert_eq!((rc, out["code"].clone()), (1, json!(7)), "{out}");
    assert!(msg(&out).contains("ovsSocketDir"), "{out}");
    assert!(
        msg(&out).contains("/run/openvswitch"),
        "names the allowed places: {out}"
    );
    assert!(fake.sent(Kind::Add).is_empty(), "refused before any change");
    assert!(model.our_ports("n").is_empty());
    fs::remove_dir_all(vd).unwrap();
}

#[test]
fn server_mode_moves_only_a_socket_and_never_through_a_symlink() {
    if !root_or_skip("server_mode_moves_only_a_socket_and_never_through_a_symlink") {
        return;
    }
    let ovs = NodeDir::new("/run/openvswitch", "srv-kind");
    let shared = NodeDir::new("/run/vhostuser", "srv-kind");
    let model = OvsModel::default();
    let _fake = FakeOvsdb::start(ovs.path(), model.handler());
    let (vd, vf) = victim("srv-kind");
    let c = conf(
        &ovs.join("db.sock"),
        shared.path(),
        json!({"mode": "server", "group": "4242"}),
        json!({}),
    );
    // Where ovs-vswitchd would create its socket: a regular file, then a symlink to one.
    let at = ovs.join(PORT);
    for plant in ["file", "symlink"] {
        let _ = fs::remove_file(&at);
        if plant == "file" {
            fs::write(&at, "secret\n").unwrap();
            fs::set_permissions(&at, fs::Permissions::from_mode(0o600)).unwrap();
        } else {
            symlink(&vf, &at).unwrap();
        }
        let (rc, out) = run("ADD", &c);
        assert_eq!(rc, 1, "{plant}: {out}");
        assert!(
            msg(&out).contains("not a unix socket") || msg(&out).contains("symbolic link"),
            "{plant}: {out}"
        );
        assert!(fs::symlink_metadata(&at).is_ok(), "{plant}: moved away");
        if plant == "file" {
            assert_untouched(&at);
        } else {
            assert!(fs::symlink_metadata(&at).unwrap().file_type().is_symlink());
        }
        assert_untouched(&vf);
        assert!(model.our_ports("n").is_empty(), "{plant}: rolled back");
        assert!(
            !shared.join(CID12).exists(),
            "{plant}: socket dir rolled back"
        );
    }
    fs::remove_dir_all(vd).unwrap();
}

#[test]
fn ovsdb_socket_outside_the_ovs_run_dirs_is_refused_at_add_and_ignored_by_del_check_gc() {
    if !root_or_skip(
        "ovsdb_socket_outside_the_ovs_run_dirs_is_refused_at_add_and_ignored_by_del_check_gc",
    ) {
        return;
    }
    let d = scratch("hostile", "ovsdb-out");
    let shared = NodeDir::new("/run/vhostuser", "ovsdb-out");
    let model = OvsModel::default();
    let fake = FakeOvsdb::start(&d, model.handler());
    let c = conf(&d.join("db.sock"), shared.path(), json!({}), json!({}));
    let (rc, out) = run("ADD", &c);
    assert_eq!((rc, out["code"].clone()), (1, json!(7)), "{out}");
    assert!(msg(&out).contains("ovsdbSocket"), "{out}");
    assert!(!shared.join(CID12).exists(), "nothing created");
    for verb in ["DEL", "CHECK", "GC"] {
        let (rc, out) = run(verb, &c);
        assert_eq!(rc, 0, "{verb} must not fail on a value ADD refuses: {out}");
    }
    assert!(
        fake.sent(Kind::Read).is_empty() && fake.sent(Kind::Add).is_empty(),
        "a config-chosen server outside OVS's run directory is never talked to"
    );
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn del_and_gc_never_delete_the_socket_path_an_ovsdb_row_names() {
    if !root_or_skip("del_and_gc_never_delete_the_socket_path_an_ovsdb_row_names") {
        return;
    }
    let ovs = NodeDir::new("/run/openvswitch", "row-path");
    let shared = NodeDir::new("/run/vhostuser", "row-path");
    let model = OvsModel::default();
    let _fake = FakeOvsdb::start(ovs.path(), model.handler());
    let (vd, vf) = victim("row-path");
    let sock = vd.join("victim.sock");
    let _l = UnixListener::bind(&sock).unwrap();
    let vf_s = vf.display().to_string();
    let sock_s = sock.display().to_string();
    // This attachment's port, and one of a gone pod, each naming a victim as its socket.
    model.plant_port(
        "br-t",
        "p1",
        &[
            ("nfv-cni/network", "n"),
            ("nfv-cni/container-id", CID),
            ("nfv-cni/ifname", "net1"),
            ("nfv-cni/socket-path", &vf_s),
        ],
    );
    model.plant_port(
        "br-u",
        "p2",
        &[
            ("nfv-cni/network", "n"),
            ("nfv-cni/container-id", "deadbeef0000aaaa"),
            ("nfv-cni/ifname", "net1"),
            ("nfv-cni/socket-path", &sock_s),
        ],
    );
    let c = conf(&ovs.join("db.sock"), shared.path(), json!({}), json!({}));
    let (rc, out) = run("DEL", &c);
    assert_eq!(rc, 0, "{out}");
    assert_eq!(
        model.our_ports("n"),
        vec!["p2".to_string()],
        "DEL removed its port"
    );
    assert_untouched(&vf);
    let mut gc = c.clone();
    gc["cni.dev/valid-attachments"] = json!([]);
    let (rc, out) = run("GC", &gc);
    assert_eq!(rc, 0, "{out}");
    assert!(model.our_ports("n").is_empty(), "GC removed the stale port");
    assert!(
        fs::symlink_metadata(&sock).is_ok(),
        "GC removed the socket the row named"
    );
    assert_untouched(&vf);
    fs::remove_dir_all(vd).unwrap();
}

#[test]
fn del_removes_only_a_socket_where_the_socket_should_be() {
    if !root_or_skip("del_removes_only_a_socket_where_the_socket_should_be") {
        return;
    }
    let ovs = NodeDir::new("/run/openvswitch", "del-kind");
    let shared = NodeDir::new("/run/vhostuser", "del-kind");
    let model = OvsModel::default();
    let _fake = FakeOvsdb::start(ovs.path(), model.handler());
    let c = conf(&ovs.join("db.sock"), shared.path(), json!({}), json!({}));
    let dir = shared.join(CID12);
    // A regular file where the socket should be (the config alone names it).
    fs::create_dir_all(&dir).unwrap();
    let at = dir.join(PORT);
    fs::write(&at, "secret\n").unwrap();
    fs::set_permissions(&at, fs::Permissions::from_mode(0o600)).unwrap();
    fs::write(dir.join(format!("{PORT}.json")), "{}").unwrap();
    let (rc, out) = run("DEL", &c);
    assert_eq!(rc, 0, "a foreign file is left, not an error: {out}");
    assert_untouched(&at);
    assert!(
        !dir.join(format!("{PORT}.json")).exists(),
        "our pod JSON is removed"
    );
    // A socket there is ours to remove, and then the empty directory.
    fs::remove_file(&at).unwrap();
    let _l = UnixListener::bind(&at).unwrap();
    let (rc, out) = run("DEL", &c);
    assert_eq!(rc, 0, "{out}");
    assert!(!dir.exists(), "socket and empty directory removed");
}

#[test]
fn add_writes_the_pod_json_without_following_a_planted_temp_symlink() {
    if !root_or_skip("add_writes_the_pod_json_without_following_a_planted_temp_symlink") {
        return;
    }
    let ovs = NodeDir::new("/run/openvswitch", "json-tmp");
    let shared = NodeDir::new("/run/vhostuser", "json-tmp");
    let model = OvsModel::default();
    let _fake = FakeOvsdb::start(ovs.path(), model.handler());
    let (vd, vf) = victim("json-tmp");
    // The pod's group may write in its socket directory (another interface of the same pod
    // already made it 0770): it plants the temp file name the plugin used to write through.
    let dir = shared.join(CID12);
    fs::create_dir_all(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o770)).unwrap();
    symlink(&vf, dir.join(format!("{PORT}.json.tmp"))).unwrap();
    let c = conf(
        &ovs.join("db.sock"),
        shared.path(),
        json!({"group": "4242"}),
        json!({}),
    );
    let (rc, out) = run("ADD", &c);
    assert_eq!(rc, 0, "{out}");
    assert_untouched(&vf);
    let json_file = dir.join(format!("{PORT}.json"));
    assert!(fs::symlink_metadata(&json_file).unwrap().is_file());
    let v: Value = serde_json::from_slice(&fs::read(&json_file).unwrap()).unwrap();
    assert_eq!(v["socketFile"], json!(PORT));
    let (rc, out) = run("DEL", &c);
    assert_eq!(rc, 0, "{out}");
    fs::remove_dir_all(vd).unwrap();
}

#[test]
fn shared_dir_outside_its_place_is_refused_at_add_and_ignored_by_del_check_gc() {
    if !root_or_skip("shared_dir_outside_its_place_is_refused_at_add_and_ignored_by_del_check_gc") {
        return;
    }
    let ovs = NodeDir::new("/run/openvswitch", "shared-out");
    let model = OvsModel::default();
    let fake = FakeOvsdb::start(ovs.path(), model.handler());
    let d = scratch("hostile", "shared-out");
    let shared = d.join("s");
    let c = conf(&ovs.join("db.sock"), &shared, json!({}), json!({}));
    let (rc, out) = run("ADD", &c);
    assert_eq!((rc, out["code"].clone()), (1, json!(7)), "{out}");
    assert!(msg(&out).contains("sharedDir"), "{out}");
    assert!(
        msg(&out).contains("/var/lib/cni/usrspcni"),
        "names the allowed places: {out}"
    );
    assert!(!shared.exists(), "nothing created");
    assert!(fake.sent(Kind::Add).is_empty());
    // A socket there, as if an older version had attached: DEL, CHECK and GC leave it.
    fs::create_dir_all(shared.join(CID12)).unwrap();
    let _l = UnixListener::bind(shared.join(CID12).join(PORT)).unwrap();
    for verb in ["DEL", "GC"] {
        let (rc, out) = run(verb, &c);
        assert_eq!(rc, 0, "{verb}: {out}");
    }
    assert!(
        shared.join(CID12).join(PORT).exists(),
        "DEL or GC removed a file outside the place"
    );
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn socket_dir_reached_through_a_symlink_or_owned_by_another_user_is_refused() {
    if !root_or_skip("socket_dir_reached_through_a_symlink_or_owned_by_another_user_is_refused") {
        return;
    }
    let ovs = NodeDir::new("/run/openvswitch", "dir-link");
    let shared = NodeDir::new("/run/vhostuser", "dir-link");
    let model = OvsModel::default();
    let _fake = FakeOvsdb::start(ovs.path(), model.handler());
    // sharedDir below a symlink to a directory elsewhere.
    let elsewhere = scratch("hostile", "elsewhere");
    symlink(&elsewhere, shared.join("link")).unwrap();
    let c = conf(
        &ovs.join("db.sock"),
        &shared.join("link"),
        json!({}),
        json!({}),
    );
    let (rc, out) = run("ADD", &c);
    assert_eq!(rc, 1, "{out}");
    assert!(msg(&out).contains("symbolic link"), "{out}");
    assert!(
        !elsewhere.join(CID12).exists(),
        "created through the symlink"
    );
    assert!(model.our_ports("n").is_empty());
    // The pod's directory already there, owned by someone else.
    let c = conf(
        &ovs.join("db.sock"),
        shared.path(),
        json!({"group": "4242"}),
        json!({}),
    );
    let dir = shared.join(CID12);
    fs::create_dir(&dir).unwrap();
    std::os::unix::fs::chown(&dir, Some(4242), Some(4242)).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    let (rc, out) = run("ADD", &c);
    assert_eq!(rc, 1, "{out}");
    assert!(msg(&out).contains("owned by"), "{out}");
    let m = fs::metadata(&dir).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o7777), (4242, 0o755), "changed");
    assert!(model.our_ports("n").is_empty());
    fs::remove_dir_all(elsewhere).unwrap();
}
