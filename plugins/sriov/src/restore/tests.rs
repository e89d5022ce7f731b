//! `mirrored_mac` as a plain function; `restore` on nfv-testkit's fake kernel: what DEL, GC
//! and a rollback put back, in which order, and igb's admin-MAC quirk, without root.

use super::*;
use crate::record::SavedVf;
use nfv_netlink::VlanProto;
use nfv_testkit::kernel::{FakeKernel, FakeNs, MacBehaviour, EADDRNOTAVAIL};

fn record(admin: Option<&str>, own: Option<&str>) -> Record {
    Record {
        container_id: "c".into(),
        ifname: "net1".into(),
        device: "0000:01:10.0".parse().unwrap(),
        pf_netdev: "enp1s0".into(),
        vf_index: 0,
        mode: VfMode::Netdev,
        driver: None,
        vdpa_device: None,
        host_ifname: "enp1s0v0".into(),
        host_mac: own.map(str::to_string),
        host_mtu: Some(1500),
        host_up: true,
        saved_vf: SavedVf {
            mac: admin.map(str::to_string),
            ..Default::default()
        },
        applied_vf: SavedVf::default(),
        netns: "/run/netns/x".into(),
        device_info_file: None,
        device_info_kept: None,
        network: String::new(),
    }
}

#[test]
fn an_admin_mac_equal_to_the_netdevs_own_was_only_mirrored() {
    let m = "02:00:00:00:00:07";
    assert_eq!(mirrored_mac(&record(Some(m), Some(m))), m.parse().ok());
    assert_eq!(
        mirrored_mac(&record(Some(m), Some("02:00:00:00:00:08"))),
        None,
        "a different admin MAC was set by someone: restore it as it was"
    );
    let zero = "00:00:00:00:00:00";
    assert_eq!(mirrored_mac(&record(Some(zero), Some(zero))), None);
    assert_eq!(
        mirrored_mac(&record(None, Some(m))),
        None,
        "MAC not changed"
    );
    assert_eq!(
        mirrored_mac(&record(Some(m), None)),
        None,
        "no netdev MAC known"
    );
}

const VF: &str = "0000:01:10.1";
const OWN: &str = "02:00:00:00:00:01";
const ADMIN: &str = "02:00:00:00:0a:0a";

/// A node after ADD: PF `pf0` with VF 1 at [`VF`] whose netdev is in the pod as `net1` with
/// the MAC and MTU ADD gave it; the VF's settings as ADD left them.
struct AfterAdd {
    k: FakeKernel,
    host: FakeNs,
    pod: FakeNs,
    pf: u32,
}

impl AfterAdd {
    fn new(behaviour: MacBehaviour, pod_mac: &str, settings: &[VfSetting]) -> AfterAdd {
        let k = FakeKernel::new();
        let (host, pod) = (k.namespace("host"), k.namespace("pod"));
        let pf = k.add_link(host, "pf0", "02:00:00:00:0f:00", 1500, None);
        k.add_vf(pf, 1, VF, "igbvf", behaviour);
        k.add_link(pod, "net1", pod_mac, 9000, Some(VF));
        k.preset_link(pod, "net1", |l| l.admin_up = true);
        for s in settings {
            k.preset_vf(pf, 1, *s);
        }
        AfterAdd { k, host, pod, pf }
    }

    fn restore(&self, r: &Record) -> Failures {
        let mut host = self.k.socket(self.host);
        restore(&mut host, &self.k.sysfs(), Some(&self.pod), r)
    }

    fn netdev(&self) -> nfv_netlink::Link {
        self.k.link(self.host, "vf0").expect("vf0 is home")
    }
}

