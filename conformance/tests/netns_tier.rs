//! The netns tier: our binaries run as a runtime runs them (env + stdin, one process per
//! verb) against throwaway network namespaces, for every cniVersion from 0.1.0 to 1.1.0,
//! with every ADD result compared against `testdata/conformance/expected/`.
//!
//! Normalised, and only these: the namespace path (`<NETNS>`), the host veth's name
//! (`<HOSTVETH>`, derived from the generated container ID) and the MAC addresses the kernel
//! picks for the veth pair (`<HOSTMAC>`, `<MAC>`; each checked to be a unicast address and,
//! for the container end, to be the MAC the link really has).

use nfv_conformance::binaries::{plugin, reference, CniPath};
use nfv_conformance::expected::{assert_matches, is_unicast_mac, load, render_json, Normaliser};
use nfv_conformance::fixture::host_veth_name;
use nfv_conformance::netns::{host_link_by_index, host_links};
use nfv_conformance::prerequisites::{require, require_root, IPROUTE2, REFERENCE_PLUGINS};
use nfv_conformance::scratch::unique_name;
use nfv_conformance::{Invocation, Netns, ScratchDir};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const IFNAME: &str = "net1";
const NETWORK: &str = "vethnet";

fn test_veth() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_nfv-test-veth"))
}

/// One attachment's world: namespace, IPAM data dir, CNI_PATH, container ID and config.
struct World {
    ns: Netns,
    data: ScratchDir,
    path: CniPath,
    container_id: String,
    conf: Value,
}

impl World {
    fn new(version: &str, host_local: PathBuf) -> World {
        require_root();
        require(&[IPROUTE2]);
        let data = ScratchDir::new("netns-data");
        let conf = render_json(
            "netconf/veth.conf",
            &[
                ("VERSION", version),
                ("DATADIR", &data.path().display().to_string()),
            ],
        );
        World {
            ns: Netns::new(),
            data,
            path: CniPath::new(&[("nfv-test-veth", test_veth()), ("host-local", &host_local)]),
            container_id: unique_name("ctr"),
            conf,
        }
    }

    fn ours(version: &str) -> World {
        World::new(version, plugin("host-local"))
    }

    fn call(&self, binary: &str, command: &str, conf: &Value) -> nfv_conformance::Outcome {
        Invocation::attachment(
            &self.path.binary(binary),
            command,
            &self.container_id,
            &self.ns.path(),
            IFNAME,
            self.path.path(),
        )
        .env(
            "CNI_ARGS",
            "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0",
        )
        .stdin_json(conf)
        .run()
    }

    /// The config with `prevResult` set, as a runtime sends it to CHECK and DEL.
    fn with_prev(&self, prev: &Value) -> Value {
        let mut c = self.conf.clone();
        c["prevResult"] = prev.clone();
        c
    }

    fn leases(&self) -> Vec<String> {
        self.data
            .files()
            .into_iter()
            .filter(|f| {
                Path::new(f)
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.parse::<std::net::IpAddr>().is_ok())
            })
            .collect()
    }

    /// host-local's on-disk lease: `<containerID>\r\n<ifname>`, no trailing newline.
    fn assert_lease(&self, ip: &str) {
        let p = self.data.join(&format!("{NETWORK}/{ip}"));
        let content =
            std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("lease {}: {e}", p.display()));
        assert_eq!(content, format!("{}\r\n{IFNAME}", self.container_id));
    }
}

/// Every version the spec has defined.
const ALL_VERSIONS: [&str; 7] = [
    "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0",
];

/// CHECK exists from 0.4.0 on.
fn allows_check(version: &str) -> bool {
    !matches!(version, "0.1.0" | "0.2.0" | "0.3.0" | "0.3.1")
}

