//! Telling the pod's neighbours where its addresses are now, as sriov-cni does after IPAM: an
//! address often moves from a pod that is gone to a new one with another MAC, and until its
//! neighbours learn it they keep sending to the old MAC. So, once the addresses are on the
//! pod's netdev:
//!
//! - `arp_notify` and `ndisc_notify` are set on it, so the kernel announces again whenever the
//!   netdev comes up or changes MAC later (the pod's own doing);
//! - for each IPv4 address a gratuitous ARP (an ARP request from and for the address, RFC 5944
//!   4.6), and for each IPv6 address an unsolicited neighbour advertisement with the Override
//!   flag (RFC 4861 7.2.6), go out on it. A neighbour that has the address in its cache takes
//!   the new MAC; one that has not ignores them (they never create entries).
//!
//! Both are built here ([`gratuitous_arp`], [`unsolicited_na`]: plain functions, checked byte
//! for byte) and sent on a packet socket opened inside the pod's namespace, the kernel adding
//! the Ethernet header. The advertisement is sent whole (IPv6 header included) so it goes out
//! while the address is still tentative, as the kernel's own `ndisc_notify` ones do. Like
//! sriov-cni, a failure is only reported: the announcements speed up what the neighbours'
//! own probing would find out later.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nfv_cni::result::IpConfig;
use nfv_netlink::{MacAddr, Netlink, Netns, OperState};
use nix::libc;
use nix::sys::socket::{
    sendto, socket, AddressFamily, LinkAddr, MsgFlags, SockFlag, SockType, SockaddrLike,
};

const ETH_P_ARP: u16 = 0x0806;
const ETH_P_IPV6: u16 = 0x86dd;
const BROADCAST: [u8; 6] = [0xff; 6];
/// ff02::1 (all nodes) as an Ethernet multicast address (RFC 2464 7).
const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// How long to wait for the netdev's carrier before sending anyway (sriov-cni's wait).
pub const CARRIER_WAIT: Duration = Duration::from_millis(200);

/// The gratuitous ARP announcing `ip` at `mac`: an Ethernet/IPv4 ARP request whose sender and
/// target address are both `ip`, target hardware address broadcast (as sriov-cni sends it).
/// The payload of a frame to the broadcast address.
pub fn gratuitous_arp(mac: MacAddr, ip: Ipv4Addr) -> [u8; 28] {
    let mut p = [0u8; 28];
    p[0..2].copy_from_slice(&1u16.to_be_bytes()); // hardware: Ethernet
    p[2..4].copy_from_slice(&0x0800u16.to_be_bytes()); // protocol: IPv4
    p[4] = 6;
    p[5] = 4;
    p[6..8].copy_from_slice(&1u16.to_be_bytes()); // request
    p[8..14].copy_from_slice(&mac.0);
    p[14..18].copy_from_slice(&ip.octets());
    p[18..24].copy_from_slice(&BROADCAST);
    p[24..28].copy_from_slice(&ip.octets());
    p
}

/// The unsolicited neighbour advertisement of `ip` at `mac`: an IPv6 packet from `ip` to all
/// nodes, hop limit 255, carrying ICMPv6 type 136 with only the Override flag set (not
/// Solicited: it answers no one) and the target link-layer address option. The payload of a
/// frame to 33:33:00:00:00:01.
pub fn unsolicited_na(mac: MacAddr, ip: Ipv6Addr) -> [u8; 72] {
    let mut p = [0u8; 72];
    // IPv6 header.
    p[0] = 0x60;
    p[4..6].copy_from_slice(&32u16.to_be_bytes()); // payload length
    p[6] = 58; // next header: ICMPv6
    p[7] = 255; // hop limit: neighbours drop anything else
    p[8..24].copy_from_slice(&ip.octets());
    p[24..40].copy_from_slice(&ALL_NODES.octets());
    // ICMPv6 neighbour advertisement.
    let icmp = &mut p[40..];
    icmp[0] = 136;
    icmp[4] = 0x20; // flags: Override
    icmp[8..24].copy_from_slice(&ip.octets());
    icmp[24] = 2; // option: target link-layer address
    icmp[25] = 1; // its length, in units of 8 bytes
    icmp[26..32].copy_from_slice(&mac.0);
    let sum = icmpv6_checksum(ip, ALL_NODES, &p[40..]);
    p[42..44].copy_from_slice(&sum.to_be_bytes());
    p
}

