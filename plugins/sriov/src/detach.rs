//! DEL and GC's teardown: put back what ADD did, from the record (or, without one, from the
//! config), release IPAM, forget the record. Every step is tried and the failures are reported
//! together (STYLE.md 5); "already gone" is success.

use nfv_cni::{ipam, Error, Request};
use nfv_netlink::{Netlink, Netns};
use nfv_pci::PciAddress;
use nfv_plugin::gc::collect_stale;
use nfv_plugin::{Cause, Failure, Failures};

use crate::adopt::{self, Adopted};
use crate::codes::{self, from_netlink};
use crate::config::{self, SriovConf};
use crate::devinfo;
use crate::record::{Record, VfAddress, VfMode};
use crate::restore;
use crate::Sriov;

/// The config and the VF it names, if it names one validly (DEL must not fail on a config
/// ADD would refuse). Parsed once, for a DEL without a record.
fn configured_vf(req: &Request) -> Option<(SriovConf, PciAddress)> {
    let conf = req.parse_conf::<SriovConf>().ok()?;
    let vf = config::device(&conf).ok()?;
    Some((conf, vf))
}

/// The name a VF netdev comes home under when its own is not known: `<pf>v<index>`, as the
/// kernel's udev rules would name it (`sriovvf<index>` when that is too long).
pub(crate) fn name_without_record(vf: &nfv_pci::VfDevice) -> String {
    let n = format!("{}v{}", vf.pf_netdev, vf.index);
    if n.len() <= nfv_netlink::MAX_IFNAME_LEN {
        n
    } else {
        format!("sriovvf{}", vf.index)
    }
}

/// The verb's outcome: the error of the step that released IPAM (IPAM itself, or the vdpa
/// code) with its own code when it is the only failure, else every failure together.
fn finish(verb: &str, mut failures: Failures, released: Result<(), Error>) -> Result<(), Error> {
    match released {
        Err(e) if failures.is_empty() => Err(e),
        Err(e) => {
            failures.push(Failure::bare("", Cause::Cni(e)));
            failures.into_result(verb, codes::KERNEL_REFUSED)
        }
        Ok(()) => failures.into_result(verb, codes::KERNEL_REFUSED),
    }
}

/// In front of what a DEL without a record could not do.
const WITHOUT_RECORD: &str = "DEL without a record: ";

