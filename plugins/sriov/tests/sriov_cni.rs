//! Host tier: taking over the pods sriov-cni attached. A cache as sriov-cni writes it
//! (testdata/sriov-cni) is planted next to the state its ADD leaves (the VF netdev in the pod
//! as `net1`, renamed, another MTU), and DEL, GC and CHECK run in real network namespaces, a
//! veth standing in for the VF netdev (as in tests/netns.rs). VF settings through the PF
//! cannot be exercised on a veth: the caches here change none (the unit tests in
//! src/sriov_cni/cache/tests.rs restore every setting on the fake kernel; the lab, case 28,
//! on igb).
//!
//! Needs root; without it each test prints why it is skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use nfv_cni::{code, Command, Plugin, Request};
use nfv_testkit::sysfs::{bind, pci_device, vf_of};
use nfv_testkit::{root_or_skip, Sandbox};
use serde_json::{json, Value};
use sriov::Sriov;

const VF: &str = "0000:00:0a.1";
const PF: &str = "0000:00:0a.0";
const VF2: &str = "0000:00:0a.2";

struct World {
    w: nfv_testkit::World<Sriov>,
}

impl std::ops::Deref for World {
    type Target = nfv_testkit::World<Sriov>;
    fn deref(&self) -> &nfv_testkit::World<Sriov> {
        &self.w
    }
}

/// The cache sriov-cni's ADD of VF `vf` (index `index`, netdev `host` before) into network
/// `network` wrote: no VF setting changed, MTU 1500 captured.
fn cache(network: &str, vf: &str, index: u32, host: &str) -> Value {
    let mut c: Value = serde_json::from_slice(include_bytes!(
        "../../../testdata/sriov-cni/netdev/9d4e2a7b3c1f-net2"
    ))
    .unwrap();
    c["name"] = json!(network);
    c["deviceID"] = json!(vf);
    c["VFID"] = json!(index);
    c["Master"] = json!("pf0");
    c["OrigVfState"]["HostIFName"] = json!(host);
    c["OrigVfState"]["MTU"] = json!(1500);
    c
}

impl World {
    /// Host namespace with PF/VF veths (vf0, vf1 at MTU 1500), the pod, a fake sysfs.
    fn new(tag: &str) -> World {
        let sb = Sandbox::new(&format!("sriovcni-{tag}"), "sriovcni");
        let mut nl = sb.host_nl();
        nl.create_veth("pf0", "pf0peer", None).unwrap();
        for vf in ["vf0", "vf1"] {
            nl.create_veth(vf, &format!("{vf}peer"), None).unwrap();
            let l = nl.link_by_name(vf).unwrap();
            nl.set_mtu(l.index, 1500).unwrap();
        }
        let sys = sb.dir.join("sys");
        let pf = pci_device(&sys, PF);
        std::fs::create_dir_all(pf.join("net/pf0")).unwrap();
        for (i, (addr, netdev)) in [(VF, "vf0"), (VF2, "vf1")].into_iter().enumerate() {
            let vf = pci_device(&sys, addr);
            std::fs::create_dir_all(vf.join("net").join(netdev)).unwrap();
            vf_of(&sys, PF, i as u32, addr);
            bind(&sys, addr, "fakevf");
        }
        std::fs::write(pf.join("sriov_numvfs"), "2\n").unwrap();
        let plugin = Sriov::over(&sys, sb.dir.join("state"));
        let w = World {
            w: nfv_testkit::World::new(sb, plugin),
        };
        w.install_ipam(false);
        w
    }

    /// Where `Sriov::over` looks for sriov-cni's cache.
    fn cache_dir(&self) -> PathBuf {
        self.dir.join("state/sriov-cni")
    }

