//! Host tier: the plugin's verbs run in real network namespaces, with a veth standing in for
//! the VF netdev (a second veth for the PF) and a fake sysfs tree pointing at them. The
//! "host" is a scratch namespace the test thread enters; the pod is a named namespace. VF
//! settings through the PF cannot be exercised on a veth: the lab does that on igb VFs.
//!
//! Needs root; without it each test prints why it is skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use nfv_cni::{Command, Plugin, Request};
use nfv_netlink::{MacAddr, Netns};
use nfv_testkit::devinfo::DevinfoDir;
use nfv_testkit::sysfs::{bind, pci_device, vf_of};
use nfv_testkit::{root_or_skip, Sandbox};
use serde_json::{json, Value};
use sriov::Sriov;

const VF: &str = "0000:00:0a.1";
const PF: &str = "0000:00:0a.0";
/// A second VF on the same PF (netdev vf1), for a second network.
const VF2: &str = "0000:00:0a.2";

/// One test's world: host namespace with PF/VF veths, pod namespace, fake sysfs, state dir
/// (nfv-testkit's [`World`](nfv_testkit::World), which it derefs to).
struct World {
    w: nfv_testkit::World<Sriov>,
    vf_mac: MacAddr,
}

impl std::ops::Deref for World {
    type Target = nfv_testkit::World<Sriov>;
    fn deref(&self) -> &nfv_testkit::World<Sriov> {
        &self.w
    }
}

impl World {
    fn new(tag: &str) -> World {
        let sb = Sandbox::new(&format!("sriov-{tag}"), "sriovt");
        let mut nl = sb.host_nl();
        nl.create_veth("pf0", "pf0peer", None).unwrap();
        nl.create_veth("vf0", "vf0peer", None).unwrap();
        let vf_mac: MacAddr = "02:00:00:aa:00:01".parse().unwrap();
        let vf = nl.link_by_name("vf0").unwrap();
        nl.set_mac(vf.index, vf_mac).unwrap();
        nl.set_mtu(vf.index, 1500).unwrap();
        nl.create_veth("vf1", "vf1peer", None).unwrap();
        let vf1 = nl.link_by_name("vf1").unwrap();
        nl.set_mtu(vf1.index, 1500).unwrap();
        let sys = sb.dir.join("sys");
        fake_sysfs(&sys);
        let plugin = Sriov::over(&sys, sb.dir.join("state"));
        World {
            w: nfv_testkit::World::new(sb, plugin),
            vf_mac,
        }
    }

    fn request(&self, command: Command, container: &str, conf: Value) -> Request {
        self.w.request(command, container, &conf)
    }

    /// Like `request`, for interface `ifname` in the pod.
    fn request_on(&self, command: Command, container: &str, ifname: &str, conf: Value) -> Request {
        Sandbox::request_on(&self.w, command, container, ifname, &conf)
    }
}

/// A PF with two VFs; the VFs' netdevs are vf0 and vf1, the PF's pf0.
fn fake_sysfs(root: &Path) {
    let pf = pci_device(root, PF);
    std::fs::create_dir_all(pf.join("net/pf0")).unwrap();
    for (i, (addr, netdev)) in [(VF, "vf0"), (VF2, "vf1")].into_iter().enumerate() {
        let vf = pci_device(root, addr);
        std::fs::create_dir_all(vf.join("net").join(netdev)).unwrap();
        vf_of(root, PF, i as u32, addr);
        bind(root, addr, "fakevf");
    }
    std::fs::write(pf.join("sriov_numvfs"), "2\n").unwrap();
}

fn conf(extra: Value) -> Value {
    nfv_testkit::conf(
        json!({"cniVersion": "1.1.0", "name": "sriov-net", "type": "sriov", "deviceID": VF}),
        extra,
    )
}

