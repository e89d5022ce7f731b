//! Storms: the built `vdpa` binary run by several "runtimes" at once for the same vDPA device,
//! each pod in its own namespace. Exactly one ADD wins; every loser fails with code 133
//! naming the winner and leaves no record, lease or device-info file; the loser's DEL
//! succeeds and never touches the winner's device; the winner's DEL gives it back. Both
//! modes: virtio_vdpa (the netdev moves) and vhost_vdpa (nothing moves). Also: a loser's DEL
//! issued while the winner's ADD is in flight, and GC with no valid attachment while an ADD
//! is in flight.
//!
//! Each storm prints a `reliability:` line. Needs root and util-linux.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use common::{conf, is_root, vdpa_node, Node, VF};
use nfv_netlink::{Netlink, Netns};
use nfv_testkit::storm::{
    self, install_leases_ipam, leases, names, report, set_ipam_delay, wait_for, Contest, Pods, Tag,
};
use serde_json::{json, Value};

/// The virtio device's netdev in the host (a veth here).
const NETDEV: &str = "eth7";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// `vdpa3` on virtio_vdpa, named by its parent VF.
    Virtio,
    /// `vdpa4` (the simulator's) on vhost_vdpa, named by its name.
    Vhost,
}

impl Mode {
    fn device(self) -> &'static str {
        match self {
            Mode::Virtio => "vdpa3",
            Mode::Vhost => "vdpa4",
        }
    }
}

fn node_for() -> Node {
    let node = vdpa_node();
    install_leases_ipam(&node.dir);
    node.known_netdev_up(NETDEV);
    node
}

fn tag() -> Tag {
    storm::tag("vdpa")
}

/// The device-info file a runtime would ask container `ctr` for (in the tree Multus uses).
fn devinfo_path(ctr: &str) -> PathBuf {
    storm::devinfo_path("vdpa", ctr)
}

fn conf_for(mode: Mode, ctr: &str) -> Value {
    let mut c = conf(json!({"ipam": {"type": "lease-ipam"},
        "runtimeConfig": {"CNIDeviceInfoFile": devinfo_path(ctr)}}));
    match mode {
        Mode::Virtio => {
            c["deviceID"] = json!(VF);
            c["mtu"] = json!(1400);
        }
        Mode::Vhost => c["vdpaDevice"] = json!("vdpa4"),
    }
    c
}

/// Run `command` for `ctr` in pod namespace `netns`.
fn run(node: &Node, command: &str, ctr: &str, netns: &Path, c: &Value) -> (i32, Value) {
    storm::run_in(node, command, ctr, netns, c)
}

fn records(node: &Node) -> Vec<String> {
    let mut v = names(&node.dir.join("varlib/cni/nfv-vdpa"));
    v.retain(|n| n.ends_with(".json"));
    v
}

/// Everything an attachment of `ctr` in `pod` holds: its netdev in the pod, its record
/// (bytes), its lease and its device-info file (bytes).
fn held_by(node: &Node, ctr: &str, pod: &Netns) -> String {
    let in_pod = Netlink::open_in(pod)
        .unwrap()
        .link_by_name("net1")
        .ok()
        .map(|l| (l.name, l.mac, l.mtu, l.admin_up));
    let read = |p: PathBuf| std::fs::read_to_string(p).ok();
    format!(
        "in_pod={in_pod:?} record={:?} lease={} devinfo={:?}",
        read(
            node.dir
                .join(format!("varlib/cni/nfv-vdpa/{ctr}-net1.json"))
        ),
        leases(&node.dir).contains(&format!("{ctr}-net1")),
        read(devinfo_path(ctr)),
    )
}

/// The node with nothing attached: the netdev at home as it was, no record, no lease, no
/// device-info file of `ctrs`.
fn at_rest(node: &Node, ctrs: &[String]) -> String {
    storm::at_rest(node, NETDEV, records(node), devinfo_path, ctrs)
}

/// What the winner must hold in `mode`.
fn assert_holds(mode: Mode, held: &str, what: &str) {
    assert!(
        held.contains("record=Some") && held.contains("lease=true"),
        "{what}: {held}"
    );
    assert!(!held.contains("devinfo=None"), "{what}: {held}");
    if mode == Mode::Virtio {
        assert!(held.starts_with("in_pod=Some"), "{what}: {held}");
    }
}

