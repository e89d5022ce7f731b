//! The kernel seam of the code that gives netdevs to pods and puts them back (nfv-podnet, the
//! plugins' restore and rollback): the rtnetlink calls it makes, on a socket bound to one
//! namespace. [`Netlink`] is the real one; nfv-testkit has a recording fake, so what DEL
//! restores, in which order, and the drivers' quirks are unit-tested without root (youki's
//! netlink `Client` trait and its fake).

use ipnetwork::IpNetwork;

use crate::address::Address;
use crate::error::Result;
use crate::link::Link;
use crate::mac::MacAddr;
use crate::netns::Netns;
use crate::route::Route;
use crate::socket::Netlink;
use crate::vf::{VfInfo, VfSetting};

/// The rtnetlink calls a netdev's way into a pod and back needs. Each call is the
/// [`Netlink`] method of the same name.
pub trait Rtnetlink: Sized {
    /// A handle on a network namespace ([`Netns`] for the real socket).
    type Netns;

    /// A socket like this one, bound to `ns` (see [`Netlink::open_in`]).
    fn socket_in(&self, ns: &Self::Netns) -> Result<Self>;
    /// A new handle on the namespace this socket talks to.
    fn namespace(&self) -> Result<Self::Netns>;

    fn link_by_name(&mut self, name: &str) -> Result<Link>;
    fn link_by_index(&mut self, index: u32) -> Result<Link>;
    fn links(&mut self) -> Result<Vec<Link>>;
    fn set_up(&mut self, index: u32) -> Result<()>;
    fn set_down(&mut self, index: u32) -> Result<()>;
    fn rename(&mut self, index: u32, new_name: &str) -> Result<()>;
    fn set_mac(&mut self, index: u32, mac: MacAddr) -> Result<()>;
    fn set_mtu(&mut self, index: u32, mtu: u32) -> Result<()>;
    /// Move and rename in one request; an error means the link did not move.
    fn move_to_netns(&mut self, index: u32, ns: &Self::Netns, new_name: Option<&str>)
        -> Result<()>;

    /// The link's alternative names.
    fn alt_names(&mut self, index: u32) -> Result<Vec<String>>;
    fn remove_alt_name(&mut self, index: u32, name: &str) -> Result<()>;

    fn add_address(&mut self, index: u32, net: IpNetwork) -> Result<()>;
    fn addresses(&mut self, index: Option<u32>) -> Result<Vec<Address>>;
    fn add_route(&mut self, route: &Route) -> Result<()>;

    /// VF `vf` of the PF with link index `pf_index`, as the PF reports it.
    fn vf(&mut self, pf_index: u32, vf: u32) -> Result<VfInfo>;
    fn set_vf(&mut self, pf_index: u32, vf: u32, setting: &VfSetting) -> Result<()>;
}

impl Rtnetlink for Netlink {
    type Netns = Netns;

    fn socket_in(&self, ns: &Netns) -> Result<Netlink> {
        Netlink::open_in(ns)
    }

    fn namespace(&self) -> Result<Netns> {
        self.netns().try_clone()
    }

    fn link_by_name(&mut self, name: &str) -> Result<Link> {
        Netlink::link_by_name(self, name)
    }

    fn link_by_index(&mut self, index: u32) -> Result<Link> {
        Netlink::link_by_index(self, index)
    }

    fn links(&mut self) -> Result<Vec<Link>> {
        Netlink::links(self)
    }

    fn set_up(&mut self, index: u32) -> Result<()> {
        Netlink::set_up(self, index)
    }

    fn set_down(&mut self, index: u32) -> Result<()> {
        Netlink::set_down(self, index)
    }

    fn rename(&mut self, index: u32, new_name: &str) -> Result<()> {
        Netlink::rename(self, index, new_name)
    }

    fn set_mac(&mut self, index: u32, mac: MacAddr) -> Result<()> {
        Netlink::set_mac(self, index, mac)
    }

    fn set_mtu(&mut self, index: u32, mtu: u32) -> Result<()> {
        Netlink::set_mtu(self, index, mtu)
    }

    fn move_to_netns(&mut self, index: u32, ns: &Netns, new_name: Option<&str>) -> Result<()> {
        Netlink::move_to_netns(self, index, ns, new_name)
    }

    fn alt_names(&mut self, index: u32) -> Result<Vec<String>> {
        Netlink::alt_names(self, index)
    }

    fn remove_alt_name(&mut self, index: u32, name: &str) -> Result<()> {
        Netlink::remove_alt_name(self, index, name)
    }

    fn add_address(&mut self, index: u32, net: IpNetwork) -> Result<()> {
        Netlink::add_address(self, index, net)
    }

    fn addresses(&mut self, index: Option<u32>) -> Result<Vec<Address>> {
        Netlink::addresses(self, index)
    }

    fn add_route(&mut self, route: &Route) -> Result<()> {
        Netlink::add_route(self, route)
    }

    fn vf(&mut self, pf_index: u32, vf: u32) -> Result<VfInfo> {
        Netlink::vf(self, pf_index, vf)
    }

    fn set_vf(&mut self, pf_index: u32, vf: u32, setting: &VfSetting) -> Result<()> {
        Netlink::set_vf(self, pf_index, vf, setting)
    }
}