#[test]
fn add_then_del_gives_the_vf_back_as_it_was() {
    if !root_or_skip("add_then_del_gives_the_vf_back_as_it_was") {
        return;
    }
    let w = World::new("adddel");
    w.install_ipam(false);
    // No "mac": it is also the admin MAC set through the PF, which a veth cannot take.
    let tree = DevinfoDir::new("sriov-adddel");
    let devinfo = tree.file("sriov-net-c1.json");
    let c = conf(json!({"mtu": 1400, "ipam": {"type": "fake-ipam"},
        "runtimeConfig": {"CNIDeviceInfoFile": devinfo.display().to_string()}}));
    let result = w
        .run(|p| p.add(&w.request(Command::Add, "c1", c.clone())))
        .unwrap();
    assert_eq!(result.interfaces.len(), 1);
    let iface = &result.interfaces[0];
    assert_eq!(iface.name, "net1");
    assert_eq!(iface.pci_id.as_deref(), Some(VF));
    assert_eq!(iface.mac.as_deref(), Some("02:00:00:aa:00:01"));
    assert_eq!(iface.mtu, Some(1400));
    assert_eq!(result.ips[0].address.to_string(), "10.9.0.5/24");
    assert_eq!(result.ips[0].interface, Some(0));

    let info: Value = serde_json::from_slice(&std::fs::read(&devinfo).unwrap()).unwrap();
    assert_eq!(info["type"], "pci");
    assert_eq!(info["pci"]["pci-address"], VF);
    assert_eq!(info["pci"]["pf-pci-address"], PF);
    // 0444, as nadutils writes device-info files (earlier releases wrote 0644).
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&devinfo).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o444);

    let mut pod = w.pod_nl();
    let net1 = pod.link_by_name("net1").unwrap();
    assert!(net1.admin_up);
    assert_eq!(net1.mtu, Some(1400));
    assert!(pod
        .addresses(Some(net1.index))
        .unwrap()
        .iter()
        .any(|a| a.network.to_string() == "10.9.0.5/24"));
    assert!(pod
        .routes()
        .unwrap()
        .iter()
        .any(|r| r.destination.to_string() == "10.50.0.0/16" && r.oif == Some(net1.index)));
    assert!(w.host_nl().link_by_name("vf0").unwrap_err().is_not_found());

    // CHECK passes, then fails once the pod's view drifts from the config.
    w.run(|p| p.check(&w.request(Command::Check, "c1", c.clone())))
        .unwrap();
    pod.set_mtu(net1.index, 1300).unwrap();
    let drift = w
        .run(|p| p.check(&w.request(Command::Check, "c1", c.clone())))
        .unwrap_err();
    assert!(drift.msg.contains("MTU"), "{}", drift.msg);

    // A second pod cannot take the same VF.
    let busy = w
        .run(|p| p.add(&w.request(Command::Add, "c2", c.clone())))
        .unwrap_err();
    assert!(busy.code >= 100, "{}", busy.msg);

    w.run(|p| p.del(&w.request(Command::Del, "c1", c.clone())))
        .unwrap();
    let back = w.host_nl().link_by_name("vf0").unwrap();
    assert_eq!(back.mac, Some(w.vf_mac));
    assert_eq!(back.mtu, Some(1500));
    assert!(pod.link_by_name("net1").unwrap_err().is_not_found());
    assert!(!devinfo.exists(), "DEL removes the device-info file");
    // (nfv_cni::ipam passes CNI_CONTAINERID through the process environment, which a
    // library-level test does not set: count the DELs.)
    assert_eq!(w.ipam_log().matches("DEL").count(), 1);

    // DEL again: nothing left to do, still releases IPAM, still succeeds.
    w.run(|p| p.del(&w.request(Command::Del, "c1", c.clone())))
        .unwrap();
    assert_eq!(w.ipam_log().matches("DEL").count(), 2);
}

/// After the addresses, ADD announces them as sriov-cni does: `arp_notify` / `ndisc_notify`
/// on the pod's netdev (the frames themselves: nfv-podnet's tests/kernel.rs).
#[test]
fn add_leaves_the_pods_netdev_announcing_its_addresses() {
    if !root_or_skip("add_leaves_the_pods_netdev_announcing_its_addresses") {
        return;
    }
    let w = World::new("announce");
    w.install_ipam(false);
    let c = conf(json!({"ipam": {"type": "fake-ipam"}}));
    w.run(|p| p.add(&w.request(Command::Add, "c1", c.clone())))
        .unwrap();
    let knobs = w
        .pod
        .run_in(|| {
            [
                "/proc/sys/net/ipv4/conf/net1/arp_notify",
                "/proc/sys/net/ipv6/conf/net1/ndisc_notify",
            ]
            .map(|p| std::fs::read_to_string(p).unwrap().trim().to_string())
        })
        .unwrap();
    assert_eq!(knobs, ["1", "1"]);
    w.run(|p| p.del(&w.request(Command::Del, "c1", c.clone())))
        .unwrap();
}

