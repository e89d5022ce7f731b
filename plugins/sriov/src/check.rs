//! CHECK: the VF is still where ADD put it and looks as the config says, on both sides: the
//! netdev in the pod (or the driver in userspace mode, or the vdpa code's device), and the VF
//! settings on the PF.

use nfv_cni::{code, ipam, Error, Request};
use nfv_netlink::{Netlink, Netns, VfSetting};
use nfv_plugin::CniRecordStore;
use nfv_podnet::verify::{verify, Expected, Mismatch};

use crate::codes::{self, from_netlink};
use crate::config::{self, Plan, SriovConf};
use crate::record::{Record, VfMode};
use crate::Sriov;

impl Sriov {
    /// CHECK: the VF is in the pod under the expected name with the expected MAC and MTU, and
    /// its settings on the PF match the config (read as sriov-cni read it: an attachment
    /// with a value ADD refuses was made by sriov-cni).
    pub(crate) fn check_attachment(&self, req: &Request) -> Result<(), Error> {
        let conf: SriovConf = req.parse_conf()?;
        let mut plan = config::plan_for_check(&conf, &req.env.args)?;
        let r = match self.records.load(req.container_id(), req.ifname())? {
            Some(r) => r,
            None => match self.adopted_for_check(req, plan.device) {
                Some(r) => {
                    // sriov-cni never applies `mtu`: its attachments are not held to it.
                    plan.mtu = None;
                    r
                }
                None => self.records.load_known(req.container_id(), req.ifname())?,
            },
        };
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
            device: r.device.as_str(),
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
        let missing = missing_settings(plan, &current);
        if !missing.is_empty() {
            return Err(Error::new(
                codes::VF_UNUSABLE,
                format!("VF {} differs from the config: {missing:?}", r.device),
            ));
        }
        Ok(())
    }
}

/// The VF settings in `plan` that `current` does not have yet (for CHECK).
pub(crate) fn missing_settings(plan: &Plan, current: &nfv_netlink::VfInfo) -> Vec<VfSetting> {
    plan.vf_settings
        .iter()
        .filter(|s| !current.has(s))
        .copied()
        .collect()
}
