//! DEL and GC: put back what a record says ADD did, or, without a record, what the config
//! names. Every step is tried and failures are reported together (STYLE.md 5); a device
//! already back is success; IPAM is always released.

use std::path::Path;

use nfv_cni::{ipam, Error, Request};
use nfv_netlink::{Netlink, Netns};
use nfv_plugin::gc::collect_stale;
use nfv_plugin::{Cause, Failure, Failures};
use nfv_podnet::take_back::{bring_home_as, take_back};

use crate::codes::KERNEL_REFUSED;
use crate::config::{self, Mode, VdpaConf};
use crate::devinfo;
use crate::record::Record;
use crate::Vdpa;

/// The verb's outcome: IPAM's own error (with its code) when only IPAM failed, else every
/// failure together (code 131, the count and the first in the message, all in the details).
fn finish(verb: &str, mut failures: Failures, ipam: Result<(), Error>) -> Result<(), Error> {
    match ipam {
        Err(e) if failures.is_empty() => Err(e.context(format!("{verb}: IPAM"))),
        Err(e) => {
            failures.push(Failure::new(format!("IPAM {verb}"), "", Cause::Cni(e)));
            failures.into_result(verb, KERNEL_REFUSED)
        }
        Ok(()) => failures.into_result(verb, KERNEL_REFUSED),
    }
}

/// The pod's namespace if it still exists (gone is not a failure).
fn open_pod_ns(path: Option<&Path>, failures: &mut Failures) -> Option<Netns> {
    let path = path?;
    match Netns::open(path) {
        Ok(ns) => Some(ns),
        Err(e) if e.is_not_found() => None,
        Err(e) => {
            failures.push(Failure::bare(path.display().to_string(), e));
            None
        }
    }
}

/// Put back what `r` says: the virtio netdev home under its name, MAC, MTU and admin state;
/// the device-info file removed. Returns the failures.
pub(crate) fn restore(r: &Record, pod_ns: Option<&Netns>) -> Failures {
    let mut failures = Failures::new();
    if let (Mode::Virtio, Some(saved)) = (r.mode, &r.netdev) {
        match Netlink::open() {
            Ok(mut host) => failures.extend(take_back(
                &mut host,
                pod_ns,
                &saved.host,
                &r.ifname,
                &saved.kernel_device,
            )),
            Err(e) => failures.push(Failure::bare(&r.device, e)),
        }
    }
    // Only a file ADD wrote (never one it kept), and only if it is still a regular file in
    // the device-info tree.
    if let Some(f) = &r.device_info_file {
        if let Err(e) = nfv_devinfo::remove_written(&nfv_devinfo::place(), Path::new(f)) {
            failures.push(Failure::bare(&r.device, e));
        }
    }
    failures
}

/// The host name for a netdev brought home without a record: the vDPA device's name when it
/// is a valid interface name, else `vdpanet`.
fn home_name(device: &str) -> String {
    if nfv_netlink::validate_ifname(device).is_ok() && !device.contains(':') {
        device.to_string()
    } else {
        "vdpanet".to_string()
    }
}

impl Vdpa {
    /// Whether an attachment is recorded in this store (for the sriov plugin's DEL: when it
    /// is, hand the DEL to [`Vdpa::detach`]).
    pub fn has_attachment(&self, container_id: &str, ifname: &str) -> Result<bool, Error> {
        Ok(self.records.load(container_id, ifname)?.is_some())
    }

    /// DEL: restore from the record (or from the config without one), release IPAM, forget
    /// the record. Also the sriov plugin's DEL of a vDPA hand-over.
    pub fn detach(&self, req: &Request) -> Result<(), Error> {
        let mut failures = Failures::new();
        let record = self.records.load(req.container_id(), req.ifname())?;
        let pod_ns = open_pod_ns(req.netns(), &mut failures);
        match &record {
            Some(r) => {
                let _lock = self.lock_device(&r.device)?;
                failures.extend(restore(r, pod_ns.as_ref()));
            }
            None => failures.extend(self.detach_without_record(req, pod_ns.as_ref())),
        }
        let released = ipam::del(req);
        if failures.is_empty() && released.is_ok() {
            self.records.remove(req.container_id(), req.ifname())?;
        }
        finish("DEL", failures, released)
    }

