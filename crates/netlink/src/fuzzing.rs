//! Kernel replies without a kernel, for the fuzz targets (`fuzz/`, `crates/fuzz-targets`): a
//! scripted transport hands the request/reply loop the datagrams a fuzzer chose, and the
//! readers the typed calls use turn each reply into a link, address, route or VF list. Not
//! an API for plugins, so hidden from the docs; it only reaches code that is pure already.

use crate::address::{address_from_message, Address};
use crate::error::{Action, Error, Result};
use crate::link::Link;
use crate::route::{route_from_message, Route};
use crate::socket::{exchange, parse_reply, Expect, Reply, Transport};
use crate::vf::{parse_vf_list, VfInfo};

/// What the scripted request waits for, as the typed calls ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expectation {
    /// An ACK: set/new/del requests.
    Ack,
    /// One reply: a GET of one object.
    One,
    /// A dump ending in NLMSG_DONE.
    Dump,
}

/// The sequence number of the first request; a repeated dump takes the next one.
pub const FIRST_SEQ: u32 = 1;

struct Scripted<'a> {
    datagrams: std::slice::Iter<'a, &'a [u8]>,
}

impl Transport for Scripted<'_> {
    fn send(&mut self, _request: &[u8]) -> std::io::Result<()> {
        Ok(())
    }

    /// The next datagram; when there are none left, what a socket timeout gives.
    fn recv(&mut self) -> std::io::Result<Vec<u8>> {
        self.datagrams
            .next()
            .map(|d| d.to_vec())
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::WouldBlock))
    }
}

/// One request answered by `datagrams`, in order: the replies the loop collected, or its error.
pub fn exchange_scripted(expect: Expectation, datagrams: &[&[u8]]) -> Result<Vec<Vec<u8>>> {
    let expect = match expect {
        Expectation::Ack => Expect::Ack,
        Expectation::One => Expect::One,
        Expectation::Dump => Expect::Dump,
    };
    let mut transport = Scripted {
        datagrams: datagrams.iter(),
    };
    let mut seq = FIRST_SEQ - 1;
    // The request itself only needs a header: the transport ignores it.
    let request = |flags: u16, seq: u32| {
        let mut b = Vec::with_capacity(16);
        b.extend_from_slice(&16u32.to_ne_bytes());
        b.extend_from_slice(&18u16.to_ne_bytes()); // RTM_GETLINK
        b.extend_from_slice(&flags.to_ne_bytes());
        b.extend_from_slice(&seq.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b
    };
    exchange(
        &mut transport,
        &mut seq,
        &request,
        0,
        expect,
        "a scripted request",
        &Action::Other,
    )
}

/// What one rtnetlink reply reads as through the typed calls' readers.
#[derive(Debug)]
pub enum Reading {
    /// RTM_NEWLINK: the link, and its VF list as the raw-attribute walker reads it.
    Link(Box<Link>, std::result::Result<Vec<VfInfo>, String>),
    /// RTM_NEWADDR (`None`: no address attribute).
    Address(Option<Address>),
    /// RTM_NEWROUTE (`None`: a route the listing refuses).
    Route(Option<Route>),
    /// Any other message.
    Other,
}

/// Read one raw reply (header included) the way `links`, `addresses`, `routes` and `vfs` do.
pub fn read_route_reply(raw: &[u8]) -> Result<Reading> {
    let op = "reading a scripted reply";
    Ok(match parse_reply(raw, op)? {
        Reply::NewLink(body) => Reading::Link(
            Box::new(Link::from_reply(&body).map_err(|d| Error::protocol(op, d))?),
            parse_vf_list(raw),
        ),
        Reply::NewAddress(m) => Reading::Address(address_from_message(&m, op)?),
        Reply::NewRoute(m) => Reading::Route(route_from_message(&m)),
        _ => Reading::Other,
    })
}
