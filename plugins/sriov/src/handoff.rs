//! A VF that carries a vDPA device (a device plugin allocated it for a vDPA resource): one
//! sriov NetworkAttachmentDefinition serves it too. sriov does its own part, the VF settings
//! through the PF (recorded in its record, mode `vdpa`), and hands the vDPA device to the vdpa
//! plugin's code (`nfv_vdpa::Vdpa::attach` with `Selector::Parent(vf)`), which moves a virtio
//! netdev or reports the vhost char device, writes the device-info file (type `vdpa`), keeps
//! its own record and runs IPAM. So sriov never runs IPAM for such an attachment.
//!
//! DEL: the vdpa code detaches (record or not), then the VF settings come back from sriov's
//! record. ADD failing on the vdpa side puts the VF settings back.

use nfv_cni::result::Success;
use nfv_cni::{code, Error, Request};
use nfv_crashpoint::crash_point;
use nfv_netlink::{Netlink, VfInfo};
use nfv_pci::{PciAddress, VfDevice};
use nfv_vdpa::config::{Mode, Plan as VdpaPlan, Selector};
use nfv_vdpa::discover::{self, DeviceList, Found};

use crate::codes::{from_netlink, from_pci};
use crate::config::Plan;
use crate::record::{Record, SavedVf, VfMode};
use crate::{Sriov, CRASH_AT};

/// The vdpa side's plan for the VF's vDPA device. The netdev's MAC and MTU only mean
/// something for a virtio netdev; on a vhost device the MAC is the VF's admin MAC (set through
/// the PF), and an MTU is refused by the vdpa code, naming `mtu`.
pub fn vdpa_plan(
    plan: &Plan,
    mode: Mode,
    device_info_file: Option<std::path::PathBuf>,
) -> VdpaPlan {
    VdpaPlan {
        selector: Selector::Parent(plan.device),
        mode: Some(mode),
        mac: (mode == Mode::Virtio).then_some(plan.mac).flatten(),
        mtu: plan.mtu,
        device_info_file,
    }
}

impl Sriov {
    /// The vDPA device on VF `vf`, if it carries one: the kernel's list (vdpa generic netlink)
    /// when it is there, then sysfs. A device that is there but unusable (unbound, another
    /// driver) is an error naming it.
    pub fn vdpa_on(&self, vf: PciAddress) -> Result<Option<Found>, Error> {
        let mut nl = if self.vdpa.use_netlink {
            discover::open_netlink()
        } else {
            None
        };
        let wanted = vf.to_string();
        let in_kernel_list = match nl.as_mut() {
            Some(nl) => match DeviceList::devices(nl) {
                Ok(list) => list.iter().any(|d| d.pci_parent() == Some(wanted.as_str())),
                Err(e) => {
                    nfv_cni::debug!("vdpa generic netlink dump failed, using sysfs: {}", e.msg);
                    false
                }
            },
            None => false,
        };
        let in_sysfs = || {
            self.vdpa
                .sysfs
                .vdpa_by_parent(vf)
                .map(|d| d.is_some())
                .map_err(from_pci)
        };
        if !in_kernel_list && !in_sysfs()? {
            return Ok(None);
        }
        let list = nl.as_mut().map(|n| n as &mut dyn DeviceList);
        discover::find(&self.vdpa.sysfs, list, &Selector::Parent(vf), None).map(Some)
    }

