//! The real-runtime tier: conflists run through Debian's libcni (conformance/libcni), the way
//! containerd and CRI-O run them: result cache, capability args filtered into runtimeConfig,
//! prevResult from the cache for CHECK and DEL, and a chain where Debian's reference `tuning`
//! follows our plugin and must take effect in the namespace.
//!
//! libcni v1.1.2 (bookworm) speaks spec versions up to 1.0.0 and has no GC or STATUS: those
//! verbs are covered by the netns tier instead.

use nfv_conformance::binaries::{plugin, reference, CniPath};
use nfv_conformance::expected::{assert_matches, is_unicast_mac, render, Normaliser};
use nfv_conformance::fixture::host_veth_name;
use nfv_conformance::libcni_driver::Runtime;
use nfv_conformance::netns::host_links;
use nfv_conformance::prerequisites::{require, require_root, IPROUTE2, REFERENCE_PLUGINS};
use nfv_conformance::scratch::unique_name;
use nfv_conformance::{Netns, ScratchDir};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

const NETWORK: &str = "vethchain";
const IFNAME: &str = "net1";
const TUNED_MAC: &str = "0a:58:0a:f2:00:63";

/// Which host-local the fixture delegates IPAM to.
#[derive(Debug, Clone, Copy)]
enum Ipam {
    Ours,
    Reference,
}

fn test_veth() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_nfv-test-veth"))
}

fn cni_path(ipam: Ipam) -> CniPath {
    require_root();
    require(&[IPROUTE2, REFERENCE_PLUGINS]);
    let host_local = match ipam {
        Ipam::Ours => plugin("host-local"),
        Ipam::Reference => reference("host-local"),
    };
    CniPath::new(&[
        ("nfv-test-veth", test_veth()),
        ("host-local", &host_local),
        ("tuning", &reference("tuning")),
    ])
}

/// Everything one attachment of the veth+tuning chain needs, cleaned up on drop.
struct Attachment {
    ns: Netns,
    data: ScratchDir,
    work: ScratchDir,
    rt: Runtime,
    _path: CniPath,
}

impl Attachment {
    fn new(version: &str, ipam: Ipam, mtu: u32) -> Attachment {
        let path = cni_path(ipam);
        let ns = Netns::new();
        let data = ScratchDir::new("libcni-data");
        let work = ScratchDir::new("libcni-work");
        let conflist = work.join("net.conflist");
        render(
            "libcni/veth-tuning.conflist",
            &[
                ("VERSION", version),
                ("DATADIR", &data.path().display().to_string()),
                ("TUNINGDIR", &work.join("tuning").display().to_string()),
                ("RECORD", &work.join("record").display().to_string()),
                ("IFNAME", IFNAME),
                ("MTU", &mtu.to_string()),
            ],
            &conflist,
        );
        let rt = Runtime::new(
            &conflist,
            path.path(),
            &ns.path(),
            IFNAME,
            &unique_name("ctr"),
        );
        Attachment {
            ns,
            data,
            work,
            rt,
            _path: path,
        }
    }

