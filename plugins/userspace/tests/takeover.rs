//! DEL of pods the Intel userspace-cni plugin attached: its ports (no external_ids) and files
//! planted as it leaves them, against a stateful fake of OVS; every place rooted in a scratch
//! directory (the default sharedDir is `<scratch>/default`, that plugin's data directory
//! `<scratch>/usrspcni/data`, its mounts of pod volumes `<scratch>/vhost_sockets`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;

use common::{run_with_args, scratch, FakeOvsdb, OvsModel, CID, CID12, PORT};
use serde_json::{json, Value};
use userspace::places::Places;

const UID: &str = "5f3c8a51-2b7e-4d0c-9a6e-0c1d2e3f4a5b";

struct Setup {
    d: PathBuf,
    model: OvsModel,
    fake: FakeOvsdb,
}

impl Setup {
    fn new(name: &str) -> Setup {
        let d = scratch("takeover", name);
        let model = OvsModel::default();
        let fake = FakeOvsdb::start_answering_all(&d, model.handler());
        Setup { d, model, fake }
    }

    /// The Intel plugin's socket directory for this pod with no sharedDir configured.
    fn pod_dir(&self) -> PathBuf {
        self.d.join("default").join(CID12)
    }

    /// What the Intel plugin leaves: `<dir>/<port>` (the pod app's socket, or OVS's moved
    /// there), `<dir>/configData-*.json`, and `data/local-<cid12>-net1.json`.
    fn plant_files(&self, dir: &std::path::Path) -> UnixListener {
        fs::create_dir_all(dir).unwrap();
        let l = UnixListener::bind(dir.join(PORT)).unwrap();
        fs::write(
            dir.join(format!("configData-{CID12}-net1.json")),
            br#"{"containerId":"c0ffee0000000000","ifName":"net1","name":"n","config":{},"ipResult":{}}"#,
        )
        .unwrap();
        fs::create_dir_all(self.d.join("usrspcni/data")).unwrap();
        fs::write(
            self.data_file(),
            br#"{"vhostname":"c0ffee000000-net1","vhostmac":"","ifmac":"02:11:22:33:44:55"}"#,
        )
        .unwrap();
        l
    }

    fn data_file(&self) -> PathBuf {
        self.d
            .join("usrspcni/data")
            .join(format!("local-{CID12}-net1.json"))
    }

    fn conf(&self, extra: Value) -> String {
        let mut c = json!({"cniVersion": "0.3.1", "name": "n", "type": "userspace",
            "ovsdbSocket": self.d.join("db.sock"), "ovsTimeout": 0.5,
            "kubeconfig": "/etc/cni/net.d/multus.d/multus.kubeconfig",
            "host": {"engine": "ovs-dpdk", "iftype": "vhostuser", "netType": "bridge",
                     "vhost": {"mode": "client"}, "bridge": {"bridgeName": "br0"}},
            "container": {"engine": "ovs-dpdk", "iftype": "vhostuser", "netType": "interface",
                          "vhost": {"mode": "server"}}});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c.to_string()
    }

    fn del(&self, conf: &str, cni_args: &str) -> (i32, Value) {
        let plugin = userspace::UserspaceAt(Places::under(&self.d));
        run_with_args(&plugin, "DEL", CID, conf, None, cni_args)
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.d);
    }
}

#[test]
fn del_removes_the_intel_plugins_client_port_and_files_and_keeps_its_bridge() {
    let s = Setup::new("client");
    let _pod = s.plant_files(&s.pod_dir());
    // The path as the Intel plugin joins it, "<sharedDir>/" + "<cid12>/" + port: a doubled
    // slash when sharedDir ends in one.
    let path = format!("{}//{CID12}/{PORT}", s.d.join("default").display());
    s.model.plant_userspace_cni_port(
        "br0",
        PORT,
        "dpdkvhostuserclient",
        &[("vhost-server-path", &path)],
    );
    let (rc, out) = s.del(&s.conf(json!({})), "");
    assert_eq!(rc, 0, "{out}");
    assert_eq!(
        s.model.port_names(),
        ["br0"],
        "the port went, the LOCAL port stays"
    );
    assert_eq!(
        s.model.bridge_names(),
        ["br0"],
        "its bridge stays (nothing says the Intel plugin created it)"
    );
    assert!(
        !s.pod_dir().exists(),
        "socket, configData file and directory gone"
    );
    assert!(!s.data_file().exists());
    assert!(
        !s.d.join("usrspcni/data").exists(),
        "its data directory once empty"
    );
    assert_eq!(s.fake.sent(common::Kind::Remove).len(), 1);
    let (rc, out) = s.del(&s.conf(json!({})), "");
    assert_eq!(rc, 0, "DEL again: {out}");
}

