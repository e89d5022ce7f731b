//! The "vdpa" generic-netlink family (what iproute2's `vdpa dev show` speaks): list vDPA
//! devices with their management device (the parent: `pci` / `0000:02:00.2` for a VF, or
//! `vdpasim_net` for the simulator).
//!
//! When the vdpa module is not loaded the family does not exist: [`VdpaNetlink::open`] gives
//! `None` and callers fall back to sysfs (`nfv-pci`). Messages are built and parsed here over
//! raw bytes (a handful of attributes); the builders and parsers are byte-tested.

use netlink_sys::protocols::NETLINK_GENERIC;
use netlink_sys::Socket;

use crate::error::{Action, Error, Result};
use crate::socket::{exchange, open_socket, Expect, SocketTransport};
use crate::wire::{attributes, read_u32, NLMSG_HDR_LEN};

const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;

/// The family name and version from include/uapi/linux/vdpa.h.
pub const VDPA_GENL_NAME: &str = "vdpa";
const VDPA_GENL_VERSION: u8 = 1;
const VDPA_CMD_DEV_GET: u8 = 5;
const VDPA_ATTR_MGMTDEV_BUS_NAME: u16 = 1;
const VDPA_ATTR_MGMTDEV_DEV_NAME: u16 = 2;
const VDPA_ATTR_DEV_NAME: u16 = 4;
const VDPA_ATTR_DEV_ID: u16 = 5;
const VDPA_ATTR_DEV_VENDOR_ID: u16 = 6;
const VDPA_ATTR_DEV_MAX_VQS: u16 = 7;
const VDPA_ATTR_DEV_MAX_VQ_SIZE: u16 = 8;

const GENL_HDR_LEN: usize = 4;

/// One vDPA device as the kernel lists it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VdpaDev {
    /// `vdpa0`.
    pub name: String,
    /// The management device's bus (`pci`), absent for bus-less parents (the simulator).
    pub mgmt_bus: Option<String>,
    /// The management device: a PCI address for hardware vDPA, `vdpasim_net` for the simulator.
    pub mgmt_dev: String,
    /// The virtio device ID (1 = net, 2 = block).
    pub device_id: Option<u32>,
    pub vendor_id: Option<u32>,
    pub max_vqs: Option<u32>,
    pub max_vq_size: Option<u16>,
}

impl VdpaDev {
    /// The parent PCI address, when the management device is on the PCI bus.
    pub fn pci_parent(&self) -> Option<&str> {
        (self.mgmt_bus.as_deref() == Some("pci")).then_some(self.mgmt_dev.as_str())
    }
}

fn put_attr(buf: &mut Vec<u8>, kind: u16, value: &[u8]) {
    buf.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(value);
    while buf.len() & 3 != 0 {
        buf.push(0);
    }
}

fn put_str(buf: &mut Vec<u8>, kind: u16, s: &str) {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    put_attr(buf, kind, &v);
}

/// A generic-netlink request: nlmsghdr, genlmsghdr (cmd, version), attributes.
fn genl_message(family: u16, flags: u16, seq: u32, cmd: u8, version: u8, attrs: &[u8]) -> Vec<u8> {
    let len = NLMSG_HDR_LEN + GENL_HDR_LEN + attrs.len();
    let mut b = Vec::with_capacity(len);
    b.extend_from_slice(&(len as u32).to_ne_bytes());
    b.extend_from_slice(&family.to_ne_bytes());
    b.extend_from_slice(&flags.to_ne_bytes());
    b.extend_from_slice(&seq.to_ne_bytes());
    b.extend_from_slice(&0u32.to_ne_bytes());
    b.extend_from_slice(&[cmd, version, 0, 0]);
    b.extend_from_slice(attrs);
    b
}

/// CTRL_CMD_GETFAMILY for `name`.
pub fn family_query_message(name: &str, flags: u16, seq: u32) -> Vec<u8> {
    let mut attrs = Vec::new();
    put_str(&mut attrs, CTRL_ATTR_FAMILY_NAME, name);
    genl_message(GENL_ID_CTRL, flags, seq, CTRL_CMD_GETFAMILY, 1, &attrs)
}

/// VDPA_CMD_DEV_GET, for one device by name or (no name, with NLM_F_DUMP) all of them.
pub fn dev_get_message(family: u16, name: Option<&str>, flags: u16, seq: u32) -> Vec<u8> {
    let mut attrs = Vec::new();
    if let Some(n) = name {
        put_str(&mut attrs, VDPA_ATTR_DEV_NAME, n);
    }
    genl_message(
        family,
        flags,
        seq,
        VDPA_CMD_DEV_GET,
        VDPA_GENL_VERSION,
        &attrs,
    )
}

fn genl_attrs(raw: &[u8]) -> std::result::Result<impl Iterator<Item = (u16, &[u8])>, String> {
    let b = raw
        .get(NLMSG_HDR_LEN + GENL_HDR_LEN..)
        .ok_or("generic netlink message shorter than its headers")?;
    Ok(attributes(b))
}

