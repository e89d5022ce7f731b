//! Storms: the built `sriov` binary run by several "runtimes" at once for the same VF (the same
//! `deviceID`), each pod in its own namespace, as a device plugin handing one VF to two pods
//! (or a hostile NAD naming a VF by hand) would cause. Exactly one ADD wins; every loser fails
//! with code 123 naming the winner and leaves no record, lease or device-info file; the
//! loser's DEL (a runtime always sends one after a failed ADD) succeeds and never touches the
//! winner's VF; the winner's DEL gives the VF back. In netdev mode, userspace-driver mode and
//! for a VF carrying a vDPA device. Also: a loser's DEL issued while the winner's ADD is in
//! flight, and GC with no valid attachment while an ADD is in flight.
//!
//! Each storm prints a `reliability:` line. Needs root and util-linux.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use common::{conf, is_root, sriov_node, Node, VF};
use nfv_netlink::{Netlink, Netns};
use nfv_testkit::storm::{
    self, install_leases_ipam, leases, names, report, set_ipam_delay, wait_for, Contest, Pods, Tag,
};
use nfv_testkit::sysfs::link;
use serde_json::{json, Value};

/// The VF's netdev in the host (the veth standing in for it).
const NETDEV: &str = "enp0s11v1";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Netdev,
    Vfio,
    VdpaVirtio,
}

/// A node for `mode`, with the per-attachment IPAM stub.
fn node_for(mode: Mode) -> Node {
    let node = sriov_node();
    install_leases_ipam(&node.dir);
    match mode {
        Mode::Netdev => {}
        Mode::Vfio => bind_to_vfio(&node),
        Mode::VdpaVirtio => carry_vdpa(&node),
    }
    if node.host_netlink().link_by_name(NETDEV).is_ok() {
        node.known_netdev_up(NETDEV);
    }
    node
}

/// Turn the node's fake VF into one bound to vfio-pci: no netdev, IOMMU group 7.
fn bind_to_vfio(node: &Node) {
    let sys = node.sys();
    let vf = sys.join("devices/pci0000:00").join(VF);
    std::fs::remove_dir_all(vf.join("net")).unwrap();
    std::fs::remove_file(vf.join("driver")).unwrap();
    std::fs::create_dir_all(sys.join("bus/pci/drivers/vfio-pci")).unwrap();
    link("../../../bus/pci/drivers/vfio-pci", vf.join("driver"));
    std::fs::create_dir_all(sys.join("kernel/iommu_groups/7/devices")).unwrap();
    link("../../../kernel/iommu_groups/7", vf.join("iommu_group"));
}

/// Put vDPA device `vdpa1` on the node's fake VF, bound to virtio_vdpa, whose virtio netdev
/// is the veth that stood in for the VF netdev.
fn carry_vdpa(node: &Node) {
    let sys = node.sys();
    let vf = sys.join("devices/pci0000:00").join(VF);
    std::fs::remove_dir_all(vf.join("net")).unwrap();
    std::fs::create_dir_all(sys.join("bus/vdpa/drivers/virtio_vdpa")).unwrap();
    let dev = vf.join("vdpa1");
    std::fs::create_dir_all(dev.join("virtio1/net").join(NETDEV)).unwrap();
    link(
        "../../../../bus/vdpa/drivers/virtio_vdpa",
        dev.join("driver"),
    );
    link(
        &format!("../../../devices/pci0000:00/{VF}/vdpa1"),
        sys.join("bus/vdpa/devices/vdpa1"),
    );
}

fn tag() -> Tag {
    storm::tag("sriov")
}

/// The device-info file a runtime would ask container `ctr` for (in the tree Multus uses).
fn devinfo_path(ctr: &str) -> PathBuf {
    storm::devinfo_path("sriov", ctr)
}