    /// What the fixture recorded for a verb: `{"stdin": .., "cniArgs": ..}`.
    fn recorded(&self, verb: &str) -> Value {
        let p = self.work.join(&format!("record.{verb}"));
        let text = std::fs::read_to_string(&p)
            .unwrap_or_else(|e| panic!("{}: the fixture recorded nothing: {e}", p.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    /// Lease files host-local left (files named by an IP address).
    fn leases(&self) -> Vec<String> {
        leases_in(&self.data)
    }
}

fn leases_in(data: &ScratchDir) -> Vec<String> {
    data.files()
        .into_iter()
        .filter(|f| {
            Path::new(f)
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.parse::<std::net::IpAddr>().is_ok())
        })
        .collect()
}

/// Capability args as a Kubernetes runtime passes them: more than the plugins declare.
fn capabilities() -> String {
    json!({
        "mac": TUNED_MAC,
        "ips": ["10.242.0.99/24"],
        "deviceID": "0000:00:11.2",
        "CNIDeviceInfoFile": "/var/run/k8s.cni.cncf.io/devinfo/cni/vethchain-net1-device.json",
        "bandwidth": {"ingressRate": 1000000, "ingressBurst": 1000000},
        "portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]
    })
    .to_string()
}

fn pod_args(container_id: &str) -> String {
    format!(
        "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID={container_id};K8S_POD_UID=5d3b9a52-6f0e-4d43-9a57-0b1f6c1d2e3f"
    )
}

fn chain_with_tuning(version: &str, ipam: Ipam) {
    let mut a = Attachment::new(version, ipam, 1400);
    a.rt.capabilities = Some(capabilities());
    a.rt.args = Some(pod_args(&a.rt.container_id));

    // ADD: the result is tuning's, built on ours.
    let added = a.rt.run("add").success();
    let host = added["interfaces"][0]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let host_mac = added["interfaces"][0]["mac"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(is_unicast_mac(&host_mac), "host veth MAC {host_mac:?}");
    let norm = Normaliser::new()
        .replace(&a.ns.path().display().to_string(), "<NETNS>")
        .replace(&host, "<HOSTVETH>")
        .replace(&host_mac, "<HOSTMAC>");
    assert_matches(
        &added,
        &format!("expected/libcni-veth-tuning-{version}.json"),
        &norm,
    );

    // The chain took effect in the namespace: tuning's MAC, MTU and sysctl, our address.
    let link =
        a.ns.link(IFNAME)
            .unwrap_or_else(|| panic!("net1 missing from the netns after ADD"));
    assert_eq!(
        link["address"], TUNED_MAC,
        "tuning's mac (capability) is on the link"
    );
    assert_eq!(
        link["mtu"], 1300,
        "tuning's mtu overrides the fixture's 1400"
    );
    assert_eq!(
        a.ns.sysctl(&format!("net/ipv4/conf/{IFNAME}/arp_filter")),
        "1"
    );
    let addrs: Vec<String> = link["addr_info"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["family"] == "inet")
        .map(|i| format!("{}/{}", i["local"].as_str().unwrap_or(""), i["prefixlen"]))
        .collect();
    assert_eq!(
        addrs,
        vec!["10.242.0.99/24"],
        "runtimeConfig.ips reached host-local through our IPAM delegation"
    );
    assert_eq!(a.leases(), vec![format!("{NETWORK}/10.242.0.99")]);

    // What libcni gave our plugin: name and version injected, only declared capabilities.
    let add_in = a.recorded("add");
    assert_eq!(add_in["stdin"]["name"], NETWORK);
    assert_eq!(add_in["stdin"]["cniVersion"], version);
    assert_eq!(
        add_in["stdin"]["runtimeConfig"],
        json!({
            "ips": ["10.242.0.99/24"],
            "deviceID": "0000:00:11.2",
            "CNIDeviceInfoFile": "/var/run/k8s.cni.cncf.io/devinfo/cni/vethchain-net1-device.json"
        }),
        "undeclared (portMappings, mac) and disabled (bandwidth) capabilities must not be passed"
    );
    assert!(
        add_in["stdin"].get("prevResult").is_none(),
        "the first plugin gets no prevResult"
    );
    assert_eq!(add_in["cniArgs"], pod_args(&a.rt.container_id));

    // The runtime cached the result; CHECK and DEL get it back as prevResult.
    assert!(
        a.rt.cache_file(NETWORK).is_file(),
        "libcni cached the ADD result"
    );
    assert_eq!(a.rt.run("cached").success(), added);
    a.rt.run("check").success();
    assert_eq!(
        a.recorded("check")["stdin"]["prevResult"],
        added,
        "CHECK got the cached result"
    );

    // DEL: everything goes, the cache entry too.
    a.rt.run("del").success();
    assert_eq!(
        a.recorded("del")["stdin"]["prevResult"],
        added,
        "DEL got the cached result"
    );
    assert_eq!(
        a.ns.links(),
        vec!["lo".to_owned()],
        "net1 removed from the netns"
    );
    assert!(!host_links().contains(&host), "host veth {host} removed");
    assert_eq!(a.leases(), Vec::<String>::new(), "the lease was released");
    assert!(
        !a.rt.cache_file(NETWORK).exists(),
        "libcni dropped the cache entry"
    );

    // DEL again, with nothing left and no cache: still success.
    a.rt.run("del").success();
}

#[test]
fn chain_with_tuning_0_4_0() {
    chain_with_tuning("0.4.0", Ipam::Ours);
}

#[test]
fn chain_with_tuning_1_0_0() {
    chain_with_tuning("1.0.0", Ipam::Ours);
}

/// The same chain and expected JSON with Debian's host-local doing IPAM: ours is a drop-in.
#[test]
fn chain_with_tuning_1_0_0_reference_ipam() {
    chain_with_tuning("1.0.0", Ipam::Reference);
}

/// libcni's ValidateNetworkList runs VERSION on every plugin and checks the list's version
/// against what each reports: our VERSION output must satisfy the reference parser.
#[test]
fn validate_reads_our_version_output() {
    let a = Attachment::new("1.0.0", Ipam::Ours, 1400);
    let v = a.rt.run("validate").success();
    let ours = &v["supportedVersions"]["nfv-test-veth"];
    for version in [
        "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0",
    ] {
        assert!(
            ours.as_array().is_some_and(|a| a.contains(&json!(version))),
            "VERSION lacks {version}: {ours}"
        );
    }
    let mut caps: Vec<String> = v["capabilities"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str().map(str::to_owned))
        .collect();
    caps.sort();
    assert_eq!(caps, vec!["CNIDeviceInfoFile", "deviceID", "ips", "mac"]);
}

/// A plugin failure after IPAM ADD surfaces through libcni with its code, and leaves
/// nothing: the lease is released, the half-made veth deleted, nothing cached.
#[test]
fn failed_add_rolls_back_through_libcni() {
    let a = Attachment::new("1.0.0", Ipam::Ours, 100_000); // no veth takes a 100000 MTU
    let host = host_veth_name(&a.rt.container_id, IFNAME);
    let out = a.rt.run("add");
    let err = out.error_code();
    assert_eq!(
        err,
        Some(111),
        "the fixture's iproute2 error code reaches the runtime"
    );
    assert_eq!(a.leases(), Vec::<String>::new(), "IPAM ADD was rolled back");
    assert!(
        a.data.files().iter().any(|f| f.ends_with("lock")),
        "host-local did run (its lock file exists), so the rollback was real"
    );
    assert!(
        !host_links().contains(&host),
        "host veth {host} left behind"
    );
    assert_eq!(a.ns.links(), vec!["lo".to_owned()]);
    assert!(
        !a.rt.cache_file(NETWORK).exists(),
        "a failed ADD is not cached"
    );
}

/// A second attachment with the same ifname in the same netns fails (spec: ADD must fail if
/// the interface exists) without disturbing the first or leaking an address.
#[test]
fn duplicate_interface_is_refused() {
    let a = Attachment::new("1.0.0", Ipam::Ours, 1400);
    a.rt.run("add").success();
    let mut second = Runtime::new(
        &a.rt.conflist,
        &a.rt.cni_path,
        &a.ns.path(),
        IFNAME,
        &unique_name("ctr"),
    );
    second.capabilities = None;
    assert_eq!(second.run("add").error_code(), Some(110));
    assert_eq!(
        a.leases(),
        vec![format!("{NETWORK}/10.242.0.2")],
        "only the first lease exists"
    );
    a.rt.run("check").success();
    a.rt.run("del").success();
    assert_eq!(a.leases(), Vec::<String>::new());
}

/// CHECK notices when the namespace no longer matches the cached result.
#[test]
fn check_detects_a_removed_address() {
    let a = Attachment::new("1.0.0", Ipam::Ours, 1400);
    let added = a.rt.run("add").success();
    let addr = added["ips"][0]["address"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    a.ns.exec(&["ip", "addr", "del", &addr, "dev", IFNAME]);
    assert_eq!(a.rt.run("check").error_code(), Some(112));
    a.rt.run("del").success();
}

/// A bridge chain made only of Debian's reference plugins: proves the driver itself (cache,
/// capability args, chain order) independently of anything we built.
#[test]
fn reference_bridge_chain() {
    require_root();
    require(&[IPROUTE2, REFERENCE_PLUGINS]);
    let ns = Netns::new();
    let data = ScratchDir::new("libcni-refdata");
    let work = ScratchDir::new("libcni-refwork");
    let bridge = BridgeGuard(unique_name("nb"));
    let conflist = work.join("ref.conflist");
    render(
        "libcni/reference-chain.conflist",
        &[
            ("BRIDGE", &bridge.0),
            ("DATADIR", &data.path().display().to_string()),
            ("TUNINGDIR", &work.join("tuning").display().to_string()),
            ("IFNAME", IFNAME),
        ],
        &conflist,
    );
    let mut rt = Runtime::new(
        &conflist,
        Path::new("/usr/lib/cni"),
        &ns.path(),
        IFNAME,
        &unique_name("ctr"),
    );
    rt.capabilities = Some(json!({"mac": TUNED_MAC}).to_string());
    let added = rt.run("add").success();
    assert_eq!(added["ips"][0]["address"], "10.241.0.2/24");
    assert_eq!(
        ns.link(IFNAME).unwrap_or_else(|| panic!("net1 missing"))["address"],
        TUNED_MAC
    );
    assert_eq!(
        ns.sysctl(&format!("net/ipv4/conf/{IFNAME}/arp_filter")),
        "1"
    );
    assert!(rt.cache_file("refchain").is_file());
    rt.run("check").success();
    rt.run("del").success();
    assert!(!rt.cache_file("refchain").exists());
    assert_eq!(leases_in(&data), Vec::<String>::new());
}

/// Deletes the reference bridge plugin's host bridge.
struct BridgeGuard(String);

impl Drop for BridgeGuard {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.0]).status();
    }
}

/// A single `.conf` at every version libcni speaks: libcni wraps it into a list, parses our
/// ADD result with the reference result types of that version, and prints it back. For
/// versions below 0.4.0 there is no cache-fed prevResult and no CHECK, as in the spec.
#[test]
fn single_conf_at_every_version_libcni_speaks() {
    for version in ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"] {
        let path = cni_path(Ipam::Ours);
        let ns = Netns::new();
        let data = ScratchDir::new("libcni-conf-data");
        let work = ScratchDir::new("libcni-conf-work");
        let conf = work.join("net.conf");
        render(
            "netconf/veth.conf",
            &[
                ("VERSION", version),
                ("DATADIR", &data.path().display().to_string()),
            ],
            &conf,
        );
        let rt = Runtime::new(&conf, path.path(), &ns.path(), IFNAME, &unique_name("ctr"));
        let added = rt.run("add").success();
        let link = ns
            .link(IFNAME)
            .unwrap_or_else(|| panic!("{version}: {IFNAME} missing"));
        let mac = link["address"].as_str().unwrap_or_default().to_owned();
        let host = host_veth_name(&rt.container_id, IFNAME);
        let mut norm = Normaliser::new()
            .replace(&ns.path().display().to_string(), "<NETNS>")
            .replace(&mac, "<MAC>")
            .replace(&host, "<HOSTVETH>");
        if let Some(host_mac) = added["interfaces"][0]["mac"].as_str() {
            norm = norm.replace(host_mac, "<HOSTMAC>");
        }
        // libcni prints our result back with its own types: Debian's v1.1.2 has no interface
        // `mtu` in 1.0.0 (libcni >= 1.2 keeps it, as we print it), so its 1.0.0 differs.
        let expected = match version {
            "1.0.0" => "expected/libcni-v1.1-veth-add-1.0.0.json".to_string(),
            v => format!("expected/veth-add-{v}.json"),
        };
        assert_matches(&added, &expected, &norm);
        if !matches!(version, "0.1.0" | "0.2.0" | "0.3.0" | "0.3.1") {
            rt.run("check").success();
        }
        rt.run("del").success();
        assert_eq!(
            ns.links(),
            vec!["lo".to_owned()],
            "{version}: DEL removed {IFNAME}"
        );
        assert_eq!(
            leases_in(&data),
            Vec::<String>::new(),
            "{version}: lease released"
        );
        assert!(
            !host_links().contains(&host),
            "{version}: host veth removed"
        );
    }
}
