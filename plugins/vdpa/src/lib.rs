//! The vdpa CNI plugin: give a pod a vDPA device (a vhost_vdpa char device, or a virtio_vdpa
//! netdev moved into the pod). The work is nfv-vdpa's, shared with the sriov plugin's
//! hand-off of a VF that carries a vDPA device; this is the CNI face of it: the config is
//! parsed into a plan here, and each verb is handed to [`nfv_vdpa::Vdpa`].

use std::ops::Deref;

use nfv_cni::result::Success;
use nfv_cni::{Error, Plugin, Request};
use nfv_vdpa::config::{self, VdpaConf};
use nfv_vdpa::Vdpa;

/// The plugin: the node's vDPA code ([`Vdpa::default`]: `/sys`, records in
/// `/var/lib/cni/nfv-vdpa`), or one over a fake sysfs tree and scratch records in tests.
#[derive(Debug, Clone, Default)]
pub struct VdpaPlugin(pub Vdpa);

impl Deref for VdpaPlugin {
    type Target = Vdpa;
    fn deref(&self) -> &Vdpa {
        &self.0
    }
}

impl Plugin for VdpaPlugin {
    fn add(&self, req: &Request) -> Result<Success, Error> {
        let conf: VdpaConf = req.parse_conf()?;
        let plan = config::plan(&conf, &req.env.args)?;
        self.0.attach(req, &plan)
    }

    fn del(&self, req: &Request) -> Result<(), Error> {
        self.0.detach(req)
    }

    fn check(&self, req: &Request) -> Result<(), Error> {
        self.0.check_attachment(req)
    }

    fn gc(&self, req: &Request) -> Result<(), Error> {
        self.0.collect_garbage(req)
    }

    /// Ready when the vdpa bus is visible in sysfs or the vdpa generic-netlink family exists.
    fn status(&self, req: &Request) -> Result<(), Error> {
        self.0.status(req)
    }
}
