//! The socket in the pod's own emptyDir volume (`K8S_POD_UID` in CNI_ARGS, volume
//! `shared-dir` by default), against a stateful fake of OVS, with every place rooted in a
//! scratch directory: kubelet's pod directories are `<scratch>/kubelet/pods`, the short links
//! `<scratch>/links`, the default sharedDir `<scratch>/default`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use common::{run_with_args, scratch, FakeOvsdb, OvsModel, CID12, PORT};
use serde_json::{json, Value};
use userspace::places::Places;

const UID: &str = "5f3c8a51-2b7e-4d0c-9a6e-0c1d2e3f4a5b";

fn args(uid: &str) -> String {
    format!("IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=pod;K8S_POD_INFRA_CONTAINER_ID=x;K8S_POD_UID={uid}")
}

struct Setup {
    d: PathBuf,
    model: OvsModel,
    _fake: FakeOvsdb,
}

impl Setup {
    fn new(name: &str) -> Setup {
        let d = scratch("podvol", name);
        let model = OvsModel::default();
        let fake = FakeOvsdb::start(&d, model.handler());
        Setup {
            d,
            model,
            _fake: fake,
        }
    }

    /// kubelet's emptyDir `name` of pod UID, created as kubelet creates it (0777).
    fn volume(&self, name: &str) -> PathBuf {
        let v = self
            .d
            .join("kubelet/pods")
            .join(UID)
            .join("volumes/kubernetes.io~empty-dir")
            .join(name);
        fs::create_dir_all(&v).unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&v, fs::Permissions::from_mode(0o777)).unwrap();
        v
    }

    fn conf(&self, extra: Value) -> String {
        let mut c = json!({"cniVersion": "1.1.0", "name": "n", "type": "userspace",
            "ovsdbSocket": self.d.join("db.sock"), "ovsTimeout": 0.5,
            "host": {"engine": "ovs-dpdk", "iftype": "vhostuser", "bridge": {"bridgeName": "br-t"}},
            "container": {"engine": "ovs-dpdk", "iftype": "vhostuser", "netType": "interface"}});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c.to_string()
    }

    fn run(&self, verb: &str, stdin: &str, cni_args: &str) -> (i32, Value) {
        let plugin = userspace::UserspaceAt(Places::under(&self.d));
        run_with_args(&plugin, verb, common::CID, stdin, None, cni_args)
    }

    fn link(&self) -> PathBuf {
        self.d.join("links").join(PORT)
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.d);
    }
}

/// A unix socket `name` in `dir`, bound through /proc/self/fd (as short as any path).
fn listen_in(dir: &Path, name: &str) -> UnixListener {
    use std::os::fd::AsRawFd;
    let d = fs::File::open(dir).unwrap();
    let l = UnixListener::bind(format!("/proc/self/fd/{}/{name}", d.as_raw_fd())).unwrap();
    assert!(dir.join(name).exists());
    l
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn the_socket_goes_into_the_pods_shared_dir_volume_through_a_short_link() {
    let s = Setup::new("add");
    let vol = s.volume("shared-dir");
    let conf = s.conf(json!({}));
    let (rc, out) = s.run("ADD", &conf, &args(UID));
    assert_eq!(rc, 0, "{out}");
    // OVS and the result name the short link; the link names the socket in the volume.
    let link = s.link();
    assert_eq!(
        out["interfaces"][0]["socketPath"],
        json!(link.to_string_lossy())
    );
    assert!(link.as_os_str().len() < 108);
    assert_eq!(fs::read_link(&link).unwrap(), vol.join(PORT));
    assert!(
        vol.join(PORT).as_os_str().len() >= 108 || s.d.as_os_str().len() < 20,
        "a kubelet volume path is long"
    );
    // Next to the socket: our pod JSON and the Intel plugin's configData file.
    let cd = format!("configData-{CID12}-net1.json");
    assert_eq!(names(&vol), [format!("{PORT}.json"), cd.clone()]);
    let data: Value = serde_json::from_slice(&fs::read(vol.join(&cd)).unwrap()).unwrap();
    assert_eq!(data["containerId"], json!(common::CID));
    assert_eq!(data["ifName"], json!("net1"));
    assert_eq!(data["name"], json!("n"));
    assert_eq!(
        data["config"]["vhost"],
        json!({"mode": "server", "socketfile": PORT})
    );
    assert_eq!(
        data["ipResult"]["interfaces"][0]["mac"],
        out["interfaces"][0]["mac"]
    );
    // kubelet's directory keeps its mode; no directory of ours in sharedDir.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        fs::metadata(&vol).unwrap().permissions().mode() & 0o777,
        0o777
    );
    assert!(!s.d.join("default").exists());
    // CHECK agrees (the port's vhost-server-path is the link).
    let mut chk: Value = serde_json::from_str(&conf).unwrap();
    chk["prevResult"] = out.clone();
    let (rc, out) = s.run("CHECK", &chk.to_string(), &args(UID));
    assert_eq!(rc, 0, "{out}");
    // The pod's app listens (here bound through /proc: the volume's path is too long for a
    // socket, which is why OVS uses the link); the pod keeps a file of its own there too.
    let app = listen_in(&vol, PORT);
    assert!(
        std::os::unix::net::UnixStream::connect(&link).is_ok(),
        "the link reaches it"
    );
    drop(app);
    fs::write(vol.join("app.state"), b"pod's").unwrap();
    let (rc, out) = s.run("DEL", &conf, &args(UID));
    assert_eq!(rc, 0, "{out}");
    assert!(s.model.our_ports("n").is_empty());
    assert_eq!(names(&vol), ["app.state"], "only what we put there goes");
    assert!(fs::symlink_metadata(&link).is_err(), "the link is gone");
    let (rc, out) = s.run("DEL", &conf, &args(UID));
    assert_eq!(rc, 0, "DEL again: {out}");
}

