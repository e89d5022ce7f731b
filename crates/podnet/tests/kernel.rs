//! give / addresses / verify / take_back against the real kernel: a veth in a scratch "host"
//! namespace stands in for the device's netdev, a second namespace is the pod. Needs root;
//! without it each test prints why it is skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};

use nfv_cni::result::{IpConfig, Route};
use nfv_netlink::{MacAddr, Netlink, Netns, OperState};
use nfv_podnet::announce::announce;
use nfv_podnet::give::{give, PodNetdev, STEPS};
use nfv_podnet::take_back::{bring_home_as, take_back};
use nfv_podnet::verify::{verify, Expected, Mismatch};
use nfv_podnet::{addresses, HostNetdev};

fn root_or_skip(test: &str) -> bool {
    let root = std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    if !root {
        eprintln!("SKIPPED {test}: needs root for namespaces and veths");
    }
    root
}

static SEQ: AtomicU32 = AtomicU32::new(0);

struct World {
    host: Netns,
    pod: Netns,
    pod_name: String,
}

impl World {
    /// Host namespace with `dev0` (MAC 02:00:00:00:0d:01, MTU 1500, up) and a pod namespace.
    fn new() -> World {
        let id = format!(
            "{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        );
        let host = Netns::new_anonymous().unwrap();
        let pod_name = format!("podnet-{id}");
        let pod = Netns::create_named(&pod_name).unwrap();
        let mut nl = Netlink::open_in(&host).unwrap();
        nl.create_veth("dev0", "dev0peer", None).unwrap();
        let l = nl.link_by_name("dev0").unwrap();
        nl.set_mac(l.index, "02:00:00:00:0d:01".parse().unwrap())
            .unwrap();
        nl.set_mtu(l.index, 1500).unwrap();
        nl.set_up(l.index).unwrap();
        World {
            host,
            pod,
            pod_name,
        }
    }

    fn saved(&self) -> HostNetdev {
        HostNetdev::of(
            &Netlink::open_in(&self.host)
                .unwrap()
                .link_by_name("dev0")
                .unwrap(),
        )
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = Netns::delete_named(&self.pod_name);
    }
}

fn ip(a: &str) -> IpConfig {
    IpConfig {
        address: a.parse().unwrap(),
        gateway: None,
        interface: Some(0),
    }
}

#[test]
fn give_configure_verify_and_take_back() {
    if !root_or_skip("give_configure_verify_and_take_back") {
        return;
    }
    let w = World::new();
    let saved = w.saved();
    assert_eq!(saved.mtu, Some(1500));
    assert!(saved.up);
    let mut host = Netlink::open_in(&w.host).unwrap();
    let mut pod = Netlink::open_in(&w.pod).unwrap();
    let link = host.link_by_name("dev0").unwrap();
    let mac: MacAddr = "02:00:00:00:0d:02".parse().unwrap();
    let mut steps = Vec::new();
    let moved = give(
        &mut host,
        &mut pod,
        &w.pod,
        &link,
        &PodNetdev {
            ifname: "net1",
            mac: Some(mac),
            mtu: Some(1400),
        },
        &mut |s| steps.push(s),
    )
    .unwrap();
    assert_eq!(steps, STEPS, "every step reported, in order");
    assert_eq!(
        (moved.name.as_str(), moved.mac, moved.mtu, moved.admin_up),
        ("net1", Some(mac), Some(1400), true)
    );
    assert!(host.link_by_name("dev0").unwrap_err().is_not_found());

    let ips = [ip("10.77.0.5/24")];
    let routes = [Route::new(
        "10.78.0.0/16".parse().unwrap(),
        Some("10.77.0.1".parse().unwrap()),
    )];
    addresses::add(&mut pod, moved.index, &ips, &routes).unwrap();
    let iface = addresses::interface(&moved, Some("/run/netns/x".into()), None);
    assert_eq!(iface.mac.as_deref(), Some("02:00:00:00:0d:02"));

    let mut want = Expected {
        ifname: "net1",
        device: "ignored-for-veth",
        mac: Some(mac),
        mtu: Some(1400),
        addresses: vec!["10.77.0.5/24".parse().unwrap()],
    };
    verify(&mut pod, &want).unwrap();
    want.addresses = vec!["10.77.0.6/24".parse().unwrap()];
    match verify(&mut pod, &want) {
        Err(Mismatch::Differs(m)) => assert!(m.contains("lacks address 10.77.0.6/24"), "{m}"),
        other => panic!("expected a mismatch, got {other:?}"),
    }
    want.addresses.clear();
    want.mtu = Some(9000);
    assert!(matches!(verify(&mut pod, &want), Err(Mismatch::Differs(m)) if m.contains("MTU 1400")));
    want.ifname = "net9";
    assert!(matches!(verify(&mut pod, &want), Err(Mismatch::Netlink(e)) if e.is_not_found()));

    let failures = take_back(&mut host, Some(&w.pod), &saved, "net1", "ignored-for-veth");
    assert!(failures.is_empty(), "{failures:?}");
    let home = host.link_by_name("dev0").unwrap();
    assert_eq!(
        HostNetdev::of(&home),
        saved,
        "name, MAC, MTU and admin state"
    );
    assert!(pod.link_by_name("net1").unwrap_err().is_not_found());

    // Already home: nothing to do, success.
    assert!(take_back(&mut host, Some(&w.pod), &saved, "net1", "x").is_empty());
}

#[test]
fn take_back_finds_it_in_the_host_under_the_pod_name() {
    if !root_or_skip("take_back_finds_it_in_the_host_under_the_pod_name") {
        return;
    }
    let w = World::new();
    let saved = w.saved();
    let mut host = Netlink::open_in(&w.host).unwrap();
    let l = host.link_by_name("dev0").unwrap();
    // What the kernel does with a physical device when its namespace dies.
    host.set_down(l.index).unwrap();
    host.rename(l.index, "net1").unwrap();
    host.set_mtu(l.index, 1300).unwrap();
    let failures = take_back(&mut host, None, &saved, "net1", "x");
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(HostNetdev::of(&host.link_by_name("dev0").unwrap()), saved);
}

#[test]
fn take_back_reports_what_it_cannot_find_and_bring_home_as_without_a_record() {
    if !root_or_skip("take_back_reports_what_it_cannot_find_and_bring_home_as_without_a_record") {
        return;
    }
    let w = World::new();
    let mut host = Netlink::open_in(&w.host).unwrap();
    let gone = HostNetdev {
        name: "nothere0".into(),
        mac: None,
        mtu: None,
        up: false,
    };
    let failures = take_back(&mut host, Some(&w.pod), &gone, "net1", "x");
    assert_eq!(failures.len(), 1);
    assert!(
        failures[0].to_string().contains("not found as net1"),
        "{failures:?}"
    );

    let l = host.link_by_name("dev0").unwrap();
    host.set_down(l.index).unwrap();
    host.move_to_netns(l.index, &w.pod, Some("net1")).unwrap();
    let failures = w
        .host
        .run_in(|| bring_home_as(&w.pod, "net1", "x", "devhome"))
        .unwrap();
    assert!(failures.is_empty(), "{failures:?}");
    assert!(host.link_by_name("devhome").is_ok());
    // Not in the pod (any more): nothing to do.
    let again = w
        .host
        .run_in(|| bring_home_as(&w.pod, "net1", "x", "devhome"))
        .unwrap();
    assert!(again.is_empty());
}

/// `ip` (iproute2) with `args`, for what this crate has no call for (neighbour entries,
/// alternative names); panics on failure.
fn ip_cmd(args: &[&str]) -> String {
    let out = std::process::Command::new("ip")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The MAC the neighbour namespace `ns` has cached for `addr`.
fn neighbour_mac(ns: &str, addr: &str) -> String {
    let out = ip_cmd(&["-n", ns, "-j", "neigh", "show", addr]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v[0]["lladdr"].as_str().unwrap_or_default().to_string()
}

/// A neighbour (a named namespace holding the veth's other end) has an old MAC cached for the
/// pod's addresses, as when the addresses belonged to a pod that is gone: after `announce` it
/// has the new netdev's MAC for both, and the pod's netdev has `arp_notify` and `ndisc_notify`.
#[test]
fn announce_makes_a_neighbour_take_the_new_mac_for_both_families() {
    if !root_or_skip("announce_makes_a_neighbour_take_the_new_mac_for_both_families") {
        return;
    }
    let w = World::new();
    let nbr_name = format!("{}-nbr", w.pod_name);
    let nbr = Netns::create_named(&nbr_name).unwrap();
    let mut host = Netlink::open_in(&w.host).unwrap();
    let peer = host.link_by_name("dev0peer").unwrap();
    host.move_to_netns(peer.index, &nbr, None).unwrap();
    let n = |args: &[&str]| {
        let mut all = vec!["-n", nbr_name.as_str()];
        all.extend_from_slice(args);
        ip_cmd(&all)
    };
    n(&["link", "set", "dev0peer", "up"]);
    n(&["addr", "add", "10.77.0.1/24", "dev", "dev0peer"]);
    n(&["addr", "add", "fd00:77::1/64", "dev", "dev0peer", "nodad"]);
    let mut pod = Netlink::open_in(&w.pod).unwrap();
    let link = host.link_by_name("dev0").unwrap();
    let mac: MacAddr = "02:00:00:00:0d:02".parse().unwrap();
    let want = PodNetdev {
        ifname: "net1",
        mac: Some(mac),
        mtu: None,
    };
    let moved = give(&mut host, &mut pod, &w.pod, &link, &want, &mut |_| {}).unwrap();
    let ips = [ip("10.77.0.5/24"), ip("fd00:77::5/64")];
    addresses::add(&mut pod, moved.index, &ips, &[]).unwrap();
    // The neighbour's stale entries, once its end has carrier again: the kernel flushes a
    // device's entries when it loses carrier (as when its peer left for the pod), and does so
    // asynchronously, so entries made earlier may go at any moment.
    let mut nbr_nl = Netlink::open_in(&nbr).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while nbr_nl.link_by_name("dev0peer").unwrap().oper_state != OperState::Up
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let old = "02:00:00:00:0d:99";
    for a in ["10.77.0.5", "fd00:77::5"] {
        // A flush that was already on its way may still take the entry: set it again until it
        // stays (a busy machine delays the flush; the announcement below is what is tested).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            n(&[
                "neigh", "replace", a, "lladdr", old, "dev", "dev0peer", "nud", "stale",
            ]);
            std::thread::sleep(std::time::Duration::from_millis(50));
            if neighbour_mac(&nbr_name, a) == old || std::time::Instant::now() > deadline {
                break;
            }
        }
        assert_eq!(neighbour_mac(&nbr_name, a), old);
    }

