//! vdpa ADD+DEL with host-local, virtio mode on a veth standing in for the virtio netdev and
//! vhost mode (the char device: nothing moves), next to Debian's Go `host-device` +
//! `host-local` moving the same veth (the Go plugin a user could point at a virtio_vdpa
//! netdev; none hands out a vhost-vdpa char device), and next to each mode's floor
//! (bench/rust/floor.rs). All alternate within every round, through one wrapper
//! (bench/rust/wrapped.rs). Then memory rounds: each mode alone (no IPAM), peak RSS.
//!
//!     cargo bench -p vdpa --bench add_del        (root; `make bench` runs it for the report)
//!
//! Environment: NFV_BENCH_BIN_DIR, NFV_BENCH_ITERS (default 50), NFV_BENCH_OUT (vdpa.json).
//! It asserts nothing about speed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../../../bench/rust/floor.rs"]
mod floor;
#[path = "../../../bench/rust/samples.rs"]
mod samples;
#[path = "../../../bench/rust/wrapped.rs"]
mod wrapped;

use std::path::Path;
use std::time::Instant;

use common::{conf, is_root, vdpa_node, VF};
use samples::{ms, Series};
use serde_json::{json, Value};

const GO: &str = "/usr/lib/cni";
const WARMUP: usize = 3;
const RSS_ROUNDS: usize = 5;

fn ipam(subnet: &str) -> Value {
    json!({"type": "host-local", "subnet": subnet, "routes": [{"dst": "192.168.0.0/16"}]})
}

fn main() {
    if !is_root() {
        println!("add_del: skipped, needs root");
        return;
    }
    let n = samples::env_count("NFV_BENCH_ITERS", 50);
    let ours = samples::binary("vdpa", env!("CARGO_BIN_EXE_vdpa"));
    let our_path = samples::our_cni_path(env!("CARGO_BIN_EXE_vdpa"));
    let peer = Path::new(GO).join("host-device");
    let node = vdpa_node();
    // The stand-in's other end up, so the virtio netdev has carrier in the pod as on a node whose PF has
    // link: without it the sriov ADD waits out its 200 ms carrier wait before announcing.
    let mut host_nl = node.host_netlink();
    let peer_end = host_nl.link_by_name("eth7peer").unwrap();
    host_nl.set_up(peer_end.index).unwrap();
    let virtio =
        conf(json!({"cniVersion": "1.0.0", "deviceID": VF, "ipam": ipam("10.201.0.0/16")}));
    let vhost = conf(json!({"cniVersion": "1.0.0", "name": "vdpa-vhost",
                            "vdpaDevice": "vdpa4", "ipam": ipam("10.204.0.0/16")}));
    let peer_conf = json!({"cniVersion": "1.0.0", "name": "go-net", "type": "host-device",
                           "device": "eth7", "ipam": ipam("10.202.0.0/16")});
    let leases = floor::LeaseDir::new(node.dir.join("floor-leases"));
    let pod = node.pod_netns();
    let floor_dev = floor::Netdev {
        host: &node.host,
        pod: &pod,
        host_ifname: "eth7",
        address: "10.203.0.2/16",
        route_dst: "192.168.0.0/16",
        gateway: "10.203.0.1",
    };
    let sys = node.sys();

    eprintln!(
        "bench vdpa: {n} rounds of ours ({}) virtio and vhost, Go host-device, floors, wrapper",
        ours.display()
    );
    let mut ov = Series::new("vdpa virtio + host-local");
    let mut oh = Series::new("vdpa vhost + host-local");
    let mut g = Series::new("Go host-device + host-local");
    let mut fv = Series::new("floor");
    let mut fh = Series::new("floor");
    let (mut wrapper, mut process) = (Vec::new(), Vec::new());
    let ours_pair = |c: &Value, id: &str| {
        let a = wrapped::call(&node, &ours, "ADD", id, c, &our_path, false);
        let d = wrapped::call(&node, &ours, "DEL", id, c, &our_path, false);
        (a.wall, d.wall)
    };
    for i in 0..WARMUP + n {
        let keep = i >= WARMUP;
        for turn in 0..5 {
            match (i + turn) % 5 {
                0 => {
                    let (a, d) = ours_pair(&virtio, &format!("virtio{i}"));
                    if keep {
                        ov.push(a, d);
                    }
                }
                1 => {
                    let (a, d) = ours_pair(&vhost, &format!("vhost{i}"));
                    if keep {
                        oh.push(a, d);
                    }
                }
                2 => {
                    let id = format!("go{i}");
                    let a =
                        wrapped::call(&node, &peer, "ADD", &id, &peer_conf, Path::new(GO), false);
                    let d =
                        wrapped::call(&node, &peer, "DEL", &id, &peer_conf, Path::new(GO), false);
                    if keep {
                        g.push(a.wall, d.wall);
                    }
                }
                3 => {
                    let a = floor_dev.add(Some((&leases, "floor")));
                    let d = floor_dev.del(Some(&leases));
                    if keep {
                        fv.push(a, d);
                    }
                }
                _ => {
                    let t = Instant::now();
                    let dev = floor::vhost_lookup(&sys, "vdpa4");
                    leases.add("10.205.0.2", &dev);
                    let a = t.elapsed();
                    let t = Instant::now();
                    leases.del("10.205.0.2");
                    let d = t.elapsed();
                    if keep {
                        fh.push(a, d);
                    }
                }
            }
        }
        let w = wrapped::wrapper_only(&node);
        let p = samples::bare_process();
        if keep {
            wrapper.push(ms(w));
            process.push(ms(p));
        }
    }

    eprintln!("bench vdpa: {RSS_ROUNDS} memory rounds per mode (no IPAM)");
    let alone = |c: &Value, tag: &str| {
        let (mut add, mut del) = (vec![], vec![]);
        for i in 0..RSS_ROUNDS {
            let id = format!("rss-{tag}{i}");
            let none = Path::new("/nonexistent");
            add.push(wrapped::call(&node, &ours, "ADD", &id, c, none, true).rss_kib);
            del.push(wrapped::call(&node, &ours, "DEL", &id, c, none, true).rss_kib);
        }
        json!({"add": add, "del": del})
    };
    let rss = json!({
        "vdpa": alone(&conf(json!({"cniVersion": "1.0.0", "deviceID": VF})), "v"),
        "vdpa (vhost)": alone(&conf(json!({"cniVersion": "1.0.0", "name": "vdpa-vhost",
                                          "vdpaDevice": "vdpa4"})), "h"),
    });
    let peer_json = g.json();
    samples::write(
        "vdpa",
        &json!({
            "rows": [
                {"id": "vdpa-virtio", "processes": 4, "title": "vdpa virtio ADD+DEL + host-local (veth as the virtio netdev)",
                 "ours": ov.json(), "peer": peer_json, "floor": fv.json(), "wrapper": wrapper, "process": process},
                {"id": "vdpa-vhost", "processes": 4, "title": "vdpa vhost ADD+DEL + host-local (char device, nothing moves)",
                 "ours": oh.json(), "peer": peer_json, "floor": fh.json(), "wrapper": wrapper, "process": process},
            ],
            "rss": rss,
        }),
    );
}