#[test]
fn without_the_volume_or_the_uid_the_socket_stays_in_shared_dir() {
    let s = Setup::new("novol");
    let conf = s.conf(json!({}));
    for cni_args in [args(UID), String::new(), args("../../../etc")] {
        let (rc, out) = s.run("ADD", &conf, &cni_args);
        assert_eq!(rc, 0, "{cni_args}: {out}");
        let want = s.d.join("default").join(CID12).join(PORT);
        assert_eq!(
            out["interfaces"][0]["socketPath"],
            json!(want.to_string_lossy()),
            "{cni_args}"
        );
        assert!(s
            .d
            .join("default")
            .join(CID12)
            .join(format!("configData-{CID12}-net1.json"))
            .is_file());
        let (rc, out) = s.run("DEL", &conf, &cni_args);
        assert_eq!(rc, 0, "{out}");
        assert!(!s.d.join("default").join(CID12).exists());
    }
    assert!(!s.d.join("links").exists());
}

#[test]
fn the_volume_name_is_configurable_and_can_be_turned_off() {
    let s = Setup::new("name");
    let vol = s.volume("vhost");
    let (rc, out) = s.run(
        "ADD",
        &s.conf(json!({"sharedDirVolume": "vhost"})),
        &args(UID),
    );
    assert_eq!(rc, 0, "{out}");
    assert_eq!(fs::read_link(s.link()).unwrap(), vol.join(PORT));
    let (rc, _) = s.run(
        "DEL",
        &s.conf(json!({"sharedDirVolume": "vhost"})),
        &args(UID),
    );
    assert_eq!(rc, 0);
    // "" never looks: the socket stays in sharedDir although the pod has a shared-dir.
    let shared = s.volume("shared-dir");
    let off = s.conf(json!({"sharedDirVolume": ""}));
    let (rc, out) = s.run("ADD", &off, &args(UID));
    assert_eq!(rc, 0, "{out}");
    assert!(out["interfaces"][0]["socketPath"]
        .as_str()
        .unwrap()
        .contains("/default/"));
    assert!(names(&shared).is_empty());
    s.run("DEL", &off, &args(UID));
    // A name that is no volume name is refused at ADD, ignored by DEL.
    let bad = s.conf(json!({"sharedDirVolume": "../x"}));
    let (rc, out) = s.run("ADD", &bad, &args(UID));
    assert_eq!((rc, out["code"].clone()), (1, json!(7)), "{out}");
    assert!(out["msg"].as_str().unwrap().contains("sharedDirVolume"));
    let (rc, out) = s.run("DEL", &bad, &args(UID));
    assert_eq!(rc, 0, "{out}");
}

