//! `nfvctl status`: every attachment the node holds, joined with its leases and what the
//! kernel and OVS show now, with its drift. The types below are the `--json` schema
//! (docs/nfvctl.md): fields are only ever added, `schema` changes if one changes meaning.

use std::collections::HashSet;

use nfv_netlink::{VfInfo, VfLinkState, VlanProto};
use serde::Serialize;
use sriov::record::{Record as SriovRecord, SavedVf, VfMode};

use crate::drift::{self, Drift};
use crate::kernel::Kernel;
use crate::read::{OvsPort, Snapshot};

/// The schema version of `--json`.
pub const SCHEMA: u32 = 1;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub schema: u32,
    pub attachments: Vec<Attachment>,
    pub leases: Vec<LeaseView>,
    /// Drift that belongs to no attachment (a lease or an OVS port nobody holds).
    pub drift: Vec<Drift>,
    /// What could not be read, and why.
    pub notes: Vec<String>,
}

/// Who made the attachment.
pub const SRIOV: &str = "sriov";
pub const VDPA: &str = "vdpa";
pub const USERSPACE: &str = "userspace";
pub const SRIOV_CNI: &str = "sriov-cni";
pub const USERSPACE_CNI: &str = "userspace-cni";

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    /// `sriov`, `vdpa`, `userspace` (ours), `sriov-cni`, `userspace-cni` (theirs, before us).
    pub plugin: &'static str,
    pub network: Option<String>,
    /// userspace-cni's: the first 12 characters only (all its files keep).
    #[serde(rename = "containerID")]
    pub container_id: String,
    pub ifname: String,
    pub netns: Option<String>,
    /// Whether `netns` exists now (`null`: not known).
    pub netns_exists: Option<bool>,
    pub vf: Option<VfView>,
    pub vdpa: Option<VdpaView>,
    pub ovs: Option<OvsView>,
    /// The host-local leases of this attachment (its network's, by container ID and ifname).
    pub leases: Vec<String>,
    pub drift: Vec<Drift>,
    /// Where it was read: a file, or `ovsdb`.
    pub source: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VfView {
    pub pci: String,
    pub pf: String,
    pub index: u32,
    /// `netdev`, `userspace` (vfio-pci & co.), `vdpa` (handed to the vdpa code).
    pub mode: String,
    /// The driver the VF is bound to now.
    pub driver: Option<String>,
    /// Its netdev in the host now (`null` while it is in the pod, or bound to a userspace
    /// driver).
    pub host_netdev: Option<String>,
    /// The settings ADD applied (ours only; `null` for sriov-cni's and records of earlier
    /// releases).
    pub applied: Option<VfSettings>,
    /// The settings as they were before ADD (what DEL restores).
    pub before: VfSettings,
    /// The settings on the PF now (`null` when they could not be read: `nowError` says why).
    pub now: Option<VfSettings>,
    pub now_error: Option<String>,
}

/// VF settings in the PF's terms; `null` is "not set by ADD" (applied, before) or "not
/// reported by the driver" (now).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VfSettings {
    pub mac: Option<String>,
    pub vlan: Option<u32>,
    pub qos: Option<u32>,
    pub vlan_proto: Option<String>,
    pub spoofchk: Option<bool>,
    pub trust: Option<bool>,
    pub min_tx_rate: Option<u32>,
    pub max_tx_rate: Option<u32>,
    pub link_state: Option<String>,
}

fn proto(ad: bool) -> String {
    if ad { "802.1ad" } else { "802.1Q" }.to_string()
}

fn state(l: u32) -> String {
    match l {
        0 => "auto",
        1 => "enable",
        2 => "disable",
        _ => "unknown",
    }
    .to_string()
}

impl VfSettings {
    pub fn of_saved(s: &SavedVf) -> VfSettings {
        VfSettings {
            mac: s.mac.clone(),
            vlan: s.vlan.map(|v| v.0),
            qos: s.vlan.map(|v| v.1),
            vlan_proto: s.vlan.map(|v| proto(v.2)),
            spoofchk: s.spoofchk,
            trust: s.trust,
            min_tx_rate: s.rate.map(|r| r.0),
            max_tx_rate: s.rate.map(|r| r.1),
            link_state: s.link_state.map(state),
        }
    }

