//! CHECK: the recorded attachment is still what the config and prevResult say. vhost mode:
//! the device is still on vhost_vdpa with its char device. virtio mode: the netdev in the pod
//! is the device's, with the configured MAC and MTU and prevResult's addresses.

use nfv_cni::{code, ipam, Error, Request};
use nfv_netlink::{Netlink, Netns};
use nfv_plugin::CniRecordStore;
use nfv_podnet::verify::{verify, Expected, Mismatch};

use crate::codes::{from_netlink, DEVICE_UNUSABLE};
use crate::config::{self, Mode, Plan, Selector, VdpaConf};
use crate::Vdpa;

impl Vdpa {
    /// CHECK of the request's attachment (the vdpa plugin's, or an sriov hand-off's).
    pub fn check_attachment(&self, req: &Request) -> Result<(), Error> {
        let conf: VdpaConf = req.parse_conf()?;
        let plan = config::plan_for_teardown(&conf, &req.env.args)?;
        let r = self.records.load_known(req.container_id(), req.ifname())?;
        let fail = |m: String| Err(Error::new(DEVICE_UNUSABLE, m));
        // The device by its recorded name, bound to the recorded driver.
        let by_name = Plan {
            selector: Selector::Name(r.device.clone()),
            mode: Some(r.mode),
            ..plan.clone()
        };
        let found = self.find(&by_name)?;
        if let Selector::Parent(p) | Selector::NameAndParent(_, p) = &plan.selector {
            if found.parent != Some(*p) {
                return fail(format!(
                    "the attached vDPA device {} is not on PCI device {p} (deviceID)",
                    r.device
                ));
            }
        }
        match r.mode {
            Mode::Vhost => match &found.device.vhost_device {
                Some(dev) if dev.exists() || !self.check_dev_nodes => {}
                Some(dev) => return fail(format!("{} is missing", dev.display())),
                None => return fail(format!("vDPA device {} has no vhost-vdpa device", r.device)),
            },
            Mode::Virtio => {
                let ns_path = req.netns().ok_or_else(|| {
                    Error::new(code::INVALID_ENV, "CNI_NETNS is required for CHECK")
                })?;
                let ns = Netns::open(ns_path).map_err(from_netlink)?;
                let mut pod = Netlink::open_in(&ns).map_err(from_netlink)?;
                let kernel_device = r
                    .netdev
                    .as_ref()
                    .map(|n| n.kernel_device.clone())
                    .unwrap_or_default();
                let addresses = match req.prev_result()? {
                    Some(prev) => prev.ips.into_iter().map(|ip| ip.address).collect(),
                    None => Vec::new(),
                };
                let want = Expected {
                    ifname: req.ifname(),
                    device: &kernel_device,
                    mac: plan.mac,
                    mtu: plan.mtu,
                    addresses,
                };
                match verify(&mut pod, &want) {
                    Ok(_) => {}
                    Err(Mismatch::Differs(m)) => return fail(m),
                    Err(Mismatch::Netlink(e)) if e.is_not_found() => {
                        return fail(format!("{} is not in the pod", req.ifname()))
                    }
                    Err(Mismatch::Netlink(e)) => return Err(from_netlink(e)),
                }
            }
        }
        ipam::check(req)
    }
}
