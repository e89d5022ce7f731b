//! DEL, GC and CHECK of the pods sriov-cni attached, from its cache (`sriov_cni`), when this
//! plugin has no record of its own: the cache becomes a [`Record`] of the VF as it was before
//! sriov-cni's ADD, and the same restore and checks run on it.
//!
//! IPAM: DEL releases with the config the runtime sends, as sriov-cni's DEL does (it is the
//! NAD's config, the same as at ADD); the cache's `ipam` is never used, so no file on disk
//! chooses which IPAM binary runs as root. GC leaves the leases to IPAM GC, as for every
//! attachment.

use nfv_cni::{Attachment, Request};
use nfv_netlink::{Netlink, Netns, VfSetting, VlanProto};
use nfv_pci::PciAddress;
use nfv_plugin::{Cause, Failure, Failures};

use crate::record::Record;
use crate::sriov_cni::files::{stale_caches, CacheVerdict};
use crate::sriov_cni::Cache;
use crate::{restore, Sriov};

/// In front of what a teardown of sriov-cni's attachment could not do.
const ADOPTED: &str = "sriov-cni's attachment: ";

/// The VF a cache may be acted on for: the config's VF when it names one (the cache must
/// name the same), else the cache's own. `None`, logged, when they disagree or the cache
/// names none.
pub(crate) fn cached_vf(cache: &Cache, configured: Option<PciAddress>) -> Option<PciAddress> {
    match (cache.device, configured) {
        (Some(c), Some(d)) if c != d => {
            nfv_cni::warn!(
                "sriov-cni's cache names VF {c}, the config VF {d}: the cache is not acted on"
            );
            None
        }
        (Some(c), _) => Some(c),
        (None, _) => None,
    }
}

/// What a DEL of sriov-cni's attachment did to the VF.
#[derive(Debug)]
pub(crate) enum Adopted {
    /// The VF is this attachment's: restored (the failures say how far), its allocation goes.
    Restored(Failures),
    /// Another attachment holds the VF now: left alone, and its allocation too.
    LeftToHolder,
}

impl Sriov {
    /// DEL of a pod sriov-cni attached: VF `device` (the config's, checked against the cache)
    /// put back as the cache says it was, unless another attachment holds it now (a record of
    /// ours, or sriov-cni's allocation naming another pod's namespace).
    pub(crate) fn detach_adopted(
        &self,
        req: &Request,
        cache: &Cache,
        device: PciAddress,
        pod_ns: Option<&Netns>,
    ) -> Adopted {
        let dev = device.to_string();
        match self.records.holder_of(&dev) {
            Ok(None) => {}
            Ok(Some(h)) => {
                nfv_cni::info!(
                    "{ADOPTED}VF {dev} is attached to container {} as {} now: left to it",
                    h.container_id,
                    h.ifname
                );
                return Adopted::LeftToHolder;
            }
            Err(e) => {
                let step = format!("cannot tell whether VF {dev} is another attachment's");
                return Adopted::Restored(Failure::new(step, dev, e).within(ADOPTED).into());
            }
        }
        let netns = req.netns().map(|p| p.display().to_string());
        if let (Some(held), Some(ours)) = (self.sriov_cni.allocation(device), &netns) {
            if !held.is_empty() && held != *ours {
                nfv_cni::info!(
                    "{ADOPTED}sriov-cni allocated VF {dev} to namespace {held:?} since: left \
                     to that attachment"
                );
                return Adopted::LeftToHolder;
            }
        }
        let vf = match self.sysfs.vf(device) {
            Ok(vf) => vf,
            Err(e) => {
                nfv_cni::info!("{ADOPTED}VF {dev} is not in sysfs ({e}): nothing to restore");
                return Adopted::Restored(Failures::new());
            }
        };
        let (record, notes) = cache.record(
            &vf,
            req.container_id(),
            req.ifname(),
            netns.unwrap_or_default(),
            &req.conf.name,
        );
        for n in notes {
            nfv_cni::warn!("{ADOPTED}{n}");
        }
        Adopted::Restored(self.restore_adopted(&record, pod_ns))
    }

    fn restore_adopted(&self, record: &Record, pod_ns: Option<&Netns>) -> Failures {
        let settings: Vec<String> = record
            .saved_vf
            .restore_settings()
            .iter()
            .map(words)
            .collect();
        nfv_cni::info!(
            "{ADOPTED}restoring VF {} from sriov-cni's cache: {}; netdev {}",
            record.device,
            if settings.is_empty() {
                "no VF setting".to_string()
            } else {
                settings.join(", ")
            },
            if record.host_ifname.is_empty() {
                "none (userspace driver)"
            } else {
                record.host_ifname.as_str()
            }
        );
        match Netlink::open() {
            Ok(mut host) => restore::restore(&mut host, &self.sysfs, pod_ns, record),
            Err(e) => Failure::bare(record.device.as_str(), e).into(),
        }
        .within(ADOPTED)
    }

    /// The end of a DEL without a record of ours: sriov-cni's cache of the attachment goes
    /// (whatever it held: the attachment is over), and its allocation of `restored` (the VF
    /// DEL restored from that cache). Their failures (DEL is then retried).
    pub(crate) fn remove_sriov_cni_files(
        &self,
        req: &Request,
        restored: Option<PciAddress>,
    ) -> Failures {
        let mut failures = Failures::new();
        if let Err(e) = self.sriov_cni.remove(req.container_id(), req.ifname()) {
            failures.push(Failure::bare("", fs(e)).within(ADOPTED));
        }
        if let Some(d) = restored {
            if let Err(e) = self.sriov_cni.remove_allocation(d) {
                failures.push(Failure::bare(d.to_string(), fs(e)));
            }
        }
        failures
    }