#[test]
fn server_mode_cannot_put_ovss_socket_into_a_pod_volume() {
    let s = Setup::new("server");
    let vol = s.volume("shared-dir");
    let conf = s.conf(json!({"host": {"engine": "ovs-dpdk", "iftype": "vhostuser",
        "vhost": {"mode": "server"}, "bridge": {"bridgeName": "br-t"}}}));
    let (rc, out) = s.run("ADD", &conf, &args(UID));
    assert_eq!((rc, out["code"].clone()), (1, json!(7)), "{out}");
    let msg = out["msg"].as_str().unwrap();
    assert!(
        msg.contains("\"client\"") && msg.contains("sharedDirVolume"),
        "{msg}"
    );
    assert!(names(&vol).is_empty());
    assert!(s.model.our_ports("n").is_empty());
    assert!(!s.d.join("links").exists());
}

/// Hostile: a pod plants symlinks in its own volume (it outlives the pod's sandboxes) where our
/// files go: ADD refuses to write through them (113) and rolls back, DEL leaves a symlink
/// where the socket should be; what they point to is never touched.
#[test]
fn symlinks_a_pod_plants_in_its_volume_are_never_followed() {
    let s = Setup::new("plant");
    let vol = s.volume("shared-dir");
    let victim = s.d.join("victim");
    fs::write(&victim, b"secret\n").unwrap();
    let cd = format!("configData-{CID12}-net1.json");
    let conf = s.conf(json!({}));
    for planted in [cd.clone(), format!("{PORT}.json")] {
        symlink(&victim, vol.join(&planted)).unwrap();
        let (rc, out) = s.run("ADD", &conf, &args(UID));
        assert_eq!(
            (rc, out["code"].clone()),
            (1, json!(113)),
            "{planted}: {out}"
        );
        assert_eq!(fs::read(&victim).unwrap(), b"secret\n");
        assert!(s.model.our_ports("n").is_empty(), "{planted}: rolled back");
        assert!(fs::symlink_metadata(s.link()).is_err(), "{planted}");
        assert_eq!(
            names(&vol),
            std::slice::from_ref(&planted),
            "the symlink is left as it is"
        );
        let (rc, out) = s.run("DEL", &conf, &args(UID));
        assert_eq!(rc, 0, "{out}");
        fs::remove_file(vol.join(&planted)).unwrap();
    }
    let (rc, out) = s.run("ADD", &conf, &args(UID));
    assert_eq!(rc, 0, "{out}");
    symlink(&victim, vol.join(PORT)).unwrap();
    let (rc, out) = s.run("DEL", &conf, &args(UID));
    assert_eq!(rc, 0, "{out}");
    assert!(fs::symlink_metadata(vol.join(PORT))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read(&victim).unwrap(), b"secret\n");
    assert!(!vol.join(&cd).exists());
}

/// Hostile: a symlink on the way to the volume below kubelet's pod directory (or a file where
/// the volume should be): ADD fails with 113 and writes nothing through it.
#[test]
fn a_volume_reached_through_a_symlink_is_refused() {
    let s = Setup::new("volsym");
    let elsewhere = s.d.join("elsewhere");
    fs::create_dir_all(elsewhere.join("kubernetes.io~empty-dir/shared-dir")).unwrap();
    let pod = s.d.join("kubelet/pods").join(UID);
    fs::create_dir_all(&pod).unwrap();
    symlink(&elsewhere, pod.join("volumes")).unwrap();
    let conf = s.conf(json!({}));
    let (rc, out) = s.run("ADD", &conf, &args(UID));
    assert_eq!((rc, out["code"].clone()), (1, json!(113)), "{out}");
    assert!(
        out["msg"].as_str().unwrap().contains("symbolic link"),
        "{out}"
    );
    assert!(names(&elsewhere.join("kubernetes.io~empty-dir/shared-dir")).is_empty());
    assert!(s.model.our_ports("n").is_empty());
    let (rc, out) = s.run("DEL", &conf, &args(UID));
    assert_eq!(rc, 0, "{out}");
}
