//! A recording fake of the kernel seam ([`nfv_netlink::Rtnetlink`], [`nfv_pci::VfDriver`]):
//! namespaces holding links, PFs with VFs, a log of every call that changes something (in
//! order, across namespaces and sysfs), errors to inject, and the VF drivers' MAC behaviour
//! (igb's included). Unit tests of giving, taking back and restoring netdevs run on it
//! without root; the netns tests run the same code on the real kernel.
//!
//! The log has one line a change, `"<namespace>: <call> <arguments>"`, with links by name:
//! `host: down vf0`, `pod: move net1 to host as vf0`, `host: mtu vf0 1500`, `host: up vf0`,
//! `host: mac vf0 02:00:00:00:00:01`, `host: rename dev7 vf0`, `host: vf pf0 1 vlan 0 qos 0
//! 802.1Q`, `sysfs: rebind 0000:01:10.1`. A call refused by an injected error or by a driver
//! is logged too, with ` (refused)` after it.

use std::cell::RefCell;
use std::rc::Rc;

mod netlink;
mod sysfs;

pub use netlink::FakeNetlink;
pub use sysfs::FakeSysfs;

use ipnetwork::IpNetwork;
use nfv_netlink::{
    explain, Action, Error, Link, MacAddr, OperState, Result, VfField, VfInfo, VfLinkState,
    VfSetting, VlanProto,
};
use nfv_pci::PciAddress;

const ENODEV: i32 = 19;
const EEXIST: i32 = 17;
const EINVAL: i32 = 22;
/// What the kernel answers removing an alternative name a link does not have.
const ENOENT: i32 = 2;
/// What igbvf answers a MAC from the VF side once the PF has set one.
pub const EADDRNOTAVAIL: i32 = 99;

/// How a fake VF's driver treats MACs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacBehaviour {
    /// iavf, mlx5: the PF reports the admin MAC it set (zero when none); the netdev takes any
    /// MAC.
    Plain,
    /// igb/igbvf: the PF reports the VF's own MAC when it set none (it mirrors), and the
    /// netdev refuses any MAC (EADDRNOTAVAIL) while the PF has set one; a rebound driver's
    /// new netdev carries the admin MAC.
    Igb,
}

/// A namespace of the fake kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FakeNs(usize);

#[derive(Debug)]
struct FakeLink {
    ns: usize,
    link: Link,
    addresses: Vec<IpNetwork>,
    /// Alternative names: they move with the link, and a link cannot be renamed to one.
    alt_names: Vec<String>,
}

#[derive(Debug)]
struct FakeVf {
    pf_index: u32,
    pci: PciAddress,
    /// Settings other than the MAC, as the PF reports them.
    info: VfInfo,
    /// The MAC the PF set (`None`: none, or cleared with zero).
    admin_mac: Option<MacAddr>,
    behaviour: MacBehaviour,
    driver: String,
}

#[derive(Debug, Default)]
struct State {
    namespaces: Vec<String>,
    links: Vec<FakeLink>,
    vfs: Vec<FakeVf>,
    next_index: u32,
    log: Vec<String>,
    /// Injected errors: the next change whose log line starts with the prefix fails.
    failing: Vec<(String, i32)>,
    /// A renamed link keeps its old name as an alternative name (some kernels, udev rules).
    old_names_stay: bool,
}

impl State {
    fn find(&self, ns: usize, f: impl Fn(&Link) -> bool) -> Option<usize> {
        self.links.iter().position(|l| l.ns == ns && f(&l.link))
    }

    fn by_index(&self, ns: usize, index: u32) -> Result<usize> {
        self.find(ns, |l| l.index == index).ok_or_else(|| {
            refused(
                format!("looking up interface index {index}"),
                &Action::GetLink,
                ENODEV,
            )
        })
    }

    fn vf_of(&self, link: &Link) -> Option<usize> {
        let parent = link.parent_device.as_deref()?;
        self.vfs.iter().position(|v| v.pci.to_string() == parent)
    }

    fn vf_at(&self, pf_index: u32, id: u32) -> Result<usize> {
        self.vfs
            .iter()
            .position(|v| v.pf_index == pf_index && v.info.id == id)
            .ok_or_else(|| Error::InvalidArgument {
                op: format!("reading VF {id} of interface index {pf_index}"),
                detail: "the PF reports no VF with that index (check sriov_numvfs)".into(),
            })
    }

