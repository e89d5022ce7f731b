//! The fake's rtnetlink socket: [`Rtnetlink`] on the fake kernel's state.

use std::cell::RefCell;
use std::rc::Rc;

use ipnetwork::IpNetwork;
use nfv_netlink::{Action, Address, Link, MacAddr, Result, Route, Rtnetlink, VfInfo, VfSetting};

use super::{
    apply, describe, field, refused, FakeNs, MacBehaviour, State, EADDRNOTAVAIL, EEXIST, EINVAL,
    ENODEV, ENOENT,
};

/// A socket of the fake kernel, bound to one namespace.
#[derive(Debug)]
pub struct FakeNetlink {
    pub(super) state: Rc<RefCell<State>>,
    pub(super) ns: usize,
}

impl FakeNetlink {
    /// Log the change on link `index` (`"<ns>: <verb> <name><rest>"`), then make it; `op`
    /// is how the real layer names it in an error.
    fn change(
        &mut self,
        index: u32,
        (verb, rest): (&str, String),
        (op, action): (String, Action),
        f: impl FnOnce(&mut State, usize) -> Result<()>,
    ) -> Result<()> {
        let mut s = self.state.borrow_mut();
        let i = s.by_index(self.ns, index)?;
        let line = format!(
            "{}: {verb} {}{rest}",
            s.namespaces[self.ns], s.links[i].link.name
        );
        s.record(line, op, &action)?;
        f(&mut s, i)
    }
}

impl Rtnetlink for FakeNetlink {
    type Netns = FakeNs;

    fn socket_in(&self, ns: &FakeNs) -> Result<FakeNetlink> {
        Ok(FakeNetlink {
            state: self.state.clone(),
            ns: ns.0,
        })
    }

    fn namespace(&self) -> Result<FakeNs> {
        Ok(FakeNs(self.ns))
    }

    fn link_by_name(&mut self, name: &str) -> Result<Link> {
        let s = self.state.borrow();
        match s.find(self.ns, |l| l.name == name) {
            Some(i) => Ok(s.links[i].link.clone()),
            None => Err(refused(
                format!("looking up interface {name}"),
                &Action::GetLink,
                ENODEV,
            )),
        }
    }

    fn link_by_index(&mut self, index: u32) -> Result<Link> {
        let s = self.state.borrow();
        s.by_index(self.ns, index).map(|i| s.links[i].link.clone())
    }

    fn links(&mut self) -> Result<Vec<Link>> {
        let s = self.state.borrow();
        Ok(s.links
            .iter()
            .filter(|l| l.ns == self.ns)
            .map(|l| l.link.clone())
            .collect())
    }

    fn set_up(&mut self, index: u32) -> Result<()> {
        let op = format!("setting interface index {index} up");
        self.change(
            index,
            ("up", String::new()),
            (op, Action::SetState),
            |s, i| {
                s.links[i].link.admin_up = true;
                Ok(())
            },
        )
    }

    fn set_down(&mut self, index: u32) -> Result<()> {
        let op = format!("setting interface index {index} down");
        self.change(
            index,
            ("down", String::new()),
            (op, Action::SetState),
            |s, i| {
                s.links[i].link.admin_up = false;
                Ok(())
            },
        )
    }

    fn rename(&mut self, index: u32, new_name: &str) -> Result<()> {
        let ns = self.ns;
        let action = Action::Rename(new_name.to_string());
        let name = new_name.to_string();
        let op = format!("renaming interface index {index} to {new_name}");
        let rest = ("rename", format!(" {new_name}"));
        self.change(index, rest, (op.clone(), action.clone()), |s, i| {
            if s.find(ns, |l| l.name == name).is_some() || s.links[i].alt_names.contains(&name) {
                return Err(refused(op, &action, EEXIST));
            }
            s.rename_link(i, name);
            Ok(())
        })
    }

    fn set_mac(&mut self, index: u32, mac: MacAddr) -> Result<()> {
        let op = format!("setting MAC {mac} on interface index {index}");
        let rest = ("mac", format!(" {mac}"));
        self.change(index, rest, (op.clone(), Action::SetMac), |s, i| {
            let refuses = s.vf_of(&s.links[i].link).is_some_and(|v| {
                s.vfs[v].behaviour == MacBehaviour::Igb && s.vfs[v].admin_mac.is_some()
            });
            if refuses {
                let line = s.log.pop().unwrap_or_default();
                s.log.push(format!("{line} (refused)"));
                return Err(refused(op, &Action::SetMac, EADDRNOTAVAIL));
            }
            s.links[i].link.mac = Some(mac);
            Ok(())
        })
    }

