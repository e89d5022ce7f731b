//! ADD: find the device, record it, then either report the vhost char device (nothing moves)
//! or give the virtio netdev to the pod; IPAM's addresses are configured on a netdev and only
//! reported for a char device. Any failure puts everything back (netdev, device-info file,
//! record, IPAM lease).

use nfv_cni::result::{Interface, Success};
use nfv_cni::{code, ipam, Error, Request};
use nfv_netlink::{Link, Netlink, Netns};
use nfv_plugin::{CniRecordStore, Failure, Failures};
use nfv_podnet::give::{give, PodNetdev};
use nfv_podnet::{addresses, take_back::take_back, HostNetdev};

use crate::codes::{from_netlink, netlink, DEVICE_IN_USE, DEVICE_UNUSABLE, IFNAME_IN_USE};
use crate::config::{Mode, Plan};
use crate::crash::crash_point;
use crate::devinfo;
use crate::discover::{self, Found};
use crate::record::{Record, SavedNetdev, RECORD_VERSION};
use crate::Vdpa;
use nfv_devinfo::Layout;

impl Vdpa {
    /// ADD for a validated plan: the vdpa plugin's, or the sriov plugin's hand-over of a VF
    /// that carries a vDPA device (`Selector::Parent(vf)`). This runs IPAM ADD itself and
    /// records the attachment, so the caller must not do either.
    pub fn attach(&self, req: &Request, plan: &Plan) -> Result<Success, Error> {
        let netns_path = req
            .netns()
            .ok_or_else(|| Error::new(code::INVALID_ENV, "CNI_NETNS is required for ADD"))?;
        let found = self.find(plan)?;
        let name = found.device.name.clone();
        if found.mode == Mode::Vhost {
            vhost_refuses_netdev_settings(plan, &name)?;
        }

        let _lock = self.lock_device(&name)?;
        if let Some(holder) = self.holder_of(&name)? {
            return Err(Error::new(
                DEVICE_IN_USE,
                format!(
                    "vDPA device {name} is attached to container {} as {}; DEL that attachment \
                     first",
                    holder.container_id, holder.ifname
                ),
            ));
        }
        let pod_ns = netlink(Netns::open(netns_path))?;
        let mut pod = netlink(Netlink::open_in(&pod_ns))?;
        let device_info =
            nfv_devinfo::AtAdd::decide(&nfv_devinfo::place(), plan.device_info_file.clone())?;
        match pod.link_by_name(req.ifname()) {
            Ok(_) => {
                return Err(Error::new(
                    IFNAME_IN_USE,
                    format!(
                        "an interface named {} already exists in the pod",
                        req.ifname()
                    ),
                ))
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(from_netlink(e)),
        }

        let mut record = Record {
            version: RECORD_VERSION,
            container_id: req.container_id().to_string(),
            ifname: req.ifname().to_string(),
            device: name.clone(),
            mode: found.mode,
            netdev: None,
            netns: netns_path.display().to_string(),
            device_info_file: device_info
                .as_ref()
                .and_then(|d| d.written())
                .map(|p| p.display().to_string()),
            device_info_kept: device_info
                .as_ref()
                .and_then(|d| d.kept())
                .map(|p| p.display().to_string()),
            network: req.conf.name.clone(),
        };
        match found.mode {
            Mode::Vhost => {
                self.records.save(&record)?;
                crash_point("after-record");
                let attached = self.attach_vhost(req, &found, &record);
                self.finish(attached, &mut Failures::new(), &record)
            }
            Mode::Virtio => {
                let mut host = netlink(Netlink::open())?;
                let (link, kernel_device) = virtio_netdev(&mut host, &found)?;
                record.netdev = Some(SavedNetdev {
                    host: HostNetdev::of(&link),
                    kernel_device,
                });
                // Written before the first change: a crash from here on is undone by DEL.
                self.records.save(&record)?;
                crash_point("after-record");
                let attached = self.attach_virtio(
                    req, plan, &found, &record, &mut host, &mut pod, &pod_ns, &link,
                );
                let mut failures = Failures::new();
                if attached.is_err() {
                    if let Some(saved) = &record.netdev {
                        failures = take_back(
                            &mut host,
                            Some(&pod_ns),
                            &saved.host,
                            &record.ifname,
                            &saved.kernel_device,
                        );
                    }
                }
                self.finish(attached, &mut failures, &record)
            }
        }
    }

    /// Find the device the plan names (vdpa generic netlink when the kernel has it, sysfs).
    pub(crate) fn find(&self, plan: &Plan) -> Result<Found, Error> {
        let mut nl = if self.use_netlink {
            discover::open_netlink()
        } else {
            None
        };
        let list = nl.as_mut().map(|n| n as &mut dyn discover::DeviceList);
        discover::find(&self.sysfs, list, &plan.selector, plan.mode)
    }

    /// Keep or roll back: on error remove the device-info file and the record (unless the
    /// netdev could not be put back: then DEL finishes the job from the record).
    fn finish(
        &self,
        attached: Result<Success, Error>,
        failures: &mut Failures,
        record: &Record,
    ) -> Result<Success, Error> {
        let e = match attached {
            Ok(r) => return Ok(r),
            Err(e) => e,
        };
        nfv_cni::warn!(
            "ADD failed, rolling back vDPA device {}: {}",
            record.device,
            e.msg
        );
        // Only a file this ADD wrote; one it kept stays.
        if let Some(p) = &record.device_info_file {
            let place = nfv_devinfo::place();
            if let Err(f) = nfv_devinfo::remove_written(&place, std::path::Path::new(p)) {
                failures.push(Failure::bare(&record.device, f));
            }
        }
        // An incomplete rollback keeps the record: DEL will finish the job.
        Err(self.records.rolled_back(record, e, failures))
    }

    fn attach_vhost(
        &self,
        req: &Request,
        found: &Found,
        record: &Record,
    ) -> Result<Success, Error> {
        let lease = ipam::add_if_configured(req)?;
        crash_point("after-ipam");
        let mut result = Success {
            cni_version: req.cni_version().to_string(),
            interfaces: vec![Interface {
                name: req.ifname().to_string(),
                mac: None,
                mtu: None,
                sandbox: req.netns().map(|p| p.display().to_string()),
                socket_path: None,
                pci_id: found.parent.map(|p| p.to_string()),
            }],
            ..Default::default()
        };
        if let Some(lease) = &lease {
            // Reported, not configured: the DPDK application owns the data path.
            copy_ipam(&mut result, lease.result());
        }
        complete(req, record, found, lease, result)
    }

    #[allow(clippy::too_many_arguments)]
    fn attach_virtio(
        &self,
        req: &Request,
        plan: &Plan,
        found: &Found,
        record: &Record,
        host: &mut Netlink,
        pod: &mut Netlink,
        pod_ns: &Netns,
        link: &Link,
    ) -> Result<Success, Error> {
        let want = PodNetdev {
            ifname: req.ifname(),
            mac: plan.mac,
            mtu: plan.mtu,
        };
        let moved = netlink(give(host, pod, pod_ns, link, &want, &mut |step| {
            crash_point(step)
        }))
        .map_err(|e| {
            e.context(format!(
                "giving netdev {} of vDPA device {} to the pod",
                link.name, found.device.name
            ))
        })?;
        let lease = ipam::add_if_configured(req)?;
        crash_point("after-ipam");
        let mut result = Success {
            cni_version: req.cni_version().to_string(),
            ..Default::default()
        };
        if let Some(lease) = &lease {
            let got = lease.result();
            netlink(addresses::add(pod, moved.index, &got.ips, &got.routes))?;
            copy_ipam(&mut result, got);
        }
        crash_point("after-addresses");
        let now = netlink(pod.link_by_index(moved.index))?;
        result.interfaces = vec![addresses::interface(
            &now,
            req.netns().map(|p| p.display().to_string()),
            found.parent.map(|p| p.to_string()),
        )];
        complete(req, record, found, lease, result)
    }
}

/// The result must print in the config's cniVersion (0.1.0/0.2.0 results need an IP address):
/// checked before committing, so a result the runner cannot print rolls the attachment back
/// instead of leaving it behind an error.
fn printable(req: &Request, result: &Success) -> Result<(), Error> {
    result.to_version(req.cni_version()).map(|_| ())
}

fn copy_ipam(result: &mut Success, got: &Success) {
    result.ips = got.ips.clone();
    result.routes = got.routes.clone();
    result.dns = got.dns.clone();
    for ip in &mut result.ips {
        ip.interface = Some(0);
    }
}

/// A MAC or MTU asked for a device that turned out to be on vhost_vdpa.
fn vhost_refuses_netdev_settings(plan: &Plan, name: &str) -> Result<(), Error> {
    let field = if plan.mac.is_some() {
        "mac"
    } else if plan.mtu.is_some() {
        "mtu"
    } else {
        return Ok(());
    };
    Err(Error::invalid_config(format!(
        "{field}: vDPA device {name} is bound to vhost_vdpa and has no netdev to set it on \
         (the DPDK application owns the device); remove {field} or bind the device to \
         virtio_vdpa"
    )))
}

/// The virtio netdev of a virtio_vdpa device, in the host, and its kernel device name.
fn virtio_netdev(host: &mut Netlink, found: &Found) -> Result<(Link, String), Error> {
    let name = &found.device.name;
    let netdev = found.device.netdevs.first().ok_or_else(|| {
        Error::new(
            DEVICE_UNUSABLE,
            format!(
                "vDPA device {name} (virtio_vdpa) has no network interface in the host \
                 namespace; is it attached to another pod, or is virtio_net not loaded?"
            ),
        )
    })?;
    let kernel_device = found
        .device
        .virtio_device
        .clone()
        .unwrap_or_else(|| netdev.clone());
    let link = netlink(host.link_by_name(netdev))?;
    Ok((link, kernel_device))
}

/// The last steps of ADD in both modes: the result must be printable in the config's
/// version, the device-info file is written (when the record says ADD writes it: one that
/// was there already is kept), and only then is the IPAM lease kept.
fn complete(
    req: &Request,
    record: &Record,
    found: &Found,
    lease: Option<ipam::IpamLease<'_>>,
    result: Success,
) -> Result<Success, Error> {
    printable(req, &result)?;
    if let Some(p) = &record.device_info_file {
        nfv_devinfo::write(
            &nfv_devinfo::place(),
            std::path::Path::new(p),
            &devinfo::vdpa_device_info(found),
            Layout::Compact,
        )?;
    }
    crash_point("after-device-info");
    if let Some(lease) = lease {
        lease.commit();
    }
    Ok(result)
}
