//! The sriov CNI plugin: attach an SR-IOV VF to a pod and give it back intact.
//!
//! - `config`: sriov-cni's fields plus `mtu`, validated; the VF plan.
//! - `attach`: ADD in netdev mode (the VF's netdev moves into the pod, through `nfv_podnet`)
//!   with full rollback, including the igb admin-MAC rebind.
//! - `userspace`: ADD and CHECK for a VF on vfio-pci / uio_pci_generic / igb_uio (no netdev).
//! - `restore`: putting a VF back from its record (DEL, GC, rollback).
//! - `record`: what ADD changed and in which mode, written before the first change; per-VF lock.
//!
//! The binary always reads `/sys` and keeps records in [`record::STATE_DIR`]; tests build a
//! [`Sriov`] over a fake sysfs tree and a scratch state directory. Nothing in a config or the
//! environment can point the binary elsewhere.

pub mod attach;
pub mod codes;
pub mod config;
pub mod crash;
pub mod devinfo;
pub mod record;
pub mod restore;
pub mod userspace;

use nfv_cni::result::Success;
use nfv_cni::{code, ipam, Error, Plugin, Request};
use nfv_netlink::{Netlink, Netns};
use nfv_pci::Sysfs;
use nfv_podnet::verify::{verify, Expected, Mismatch};

use crate::codes::from_netlink;
use crate::config::SriovConf;
use crate::record::{Record, RecordStore, VfMode, STATE_DIR};

/// The plugin: where sysfs is and where records are kept.
#[derive(Debug, Clone)]
pub struct Sriov {
    pub sysfs: Sysfs,
    pub records: RecordStore,
}

impl Default for Sriov {
    fn default() -> Self {
        Sriov {
            sysfs: Sysfs::new(),
            records: RecordStore::new(STATE_DIR),
        }
    }
}

fn join_failures(verb: &str, failures: Vec<String>) -> Result<(), Error> {
    if failures.is_empty() {
        return Ok(());
    }
    Err(Error::new(
        codes::KERNEL_REFUSED,
        format!("{verb}: {} step(s) failed: {}", failures.len(), failures[0]),
    )
    .with_details(failures.join("; ")))
}

impl Sriov {
    /// DEL: restore from the record (or, without one, bring the VF named by the config back
    /// from the pod), always release IPAM, then forget the record.
    fn detach(&self, req: &Request) -> Result<(), Error> {
        let mut failures = Vec::new();
        let record = self.records.load(req.container_id(), req.ifname())?;
        let pod_ns = match req.netns() {
            None => None,
            Some(p) => match Netns::open(p) {
                Ok(ns) => Some(ns),
                Err(e) if e.is_not_found() => None, // the pod's namespace is already gone
                Err(e) => {
                    failures.push(e.to_string());
                    None
                }
            },
        };
        match &record {
            Some(r) => {
                let _lock = self.records.lock_device(&r.device)?;
                let mut host = Netlink::open().map_err(from_netlink)?;
                failures.extend(restore::restore(&mut host, &self.sysfs, pod_ns.as_ref(), r));
            }
            None => failures.extend(self.detach_without_record(req, pod_ns.as_ref())),
        }
        if let Err(e) = ipam::del(req) {
            failures.push(format!("IPAM DEL: {}", e.msg));
        }
        if failures.is_empty() {
            self.records.remove(req.container_id(), req.ifname())?;
        }
        join_failures("DEL", failures)
    }

    /// No record (written by another version, or lost): the config still names the VF. If its
    /// netdev is in the pod, bring it home as `<pf>v<index>` (its original name is unknown).
    fn detach_without_record(&self, req: &Request, pod_ns: Option<&Netns>) -> Vec<String> {
        let Ok(conf) = req.parse_conf::<SriovConf>() else {
            return Vec::new();
        };
        let mut failures = Vec::new();
        if let Ok(Some(p)) = devinfo::requested_path(&conf.runtime_config) {
            if let Err(e) = devinfo::remove(&p) {
                failures.push(e.to_string());
            }
        }
        let Some(ns) = pod_ns else {
            return failures; // the kernel brings the VF back itself when the namespace dies
        };
        let Ok(device) = config::device(&conf) else {
            return failures;
        };
        let vf = match self.sysfs.vf(device) {
            Ok(vf) => vf,
            Err(e) => {
                failures.push(format!("DEL without a record: {e}"));
                return failures;
            }
        };
        if vf.is_userspace() {
            // Userspace-driver mode: no netdev was moved, and what the VF settings were
            // before ADD was never recorded here.
            nfv_cni::info!(
                "DEL without a record: VF {device} is bound to {}: nothing to bring back",
                vf.driver.name().unwrap_or("?")
            );
            return failures;
        }
        let name = {
            let n = format!("{}v{}", vf.pf_netdev, vf.index);
            if n.len() <= nfv_netlink::MAX_IFNAME_LEN {
                n
            } else {
                format!("sriovvf{}", vf.index)
            }
        };
        failures.extend(
            nfv_podnet::take_back::bring_home_as(ns, req.ifname(), &device.to_string(), &name)
                .into_iter()
                .map(|f| format!("DEL without a record: {f}")),
        );
        failures
    }