/// ADD, kernel state, CHECK, DEL, DEL again: the main plugin with IPAM delegated.
fn veth_lifecycle(version: &str) {
    let w = World::ours(version);
    let added = w.call("nfv-test-veth", "ADD", &w.conf).success();
    let link =
        w.ns.link(IFNAME)
            .unwrap_or_else(|| panic!("{IFNAME} missing after ADD"));
    let mac = link["address"].as_str().unwrap_or_default().to_owned();
    let host = link["link_index"]
        .as_u64()
        .and_then(host_link_by_index)
        .unwrap_or_else(|| panic!("no host peer for {IFNAME}: {link}"));
    let host = host.as_str();
    assert!(is_unicast_mac(&mac), "container MAC {mac:?}");
    assert_eq!(link["mtu"], 1400);
    assert!(
        link["flags"]
            .as_array()
            .is_some_and(|f| f.contains(&json!("UP"))),
        "{IFNAME} is up"
    );
    let routes = w.ns.exec(&["ip", "-4", "route", "show", "default"]);
    assert!(
        routes.contains("via 10.244.0.1 dev net1"),
        "default route: {routes:?}"
    );
    w.assert_lease("10.244.0.2");

    let mut norm = Normaliser::new()
        .replace(&w.ns.path().display().to_string(), "<NETNS>")
        .replace(&mac, "<MAC>");
    // Results below 0.3.0 carry no interfaces.
    if let Some(host_mac) = added["interfaces"][0]["mac"].as_str() {
        assert!(is_unicast_mac(host_mac), "host MAC {host_mac:?}");
        norm = norm
            .replace(host, "<HOSTVETH>")
            .replace(host_mac, "<HOSTMAC>");
    }
    assert_matches(&added, &format!("expected/veth-add-{version}.json"), &norm);

    let prev = w.with_prev(&added);
    if allows_check(version) {
        w.call("nfv-test-veth", "CHECK", &prev).empty_success();
    }
    w.call("nfv-test-veth", "DEL", &prev).empty_success();
    assert_eq!(w.ns.links(), vec!["lo".to_owned()], "DEL removed {IFNAME}");
    assert_eq!(w.leases(), Vec::<String>::new(), "DEL released the lease");
    assert!(
        !host_links().iter().any(|l| l == host),
        "DEL removed the host veth {host}"
    );
    w.call("nfv-test-veth", "DEL", &prev).empty_success();
}

#[test]
fn veth_lifecycle_0_1_0() {
    veth_lifecycle("0.1.0");
}

#[test]
fn veth_lifecycle_0_2_0() {
    veth_lifecycle("0.2.0");
}

#[test]
fn veth_lifecycle_0_3_0() {
    veth_lifecycle("0.3.0");
}

#[test]
fn veth_lifecycle_0_3_1() {
    veth_lifecycle("0.3.1");
}

#[test]
fn veth_lifecycle_0_4_0() {
    veth_lifecycle("0.4.0");
}

#[test]
fn veth_lifecycle_1_0_0() {
    veth_lifecycle("1.0.0");
}

#[test]
fn veth_lifecycle_1_1_0() {
    veth_lifecycle("1.1.0");
}

/// 1.1.0's GC and STATUS go through the runner and are forwarded to IPAM: a GC that lists
/// the attachment as valid keeps its lease.
#[test]
fn gc_and_status_1_1_0() {
    let w = World::ours("1.1.0");
    w.call("nfv-test-veth", "ADD", &w.conf).success();
    let mut gc = w.conf.clone();
    gc["cni.dev/valid-attachments"] = json!([{"containerID": w.container_id, "ifname": IFNAME}]);
    let out = Invocation::new(&w.path.binary("nfv-test-veth"))
        .env("CNI_COMMAND", "GC")
        .env("CNI_PATH", &w.path.path().display().to_string())
        .stdin_json(&gc)
        .run();
    out.empty_success();
    assert_eq!(
        w.leases(),
        vec![format!("{NETWORK}/10.244.0.2")],
        "GC kept a valid attachment's lease"
    );
    for bin in ["nfv-test-veth", "host-local"] {
        Invocation::new(&w.path.binary(bin))
            .env("CNI_COMMAND", "STATUS")
            .env("CNI_PATH", &w.path.path().display().to_string())
            .stdin_json(&w.conf)
            .run()
            .empty_success();
    }
    w.call("nfv-test-veth", "DEL", &w.conf).empty_success();
}

/// DEL must succeed when the namespace is already gone, and still release IPAM.
#[test]
fn del_after_the_netns_is_gone() {
    let mut w = World::ours("1.0.0");
    let added = w.call("nfv-test-veth", "ADD", &w.conf).success();
    let host = added["interfaces"][0]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let gone = w.ns.path();
    w.ns = Netns::new(); // drops (deletes) the first namespace
    assert!(!gone.exists());
    let prev = w.with_prev(&added);
    Invocation::attachment(
        &w.path.binary("nfv-test-veth"),
        "DEL",
        &w.container_id,
        &gone,
        IFNAME,
        w.path.path(),
    )
    .stdin_json(&prev)
    .run()
    .empty_success();
    assert_eq!(w.leases(), Vec::<String>::new());
    assert!(!host_links().contains(&host), "no host veth {host} left");
}

