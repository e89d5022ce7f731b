//! The vDPA hand-off over the fake sysfs tree `testdata/sysfs/nic`: PF 0000:02:00.0 with VF
//! 0000:02:00.2 carrying `vdpa0` on vhost_vdpa and VF 0000:02:00.3 carrying `vdpa1` on
//! virtio_vdpa, whose netdev `eth5` is a veth here. The verbs run with the thread in a scratch
//! "host" namespace; the pod is a named namespace. The configs set no VF settings: the PF
//! stand-in is a veth, which has no VFs (VF settings on real VFs are proven by the lab's
//! sriov cases; the lab has no VF-backed vDPA device, vdpa_sim is not a VF).
//!
//! Needs root for the namespaces; without it each test prints why it is skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use nfv_cni::{code, Command, Plugin};
use nfv_netlink::MacAddr;
use nfv_testkit::devinfo::DevinfoDir;
use nfv_testkit::{root_or_skip, Sandbox, IPAM_ADD_FAILS};
use serde_json::{json, Value};
use sriov::record::VfMode;
use sriov::Sriov;

const PF: &str = "0000:02:00.0";
const VHOST_VF: &str = "0000:02:00.2";
const VIRTIO_VF: &str = "0000:02:00.3";
const NETDEV: &str = "eth5";

/// One test's world: the stand-in netdev in a scratch host namespace, a pod namespace, state
/// directory and scripted IPAM (nfv-testkit's [`World`](nfv_testkit::World), which it derefs
/// to).
struct World {
    w: nfv_testkit::World<Sriov>,
    mac: MacAddr,
    /// Device-info files go in the real device-info tree (the only place they may go).
    tree: DevinfoDir,
}

impl std::ops::Deref for World {
    type Target = nfv_testkit::World<Sriov>;
    fn deref(&self) -> &nfv_testkit::World<Sriov> {
        &self.w
    }
}

impl World {
    fn new(tag: &str) -> World {
        let sb = Sandbox::new(&format!("sriov-vdpa-{tag}"), "sriovvd");
        let mut nl = sb.host_nl();
        nl.create_veth("enp2s0f0", "pfpeer", None).unwrap();
        nl.create_veth(NETDEV, "eth5peer", None).unwrap();
        let mac: MacAddr = "02:00:00:00:0a:01".parse().unwrap();
        let l = nl.link_by_name(NETDEV).unwrap();
        nl.set_mac(l.index, mac).unwrap();
        nl.set_mtu(l.index, 1500).unwrap();
        let sys = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sysfs/nic");
        let plugin = Sriov::over(sys, sb.dir.join("state"));
        let w = World {
            w: nfv_testkit::World::new(sb, plugin),
            mac,
            tree: DevinfoDir::new(&format!("sriov-vdpa-{tag}")),
        };
        w.install_ipam(false);
        w
    }

    /// A scripted IPAM plugin: ADD prints a fixed result without routes (or fails), every
    /// call is logged.
    fn install_ipam(&self, fail_add: bool) {
        self.install_fake_ipam(if fail_add {
            IPAM_ADD_FAILS
        } else {
            r#"echo '{"cniVersion":"1.0.0","ips":[{"address":"10.9.0.5/24","gateway":"10.9.0.1"}]}'"#
        });
    }

    fn ipam_calls(&self) -> Vec<String> {
        self.ipam_log().lines().map(str::to_string).collect()
    }

    fn devinfo(&self) -> PathBuf {
        self.tree.file("net1.json")
    }

    /// An sriov config (type sriov, sriov-cni fields) naming `vf`.
    fn conf(&self, vf: &str, extra: Value) -> Value {
        let mut c = json!({"cniVersion": "1.1.0", "name": "sriov-net", "type": "sriov",
            "deviceID": vf, "ipam": {"type": "fake-ipam"},
            "runtimeConfig": {"CNIDeviceInfoFile": self.devinfo()}});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    }