    /// What sriov-cni's ADD of `container` / `ifname` left: `host` moved into the pod as
    /// `ifname` with MTU 9000 (sriov-cni master does not set it; the NAD author's app
    /// might), its cache, and its allocation naming the pod's namespace.
    fn sriov_cni_added(&self, container: &str, ifname: &str, cache: &Value, host: &str) {
        let mut nl = self.host_nl();
        let l = nl.link_by_name(host).unwrap();
        nl.move_to_netns(l.index, &self.pod, Some(ifname)).unwrap();
        let mut pod = self.pod_nl();
        let l = pod.link_by_name(ifname).unwrap();
        pod.set_mtu(l.index, 9000).unwrap();
        pod.set_up(l.index).unwrap();
        let dir = self.cache_dir();
        std::fs::create_dir_all(dir.join("pci")).unwrap();
        std::fs::write(
            dir.join(format!("{container}-{ifname}")),
            serde_json::to_vec(cache).unwrap(),
        )
        .unwrap();
        let vf = cache["deviceID"].as_str().unwrap();
        std::fs::write(dir.join("pci").join(vf), self.pod_path()).unwrap();
    }

    fn pod_path(&self) -> String {
        format!("/run/netns/{}", self.pod_name)
    }

    fn call(&self, command: Command, container: &str, conf: &Value) -> Result<(), nfv_cni::Error> {
        let req = self.request(command, container, conf);
        self.call_req(&req)
    }

    fn call_req(&self, req: &Request) -> Result<(), nfv_cni::Error> {
        self.run(|p| match req.env.command {
            Command::Del => p.del(req),
            Command::Check => p.check(req),
            Command::Gc => p.gc(req),
            _ => unreachable!(),
        })
    }

    fn exists(&self, rel: &str) -> bool {
        self.cache_dir().join(rel).symlink_metadata().is_ok()
    }
}

fn conf(extra: Value) -> Value {
    nfv_testkit::conf(
        json!({"cniVersion": "1.1.0", "name": "sriov-net", "type": "sriov", "deviceID": VF,
               "ipam": {"type": "fake-ipam"}}),
        extra,
    )
}

fn gone(path: &Path) -> bool {
    !path.exists()
}

/// Before, DEL found no record of its own and brought the VF home as `pf0v0`, at the pod's
/// MTU, and left sriov-cni's cache and allocation behind.
#[test]
fn del_of_a_pod_sriov_cni_attached_gives_the_vf_back_and_removes_its_files() {
    if !root_or_skip("del_of_a_pod_sriov_cni_attached_gives_the_vf_back_and_removes_its_files") {
        return;
    }
    let w = World::new("del");
    w.sriov_cni_added("c1", "net1", &cache("sriov-net", VF, 0, "vf0"), "vf0");
    // Its NAD's `mtu` (which sriov-cni ignored) and `spoofchk: "true"` (which ADD here
    // refuses) do not stop DEL.
    w.call(
        Command::Del,
        "c1",
        &conf(json!({"mtu": 9000, "spoofchk": "true"})),
    )
    .unwrap();
    let back = w.host_nl().link_by_name("vf0").unwrap();
    assert_eq!(back.mtu, Some(1500), "MTU from OrigVfState");
    assert!(w.pod_nl().link_by_name("net1").unwrap_err().is_not_found());
    assert!(w
        .host_nl()
        .link_by_name("pf0v0")
        .unwrap_err()
        .is_not_found());
    assert!(!w.exists("c1-net1"), "the cache goes");
    assert!(!w.exists(&format!("pci/{VF}")), "the allocation goes");
    assert_eq!(w.ipam_log().matches("DEL").count(), 1);
    // Again: nothing left, IPAM released again, success.
    w.call(Command::Del, "c1", &conf(json!({}))).unwrap();
    assert_eq!(w.ipam_log().matches("DEL").count(), 2);
}

/// The pod's namespace died first: the kernel returned the VF netdev to the host under the
/// pod's interface name. sriov-cni itself did nothing then; DEL here finds it and restores it.
#[test]
fn del_after_the_pods_namespace_is_gone_still_restores_from_the_cache() {
    if !root_or_skip("del_after_the_pods_namespace_is_gone_still_restores_from_the_cache") {
        return;
    }
    let w = World::new("gone");
    w.sriov_cni_added("c1", "net1", &cache("sriov-net", VF, 0, "vf0"), "vf0");
    // A veth dies with its namespace; a VF comes back: move it back as the kernel would.
    let mut pod = w.pod_nl();
    let l = pod.link_by_name("net1").unwrap();
    pod.move_to_netns(l.index, &w.host, None).unwrap();
    nfv_netlink::Netns::delete_named(&w.pod_name).unwrap();
    assert!(gone(Path::new(&w.pod_path())));
    w.call(Command::Del, "c1", &conf(json!({}))).unwrap();
    let back = w.host_nl().link_by_name("vf0").unwrap();
    assert_eq!(back.mtu, Some(1500));
    assert!(w.host_nl().link_by_name("net1").unwrap_err().is_not_found());
    assert!(gone(&w.cache_dir().join("c1-net1")));
}