    /// GC's part for sriov-cni's attachments of the network (`req`'s `name`) that are not in
    /// `valid`: each VF is restored from its cache, then the cache and the allocation go. A VF
    /// another attachment holds (a record of ours, another cache naming it), one an ADD or DEL
    /// is working on, and a netdev not back in the host (its pod's namespace may live on:
    /// there is no telling which from here) are left alone, to DEL or the next GC.
    pub(crate) fn collect_sriov_cni(&self, req: &Request, valid: &[Attachment]) -> Failures {
        let all = match self.sriov_cni.all() {
            Ok(all) => all,
            Err(e) => return Failure::bare("", fs(e)).within(ADOPTED).into(),
        };
        let mut failures = Failures::new();
        for (name, cache, verdict) in stale_caches(&all, &req.conf.name, valid) {
            match verdict {
                CacheVerdict::Left(why) => nfv_cni::info!("GC: sriov-cni's cache {name}: {why}"),
                CacheVerdict::Collect(device) => {
                    failures.extend(self.collect_adopted(name, cache, device, &req.conf.name))
                }
            }
        }
        failures
    }

    fn collect_adopted(
        &self,
        name: &str,
        cache: &Cache,
        device: PciAddress,
        network: &str,
    ) -> Failures {
        let dev = device.to_string();
        let _lock = match self.records.try_lock_device(&dev) {
            Ok(Some(lock)) => lock,
            Ok(None) => {
                nfv_cni::info!(
                    "GC: VF {dev} ({name}) is busy with an ADD or DEL: left for the next GC"
                );
                return Failures::new();
            }
            Err(e) => return Failure::bare(dev, e).into(),
        };
        // Listed before the lock was taken: only the cache as it is now counts.
        if self.sriov_cni.reload(name).as_ref() != Some(cache) {
            return Failures::new();
        }
        match self.records.holder_of(&dev) {
            Ok(None) => {}
            Ok(Some(h)) => {
                nfv_cni::info!(
                    "GC: VF {dev} of sriov-cni's stale attachment {name} is attached to \
                     container {} as {} now: left to it",
                    h.container_id,
                    h.ifname
                );
                return Failures::new();
            }
            Err(e) => return Failure::bare(dev, e).into(),
        }
        let vf = match self.sysfs.vf(device) {
            Ok(vf) => vf,
            Err(e) => {
                nfv_cni::info!("GC: VF {dev} ({name}) is not in sysfs ({e}): left in place");
                return Failures::new();
            }
        };
        // sysfs shows the netdevs of the host's namespace only.
        let now = match (vf.is_userspace(), vf.netdev()) {
            (true, _) => String::new(),
            (false, Some(n)) => n.to_string(),
            (false, None) => {
                nfv_cni::info!(
                    "GC: VF {dev} of sriov-cni's stale attachment {name} has no netdev in the \
                     host: a pod's namespace still holds it; left to DEL"
                );
                return Failures::new();
            }
        };
        let container_id = name.rsplit_once('-').map_or(name, |(c, _)| c);
        // The netdev is looked for under its name in the host now (and by its PCI address).
        let (record, notes) = cache.record(&vf, container_id, &now, String::new(), network);
        for n in notes {
            nfv_cni::warn!("GC: {ADOPTED}{n}");
        }
        let mut failures = self.restore_adopted(&record, None);
        if failures.is_empty() {
            if let Err(e) = self.sriov_cni.remove_named(name) {
                failures.push(Failure::bare(dev.clone(), fs(e)));
            }
            if let Err(e) = self.sriov_cni.remove_allocation(device) {
                failures.push(Failure::bare(dev, fs(e)));
            }
        }
        failures
    }

    /// CHECK without a record of ours: the attachment sriov-cni made of VF `device` (the
    /// config's), as its cache describes it.
    pub(crate) fn adopted_for_check(&self, req: &Request, device: PciAddress) -> Option<Record> {
        let cache = self.sriov_cni.load(req.container_id(), req.ifname())?;
        let device = cached_vf(&cache, Some(device))?;
        let vf = self.sysfs.vf(device).ok()?;
        let netns = req.netns().map(|p| p.display().to_string());
        let (record, _) = cache.record(
            &vf,
            req.container_id(),
            req.ifname(),
            netns.unwrap_or_default(),
            &req.conf.name,
        );
        Some(record)
    }
}

/// A VF setting as `ip link set <pf> vf N` words it.
fn words(s: &VfSetting) -> String {
    match s {
        VfSetting::Mac(m) => format!("mac {m}"),
        VfSetting::Vlan { vlan, qos, proto } => {
            let p = match proto {
                VlanProto::Dot1Q => "802.1Q",
                VlanProto::Dot1Ad => "802.1ad",
            };
            format!("vlan {vlan} qos {qos} proto {p}")
        }
        VfSetting::SpoofCheck(b) => format!("spoofchk {}", if *b { "on" } else { "off" }),
        VfSetting::Trust(b) => format!("trust {}", if *b { "on" } else { "off" }),
        VfSetting::Rate { min_mbps, max_mbps } => {
            format!("min_tx_rate {min_mbps} max_tx_rate {max_mbps}")
        }
        VfSetting::LinkState(l) => format!("state {}", format!("{l:?}").to_lowercase()),
    }
}

/// A file error as a teardown failure's cause.
fn fs(e: nfv_safefs::FsError) -> Cause {
    Cause::Other(Box::new(e))
}
