//! Kernel tests: every test makes its own network namespaces and veths and talks to the real
//! kernel. They need root (CAP_NET_ADMIN + CAP_SYS_ADMIN); without it each test prints why it
//! is skipped and returns. CI runs as root, so there they run.

// Test helpers outside #[test] functions panic on setup failure, like the tests themselves.
#![allow(clippy::expect_used)]

use std::net::IpAddr;

use nfv_netlink::{MacAddr, Netlink, Netns, Route, VlanProto};

fn root_or_skip(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    eprintln!("SKIPPED {test}: kernel tests need root to create network namespaces and veths");
    false
}

/// A fresh namespace and a socket in it. The namespace dies with the handle.
fn sandbox() -> (Netns, Netlink) {
    let ns = Netns::new_anonymous().expect("new netns");
    let nl = Netlink::open_in(&ns).expect("socket in netns");
    (ns, nl)
}

#[test]
fn veth_link_lifecycle() {
    if !root_or_skip("veth_link_lifecycle") {
        return;
    }
    let (_ns, mut nl) = sandbox();
    nl.create_veth("vA", "vB", None).unwrap();
    let a = nl.link_by_name("vA").unwrap();
    assert_eq!(a.name, "vA");
    assert_eq!(a.kind.as_deref(), Some("veth"));
    assert_eq!(a.parent_device, None, "a veth has no bus device behind it");
    assert!(!a.admin_up);
    assert_eq!(nl.link_by_index(a.index).unwrap().name, "vA");

    let mac: MacAddr = "02:aa:bb:cc:dd:01".parse().unwrap();
    nl.set_mac(a.index, mac).unwrap();
    nl.set_mtu(a.index, 1400).unwrap();
    nl.rename(a.index, "renamed0").unwrap();
    nl.set_up(a.index).unwrap();
    let a2 = nl.link_by_index(a.index).unwrap();
    assert_eq!(a2.name, "renamed0");
    assert_eq!(a2.mac, Some(mac));
    assert_eq!(a2.mtu, Some(1400));
    assert!(a2.admin_up);
    assert!(nl.links().unwrap().iter().any(|l| l.name == "renamed0"));

    nl.set_down(a.index).unwrap();
    assert!(!nl.link_by_index(a.index).unwrap().admin_up);

    nl.delete_link(a.index).unwrap();
    let gone = nl.link_by_name("renamed0").unwrap_err();
    assert!(gone.is_not_found(), "{gone}");
    // Deleting one end took the peer too.
    assert!(nl.link_by_name("vB").unwrap_err().is_not_found());
}

#[test]
fn kernel_refusals_come_back_in_words() {
    if !root_or_skip("kernel_refusals_come_back_in_words") {
        return;
    }
    let (_ns, mut nl) = sandbox();
    nl.create_veth("e0", "e1", None).unwrap();
    let e0 = nl.link_by_name("e0").unwrap();

    let dup = nl.create_veth("e0", "e2", None).unwrap_err();
    assert!(dup.is_exists(), "{dup}");

    let clash = nl.rename(e0.index, "e1").unwrap_err();
    assert!(clash.is_exists());
    assert!(
        clash
            .to_string()
            .contains("an interface named e1 already exists"),
        "{clash}"
    );

    let mtu = nl.set_mtu(e0.index, 70000).unwrap_err();
    assert_eq!(mtu.errno(), Some(libc::EINVAL), "{mtu}");
    assert!(
        mtu.to_string()
            .contains("setting MTU 70000 on interface index"),
        "{mtu}"
    );

    let bad = nl.rename(e0.index, "this-name-is-too-long").unwrap_err();
    assert!(bad.to_string().contains("at most 15 bytes"), "{bad}");
}

#[test]
fn move_to_netns_renames_in_the_same_request() {
    if !root_or_skip("move_to_netns_renames_in_the_same_request") {
        return;
    }
    let (host_ns_handle, mut host) = sandbox();
    let (pod_ns, mut pod) = sandbox();
    host.create_veth("hostside", "vfstandin", None).unwrap();
    let vf = host.link_by_name("vfstandin").unwrap();
    host.set_up(vf.index).unwrap();

    host.move_to_netns(vf.index, &pod_ns, Some("net1")).unwrap();
    assert!(host.link_by_name("vfstandin").unwrap_err().is_not_found());
    let in_pod = pod.link_by_name("net1").unwrap();
    assert!(!in_pod.admin_up, "a moved link arrives down");
    assert!(
        in_pod.link_netns_id.is_some(),
        "its veth peer is in another namespace"
    );

    // A second link asking for the same name in the pod is refused with a clear message.
    host.create_veth("other0", "other1", None).unwrap();
    let other = host.link_by_name("other1").unwrap();
    let e = host
        .move_to_netns(other.index, &pod_ns, Some("net1"))
        .unwrap_err();
    assert!(e.is_exists(), "{e}");
    assert!(
        e.to_string()
            .contains("an interface named net1 already exists"),
        "{e}"
    );
    assert!(
        host.link_by_name("other1").is_ok(),
        "a refused move leaves the link where it was"
    );

    // And back, under its original name (what DEL does).
    let host_ns = host.netns().try_clone().unwrap();
    assert!(host_ns.same_as(&host_ns_handle).unwrap());
    pod.move_to_netns(in_pod.index, &host_ns, Some("vfstandin"))
        .unwrap();
    assert!(host.link_by_name("vfstandin").is_ok());
    assert!(pod.link_by_name("net1").unwrap_err().is_not_found());
}

