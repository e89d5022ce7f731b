//! Userspace-driver mode: a VF bound to vfio-pci, uio_pci_generic or igb_uio has no netdev.
//! ADD applies the VF settings through the PF (admin MAC included: the DPDK app reads it from
//! the device), reports the device (`pciID`, the MAC, the vfio group device in the device-info
//! file) and IPAM's addresses without configuring them (no kernel interface to put them on).
//! DEL restores the VF settings from the record, which remembers the mode.

use nfv_cni::result::{Interface, Success};
use nfv_cni::{ipam, Error, Request};
use nfv_crashpoint::crash_point;
use nfv_netlink::{Netlink, VfInfo};
use nfv_pci::VfDevice;

use crate::attach::{kept_path, written_path};
use crate::codes::{self, from_netlink};
use crate::config::{Plan, SriovConf};
use crate::devinfo;
use crate::record::{Record, SavedVf, VfAddress, VfMode};
use crate::{Sriov, CRASH_AT};

impl Sriov {
    /// ADD for a VF on a userspace driver. The caller holds the VF lock and checked that no
    /// other attachment holds the VF.
    pub(crate) fn attach_userspace(
        &self,
        req: &Request,
        conf: &SriovConf,
        plan: &Plan,
        vf: &VfDevice,
    ) -> Result<Success, Error> {
        let device = VfAddress::from(plan.device);
        let driver = vf.driver.name().unwrap_or("?").to_string();
        if let Some(mtu) = plan.mtu {
            // sriov-cni ignores `mtu` here, so NADs for DPDK pools carry one: accepted (a
            // value outside 68-65535 is still refused, as in every mode), and said once.
            nfv_cni::warn!(
                "mtu {mtu} ignored: VF {device} is bound to {driver} and has no kernel \
                 interface; the userspace application sets its MTU"
            );
        }
        let device_info_file = devinfo::requested_path(&conf.runtime_config, &devinfo::place())?;
        let device_info = nfv_devinfo::AtAdd::decide(&devinfo::place(), device_info_file)?;
        let mut host = Netlink::open().map_err(from_netlink)?;
        let pf = host.link_by_name(&vf.pf_netdev).map_err(from_netlink)?;
        let current: Option<VfInfo> = if plan.vf_settings.is_empty() {
            host.vf(pf.index, vf.index).ok() // only for the MAC to report
        } else {
            Some(host.vf(pf.index, vf.index).map_err(from_netlink)?)
        };
        let saved_vf = SavedVf::of(current.as_ref(), &plan.vf_settings);
        let record = Record {
            driver: Some(driver.clone()),
            device_info_file: written_path(device_info.as_ref()),
            device_info_kept: kept_path(device_info.as_ref()),
            applied_vf: SavedVf::applied(&plan.vf_settings),
            ..Record::new(req, vf, VfMode::Userspace, saved_vf)
        };
        self.records.save(&record)?;
        crash_point(CRASH_AT, "after-record");

        let info = device_info
            .as_ref()
            .and_then(|d| d.written())
            .map(|p| (p, devinfo::vf_device_info(vf)));
        let attached = self.configure_userspace(req, plan, &mut host, pf.index, vf, current, info);
        self.rolled_back_on_error(attached, &mut host, None, &record)
    }

    #[allow(clippy::too_many_arguments)]
    fn configure_userspace(
        &self,
        req: &Request,
        plan: &Plan,
        host: &mut Netlink,
        pf_index: u32,
        vf: &VfDevice,
        current: Option<VfInfo>,
        device_info: Option<(&std::path::Path, devinfo::VfDeviceInfo)>,
    ) -> Result<Success, Error> {
        if let Some(current) = &current {
            for s in &plan.vf_settings {
                if !current.has(s) {
                    host.set_vf(pf_index, vf.index, s).map_err(from_netlink)?;
                }
            }
        }
        crash_point(CRASH_AT, "after-vf-settings");
        let mac = match plan.mac {
            Some(m) => Some(m),
            None => current.map(|c| c.mac).filter(|m| !m.is_zero()),
        };
        let mut result = Success {
            cni_version: req.cni_version().to_string(),
            interfaces: vec![Interface {
                name: req.ifname().to_string(),
                mac: mac.map(|m| m.to_string()),
                mtu: None,
                sandbox: req.netns().map(|p| p.display().to_string()),
                socket_path: None,
                pci_id: Some(plan.device.to_string()),
            }],
            ..Default::default()
        };
        let lease = ipam::add_if_configured(req)?;
        crash_point(CRASH_AT, "after-ipam");
        if let Some(lease) = &lease {
            let got = lease.result();
            result.ips = got.ips.clone();
            result.routes = got.routes.clone();
            result.dns = got.dns.clone();
            for ip in &mut result.ips {
                ip.interface = Some(0);
            }
        }
        if let Some((path, info)) = &device_info {
            devinfo::write(&devinfo::place(), path, info)?;
        }
        if let Some(v) = &vf.vfio {
            nfv_cni::info!(
                "VF {} on vfio-pci: group device {}{}",
                plan.device,
                v.device.display(),
                if v.noiommu { " (no-IOMMU mode)" } else { "" }
            );
        }
        if let Some(lease) = lease {
            lease.commit();
        }
        Ok(result)
    }

    /// CHECK in userspace mode: still bound to the recorded userspace driver, VF settings as
    /// configured.
    pub(crate) fn check_userspace(&self, r: &Record, plan: &Plan) -> Result<(), Error> {
        let fail = |m: String| Err(Error::new(codes::VF_UNUSABLE, m));
        let vf = self.sysfs.vf(plan.device).map_err(codes::from_pci)?;
        let now = vf.driver.name().unwrap_or("no driver");
        if !vf.is_userspace() || Some(now) != r.driver.as_deref() {
            return fail(format!(
                "VF {} is bound to {now}, not to {} as at ADD",
                r.device,
                r.driver.as_deref().unwrap_or("?")
            ));
        }
        self.check_vf_settings(r, plan)
    }
}