    /// The VF as its PF reports it.
    fn report(&self, v: &FakeVf) -> VfInfo {
        let own = || {
            self.links
                .iter()
                .find(|l| l.link.parent_device.as_deref() == Some(&v.pci.to_string()))
                .and_then(|l| l.link.mac)
        };
        let mac = match (v.admin_mac, v.behaviour) {
            (Some(m), _) => m,
            (None, MacBehaviour::Igb) => own().unwrap_or(MacAddr([0; 6])),
            (None, MacBehaviour::Plain) => MacAddr([0; 6]),
        };
        VfInfo {
            mac,
            ..v.info.clone()
        }
    }

    /// Log a change; the injected error for it, if any, as the real layer words it (`op`).
    fn record(&mut self, line: String, op: String, action: &Action) -> Result<()> {
        match self.failing.iter().position(|(p, _)| line.starts_with(p)) {
            Some(i) => {
                let (_, errno) = self.failing.remove(i);
                self.log.push(format!("{line} (refused)"));
                Err(refused(op, action, errno))
            }
            None => {
                self.log.push(line);
                Ok(())
            }
        }
    }

    /// Give link `i` the name `name` (its old one kept as an alternative name when the
    /// kernel is set to).
    fn rename_link(&mut self, i: usize, name: String) {
        let l = &mut self.links[i];
        if self.old_names_stay && l.link.name != name {
            let old = std::mem::replace(&mut l.link.name, name);
            l.alt_names.push(old);
        } else {
            l.link.name = name;
        }
    }

    fn new_index(&mut self) -> u32 {
        self.next_index += 1;
        self.next_index
    }
}

fn refused(op: impl Into<String>, action: &Action, errno: i32) -> Error {
    Error::Kernel {
        op: op.into(),
        errno,
        reason: explain(action, errno),
    }
}

fn link(index: u32, name: &str, mac: Option<MacAddr>, mtu: u32, parent: Option<&str>) -> Link {
    Link {
        index,
        name: name.to_string(),
        mac,
        permanent_mac: mac,
        mtu: Some(mtu),
        min_mtu: Some(68),
        max_mtu: Some(9702),
        admin_up: false,
        oper_state: OperState::Down,
        link_netns_id: None,
        kind: None,
        num_vfs: None,
        parent_device: parent.map(str::to_string),
        parent_bus: parent.map(|_| "pci".to_string()),
    }
}

fn describe(s: &VfSetting) -> String {
    match s {
        VfSetting::Mac(m) => format!("mac {m}"),
        VfSetting::Vlan { vlan, qos, proto } => {
            let p = match proto {
                VlanProto::Dot1Q => "802.1Q",
                VlanProto::Dot1Ad => "802.1ad",
            };
            format!("vlan {vlan} qos {qos} {p}")
        }
        VfSetting::SpoofCheck(b) => format!("spoofchk {}", if *b { "on" } else { "off" }),
        VfSetting::Trust(b) => format!("trust {}", if *b { "on" } else { "off" }),
        VfSetting::Rate { min_mbps, max_mbps } => format!("rate {min_mbps} {max_mbps}"),
        VfSetting::LinkState(l) => format!("link-state {}", format!("{l:?}").to_lowercase()),
    }
}

fn field(s: &VfSetting) -> VfField {
    match s {
        VfSetting::Mac(_) => VfField::Mac,
        VfSetting::Vlan { .. } => VfField::Vlan,
        VfSetting::SpoofCheck(_) => VfField::SpoofCheck,
        VfSetting::Trust(_) => VfField::Trust,
        VfSetting::Rate { .. } => VfField::Rate,
        VfSetting::LinkState(_) => VfField::LinkState,
    }
}

/// The fake kernel: clones share it.
#[derive(Debug, Clone, Default)]
pub struct FakeKernel {
    state: Rc<RefCell<State>>,
}

impl FakeKernel {
    pub fn new() -> FakeKernel {
        FakeKernel::default()
    }

    /// A new, empty namespace; `name` is how the log calls it.
    pub fn namespace(&self, name: &str) -> FakeNs {
        let mut s = self.state.borrow_mut();
        s.namespaces.push(name.to_string());
        FakeNs(s.namespaces.len() - 1)
    }

