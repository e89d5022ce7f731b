//! The floor: the bare kernel operations an ADD or DEL must do, timed in this one process
//! (no exec, no config parsing, no result JSON, no lock beyond IPAM's own). What a plugin
//! costs above this is its own overhead: process start, parsing, checks, records, rollback.
//!
//! - a netdev ADD: socket in each namespace, the link's lookup, the move and rename (one
//!   RTM_NEWLINK), link up, the address, the route; DEL: the move back under its old name
//!   (the kernel drops the pod's addresses and routes with the move).
//! - a vhost-vdpa lookup: the device's driver link and its `vhost-vdpa-N` child in sysfs.
//! - a host-local lease: the network's lock (flock), the lease file created exclusively and
//!   written, `last_reserved_ip.0`; DEL: the lock and the unlink.
//!
//! A veth has no VFs, so the VF setting messages (IFLA_VFINFO_LIST on the PF) are in neither
//! the plugin's call nor the floor here; the lab measures real VFs.

#![allow(dead_code)]

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nfv_netlink::{Netlink, Netns, Route};

/// A host-local network directory for the floor's leases.
pub struct LeaseDir(pub PathBuf);

impl LeaseDir {
    pub fn new(dir: PathBuf) -> LeaseDir {
        std::fs::create_dir_all(&dir).unwrap();
        LeaseDir(dir)
    }

    fn locked(&self) -> File {
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(self.0.join("lock"))
            .unwrap();
        lock.lock().unwrap();
        lock
    }

    /// Lease `ip` to `id` the way host-local stores it.
    pub fn add(&self, ip: &str, id: &str) {
        let _lock = self.locked();
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(self.0.join(ip))
            .unwrap();
        f.write_all(format!("{id}\r\nnet1").as_bytes()).unwrap();
        std::fs::write(self.0.join("last_reserved_ip.0"), ip).unwrap();
    }

    pub fn del(&self, ip: &str) {
        let _lock = self.locked();
        std::fs::remove_file(self.0.join(ip)).unwrap();
    }
}

/// Where the floor's netdev lives and what it gets.
pub struct Netdev<'a> {
    pub host: &'a Netns,
    pub pod: &'a Path,
    /// Its name on the host, given back at DEL.
    pub host_ifname: &'a str,
    /// `10.x.y.z/len`, and the route's destination and gateway.
    pub address: &'a str,
    pub route_dst: &'a str,
    pub gateway: &'a str,
}

impl Netdev<'_> {
    /// ADD: the IPAM lease (when `lease` is given), the move and rename, up, address, route.
    pub fn add(&self, lease: Option<(&LeaseDir, &str)>) -> Duration {
        let start = Instant::now();
        let pod_ns = Netns::open(self.pod).unwrap();
        let mut host = Netlink::open_in(self.host).unwrap();
        let mut pod = Netlink::open_in(&pod_ns).unwrap();
        if let Some((dir, id)) = lease {
            dir.add(self.ip(), id);
        }
        let link = host.link_by_name(self.host_ifname).unwrap();
        host.move_to_netns(link.index, &pod_ns, Some("net1"))
            .unwrap();
        let moved = pod.link_by_name("net1").unwrap();
        pod.set_up(moved.index).unwrap();
        pod.add_address(moved.index, self.address.parse().unwrap())
            .unwrap();
        let route = Route {
            gateway: Some(self.gateway.parse().unwrap()),
            ..Route::new(self.route_dst.parse().unwrap())
        };
        pod.add_route(&route).unwrap();
        start.elapsed()
    }

    /// DEL: the move back under the host name, the lease's release.
    pub fn del(&self, lease: Option<&LeaseDir>) -> Duration {
        let start = Instant::now();
        let pod_ns = Netns::open(self.pod).unwrap();
        let mut pod = Netlink::open_in(&pod_ns).unwrap();
        let link = pod.link_by_name("net1").unwrap();
        pod.move_to_netns(link.index, self.host, Some(self.host_ifname))
            .unwrap();
        if let Some(dir) = lease {
            dir.del(self.ip());
        }
        start.elapsed()
    }

    fn ip(&self) -> &str {
        self.address.split('/').next().unwrap_or(self.address)
    }
}

/// A vhost-vdpa device's char device name, found the way the plugin must: the device's
/// driver link, then its `vhost-vdpa-N` child.
pub fn vhost_lookup(sys: &Path, device: &str) -> String {
    let dev = sys.join("bus/vdpa/devices").join(device);
    let driver = std::fs::read_link(dev.join("driver")).unwrap();
    assert!(driver.ends_with("vhost_vdpa"), "{}", driver.display());
    std::fs::read_dir(&dev)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("vhost-vdpa-"))
        .unwrap()
}