/// The config container `ctr` is added with: the same VF for everyone, its own device-info
/// file; an MTU where there is a netdev.
fn conf_for(mode: Mode, ctr: &str) -> Value {
    let mut c = conf(json!({"ipam": {"type": "lease-ipam"},
        "runtimeConfig": {"CNIDeviceInfoFile": devinfo_path(ctr)}}));
    if mode != Mode::Vfio {
        c["mtu"] = json!(1400);
    }
    c
}

/// Run `command` for `ctr` in pod namespace `netns`.
fn run(node: &Node, command: &str, ctr: &str, netns: &Path, c: &Value) -> (i32, Value) {
    storm::run_in(node, command, ctr, netns, c)
}

fn records(node: &Node) -> Vec<String> {
    let mut v = names(&node.dir.join("varlib/cni/nfv-sriov"));
    v.extend(
        names(&node.dir.join("varlib/cni/nfv-sriov/vdpa"))
            .into_iter()
            .map(|n| format!("vdpa/{n}")),
    );
    v.retain(|n| n.ends_with(".json"));
    v
}

/// Everything an attachment of `ctr` in `pod` holds on the node, as one comparable string:
/// its netdev in the pod (name, MAC, MTU, up), its records (bytes), its lease and its
/// device-info file (bytes).
fn held_by(node: &Node, ctr: &str, pod: &Netns) -> String {
    let in_pod = Netlink::open_in(pod)
        .unwrap()
        .link_by_name("net1")
        .ok()
        .map(|l| (l.name, l.mac, l.mtu, l.admin_up));
    let read = |p: PathBuf| std::fs::read_to_string(p).ok();
    let sriov = node.dir.join("varlib/cni/nfv-sriov");
    format!(
        "in_pod={in_pod:?} record={:?} vdpa_record={:?} lease={} devinfo={:?}",
        read(sriov.join(format!("{ctr}-net1.json"))),
        read(sriov.join(format!("vdpa/{ctr}-net1.json"))),
        leases(&node.dir).contains(&format!("{ctr}-net1")),
        read(devinfo_path(ctr)),
    )
}

/// The node with nothing attached: the netdev at home as it was, no record, no lease, no
/// device-info file of `ctrs`.
fn at_rest(node: &Node, ctrs: &[String]) -> String {
    storm::at_rest(node, NETDEV, records(node), devinfo_path, ctrs)
}

/// A losing ADD: code 123 naming the VF and the winner, and nothing of the loser left.
fn assert_lost(node: &Node, what: &str, loser: &str, winner: &str, out: &(i32, Value)) {
    let (code, err) = out;
    assert_eq!(*code, 1, "{what}: {loser}: {err}");
    assert_eq!(err["code"], 123, "{what}: {loser}: {err}");
    let msg = err["msg"].as_str().unwrap();
    assert!(
        msg.contains(VF) && msg.contains(&format!("container {winner} ")),
        "{what}: {loser}: the error names the VF and its holder: {msg}"
    );
    let sriov = node.dir.join("varlib/cni/nfv-sriov");
    assert!(
        !sriov.join(format!("{loser}-net1.json")).exists()
            && !sriov.join(format!("vdpa/{loser}-net1.json")).exists(),
        "{what}: {loser} left a record"
    );
    assert!(
        !leases(&node.dir).contains(&format!("{loser}-net1")),
        "{what}: {loser} left a lease"
    );
    assert!(
        !devinfo_path(loser).exists(),
        "{what}: {loser} left a device-info file"
    );
}

/// sriov's side of a storm for the node's one VF in `mode`.
struct ForOneVf<'a> {
    node: &'a Node,
    mode: Mode,
}

