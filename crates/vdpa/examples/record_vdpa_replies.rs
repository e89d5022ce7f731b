//! Record the vdpa generic-netlink family's raw replies on a machine with vDPA devices (the
//! lab guest), for the unit tests in testdata/vdpa/: one file per exchange, one netlink
//! message per line in hex. Not part of the plugin.
//!
//!     record_vdpa_replies OUT_DIR DEVICE_NAME
//!
//! Writes `family.hex` (CTRL_CMD_GETFAMILY "vdpa"), `dev-dump.hex` (VDPA_CMD_DEV_GET, dump),
//! `dev-get.hex` (VDPA_CMD_DEV_GET for DEVICE_NAME) and `dev-get-missing.hex` (for a device
//! that does not exist: the kernel's error message).

use std::io::Write;

use netlink_sys::protocols::NETLINK_GENERIC;
use netlink_sys::{Socket, SocketAddr};
use nfv_netlink::{dev_get_message, family_query_message, parse_family_id};

const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;

/// Send `req`, collect every message up to the end of the answer (DONE, an error/ack, or the
/// single reply of a non-dump request).
fn exchange(s: &Socket, req: &[u8], dump: bool) -> std::io::Result<Vec<Vec<u8>>> {
    s.send(req, 0)?;
    let mut out = Vec::new();
    loop {
        let mut buf = Vec::with_capacity(65536);
        s.recv(&mut buf, 0)?;
        let mut rest = &buf[..];
        while rest.len() >= 16 {
            let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            let kind = u16::from_ne_bytes([rest[4], rest[5]]);
            if len < 16 || len > rest.len() {
                return Ok(out);
            }
            let msg = rest[..len].to_vec();
            rest = &rest[(len + 3) & !3..];
            if kind == NLMSG_DONE {
                return Ok(out);
            }
            out.push(msg);
            if kind == NLMSG_ERROR || !dump {
                return Ok(out);
            }
        }
    }
}

fn save(dir: &std::path::Path, name: &str, msgs: &[Vec<u8>]) -> std::io::Result<()> {
    let mut f = std::fs::File::create(dir.join(name))?;
    for m in msgs {
        let hex: String = m.iter().map(|b| format!("{b:02x}")).collect();
        writeln!(f, "{hex}")?;
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(name)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: record_vdpa_replies OUT_DIR DEVICE_NAME");
        std::process::exit(2);
    };
    let dir = std::path::Path::new(dir);
    std::fs::create_dir_all(dir)?;
    let mut s = Socket::new(NETLINK_GENERIC)?;
    s.bind_auto()?;
    s.connect(&SocketAddr::new(0, 0))?;

    let family = exchange(&s, &family_query_message("vdpa", NLM_F_REQUEST, 1), false)?;
    save(dir, "family.hex", &family)?;
    let id = family
        .first()
        .and_then(|m| parse_family_id(m).ok())
        .ok_or_else(|| std::io::Error::other("no vdpa family"))?;
    let dump = exchange(
        &s,
        &dev_get_message(id, None, NLM_F_REQUEST | NLM_F_DUMP, 2),
        true,
    )?;
    save(dir, "dev-dump.hex", &dump)?;
    let one = exchange(
        &s,
        &dev_get_message(id, Some(name), NLM_F_REQUEST, 3),
        false,
    )?;
    save(dir, "dev-get.hex", &one)?;
    let missing = exchange(
        &s,
        &dev_get_message(id, Some("nosuchvdpa"), NLM_F_REQUEST | NLM_F_ACK, 4),
        false,
    )?;
    save(dir, "dev-get-missing.hex", &missing)?;
    eprintln!(
        "recorded family {id:#x}, {} device(s) in the dump",
        dump.len()
    );
    Ok(())
}