/// The record ADD wrote: the netdev was `vf0` with MAC [`OWN`], MTU 1500, up.
fn netdev_record(saved_vf: SavedVf) -> Record {
    Record {
        container_id: "c".into(),
        ifname: "net1".into(),
        device: VF.parse().unwrap(),
        pf_netdev: "pf0".into(),
        vf_index: 1,
        mode: VfMode::Netdev,
        driver: None,
        vdpa_device: None,
        host_ifname: "vf0".into(),
        host_mac: Some(OWN.into()),
        host_mtu: Some(1500),
        host_up: true,
        saved_vf,
        applied_vf: SavedVf::default(),
        netns: "/run/netns/pod".into(),
        device_info_file: None,
        device_info_kept: None,
        network: "n".into(),
    }
}

fn mac(s: &str) -> MacAddr {
    s.parse().unwrap()
}

#[test]
fn the_vf_settings_come_back_before_the_netdev_leaves_the_pod() {
    let vlan = VfSetting::Vlan {
        vlan: 100,
        qos: 0,
        proto: VlanProto::Dot1Q,
    };
    let n = AfterAdd::new(
        MacBehaviour::Plain,
        OWN,
        &[vlan, VfSetting::SpoofCheck(false)],
    );
    let r = netdev_record(SavedVf {
        vlan: Some((0, 0, false)),
        spoofchk: Some(true),
        ..SavedVf::default()
    });
    let failures = n.restore(&r);
    assert!(failures.is_empty(), "{failures}");
    assert_eq!(
        n.k.log(),
        [
            "host: vf pf0 1 vlan 0 qos 0 802.1Q",
            "host: vf pf0 1 spoofchk on",
            "pod: down net1",
            "pod: move net1 to host as vf0",
            "host: mtu vf0 1500",
            "host: up vf0",
        ]
    );
    let vf = n.k.vf(n.pf, 1);
    assert_eq!((vf.vlan, vf.spoofchk), (0, Some(true)));
    assert!(n.k.names(n.pod).is_empty());
}

#[test]
fn a_setting_that_never_changed_is_not_restored() {
    // ADD's trust change failed (the driver refused it): the VF still has the saved value.
    let n = AfterAdd::new(MacBehaviour::Plain, OWN, &[VfSetting::SpoofCheck(false)]);
    let r = netdev_record(SavedVf {
        spoofchk: Some(true),
        trust: Some(false),
        ..SavedVf::default()
    });
    assert!(n.restore(&r).is_empty());
    let vf_calls: Vec<String> =
        n.k.log()
            .into_iter()
            .filter(|l| l.starts_with("host: vf "))
            .collect();
    assert_eq!(vf_calls, ["host: vf pf0 1 spoofchk on"]);
}

#[test]
fn an_igb_admin_mac_that_only_mirrored_the_netdevs_is_cleared_not_set() {
    // Before ADD igb showed the netdev's own MAC as the VF's MAC; ADD set ADMIN through the PF
    // and the netdev took it.
    let n = AfterAdd::new(MacBehaviour::Igb, ADMIN, &[VfSetting::Mac(mac(ADMIN))]);
    let r = netdev_record(SavedVf {
        mac: Some(OWN.into()),
        ..SavedVf::default()
    });
    let failures = n.restore(&r);
    assert!(failures.is_empty(), "{failures}");
    let log = n.k.log();
    assert_eq!(log[0], "host: vf pf0 1 mac 00:00:00:00:00:00", "{log:?}");
    assert!(
        !log.contains(&format!("host: vf pf0 1 mac {OWN}")),
        "setting it would mark it PF-set, and igb would refuse the VF any other MAC: {log:?}"
    );
    assert!(log.contains(&format!("host: mac vf0 {OWN}")), "{log:?}");
    assert_eq!(n.k.admin_mac(n.pf, 1), None);
    assert_eq!(n.k.vf(n.pf, 1).mac, mac(OWN), "the PF mirrors it again");
    let home = n.netdev();
    assert_eq!(
        (home.mac, home.mtu, home.admin_up),
        (Some(mac(OWN)), Some(1500), true)
    );
}

