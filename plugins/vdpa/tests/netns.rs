//! Host tier: the plugin's verbs in real network namespaces, with a veth standing in for the
//! virtio netdev of a virtio_vdpa device and a fake sysfs tree (a VF carrying `vdpa0` on
//! vhost_vdpa and `vdpa1` on virtio_vdpa whose netdev is the veth). The "host" is a scratch
//! namespace the test thread enters; the pod is a named namespace. Real vDPA devices are
//! exercised in the lab (conformance/lab/cases/3x-vdpa-*).
//!
//! Needs root; without it each test prints why it is skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use nfv_cni::{Command, Plugin, Request};
use nfv_netlink::{MacAddr, Netns};
use nfv_pci::Sysfs;
use nfv_testkit::devinfo::DevinfoDir;
use nfv_testkit::{root_or_skip, Sandbox};
use nfv_vdpa::codes;
use nfv_vdpa::Vdpa;
use serde_json::{json, Value};
use vdpa::VdpaPlugin;

const VF0: &str = "0000:00:0c.2";
const VF1: &str = "0000:00:0c.3";
const PF: &str = "0000:00:0c.0";
const NETDEV: &str = "eth5";

/// One test's world: host namespace with the stand-in netdev, pod namespace, fake sysfs,
/// state directory, scripted IPAM (nfv-testkit's [`World`](nfv_testkit::World), which it
/// derefs to).
struct World {
    w: nfv_testkit::World<VdpaPlugin>,
    mac: MacAddr,
    /// Device-info files go in the real device-info tree (the only place they may go).
    tree: DevinfoDir,
}

impl std::ops::Deref for World {
    type Target = nfv_testkit::World<VdpaPlugin>;
    fn deref(&self) -> &nfv_testkit::World<VdpaPlugin> {
        &self.w
    }
}

impl World {
    fn new(tag: &str) -> World {
        let sb = Sandbox::new(&format!("vdpa-{tag}"), "vdpat");
        let mut nl = sb.host_nl();
        nl.create_veth(NETDEV, "eth5peer", None).unwrap();
        let mac: MacAddr = "02:00:00:00:0a:01".parse().unwrap();
        let l = nl.link_by_name(NETDEV).unwrap();
        nl.set_mac(l.index, mac).unwrap();
        nl.set_mtu(l.index, 1500).unwrap();
        fake_sysfs(&sb.dir.join("sys"));
        let plugin = VdpaPlugin(Vdpa {
            sysfs: Sysfs::at(sb.dir.join("sys")),
            records: nfv_vdpa::record::store(sb.dir.join("state")),
            use_netlink: false,
            check_dev_nodes: false,
        });
        let w = World {
            w: nfv_testkit::World::new(sb, plugin),
            mac,
            tree: DevinfoDir::new(&format!("vdpa-{tag}")),
        };
        w.install_ipam(false);
        w
    }

    fn request(&self, command: Command, container: &str, conf: Value) -> Request {
        self.w.request(command, container, &conf)
    }

    fn devinfo(&self) -> PathBuf {
        self.tree.file("net1.json")
    }

    fn conf(&self, extra: Value) -> Value {
        let mut c = json!({"cniVersion": "1.1.0", "name": "vdpa-net", "type": "vdpa",
            "ipam": {"type": "fake-ipam"},
            "runtimeConfig": {"CNIDeviceInfoFile": self.devinfo()}});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    }