    /// CHECK: the VF is in the pod under the expected name with the expected MAC and MTU, and
    /// its settings on the PF match the config.
    fn check_attachment(&self, req: &Request) -> Result<(), Error> {
        let conf: SriovConf = req.parse_conf()?;
        let plan = config::plan(&conf, &req.env.args)?;
        let r = self
            .records
            .load(req.container_id(), req.ifname())?
            .ok_or_else(|| {
                Error::new(
                    code::UNKNOWN_CONTAINER,
                    format!(
                        "no attachment {} / {} recorded on this node",
                        req.container_id(),
                        req.ifname()
                    ),
                )
            })?;
        if r.mode == VfMode::Userspace {
            self.check_userspace(&r, &plan)?;
            return ipam::check(req);
        }
        let ns_path = req
            .netns()
            .ok_or_else(|| Error::new(code::INVALID_ENV, "CNI_NETNS is required for CHECK"))?;
        let ns = Netns::open(ns_path).map_err(from_netlink)?;
        let mut pod = Netlink::open_in(&ns).map_err(from_netlink)?;
        let addresses = match req.prev_result()? {
            Some(prev) => prev.ips.into_iter().map(|ip| ip.address).collect(),
            None => Vec::new(),
        };
        let want = Expected {
            ifname: req.ifname(),
            device: &r.device,
            mac: plan.mac,
            mtu: plan.mtu,
            addresses,
        };
        verify(&mut pod, &want).map_err(|m| match m {
            Mismatch::Netlink(e) => from_netlink(e),
            Mismatch::Differs(m) => Error::new(codes::VF_UNUSABLE, m),
        })?;
        let fail = |m: String| Err(Error::new(codes::VF_UNUSABLE, m));
        if !plan.vf_settings.is_empty() {
            let mut host = Netlink::open().map_err(from_netlink)?;
            let pf = host.link_by_name(&r.pf_netdev).map_err(from_netlink)?;
            let current = host.vf(pf.index, r.vf_index).map_err(from_netlink)?;
            let missing = attach::missing_settings(&plan, &current);
            if !missing.is_empty() {
                return fail(format!(
                    "VF {} differs from the config: {missing:?}",
                    r.device
                ));
            }
        }
        ipam::check(req)
    }

    /// GC: restore every recorded VF whose attachment is not in the valid list.
    fn collect_garbage(&self, req: &Request) -> Result<(), Error> {
        let valid = req.conf.valid_attachments.clone().unwrap_or_default();
        let mut failures = Vec::new();
        let stale: Vec<Record> = self
            .records
            .all()?
            .into_iter()
            .filter(|r| {
                !valid
                    .iter()
                    .any(|a| a.container_id == r.container_id && a.ifname == r.ifname)
            })
            .collect();
        for r in stale {
            let _lock = self.records.lock_device(&r.device)?;
            let ns = Netns::open(&r.netns).ok();
            let mut host = Netlink::open().map_err(from_netlink)?;
            let f = restore::restore(&mut host, &self.sysfs, ns.as_ref(), &r);
            if f.is_empty() {
                self.records.remove(&r.container_id, &r.ifname)?;
            }
            failures.extend(f);
        }
        if let Err(e) = ipam::gc(req) {
            failures.push(format!("IPAM GC: {}", e.msg));
        }
        join_failures("GC", failures)
    }
}

impl Plugin for Sriov {
    fn add(&self, req: &Request) -> Result<Success, Error> {
        self.attach(req)
    }

    fn del(&self, req: &Request) -> Result<(), Error> {
        self.detach(req)
    }

    fn check(&self, req: &Request) -> Result<(), Error> {
        self.check_attachment(req)
    }

    fn gc(&self, req: &Request) -> Result<(), Error> {
        self.collect_garbage(req)
    }

    /// Ready when sysfs shows PCI devices and a netlink socket opens.
    fn status(&self, req: &Request) -> Result<(), Error> {
        std::fs::read_dir(self.sysfs.root().join("bus/pci/devices")).map_err(|e| {
            Error::new(
                code::NOT_AVAILABLE,
                format!(
                    "sysfs is not usable ({}/bus/pci/devices: {e})",
                    self.sysfs.root().display()
                ),
            )
        })?;
        Netlink::open()
            .map_err(|e| Error::new(code::NOT_AVAILABLE, format!("netlink is not usable: {e}")))?;
        ipam::status(req)
    }
}