    /// ADD for a VF carrying vDPA device `found`. The caller holds the VF lock and checked
    /// that no other attachment holds the VF.
    pub(crate) fn attach_vdpa(
        &self,
        req: &Request,
        plan: &Plan,
        vf: &VfDevice,
        found: &Found,
        device_info_file: Option<std::path::PathBuf>,
    ) -> Result<Success, Error> {
        req.netns()
            .ok_or_else(|| Error::new(code::INVALID_ENV, "CNI_NETNS is required for ADD"))?;
        let vdpa_plan = vdpa_plan(plan, found.mode, device_info_file);
        let mut host = Netlink::open().map_err(from_netlink)?;
        let pf_and_current: Option<(u32, VfInfo)> = if plan.vf_settings.is_empty() {
            None
        } else {
            let pf = host.link_by_name(&vf.pf_netdev).map_err(from_netlink)?;
            let current = host.vf(pf.index, vf.index).map_err(from_netlink)?;
            Some((pf.index, current))
        };
        let current = pf_and_current.as_ref().map(|(_, c)| c);
        // The vdpa code writes and removes the device-info file (type vdpa).
        let record = Record {
            vdpa_device: Some(found.device.name.clone()),
            applied_vf: SavedVf::applied(&plan.vf_settings),
            ..Record::new(
                req,
                vf,
                VfMode::Vdpa,
                SavedVf::of(current, &plan.vf_settings),
            )
        };
        // Written before the first change: a crash from here on is undone by DEL.
        self.records.save(&record)?;
        crash_point(CRASH_AT, "after-record");

        let attached = (|| {
            if let Some((pf_index, current)) = &pf_and_current {
                for s in &plan.vf_settings {
                    if !current.has(s) {
                        host.set_vf(*pf_index, vf.index, s).map_err(from_netlink)?;
                    }
                }
            }
            crash_point(CRASH_AT, "after-vf-settings");
            nfv_cni::info!(
                "VF {} carries vDPA device {} ({}): handing it to the vdpa code",
                plan.device,
                found.device.name,
                found.mode.driver_name()
            );
            // Runs IPAM and keeps its own record; rolls its own part back on failure.
            self.vdpa.attach(req, &vdpa_plan)
        })();
        self.rolled_back_on_error(attached, &mut host, None, &record)
    }

    /// DEL without a sriov record: was this attachment a vDPA hand-off? Yes when the vdpa
    /// code has a record of it, or when the config's VF (`configured`, when the config names
    /// one validly) carries a vDPA device (then the vdpa code finds it from the same config).
    /// Never an error: DEL must not fail on a config or a node ADD would refuse.
    pub(crate) fn handed_off_without_record(
        &self,
        req: &Request,
        configured: Option<PciAddress>,
    ) -> bool {
        if self
            .vdpa
            .has_attachment(req.container_id(), req.ifname())
            .unwrap_or(false)
        {
            return true;
        }
        let Some(device) = configured else {
            return false;
        };
        // Any vDPA device on it, bound or not.
        let on_vf = self
            .vdpa
            .sysfs
            .vdpa_by_parent(device)
            .is_ok_and(|d| d.is_some());
        on_vf || matches!(self.vdpa_on(device), Ok(Some(_)))
    }

    /// CHECK of a hand-off: the vdpa code checks the device (and IPAM); the VF settings on the
    /// PF must still be what the config asks.
    pub(crate) fn check_vdpa(&self, req: &Request, r: &Record, plan: &Plan) -> Result<(), Error> {
        self.check_vf_settings(r, plan)?;
        self.vdpa.check_attachment(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        Plan {
            device: "0000:02:00.3".parse().unwrap(),
            vf_settings: vec![],
            mac: Some("02:00:00:00:0b:01".parse().unwrap()),
            mtu: Some(1400),
        }
    }

    #[test]
    fn the_vdpa_plan_names_the_vf_and_keeps_the_netdev_mac_for_virtio_only() {
        let p = vdpa_plan(&plan(), Mode::Virtio, Some("/run/d.json".into()));
        assert_eq!(p.selector, Selector::Parent(plan().device));
        assert_eq!(p.mode, Some(Mode::Virtio));
        assert_eq!(p.mac, plan().mac);
        assert_eq!(p.mtu, Some(1400));
        assert_eq!(p.device_info_file, Some("/run/d.json".into()));
        let p = vdpa_plan(&plan(), Mode::Vhost, None);
        assert_eq!(
            (p.mode, p.mac, p.mtu),
            (Some(Mode::Vhost), None, Some(1400)),
            "vhost: the MAC is the VF's admin MAC only; the MTU goes on so vdpa refuses it"
        );
    }
}