#[test]
fn a_failed_ipam_add_rolls_everything_back() {
    if !root_or_skip("a_failed_ipam_add_rolls_everything_back") {
        return;
    }
    let w = World::new("rollback");
    w.install_ipam(true);
    let c = conf(json!({"mtu": 1450, "ipam": {"type": "fake-ipam"}}));
    let e = w
        .run(|p| p.add(&w.request(Command::Add, "c1", c.clone())))
        .unwrap_err();
    assert!(e.msg.contains("no addresses left"), "{}", e.msg);
    let back = w.host_nl().link_by_name("vf0").unwrap();
    assert_eq!(back.mac, Some(w.vf_mac), "MAC restored");
    assert_eq!(back.mtu, Some(1500), "MTU restored");
    assert!(w.pod_nl().link_by_name("net1").unwrap_err().is_not_found());
    assert!(
        w.plugin.records.all().unwrap().is_empty(),
        "no record left behind"
    );
}

#[test]
fn add_refuses_an_interface_name_the_pod_already_uses() {
    if !root_or_skip("add_refuses_an_interface_name_the_pod_already_uses") {
        return;
    }
    let w = World::new("exists");
    w.pod_nl().create_veth("net1", "other", None).unwrap();
    let e = w
        .run(|p| p.add(&w.request(Command::Add, "c1", conf(json!({})))))
        .unwrap_err();
    assert!(
        e.msg
            .contains("an interface named net1 already exists in the pod"),
        "{}",
        e.msg
    );
    assert!(
        w.host_nl().link_by_name("vf0").is_ok(),
        "the VF did not move"
    );
    assert!(w.plugin.records.all().unwrap().is_empty());
}

#[test]
fn del_finds_a_vf_that_fell_back_to_the_host_under_the_pod_name() {
    if !root_or_skip("del_finds_a_vf_that_fell_back_to_the_host_under_the_pod_name") {
        return;
    }
    let w = World::new("fallback");
    let c = conf(json!({"mtu": 1480}));
    w.run(|p| p.add(&w.request(Command::Add, "c1", c.clone())))
        .unwrap();
    // What the kernel does to a VF when the pod namespace dies: it comes back under its pod
    // name. (A veth would be destroyed instead, so move it by hand, then drop the pod.)
    let mut pod = w.pod_nl();
    let net1 = pod.link_by_name("net1").unwrap();
    pod.move_to_netns(net1.index, &w.host, None).unwrap();
    Netns::delete_named(&w.pod_name).unwrap();
    drop(pod);

    w.run(|p| p.del(&w.request(Command::Del, "c1", c.clone())))
        .unwrap();
    let back = w.host_nl().link_by_name("vf0").unwrap();
    assert_eq!((back.mac, back.mtu), (Some(w.vf_mac), Some(1500)));
    assert!(w.host_nl().link_by_name("net1").unwrap_err().is_not_found());
}

#[test]
fn gc_restores_attachments_the_runtime_no_longer_knows() {
    if !root_or_skip("gc_restores_attachments_the_runtime_no_longer_knows") {
        return;
    }
    let w = World::new("gc");
    let c = conf(json!({"mtu": 1400}));
    w.run(|p| p.add(&w.request(Command::Add, "c1", c.clone())))
        .unwrap();
    let mut keep = c.clone();
    keep["cni.dev/valid-attachments"] = json!([{"containerID": "c1", "ifname": "net1"}]);
    w.run(|p| p.gc(&w.request(Command::Gc, "", keep))).unwrap();
    assert!(
        w.pod_nl().link_by_name("net1").is_ok(),
        "a valid attachment is kept"
    );

    let mut none = c.clone();
    none["cni.dev/valid-attachments"] = json!([]);
    w.run(|p| p.gc(&w.request(Command::Gc, "", none))).unwrap();
    assert_eq!(w.host_nl().link_by_name("vf0").unwrap().mtu, Some(1500));
    assert!(w.plugin.records.all().unwrap().is_empty());
}

