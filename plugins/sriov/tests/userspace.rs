//! Userspace-driver mode over a fake sysfs: a VF bound to vfio-pci (with or without an IOMMU)
//! or uio_pci_generic, no netdev. The PF is a veth, so the configs set no VF settings (the lab
//! applies and restores those on igb: conformance/lab/cases/2x-sriov-vfio-*.sh). The verbs run
//! with the thread in a scratch "host" namespace.
//!
//! Needs root for the namespaces; without it each test prints why it is skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use nfv_cni::{code, Command, Plugin};
use nfv_netlink::{Netlink, Netns};
use nfv_testkit::devinfo::DevinfoDir;
use nfv_testkit::sysfs::{bind, pci_device, vf_of};
use nfv_testkit::{root_or_skip, Sandbox};
use serde_json::{json, Value};
use sriov::record::VfMode;
use sriov::Sriov;

const VF: &str = "0000:00:0c.1";
const PF: &str = "0000:00:0c.0";

#[derive(Clone, Copy)]
enum Binding {
    Vfio,
    VfioNoIommu,
    Uio,
}

/// One test's world: a scratch host namespace with the PF veth, a pod namespace, the fake
/// sysfs, state directory and scripted IPAM (nfv-testkit's [`Sandbox`], which it derefs to).
struct World {
    w: nfv_testkit::World<Sriov>,
    sys: PathBuf,
    tree: DevinfoDir,
}

impl std::ops::Deref for World {
    type Target = nfv_testkit::World<Sriov>;
    fn deref(&self) -> &nfv_testkit::World<Sriov> {
        &self.w
    }
}

impl World {
    fn new(binding: Binding) -> World {
        let sb = Sandbox::new("sriov-us", "sriovus");
        sb.host_nl().create_veth("pf0", "pf0peer", None).unwrap();
        let sys = sb.dir.join("sys");
        fake_sysfs(&sys, binding);
        let plugin = Sriov::over(&sys, sb.dir.join("state"));
        sb.install_fake_ipam(
            r#"echo '{"cniVersion":"1.0.0","ips":[{"address":"10.9.0.7/24","gateway":"10.9.0.1"}]}'"#,
        );
        let tree = DevinfoDir::new("sriov-us");
        World {
            w: nfv_testkit::World::new(sb, plugin),
            sys,
            tree,
        }
    }

    /// The device-info file the configs ask for (in the real device-info tree).
    fn devinfo(&self) -> PathBuf {
        self.tree.file("dpdk.json")
    }

    /// Rebind the fake VF to another driver (what an operator or a device plugin might do).
    fn bind(&self, driver: &str) {
        std::fs::remove_file(self.sys.join("devices/pci0000:00").join(VF).join("driver")).unwrap();
        bind(&self.sys, VF, driver);
    }
}

/// A PF (netdev pf0) with one VF bound to a userspace driver, in IOMMU group 12.
fn fake_sysfs(root: &Path, binding: Binding) {
    let pf = pci_device(root, PF);
    let vf = pci_device(root, VF);
    std::fs::create_dir_all(pf.join("net/pf0")).unwrap();
    vf_of(root, PF, 0, VF);
    let driver = match binding {
        Binding::Vfio | Binding::VfioNoIommu => "vfio-pci",
        Binding::Uio => "uio_pci_generic",
    };
    bind(root, VF, driver);
    let group = root.join("kernel/iommu_groups/12");
    std::fs::create_dir_all(group.join("devices")).unwrap();
    if let Binding::VfioNoIommu = binding {
        std::fs::write(group.join("name"), "vfio-noiommu\n").unwrap();
    }
    symlink("../../../kernel/iommu_groups/12", vf.join("iommu_group")).unwrap();
    std::fs::write(pf.join("sriov_numvfs"), "1\n").unwrap();
}

fn conf(devinfo: &Path, extra: Value) -> Value {
    let mut c = json!({"cniVersion": "1.1.0", "name": "dpdk-net", "type": "sriov",
        "deviceID": VF, "ipam": {"type": "fake-ipam"},
        "runtimeConfig": {"CNIDeviceInfoFile": devinfo.display().to_string()}});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

fn device_info(w: &World) -> Value {
    serde_json::from_slice(&std::fs::read(w.devinfo()).unwrap()).unwrap()
}

#[test]
fn a_vfio_vf_is_reported_checked_and_released() {
    if !root_or_skip("a_vfio_vf_is_reported_checked_and_released") {
        return;
    }
    let w = World::new(Binding::Vfio);
    let c = conf(&w.devinfo(), json!({}));
    let result = w
        .run(|p| p.add(&w.request(Command::Add, "c1", &c)))
        .unwrap();
    let iface = &result.interfaces[0];
    assert_eq!(iface.name, "net1");
    assert_eq!(iface.pci_id.as_deref(), Some(VF));
    assert_eq!(iface.mtu, None, "no kernel interface, no MTU");
    assert_eq!(
        iface.sandbox.as_deref(),
        Some(format!("/run/netns/{}", w.pod_name).as_str())
    );
    assert_eq!(result.ips[0].address.to_string(), "10.9.0.7/24");
    assert_eq!(result.ips[0].interface, Some(0));
    // Reported, not configured: the pod has no interface for the address.
    let mut pod =
        Netlink::open_in(&Netns::open(format!("/run/netns/{}", w.pod_name)).unwrap()).unwrap();
    assert!(pod.link_by_name("net1").unwrap_err().is_not_found());

    let info = device_info(&w);
    assert_eq!(info["type"], "pci");
    assert_eq!(info["pci"]["pci-address"], VF);
    assert_eq!(info["pci"]["pf-pci-address"], PF);
    assert_eq!(info["vfio"]["device"], "/dev/vfio/12");
    assert_eq!(info["vfio"]["noiommu"], false);

    let records = w.plugin.records.all().unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].mode, VfMode::Userspace);
    assert_eq!(records[0].driver.as_deref(), Some("vfio-pci"));

    w.run(|p| p.check(&w.request(Command::Check, "c1", &c)))
        .unwrap();
    let busy = w
        .run(|p| p.add(&w.request(Command::Add, "c2", &c)))
        .unwrap_err();
    assert!(
        busy.msg.contains("attached to container c1"),
        "{}",
        busy.msg
    );

    // Taken away from vfio-pci behind the plugin's back: CHECK says so.
    w.bind("igbvf");
    let e = w
        .run(|p| p.check(&w.request(Command::Check, "c1", &c)))
        .unwrap_err();
    assert!(
        e.msg.contains("bound to igbvf, not to vfio-pci"),
        "{}",
        e.msg
    );
    w.bind("vfio-pci");

    w.run(|p| p.del(&w.request(Command::Del, "c1", &c)))
        .unwrap();
    assert!(w.plugin.records.all().unwrap().is_empty());
    assert!(!w.devinfo().exists());
    assert_eq!(w.ipam_log().matches("DEL").count(), 1);
    w.run(|p| p.del(&w.request(Command::Del, "c1", &c)))
        .unwrap();
    assert_eq!(
        w.ipam_log().matches("DEL").count(),
        2,
        "DEL again releases IPAM again"
    );
}

