//! The sriov CNI plugin: attach an SR-IOV VF to a pod and give it back intact.
//!
//! - `config`: sriov-cni's fields plus `mtu`, validated; the VF plan.
//! - `attach`: ADD in netdev mode (the VF's netdev moves into the pod, through `nfv_podnet`)
//!   with full rollback, including the igb admin-MAC rebind.
//! - `userspace`: ADD and CHECK for a VF on vfio-pci / uio_pci_generic / igb_uio (no netdev).
//! - `handoff`: a VF carrying a vDPA device: VF settings here, the device handed to the vdpa
//!   plugin's code (`vdpa::Vdpa`), so one NAD type serves both.
//! - `restore`: putting a VF back from its record (DEL, GC, rollback).
//! - `record`: what ADD changed and in which mode, written before the first change; per-VF lock.
//!
//! The binary always reads `/sys` and keeps records in [`record::STATE_DIR`] (the vdpa code's
//! records of hand-offs in [`VDPA_STATE_DIR`]); tests build a [`Sriov`] with [`Sriov::over`] a
//! fake sysfs tree and a scratch state directory. Nothing in a config or the
//! environment can point the binary elsewhere.

pub mod attach;
pub mod codes;
pub mod config;
pub mod crash;
pub mod devinfo;
pub mod handoff;
pub mod record;
pub mod restore;
pub mod userspace;

use nfv_cni::result::Success;
use nfv_cni::{code, ipam, Error, Plugin, Request};
use nfv_netlink::{Netlink, Netns};
use nfv_pci::Sysfs;
use nfv_plugin::CniRecordStore;
use nfv_podnet::verify::{verify, Expected, Mismatch};
use std::path::Path;
use vdpa::Vdpa;

use crate::codes::from_netlink;
use crate::config::SriovConf;
use crate::record::{Record, RecordStore, VfMode, STATE_DIR};

/// Where the vdpa code keeps its records of the vDPA devices sriov handed to it: apart from
/// the vdpa plugin's own, so that GC of an sriov network (which hands its valid attachments to
/// the vdpa code's GC) never touches an attachment of a vdpa network, nor the reverse.
pub const VDPA_STATE_DIR: &str = "/var/lib/cni/nfv-sriov/vdpa";

/// The plugin: where sysfs is, where records are kept, and the vdpa code VFs that carry a
/// vDPA device are handed to.
#[derive(Debug, Clone)]
pub struct Sriov {
    pub sysfs: Sysfs,
    pub records: RecordStore,
    pub vdpa: Vdpa,
}

impl Default for Sriov {
    fn default() -> Self {
        Sriov {
            sysfs: Sysfs::new(),
            records: RecordStore::new(STATE_DIR),
            vdpa: Vdpa {
                records: vdpa::record::store(VDPA_STATE_DIR),
                ..Vdpa::default()
            },
        }
    }
}

impl Sriov {
    /// For tests: over the sysfs tree at `sysfs` (usually a fake one), records in `state_dir`
    /// (the vdpa code's in `state_dir/vdpa`), without asking the kernel's vdpa
    /// generic-netlink family or looking for `/dev/vhost-vdpa-N` (both describe the real node,
    /// not the tree).
    pub fn over(sysfs: impl Into<std::path::PathBuf>, state_dir: impl AsRef<Path>) -> Sriov {
        let sysfs = Sysfs::at(sysfs);
        let state_dir = state_dir.as_ref();
        Sriov {
            sysfs: sysfs.clone(),
            records: RecordStore::new(state_dir),
            vdpa: Vdpa {
                sysfs,
                records: vdpa::record::store(state_dir.join("vdpa")),
                use_netlink: false,
                check_dev_nodes: false,
            },
        }
    }
}