/// GC is per network: GC of network A with no valid attachment leaves network B's VF (same
/// plugin type, same pod) in the pod and its record in place, and leaves a record that names
/// no network (an earlier binary's) to DEL.
#[test]
fn gc_of_one_network_leaves_the_other_networks_vfs_alone() {
    if !root_or_skip("gc_of_one_network_leaves_the_other_networks_vfs_alone") {
        return;
    }
    let w = World::new("gcnets");
    let net_a = conf(json!({"name": "sriov-a", "mtu": 1400}));
    let net_b = conf(json!({"name": "sriov-b", "deviceID": VF2, "mtu": 1450}));
    w.run(|p| p.add(&w.request_on(Command::Add, "c1", "net1", net_a.clone())))
        .unwrap();
    w.run(|p| p.add(&w.request_on(Command::Add, "c1", "net2", net_b.clone())))
        .unwrap();
    let gc = |c: &Value| {
        let mut c = c.clone();
        c["cni.dev/valid-attachments"] = json!([]);
        c
    };

    w.run(|p| p.gc(&w.request_on(Command::Gc, "", "net1", gc(&net_a))))
        .unwrap();
    assert_eq!(
        w.host_nl().link_by_name("vf0").unwrap().mtu,
        Some(1500),
        "network A's VF is back"
    );
    assert!(w.pod_nl().link_by_name("net1").unwrap_err().is_not_found());
    assert_eq!(
        w.pod_nl().link_by_name("net2").unwrap().mtu,
        Some(1450),
        "network B's VF stays in the pod"
    );
    let left = w.plugin.records.all().unwrap();
    assert_eq!(
        left.iter()
            .map(|r| (r.network.as_str(), r.ifname.as_str()))
            .collect::<Vec<_>>(),
        [("sriov-b", "net2")]
    );

    // A record written by an earlier binary names no network: GC leaves it, DEL handles it.
    let mut old = left[0].clone();
    old.network.clear();
    w.plugin.records.save(&old).unwrap();
    w.run(|p| p.gc(&w.request_on(Command::Gc, "", "net1", gc(&net_b))))
        .unwrap();
    assert!(w.pod_nl().link_by_name("net2").is_ok());
    assert_eq!(w.plugin.records.all().unwrap(), vec![old]);
    w.run(|p| p.del(&w.request_on(Command::Del, "c1", "net2", net_b.clone())))
        .unwrap();
    assert_eq!(w.host_nl().link_by_name("vf1").unwrap().mtu, Some(1500));
    assert!(w.plugin.records.all().unwrap().is_empty());
}

/// GC keeps going past an attachment it cannot tear down (here its VF's lock file cannot be
/// opened), like DEL does: the other stale attachment is restored and its record goes, and
/// the failure is reported with the others at the end.
#[test]
fn gc_keeps_going_past_an_attachment_it_cannot_tear_down() {
    if !root_or_skip("gc_keeps_going_past_an_attachment_it_cannot_tear_down") {
        return;
    }
    let w = World::new("gcgoes");
    let first = conf(json!({"mtu": 1400}));
    let second = conf(json!({"deviceID": VF2, "mtu": 1450}));
    w.run(|p| p.add(&w.request(Command::Add, "c1", first.clone())))
        .unwrap();
    w.run(|p| p.add(&w.request_on(Command::Add, "c2", "net2", second)))
        .unwrap();
    // c1's VF lock can no longer be taken: a directory stands where its lock file was.
    let lock = w.dir.join("state").join(format!("{VF}.lock"));
    std::fs::remove_file(&lock).unwrap();
    std::fs::create_dir(&lock).unwrap();

    let mut none = first;
    none["cni.dev/valid-attachments"] = json!([]);
    let e = w
        .run(|p| p.gc(&w.request(Command::Gc, "", none)))
        .unwrap_err();
    assert_eq!(e.code, sriov::codes::KERNEL_REFUSED, "{e:?}");
    assert!(e.msg.starts_with("GC: 1 step(s) failed: "), "{}", e.msg);
    assert!(e.msg.contains(&format!("{VF}.lock")), "{}", e.msg);
    assert_eq!(
        w.host_nl().link_by_name("vf1").unwrap().mtu,
        Some(1500),
        "the other stale attachment's VF is back"
    );
    assert!(w.pod_nl().link_by_name("net2").unwrap_err().is_not_found());
    let left = w.plugin.records.all().unwrap();
    assert_eq!(
        left.iter()
            .map(|r| (r.container_id.as_str(), r.ifname.as_str()))
            .collect::<Vec<_>>(),
        [("c1", "net1")],
        "only the attachment GC could not tear down keeps its record"
    );
    std::fs::remove_dir(&lock).unwrap();
}