/// The ICMPv6 checksum of `msg` (its checksum field zero) with the IPv6 pseudo-header.
fn icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, msg: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |bytes: &[u8]| {
        for pair in bytes.chunks(2) {
            let hi = u32::from(pair[0]) << 8;
            let lo = pair.get(1).copied().map_or(0, u32::from);
            sum += hi | lo;
        }
    };
    add(&src.octets());
    add(&dst.octets());
    add(&(msg.len() as u32).to_be_bytes());
    add(&[0, 0, 0, 58]);
    add(msg);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// What [`announce`] could not do (empty: all sent). Sentences for the log.
pub type Problems = Vec<String>;

/// Announce `ips` on the pod's netdev `index` (in `pod_ns`, `pod` a socket there): set
/// `arp_notify` / `ndisc_notify` on it, wait up to [`CARRIER_WAIT`] for its carrier, then send
/// one gratuitous ARP per IPv4 address and one unsolicited neighbour advertisement per IPv6
/// address. Keeps going past a failure.
pub fn announce(pod: &mut Netlink, pod_ns: &Netns, index: u32, ips: &[IpConfig]) -> Problems {
    let mut problems = Problems::new();
    let link = match pod.link_by_index(index) {
        Ok(l) => l,
        Err(e) => return vec![e.to_string()],
    };
    let Some(mac) = link.mac.filter(|m| m.is_unicast()) else {
        return vec![format!("{} has no unicast MAC to announce", link.name)];
    };
    // Inside the pod's namespace: /proc/sys/net is the namespace of the thread that opens it,
    // and a socket stays in the namespace it was made in.
    let inside = pod_ns.run_in(|| {
        let notify = set_notify(&link.name);
        let sock = socket(
            AddressFamily::Packet,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC,
            None,
        );
        (notify, sock)
    });
    let sock = match inside {
        Ok((notify, sock)) => {
            problems.extend(notify);
            match sock {
                Ok(s) => s,
                Err(e) => {
                    problems.push(format!("opening a packet socket in the pod: {e}"));
                    return problems;
                }
            }
        }
        Err(e) => {
            problems.push(e.to_string());
            return problems;
        }
    };
    wait_for_carrier(pod, index, CARRIER_WAIT);
    for ip in ips {
        let sent = match ip.address.ip() {
            IpAddr::V4(a) => send(&sock, index, ETH_P_ARP, BROADCAST, &gratuitous_arp(mac, a)),
            IpAddr::V6(a) => send(
                &sock,
                index,
                ETH_P_IPV6,
                ALL_NODES_MAC,
                &unsolicited_na(mac, a),
            ),
        };
        if let Err(e) = sent {
            problems.push(format!(
                "announcing {} on {}: {e}",
                ip.address.ip(),
                link.name
            ));
        }
    }
    problems
}

/// `arp_notify` and `ndisc_notify` on `ifname`, in the calling thread's namespace. IPv6 may be
/// off in the pod (no `ipv6` tree): then only ARP.
fn set_notify(ifname: &str) -> Problems {
    let mut problems = Problems::new();
    if nfv_netlink::validate_ifname(ifname).is_err() {
        return vec![format!("{ifname:?} is no interface name")];
    }
    for (family, knob) in [("ipv4", "arp_notify"), ("ipv6", "ndisc_notify")] {
        let path = format!("/proc/sys/net/{family}/conf/{ifname}/{knob}");
        match std::fs::write(&path, b"1") {
            Ok(()) => {}
            Err(e) if family == "ipv6" && e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => problems.push(format!("setting {path}: {e}")),
        }
    }
    problems
}