/// A cache whose `deviceID` is not the config's VF is not acted on: the config's VF comes home
/// as without any record (`pf0v0`), the cache's VF and its allocation are left alone, the
/// attachment's cache goes.
#[test]
fn a_cache_naming_another_vf_than_the_config_is_not_acted_on() {
    if !root_or_skip("a_cache_naming_another_vf_than_the_config_is_not_acted_on") {
        return;
    }
    let w = World::new("other");
    w.sriov_cni_added("c1", "net1", &cache("sriov-net", VF2, 1, "vf1"), "vf0");
    std::fs::write(w.cache_dir().join("pci").join(VF2), "elsewhere").unwrap();
    w.call(Command::Del, "c1", &conf(json!({}))).unwrap();
    let home = w.host_nl().link_by_name("pf0v0").unwrap();
    assert_eq!(
        home.mtu,
        Some(9000),
        "no cache of this VF: its state is unknown"
    );
    assert!(
        w.host_nl().link_by_name("vf1").is_ok(),
        "the cache's VF untouched"
    );
    assert!(!w.exists("c1-net1"));
    assert!(w.exists(&format!("pci/{VF2}")));
}

/// sriov-cni allocated the VF to another pod's namespace since: this DEL leaves the VF (and
/// that allocation) to it, and only releases its own IPAM and cache.
#[test]
fn a_vf_sriov_cni_allocated_to_another_pod_since_is_left_to_it() {
    if !root_or_skip("a_vf_sriov_cni_allocated_to_another_pod_since_is_left_to_it") {
        return;
    }
    let w = World::new("held");
    w.sriov_cni_added("c1", "net1", &cache("sriov-net", VF, 0, "vf0"), "vf0");
    let other = "/var/run/netns/cni-other-pod";
    std::fs::write(w.cache_dir().join("pci").join(VF), other).unwrap();
    w.call(Command::Del, "c1", &conf(json!({}))).unwrap();
    assert_eq!(w.pod_nl().link_by_name("net1").unwrap().mtu, Some(9000));
    assert!(!w.exists("c1-net1"));
    assert_eq!(
        std::fs::read_to_string(w.cache_dir().join("pci").join(VF)).unwrap(),
        other
    );
    assert_eq!(w.ipam_log().matches("DEL").count(), 1);
}

/// A hostile cache: a `HostIFName` that is no interface name is not used (the netdev comes
/// home as `pf0v0`), and a symlink at the cache's name is neither followed nor removed.
#[test]
fn a_hostile_cache_is_not_followed_and_a_bad_name_not_used() {
    if !root_or_skip("a_hostile_cache_is_not_followed_and_a_bad_name_not_used") {
        return;
    }
    let w = World::new("hostile");
    let mut c = cache("sriov-net", VF, 0, "vf0");
    c["OrigVfState"]["HostIFName"] = json!("../../../etc");
    w.sriov_cni_added("c1", "net1", &c, "vf0");
    w.call(Command::Del, "c1", &conf(json!({}))).unwrap();
    assert_eq!(w.host_nl().link_by_name("pf0v0").unwrap().mtu, Some(1500));

    // A symlink where c2's cache would be, pointing at a cache for the other VF.
    let w = World::new("symlink");
    let target = w.dir.join("planted");
    std::fs::write(
        &target,
        serde_json::to_vec(&cache("sriov-net", VF2, 1, "x")).unwrap(),
    )
    .unwrap();
    std::fs::create_dir_all(w.cache_dir()).unwrap();
    std::os::unix::fs::symlink(&target, w.cache_dir().join("c2-net1")).unwrap();
    w.call(Command::Del, "c2", &conf(json!({"deviceID": VF2})))
        .unwrap();
    assert!(
        w.exists("c2-net1"),
        "a symlink is not sriov-cni's cache: left"
    );
    assert!(target.exists());
    assert!(
        w.host_nl().link_by_name("vf1").is_ok(),
        "nothing done to the VF"
    );
}

