//! ADD in netdev mode: record the VF, apply its settings through the PF, move its netdev into
//! the pod under the requested name, set MAC/MTU, bring it up, configure IPAM's addresses.
//! Any failure puts everything back (VF settings, netdev name/MAC/MTU/namespace, IPAM lease).

use nfv_cni::result::Success;
use nfv_cni::{code, ipam, Error, Request};
use nfv_crashpoint::crash_point;
use nfv_netlink::{Link, Netlink, Netns};
use nfv_podnet::addresses;
use nfv_podnet::give::PodNetdev;

use crate::admin_mac::netdev_takes_admin_mac;
use crate::codes::{self, from_netlink, from_pci};
use crate::config::{self, Plan, SriovConf};
use crate::devinfo;
use crate::record::{Record, SavedVf, VfAddress, VfMode};
use crate::{Sriov, CRASH_AT};

fn netlink<T>(r: nfv_netlink::Result<T>) -> Result<T, Error> {
    r.map_err(from_netlink)
}

impl Sriov {
    pub(crate) fn attach(&self, req: &Request) -> Result<Success, Error> {
        let conf: SriovConf = req.parse_conf()?;
        let plan = config::plan(&conf, &req.env.args)?;
        let device_info_file = devinfo::requested_path(&conf.runtime_config, &devinfo::place())?;
        if let Some(p) = &device_info_file {
            // A symlink on the way (or a non-regular file there) is refused before any change,
            // in every mode (the vDPA hand-off decides again after the VF settings).
            nfv_devinfo::existing(&devinfo::place(), p)?;
        }
        let device = VfAddress::from(plan.device);
        let ifname = req.ifname().to_string();

        let vf = self.sysfs.vf(plan.device).map_err(from_pci)?;
        if vf.is_userspace() {
            let _lock = self.records.lock_device(device.as_str())?;
            self.refuse_if_held(device.as_str())?;
            return self.attach_userspace(req, &conf, &plan, &vf);
        }
        if let Some(found) = self.vdpa_on(plan.device)? {
            let _lock = self.records.lock_device(device.as_str())?;
            self.refuse_if_held(device.as_str())?;
            return self.attach_vdpa(req, &plan, &vf, &found, device_info_file);
        }
        let _lock = self.records.lock_device(device.as_str())?;
        self.refuse_if_held(device.as_str())?;
        // Not held, yet no netdev in the host (sysfs shows only this namespace's): gone
        // elsewhere by other means. Held: the netdev is in the holder's pod, and the
        // refusal above names it.
        let host_ifname = vf.netdev().map(str::to_string).ok_or_else(|| {
            Error::new(
                codes::VF_UNUSABLE,
                format!(
                    "VF {device} has no network interface in the host namespace (driver: {}); \
                     is it attached to another pod?",
                    vf.driver.name().unwrap_or("none")
                ),
            )
        })?;

        let netns_path = req
            .netns()
            .ok_or_else(|| Error::new(code::INVALID_ENV, "CNI_NETNS is required for ADD"))?;
        let pod_ns = netlink(Netns::open(netns_path))?;
        let mut host = netlink(Netlink::open())?;
        let mut pod = netlink(Netlink::open_in(&pod_ns))?;
        match pod.link_by_name(&ifname) {
            Ok(_) => {
                return Err(Error::new(
                    codes::IFNAME_IN_USE,
                    format!("an interface named {ifname} already exists in the pod"),
                ))
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(from_netlink(e)),
        }

        let link = netlink(host.link_by_name(&host_ifname))?;
        let pf = if plan.vf_settings.is_empty() {
            None
        } else {
            Some(netlink(host.link_by_name(&vf.pf_netdev))?)
        };
        let current = match &pf {
            Some(pf) => Some(netlink(host.vf(pf.index, vf.index))?),
            None => None,
        };
        let device_info = nfv_devinfo::AtAdd::decide(&devinfo::place(), device_info_file)?;
        let saved_vf = SavedVf::of(current.as_ref(), &plan.vf_settings);
        let record = Record {
            host_ifname: host_ifname.clone(),
            host_mac: link.mac.map(|m| m.to_string()),
            host_mtu: link.mtu,
            host_up: link.admin_up,
            device_info_file: written_path(device_info.as_ref()),
            device_info_kept: kept_path(device_info.as_ref()),
            applied_vf: SavedVf::applied(&plan.vf_settings),
            ..Record::new(req, &vf, VfMode::Netdev, saved_vf)
        };
        // Written before the first change: a crash from here on is undone by DEL.
        self.records.save(&record)?;
        crash_point(CRASH_AT, "after-record");

        let device_info = device_info
            .as_ref()
            .and_then(|d| d.written())
            .map(|p| (p, devinfo::vf_device_info(&vf)));
        let attached = self.configure(
            req,
            &plan,
            &mut host,
            &mut pod,
            &pod_ns,
            pf.as_ref(),
            &link,
            device_info.as_ref().map(|(p, v)| (*p, v)),
        );
        self.rolled_back_on_error(attached, &mut host, Some(&pod_ns), &record)
    }

    /// The changes, in order; the caller undoes them all on error.
    #[allow(clippy::too_many_arguments)]
    fn configure(
        &self,
        req: &Request,
        plan: &Plan,
        host: &mut Netlink,
        pod: &mut Netlink,
        pod_ns: &Netns,
        pf: Option<&Link>,
        link: &Link,
        device_info: Option<(&std::path::Path, &devinfo::VfDeviceInfo)>,
    ) -> Result<Success, Error> {
        let ifname = req.ifname();
        if let Some(pf) = pf {
            let current = netlink(host.vf(pf.index, vf_index(plan, self)?))?;
            for s in &plan.vf_settings {
                if !current.has(s) {
                    netlink(host.set_vf(pf.index, current.id, s))?;
                }
            }
        }
        crash_point(CRASH_AT, "after-vf-settings");
        let link = &netdev_takes_admin_mac(host, &self.sysfs, plan, link)?;

        let moved = netlink(nfv_podnet::give::give(
            host,
            pod,
            pod_ns,
            link,
            &PodNetdev {
                ifname,
                mac: plan.mac,
                mtu: plan.mtu,
            },
            &mut |step| crash_point(CRASH_AT, step),
        ))?;

        let mut result = Success {
            cni_version: req.cni_version().to_string(),
            ..Default::default()
        };
        let lease = ipam::add_if_configured(req)?;
        crash_point(CRASH_AT, "after-ipam");
        if let Some(lease) = &lease {
            let got = lease.result();
            netlink(addresses::add(pod, moved.index, &got.ips, &got.routes))?;
            crash_point(CRASH_AT, "after-addresses");
            result.ips = got.ips.clone();
            result.routes = got.routes.clone();
            result.dns = got.dns.clone();
            for ip in &mut result.ips {
                ip.interface = Some(0);
            }
        }
        let now = netlink(pod.link_by_index(moved.index))?;
        result.interfaces = vec![addresses::interface(
            &now,
            req.netns().map(|p| p.display().to_string()),
            Some(plan.device.to_string()),
        )];
        if let Some((path, info)) = device_info {
            devinfo::write(&devinfo::place(), path, info)?;
        }
        // Last, when nothing can fail any more: the pod's neighbours learn its addresses'
        // new MAC now rather than when their entries time out (as sriov-cni does).
        for problem in nfv_podnet::announce::announce(pod, pod_ns, moved.index, &result.ips) {
            nfv_cni::info!("announcing the pod's addresses: {problem}");
        }
        if let Some(lease) = lease {
            lease.commit();
        }
        Ok(result)
    }
}

impl Sriov {
    /// Refuse a VF another attachment holds (its record names another container).
    fn refuse_if_held(&self, device: &str) -> Result<(), Error> {
        match self.records.holder_of(device)? {
            None => Ok(()),
            Some(holder) => Err(Error::new(
                codes::VF_IN_USE,
                format!(
                    "VF {device} is attached to container {} as {}; DEL that attachment first",
                    holder.container_id, holder.ifname
                ),
            )),
        }
    }
}

/// The record's `deviceInfoFile`: the file ADD writes (not one it keeps).
pub(crate) fn written_path(d: Option<&nfv_devinfo::AtAdd>) -> Option<String> {
    d.and_then(|d| d.written()).map(|p| p.display().to_string())
}

/// The record's `deviceInfoKept`: the file ADD found and keeps.
pub(crate) fn kept_path(d: Option<&nfv_devinfo::AtAdd>) -> Option<String> {
    d.and_then(|d| d.kept()).map(|p| p.display().to_string())
}

fn vf_index(plan: &Plan, s: &Sriov) -> Result<u32, Error> {
    s.sysfs.vf_index(plan.device).map_err(from_pci)
}