/// The VF the request's config names, if it names one validly (DEL must not fail on a
/// config ADD would refuse).
fn configured_device(req: &Request) -> Option<nfv_pci::PciAddress> {
    let conf = req.parse_conf::<SriovConf>().ok()?;
    config::device(&conf).ok()
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

/// The verb's outcome: the error of the step that released IPAM (IPAM itself, or the vdpa
/// code) with its own code when it is the only failure, else every failure together.
fn finish(verb: &str, mut failures: Vec<String>, released: Result<(), Error>) -> Result<(), Error> {
    match released {
        Err(e) if failures.is_empty() => Err(e),
        Err(e) => {
            failures.push(if e.details.is_empty() {
                e.msg
            } else {
                format!("{} ({})", e.msg, e.details)
            });
            join_failures(verb, failures)
        }
        Ok(()) => join_failures(verb, failures),
    }
}

impl Sriov {
    /// DEL: restore from the record (or, without one, bring the VF named by the config back
    /// from the pod), always release IPAM, then forget the record. A vDPA hand-off: the vdpa
    /// code detaches first (and releases IPAM), then the VF settings come back.
    fn detach(&self, req: &Request) -> Result<(), Error> {
        let mut failures = Vec::new();
        let record = self.records.load(req.container_id(), req.ifname())?;
        // Held across both halves of a hand-off's DEL. Without a record, the config's VF's:
        // then another attachment's ADD or DEL is never half-way through it while this DEL
        // looks at who holds it.
        let device = match &record {
            Some(r) => Some(r.device.clone()),
            None => configured_device(req).map(|d| d.to_string()),
        };
        let _lock = match &device {
            Some(d) => Some(self.records.lock_device(d)?),
            None => None,
        };
        let handed_off = match &record {
            Some(r) => r.mode == VfMode::Vdpa,
            None => self.handed_off_without_record(req),
        };
        // Released by the vdpa code for a hand-off, by IPAM DEL below otherwise.
        let mut released = if handed_off {
            self.vdpa
                .detach(req)
                .map_err(|e| e.context("detaching the VF's vDPA device"))
        } else {
            Ok(())
        };
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
                let mut host = Netlink::open().map_err(from_netlink)?;
                failures.extend(restore::restore(&mut host, &self.sysfs, pod_ns.as_ref(), r));
            }
            // Without a record the VF settings before ADD are unknown: nothing to restore.
            None if handed_off => {}
            None => failures.extend(self.detach_without_record(req, pod_ns.as_ref())),
        }
        if !handed_off {
            released = ipam::del(req).map_err(|e| e.context("IPAM DEL"));
        }
        if failures.is_empty() && released.is_ok() {
            self.records.remove(req.container_id(), req.ifname())?;
        }
        finish("DEL", failures, released)
    }

    /// No record (written by another version, or lost): the config still names the VF. If its
    /// netdev is in the pod, bring it home as `<pf>v<index>` (its original name is unknown).
    fn detach_without_record(&self, req: &Request, pod_ns: Option<&Netns>) -> Vec<String> {
        let Ok(conf) = req.parse_conf::<SriovConf>() else {
            return Vec::new();
        };
        let mut failures = Vec::new();
        let Ok(device) = config::device(&conf) else {
            return failures;
        };
        // The VF is another attachment's (this one lost the race for it, or never had it):
        // its netdev in this namespace, even under this CNI_IFNAME, is not ours to take.
        match self.records.holder_of(&device.to_string()) {
            Ok(None) => {}
            Ok(Some(holder)) => {
                nfv_cni::info!(
                    "DEL without a record: VF {device} is attached to container {} as {}: \
                     left to it",
                    holder.container_id,
                    holder.ifname
                );
                return failures;
            }
            Err(e) => {
                failures.push(format!(
                    "DEL without a record: cannot tell whether VF {device} is another \
                     attachment's, so it is left where it is: {e}"
                ));
                return failures;
            }
        }
        let vf = self.sysfs.vf(device);
        self.remove_device_info_without_record(&conf, vf.as_ref().ok(), &mut failures);
        let Some(ns) = pod_ns else {
            return failures; // the kernel brings the VF back itself when the namespace dies
        };
        let vf = match vf {
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

    /// DEL without a record: the device-info file the config names is removed only when it
    /// is recognisably this attachment's (in the device-info tree, and exactly what ADD writes
    /// for this VF); anything else, or a VF sysfs no longer shows, leaves it in place.
    fn remove_device_info_without_record(
        &self,
        conf: &SriovConf,
        vf: Option<&nfv_pci::VfDevice>,
        failures: &mut Vec<String>,
    ) {
        let place = devinfo::place();
        let Some(path) = nfv_devinfo::requested_path_for_teardown(&conf.runtime_config, &place)
        else {
            return;
        };
        let Some(vf) = vf else {
            nfv_cni::info!(
                "device-info file {} left in place: no record, and the VF is not in sysfs to \
                 tell whether the file is ours",
                path.display()
            );
            return;
        };
        if let Err(e) = nfv_devinfo::remove_if_ours(&place, &path, &devinfo::vf_device_info(vf)) {
            failures.push(e.to_string());
        }
    }

    /// CHECK: the VF is in the pod under the expected name with the expected MAC and MTU, and
    /// its settings on the PF match the config.
    fn check_attachment(&self, req: &Request) -> Result<(), Error> {
        let conf: SriovConf = req.parse_conf()?;
        let plan = config::plan(&conf, &req.env.args)?;
        let r = self.records.load_known(req.container_id(), req.ifname())?;
        match r.mode {
            VfMode::Userspace => {
                self.check_userspace(&r, &plan)?;
                return ipam::check(req);
            }
            // The vdpa code checks the device and IPAM.
            VfMode::Vdpa => return self.check_vdpa(req, &r, &plan),
            VfMode::Netdev => {}
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
        self.check_vf_settings(&r, &plan)?;
        ipam::check(req)
    }

    /// CHECK's part on the PF: the VF settings the config asks for are still in place.
    pub(crate) fn check_vf_settings(&self, r: &Record, plan: &config::Plan) -> Result<(), Error> {
        if plan.vf_settings.is_empty() {
            return Ok(());
        }
        let mut host = Netlink::open().map_err(from_netlink)?;
        let pf = host.link_by_name(&r.pf_netdev).map_err(from_netlink)?;
        let current = host.vf(pf.index, r.vf_index).map_err(from_netlink)?;
        let missing = attach::missing_settings(plan, &current);
        if !missing.is_empty() {
            return Err(Error::new(
                codes::VF_UNUSABLE,
                format!("VF {} differs from the config: {missing:?}", r.device),
            ));
        }
        Ok(())
    }

    /// GC of the network named by the config: restore every VF recorded for that network
    /// whose attachment is not in the valid list (which names that network's attachments
    /// only). Other networks' records, and records that name no network (an earlier
    /// binary's, left to DEL), are not touched, nor is a VF an ADD or DEL holds the lock of
    /// right now. The vdpa code's GC goes first: it detaches the network's stale hand-offs in
    /// its store (sriov's own) and runs IPAM GC, once, for both.
    fn collect_garbage(&self, req: &Request) -> Result<(), Error> {
        let released = Plugin::gc(&self.vdpa, req).map_err(|e| e.context("vDPA hand-offs"));
        let valid = req.conf.valid_attachments.clone().unwrap_or_default();
        let mut failures = Vec::new();
        let stale = self.records.stale(&req.conf.name, &valid)?;
        for r in stale {
            // A VF an ADD or DEL is working on right now is left to it (and to the next GC):
            // waiting would tear down an ADD's attachment the moment it succeeded.
            let Some(_lock) = self.records.try_lock_device(&r.device)? else {
                nfv_cni::info!(
                    "GC: VF {} ({} / {}) is busy with an ADD or DEL: left for the next GC",
                    r.device,
                    r.container_id,
                    r.ifname
                );
                continue;
            };
            // Listed before the lock was taken: only the record as it is now counts.
            if self.records.load(&r.container_id, &r.ifname).ok().flatten() != Some(r.clone()) {
                continue;
            }
            let ns = Netns::open(&r.netns).ok();
            let mut host = Netlink::open().map_err(from_netlink)?;
            let f = restore::restore(&mut host, &self.sysfs, ns.as_ref(), &r);
            if f.is_empty() {
                self.records.remove(&r.container_id, &r.ifname)?;
            }
            failures.extend(f);
        }
        finish("GC", failures, released)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_releasing_steps_error_keeps_its_code_alone_and_joins_the_others() {
        let busy = || Err(Error::new(11, "IPAM DEL: busy").with_details("lock held"));
        let e = finish("DEL", vec![], busy()).unwrap_err();
        assert_eq!((e.code, e.msg.as_str()), (11, "IPAM DEL: busy"));
        let e = finish("DEL", vec!["restoring VF x: EPERM".into()], busy()).unwrap_err();
        assert_eq!(e.code, codes::KERNEL_REFUSED);
        assert_eq!(e.msg, "DEL: 2 step(s) failed: restoring VF x: EPERM");
        assert_eq!(
            e.details,
            "restoring VF x: EPERM; IPAM DEL: busy (lock held)"
        );
        assert!(finish("GC", vec![], Ok(())).is_ok());
        assert_eq!(
            finish("GC", vec!["a".into()], Ok(())).unwrap_err().msg,
            "GC: 1 step(s) failed: a"
        );
    }
}