/// GC of a network: sriov-cni's attachments of it that are not valid any more are restored
/// (their netdev back in the host, as the kernel leaves it when the pod's namespace dies),
/// their files removed; a valid one, and another network's, are left alone.
#[test]
fn gc_restores_sriov_cnis_stale_attachments_of_the_network_only() {
    if !root_or_skip("gc_restores_sriov_cnis_stale_attachments_of_the_network_only") {
        return;
    }
    let w = World::new("gc");
    w.sriov_cni_added("stale", "net1", &cache("sriov-net", VF, 0, "vf0"), "vf0");
    // Its pod died: the VF netdev is back in the host under the pod's name.
    let mut pod = w.pod_nl();
    let l = pod.link_by_name("net1").unwrap();
    pod.move_to_netns(l.index, &w.host, None).unwrap();
    let sys = w
        .dir
        .join("sys")
        .join("bus/pci/devices")
        .join(VF)
        .join("net");
    std::fs::rename(sys.join("vf0"), sys.join("net1")).unwrap();
    // Another network's stale attachment, and a valid one of this network, both on VF2.
    w.sriov_cni_added("other", "net2", &cache("other-net", VF2, 1, "vf1"), "vf1");
    let valid_cache = w.cache_dir().join("valid-net3");
    std::fs::write(&valid_cache, b"{}").unwrap();

    let mut gc = conf(json!({}));
    gc["cni.dev/valid-attachments"] = json!([{"containerID": "valid", "ifname": "net3"}]);
    // GC's config carries no deviceID (and would not be read for one).
    gc.as_object_mut().unwrap().remove("deviceID");
    w.call(Command::Gc, "", &gc).unwrap();
    assert_eq!(w.host_nl().link_by_name("vf0").unwrap().mtu, Some(1500));
    assert!(!w.exists("stale-net1") && !w.exists(&format!("pci/{VF}")));
    assert_eq!(w.pod_nl().link_by_name("net2").unwrap().mtu, Some(9000));
    assert!(w.exists("other-net2") && w.exists(&format!("pci/{VF2}")));
    assert!(valid_cache.exists());
}

/// GC leaves a stale attachment whose netdev is not back in the host (its pod's namespace
/// lives on: nothing here can tell) to DEL.
#[test]
fn gc_leaves_a_stale_attachment_whose_netdev_is_still_in_a_pod() {
    if !root_or_skip("gc_leaves_a_stale_attachment_whose_netdev_is_still_in_a_pod") {
        return;
    }
    let w = World::new("gcpod");
    w.sriov_cni_added("stale", "net1", &cache("sriov-net", VF, 0, "vf0"), "vf0");
    let sys = w
        .dir
        .join("sys")
        .join("bus/pci/devices")
        .join(VF)
        .join("net");
    std::fs::remove_dir(sys.join("vf0")).unwrap(); // sysfs shows the host's netdevs only
    let mut gc = conf(json!({}));
    gc["cni.dev/valid-attachments"] = json!([]);
    w.call(Command::Gc, "", &gc).unwrap();
    assert!(w.pod_nl().link_by_name("net1").is_ok());
    assert!(w.exists("stale-net1"));
}

/// CHECK of a pod sriov-cni attached: the cache says which VF; the NAD's `mtu`, which
/// sriov-cni never applied, is not held against it. Without a cache: unknown (3).
#[test]
fn check_of_a_pod_sriov_cni_attached_reads_its_cache() {
    if !root_or_skip("check_of_a_pod_sriov_cni_attached_reads_its_cache") {
        return;
    }
    let w = World::new("check");
    w.sriov_cni_added("c1", "net1", &cache("sriov-net", VF, 0, "vf0"), "vf0");
    w.call(Command::Check, "c1", &conf(json!({"mtu": 1280})))
        .unwrap();
    let e = w.call(Command::Check, "c2", &conf(json!({}))).unwrap_err();
    assert_eq!(e.code, code::UNKNOWN_CONTAINER, "{}", e.msg);
}