/// Until the netdev has carrier (operationally up), at most `wait`: a frame sent before is
/// dropped by most drivers. Sent anyway after it, as sriov-cni does.
fn wait_for_carrier(pod: &mut Netlink, index: u32, wait: Duration) {
    let deadline = Instant::now() + wait;
    let mut pause = Duration::from_millis(2);
    loop {
        match pod.link_by_index(index) {
            Ok(l) if l.oper_state == OperState::Up => return,
            Ok(_) => {}
            Err(_) => return,
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(pause.min(left));
        pause += pause / 2;
    }
}

/// Send `payload` on the packet socket to `to` over link `index`, as an Ethernet frame of
/// type `protocol` (the kernel writes the header, from the link's own MAC).
fn send(sock: &OwnedFd, index: u32, protocol: u16, to: [u8; 6], payload: &[u8]) -> nix::Result<()> {
    let addr = link_addr(index, protocol, to).ok_or(nix::errno::Errno::EINVAL)?;
    sendto(sock.as_raw_fd(), payload, &addr, MsgFlags::empty()).map(|_| ())
}

/// The link-layer address of a frame of type `protocol` to `to` over link `index`. nix has no
/// constructor for it but from a raw `sockaddr_ll`.
#[allow(unsafe_code)]
fn link_addr(index: u32, protocol: u16, to: [u8; 6]) -> Option<LinkAddr> {
    let mut sll_addr = [0u8; 8];
    sll_addr[..6].copy_from_slice(&to);
    let sll = libc::sockaddr_ll {
        sll_family: libc::AF_PACKET as u16,
        sll_protocol: protocol.to_be(),
        sll_ifindex: i32::try_from(index).ok()?,
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 6,
        sll_addr,
    };
    let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: `sll` is a fully initialised sockaddr_ll living on this stack frame for the
    // whole call, `len` is its exact size, and `from_raw` only copies it (after checking the
    // family and the length).
    unsafe { LinkAddr::from_raw((&raw const sll).cast::<libc::sockaddr>(), Some(len)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: &str = "02:00:00:00:0d:02";

    #[test]
    fn a_gratuitous_arp_is_a_request_from_and_for_the_address() {
        let p = gratuitous_arp(MAC.parse().unwrap(), "10.77.0.5".parse().unwrap());
        assert_eq!(
            p,
            [
                0, 1, 8, 0, 6, 4, 0, 1, // Ethernet, IPv4, 6, 4, request
                2, 0, 0, 0, 13, 2, 10, 77, 0, 5, // sender: the MAC, the address
                255, 255, 255, 255, 255, 255, 10, 77, 0, 5, // target: broadcast, the address
            ]
        );
    }

    /// The layout; that a neighbour's kernel takes it (checksum, hop limit, flags) is
    /// tests/kernel.rs's.
    #[test]
    fn an_unsolicited_na_is_from_the_address_to_all_nodes_with_override_and_the_mac() {
        let ip: Ipv6Addr = "fd00:77::5".parse().unwrap();
        let p = unsolicited_na(MAC.parse().unwrap(), ip);
        assert_eq!(&p[..8], &[0x60, 0, 0, 0, 0, 32, 58, 255]);
        assert_eq!(&p[8..24], &ip.octets());
        assert_eq!(&p[24..40], &ALL_NODES.octets());
        assert_eq!(&p[40..42], &[136, 0]);
        assert_eq!(&p[44..48], &[0x20, 0, 0, 0], "Override only, not Solicited");
        assert_eq!(&p[48..64], &ip.octets());
        assert_eq!(&p[64..72], &[2, 1, 2, 0, 0, 0, 13, 2]);
        // The checksum makes the one's complement sum over pseudo-header and message zero.
        let mut check = p[40..].to_vec();
        let sum = u16::from_be_bytes([check[2], check[3]]);
        check[2] = 0;
        check[3] = 0;
        assert_eq!(icmpv6_checksum(ip, ALL_NODES, &check), sum);
        assert_eq!(icmpv6_checksum(ip, ALL_NODES, &p[40..]), 0);
    }

    #[test]
    fn the_link_address_names_the_link_the_type_and_the_destination() {
        let a = link_addr(7, ETH_P_ARP, BROADCAST).unwrap();
        assert_eq!(
            (a.ifindex(), a.protocol(), a.halen(), a.addr()),
            (7, ETH_P_ARP.to_be(), 6, Some(BROADCAST))
        );
    }
}