#[test]
fn del_without_a_record_still_brings_the_vf_home() {
    if !root_or_skip("del_without_a_record_still_brings_the_vf_home") {
        return;
    }
    let w = World::new("norecord");
    w.install_ipam(false);
    let c = conf(json!({"ipam": {"type": "fake-ipam"}}));
    w.run(|p| p.add(&w.request(Command::Add, "c1", c.clone())))
        .unwrap();
    // The record is lost (another version wrote none, or the disk was wiped).
    for r in w.plugin.records.all().unwrap() {
        w.plugin.records.remove(&r.container_id, &r.ifname).unwrap();
    }
    w.run(|p| p.del(&w.request(Command::Del, "c1", c.clone())))
        .unwrap();
    // Its original name is unknown: it comes home as <pf>v<index>.
    assert!(w.host_nl().link_by_name("pf0v0").is_ok());
    assert!(w.pod_nl().link_by_name("net1").unwrap_err().is_not_found());
    assert_eq!(
        w.ipam_log().matches("DEL").count(),
        1,
        "IPAM released anyway"
    );
}

/// What ADD writes for VF in this tree (compact, as sriov always wrote it).
const OUR_DEVINFO: &str = r#"{"type":"pci","version":"1.1.0","pci":{"pci-address":"0000:00:0a.1","pf-pci-address":"0000:00:0a.0"}}"#;

fn with_devinfo(path: &Path) -> Value {
    conf(json!({"ipam": {"type": "fake-ipam"},
        "runtimeConfig": {"CNIDeviceInfoFile": path.display().to_string()}}))
}

/// Hostile: CNIDeviceInfoFile names a file outside the device-info tree. ADD refuses it
/// (code 7, naming the field and the tree) before any change; DEL with the same config
/// succeeds and leaves the file alone, even without a record and with content that looks
/// like ours.
#[test]
fn devinfo_outside_the_tree_is_refused_at_add_and_left_alone_by_del() {
    if !root_or_skip("devinfo_outside_the_tree_is_refused_at_add_and_left_alone_by_del") {
        return;
    }
    let w = World::new("devinfo-outside");
    w.install_ipam(false);
    let victim = w.dir.join("victim.json");
    std::fs::write(&victim, OUR_DEVINFO).unwrap();
    let c = with_devinfo(&victim);
    let e = w
        .run(|p| p.add(&w.request(Command::Add, "c1", c.clone())))
        .unwrap_err();
    assert_eq!(e.code, 7, "{}", e.msg);
    assert!(
        e.msg.starts_with("runtimeConfig.CNIDeviceInfoFile:")
            && e.msg.contains("/run/k8s.cni.cncf.io/devinfo"),
        "{}",
        e.msg
    );
    assert!(w.host_nl().link_by_name("vf0").is_ok(), "nothing changed");
    assert!(w.plugin.records.all().unwrap().is_empty());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), OUR_DEVINFO);
    w.run(|p| p.del(&w.request(Command::Del, "c1", c.clone())))
        .unwrap();
    assert!(
        victim.exists(),
        "DEL removed a file outside the device-info tree"
    );
}

