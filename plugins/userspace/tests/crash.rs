//! Crash tests: the binary is killed with SIGKILL at each step of ADD (test-only crash points,
//! compiled in with the `test-hooks` feature only), then DEL runs; the node must be exactly as
//! before: OVS rows (a stateful fake ovsdb-server that also plays ovs-vswitchd's server-mode
//! sockets), socket directories, pod JSON, the device-info file, the IPAM lease.
//!
//!     cargo test -p userspace --features test-hooks --test crash
//!
//! Needs root and util-linux (the binary runs in its own mount namespace with a scratch
//! /var/lib, so sharedDir is /var/lib/cni/usrspcni there). The fake ovsdb-server listens
//! in /run/openvswitch/nfv-test-<pid>-*, the device-info file is in Multus's tree; both go at
//! the end.

#![cfg(feature = "test-hooks")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{FakeOvsdb, NodeDir, OvsModel};
use nfv_testkit::crash::{add_killed_at_then_del, cni_path, install_lease_ipam};
use nfv_testkit::{is_root, Node};
use serde_json::{json, Value};
use userspace::crash::{CLIENT_ADD_POINTS, MEMIF_ADD_POINTS, SERVER_ADD_POINTS, VAR};

const NET: &str = "crash-net";
const DEVINFO_DIR: &str = "/run/k8s.cni.cncf.io/devinfo/cni";

/// `dir`'s entries, recursively, with their kinds ("d", "s" socket, "f", "l" link, "?").
fn tree(dir: &Path, skip: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if skip.contains(&name.as_str()) {
            continue;
        }
        let t = e.file_type().unwrap();
        use std::os::unix::fs::FileTypeExt;
        let k = if t.is_dir() {
            "d"
        } else if t.is_socket() {
            "s"
        } else if t.is_file() {
            "f"
        } else if t.is_symlink() {
            "l"
        } else {
            "?"
        };
        out.push(format!("{k} {name}"));
        if t.is_dir() {
            out.extend(
                tree(&e.path(), skip)
                    .into_iter()
                    .map(|s| format!("{name}/{s}")),
            );
        }
    }
    out.sort();
    out
}

struct Setup {
    node: Node,
    ovs: NodeDir,
    /// Where the socket directories are, as the test sees it.
    shared: PathBuf,
    /// Server mode: sharedDir on /run, the file system of OVS's run dir (the socket is moved).
    _shared_dir: Option<NodeDir>,
    model: OvsModel,
    _fake: FakeOvsdb,
    devinfo: PathBuf,
    conf: Value,
}

fn setup(mode: &str, tag: &str) -> Setup {
    let node = Node::new("us", env!("CARGO_BIN_EXE_userspace"));
    install_lease_ipam(&node.dir);
    let ovs = NodeDir::new("/run/openvswitch", &format!("crash-{tag}"));
    let model = OvsModel::new(Some(ovs.path().to_path_buf()));
    let fake = FakeOvsdb::start(ovs.path(), model.handler());
    fs::create_dir_all(DEVINFO_DIR).unwrap();
    let devinfo =
        Path::new(DEVINFO_DIR).join(format!("nfv-test-{}-crash-{tag}.json", std::process::id()));
    // Server mode and memif: sharedDir on /run, seen alike by the test (whose fake OVS makes the
    // sockets) and by the binary in its own mount namespace.
    let (shared, shared_dir) = if mode == "server" || mode == "memif" {
        let d = NodeDir::new("/run/vhostuser", &format!("crash-{tag}"));
        (d.path().to_path_buf(), Some(d))
    } else {
        // /var/lib/cni/usrspcni, in the node's scratch /var/lib.
        (node.dir.join("varlib/cni/usrspcni"), None)
    };
    let mut conf = json!({"cniVersion": "1.0.0", "name": NET, "type": "userspace",
        "ovsdbSocket": ovs.join("db.sock"), "ovsTimeout": 2,
        "host": {"engine": "ovs-dpdk", "iftype": "vhostuser",
                 "vhost": {"mode": mode, "group": "4242"}, "bridge": {"bridgeName": "br-crash"}},
        "ipam": {"type": "lease-ipam"},
        "runtimeConfig": {"CNIDeviceInfoFile": devinfo}});
    if mode == "memif" {
        conf["host"] = json!({"engine": "ovs-dpdk", "iftype": "memif",
            "memif": {"group": "4242"}, "bridge": {"bridgeName": "br-crash"}});
    }
    conf["sharedDir"] = if shared_dir.is_some() {
        json!(shared)
    } else {
        json!("/var/lib/cni/usrspcni")
    };
    Setup {
        node,
        ovs,
        shared,
        _shared_dir: shared_dir,
        model,
        _fake: fake,
        devinfo,
        conf,
    }
}

