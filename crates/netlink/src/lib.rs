//! A thin synchronous netlink layer for one-shot CNI plugins (no async runtime).
//!
//! - [`Netlink`]: a blocking rtnetlink socket; [`Netlink::open_in`] binds one to a pod's
//!   namespace without leaving the calling thread there.
//! - [`Netns`]: open a namespace by path, [`Netns::enter`] with a restoring guard,
//!   [`Netns::run_in`] for sysctl/proc work; [`Netns::new_anonymous`] / [`Netns::create_named`]
//!   for tests.
//! - Typed calls on links ([`Link`]), addresses, routes and SR-IOV VFs ([`VfInfo`],
//!   [`VfSetting`]); pure message builders ([`vf_setting_message`], [`address_message`],
//!   [`route_message`]) that the unit tests check byte for byte.
//! - [`VdpaNetlink`]: the "vdpa" generic-netlink family (list devices, find one by name or
//!   parent PCI address), `None` when the module is not loaded.
//! - One error type, [`Error`], with errno in words and the failed operation named.
//! - [`Rtnetlink`]: the calls moving and restoring a netdev makes, as a trait: [`Netlink`]
//!   is the real one, nfv-testkit has a recording fake for root-free unit tests.

mod address;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod link;
mod link_reply;
mod mac;
pub mod netns;
mod route;
mod rtnetlink;
mod socket;
mod vdpa;
mod vf;
mod wire;

pub use address::{address_message, Address};
pub use error::{explain, Action, Error, Result, VfField};
pub use link::{validate_ifname, Link, OperState, MAX_IFNAME_LEN};
pub use mac::{MacAddr, ParseMacError};
pub use netns::{run_in, Netns, NetnsGuard};
pub use route::{route_message, Route, SCOPE_HOST, SCOPE_LINK, SCOPE_UNIVERSE, TABLE_MAIN};
pub use rtnetlink::Rtnetlink;
pub use socket::{Netlink, DUMP_ATTEMPTS};
pub use vdpa::{
    dev_get_message, family_query_message, generic_family_id, parse_family_id, parse_vdpa_dev,
    VdpaDev, VdpaNetlink, VDPA_GENL_NAME,
};
pub use vf::{
    parse_vf_list, vf_query_message, vf_setting_message, VfInfo, VfLinkState, VfSetting, VlanProto,
};