/// A losing ADD: code 133 naming the device and the winner, and nothing of the loser left.
fn assert_lost(node: &Node, mode: Mode, what: &str, loser: &str, winner: &str, out: &(i32, Value)) {
    let (code, err) = out;
    assert_eq!(*code, 1, "{what}: {loser}: {err}");
    assert_eq!(err["code"], 133, "{what}: {loser}: {err}");
    let msg = err["msg"].as_str().unwrap();
    assert!(
        msg.contains(mode.device()) && msg.contains(&format!("container {winner} ")),
        "{what}: {loser}: the error names the device and its holder: {msg}"
    );
    assert!(
        !node
            .dir
            .join(format!("varlib/cni/nfv-vdpa/{loser}-net1.json"))
            .exists(),
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

/// vdpa's side of a storm for one vDPA device in `mode`.
struct ForOneDevice<'a> {
    node: &'a Node,
    mode: Mode,
}

impl Contest for ForOneDevice<'_> {
    fn conf(&self, ctr: &str) -> Value {
        conf_for(self.mode, ctr)
    }

    fn held_by(&self, ctr: &str, pod: &Netns) -> String {
        held_by(self.node, ctr, pod)
    }

    fn at_rest(&self, ctrs: &[String]) -> String {
        at_rest(self.node, ctrs)
    }

    fn assert_won(&self, what: &str, _result: &Value, held: &str) {
        assert_holds(self.mode, held, what);
    }

    fn assert_lost(&self, what: &str, loser: &str, winner: &str, out: &(i32, Value)) {
        assert_lost(self.node, self.mode, what, loser, winner, out)
    }

    fn record(&self, ctr: &str) -> PathBuf {
        self.node
            .dir
            .join(format!("varlib/cni/nfv-vdpa/{ctr}-net1.json"))
    }
}

/// `rounds` rounds of `n` ADDs for one device at once, then the losers' DELs at once, then
/// the winner's DEL (nfv-testkit's [`storm::race`]).
fn storm(mode: Mode, n: usize, rounds: usize) {
    let node = node_for();
    let contest = ForOneDevice { node: &node, mode };
    let wins = storm::race(&node, &contest, "vdpa", &format!("{mode:?}"), n, rounds);
    report(
        &format!("vdpa {mode:?} mode: ADDs racing for one vDPA device"),
        rounds,
        n,
        &format!(
            "one winner per round (wins per contender {wins:?}); every loser code 133 naming \
             the winner, nothing left; losers' DELs left the winner intact; device back after \
             the winner's DEL"
        ),
    );
}

#[test]
fn adds_racing_for_one_virtio_device() {
    if !is_root() {
        eprintln!("SKIPPED adds_racing_for_one_virtio_device: needs root");
        return;
    }
    storm(Mode::Virtio, 2, 50);
    storm(Mode::Virtio, 8, 20);
}

#[test]
fn adds_racing_for_one_vhost_device() {
    if !is_root() {
        eprintln!("SKIPPED adds_racing_for_one_vhost_device: needs root");
        return;
    }
    storm(Mode::Vhost, 2, 50);
    storm(Mode::Vhost, 8, 20);
}

/// The winner's ADD is slowed down in IPAM (in virtio mode after its netdev moved); once it
/// holds the device, the loser's ADD and the loser's DEL (a runtime that gave up on the ADD)
/// run while it is in flight. `shared`: the loser's pod namespace is the winner's.
fn del_during_add(mode: Mode, rounds: usize, shared: bool) {
    let node = node_for();
    let contest = ForOneDevice { node: &node, mode };
    let label = format!("{mode:?}");
    let overlapped = storm::del_during_add(&node, &contest, "vdpa", &label, rounds, shared);
    report(
        &format!(
            "vdpa {mode:?} mode: the loser's DEL during the winner's ADD{}",
            if shared { " (same pod netns)" } else { "" }
        ),
        rounds,
        2,
        &format!(
            "winner's ADD always succeeded and kept its device ({overlapped} of {rounds} DELs \
             issued while the ADD was in flight); loser code 133, nothing left"
        ),
    );
}

#[test]
fn the_losers_del_during_the_winners_add_takes_nothing() {
    if !is_root() {
        eprintln!("SKIPPED the_losers_del_during_the_winners_add_takes_nothing: needs root");
        return;
    }
    del_during_add(Mode::Virtio, 10, false);
    del_during_add(Mode::Vhost, 10, false);
}