/// Everything DEL must put back, as one comparable value.
fn host_state(s: &Setup) -> String {
    format!(
        "ovs:\n{}\nsocket dirs: {:?}\novs run dir: {:?}\ndevice-info: {}\nlease: {}",
        s.model.render(),
        tree(&s.shared, &[]),
        tree(s.ovs.path(), &["db.sock"]),
        s.devinfo.exists(),
        s.node.dir.join("lease").exists()
    )
}

fn crash_every_point(mode: &str, points: &[&str]) {
    for (i, point) in points.iter().enumerate() {
        let s = setup(mode, &format!("{mode}-{i}"));
        let crashed = add_killed_at_then_del(&s.node, &s.conf, VAR, point, |_| host_state(&s));
        // Each point is reached: what ADD had done by then is there after the kill.
        let at = |p: &str| i >= points.iter().position(|x| *x == p).unwrap();
        let after = &crashed.after_crash;
        let port = if mode == "memif" {
            "memif-ctr1-net1.sock"
        } else {
            "ctr1-net1"
        };
        assert!(after.contains("lease: true"), "{point}: {after}");
        assert_eq!(
            after.contains("d ctr1\""),
            at("after-socket-dir"),
            "{point}: {after}"
        );
        assert_eq!(
            after.contains(&format!("port {port}")),
            at("after-ovsdb"),
            "{point}: {after}"
        );
        if mode == "server" {
            assert_eq!(
                after.contains("ctr1/s ctr1-net1"),
                at("after-socket-move"),
                "{point}: {after}"
            );
        }
        if mode == "memif" {
            assert_eq!(
                after.contains(&format!("ctr1/s {port}")),
                at("after-ovsdb"),
                "{point}: the socket OVS's memif driver makes: {after}"
            );
        }
        assert_eq!(
            after.contains(&format!("{port}.json")),
            at("after-pod-json"),
            "{point}: {after}"
        );
        assert_eq!(
            after.contains("device-info: true"),
            at("after-device-info"),
            "{point}: {after}"
        );
        assert!(crashed.before.contains("device-info: false"));
        let _ = fs::remove_file(&s.devinfo);
    }
}

#[test]
fn client_mode_sigkill_at_every_add_step_then_del_leaves_the_node_as_before() {
    if !is_root() {
        eprintln!("SKIPPED client_mode_sigkill_at_every_add_step_then_del_leaves_the_node_as_before: needs root");
        return;
    }
    crash_every_point("client", CLIENT_ADD_POINTS);
    eprintln!(
        "reliability: {}",
        json!({"kind": "crash", "plugin": "userspace", "mode": "client",
               "points": CLIENT_ADD_POINTS,
               "outcome": "DEL after SIGKILL at every ADD step leaves OVS rows, socket dirs, pod JSON, device-info and lease as before"})
    );
}

#[test]
fn server_mode_sigkill_at_every_add_step_then_del_leaves_the_node_as_before() {
    if !is_root() {
        eprintln!("SKIPPED server_mode_sigkill_at_every_add_step_then_del_leaves_the_node_as_before: needs root");
        return;
    }
    crash_every_point("server", SERVER_ADD_POINTS);
    eprintln!(
        "reliability: {}",
        json!({"kind": "crash", "plugin": "userspace", "mode": "server",
               "points": SERVER_ADD_POINTS,
               "outcome": "DEL after SIGKILL at every ADD step leaves OVS rows, OVS's and the pod's sockets, socket dirs, pod JSON, device-info and lease as before"})
    );
}

#[test]
fn without_a_crash_point_add_completes_in_both_modes() {
    if !is_root() {
        eprintln!("SKIPPED without_a_crash_point_add_completes_in_both_modes: needs root");
        return;
    }
    // The hooks are inert unless named: the same build attaches normally.
    for mode in ["client", "server"] {
        let s = setup(mode, &format!("{mode}-ok"));
        let env = cni_path(&s.node);
        let before = host_state(&s);
        let (code, out) = s.node.cni_with("ADD", "ctr1", &s.conf, &env);
        assert_eq!(code, 0, "{mode}: {out}");
        let after = host_state(&s);
        assert!(
            after.contains("port ctr1-net1") && after.contains("ctr1-net1.json"),
            "{after}"
        );
        assert!(
            after.contains("device-info: true") && after.contains("lease: true"),
            "{after}"
        );
        if mode == "server" {
            assert!(
                after.contains("ctr1/s ctr1-net1"),
                "socket moved in: {after}"
            );
        }
        let (code, out) = s.node.cni_with("DEL", "ctr1", &s.conf, &env);
        assert_eq!(code, 0, "{mode}: {out}");
        assert_eq!(host_state(&s), before, "{mode}");
        let _ = fs::remove_file(&s.devinfo);
    }
}