    /// A socket bound to `ns`.
    pub fn socket(&self, ns: FakeNs) -> FakeNetlink {
        FakeNetlink {
            state: self.state.clone(),
            ns: ns.0,
        }
    }

    /// The sysfs side ([`VfDriver`]).
    pub fn sysfs(&self) -> FakeSysfs {
        FakeSysfs {
            state: self.state.clone(),
        }
    }

    /// A netdev in `ns`, down, with the bus device `parent` behind it (a VF's PCI address);
    /// its index.
    pub fn add_link(
        &self,
        ns: FakeNs,
        name: &str,
        mac: &str,
        mtu: u32,
        parent: Option<&str>,
    ) -> u32 {
        let mut s = self.state.borrow_mut();
        let index = s.new_index();
        let mac = mac.parse().ok();
        s.links.push(FakeLink {
            ns: ns.0,
            link: link(index, name, mac, mtu, parent),
            addresses: Vec::new(),
            alt_names: Vec::new(),
        });
        index
    }

    /// Give the link `name` in `ns` the alternative name `alt` (as udev or `ip link property
    /// add` would), without logging it.
    pub fn add_alt_name(&self, ns: FakeNs, name: &str, alt: &str) {
        let mut s = self.state.borrow_mut();
        let i = s.find(ns.0, |l| l.name == name).expect("no such link");
        s.links[i].alt_names.push(alt.to_string());
    }

    /// From now on a renamed link keeps its old name as an alternative name, as some kernels
    /// (and udev rules) make it.
    pub fn keep_old_names_as_alt_names(&self) {
        self.state.borrow_mut().old_names_stay = true;
    }

    /// The alternative names of the link `name` in `ns`.
    pub fn alt_names(&self, ns: FakeNs, name: &str) -> Vec<String> {
        let s = self.state.borrow();
        s.find(ns.0, |l| l.name == name)
            .map(|i| s.links[i].alt_names.clone())
            .unwrap_or_default()
    }

    /// VF `id` of the PF whose netdev has index `pf_index`, at PCI address `pci`, bound to
    /// `driver`, treating MACs as `behaviour` does. Its netdev, if any, is added with
    /// [`add_link`](Self::add_link) and `parent` `pci`.
    pub fn add_vf(&self, pf_index: u32, id: u32, pci: &str, driver: &str, behaviour: MacBehaviour) {
        let mut s = self.state.borrow_mut();
        s.vfs.push(FakeVf {
            pf_index,
            pci: pci.parse().expect("a PCI address"),
            info: VfInfo {
                id,
                spoofchk: Some(true),
                trust: Some(false),
                link_state: Some(VfLinkState::Auto),
                ..VfInfo::default()
            },
            admin_mac: None,
            behaviour,
            driver: driver.to_string(),
        });
    }

    /// Apply `setting` to a VF as the PF would, without logging it (the state a test starts
    /// from).
    pub fn preset_vf(&self, pf_index: u32, id: u32, setting: VfSetting) {
        let mut s = self.state.borrow_mut();
        let i = s.vf_at(pf_index, id).expect("no such VF");
        apply(&mut s.vfs[i], &setting);
    }

    /// Set a link's state without logging it (the state a test starts from).
    pub fn preset_link(&self, ns: FakeNs, name: &str, f: impl FnOnce(&mut Link)) {
        let mut s = self.state.borrow_mut();
        let i = s.find(ns.0, |l| l.name == name).expect("no such link");
        f(&mut s.links[i].link);
    }

    /// The link called `name` in `ns`.
    pub fn link(&self, ns: FakeNs, name: &str) -> Option<Link> {
        let s = self.state.borrow();
        s.find(ns.0, |l| l.name == name)
            .map(|i| s.links[i].link.clone())
    }

    /// The names of the links in `ns`.
    pub fn names(&self, ns: FakeNs) -> Vec<String> {
        let s = self.state.borrow();
        s.links
            .iter()
            .filter(|l| l.ns == ns.0)
            .map(|l| l.link.name.clone())
            .collect()
    }

    /// VF `id` of PF `pf_index` as the PF reports it.
    pub fn vf(&self, pf_index: u32, id: u32) -> VfInfo {
        let s = self.state.borrow();
        let i = s.vf_at(pf_index, id).expect("no such VF");
        s.report(&s.vfs[i])
    }