fn c_string(v: &[u8]) -> String {
    String::from_utf8_lossy(v.split(|b| *b == 0).next().unwrap_or(&[])).into_owned()
}

/// The family ID in a CTRL_CMD_NEWFAMILY reply.
pub fn parse_family_id(raw: &[u8]) -> std::result::Result<u16, String> {
    for (kind, v) in genl_attrs(raw)? {
        if kind == CTRL_ATTR_FAMILY_ID {
            let id = v.get(..2).ok_or("CTRL_ATTR_FAMILY_ID too short")?;
            return Ok(u16::from_ne_bytes([id[0], id[1]]));
        }
    }
    Err("the controller's reply has no family ID".into())
}

/// One device from a VDPA_CMD_DEV_NEW reply (what DEV_GET answers with).
pub fn parse_vdpa_dev(raw: &[u8]) -> std::result::Result<VdpaDev, String> {
    let mut d = VdpaDev::default();
    for (kind, v) in genl_attrs(raw)? {
        match kind {
            VDPA_ATTR_DEV_NAME => d.name = c_string(v),
            VDPA_ATTR_MGMTDEV_BUS_NAME => d.mgmt_bus = Some(c_string(v)),
            VDPA_ATTR_MGMTDEV_DEV_NAME => d.mgmt_dev = c_string(v),
            VDPA_ATTR_DEV_ID => d.device_id = read_u32(v, 0),
            VDPA_ATTR_DEV_VENDOR_ID => d.vendor_id = read_u32(v, 0),
            VDPA_ATTR_DEV_MAX_VQS => d.max_vqs = read_u32(v, 0),
            VDPA_ATTR_DEV_MAX_VQ_SIZE => {
                d.max_vq_size = v.get(..2).map(|b| u16::from_ne_bytes([b[0], b[1]]))
            }
            _ => {}
        }
    }
    if d.name.is_empty() {
        return Err("a vdpa device without VDPA_ATTR_DEV_NAME".into());
    }
    Ok(d)
}

fn resolve(socket: &Socket, seq: &mut u32, name: &str) -> Result<Option<u16>> {
    let op = format!("resolving the {name} generic netlink family");
    let mut t = SocketTransport(socket);
    let replies = match exchange(
        &mut t,
        seq,
        &|flags, s| family_query_message(name, flags, s),
        0,
        Expect::One,
        &op,
        &Action::Other,
    ) {
        Ok(r) => r,
        Err(e) if e.errno() == Some(libc::ENOENT) => return Ok(None),
        Err(e) => return Err(e),
    };
    let raw = replies
        .first()
        .ok_or_else(|| Error::protocol(op.as_str(), "no reply"))?;
    parse_family_id(raw)
        .map(Some)
        .map_err(|d| Error::protocol(op, d))
}

/// The ID of a generic-netlink family, `None` when the kernel does not have it.
pub fn generic_family_id(name: &str) -> Result<Option<u16>> {
    let socket = open_socket(NETLINK_GENERIC)?;
    resolve(&socket, &mut 0, name)
}

/// A generic-netlink socket talking to the vdpa family.
#[derive(Debug)]
pub struct VdpaNetlink {
    socket: Socket,
    seq: u32,
    family: u16,
}

impl VdpaNetlink {
    /// Resolve the vdpa family. `Ok(None)` when the kernel has no such family (the vdpa
    /// module is not loaded): use sysfs instead.
    pub fn open() -> Result<Option<VdpaNetlink>> {
        let socket = open_socket(NETLINK_GENERIC)?;
        let mut seq = 0;
        Ok(
            resolve(&socket, &mut seq, VDPA_GENL_NAME)?.map(|family| VdpaNetlink {
                socket,
                seq,
                family,
            }),
        )
    }

    fn get(&mut self, name: Option<&str>, expect: Expect, op: &str) -> Result<Vec<VdpaDev>> {
        let family = self.family;
        let mut t = SocketTransport(&self.socket);
        let replies = exchange(
            &mut t,
            &mut self.seq,
            &|flags, s| dev_get_message(family, name, flags, s),
            0,
            expect,
            op,
            &Action::Other,
        )?;
        replies
            .iter()
            .map(|raw| parse_vdpa_dev(raw).map_err(|d| Error::protocol(op, d)))
            .collect()
    }

    /// Every vDPA device.
    pub fn devices(&mut self) -> Result<Vec<VdpaDev>> {
        self.get(None, Expect::Dump, "listing vdpa devices")
    }

    /// The vDPA device called `name`; ENODEV ([`Error::is_not_found`]) when there is none.
    pub fn device(&mut self, name: &str) -> Result<VdpaDev> {
        let op = format!("looking up vdpa device {name}");
        self.get(Some(name), Expect::One, &op)?
            .into_iter()
            .next()
            .ok_or_else(|| Error::protocol(op, "no reply"))
    }