/// Hostile: a second attachment in the winner's own pod namespace, same interface name, same
/// device. Its ADD is refused; its DEL has no record and must not mistake the winner's netdev
/// (in that namespace under the name it asks for) for its own.
#[test]
fn a_del_without_a_record_in_the_winners_netns_takes_nothing() {
    if !is_root() {
        eprintln!("SKIPPED a_del_without_a_record_in_the_winners_netns_takes_nothing: needs root");
        return;
    }
    let node = node_for();
    let pod = node.pod_netns();
    let t = tag();
    let (ctr1, ctr2) = (format!("{t}a"), format!("{t}b"));
    let (code, out) = run(&node, "ADD", &ctr1, &pod, &conf_for(Mode::Virtio, &ctr1));
    assert_eq!(code, 0, "{out}");
    let ns = Netns::open(&pod).unwrap();
    let held = held_by(&node, &ctr1, &ns);
    let lost = run(&node, "ADD", &ctr2, &pod, &conf_for(Mode::Virtio, &ctr2));
    assert_lost(&node, Mode::Virtio, "same netns", &ctr2, &ctr1, &lost);
    let (code, out) = run(&node, "DEL", &ctr2, &pod, &conf_for(Mode::Virtio, &ctr2));
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        held_by(&node, &ctr1, &ns),
        held,
        "ctr2's DEL took ctr1's netdev"
    );
    let (code, out) = run(&node, "DEL", &ctr1, &pod, &conf_for(Mode::Virtio, &ctr1));
    assert_eq!(code, 0, "{out}");
    assert_eq!(at_rest(&node, &[ctr1, ctr2]), at_rest(&node, &[]));
    del_during_add(Mode::Virtio, 5, true);
}

/// GC of the network with no valid attachment, while an ADD of that network is in flight
/// (its record written, IPAM slow): GC never takes the device from under the ADD, nor waits
/// for it to finish and then tears it down: the ADD succeeds and keeps the device. A later GC
/// (the ADD long done, still not in the list) tears the attachment down.
#[test]
fn gc_with_no_valid_attachment_during_an_add_leaves_it_alone() {
    if !is_root() {
        eprintln!("SKIPPED gc_with_no_valid_attachment_during_an_add_leaves_it_alone: needs root");
        return;
    }
    let (mut total, mut total_during) = (0, 0);
    for (mode, rounds) in [(Mode::Virtio, 8), (Mode::Vhost, 8)] {
        let mut during = 0;
        let node = node_for();
        let pods = Pods::new("vdpagc", 1);
        let rest = at_rest(&node, &[]);
        let t = tag();
        set_ipam_delay(&node.dir, Some("0.5"));
        for round in 0..rounds {
            let what = format!("{mode:?} round {round}");
            let ctr = format!("{t}r{round}");
            let c = conf_for(mode, &ctr);
            let gc = json!({"cniVersion": "1.1.0", "name": "vdpa-net", "type": "vdpa",
                "ipam": {"type": "lease-ipam"}, "cni.dev/valid-attachments": []});
            let record = node
                .dir
                .join(format!("varlib/cni/nfv-vdpa/{ctr}-net1.json"));
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
            assert_eq!(added.0, 0, "{what}: ADD: {}", added.1);
            assert_eq!(collected.0, 0, "{what}: GC: {}", collected.1);
            // GC over before the ADD: it ran while the ADD was in flight, and must have left
            // the attachment whole. Over after it (a loaded machine, or a GC that waited for
            // the device): the round proves nothing; the DEL below must still clean up.
            if gc_done < add_done {
                during += 1;
                assert_holds(
                    mode,
                    &held_by(&node, &ctr, &pods.open(0)),
                    &format!("{what}: GC took the attachment of an ADD in flight"),
                );
            }
            // Now the attachment is simply not valid: GC restores it.
            let (code, out) = run(&node, "GC", "", &pods.path(0), &gc);
            assert_eq!(code, 0, "{what}: {out}");
            assert!(records(&node).is_empty(), "{what}");
            let (code, out) = run(&node, "DEL", &ctr, &pods.path(0), &c);
            assert_eq!(code, 0, "{what}: {out}");
            assert_eq!(at_rest(&node, &[ctr]), rest, "{what}");
        }
        assert!(
            during > 0,
            "{mode:?}: no GC returned while the ADD was in flight: it waits for the device"
        );
        total += rounds;
        total_during += during;
    }
    report(
        "vdpa: GC with no valid attachment during an ADD of its network",
        total,
        2,
        &format!(
            "{total_during} of {total} GCs returned while the ADD was in flight (device busy: \
             passed over) and left it whole; a later GC restored it; DEL left nothing"
        ),
    );
}