/// A pod with a `shared-dir` emptyDir (in the node's scratch /var/lib/kubelet/pods) and
/// `K8S_POD_UID` in CNI_ARGS: ADD killed at every step, then DEL removes the port, the files
/// ADD put in the volume and the link in /run/nfv-cni/vhost-user, and leaves the volume.
#[test]
fn pod_volume_sigkill_at_every_add_step_then_del_leaves_the_node_as_before() {
    if !is_root() {
        eprintln!("SKIPPED pod_volume_sigkill_at_every_add_step_then_del_leaves_the_node_as_before: needs root");
        return;
    }
    const UID: &str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
    let link = Path::new("/run/nfv-cni/vhost-user/ctr1-net1");
    for (i, point) in CLIENT_ADD_POINTS.iter().enumerate() {
        let s = setup("client", &format!("vol-{i}"));
        let mut conf = s.conf.clone();
        conf.as_object_mut().unwrap().remove("sharedDir");
        let volume = s
            .node
            .dir
            .join("varlib/kubelet/pods")
            .join(UID)
            .join("volumes/kubernetes.io~empty-dir/shared-dir");
        fs::create_dir_all(&volume).unwrap();
        let state = || {
            format!(
                "{}\nvolume: {:?}\nlink: {}",
                host_state(&s),
                tree(&volume, &[]),
                fs::symlink_metadata(link).is_ok()
            )
        };
        let mut env = cni_path(&s.node).to_vec();
        env.push((
            "CNI_ARGS",
            format!("IgnoreUnknown=1;K8S_POD_NAME=p;K8S_POD_UID={UID}"),
        ));
        let before = state();
        let mut crash_env = env.clone();
        crash_env.push((VAR, point.to_string()));
        let (code, out) = s.node.cni_with("ADD", "ctr1", &conf, &crash_env);
        assert!(
            code != 0 && out == Value::Null,
            "{point}: not killed: {out}"
        );
        let after = state();
        let at = |p: &str| i >= CLIENT_ADD_POINTS.iter().position(|x| *x == p).unwrap();
        assert_eq!(
            after.contains("link: true"),
            at("after-socket-dir"),
            "{point}: {after}"
        );
        assert_eq!(
            after.contains("port ctr1-net1"),
            at("after-ovsdb"),
            "{point}: {after}"
        );
        assert_eq!(
            after.contains("f configData-ctr1-net1.json"),
            at("after-pod-json"),
            "{point}: {after}"
        );
        let (code, out) = s.node.cni_with("DEL", "ctr1", &conf, &env);
        assert_eq!(code, 0, "{point}: DEL after the crash failed: {out}");
        assert_eq!(state(), before, "{point}: DEL did not restore the node");
        assert!(volume.is_dir(), "{point}: the volume is kubelet's");
        let _ = fs::remove_file(&s.devinfo);
    }
    // The plugin's link directory, when nothing else uses it.
    let _ = fs::remove_dir("/run/nfv-cni/vhost-user");
    let _ = fs::remove_dir("/run/nfv-cni");
    eprintln!(
        "reliability: {}",
        json!({"kind": "crash", "plugin": "userspace", "mode": "client, pod volume",
               "points": CLIENT_ADD_POINTS,
               "outcome": "DEL after SIGKILL at every ADD step removes the port, the files in the pod's shared-dir volume and the link, keeps the volume, restores device-info and lease"})
    );
}

#[test]
fn memif_sigkill_at_every_add_step_then_del_leaves_the_node_as_before() {
    if !is_root() {
        eprintln!("SKIPPED memif_sigkill_at_every_add_step_then_del_leaves_the_node_as_before: needs root");
        return;
    }
    crash_every_point("memif", MEMIF_ADD_POINTS);
    eprintln!(
        "reliability: {}",
        json!({"kind": "crash", "plugin": "userspace", "mode": "memif",
               "points": MEMIF_ADD_POINTS,
               "outcome": "DEL after SIGKILL at every ADD step leaves OVS rows, the memif socket OVS made, socket dirs, pod JSON, device-info and lease as before"})
    );
}
