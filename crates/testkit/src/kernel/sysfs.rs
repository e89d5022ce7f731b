//! The fake's sysfs side: [`VfDriver`] on the fake kernel's state.

use std::cell::RefCell;
use std::rc::Rc;

use nfv_pci::{PciAddress, VfDriver};

use super::{link, FakeLink, State};

/// The sysfs side of the fake kernel.
#[derive(Debug)]
pub struct FakeSysfs {
    pub(super) state: Rc<RefCell<State>>,
}

impl VfDriver for FakeSysfs {
    /// Unbind and bind: the VF's netdev goes and a new one (new index, named `eth<index>`,
    /// down, MTU 1500) appears in its PF's namespace, carrying the admin MAC when the PF set
    /// one (else the MAC it had).
    fn rebind_driver(&self, vf: PciAddress) -> nfv_pci::Result<Option<String>> {
        let mut s = self.state.borrow_mut();
        let Some(v) = s.vfs.iter().position(|x| x.pci == vf) else {
            return Err(nfv_pci::Error::NoSuchDevice(vf, "fake sysfs".into()));
        };
        s.log.push(format!("sysfs: rebind {vf}"));
        let home = s
            .links
            .iter()
            .find(|l| l.link.index == s.vfs[v].pf_index)
            .map_or(0, |l| l.ns);
        let parent = vf.to_string();
        let old = s
            .links
            .iter()
            .position(|l| l.link.parent_device.as_deref() == Some(&parent));
        let old_mac = old.and_then(|i| s.links[i].link.mac);
        if let Some(i) = old {
            s.links.remove(i);
        }
        let index = s.new_index();
        let mac = s.vfs[v].admin_mac.or(old_mac);
        s.links.push(FakeLink {
            ns: home,
            link: link(index, &format!("eth{index}"), mac, 1500, Some(&parent)),
            addresses: Vec::new(),
            alt_names: Vec::new(),
        });
        Ok(Some(s.vfs[v].driver.clone()))
    }

    fn vf_netdev(&self, vf: PciAddress) -> Option<String> {
        let s = self.state.borrow();
        let v = s.vfs.iter().find(|x| x.pci == vf)?;
        let home = s.links.iter().find(|l| l.link.index == v.pf_index)?.ns;
        let parent = vf.to_string();
        s.links
            .iter()
            .find(|l| l.ns == home && l.link.parent_device.as_deref() == Some(&parent))
            .map(|l| l.link.name.clone())
    }
}