    /// The vDPA device whose management device is the PCI function `pci` (a VF).
    pub fn device_by_parent(&mut self, pci: &str) -> Result<Option<VdpaDev>> {
        Ok(self
            .devices()?
            .into_iter()
            .find(|d| d.pci_parent() == Some(pci)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_query_bytes() {
        let got = family_query_message("vdpa", 1, 7);
        let mut want = Vec::new();
        want.extend_from_slice(&32u32.to_ne_bytes()); // 16 + 4 + attr(4 + "vdpa\0" = 9 -> 12)
        want.extend_from_slice(&0x10u16.to_ne_bytes()); // GENL_ID_CTRL
        want.extend_from_slice(&1u16.to_ne_bytes()); // NLM_F_REQUEST
        want.extend_from_slice(&7u32.to_ne_bytes());
        want.extend_from_slice(&0u32.to_ne_bytes());
        want.extend_from_slice(&[3, 1, 0, 0]); // CTRL_CMD_GETFAMILY, version 1
        want.extend_from_slice(&9u16.to_ne_bytes());
        want.extend_from_slice(&2u16.to_ne_bytes()); // CTRL_ATTR_FAMILY_NAME
        want.extend_from_slice(b"vdpa\0\0\0\0");
        assert_eq!(got, want);
    }

    #[test]
    fn dev_get_bytes_by_name_and_dump() {
        let by_name = dev_get_message(0x1b, Some("vdpa0"), 1, 3);
        assert_eq!(&by_name[4..6], &0x1bu16.to_ne_bytes());
        assert_eq!(&by_name[16..20], &[5, 1, 0, 0]); // VDPA_CMD_DEV_GET, version 1
        assert_eq!(&by_name[20..24], &[10, 0, 4, 0]); // len 10, VDPA_ATTR_DEV_NAME
        assert_eq!(&by_name[24..30], b"vdpa0\0");
        assert_eq!(by_name.len(), 32);
        let dump = dev_get_message(0x1b, None, 0x301, 4);
        assert_eq!(dump.len(), 20);
    }

    /// A reply as vdpa_dev_fill() builds it for a VF-backed net device.
    fn recorded_dev_reply() -> Vec<u8> {
        let mut attrs = Vec::new();
        put_str(&mut attrs, VDPA_ATTR_DEV_NAME, "vdpa0");
        put_str(&mut attrs, VDPA_ATTR_MGMTDEV_BUS_NAME, "pci");
        put_str(&mut attrs, VDPA_ATTR_MGMTDEV_DEV_NAME, "0000:02:00.2");
        put_attr(&mut attrs, VDPA_ATTR_DEV_ID, &1u32.to_ne_bytes());
        put_attr(
            &mut attrs,
            VDPA_ATTR_DEV_VENDOR_ID,
            &0x15b3u32.to_ne_bytes(),
        );
        put_attr(&mut attrs, VDPA_ATTR_DEV_MAX_VQS, &16u32.to_ne_bytes());
        put_attr(&mut attrs, VDPA_ATTR_DEV_MAX_VQ_SIZE, &256u16.to_ne_bytes());
        put_attr(&mut attrs, 9, &64u16.to_ne_bytes()); // MIN_VQ_SIZE: ignored
        genl_message(0x1b, 0, 3, 3, 1, &attrs) // VDPA_CMD_DEV_NEW
    }

    #[test]
    fn parses_a_recorded_device_reply() {
        let d = parse_vdpa_dev(&recorded_dev_reply()).unwrap();
        assert_eq!(
            d,
            VdpaDev {
                name: "vdpa0".into(),
                mgmt_bus: Some("pci".into()),
                mgmt_dev: "0000:02:00.2".into(),
                device_id: Some(1),
                vendor_id: Some(0x15b3),
                max_vqs: Some(16),
                max_vq_size: Some(256),
            }
        );
        assert_eq!(d.pci_parent(), Some("0000:02:00.2"));
        let mut sim = Vec::new();
        put_str(&mut sim, VDPA_ATTR_DEV_NAME, "vdpa1");
        put_str(&mut sim, VDPA_ATTR_MGMTDEV_DEV_NAME, "vdpasim_net");
        let sim = parse_vdpa_dev(&genl_message(0x1b, 0, 1, 3, 1, &sim)).unwrap();
        assert_eq!(sim.pci_parent(), None);
        assert!(parse_vdpa_dev(&genl_message(0x1b, 0, 1, 3, 1, &[])).is_err());
    }

    #[test]
    fn parses_the_family_id() {
        let mut attrs = Vec::new();
        put_str(&mut attrs, CTRL_ATTR_FAMILY_NAME, "vdpa");
        put_attr(&mut attrs, CTRL_ATTR_FAMILY_ID, &0x1bu16.to_ne_bytes());
        assert_eq!(
            parse_family_id(&genl_message(0x10, 0, 1, 1, 2, &attrs)),
            Ok(0x1b)
        );
        assert!(parse_family_id(&genl_message(0x10, 0, 1, 1, 2, &[])).is_err());
    }
}