impl Contest for ForOneVf<'_> {
    fn conf(&self, ctr: &str) -> Value {
        conf_for(self.mode, ctr)
    }

    fn held_by(&self, ctr: &str, pod: &Netns) -> String {
        held_by(self.node, ctr, pod)
    }

    fn at_rest(&self, ctrs: &[String]) -> String {
        at_rest(self.node, ctrs)
    }

    fn assert_won(&self, what: &str, result: &Value, held: &str) {
        assert_eq!(result["interfaces"][0]["pciID"], VF, "{what}: {result}");
        assert!(
            held.contains("record=Some") && held.contains("lease=true"),
            "{what}: {held}"
        );
        if self.mode != Mode::Vfio {
            assert!(held.starts_with("in_pod=Some"), "{what}: {held}");
        }
    }

    fn assert_lost(&self, what: &str, loser: &str, winner: &str, out: &(i32, Value)) {
        assert_lost(self.node, what, loser, winner, out)
    }

    fn record(&self, ctr: &str) -> PathBuf {
        self.node
            .dir
            .join(format!("varlib/cni/nfv-sriov/{ctr}-net1.json"))
    }
}

/// `rounds` rounds of `n` ADDs for one VF at once, then the losers' DELs at once, then the
/// winner's DEL (nfv-testkit's [`storm::race`]).
fn storm(mode: Mode, n: usize, rounds: usize) {
    let node = node_for(mode);
    let contest = ForOneVf { node: &node, mode };
    let wins = storm::race(&node, &contest, "sriov", &format!("{mode:?}"), n, rounds);
    report(
        &format!("sriov {mode:?} mode: ADDs racing for one VF"),
        rounds,
        n,
        &format!(
            "one winner per round (wins per contender {wins:?}); every loser code 123 naming \
             the winner, nothing left; losers' DELs left the winner intact; VF back after \
             the winner's DEL"
        ),
    );
}

#[test]
fn two_adds_for_one_vf_in_netdev_mode() {
    if !is_root() {
        eprintln!("SKIPPED two_adds_for_one_vf_in_netdev_mode: needs root");
        return;
    }
    storm(Mode::Netdev, 2, 50);
}

#[test]
fn eight_adds_for_one_vf_in_netdev_mode() {
    if !is_root() {
        eprintln!("SKIPPED eight_adds_for_one_vf_in_netdev_mode: needs root");
        return;
    }
    storm(Mode::Netdev, 8, 20);
}

#[test]
fn adds_for_one_vf_on_vfio_pci() {
    if !is_root() {
        eprintln!("SKIPPED adds_for_one_vf_on_vfio_pci: needs root");
        return;
    }
    storm(Mode::Vfio, 2, 30);
    storm(Mode::Vfio, 8, 10);
}

#[test]
fn adds_for_one_vf_carrying_a_vdpa_device() {
    if !is_root() {
        eprintln!("SKIPPED adds_for_one_vf_carrying_a_vdpa_device: needs root");
        return;
    }
    storm(Mode::VdpaVirtio, 2, 30);
    storm(Mode::VdpaVirtio, 8, 10);
}