/// Hostile: DEL without a record removes only a file that is recognisably this attachment's
/// (exactly what ADD writes for the VF); another file at the path is left in place.
#[test]
fn del_without_a_record_removes_only_its_own_device_info_file() {
    if !root_or_skip("del_without_a_record_removes_only_its_own_device_info_file") {
        return;
    }
    let w = World::new("devinfo-foreign");
    w.install_ipam(false);
    let tree = DevinfoDir::new("sriov-foreign");
    tree.create();
    let path = tree.file("net1.json");
    let c = with_devinfo(&path);
    for foreign in [
        "ssh-ed25519 AAAA attacker\n",
        r#"{"type":"pci","version":"1.1.0","pci":{"pci-address":"0000:00:0a.2"}}"#,
    ] {
        std::fs::write(&path, foreign).unwrap();
        w.run(|p| p.del(&w.request(Command::Del, "c1", c.clone())))
            .unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), foreign);
    }
    std::fs::write(&path, OUR_DEVINFO).unwrap();
    w.run(|p| p.del(&w.request(Command::Del, "c1", c.clone())))
        .unwrap();
    assert!(!path.exists(), "recognisably ours: removed");

    // ADD wrote it, the record is lost: still recognisably ours.
    w.run(|p| p.add(&w.request(Command::Add, "c1", c.clone())))
        .unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), OUR_DEVINFO);
    for r in w.plugin.records.all().unwrap() {
        w.plugin.records.remove(&r.container_id, &r.ifname).unwrap();
    }
    w.run(|p| p.del(&w.request(Command::Del, "c1", c.clone())))
        .unwrap();
    assert!(!path.exists());
}

/// device-info spec §5.1.2: a file already at the path at ADD (Multus copied the device
/// plugin's) is kept as it is, and DEL (from the record) does not remove it.
#[test]
fn a_device_info_file_already_there_is_kept_and_survives_del() {
    if !root_or_skip("a_device_info_file_already_there_is_kept_and_survives_del") {
        return;
    }
    let w = World::new("devinfo-kept");
    w.install_ipam(false);
    let tree = DevinfoDir::new("sriov-kept");
    tree.create();
    let path = tree.file("net1.json");
    let from_dp = r#"{"type":"pci","version":"1.1.0","pci":{"pci-address":"0000:00:0a.1","rdma-device":"mlx5_3"}}"#;
    std::fs::write(&path, from_dp).unwrap();
    let c = with_devinfo(&path);
    w.run(|p| p.add(&w.request(Command::Add, "c1", c.clone())))
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        from_dp,
        "not written over"
    );
    let r = serde_json::to_value(w.plugin.records.all().unwrap().remove(0)).unwrap();
    assert_eq!(r["deviceInfoFile"], Value::Null, "{r}");
    assert_eq!(r["deviceInfoKept"], json!(path), "{r}");
    w.run(|p| p.del(&w.request(Command::Del, "c1", c.clone())))
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        from_dp,
        "DEL keeps it"
    );
    assert!(w.host_nl().link_by_name("vf0").is_ok());
}

/// Hostile: a directory of the device-info tree is a symlink to elsewhere. ADD refuses it
/// before any change and writes nothing through it; DEL leaves the target alone.
#[test]
fn a_symlinked_directory_in_the_device_info_tree_is_refused() {
    if !root_or_skip("a_symlinked_directory_in_the_device_info_tree_is_refused") {
        return;
    }
    let w = World::new("devinfo-symlink");
    w.install_ipam(false);
    let tree = DevinfoDir::new("sriov-symlink");
    tree.create();
    let target = w.dir.join("target");
    std::fs::create_dir_all(&target).unwrap();
    std::os::unix::fs::symlink(&target, tree.file("link")).unwrap();
    let c = with_devinfo(&tree.file("link/net1.json"));
    let e = w
        .run(|p| p.add(&w.request(Command::Add, "c1", c.clone())))
        .unwrap_err();
    assert_eq!(e.code, 7, "{}", e.msg);
    assert!(e.msg.contains("symbolic link"), "{}", e.msg);
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
    assert!(w.host_nl().link_by_name("vf0").is_ok(), "nothing changed");
    assert!(w.plugin.records.all().unwrap().is_empty());
    std::fs::write(target.join("net1.json"), OUR_DEVINFO).unwrap();
    w.run(|p| p.del(&w.request(Command::Del, "c1", c.clone())))
        .unwrap();
    assert!(
        target.join("net1.json").exists(),
        "DEL followed the symlink"
    );
}