    /// The stand-in netdev is home as it was.
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

/// A PF with two VFs, each carrying a vDPA device: vdpa0 on vhost_vdpa, vdpa1 on virtio_vdpa
/// whose netdev is `eth5` (the veth).
fn fake_sysfs(root: &Path) {
    let devs = root.join("devices/pci0000:00");
    let link = |target: &str, name: PathBuf| {
        std::fs::create_dir_all(name.parent().unwrap()).unwrap();
        symlink(target, name).unwrap();
    };
    for d in [PF, VF0, VF1] {
        std::fs::create_dir_all(devs.join(d)).unwrap();
        link(
            &format!("../../../devices/pci0000:00/{d}"),
            root.join("bus/pci/devices").join(d),
        );
    }
    for (i, vf) in [VF0, VF1].iter().enumerate() {
        link(
            &format!("../{vf}"),
            devs.join(PF).join(format!("virtfn{i}")),
        );
        link(&format!("../{PF}"), devs.join(vf).join("physfn"));
    }
    for drv in ["vhost_vdpa", "virtio_vdpa"] {
        std::fs::create_dir_all(root.join("bus/vdpa/drivers").join(drv)).unwrap();
    }
    let d0 = devs.join(VF0).join("vdpa0");
    std::fs::create_dir_all(d0.join("vhost-vdpa-0")).unwrap();
    link("../../../../bus/vdpa/drivers/vhost_vdpa", d0.join("driver"));
    link(
        &format!("../../../devices/pci0000:00/{VF0}/vdpa0"),
        root.join("bus/vdpa/devices/vdpa0"),
    );
    let d1 = devs.join(VF1).join("vdpa1");
    std::fs::create_dir_all(d1.join("virtio1/net").join(NETDEV)).unwrap();
    link(
        "../../../../bus/vdpa/drivers/virtio_vdpa",
        d1.join("driver"),
    );
    link(
        &format!("../../../devices/pci0000:00/{VF1}/vdpa1"),
        root.join("bus/vdpa/devices/vdpa1"),
    );
}

#[test]
fn virtio_add_check_del_gives_the_netdev_back_as_it_was() {
    if !root_or_skip("virtio_add_check_del_gives_the_netdev_back_as_it_was") {
        return;
    }
    let w = World::new("virtio");
    let conf = w.conf(json!({"deviceID": VF1, "driver": "virtio", "mtu": 1400,
        "mac": "02:00:00:00:0b:07"}));
    let result = w
        .run(|p| p.add(&w.request(Command::Add, "ctr1", conf.clone())))
        .unwrap();
    let iface = &result.interfaces[0];
    assert_eq!(iface.name, "net1");
    assert_eq!(iface.mac.as_deref(), Some("02:00:00:00:0b:07"));
    assert_eq!(iface.mtu, Some(1400));
    assert_eq!(iface.pci_id.as_deref(), Some(VF1));
    assert_eq!(result.ips[0].address.to_string(), "10.9.0.5/24");
    assert_eq!(result.ips[0].interface, Some(0));

    let mut pod = w.pod_nl();
    let net1 = pod.link_by_name("net1").unwrap();
    assert!(net1.admin_up);
    assert_eq!(net1.mtu, Some(1400));
    let addrs: Vec<String> = pod
        .addresses(Some(net1.index))
        .unwrap()
        .into_iter()
        .map(|a| a.network.to_string())
        .collect();
    assert!(addrs.contains(&"10.9.0.5/24".to_string()), "{addrs:?}");
    assert!(pod
        .routes()
        .unwrap()
        .iter()
        .any(|r| r.destination.to_string() == "10.50.0.0/16"));
    assert!(w.host_nl().link_by_name(NETDEV).is_err(), "left the host");
    let info: Value = serde_json::from_slice(&std::fs::read(w.devinfo()).unwrap()).unwrap();
    assert_eq!(
        info,
        json!({"type": "vdpa", "version": "1.1.0", "vdpa": {"parent-device": "vdpa1",
            "driver": "virtio", "pci-address": VF1, "pf-pci-address": PF}})
    );
    // 0444, as nadutils writes device-info files (earlier releases wrote 0644).
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(w.devinfo()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o444);

    // CHECK against prevResult; then a change behind the plugin's back is noticed.
    let mut check = conf.clone();
    check["prevResult"] = result.to_version("1.1.0").unwrap();
    w.run(|p| p.check(&w.request(Command::Check, "ctr1", check.clone())))
        .unwrap();
    pod.set_mtu(net1.index, 1300).unwrap();
    let e = w
        .run(|p| p.check(&w.request(Command::Check, "ctr1", check.clone())))
        .unwrap_err();
    assert_eq!(e.code, codes::DEVICE_UNUSABLE);
    assert!(e.msg.contains("config says 1400"), "{}", e.msg);

    // A second pod cannot take the device.
    let e = w
        .run(|p| p.add(&w.request(Command::Add, "ctr2", conf.clone())))
        .unwrap_err();
    assert_eq!(e.code, codes::DEVICE_IN_USE, "{}", e.msg);

    w.run(|p| p.del(&w.request(Command::Del, "ctr1", conf.clone())))
        .unwrap();
    w.assert_home();
    assert!(!w.devinfo().exists());
    assert!(w.ipam_log().contains("DEL ctr1"));
    assert!(!w.plugin.has_attachment("ctr1", "net1").unwrap());
    w.run(|p| p.del(&w.request(Command::Del, "ctr1", conf.clone())))
        .unwrap();
}

#[test]
fn vhost_add_reports_the_char_device_and_moves_nothing() {
    if !root_or_skip("vhost_add_reports_the_char_device_and_moves_nothing") {
        return;
    }
    let w = World::new("vhost");
    let conf = w.conf(json!({"vdpaDevice": "vdpa0"}));
    let result = w
        .run(|p| p.add(&w.request(Command::Add, "ctr1", conf.clone())))
        .unwrap();
    assert_eq!(result.interfaces[0].name, "net1");
    assert_eq!(result.interfaces[0].pci_id.as_deref(), Some(VF0));
    assert_eq!(result.interfaces[0].mac, None);
    assert_eq!(result.ips[0].address.to_string(), "10.9.0.5/24");
    let info: Value = serde_json::from_slice(&std::fs::read(w.devinfo()).unwrap()).unwrap();
    assert_eq!(info["vdpa"]["driver"], "vhost");
    assert_eq!(info["vdpa"]["path"], "/dev/vhost-vdpa-0");
    assert_eq!(info["vdpa"]["pci-address"], VF0);
    w.assert_home(); // the virtio stand-in was not touched, the pod has only lo

    let mut check = conf.clone();
    check["prevResult"] = result.to_version("1.1.0").unwrap();
    w.run(|p| p.check(&w.request(Command::Check, "ctr1", check)))
        .unwrap();
    // Wrong driver and netdev settings are refused with the field named.
    let e = w
        .run(|p| {
            p.add(&w.request(
                Command::Add,
                "ctr2",
                w.conf(json!({"vdpaDevice": "vdpa0", "mtu": 1400})),
            ))
        })
        .unwrap_err();
    assert!(e.msg.starts_with("mtu:"), "{}", e.msg);
    let e = w
        .run(|p| {
            p.add(&w.request(
                Command::Add,
                "ctr2",
                w.conf(json!({"deviceID": VF0, "driver": "virtio"})),
            ))
        })
        .unwrap_err();
    assert!(e.msg.starts_with("driver:"), "{}", e.msg);

    w.run(|p| p.del(&w.request(Command::Del, "ctr1", conf.clone())))
        .unwrap();
    assert!(!w.devinfo().exists());
    assert!(!w.plugin.has_attachment("ctr1", "net1").unwrap());
}

#[test]
fn a_failed_ipam_add_rolls_everything_back() {
    if !root_or_skip("a_failed_ipam_add_rolls_everything_back") {
        return;
    }
    let w = World::new("rollback");
    w.install_ipam(true);
    let conf = w.conf(json!({"vdpaDevice": "vdpa1", "mtu": 1400, "mac": "02:00:00:00:0b:07"}));
    let e = w
        .run(|p| p.add(&w.request(Command::Add, "ctr1", conf)))
        .unwrap_err();
    assert_eq!(e.code, 11, "IPAM's error is passed on: {}", e.msg);
    w.assert_home();
    assert!(!w.devinfo().exists());
    assert!(!w.plugin.has_attachment("ctr1", "net1").unwrap());
}

#[test]
fn add_refuses_an_interface_name_the_pod_already_uses() {
    if !root_or_skip("add_refuses_an_interface_name_the_pod_already_uses") {
        return;
    }
    let w = World::new("clash");
    w.pod_nl().create_veth("net1", "net1peer", None).unwrap();
    let e = w
        .run(|p| p.add(&w.request(Command::Add, "ctr1", w.conf(json!({"vdpaDevice": "vdpa1"})))))
        .unwrap_err();
    assert_eq!(e.code, codes::IFNAME_IN_USE, "{}", e.msg);
    assert!(w.host_nl().link_by_name(NETDEV).is_ok());
    assert!(!w.plugin.has_attachment("ctr1", "net1").unwrap());
    assert_eq!(w.ipam_log(), "", "IPAM never called");
}

#[test]
fn del_finds_a_netdev_that_fell_back_to_the_host_after_netns_deletion() {
    if !root_or_skip("del_finds_a_netdev_that_fell_back_to_the_host_after_netns_deletion") {
        return;
    }
    let w = World::new("fallback");
    let conf = w.conf(json!({"vdpaDevice": "vdpa1", "mtu": 1400}));
    w.run(|p| p.add(&w.request(Command::Add, "ctr1", conf.clone())))
        .unwrap();
    // What the kernel does with a physical netdev when its namespace dies (a veth would be
    // destroyed instead): it comes back under its pod name.
    let mut pod = w.pod_nl();
    let net1 = pod.link_by_name("net1").unwrap();
    pod.move_to_netns(net1.index, &w.host, None).unwrap();
    Netns::delete_named(&w.pod_name).unwrap();
    w.run(|p| p.del(&w.request(Command::Del, "ctr1", conf.clone())))
        .unwrap();
    let l = w.host_nl().link_by_name(NETDEV).unwrap();
    assert_eq!(l.mtu, Some(1500));
    assert!(!w.plugin.has_attachment("ctr1", "net1").unwrap());
}

#[test]
fn gc_restores_attachments_the_runtime_no_longer_knows() {
    if !root_or_skip("gc_restores_attachments_the_runtime_no_longer_knows") {
        return;
    }
    let w = World::new("gc");
    w.run(|p| p.add(&w.request(Command::Add, "ctr1", w.conf(json!({"vdpaDevice": "vdpa1"})))))
        .unwrap();
    let gc = |valid: Value| {
        json!({"cniVersion": "1.1.0", "name": "vdpa-net", "type": "vdpa",
            "ipam": {"type": "fake-ipam"}, "cni.dev/valid-attachments": valid})
    };
    w.run(|p| {
        p.gc(&w.request(
            Command::Gc,
            "",
            gc(json!([{"containerID": "ctr1", "ifname": "net1"}])),
        ))
    })
    .unwrap();
    assert!(
        w.plugin.has_attachment("ctr1", "net1").unwrap(),
        "still valid"
    );
    assert!(w.pod_nl().link_by_name("net1").is_ok());
    w.run(|p| p.gc(&w.request(Command::Gc, "", gc(json!([])))))
        .unwrap();
    assert!(!w.plugin.has_attachment("ctr1", "net1").unwrap());
    assert!(!w.devinfo().exists());
    w.assert_home();
    assert!(w.ipam_log().contains("GC"));
}

/// GC is per network: GC of network A with no valid attachment tears down A's vhost device
/// only; network B's virtio netdev (same plugin type) stays in the pod with its record, and
/// a record that names no network (an earlier binary's) is left to DEL.
#[test]
fn gc_of_one_network_leaves_the_other_networks_devices_alone() {
    if !root_or_skip("gc_of_one_network_leaves_the_other_networks_devices_alone") {
        return;
    }
    let w = World::new("gcnets");
    let info_a = w.tree.file("a.json");
    let net_a = w.conf(json!({"name": "vdpa-a", "vdpaDevice": "vdpa0",
        "runtimeConfig": {"CNIDeviceInfoFile": info_a}}));
    let net_b = w.conf(json!({"name": "vdpa-b", "vdpaDevice": "vdpa1"}));
    w.run(|p| p.add(&w.request(Command::Add, "ctrA", net_a.clone())))
        .unwrap();
    w.run(|p| p.add(&w.request(Command::Add, "ctrB", net_b.clone())))
        .unwrap();
    let gc = |c: &Value| {
        let mut c = c.clone();
        c["cni.dev/valid-attachments"] = json!([]);
        c
    };

    w.run(|p| p.gc(&w.request(Command::Gc, "", gc(&net_a))))
        .unwrap();
    assert!(!w.plugin.has_attachment("ctrA", "net1").unwrap());
    assert!(!info_a.exists(), "network A's device-info file is gone");
    assert!(
        w.pod_nl().link_by_name("net1").is_ok(),
        "network B's netdev stays in the pod"
    );
    assert!(w.devinfo().exists(), "network B's device-info file stays");
    let left = w.plugin.records.all().unwrap();
    assert_eq!(
        left.iter()
            .map(|r| (r.network.as_str(), r.container_id.as_str()))
            .collect::<Vec<_>>(),
        [("vdpa-b", "ctrB")]
    );

    // A record written by an earlier binary names no network: GC leaves it, DEL handles it.
    let mut old = left[0].clone();
    old.network.clear();
    w.plugin.records.save(&old).unwrap();
    w.run(|p| p.gc(&w.request(Command::Gc, "", gc(&net_b))))
        .unwrap();
    assert!(w.pod_nl().link_by_name("net1").is_ok());
    assert_eq!(w.plugin.records.all().unwrap(), vec![old]);
    w.run(|p| p.del(&w.request(Command::Del, "ctrB", net_b.clone())))
        .unwrap();
    assert!(w.plugin.records.all().unwrap().is_empty());
    w.assert_home();
}

/// GC keeps going past an attachment it cannot tear down (its device's lock file cannot be
/// opened), like DEL does: the other stale attachment is torn down and its record goes, and
/// the failure is reported at the end. Both ways round, so it holds whichever record the
/// directory lists first.
#[test]
fn gc_keeps_going_past_an_attachment_it_cannot_tear_down() {
    if !root_or_skip("gc_keeps_going_past_an_attachment_it_cannot_tear_down") {
        return;
    }
    let w = World::new("gcgoes");
    let info_a = w.tree.file("a.json");
    let vhost = w.conf(json!({"vdpaDevice": "vdpa0",
        "runtimeConfig": {"CNIDeviceInfoFile": info_a}}));
    let virtio = w.conf(json!({"vdpaDevice": "vdpa1"}));
    let add = |ctr: &str, c: &Value| {
        w.run(|p| p.add(&w.request(Command::Add, ctr, c.clone())))
            .unwrap()
    };
    let mut gc = virtio.clone();
    gc["cni.dev/valid-attachments"] = json!([]);
    let broken_gc = |device: &str| {
        let lock = w.dir.join("state").join(format!("{device}.lock"));
        let _ = std::fs::remove_file(&lock);
        std::fs::create_dir(&lock).unwrap();
        let e = w
            .run(|p| p.gc(&w.request(Command::Gc, "", gc.clone())))
            .unwrap_err();
        std::fs::remove_dir(&lock).unwrap();
        assert_eq!(e.code, codes::KERNEL_REFUSED, "{e:?}");
        assert!(e.msg.starts_with("GC: 1 step(s) failed: "), "{}", e.msg);
        assert!(e.msg.contains(&format!("{device}.lock")), "{}", e.msg);
        w.plugin
            .records
            .all()
            .unwrap()
            .into_iter()
            .map(|r| r.container_id)
            .collect::<Vec<_>>()
    };
    add("ctrA", &vhost);
    add("ctrB", &virtio);
    assert_eq!(broken_gc("vdpa0"), ["ctrA"], "only ctrA keeps its record");
    w.assert_home();
    assert!(info_a.exists(), "ctrA was not torn down");

    add("ctrB", &virtio);
    assert_eq!(broken_gc("vdpa1"), ["ctrB"], "only ctrB keeps its record");
    assert!(!info_a.exists(), "ctrA was torn down");
    assert!(
        w.pod_nl().link_by_name("net1").is_ok(),
        "ctrB's netdev stays"
    );

    w.run(|p| p.gc(&w.request(Command::Gc, "", gc.clone())))
        .unwrap();
    assert!(w.plugin.records.all().unwrap().is_empty());
    w.assert_home();
}

#[test]
fn del_without_a_record_still_brings_the_netdev_home() {
    if !root_or_skip("del_without_a_record_still_brings_the_netdev_home") {
        return;
    }
    let w = World::new("norecord");
    let conf = w.conf(json!({"vdpaDevice": "vdpa1"}));
    w.run(|p| p.add(&w.request(Command::Add, "ctr1", conf.clone())))
        .unwrap();
    w.plugin.records.remove("ctr1", "net1").unwrap();
    w.run(|p| p.del(&w.request(Command::Del, "ctr1", conf.clone())))
        .unwrap();
    assert!(
        w.host_nl().link_by_name("vdpa1").is_ok(),
        "home under the vDPA device's name"
    );
    assert!(!w.devinfo().exists());
    assert!(w.ipam_log().contains("DEL ctr1"));
    // A config ADD would refuse does not make DEL fail.
    w.run(|p| {
        p.del(&w.request(
            Command::Del,
            "ctr9",
            w.conf(json!({"deviceID": "bogus", "driver": 5})),
        ))
    })
    .unwrap();
}

/// What ADD writes for vdpa0 (vhost) in this tree (compact, as vdpa always wrote it).
const VDPA0_DEVINFO: &str = r#"{"type":"vdpa","version":"1.1.0","vdpa":{"parent-device":"vdpa0","driver":"vhost","path":"/dev/vhost-vdpa-0","pci-address":"0000:00:0c.2","pf-pci-address":"0000:00:0c.0"}}"#;

/// Hostile: CNIDeviceInfoFile outside the device-info tree. ADD refuses it (code 7, naming
/// the field and the tree) before any change; DEL and CHECK with the same config succeed
/// or fail for their own reasons, never because of it, and leave the file alone.
#[test]
fn devinfo_outside_the_tree_is_refused_at_add_and_left_alone_by_del() {
    if !root_or_skip("devinfo_outside_the_tree_is_refused_at_add_and_left_alone_by_del") {
        return;
    }
    let w = World::new("devinfo-outside");
    let victim = w.dir.join("victim.json");
    std::fs::write(&victim, VDPA0_DEVINFO).unwrap();
    let conf = w.conf(json!({"vdpaDevice": "vdpa0",
        "runtimeConfig": {"CNIDeviceInfoFile": victim}}));
    let e = w
        .run(|p| p.add(&w.request(Command::Add, "ctr1", conf.clone())))
        .unwrap_err();
    assert_eq!(e.code, 7, "{}", e.msg);
    assert!(
        e.msg.starts_with("runtimeConfig.CNIDeviceInfoFile:")
            && e.msg.contains("/run/k8s.cni.cncf.io/devinfo"),
        "{}",
        e.msg
    );
    assert!(!w.plugin.has_attachment("ctr1", "net1").unwrap());
    assert!(!w.ipam_log().contains("ADD"), "refused before IPAM");
    w.run(|p| p.del(&w.request(Command::Del, "ctr1", conf.clone())))
        .unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), VDPA0_DEVINFO);

    // Attached with a good path, CHECK with a config whose path ADD would refuse still checks
    // the attachment, not the path.
    let good = w.conf(json!({"vdpaDevice": "vdpa0"}));
    let result = w
        .run(|p| p.add(&w.request(Command::Add, "ctr1", good.clone())))
        .unwrap();
    let mut check = conf.clone();
    check["prevResult"] = result.to_version("1.1.0").unwrap();
    w.run(|p| p.check(&w.request(Command::Check, "ctr1", check)))
        .unwrap();
    w.run(|p| p.del(&w.request(Command::Del, "ctr1", good)))
        .unwrap();
}