#[test]
fn addresses_and_routes() {
    if !root_or_skip("addresses_and_routes") {
        return;
    }
    let (_ns, mut nl) = sandbox();
    nl.create_veth("r0", "r1", None).unwrap();
    let r0 = nl.link_by_name("r0").unwrap();
    let r1 = nl.link_by_name("r1").unwrap();
    nl.set_up(r0.index).unwrap();
    nl.set_up(r1.index).unwrap();

    let v4 = "10.20.30.2/24".parse().unwrap();
    let v6 = "fd00:20::2/64".parse().unwrap();
    nl.add_address(r0.index, v4).unwrap();
    nl.add_address(r0.index, v6).unwrap();
    let dup = nl.add_address(r0.index, v4).unwrap_err();
    assert!(dup.is_exists(), "{dup}");
    let listed: Vec<_> = nl
        .addresses(Some(r0.index))
        .unwrap()
        .into_iter()
        .map(|a| a.network)
        .collect();
    assert!(listed.contains(&v4), "{listed:?}");
    assert!(listed.contains(&v6), "{listed:?}");
    assert!(nl
        .addresses(Some(r1.index))
        .unwrap()
        .iter()
        .all(|a| a.network != v4));

    let mut route = Route::new("192.168.50.0/24".parse().unwrap());
    route.gateway = Some("10.20.30.1".parse::<IpAddr>().unwrap());
    route.oif = Some(r0.index);
    route.mtu = Some(1300);
    route.advmss = Some(1260);
    route.priority = Some(42);
    nl.add_route(&route).unwrap();
    assert!(nl.add_route(&route).unwrap_err().is_exists());

    let mut in_table = Route::new("0.0.0.0/0".parse().unwrap());
    in_table.gateway = route.gateway;
    in_table.oif = Some(r0.index);
    in_table.table = Some(1234);
    nl.add_route(&in_table).unwrap();

    let routes = nl.routes().unwrap();
    let got = routes
        .iter()
        .find(|r| r.destination == route.destination)
        .expect("route listed");
    assert_eq!(got.gateway, route.gateway);
    assert_eq!(got.oif, Some(r0.index));
    assert_eq!(
        (got.mtu, got.advmss, got.priority, got.table),
        (Some(1300), Some(1260), Some(42), Some(254))
    );
    assert!(routes
        .iter()
        .any(|r| r.table == Some(1234) && r.destination.prefix() == 0));

    let unreachable = {
        let mut r = Route::new("172.16.0.0/16".parse().unwrap());
        r.gateway = Some("10.99.0.1".parse::<IpAddr>().unwrap());
        r.oif = Some(r0.index);
        nl.add_route(&r).unwrap_err()
    };
    assert_eq!(
        unreachable.errno(),
        Some(libc::ENETUNREACH),
        "{unreachable}"
    );
    assert!(unreachable.to_string().contains("gateway is not reachable"));

    nl.del_route(&route).unwrap();
    assert!(nl.del_route(&route).unwrap_err().is_not_found());
    nl.del_address(r0.index, v4).unwrap();
    assert!(nl
        .addresses(Some(r0.index))
        .unwrap()
        .iter()
        .all(|a| a.network != v4));
    let again = nl.del_address(r0.index, v4).unwrap_err();
    assert_eq!(again.errno(), Some(libc::EADDRNOTAVAIL), "{again}");
}

#[test]
fn a_veth_has_an_empty_vf_list_and_vf_settings_are_refused() {
    if !root_or_skip("a_veth_has_an_empty_vf_list_and_vf_settings_are_refused") {
        return;
    }
    let (_ns, mut nl) = sandbox();
    nl.create_veth("pf0", "pf1", None).unwrap();
    let pf = nl.link_by_name("pf0").unwrap();
    assert_eq!(nl.vfs(pf.index).unwrap(), vec![]);
    let missing = nl.vf(pf.index, 0).unwrap_err();
    assert!(
        missing.to_string().contains("no VF with that index"),
        "{missing}"
    );
    // veth has no ndo_set_vf_vlan: the kernel answers EOPNOTSUPP, worded per setting.
    let e = nl
        .set_vf(
            pf.index,
            0,
            &nfv_netlink::VfSetting::Vlan {
                vlan: 10,
                qos: 0,
                proto: VlanProto::Dot1Q,
            },
        )
        .unwrap_err();
    assert!(e.is_not_supported(), "{e}");
    assert!(e.to_string().contains("VF 0"), "{e}");
    let e = nl
        .set_vf(
            pf.index,
            0,
            &nfv_netlink::VfSetting::LinkState(nfv_netlink::VfLinkState::Enable),
        )
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("the PF driver does not support VF link state"),
        "{e}"
    );
}