    /// Whether the PF has set the VF's MAC (igb remembers it invisibly).
    pub fn admin_mac(&self, pf_index: u32, id: u32) -> Option<MacAddr> {
        let s = self.state.borrow();
        let i = s.vf_at(pf_index, id).expect("no such VF");
        s.vfs[i].admin_mac
    }

    /// The next change whose log line starts with `call` fails with `errno`
    /// (e.g. `fail("host: mtu vf0", 16)`).
    pub fn fail(&self, call: &str, errno: i32) {
        self.state
            .borrow_mut()
            .failing
            .push((call.to_string(), errno));
    }

    /// Every change so far, in order.
    pub fn log(&self) -> Vec<String> {
        self.state.borrow().log.clone()
    }

    /// Forget the log (after setting a test's scene through the seam).
    pub fn clear_log(&self) {
        self.state.borrow_mut().log.clear();
    }
}

fn apply(v: &mut FakeVf, s: &VfSetting) {
    match *s {
        VfSetting::Mac(m) => v.admin_mac = (!m.is_zero()).then_some(m),
        VfSetting::Vlan { vlan, qos, proto } => {
            v.info.vlan = vlan;
            v.info.qos = qos;
            v.info.vlan_proto = proto;
        }
        VfSetting::SpoofCheck(b) => v.info.spoofchk = Some(b),
        VfSetting::Trust(b) => v.info.trust = Some(b),
        VfSetting::Rate { min_mbps, max_mbps } => {
            v.info.min_tx_rate = min_mbps;
            v.info.max_tx_rate = max_mbps;
        }
        VfSetting::LinkState(l) => v.info.link_state = Some(l),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nfv_netlink::Rtnetlink;
    use nfv_pci::VfDriver;

    #[test]
    fn changes_are_logged_in_order_and_an_injected_error_keeps_its_errno() {
        let k = FakeKernel::new();
        let (host, pod) = (k.namespace("host"), k.namespace("pod"));
        let i = k.add_link(host, "vf0", "02:00:00:00:00:01", 1500, Some("0000:01:10.1"));
        let mut nl = k.socket(host);
        nl.set_down(i).unwrap();
        k.fail("host: mtu vf0", 16);
        let e = nl.set_mtu(i, 9000).unwrap_err();
        assert_eq!(e.errno(), Some(16));
        nl.move_to_netns(i, &pod, Some("net1")).unwrap();
        assert_eq!(
            k.log(),
            [
                "host: down vf0",
                "host: mtu vf0 9000 (refused)",
                "host: move vf0 to pod as net1"
            ]
        );
        assert!(nl.link_by_name("vf0").unwrap_err().is_not_found());
        assert_eq!(k.link(pod, "net1").unwrap().mtu, Some(1500));
    }

    #[test]
    fn an_igb_vf_mirrors_its_own_mac_and_refuses_another_under_an_admin_mac() {
        let k = FakeKernel::new();
        let host = k.namespace("host");
        let pf = k.add_link(host, "pf0", "02:00:00:00:0f:00", 1500, None);
        k.add_vf(pf, 1, "0000:01:10.1", "igbvf", MacBehaviour::Igb);
        let vf = k.add_link(host, "vf0", "02:00:00:00:00:01", 1500, Some("0000:01:10.1"));
        let mut nl = k.socket(host);
        let own: MacAddr = "02:00:00:00:00:01".parse().unwrap();
        let admin: MacAddr = "02:00:00:00:00:aa".parse().unwrap();
        assert_eq!(nl.vf(pf, 1).unwrap().mac, own, "mirrored");
        nl.set_vf(pf, 1, &VfSetting::Mac(admin)).unwrap();
        let e = nl.set_mac(vf, own).unwrap_err();
        assert_eq!(e.errno(), Some(EADDRNOTAVAIL));
        let sysfs = k.sysfs();
        let pci = "0000:01:10.1".parse().unwrap();
        assert_eq!(sysfs.rebind_driver(pci).unwrap().as_deref(), Some("igbvf"));
        let name = sysfs.vf_netdev(pci).unwrap();
        assert_eq!(k.link(host, &name).unwrap().mac, Some(admin));
        assert!(k.link(host, "vf0").is_none());
    }
}