#[test]
fn a_noiommu_group_is_detected_and_reported() {
    if !root_or_skip("a_noiommu_group_is_detected_and_reported") {
        return;
    }
    let w = World::new(Binding::VfioNoIommu);
    let c = conf(&w.devinfo(), json!({}));
    w.run(|p| p.add(&w.request(Command::Add, "c1", &c)))
        .unwrap();
    let info = device_info(&w);
    assert_eq!(info["vfio"]["device"], "/dev/vfio/noiommu-12");
    assert_eq!(info["vfio"]["noiommu"], true);
    w.run(|p| p.del(&w.request(Command::Del, "c1", &c)))
        .unwrap();
}

/// `mtu` in a NAD for a userspace-driver pool: sriov-cni ignores it, and so does ADD here
/// (with a warning); a value that is no MTU at all is still refused, leaving nothing. (It was
/// refused whatever its value before: NADs written for sriov-cni failed.)
#[test]
fn uio_has_no_vfio_group_and_mtu_is_ignored_unless_invalid() {
    if !root_or_skip("uio_has_no_vfio_group_and_mtu_is_ignored_unless_invalid") {
        return;
    }
    let w = World::new(Binding::Uio);
    let bad = conf(&w.devinfo(), json!({"mtu": 20}));
    let e = w
        .run(|p| p.add(&w.request(Command::Add, "c1", &bad)))
        .unwrap_err();
    assert_eq!(e.code, code::INVALID_CONFIG);
    assert!(e.msg.starts_with("mtu:"), "{}", e.msg);
    assert!(w.plugin.records.all().unwrap().is_empty());
    assert_eq!(w.ipam_log(), "", "IPAM never ran");

    let ignored = conf(&w.devinfo(), json!({"mtu": 9000}));
    let result = w
        .run(|p| p.add(&w.request(Command::Add, "c1", &ignored)))
        .unwrap();
    assert_eq!(
        result.interfaces[0].mtu, None,
        "no kernel interface, no MTU"
    );
    w.run(|p| p.check(&w.request(Command::Check, "c1", &ignored)))
        .unwrap();
    w.run(|p| p.del(&w.request(Command::Del, "c1", &ignored)))
        .unwrap();
    assert!(w.plugin.records.all().unwrap().is_empty());

    let c = conf(&w.devinfo(), json!({}));
    let result = w
        .run(|p| p.add(&w.request(Command::Add, "c1", &c)))
        .unwrap();
    assert_eq!(result.interfaces[0].pci_id.as_deref(), Some(VF));
    let info = device_info(&w);
    assert_eq!(info["type"], "pci");
    assert!(info.get("vfio").is_none(), "{info}");
    w.run(|p| p.check(&w.request(Command::Check, "c1", &c)))
        .unwrap();
    w.run(|p| p.del(&w.request(Command::Del, "c1", &c)))
        .unwrap();
}

#[test]
fn del_without_a_record_works_from_the_driver_binding() {
    if !root_or_skip("del_without_a_record_works_from_the_driver_binding") {
        return;
    }
    let w = World::new(Binding::Vfio);
    let c = conf(&w.devinfo(), json!({}));
    w.run(|p| p.add(&w.request(Command::Add, "c1", &c)))
        .unwrap();
    for r in w.plugin.records.all().unwrap() {
        w.plugin.records.remove(&r.container_id, &r.ifname).unwrap();
    }
    // The pod has a net1 of its own (a veth from another plugin): the VF being on vfio-pci
    // says no netdev was moved, so DEL must not take that one out of the pod.
    let pod_ns = Netns::open(format!("/run/netns/{}", w.pod_name)).unwrap();
    let mut pod = Netlink::open_in(&pod_ns).unwrap();
    pod.create_veth("net1", "net1peer", None).unwrap();
    w.run(|p| p.del(&w.request(Command::Del, "c1", &c)))
        .unwrap();
    assert!(pod.link_by_name("net1").is_ok(), "the pod's own net1 stays");
    assert!(!w.devinfo().exists());
    assert_eq!(w.ipam_log().matches("DEL").count(), 1);
}
