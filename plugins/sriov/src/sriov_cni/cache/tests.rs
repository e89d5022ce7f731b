//! sriov-cni's cache files (testdata/sriov-cni, written from its pkg/types structs): what is
//! read of them, what a hostile or broken field spoils (only itself), and what `restore` puts
//! back from them on nfv-testkit's fake kernel, in which order.

use super::*;
use crate::record::VfAddress;
use crate::restore::restore;
use nfv_netlink::{Rtnetlink, VfLinkState};
use nfv_pci::{DriverBinding, UserspaceDriver};
use nfv_testkit::kernel::{FakeKernel, FakeNs, MacBehaviour};
use serde_json::json;

const NETDEV: &[u8] = include_bytes!("../../../../../testdata/sriov-cni/netdev/5e0b8f1c7a2d-net1");
const UNCHANGED: &[u8] =
    include_bytes!("../../../../../testdata/sriov-cni/netdev/9d4e2a7b3c1f-net2");
const DPDK: &[u8] = include_bytes!("../../../../../testdata/sriov-cni/dpdk/41c7e9a0b2d8-net1");
const OLDER: &[u8] = include_bytes!("../../../../../testdata/sriov-cni/older/7a1b3c5d7e9f-net1");

fn value(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

fn parsed(v: &Value) -> Cache {
    parse(&serde_json::to_vec(v).unwrap()).unwrap()
}

/// The VF the netdev fixture names, as sysfs shows it now (its netdev in the pod).
fn vf(address: &str, index: u32, driver: DriverBinding) -> VfDevice {
    VfDevice {
        address: address.parse().unwrap(),
        pf: "0000:01:00.0".parse().unwrap(),
        pf_netdev: "enp1s0f0".into(),
        index,
        netdevs: Vec::new(),
        driver,
        iommu_group: None,
        vfio: None,
    }
}

fn iavf() -> DriverBinding {
    DriverBinding::Kernel("iavf".into())
}

#[test]
fn a_netdev_attachment_gives_every_field_sriov_cni_restores() {
    let c = parse(NETDEV).unwrap();
    assert_eq!(c.ignored, Vec::<String>::new());
    assert_eq!(c.network.as_deref(), Some("sriov-vlan100"));
    assert_eq!(c.device, "0000:01:10.2".parse().ok());
    assert_eq!((c.master.as_deref(), c.vf_id), (Some("enp1s0f0"), Some(1)));
    assert_eq!(c.host_ifname.as_deref(), Some("enp1s0f0v1"));
    assert_eq!(c.host_mac, "52:54:00:4f:1a:02".parse().ok());
    assert_eq!(c.host_mtu, Some(1500));
    assert_eq!(
        c.saved_vf,
        SavedVf {
            mac: Some("00:00:00:00:00:00".into()),
            vlan: Some((0, 0, false)),
            spoofchk: Some(true),
            trust: Some(false),
            rate: Some((0, 0)),
            link_state: Some(0),
        }
    );
}

#[test]
fn what_the_nad_did_not_change_is_not_restored() {
    let c = parse(UNCHANGED).unwrap();
    assert_eq!(c.ignored, Vec::<String>::new());
    assert_eq!(c.saved_vf, SavedVf::default(), "no VF setting was changed");
    assert_eq!(c.host_mac, None, "no MAC was set: the netdev keeps its own");
    assert_eq!(
        (c.host_ifname.as_deref(), c.host_mtu),
        (Some("enp1s0f0v2"), Some(9000))
    );
}

#[test]
fn a_dpdk_attachment_has_no_netdev_and_spoofchk_true_was_off() {
    let c = parse(DPDK).unwrap();
    assert_eq!(c.ignored, Vec::<String>::new());
    assert_eq!(
        (c.host_ifname.clone(), c.host_mtu, c.host_mac),
        (None, None, None)
    );
    assert_eq!(
        c.saved_vf,
        SavedVf {
            vlan: Some((0, 0, false)),
            spoofchk: Some(true),
            trust: Some(false),
            ..SavedVf::default()
        },
        "\"true\" was set (as off): spoof checking comes back on"
    );
    let (r, notes) = c.record(
        &vf(
            "0000:01:10.6",
            3,
            DriverBinding::Userspace(UserspaceDriver::VfioPci),
        ),
        "41c7e9a0b2d8",
        "net1",
        "/run/netns/p".into(),
        "sriov-dpdk",
    );
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(
        (r.mode, r.driver.as_deref(), r.host_ifname.as_str()),
        (VfMode::Userspace, Some("vfio-pci"), ""),
        "DPDK mode is what sysfs says: the cache never says it"
    );
}

#[test]
fn an_older_cache_without_trust_or_vlan_proto_reads_as_sriov_cni_reads_it() {
    let c = parse(OLDER).unwrap();
    assert_eq!(c.ignored, Vec::<String>::new());
    assert_eq!(c.saved_vf.vlan, Some((0, 0, false)), "802.1Q when absent");
    assert_eq!(
        c.saved_vf.trust,
        Some(false),
        "trust off, as that release left it"
    );
    assert_eq!(c.host_mtu, None, "MTU not captured");
}

#[test]
fn the_record_is_the_vf_as_sysfs_shows_it_with_the_caches_state_before_add() {
    let c = parse(NETDEV).unwrap();
    let (r, notes) = c.record(
        &vf("0000:01:10.2", 1, iavf()),
        "5e0b8f1c7a2d",
        "net1",
        "/run/netns/p".into(),
        "ignored",
    );
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(
        r,
        Record {
            container_id: "5e0b8f1c7a2d".into(),
            ifname: "net1".into(),
            device: "0000:01:10.2".parse::<VfAddress>().unwrap(),
            pf_netdev: "enp1s0f0".into(),
            vf_index: 1,
            mode: VfMode::Netdev,
            driver: None,
            vdpa_device: None,
            host_ifname: "enp1s0f0v1".into(),
            host_mac: Some("52:54:00:4f:1a:02".into()),
            host_mtu: Some(1500),
            host_up: false,
            saved_vf: c.saved_vf.clone(),
            applied_vf: SavedVf::default(),
            netns: "/run/netns/p".into(),
            device_info_file: None,
            device_info_kept: None,
            network: "sriov-vlan100".into(),
        }
    );
}

/// Hostile or broken fields: each spoils only itself, is named in `ignored`, and nothing is
/// done with it.
#[test]
fn a_field_that_is_not_what_sriov_cni_writes_is_not_acted_on() {
    let base = value(NETDEV);
    let with = |path: &[&str], v: Value| {
        let mut b = base.clone();
        let mut at = &mut b;
        for p in &path[..path.len() - 1] {
            at = &mut at[*p];
        }
        at[path[path.len() - 1]] = v;
        parsed(&b)
    };
    let said = |c: &Cache, what: &str| {
        assert!(
            c.ignored.iter().any(|i| i.starts_with(what)),
            "{what}: {:?}",
            c.ignored
        )
    };

    for name in ["../../etc/x", "a b", "net1:0", "sixteen-chars-xx", ""] {
        let c = with(&["OrigVfState", "HostIFName"], json!(name));
        assert_eq!(c.host_ifname, None, "{name:?}");
        if !name.is_empty() {
            said(&c, "OrigVfState.HostIFName");
        }
        let (r, _) = c.record(
            &vf("0000:01:10.2", 1, iavf()),
            "c",
            "net1",
            String::new(),
            "n",
        );
        assert_eq!(
            r.host_ifname, "enp1s0f0v1",
            "named as udev would: <pf>v<index>"
        );
    }
    let c = with(&["OrigVfState", "HostIFName"], json!(7));
    said(&c, "OrigVfState.HostIFName");

    let c = with(&["deviceID"], json!("../../pci"));
    assert_eq!(c.device, None);
    said(&c, "deviceID");

    // Master / VFID that are not what sysfs says of the VF: its settings are not touched.
    for (path, v) in [
        (&["VFID"][..], json!(2)),
        (&["VFID"][..], json!("1")),
        (&["Master"][..], json!("enp9s0")),
        (&["Master"][..], json!("../x")),
    ] {
        let c = with(path, v.clone());
        let (r, notes) = c.record(
            &vf("0000:01:10.2", 1, iavf()),
            "c",
            "net1",
            String::new(),
            "n",
        );
        assert_eq!(r.saved_vf, SavedVf::default(), "{path:?} = {v}");
        assert!(
            notes[0].contains("its VF settings are left as they are"),
            "{notes:?}"
        );
        assert_eq!(r.host_ifname, "enp1s0f0v1", "the netdev still comes home");
    }

    let c = with(&["OrigVfState", "VlanProto"], json!(7));
    assert_eq!(c.saved_vf.vlan, None);
    said(&c, "OrigVfState.VlanProto");
    let c = with(&["OrigVfState", "Vlan"], json!(4095));
    assert_eq!(c.saved_vf.vlan, None);
    let c = with(&["OrigVfState", "VlanQoS"], json!(-1));
    assert_eq!(c.saved_vf.vlan, None);
    let c = with(&["OrigVfState", "MTU"], json!(70000));
    assert_eq!(c.host_mtu, None);
    said(&c, "OrigVfState.MTU");
    let c = with(&["OrigVfState", "AdminMAC"], json!("zz"));
    assert_eq!(c.saved_vf.mac, None);
    assert_eq!(
        c.host_mac,
        "52:54:00:4f:1a:02".parse().ok(),
        "the rest still is"
    );
    let c = with(&["OrigVfState", "SpoofChk"], json!("yes"));
    assert_eq!(c.saved_vf.spoofchk, None);
    let c = with(&["OrigVfState", "LinkState"], json!(3));
    assert_eq!(c.saved_vf.link_state, None);
    let c = with(&["OrigVfState", "MaxTxRate"], json!(1.5));
    assert_eq!(c.saved_vf.rate, None);
    let c = with(&["spoofchk"], json!(true));
    assert_eq!(c.saved_vf.spoofchk, None);
    said(&c, "spoofchk");
    assert_eq!(c.saved_vf.trust, Some(false), "the rest still is");

    let c = with(&["OrigVfState"], json!("x"));
    assert_eq!(
        (c.saved_vf.clone(), c.host_ifname.clone()),
        (SavedVf::default(), None)
    );
    said(&c, "OrigVfState");

    assert!(parse(b"[1]").is_err());
    assert!(parse(b"{\"name\":").is_err());
    assert!(parse(b"").is_err());
}

#[test]
fn keys_match_as_go_matches_them() {
    let mut v = value(NETDEV);
    let m = v.as_object_mut().unwrap();
    let orig = m.remove("OrigVfState").unwrap();
    m.insert("origvfstate".into(), orig);
    let master = m.remove("Master").unwrap();
    m.insert("master".into(), master);
    let c = parsed(&v);
    assert_eq!(c, parse(NETDEV).unwrap());
}

/// The node as sriov-cni's ADD of the netdev fixture left it: PF `enp1s0f0` with VF 1 at
/// 0000:01:10.2, its netdev in the pod as `net1` with the pod's MAC, the VF settings the NAD
/// asked for.
struct AfterSriovCniAdd {
    k: FakeKernel,
    host: FakeNs,
    pod: FakeNs,
    pf: u32,
}

const POD_MAC: &str = "02:00:00:0a:0b:0c";
const OWN_MAC: &str = "52:54:00:4f:1a:02";

impl AfterSriovCniAdd {
    fn new(behaviour: MacBehaviour) -> AfterSriovCniAdd {
        let k = FakeKernel::new();
        let (host, pod) = (k.namespace("host"), k.namespace("pod"));
        let pf = k.add_link(host, "enp1s0f0", "02:00:00:00:0f:00", 1500, None);
        k.add_vf(pf, 1, "0000:01:10.2", "iavf", behaviour);
        k.add_link(pod, "net1", POD_MAC, 1500, Some("0000:01:10.2"));
        k.preset_link(pod, "net1", |l| l.admin_up = true);
        for s in [
            VfSetting::Mac(POD_MAC.parse().unwrap()),
            VfSetting::Vlan {
                vlan: 100,
                qos: 0,
                proto: VlanProto::Dot1Q,
            },
            VfSetting::SpoofCheck(false),
            VfSetting::Trust(true),
            VfSetting::Rate {
                min_mbps: 0,
                max_mbps: 100,
            },
            VfSetting::LinkState(VfLinkState::Enable),
        ] {
            k.preset_vf(pf, 1, s);
        }
        AfterSriovCniAdd { k, host, pod, pf }
    }

    fn record(&self, cache: &[u8]) -> Record {
        let c = parse(cache).unwrap();
        c.record(
            &vf("0000:01:10.2", 1, iavf()),
            "5e0b8f1c7a2d",
            "net1",
            "/run/netns/p".into(),
            "n",
        )
        .0
    }
}

#[test]
fn del_puts_back_every_setting_then_the_netdev_with_its_name_and_mac() {
    let n = AfterSriovCniAdd::new(MacBehaviour::Plain);
    let r = n.record(NETDEV);
    let failures = restore(&mut n.k.socket(n.host), &n.k.sysfs(), Some(&n.pod), &r);
    assert!(failures.is_empty(), "{failures}");
    assert_eq!(
        n.k.log(),
        [
            "host: vf enp1s0f0 1 mac 00:00:00:00:00:00",
            "host: vf enp1s0f0 1 vlan 0 qos 0 802.1Q",
            "host: vf enp1s0f0 1 spoofchk on",
            "host: vf enp1s0f0 1 trust off",
            "host: vf enp1s0f0 1 rate 0 0",
            "host: vf enp1s0f0 1 link-state auto",
            "pod: down net1",
            "pod: move net1 to host as enp1s0f0v1",
            &format!("host: mac enp1s0f0v1 {OWN_MAC}"),
        ],
        "VF settings first (the admin MAC before the netdev's own), then the netdev; its MTU \
         was not changed; it stays down, as sriov-cni leaves it"
    );
    let v = n.k.vf(n.pf, 1);
    assert_eq!(
        (v.vlan, v.spoofchk, v.trust, v.max_tx_rate, v.link_state),
        (0, Some(true), Some(false), 0, Some(VfLinkState::Auto))
    );
    assert_eq!(n.k.admin_mac(n.pf, 1), None);
    let home = n.k.link(n.host, "enp1s0f0v1").unwrap();
    assert_eq!(home.mac, OWN_MAC.parse().ok());
    assert!(n.k.names(n.pod).is_empty());
}

#[test]
fn with_the_pods_namespace_gone_the_netdev_is_found_in_the_host_and_renamed() {
    for fallen_as in ["net1", "dev7"] {
        let n = AfterSriovCniAdd::new(MacBehaviour::Plain);
        let mut pod = n.k.socket(n.pod);
        let l = pod.link_by_name("net1").unwrap();
        pod.move_to_netns(l.index, &n.host, Some(fallen_as))
            .unwrap();
        n.k.clear_log();
        let r = n.record(NETDEV);
        let failures = restore(&mut n.k.socket(n.host), &n.k.sysfs(), None, &r);
        assert!(failures.is_empty(), "{failures}");
        let log = n.k.log();
        assert!(
            log.contains(&format!("host: rename {fallen_as} enp1s0f0v1")),
            "{log:?}"
        );
        assert_eq!(n.k.vf(n.pf, 1).vlan, 0);
        assert_eq!(
            n.k.link(n.host, "enp1s0f0v1").unwrap().mac,
            OWN_MAC.parse().ok()
        );
    }
}

/// igb reports the VF's own MAC as its admin MAC when the PF set none, so sriov-cni recorded
/// `AdminMAC` = `EffectiveMAC`: setting it back would make it PF-set (the VF could choose no
/// other MAC); it is cleared instead, as for this plugin's own records.
#[test]
fn an_igb_admin_mac_sriov_cni_saw_mirrored_is_cleared_not_set() {
    let n = AfterSriovCniAdd::new(MacBehaviour::Igb);
    let mut v = value(NETDEV);
    v["OrigVfState"]["AdminMAC"] = json!(OWN_MAC);
    v["link_state"] = json!(""); // igb has no VF link state: sriov-cni's ADD would have failed
    let r = n.record(&serde_json::to_vec(&v).unwrap());
    let failures = restore(&mut n.k.socket(n.host), &n.k.sysfs(), Some(&n.pod), &r);
    assert!(failures.is_empty(), "{failures}");
    let log = n.k.log();
    assert_eq!(
        log[0], "host: vf enp1s0f0 1 mac 00:00:00:00:00:00",
        "{log:?}"
    );
    assert!(
        !log.contains(&format!("host: vf enp1s0f0 1 mac {OWN_MAC}")),
        "{log:?}"
    );
    assert_eq!(n.k.admin_mac(n.pf, 1), None);
    assert_eq!(
        n.k.vf(n.pf, 1).mac,
        OWN_MAC.parse().unwrap(),
        "mirrored again"
    );
}

#[test]
fn a_vf_whose_cache_disagrees_with_sysfs_keeps_its_settings_but_the_netdev_comes_home() {
    let n = AfterSriovCniAdd::new(MacBehaviour::Plain);
    let mut v = value(NETDEV);
    v["VFID"] = json!(5);
    let r = n.record(&serde_json::to_vec(&v).unwrap());
    let failures = restore(&mut n.k.socket(n.host), &n.k.sysfs(), Some(&n.pod), &r);
    assert!(failures.is_empty(), "{failures}");
    assert!(
        !n.k.log().iter().any(|l| l.starts_with("host: vf ")),
        "{:?}",
        n.k.log()
    );
    assert!(n.k.link(n.host, "enp1s0f0v1").is_some());
}