/// On a node, sysfs lists a VF's netdev only while it is in the host's namespace: once the
/// winner's ADD moved it, a loser sees a VF without a netdev. It must still be told who holds
/// the VF (code 123), not that the VF is unusable.
#[test]
fn a_loser_that_sees_no_netdev_is_told_who_holds_the_vf() {
    if !is_root() {
        eprintln!("SKIPPED a_loser_that_sees_no_netdev_is_told_who_holds_the_vf: needs root");
        return;
    }
    let node = node_for(Mode::Netdev);
    let pods = Pods::new("sriovgone", 2);
    let rest = at_rest(&node, &[]);
    let t = tag();
    let (winner, loser) = (format!("{t}w"), format!("{t}l"));
    let (code, out) = run(
        &node,
        "ADD",
        &winner,
        &pods.path(0),
        &conf_for(Mode::Netdev, &winner),
    );
    assert_eq!(code, 0, "{out}");
    let held = held_by(&node, &winner, &pods.open(0));
    // What the host's sysfs shows now that the netdev is in the pod.
    let net = node.sys().join("devices/pci0000:00").join(VF).join("net");
    let moved = net.with_file_name("net.in-pod");
    std::fs::rename(&net, &moved).unwrap();
    let lost = run(
        &node,
        "ADD",
        &loser,
        &pods.path(1),
        &conf_for(Mode::Netdev, &loser),
    );
    assert_lost(&node, "round 0", &loser, &winner, &lost);
    let (code, out) = run(
        &node,
        "DEL",
        &loser,
        &pods.path(1),
        &conf_for(Mode::Netdev, &loser),
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(held_by(&node, &winner, &pods.open(0)), held);
    std::fs::rename(&moved, &net).unwrap();
    let (code, out) = run(
        &node,
        "DEL",
        &winner,
        &pods.path(0),
        &conf_for(Mode::Netdev, &winner),
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(at_rest(&node, &[winner, loser]), rest);
}

/// The winner's ADD is slowed down in IPAM (after its netdev moved); once it holds the VF,
/// the loser's ADD and the loser's DEL (a runtime that gave up on the ADD) run while it is in
/// flight. `shared`: the loser's pod namespace is the winner's.
fn del_during_add(mode: Mode, rounds: usize, shared: bool) {
    let node = node_for(mode);
    let contest = ForOneVf { node: &node, mode };
    let label = format!("{mode:?}");
    let overlapped = storm::del_during_add(&node, &contest, "sriov", &label, rounds, shared);
    report(
        &format!(
            "sriov {mode:?} mode: the loser's DEL during the winner's ADD{}",
            if shared { " (same pod netns)" } else { "" }
        ),
        rounds,
        2,
        &format!(
            "winner's ADD always succeeded and kept its VF ({overlapped} of {rounds} DELs \
             issued while the ADD was in flight); loser code 123, nothing left"
        ),
    );
}

#[test]
fn the_losers_del_during_the_winners_add_takes_nothing() {
    if !is_root() {
        eprintln!("SKIPPED the_losers_del_during_the_winners_add_takes_nothing: needs root");
        return;
    }
    del_during_add(Mode::Netdev, 10, false);
    del_during_add(Mode::Vfio, 5, false);
    del_during_add(Mode::VdpaVirtio, 5, false);
}

/// Hostile: a second attachment in the winner's own pod namespace, same interface name, same
/// VF. Its ADD is refused; its DEL has no record, and must not mistake the winner's netdev
/// (in that namespace under the name it asks for) for its own.
#[test]
fn a_del_without_a_record_in_the_winners_netns_takes_nothing() {
    if !is_root() {
        eprintln!("SKIPPED a_del_without_a_record_in_the_winners_netns_takes_nothing: needs root");
        return;
    }
    for mode in [Mode::Netdev, Mode::VdpaVirtio] {
        let node = node_for(mode);
        let pod = node.pod_netns();
        let t = tag();
        let (ctr1, ctr2) = (format!("{t}a"), format!("{t}b"));
        let (ctr1, ctr2) = (ctr1.as_str(), ctr2.as_str());
        let (code, out) = run(&node, "ADD", ctr1, &pod, &conf_for(mode, ctr1));
        assert_eq!(code, 0, "{mode:?}: {out}");
        let ns = Netns::open(&pod).unwrap();
        let held = held_by(&node, ctr1, &ns);
        let lost = run(&node, "ADD", ctr2, &pod, &conf_for(mode, ctr2));
        assert_lost(&node, "round 0", ctr2, ctr1, &lost);
        let (code, out) = run(&node, "DEL", ctr2, &pod, &conf_for(mode, ctr2));
        assert_eq!(code, 0, "{mode:?}: {out}");
        assert_eq!(
            held_by(&node, ctr1, &ns),
            held,
            "{mode:?}: ctr2's DEL took ctr1's VF"
        );
        let (code, out) = run(&node, "DEL", ctr1, &pod, &conf_for(mode, ctr1));
        assert_eq!(code, 0, "{mode:?}: {out}");
        assert!(node.host_netlink().link_by_name(NETDEV).is_ok());
    }
    del_during_add(Mode::Netdev, 5, true);
    del_during_add(Mode::VdpaVirtio, 5, true);
}

/// GC of the network with no valid attachment, while an ADD of that network is in flight
/// (its record written, IPAM slow): GC never takes the device from under the ADD: the ADD
/// succeeds and keeps the VF. A later GC (the ADD long done, still not in the list) tears the
/// attachment down, and the runtime's DEL then finds nothing to do but IPAM.
#[test]
fn gc_with_no_valid_attachment_during_an_add_leaves_it_alone() {
    if !is_root() {
        eprintln!("SKIPPED gc_with_no_valid_attachment_during_an_add_leaves_it_alone: needs root");
        return;
    }
    let (mut total, mut total_during) = (0, 0);
    for (mode, rounds) in [(Mode::Netdev, 8), (Mode::Vfio, 4), (Mode::VdpaVirtio, 4)] {
        let mut during = 0;
        let node = node_for(mode);
        let pods = Pods::new("sriovgc", 1);
        let rest = at_rest(&node, &[]);
        let t = tag();
        set_ipam_delay(&node.dir, Some("0.5"));
        for round in 0..rounds {
            let ctr = format!("{t}r{round}");
            let c = conf_for(mode, &ctr);
            let gc = json!({"cniVersion": "1.1.0", "name": "sriov-net", "type": "sriov",
                "ipam": {"type": "lease-ipam"}, "cni.dev/valid-attachments": []});
            let record = node
                .dir
                .join(format!("varlib/cni/nfv-sriov/{ctr}-net1.json"));
            let (added, collected, add_done, gc_done) = std::thread::scope(|s| {
                let add = s.spawn(|| {
                    let out = run(&node, "ADD", &ctr, &pods.path(0), &c);
                    (out, Instant::now())
                });
                wait_for(&record);
                let collected = run(&node, "GC", "", &pods.path(0), &gc);
                let gc_done = Instant::now();
                let (added, add_done) = add.join().unwrap();
                (added, collected, add_done, gc_done)
            });
            assert_eq!(added.0, 0, "{mode:?} round {round}: ADD: {}", added.1);
            assert_eq!(
                collected.0, 0,
                "{mode:?} round {round}: GC: {}",
                collected.1
            );
            // GC over before the ADD: it ran while the ADD was in flight, and must have left
            // the attachment whole. Over after it (a loaded machine, or a GC that waited for
            // the device): the round proves nothing; the DEL below must still clean up.
            if gc_done < add_done {
                during += 1;
                let held = held_by(&node, &ctr, &pods.open(0));
                assert!(
                    held.contains("record=Some") && held.contains("lease=true"),
                    "{mode:?} round {round}: GC took the attachment of an ADD in flight: {held}"
                );
                if mode != Mode::Vfio {
                    assert!(
                        held.starts_with("in_pod=Some"),
                        "{mode:?} round {round}: {held}"
                    );
                }
            }
            // Now the attachment is simply not valid: GC restores it.
            let (code, out) = run(&node, "GC", "", &pods.path(0), &gc);
            assert_eq!(code, 0, "{mode:?} round {round}: {out}");
            assert!(records(&node).is_empty(), "{mode:?} round {round}");
            let (code, out) = run(&node, "DEL", &ctr, &pods.path(0), &c);
            assert_eq!(code, 0, "{mode:?} round {round}: {out}");
            assert_eq!(at_rest(&node, &[ctr]), rest, "{mode:?} round {round}");
        }
        assert!(
            during > 0,
            "{mode:?}: no GC returned while the ADD was in flight: it waits for the VF"
        );
        total += rounds;
        total_during += during;
    }
    report(
        "sriov: GC with no valid attachment during an ADD of its network",
        total,
        2,
        &format!(
            "{total_during} of {total} GCs returned while the ADD was in flight (VF busy: \
             passed over) and left it whole; a later GC restored it; DEL left nothing"
        ),
    );
}