#[test]
fn a_pf_that_does_not_mirror_gets_the_recorded_mac_as_admin_mac_after_all() {
    let n = AfterAdd::new(MacBehaviour::Plain, ADMIN, &[VfSetting::Mac(mac(ADMIN))]);
    let r = netdev_record(SavedVf {
        mac: Some(OWN.into()),
        ..SavedVf::default()
    });
    let failures = n.restore(&r);
    assert!(failures.is_empty(), "{failures}");
    let log = n.k.log();
    let cleared = log
        .iter()
        .position(|l| l == "host: vf pf0 1 mac 00:00:00:00:00:00");
    let own = log
        .iter()
        .position(|l| *l == format!("host: mac vf0 {OWN}"));
    let set = log
        .iter()
        .position(|l| *l == format!("host: vf pf0 1 mac {OWN}"));
    assert!(
        cleared < own && own < set && cleared.is_some(),
        "cleared, the netdev's own MAC back, then the admin MAC: {log:?}"
    );
    assert_eq!(n.k.admin_mac(n.pf, 1), Some(mac(OWN)));
    assert_eq!(n.netdev().mac, Some(mac(OWN)));
}

#[test]
fn a_netdev_refusing_its_mac_back_is_rebound_and_the_new_netdev_gets_name_and_state() {
    let n = AfterAdd::new(MacBehaviour::Igb, ADMIN, &[VfSetting::Mac(mac(ADMIN))]);
    n.k.fail("host: mac vf0", EADDRNOTAVAIL);
    let r = netdev_record(SavedVf {
        mac: Some(OWN.into()),
        ..SavedVf::default()
    });
    let failures = n.restore(&r);
    assert!(failures.is_empty(), "{failures}");
    let log = n.k.log();
    let refused = log
        .iter()
        .position(|l| *l == format!("host: mac vf0 {OWN} (refused)"));
    let rebind = log.iter().position(|l| *l == format!("sysfs: rebind {VF}"));
    assert!(refused.is_some() && refused < rebind, "{log:?}");
    let renamed = log[rebind.unwrap()..]
        .iter()
        .any(|l| l.starts_with("host: rename eth") && l.ends_with(" vf0"));
    assert!(
        renamed,
        "the driver's new netdev gets the recorded name: {log:?}"
    );
    let home = n.netdev();
    assert_eq!(
        (home.mac, home.mtu, home.admin_up),
        (Some(mac(OWN)), Some(1500), true)
    );
    assert_eq!(n.k.names(n.host), ["pf0", "vf0"]);
}

#[test]
fn a_missing_pf_is_reported_and_the_netdev_still_comes_home() {
    let n = AfterAdd::new(MacBehaviour::Plain, OWN, &[VfSetting::SpoofCheck(false)]);
    let mut r = netdev_record(SavedVf {
        spoofchk: Some(true),
        ..SavedVf::default()
    });
    r.pf_netdev = "gone0".into();
    let failures = n.restore(&r);
    assert_eq!(failures.len(), 1, "{failures}");
    assert!(failures[0].errno().is_some());
    assert!(
        failures[0]
            .to_string()
            .starts_with(&format!("restoring VF {VF} settings: PF gone0: ")),
        "{failures}"
    );
    assert_eq!(n.netdev().mtu, Some(1500));
}

#[test]
fn in_userspace_mode_only_the_vf_settings_come_back() {
    let n = AfterAdd::new(MacBehaviour::Plain, OWN, &[VfSetting::Trust(true)]);
    let mut r = netdev_record(SavedVf {
        trust: Some(false),
        ..SavedVf::default()
    });
    r.mode = VfMode::Userspace;
    assert!(n.restore(&r).is_empty());
    assert_eq!(n.k.log(), ["host: vf pf0 1 trust off"]);
    assert_eq!(n.k.names(n.pod), ["net1"], "no netdev of sriov's to move");
}