    fn set_mtu(&mut self, index: u32, mtu: u32) -> Result<()> {
        let op = format!("setting MTU {mtu} on interface index {index}");
        self.change(
            index,
            ("mtu", format!(" {mtu}")),
            (op, Action::SetMtu),
            |s, i| {
                s.links[i].link.mtu = Some(mtu);
                Ok(())
            },
        )
    }

    fn move_to_netns(&mut self, index: u32, ns: &FakeNs, new_name: Option<&str>) -> Result<()> {
        let to = ns.0;
        let target = self.state.borrow().namespaces[to].clone();
        let rest = match new_name {
            Some(n) => format!(" to {target} as {n}"),
            None => format!(" to {target}"),
        };
        let name = new_name.map(str::to_string);
        let op = format!("moving interface index {index} into {target}{}", {
            new_name.map(|n| format!(" as {n}")).unwrap_or_default()
        });
        let action = match new_name {
            Some(n) => Action::Rename(n.to_string()),
            None => Action::MoveToNetns,
        };
        self.change(
            index,
            ("move", rest),
            (op.clone(), action.clone()),
            |s, i| {
                let arriving = name.clone().unwrap_or_else(|| s.links[i].link.name.clone());
                if s.find(to, |l| l.name == arriving).is_some()
                    || s.links[i].alt_names.contains(&arriving)
                {
                    return Err(refused(op, &action, EEXIST));
                }
                s.rename_link(i, arriving);
                let l = &mut s.links[i];
                l.ns = to;
                l.link.admin_up = false;
                Ok(())
            },
        )
    }

    fn alt_names(&mut self, index: u32) -> Result<Vec<String>> {
        let s = self.state.borrow();
        s.by_index(self.ns, index)
            .map(|i| s.links[i].alt_names.clone())
    }

    fn remove_alt_name(&mut self, index: u32, name: &str) -> Result<()> {
        let op = format!("removing alternative name {name} from interface index {index}");
        let alt = name.to_string();
        let rest = ("del-altname", format!(" {name}"));
        self.change(index, rest, (op.clone(), Action::Other), |s, i| {
            let names = &mut s.links[i].alt_names;
            match names.iter().position(|n| *n == alt) {
                Some(p) => {
                    names.remove(p);
                    Ok(())
                }
                None => Err(refused(op, &Action::Other, ENOENT)),
            }
        })
    }

    fn add_address(&mut self, index: u32, net: IpNetwork) -> Result<()> {
        let op = format!("adding address {net} to interface index {index}");
        let rest = ("address", format!(" {net}"));
        self.change(index, rest, (op, Action::Address), |s, i| {
            s.links[i].addresses.push(net);
            Ok(())
        })
    }

    fn addresses(&mut self, index: Option<u32>) -> Result<Vec<Address>> {
        let s = self.state.borrow();
        Ok(s.links
            .iter()
            .filter(|l| l.ns == self.ns && index.is_none_or(|i| i == l.link.index))
            .flat_map(|l| {
                l.addresses.iter().map(|a| Address {
                    index: l.link.index,
                    network: *a,
                    scope: 0,
                })
            })
            .collect())
    }

    fn add_route(&mut self, route: &Route) -> Result<()> {
        let index = route.oif.unwrap_or(0);
        let op = format!("adding route to {}", route.destination);
        let rest = ("route", format!(" {}", route.destination));
        self.change(index, rest, (op, Action::Route), |_, _| Ok(()))
    }

    fn vf(&mut self, pf_index: u32, vf: u32) -> Result<VfInfo> {
        let s = self.state.borrow();
        s.by_index(self.ns, pf_index)?;
        let i = s.vf_at(pf_index, vf)?;
        Ok(s.report(&s.vfs[i]))
    }

    fn set_vf(&mut self, pf_index: u32, vf: u32, setting: &VfSetting) -> Result<()> {
        let rest = ("vf", format!(" {vf} {}", describe(setting)));
        let action = Action::SetVf(field(setting));
        let op = format!(
            "setting {} on VF {vf} of interface index {pf_index}",
            describe(setting)
        );
        self.change(pf_index, rest, (op.clone(), action.clone()), |s, _| {
            let i = s.vf_at(pf_index, vf)?;
            if let (VfSetting::Rate { min_mbps, .. }, MacBehaviour::Igb) =
                (setting, s.vfs[i].behaviour)
            {
                if *min_mbps != 0 {
                    return Err(refused(op, &action, EINVAL));
                }
            }
            apply(&mut s.vfs[i], setting);
            Ok(())
        })
    }
}