    /// No record (lost, or written by another version): the config still names the device.
    /// Remove the device-info file if it is recognisably this attachment's (exactly what ADD
    /// writes for the device); if its virtio netdev is in the pod, bring it home (its
    /// original name is unknown: it comes back under the vDPA device's name).
    fn detach_without_record(&self, req: &Request, pod_ns: Option<&Netns>) -> Failures {
        let Ok(conf) = req.parse_conf::<VdpaConf>() else {
            return Failures::new(); // DEL must not fail on a config ADD would refuse
        };
        let mut failures = Failures::new();
        let Ok(plan) = config::plan_for_teardown(&conf, &req.env.args) else {
            return failures;
        };
        let plan = config::Plan { mode: None, ..plan };
        let found = match self.find(&plan) {
            Ok(found) => found,
            Err(_) => {
                if let Some(path) = &plan.device_info_file {
                    nfv_cni::info!(
                        "device-info file {} left in place: no record, and the vDPA device is \
                         not there to tell whether the file is ours",
                        path.display()
                    );
                }
                return failures;
            }
        };
        let name = &found.device.name;
        // Not while another attachment's ADD or DEL is half-way through the device; and a
        // device another attachment holds (this one lost the race for it, or never had it) is
        // not ours to take, nor its device-info file, even when its netdev is in this
        // namespace under this CNI_IFNAME.
        let _lock = match self.lock_device(name) {
            Ok(l) => l,
            Err(e) => {
                failures.push(Failure::bare(name, e));
                return failures;
            }
        };
        match self.holder_of(name) {
            Ok(None) => {}
            Ok(Some(holder)) => {
                nfv_cni::info!(
                    "DEL without a record: vDPA device {name} is attached to container {} as \
                     {}: left to it",
                    holder.container_id,
                    holder.ifname
                );
                return failures;
            }
            Err(e) => {
                failures.push(Failure::new(
                    format!(
                        "DEL without a record: cannot tell whether vDPA device {name} is \
                         another attachment's, so it is left where it is"
                    ),
                    name,
                    e,
                ));
                return failures;
            }
        }
        if let Some(path) = &plan.device_info_file {
            let ours = devinfo::vdpa_device_info(&found);
            let place = nfv_devinfo::place();
            if let Err(e) = nfv_devinfo::remove_if_ours(&place, path, &ours) {
                failures.push(Failure::bare(name, e));
            }
        }
        let Some(ns) = pod_ns else {
            return failures; // the kernel brings the netdev back itself when the namespace dies
        };
        if let Some(kernel_device) = &found.device.virtio_device {
            failures.extend(bring_home_as(
                ns,
                req.ifname(),
                kernel_device,
                &home_name(&found.device.name),
            ));
        }
        failures
    }

    /// GC of the network named by the config: restore every attachment recorded for that
    /// network that is not in `cni.dev/valid-attachments` (which names that network's
    /// attachments only). Other networks' records, and records that name no network (an
    /// earlier binary's, left to DEL), are not touched, nor is a device an ADD or DEL holds
    /// the lock of right now.
    pub fn collect_garbage(&self, req: &Request) -> Result<(), Error> {
        let valid = req.conf.valid_attachments.clone().unwrap_or_default();
        let mut failures = Failures::new();
        let stale = self.records.stale(&req.conf.name, &valid)?;
        // Like DEL, GC tries every stale attachment: one it cannot tear down (its lock, the
        // kernel, its record) is reported with the others at the end, never stops the rest.
        for r in stale {
            failures.extend(self.collect(&r));
        }
        finish("GC", failures, ipam::gc(req))
    }

    /// GC's teardown of one stale attachment; its failures.
    fn collect(&self, r: &Record) -> Failures {
        // Both plugins' locks of the device (see `lock.rs`).
        let lock = |device: &str| self.try_lock_device(device);
        collect_stale(&self.records, r, "vDPA device", lock, || {
            restore(r, Netns::open(&r.netns).ok().as_ref())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_names_are_valid_interface_names() {
        assert_eq!(home_name("vdpa1"), "vdpa1");
        assert_eq!(home_name("vdpa:0000:65:00.2"), "vdpanet");
        assert_eq!(home_name("a-very-long-vdpa-device-name"), "vdpanet");
    }

    /// The failures, given as the sentences they print.
    fn said(sentences: &[&str]) -> Failures {
        let mut f = Failures::new();
        f.extend(sentences.iter().map(|s| Failure::stated("", *s)));
        f
    }

    #[test]
    fn failures_are_joined_with_a_count() {
        assert!(finish("DEL", said(&[]), Ok(())).is_ok());
        let e = finish("DEL", said(&["a", "b"]), Ok(())).unwrap_err();
        assert_eq!(e.code, KERNEL_REFUSED);
        assert_eq!(e.msg, "DEL: 2 step(s) failed: a");
        assert_eq!(e.details, "a; b");
    }

    #[test]
    fn ipam_alone_keeps_its_code_and_joins_the_others() {
        let ipam = || Err(Error::new(11, "busy"));
        let e = finish("GC", said(&[]), ipam()).unwrap_err();
        assert_eq!((e.code, e.msg.as_str()), (11, "GC: IPAM: busy"));
        let e = finish("DEL", said(&["x"]), ipam()).unwrap_err();
        assert_eq!(e.code, KERNEL_REFUSED);
        assert_eq!(e.details, "x; IPAM DEL: busy");
        assert!(finish("DEL", said(&[]), Ok(())).is_ok());
    }
}