    /// Neither sriov nor the vdpa code holds a record.
    fn no_records(&self) -> bool {
        self.plugin.records.all().unwrap().is_empty()
            && self.plugin.vdpa.records.all().unwrap().is_empty()
    }

    /// The stand-in virtio netdev is home as it was and the pod has only lo.
    fn assert_home(&self) {
        let l = self.host_nl().link_by_name(NETDEV).unwrap();
        assert_eq!(l.mac, Some(self.mac));
        assert_eq!(l.mtu, Some(1500));
        let pod: Vec<String> = self
            .pod_nl()
            .links()
            .unwrap()
            .into_iter()
            .map(|l| l.name)
            .collect();
        assert_eq!(pod, vec!["lo".to_string()]);
    }
}

#[test]
fn a_vf_with_a_vhost_vdpa_device_is_handed_off_and_its_char_device_reported() {
    if !root_or_skip("a_vf_with_a_vhost_vdpa_device_is_handed_off_and_its_char_device_reported") {
        return;
    }
    let w = World::new("vhost");
    let conf = w.conf(VHOST_VF, json!({}));
    let result = w.add("ctr1", &conf).unwrap();
    assert_eq!(result.interfaces[0].name, "net1");
    assert_eq!(result.interfaces[0].pci_id.as_deref(), Some(VHOST_VF));
    assert_eq!(result.ips[0].address.to_string(), "10.9.0.5/24");
    let info: Value = serde_json::from_slice(&std::fs::read(w.devinfo()).unwrap()).unwrap();
    assert_eq!(
        info,
        json!({"type": "vdpa", "version": "1.1.0", "vdpa": {"parent-device": "vdpa0",
            "driver": "vhost", "path": "/dev/vhost-vdpa-0", "pci-address": VHOST_VF,
            "pf-pci-address": PF}})
    );
    let r = w.plugin.records.load("ctr1", "net1").unwrap().unwrap();
    assert_eq!(
        (r.mode, r.vdpa_device.as_deref(), r.device.as_str()),
        (VfMode::Vdpa, Some("vdpa0"), VHOST_VF)
    );
    assert!(w.plugin.vdpa.has_attachment("ctr1", "net1").unwrap());
    assert_eq!(
        w.ipam_calls(),
        ["ADD ctr1"],
        "IPAM ran once, by the vdpa code"
    );
    w.assert_home(); // nothing moved

    let mut check = conf.clone();
    check["prevResult"] = result.to_version("1.1.0").unwrap();
    w.run(|p| p.check(&w.request(Command::Check, "ctr1", &check)))
        .unwrap();

    // The VF is held: a second pod is refused, by sriov, before anything changes.
    let e = w.add("ctr2", &conf).unwrap_err();
    assert_eq!(e.code, sriov::codes::VF_IN_USE, "{}", e.msg);

    w.del("ctr1", &conf).unwrap();
    assert!(w.no_records());
    assert!(!w.devinfo().exists());
    assert_eq!(
        w.ipam_calls(),
        ["ADD ctr1", "CHECK ctr1", "DEL ctr1"],
        "IPAM ran once per verb, by the vdpa code"
    );
    w.del("ctr1", &conf).unwrap(); // idempotent
    w.assert_home();
}