    pub fn of_now(v: &VfInfo) -> VfSettings {
        VfSettings {
            mac: Some(v.mac.to_string()),
            vlan: Some(v.vlan),
            qos: Some(v.qos),
            vlan_proto: Some(proto(v.vlan_proto == VlanProto::Dot1Ad)),
            spoofchk: v.spoofchk,
            trust: v.trust,
            min_tx_rate: Some(v.min_tx_rate),
            max_tx_rate: Some(v.max_tx_rate),
            link_state: v.link_state.map(|l| {
                state(match l {
                    VfLinkState::Auto => 0,
                    VfLinkState::Enable => 1,
                    VfLinkState::Disable => 2,
                })
            }),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VdpaView {
    pub device: String,
    /// `vhost` or `virtio`.
    pub mode: String,
    /// Whether the device is in sysfs now, and its driver.
    pub present: bool,
    pub driver: Option<String>,
    /// Virtio mode: the netdev as it was in the host before ADD.
    pub host_netdev: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OvsView {
    pub port: String,
    pub bridge: Option<String>,
    #[serde(rename = "type")]
    pub iface_type: String,
    /// As the rows say (never opened).
    pub socket: Option<String>,
    pub error: Option<String>,
}

impl OvsView {
    fn of(p: &OvsPort) -> OvsView {
        OvsView {
            port: p.name.clone(),
            bridge: p.bridge.clone(),
            iface_type: p.iface_type.clone(),
            socket: p.socket().map(str::to_string),
            error: p.error.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseView {
    pub network: String,
    pub address: String,
    #[serde(rename = "containerID")]
    pub container_id: Option<String>,
    /// `null` for a legacy lease (container ID only) or a file that is not text.
    pub ifname: Option<String>,
    pub data_dir: String,
    /// Whether an attachment listed above holds it.
    pub attached: bool,
    /// Whether its network is one an attachment above belongs to (a lease of another
    /// network is some other plugin's business, never flagged).
    pub our_network: bool,
}

impl Status {
    pub fn build(s: &Snapshot, kernel: &mut Kernel) -> Status {
        let mut attachments = Vec::new();
        let mut handoffs_shown = HashSet::new();
        for r in &s.sriov {
            let vdpa = (r.mode == VfMode::Vdpa)
                .then(|| {
                    s.sriov_vdpa
                        .iter()
                        .find(|v| v.container_id == r.container_id && v.ifname == r.ifname)
                })
                .flatten();
            if let Some(v) = vdpa {
                handoffs_shown.insert((v.container_id.clone(), v.ifname.clone()));
            }
            attachments.push(sriov_attachment(r, vdpa, kernel));
        }
        for (store, records) in [("sriov", &s.sriov_vdpa), ("vdpa", &s.vdpa)] {
            for r in records.iter() {
                if store == "sriov"
                    && handoffs_shown.contains(&(r.container_id.clone(), r.ifname.clone()))
                {
                    continue;
                }
                let mut a = vdpa_attachment(r, kernel);
                if store == "sriov" {
                    a.plugin = SRIOV;
                }
                attachments.push(a);
            }
        }
        for c in &s.sriov_cni {
            attachments.push(sriov_cni_attachment(c, kernel));
        }
        let mut drift_elsewhere = Vec::new();
        if let Some(ports) = &s.ovs {
            for p in ports {
                if let Some(t) = &p.ours {
                    let mut a = bare(USERSPACE, &t.container_id, &t.ifname, "ovsdb");
                    a.network = Some(t.network.clone());
                    a.ovs = Some(OvsView::of(p));
                    if let Some(e) = &p.error {
                        a.drift.push(Drift::new(drift::OVS_PORT_ERROR, e.clone()));
                    }
                    attachments.push(a);
                } else if !s.userspace_cni.iter().any(|f| f.port_name() == p.name) {
                    drift_elsewhere.push(Drift::new(
                        drift::OVS_PORT_WITHOUT_RECORD,
                        format!(
                            "port {} ({} on bridge {}) carries no nfv-cni tags and no \
                             userspace-cni file names it",
                            p.name,
                            p.iface_type,
                            p.bridge.as_deref().unwrap_or("?")
                        ),
                    ));
                }
            }
        }
        for f in &s.userspace_cni {
            let mut a = bare(USERSPACE_CNI, &f.cid12, &f.ifname, &f.name);
            a.network = f.network.clone();
            if let Some(ports) = &s.ovs {
                match ports
                    .iter()
                    .find(|p| p.ours.is_none() && p.name == f.port_name())
                {
                    Some(p) => {
                        a.ovs = Some(OvsView::of(p));
                        if let Some(e) = &p.error {
                            a.drift.push(Drift::new(drift::OVS_PORT_ERROR, e.clone()));
                        }
                    }
                    None => a.drift.push(Drift::new(
                        drift::OVS_PORT_GONE,
                        format!("OVS has no port {}", f.port_name()),
                    )),
                }
            }
            attachments.push(a);
        }
        let leases = join_leases(s, &mut attachments, &mut drift_elsewhere);
        Status {
            schema: SCHEMA,
            attachments,
            leases,
            drift: drift_elsewhere,
            notes: s.notes.clone(),
        }
    }
}

fn bare(plugin: &'static str, container_id: &str, ifname: &str, source: &str) -> Attachment {
    Attachment {
        plugin,
        network: None,
        container_id: container_id.to_string(),
        ifname: ifname.to_string(),
        netns: None,
        netns_exists: None,
        vf: None,
        vdpa: None,
        ovs: None,
        leases: Vec::new(),
        drift: Vec::new(),
        source: source.to_string(),
    }
}

fn with_netns(a: &mut Attachment, netns: &str, kernel: &Kernel) {
    if netns.is_empty() {
        return;
    }
    a.netns = Some(netns.to_string());
    a.netns_exists = kernel.netns_exists(netns);
    if a.netns_exists == Some(false) {
        a.drift.push(Drift::new(
            drift::NETNS_GONE,
            format!("{netns} no longer exists"),
        ));
    }
}

/// The VF half of a view: sysfs now, the PF's settings now, and their drift from `applied`.
fn vf_view(
    pci: nfv_pci::PciAddress,
    mode: String,
    before: &SavedVf,
    applied: Option<&SavedVf>,
    recorded_pf: (&str, u32),
    kernel: &mut Kernel,
    drift_out: &mut Vec<Drift>,
) -> VfView {
    let (pf, index, driver, host_netdev) = match kernel.vf(pci) {
        Ok(vf) => (
            vf.pf_netdev.clone(),
            vf.index,
            vf.driver.name().map(str::to_string),
            vf.netdev().map(str::to_string),
        ),
        Err(e) => {
            drift_out.push(Drift::new(drift::VF_GONE, format!("VF {pci}: {e}")));
            (recorded_pf.0.to_string(), recorded_pf.1, None, None)
        }
    };
    let (now, now_error) = match kernel.vf_settings(&pf, index) {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(e)),
    };
    if let (Some(a), Some(n)) = (applied, &now) {
        for d in drift::vf_settings(a, n) {
            drift_out.push(Drift::new(
                drift::VF_SETTINGS_CHANGED,
                format!("VF {pci} ({pf} vf {index}): {d}"),
            ));
        }
    }
    VfView {
        pci: pci.to_string(),
        pf,
        index,
        mode,
        driver,
        host_netdev,
        applied: applied.filter(|a| !a.is_empty()).map(VfSettings::of_saved),
        before: VfSettings::of_saved(before),
        now: now.as_ref().map(VfSettings::of_now),
        now_error,
    }
}

fn mode_name<T: Serialize>(m: &T) -> String {
    serde_json::to_value(m)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn sriov_attachment(
    r: &SriovRecord,
    vdpa: Option<&nfv_vdpa::record::Record>,
    kernel: &mut Kernel,
) -> Attachment {
    let source = format!("{}-{}.json", r.container_id, r.ifname);
    let mut a = bare(SRIOV, &r.container_id, &r.ifname, &source);
    a.network = Some(r.network.clone()).filter(|n| !n.is_empty());
    with_netns(&mut a, &r.netns, kernel);
    let mut d = Vec::new();
    a.vf = Some(vf_view(
        r.device.pci(),
        mode_name(&r.mode),
        &r.saved_vf,
        Some(&r.applied_vf),
        (&r.pf_netdev, r.vf_index),
        kernel,
        &mut d,
    ));
    a.drift.extend(d);
    if let Some(v) = vdpa {
        a.vdpa = Some(vdpa_view(v, kernel, &mut a.drift));
    } else if let Some(dev) = &r.vdpa_device {
        a.vdpa = Some(VdpaView {
            device: dev.clone(),
            mode: String::new(),
            present: kernel.vdpa(dev).is_ok(),
            driver: None,
            host_netdev: None,
        });
    }
    a
}

fn vdpa_view(
    r: &nfv_vdpa::record::Record,
    kernel: &Kernel,
    drift_out: &mut Vec<Drift>,
) -> VdpaView {
    let now = kernel.vdpa(&r.device);
    if let Err(e) = &now {
        drift_out.push(Drift::new(
            drift::VDPA_DEVICE_GONE,
            format!("vDPA device {}: {e}", r.device),
        ));
    }
    VdpaView {
        device: r.device.clone(),
        mode: mode_name(&r.mode),
        present: now.is_ok(),
        driver: now.ok().and_then(|d| d.driver).map(|d| match d {
            nfv_pci::VdpaDriver::Vhost => "vhost_vdpa".to_string(),
            nfv_pci::VdpaDriver::Virtio => "virtio_vdpa".to_string(),
            nfv_pci::VdpaDriver::Other(o) => o,
        }),
        host_netdev: r.netdev.as_ref().map(|n| n.host.name.clone()),
    }
}

fn vdpa_attachment(r: &nfv_vdpa::record::Record, kernel: &mut Kernel) -> Attachment {
    let source = format!("{}-{}.json", r.container_id, r.ifname);
    let mut a = bare(VDPA, &r.container_id, &r.ifname, &source);
    a.network = Some(r.network.clone()).filter(|n| !n.is_empty());
    with_netns(&mut a, &r.netns, kernel);
    let mut d = Vec::new();
    a.vdpa = Some(vdpa_view(r, kernel, &mut d));
    a.drift.extend(d);
    a
}

fn sriov_cni_attachment(c: &crate::read::SriovCniAttachment, kernel: &mut Kernel) -> Attachment {
    let (cid, ifname) = c.identity();
    let mut a = bare(SRIOV_CNI, cid, ifname, &c.name);
    a.network = c.cache.network.clone();
    if let Some(ns) = &c.allocation {
        with_netns(&mut a, ns, kernel);
    }
    if let Some(pci) = c.cache.device {
        let mut d = Vec::new();
        let pf = c.cache.master.clone().unwrap_or_default();
        a.vf = Some(vf_view(
            pci,
            String::new(),
            &c.cache.saved_vf,
            None,
            (&pf, c.cache.vf_id.unwrap_or_default()),
            kernel,
            &mut d,
        ));
        a.drift.extend(d);
    }
    a
}

/// Leases joined to the attachments that hold them; the unheld ones of our networks are drift.
fn join_leases(
    s: &Snapshot,
    attachments: &mut [Attachment],
    drift_out: &mut Vec<Drift>,
) -> Vec<LeaseView> {
    let networks: HashSet<String> = attachments
        .iter()
        .filter_map(|a| a.network.clone())
        .collect();
    let mut out = Vec::new();
    for l in &s.leases {
        let owner = l.owner();
        let holder = owner.and_then(|(cid, ifname)| {
            attachments.iter_mut().find(|a| {
                let same_net = a.network.as_deref().is_none_or(|n| n == l.network);
                // userspace-cni's attachments know 12 characters of the container ID.
                let same_id = if a.plugin == USERSPACE_CNI {
                    cid.starts_with(&a.container_id)
                } else {
                    cid == a.container_id
                };
                same_net && same_id && ifname.is_none_or(|i| i == a.ifname)
            })
        });
        let attached = match holder {
            Some(a) => {
                a.leases.push(l.address.to_string());
                true
            }
            None => false,
        };
        let our_network = networks.contains(&l.network);
        if !attached && our_network {
            drift_out.push(Drift::new(
                drift::LEASE_WITHOUT_ATTACHMENT,
                format!(
                    "{} of network {} is held by {:?}, which holds no attachment here",
                    l.address,
                    l.network,
                    l.content.as_deref().unwrap_or("(not text)")
                ),
            ));
        }
        out.push(LeaseView {
            network: l.network.clone(),
            address: l.address.to_string(),
            container_id: owner.map(|o| o.0.to_string()),
            ifname: owner.and_then(|o| o.1).map(str::to_string),
            data_dir: l.data_dir.display().to_string(),
            attached,
            our_network,
        });
    }
    out
}

/// Pretty JSON with a final newline.
pub fn to_json<T: Serialize>(v: &T) -> Result<String, String> {
    serde_json::to_string_pretty(v)
        .map(|s| s + "\n")
        .map_err(|e| format!("encoding the output: {e}"))
}
