//! give / addresses / verify / take_back against the real kernel: a veth in a scratch "host"
//! namespace stands in for the device's netdev, a second namespace is the pod. Needs root;
//! without it each test prints why it is skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};

use nfv_cni::result::{IpConfig, Route};
use nfv_netlink::{MacAddr, Netlink, Netns};
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