    let problems = announce(&mut pod, &w.pod, moved.index, &ips);
    assert!(problems.is_empty(), "{problems:?}");
    // The neighbour's kernel processes the frames as they arrive; give it a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let updated = || {
        ["10.77.0.5", "fd00:77::5"]
            .iter()
            .all(|a| neighbour_mac(&nbr_name, a) == mac.to_string())
    };
    while !updated() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    for a in ["10.77.0.5", "fd00:77::5"] {
        assert_eq!(neighbour_mac(&nbr_name, a), mac.to_string(), "{a}");
    }
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
    drop(nbr);
    let _ = Netns::delete_named(&nbr_name);
}

/// A netdev carrying its host name as an alternative name cannot be moved home under that
/// name (EEXIST): take_back drops it first.
#[test]
fn take_back_drops_the_host_name_from_the_alternative_names_first() {
    if !root_or_skip("take_back_drops_the_host_name_from_the_alternative_names_first") {
        return;
    }
    let w = World::new();
    let saved = w.saved();
    let mut host = Netlink::open_in(&w.host).unwrap();
    let l = host.link_by_name("dev0").unwrap();
    host.set_down(l.index).unwrap();
    host.move_to_netns(l.index, &w.pod, Some("net1")).unwrap();
    ip_cmd(&[
        "-n",
        &w.pod_name,
        "link",
        "property",
        "add",
        "dev",
        "net1",
        "altname",
        "dev0",
    ]);
    let mut pod = Netlink::open_in(&w.pod).unwrap();
    let net1 = pod.link_by_name("net1").unwrap();
    assert_eq!(pod.alt_names(net1.index).unwrap(), ["dev0"]);
    let failures = take_back(&mut host, Some(&w.pod), &saved, "net1", "x");
    assert!(failures.is_empty(), "{failures:?}");
    let home = host.link_by_name("dev0").unwrap();
    assert!(host.alt_names(home.index).unwrap().is_empty());
}