#[test]
fn socket_opened_in_a_netns_stays_there_while_the_thread_returns() {
    if !root_or_skip("socket_opened_in_a_netns_stays_there_while_the_thread_returns") {
        return;
    }
    let before = Netns::current().unwrap();
    let (ns, mut nl) = sandbox();
    assert!(Netns::current().unwrap().same_as(&before).unwrap());
    nl.create_veth("only-here", "peer-here", None).unwrap();
    // The host-side socket does not see it.
    let mut here = Netlink::open().unwrap();
    assert!(here.link_by_name("only-here").unwrap_err().is_not_found());
    assert!(nl.link_by_name("only-here").is_ok());

    {
        let _guard = ns.enter().unwrap();
        assert!(Netns::current().unwrap().same_as(&ns).unwrap());
        let mut inside = Netlink::open().unwrap();
        assert!(inside.link_by_name("only-here").is_ok());
    }
    assert!(Netns::current().unwrap().same_as(&before).unwrap());
}

#[test]
fn run_in_reaches_the_namespace_sysctls() {
    if !root_or_skip("run_in_reaches_the_namespace_sysctls") {
        return;
    }
    let path = "/proc/sys/net/ipv4/ip_default_ttl";
    let host_value = std::fs::read_to_string(path).unwrap();
    let (ns, _nl) = sandbox();
    let new_value = if host_value.trim() == "77" {
        "78"
    } else {
        "77"
    };
    ns.run_in(|| std::fs::write(path, new_value))
        .unwrap()
        .unwrap();
    let inside = ns
        .run_in(|| std::fs::read_to_string(path))
        .unwrap()
        .unwrap();
    assert_eq!(inside.trim(), new_value);
    assert_eq!(std::fs::read_to_string(path).unwrap(), host_value);
}

#[test]
fn named_namespaces_and_bad_paths() {
    if !root_or_skip("named_namespaces_and_bad_paths") {
        return;
    }
    let name = format!("nfvnl-test-{}", std::process::id());
    let ns = Netns::create_named(&name).unwrap();
    let again = Netns::open(format!("/run/netns/{name}")).unwrap();
    assert!(ns.same_as(&again).unwrap());
    assert!(Netns::create_named(&name).is_err(), "the name is taken");
    let mut nl = Netlink::open_in(&again).unwrap();
    assert!(nl.link_by_name("lo").is_ok());
    drop((ns, again, nl));
    Netns::delete_named(&name).unwrap();
    Netns::delete_named(&name).unwrap(); // already gone is fine

    let missing = Netns::open(format!("/run/netns/{name}")).unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
    let not_ns = Netns::open("/proc/self/status").unwrap_err();
    assert!(not_ns.to_string().contains("not a namespace"), "{not_ns}");
}

#[test]
fn physical_links_name_their_bus_device() {
    if !root_or_skip("physical_links_name_their_bus_device") {
        return;
    }
    // Read-only, in the host namespace: every link with a sysfs device reports it.
    let mut nl = Netlink::open().unwrap();
    let mut checked = 0;
    for link in nl.links().unwrap() {
        let dev = format!("/sys/class/net/{}/device", link.name);
        let Ok(target) = std::fs::canonicalize(&dev) else {
            continue;
        };
        let want = target.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            link.parent_device.as_deref(),
            Some(want.as_str()),
            "{}",
            link.name
        );
        checked += 1;
    }
    if checked == 0 {
        eprintln!("note: no physical links on this machine; parent_device only checked on veth");
    }
}

#[test]
fn generic_netlink_families_resolve_and_vdpa_is_optional() {
    if !root_or_skip("generic_netlink_families_resolve_and_vdpa_is_optional") {
        return;
    }
    // The controller always exists, with its fixed ID.
    assert_eq!(
        nfv_netlink::generic_family_id("nlctrl").unwrap(),
        Some(0x10)
    );
    assert_eq!(
        nfv_netlink::generic_family_id("no-such-family").unwrap(),
        None
    );
    // vdpa is there exactly when the vdpa bus is.
    let loaded = std::path::Path::new("/sys/bus/vdpa").exists();
    match nfv_netlink::VdpaNetlink::open().unwrap() {
        None => assert!(!loaded, "vdpa bus present but no vdpa family"),
        Some(mut v) => {
            assert!(loaded);
            for d in v.devices().unwrap() {
                assert_eq!(v.device(&d.name).unwrap(), d);
            }
        }
    }
}
