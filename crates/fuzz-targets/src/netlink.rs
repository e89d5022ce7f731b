//! Netlink replies (input: one byte for what the request waits for, then the datagrams the
//! "kernel" sends, each with a 2-byte little-endian length; see [`crate::chunks::frames`]).
//! Requests carry sequence number 1 (2, 3, ... when an interrupted dump is repeated).
//!
//! Properties: the reply loop always ends (when the datagrams run out it reports the read
//! error a socket timeout gives) and never panics; what it returns are whole messages of this
//! request (length field = length, its sequence number, no control message), at most one when
//! one was asked for; every attribute walker and typed reader is total on any bytes.

use nfv_netlink::fuzzing::{exchange_scripted, read_route_reply, Expectation, Reading, FIRST_SEQ};
use nfv_netlink::{parse_family_id, parse_vdpa_dev, parse_vf_list, Error, DUMP_ATTEMPTS};

use crate::chunks::frames;

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Run the reply loop on the input; the replies it returned, checked.
fn replies(data: &[u8]) -> (Vec<&[u8]>, Option<Vec<Vec<u8>>>) {
    let Some((&which, rest)) = data.split_first() else {
        return (vec![], None);
    };
    let expect = match which % 3 {
        0 => Expectation::Ack,
        1 => Expectation::One,
        _ => Expectation::Dump,
    };
    let datagrams = frames(rest);
    match exchange_scripted(expect, &datagrams) {
        Ok(replies) => {
            if expect == Expectation::One {
                assert!(replies.len() <= 1, "{} replies to a GET", replies.len());
            }
            for r in &replies {
                assert!(r.len() >= 16, "a reply shorter than its header");
                assert_eq!(u32_at(r, 0) as usize, r.len(), "a reply cut wrong");
                let seq = u32_at(r, 8);
                assert!(
                    (FIRST_SEQ..FIRST_SEQ + DUMP_ATTEMPTS).contains(&seq),
                    "a reply with sequence number {seq}"
                );
                // NOOP, ERROR, DONE and OVERRUN are the loop's to handle. (Other types below
                // 16 are reserved; a reply of one goes to the typed readers, which refuse it.)
                let kind = u16_at(r, 4);
                assert!(!(1..=4).contains(&kind), "control message {kind} returned");
            }
            (datagrams, Some(replies))
        }
        Err(e) => {
            assert!(!matches!(e, Error::InvalidArgument { .. }), "{e}");
            let _ = (e.to_string(), e.errno(), e.is_not_found(), e.is_exists());
            (datagrams, None)
        }
    }
}

/// rtnetlink: ACKs and errors with extended acks, dumps (interrupted ones too), and the links,
/// addresses, routes and VF lists in the replies.
pub fn route_reply(data: &[u8]) {
    let (datagrams, replies) = replies(data);
    for raw in replies.iter().flatten() {
        read(raw);
    }
    // The readers on whatever bytes, not only on messages the loop accepted.
    for d in datagrams {
        let _ = read_route_reply(d);
        let _ = parse_vf_list(d);
    }
}

fn read(raw: &[u8]) {
    match read_route_reply(raw) {
        Ok(Reading::Link(link, vfs)) => {
            let _ = format!("{link:?}");
            if let Ok(vfs) = vfs {
                for vf in vfs {
                    let _ = vf.restore_settings();
                }
            }
        }
        Ok(Reading::Address(Some(a))) => {
            let _ = a.network.to_string();
        }
        Ok(_) => {}
        Err(e) => assert!(matches!(e, Error::Protocol { .. }), "{e}"),
    }
}

/// Generic netlink, the vdpa family: the controller's family lookup and the device list.
pub fn genl_vdpa(data: &[u8]) {
    let (datagrams, replies) = replies(data);
    for raw in replies.iter().flatten().map(Vec::as_slice).chain(datagrams) {
        let _ = parse_family_id(raw);
        if let Ok(d) = parse_vdpa_dev(raw) {
            assert!(
                !d.name.is_empty() && !d.name.contains('\0'),
                "name {:?}",
                d.name
            );
            assert!(!d.mgmt_dev.contains('\0'));
            if let Some(p) = d.pci_parent() {
                assert_eq!(d.mgmt_bus.as_deref(), Some("pci"));
                assert_eq!(p, d.mgmt_dev);
            }
        }
    }
}