#[test]
fn a_vf_with_a_virtio_vdpa_device_gives_its_netdev_to_the_pod_and_gets_it_back() {
    if !root_or_skip("a_vf_with_a_virtio_vdpa_device_gives_its_netdev_to_the_pod_and_gets_it_back")
    {
        return;
    }
    let w = World::new("virtio");
    // No `mac`: sriov sets it as the VF's admin MAC through the PF, and the PF stand-in is a
    // veth (the MAC handed to the vdpa code is unit-tested in src/handoff.rs).
    let conf = w.conf(VIRTIO_VF, json!({"mtu": 1400}));
    let result = w.add("ctr1", &conf).unwrap();
    let iface = &result.interfaces[0];
    assert_eq!(iface.name, "net1");
    assert_eq!(iface.mac.as_deref(), Some("02:00:00:00:0a:01"));
    assert_eq!(iface.mtu, Some(1400));
    assert_eq!(iface.pci_id.as_deref(), Some(VIRTIO_VF));
    let mut pod = w.pod_nl();
    let net1 = pod.link_by_name("net1").unwrap();
    assert!(net1.admin_up);
    let addrs: Vec<String> = pod
        .addresses(Some(net1.index))
        .unwrap()
        .into_iter()
        .map(|a| a.network.to_string())
        .collect();
    assert!(addrs.contains(&"10.9.0.5/24".to_string()), "{addrs:?}");
    assert!(w.host_nl().link_by_name(NETDEV).is_err(), "left the host");
    let info: Value = serde_json::from_slice(&std::fs::read(w.devinfo()).unwrap()).unwrap();
    assert_eq!(info["vdpa"]["driver"], "virtio");
    assert_eq!(info["vdpa"]["parent-device"], "vdpa1");

    // CHECK passes, then notices a change behind the plugin's back.
    let mut check = conf.clone();
    check["prevResult"] = result.to_version("1.1.0").unwrap();
    w.run(|p| p.check(&w.request(Command::Check, "ctr1", &check)))
        .unwrap();
    pod.set_mtu(net1.index, 1300).unwrap();
    let e = w
        .run(|p| p.check(&w.request(Command::Check, "ctr1", &check)))
        .unwrap_err();
    assert_eq!(e.code, nfv_vdpa::codes::DEVICE_UNUSABLE, "{}", e.msg);
    pod.set_mtu(net1.index, 1400).unwrap();

    w.del("ctr1", &conf).unwrap();
    w.assert_home();
    assert!(w.no_records());
    assert!(!w.devinfo().exists());
    assert_eq!(w.ipam_calls(), ["ADD ctr1", "CHECK ctr1", "DEL ctr1"]);
    w.del("ctr1", &conf).unwrap();
}

#[test]
fn del_without_any_record_still_brings_the_netdev_home_and_releases_ipam() {
    if !root_or_skip("del_without_any_record_still_brings_the_netdev_home_and_releases_ipam") {
        return;
    }
    let w = World::new("norecord");
    let conf = w.conf(VIRTIO_VF, json!({}));
    w.add("ctr1", &conf).unwrap();
    // Records lost (a wiped state directory): the config's VF still names the device.
    std::fs::remove_dir_all(w.dir.join("state")).unwrap();
    w.del("ctr1", &conf).unwrap();
    // Its original name is unknown without the record: it comes home under the vDPA device's.
    let home = w.host_nl().link_by_name("vdpa1").unwrap();
    assert_eq!(home.mac, Some(w.mac));
    assert!(w.pod_nl().link_by_name("net1").is_err());
    assert!(!w.devinfo().exists());
    assert_eq!(w.ipam_calls(), ["ADD ctr1", "DEL ctr1"]);
}

#[test]
fn a_failed_hand_off_leaves_nothing_behind() {
    if !root_or_skip("a_failed_hand_off_leaves_nothing_behind") {
        return;
    }
    let w = World::new("rollback");
    // IPAM refuses (inside the vdpa code, after the netdev moved).
    w.install_ipam(true);
    let conf = w.conf(VIRTIO_VF, json!({"mtu": 1400}));
    let e = w.add("ctr1", &conf).unwrap_err();
    assert_eq!(e.code, 11, "IPAM's error is passed on: {}", e.msg);
    w.assert_home();
    assert!(w.no_records());
    assert!(!w.devinfo().exists());

    // A vhost device has no netdev for an MTU: refused naming the field, nothing left.
    w.install_ipam(false);
    let e = w
        .add("ctr1", &w.conf(VHOST_VF, json!({"mtu": 1400})))
        .unwrap_err();
    assert_eq!(e.code, code::INVALID_CONFIG, "{}", e.msg);
    assert!(e.msg.starts_with("mtu:"), "{}", e.msg);
    assert!(w.no_records());
    assert!(!w.devinfo().exists());
    assert_eq!(
        w.ipam_calls(),
        ["ADD ctr1"],
        "only the first, failed, ADD reached IPAM"
    );

    // VF settings the PF cannot apply (the PF stand-in is a veth without VFs): refused
    // before anything is recorded.
    let e = w
        .add("ctr1", &w.conf(VIRTIO_VF, json!({"vlan": 100})))
        .unwrap_err();
    assert_eq!(e.code, sriov::codes::KERNEL_REFUSED, "{}", e.msg);
    w.assert_home();
    assert!(w.no_records());
}