/// CHECK fails with the fixture's mismatch code once the namespace disagrees with prevResult.
#[test]
fn check_detects_a_missing_interface() {
    let w = World::ours("1.1.0");
    let added = w.call("nfv-test-veth", "ADD", &w.conf).success();
    w.ns.exec(&["ip", "link", "del", IFNAME]);
    w.call("nfv-test-veth", "CHECK", &w.with_prev(&added))
        .cni_error(112);
    w.call("nfv-test-veth", "DEL", &w.with_prev(&added))
        .empty_success();
    assert_eq!(w.leases(), Vec::<String>::new());
}

/// host-local run directly: ADD, the lease on disk, CHECK, DEL, per version.
fn host_local_lifecycle(w: &World, version: &str) {
    let added = w.call("host-local", "ADD", &w.conf).success();
    assert_matches(
        &added,
        &format!("expected/host-local-add-{version}.json"),
        &Normaliser::new(),
    );
    w.assert_lease("10.244.0.2");
    if allows_check(version) {
        w.call("host-local", "CHECK", &w.with_prev(&added))
            .empty_success();
    }
    w.call("host-local", "DEL", &w.conf).empty_success();
    assert_eq!(w.leases(), Vec::<String>::new());
    w.call("host-local", "DEL", &w.conf).empty_success();
    assert_eq!(
        w.ns.links(),
        vec!["lo".to_owned()],
        "an IPAM plugin touches no link"
    );
}

#[test]
fn host_local_per_version() {
    for version in ALL_VERSIONS {
        host_local_lifecycle(&World::ours(version), version);
    }
}

/// The same expected files hold for Debian's reference host-local (spec <= 1.0.0): they
/// describe the reference behaviour, not ours restated.
#[test]
fn reference_host_local_matches_the_expected_files() {
    require(&[REFERENCE_PLUGINS]);
    for version in ALL_VERSIONS.iter().copied().filter(|v| *v != "1.1.0") {
        host_local_lifecycle(&World::new(version, reference("host-local")), version);
    }
}

/// VERSION needs nothing but CNI_COMMAND and ignores stdin.
#[test]
fn version_output() {
    let expected = load("expected/version.json");
    for bin in [test_veth().to_path_buf(), plugin("host-local")] {
        let got = Invocation::new(&bin)
            .env("CNI_COMMAND", "VERSION")
            .stdin("not json")
            .run()
            .success();
        assert_eq!(got, expected, "{}", bin.display());
    }
}

/// A panic in the plugin becomes error code 100 with only the error JSON on stdout, after the
/// unwinding released the IPAM lease and deleted the half-made veth pair.
#[test]
fn panic_is_code_100_and_rolls_back() {
    let w = World::ours("1.0.0");
    let mut conf = w.conf.clone();
    conf["panicAfterIpam"] = json!(true);
    let host = host_veth_name(&w.container_id, IFNAME);
    let out = w.call("nfv-test-veth", "ADD", &conf);
    let err = out.cni_error(100);
    assert!(
        err["msg"]
            .as_str()
            .is_some_and(|m| m.contains("panicAfterIpam")),
        "{err}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("stack backtrace"));
    assert_eq!(
        w.leases(),
        Vec::<String>::new(),
        "the lease was released while unwinding"
    );
    assert!(
        w.data.files().iter().any(|f| f.ends_with("lock")),
        "host-local did allocate (its lock file exists)"
    );
    assert!(!host_links().contains(&host), "veth {host} left behind");
    assert_eq!(w.ns.links(), vec!["lo".to_owned()]);
}

/// Sixteen attachments added at once on one network (one dataDir): host-local's lock must
/// hand out sixteen distinct addresses, and sixteen concurrent DELs must release them all.
#[test]
fn concurrent_attachments_get_distinct_addresses() {
    let w = World::ours("1.0.0");
    let pods: Vec<(Netns, String)> = (0..16)
        .map(|_| (Netns::new(), unique_name("ctr")))
        .collect();
    let call = |ns: &Netns, id: &str, command: &str| {
        Invocation::attachment(
            &w.path.binary("nfv-test-veth"),
            command,
            id,
            &ns.path(),
            IFNAME,
            w.path.path(),
        )
        .stdin_json(&w.conf)
        .run()
    };
    let addresses: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = pods
            .iter()
            .map(|(ns, id)| s.spawn(move || call(ns, id, "ADD").success()))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                let r = h.join().unwrap_or_else(|_| panic!("an ADD failed"));
                r["ips"][0]["address"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    });
    let mut distinct = addresses.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        16,
        "addresses handed out twice: {addresses:?}"
    );
    assert_eq!(w.leases().len(), 16);
    std::thread::scope(|s| {
        for (ns, id) in &pods {
            s.spawn(move || call(ns, id, "DEL").empty_success());
        }
    });
    assert_eq!(w.leases(), Vec::<String>::new(), "every lease released");
}