/// Hostile: DEL without a record removes only a file that is recognisably this attachment's
/// (exactly what ADD writes for the device); another file at the path is left in place.
#[test]
fn del_without_a_record_removes_only_its_own_device_info_file() {
    if !root_or_skip("del_without_a_record_removes_only_its_own_device_info_file") {
        return;
    }
    let w = World::new("devinfo-foreign");
    w.tree.create();
    let conf = w.conf(json!({"vdpaDevice": "vdpa0"}));
    for foreign in [
        "ssh-ed25519 AAAA attacker\n",
        r#"{"type":"vdpa","version":"1.1.0","vdpa":{"parent-device":"vdpa1","driver":"virtio"}}"#,
    ] {
        std::fs::write(w.devinfo(), foreign).unwrap();
        w.run(|p| p.del(&w.request(Command::Del, "ctr1", conf.clone())))
            .unwrap();
        assert_eq!(std::fs::read_to_string(w.devinfo()).unwrap(), foreign);
    }
    std::fs::write(w.devinfo(), VDPA0_DEVINFO).unwrap();
    w.run(|p| p.del(&w.request(Command::Del, "ctr1", conf.clone())))
        .unwrap();
    assert!(!w.devinfo().exists(), "recognisably ours: removed");
}

/// device-info spec §5.1.2: a file already at the path at ADD (Multus copied the device
/// plugin's) is kept as it is, and neither ADD's rollback nor DEL removes it.
#[test]
fn a_device_info_file_already_there_is_kept_and_survives_del() {
    if !root_or_skip("a_device_info_file_already_there_is_kept_and_survives_del") {
        return;
    }
    let w = World::new("devinfo-kept");
    w.tree.create();
    let from_dp =
        r#"{"type":"vdpa","version":"1.1.0","vdpa":{"parent-device":"vdpa0","driver":"vhost"}}"#;
    std::fs::write(w.devinfo(), from_dp).unwrap();
    let conf = w.conf(json!({"vdpaDevice": "vdpa0"}));
    w.run(|p| p.add(&w.request(Command::Add, "ctr1", conf.clone())))
        .unwrap();
    assert_eq!(std::fs::read_to_string(w.devinfo()).unwrap(), from_dp);
    w.run(|p| p.del(&w.request(Command::Del, "ctr1", conf.clone())))
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(w.devinfo()).unwrap(),
        from_dp,
        "DEL keeps it"
    );
    // A failed ADD's rollback keeps it too.
    w.install_ipam(true);
    w.run(|p| p.add(&w.request(Command::Add, "ctr1", conf.clone())))
        .unwrap_err();
    assert_eq!(std::fs::read_to_string(w.devinfo()).unwrap(), from_dp);
}

/// Hostile: a directory of the device-info tree is a symlink to elsewhere. ADD refuses it
/// before any change and writes nothing through it.
#[test]
fn a_symlinked_directory_in_the_device_info_tree_is_refused() {
    if !root_or_skip("a_symlinked_directory_in_the_device_info_tree_is_refused") {
        return;
    }
    let w = World::new("devinfo-symlink");
    w.tree.create();
    let target = w.dir.join("target");
    std::fs::create_dir_all(&target).unwrap();
    symlink(&target, w.tree.file("link")).unwrap();
    let conf = w.conf(json!({"vdpaDevice": "vdpa0",
        "runtimeConfig": {"CNIDeviceInfoFile": w.tree.file("link/net1.json")}}));
    let e = w
        .run(|p| p.add(&w.request(Command::Add, "ctr1", conf.clone())))
        .unwrap_err();
    assert_eq!(e.code, 7, "{}", e.msg);
    assert!(e.msg.contains("symbolic link"), "{}", e.msg);
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
    assert!(!w.plugin.has_attachment("ctr1", "net1").unwrap());
}