#[test]
fn del_removes_the_intel_plugins_server_port_when_its_socket_is_in_the_pods_directory() {
    let s = Setup::new("server");
    let conf = s.conf(json!({"sharedDir": s.d.join("shared"),
        "host": {"engine": "ovs-dpdk", "iftype": "vhostuser", "vhost": {"mode": "server"},
                 "bridge": {"bridgeName": "br0"}}}));
    s.model
        .plant_userspace_cni_port("br0", PORT, "dpdkvhostuser", &[]);
    // No socket in the pod's directory: not provably this pod's port.
    let (rc, out) = s.del(&conf, "");
    assert_eq!(rc, 0, "{out}");
    assert!(s.model.port_names().contains(&PORT.to_string()));
    // OVS's socket, moved into <sharedDir>/<cid12>/ as the Intel plugin moves it.
    let _ovs = s.plant_files(&s.d.join("shared").join(CID12));
    let (rc, out) = s.del(&conf, "");
    assert_eq!(rc, 0, "{out}");
    assert_eq!(s.model.port_names(), ["br0"]);
    assert!(!s.d.join("shared").join(CID12).exists());
    assert!(!s.data_file().exists());
}

#[test]
fn del_takes_over_a_pod_whose_shared_dir_volume_the_intel_plugin_mounted() {
    let s = Setup::new("remap");
    let remap = s.d.join("vhost_sockets").join(UID);
    fs::create_dir_all(&remap).unwrap();
    let path = remap.join(PORT);
    s.model.plant_userspace_cni_port(
        "br0",
        PORT,
        "dpdkvhostuserclient",
        &[("vhost-server-path", &path.to_string_lossy())],
    );
    // Without the pod's UID nothing says the port is this pod's.
    let (rc, out) = s.del(&s.conf(json!({})), "");
    assert_eq!(rc, 0, "{out}");
    assert!(s.model.port_names().contains(&PORT.to_string()));
    let args = format!("IgnoreUnknown=1;K8S_POD_UID={UID}");
    let (rc, out) = s.del(&s.conf(json!({})), &args);
    assert_eq!(rc, 0, "{out}");
    assert_eq!(s.model.port_names(), ["br0"]);
    assert!(!remap.exists(), "its mount directory goes once empty");
}

/// The Intel plugin's bind mount of the pod volume at `<its mount dir>/<pod UID>`: DEL
/// detaches it (through a handle on the directory itself) and removes the directory; the
/// pod's volume and what is in it are left to kubelet.
#[test]
fn del_unmounts_the_intel_plugins_bind_mount_of_the_pod_volume() {
    if !nfv_testkit::root_or_skip("del_unmounts_the_intel_plugins_bind_mount_of_the_pod_volume") {
        return;
    }
    let s = Setup::new("mount");
    let volume = s.d.join("kubelet-volume");
    fs::create_dir_all(&volume).unwrap();
    fs::write(volume.join("app.state"), b"pod's").unwrap();
    let remap = s.d.join("vhost_sockets").join(UID);
    fs::create_dir_all(&remap).unwrap();
    let mounted = |p: &std::path::Path| {
        fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .any(|l| l.split(' ').nth(4) == Some(&p.to_string_lossy()))
    };
    let st = std::process::Command::new("mount")
        .args(["--bind"])
        .arg(&volume)
        .arg(&remap)
        .status()
        .unwrap();
    assert!(st.success());
    assert!(mounted(&remap));
    let args = format!("IgnoreUnknown=1;K8S_POD_UID={UID}");
    let (rc, out) = s.del(&s.conf(json!({})), &args);
    let still = mounted(&remap);
    if still {
        let _ = std::process::Command::new("umount").arg(&remap).status();
    }
    assert_eq!(rc, 0, "{out}");
    assert!(!still, "the bind mount is detached");
    assert!(!remap.exists());
    assert_eq!(fs::read(volume.join("app.state")).unwrap(), b"pod's");
}

/// Hostile: a port by the attachment's name that is not provably this pod's (its socket
/// elsewhere, or tagged by us for another network) is left alone; so is any bridge.
#[test]
fn del_leaves_a_port_by_that_name_that_is_not_the_pods() {
    for (case, ext, path) in [
        (
            "elsewhere",
            None,
            "/run/other/c0ffee000000-net1".to_string(),
        ),
        (
            "traversal",
            None,
            "/usr/local/var/run/openvswitch/c0ffee000000/../../../../run/x/c0ffee000000-net1"
                .to_string(),
        ),
        ("ours", Some("other-net"), String::new()),
    ] {
        let s = Setup::new(case);
        let path = if path.is_empty() {
            s.pod_dir().join(PORT).to_string_lossy().into_owned()
        } else {
            path
        };
        match ext {
            None => s.model.plant_userspace_cni_port(
                "br0",
                PORT,
                "dpdkvhostuserclient",
                &[("vhost-server-path", &path)],
            ),
            Some(net) => s.model.plant_port(
                "br0",
                PORT,
                &[
                    ("nfv-cni/network", net),
                    ("nfv-cni/container-id", CID),
                    ("nfv-cni/ifname", "net1"),
                ],
            ),
        }
        let before = s.model.render();
        let (rc, out) = s.del(&s.conf(json!({})), "");
        assert_eq!(rc, 0, "{case}: {out}");
        assert_eq!(s.model.render(), before, "{case}: OVS untouched");
        assert!(s.fake.sent(common::Kind::Remove).is_empty(), "{case}");
    }
}