impl Sriov {
    /// DEL: restore from the record (or, without one, from sriov-cni's cache of the
    /// attachment, or else bring the VF named by the config back from the pod), always
    /// release IPAM, then forget the record (and sriov-cni's files). A vDPA hand-off: the vdpa
    /// code detaches first (and releases IPAM), then the VF settings come back.
    pub(crate) fn detach(&self, req: &Request) -> Result<(), Error> {
        let mut failures = Failures::new();
        let record = self.records.load(req.container_id(), req.ifname())?;
        // Held across both halves of a hand-off's DEL. Without a record, the config's VF's:
        // then another attachment's ADD or DEL is never half-way through it while this DEL
        // looks at who holds it.
        let configured = match &record {
            Some(_) => None,
            None => configured_vf(req),
        };
        // A pod sriov-cni attached: its cache, when it names the config's VF (or the config
        // names none).
        let cached = match &record {
            Some(_) => None,
            None => self
                .sriov_cni
                .load(req.container_id(), req.ifname())
                .and_then(|c| {
                    let vf = adopt::cached_vf(&c, configured.as_ref().map(|(_, vf)| *vf))?;
                    Some((c, vf))
                }),
        };
        let device: Option<VfAddress> = match (&record, &configured, &cached) {
            (Some(r), _, _) => Some(r.device.clone()),
            (None, Some((_, vf)), _) => Some((*vf).into()),
            (None, None, Some((_, vf))) => Some((*vf).into()),
            (None, None, None) => None,
        };
        let _lock = match &device {
            Some(d) => Some(self.records.lock_device(d.as_str())?),
            None => None,
        };
        let handed_off = match &record {
            Some(r) => r.mode == VfMode::Vdpa,
            None => self.handed_off_without_record(req, device.as_ref().map(VfAddress::pci)),
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
                    let on = device.as_ref().map(ToString::to_string).unwrap_or_default();
                    failures.push(Failure::bare(on, e));
                    None
                }
            },
        };
        // The VF restored from sriov-cni's cache: its allocation goes with the cache.
        let mut restored_from_cache = None;
        match (&record, &cached) {
            (Some(r), _) => {
                let mut host = Netlink::open().map_err(from_netlink)?;
                failures.extend(restore::restore(&mut host, &self.sysfs, pod_ns.as_ref(), r));
            }
            // Without a record the VF settings before ADD are unknown: nothing to restore.
            (None, _) if handed_off => {}
            (None, Some((cache, vf))) => {
                match self.detach_adopted(req, cache, *vf, pod_ns.as_ref()) {
                    Adopted::Restored(f) => {
                        failures.extend(f);
                        restored_from_cache = Some(*vf);
                    }
                    Adopted::LeftToHolder => {}
                }
            }
            (None, None) => {
                if let Some((conf, vf)) = &configured {
                    failures.extend(self.detach_without_record(req, conf, *vf, pod_ns.as_ref()));
                }
            }
        }
        if !handed_off {
            released = ipam::del(req).map_err(|e| e.context("IPAM DEL"));
        }
        if failures.is_empty() && released.is_ok() {
            self.records.remove(req.container_id(), req.ifname())?;
            if record.is_none() {
                failures.extend(self.remove_sriov_cni_files(req, restored_from_cache));
            }
        }
        finish("DEL", failures, released)
    }

    /// No record (written by another version, or lost): the config still names the VF
    /// (`device`). If its netdev is in the pod, bring it home as `<pf>v<index>` (its original
    /// name is unknown).
    fn detach_without_record(
        &self,
        req: &Request,
        conf: &SriovConf,
        device: PciAddress,
        pod_ns: Option<&Netns>,
    ) -> Failures {
        let mut failures = Failures::new();
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
                let step = format!(
                    "cannot tell whether VF {device} is another attachment's, so it is left \
                     where it is"
                );
                failures.push(Failure::new(step, device.to_string(), e).within(WITHOUT_RECORD));
                return failures;
            }
        }
        let vf = self.sysfs.vf(device);
        self.remove_device_info_without_record(conf, vf.as_ref().ok(), &mut failures);
        let Some(ns) = pod_ns else {
            return failures; // the kernel brings the VF back itself when the namespace dies
        };
        let vf = match vf {
            Ok(vf) => vf,
            Err(e) => {
                failures.push(Failure::bare(device.to_string(), e).within(WITHOUT_RECORD));
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
        let name = name_without_record(&vf);
        failures.extend(
            nfv_podnet::take_back::bring_home_as(ns, req.ifname(), &device.to_string(), &name)
                .within(WITHOUT_RECORD),
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
        failures: &mut Failures,
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
            failures.push(Failure::bare(vf.address.to_string(), e));
        }
    }

    /// GC of the network named by the config: restore every VF recorded for that network
    /// whose attachment is not in the valid list (which names that network's attachments
    /// only). Other networks' records, and records that name no network (an earlier
    /// binary's, left to DEL), are not touched, nor is a VF an ADD or DEL holds the lock of
    /// right now. The vdpa code's GC goes first: it detaches the network's stale hand-offs in
    /// its store (sriov's own) and runs IPAM GC, once, for both.
    pub(crate) fn collect_garbage(&self, req: &Request) -> Result<(), Error> {
        let released = self
            .vdpa
            .collect_garbage(req)
            .map_err(|e| e.context("vDPA hand-offs"));
        let valid = req.conf.valid_attachments.clone().unwrap_or_default();
        let mut failures = Failures::new();
        let stale = self.records.stale(&req.conf.name, &valid)?;
        // Like DEL, GC tries every stale attachment: one it cannot tear down (its lock, the
        // kernel, its record) is reported with the others at the end, never stops the rest.
        for r in stale {
            failures.extend(self.collect(&r));
        }
        // The pods sriov-cni attached to this network, by its cache.
        failures.extend(self.collect_sriov_cni(req, &valid));
        finish("GC", failures, released)
    }

    /// GC's teardown of one stale attachment; its failures.
    fn collect(&self, r: &Record) -> Failures {
        let lock = |device: &str| self.records.try_lock_device(device);
        collect_stale(&self.records, r, "VF", lock, || {
            let ns = Netns::open(&r.netns).ok();
            match Netlink::open() {
                Ok(mut host) => restore::restore(&mut host, &self.sysfs, ns.as_ref(), r),
                Err(e) => Failure::bare(r.device.as_str(), e).into(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The failures, given as the sentences they print.
    fn said(sentences: &[&str]) -> Failures {
        let mut f = Failures::new();
        f.extend(sentences.iter().map(|s| Failure::stated("", *s)));
        f
    }

    #[test]
    fn the_releasing_steps_error_keeps_its_code_alone_and_joins_the_others() {
        let busy = || Err(Error::new(11, "IPAM DEL: busy").with_details("lock held"));
        let e = finish("DEL", said(&[]), busy()).unwrap_err();
        assert_eq!((e.code, e.msg.as_str()), (11, "IPAM DEL: busy"));
        let e = finish("DEL", said(&["restoring VF x: EPERM"]), busy()).unwrap_err();
        assert_eq!(e.code, codes::KERNEL_REFUSED);
        assert_eq!(e.msg, "DEL: 2 step(s) failed: restoring VF x: EPERM");
        assert_eq!(
            e.details,
            "restoring VF x: EPERM; IPAM DEL: busy (lock held)"
        );
        assert!(finish("GC", said(&[]), Ok(())).is_ok());
        assert_eq!(
            finish("GC", said(&["a"]), Ok(())).unwrap_err().msg,
            "GC: 1 step(s) failed: a"
        );
    }
}