#[test]
fn gc_detaches_hand_offs_the_runtime_no_longer_knows() {
    if !root_or_skip("gc_detaches_hand_offs_the_runtime_no_longer_knows") {
        return;
    }
    let w = World::new("gc");
    w.add("ctr1", &w.conf(VIRTIO_VF, json!({}))).unwrap();
    let gc = |valid: Value| {
        json!({"cniVersion": "1.1.0", "name": "sriov-net", "type": "sriov",
            "ipam": {"type": "fake-ipam"}, "cni.dev/valid-attachments": valid})
    };
    let valid = gc(json!([{"containerID": "ctr1", "ifname": "net1"}]));
    w.run(|p| p.gc(&w.request(Command::Gc, "", &valid)))
        .unwrap();
    assert!(w.pod_nl().link_by_name("net1").is_ok(), "still valid");
    assert!(!w.no_records());
    w.run(|p| p.gc(&w.request(Command::Gc, "", &gc(json!([])))))
        .unwrap();
    w.assert_home();
    assert!(w.no_records());
    assert!(!w.devinfo().exists());
    assert_eq!(
        w.ipam_calls()
            .iter()
            .filter(|c| c.starts_with("GC"))
            .count(),
        2,
        "IPAM GC once per GC: {:?}",
        w.ipam_calls()
    );
}

/// GC is per network, for hand-offs too: GC of sriov network A with no valid attachment
/// tears down A's hand-off (sriov's record and the vdpa code's) only; network B's hand-off
/// (same plugin type) keeps its virtio netdev in the pod and both its records.
#[test]
fn gc_of_one_network_leaves_the_other_networks_hand_offs_alone() {
    if !root_or_skip("gc_of_one_network_leaves_the_other_networks_hand_offs_alone") {
        return;
    }
    let w = World::new("gcnets");
    let info_a = w.tree.file("a.json");
    let net_a = w.conf(
        VHOST_VF,
        json!({"name": "sriov-a", "runtimeConfig": {"CNIDeviceInfoFile": info_a}}),
    );
    let net_b = w.conf(VIRTIO_VF, json!({"name": "sriov-b"}));
    w.add("ctrA", &net_a).unwrap();
    w.add("ctrB", &net_b).unwrap();
    let mut gc_a = net_a.clone();
    gc_a["cni.dev/valid-attachments"] = json!([]);

    w.run(|p| p.gc(&w.request(Command::Gc, "", &gc_a))).unwrap();
    assert!(!info_a.exists(), "network A's hand-off is detached");
    assert!(
        w.pod_nl().link_by_name("net1").is_ok(),
        "network B's virtio netdev stays in the pod"
    );
    assert!(w.devinfo().exists(), "network B's device-info file stays");
    let sriov_left: Vec<(String, String)> = w
        .plugin
        .records
        .all()
        .unwrap()
        .into_iter()
        .map(|r| (r.network, r.container_id))
        .collect();
    let vdpa_left: Vec<(String, String)> = w
        .plugin
        .vdpa
        .records
        .all()
        .unwrap()
        .into_iter()
        .map(|r| (r.network, r.container_id))
        .collect();
    let b = vec![("sriov-b".to_string(), "ctrB".to_string())];
    assert_eq!((sriov_left, vdpa_left), (b.clone(), b));
    w.del("ctrB", &net_b).unwrap();
    w.assert_home();
    assert!(w.no_records());
}
