//! CNI results. One model, the 1.1.0 one ([`Success`]), read from and written to every version:
//! 0.1.0/0.2.0 (`ip4`/`ip6`), 0.3.0/0.3.1/0.4.0 (`ips[].version`), 1.0.0 and 1.1.0.
//! Conversions follow the current reference library's rules (libcni >= 1.2; spec "Version
//! considerations"):
//! - interface `mtu/socketPath/pciID` are printed in 1.0.0 and 1.1.0 (one Go type serves both),
//!   dropped below 1.0.0; route `mtu/advmss/priority/table/scope` are printed from 0.3.0 up
//!   (one Go route type serves those versions), dropped in 0.1.0/0.2.0.
//! - 1.x -> 0.3.x/0.4.0 adds `"version": "4"|"6"` to each IP.
//! - -> 0.1.0/0.2.0 keeps the first IPv4 and the first IPv6 address, attaches each route to the
//!   family of its destination, and fails when there is no IP at all.

mod convert;
mod current;
mod json;
mod legacy;
mod model;

pub use model::{Dns, Interface, IpConfig, Route, Success};

#[cfg(test)]
mod tests;
