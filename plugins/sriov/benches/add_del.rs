//! sriov netdev ADD+DEL with host-local, a veth standing in for the VF, next to Debian's Go
//! `host-device` + `host-local` doing the same move and address, and next to the floor (the
//! same kernel operations timed in this process, bench/rust/floor.rs). The three alternate
//! within every round (the order rotates), so load from elsewhere hits them alike. Both
//! plugins run through one wrapper (bench/rust/wrapped.rs); the wrapper alone is timed too.
//! Then a few memory rounds: each plugin alone (no IPAM), its peak RSS read by GNU time.
//!
//!     cargo bench -p sriov --bench add_del        (root; `make bench` runs it for the report)
//!
//! Environment: NFV_BENCH_BIN_DIR (the binaries to measure, default cargo's), NFV_BENCH_ITERS
//! (rounds, default 50), NFV_BENCH_OUT (where sriov.json goes). It asserts nothing about speed.

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

use common::{conf, is_root, sriov_node};
use samples::{ms, Series};
use serde_json::json;

const GO: &str = "/usr/lib/cni";
const WARMUP: usize = 3;
const RSS_ROUNDS: usize = 5;

fn main() {
    if !is_root() {
        println!("add_del: skipped, needs root");
        return;
    }
    let n = samples::env_count("NFV_BENCH_ITERS", 50);
    let ours = samples::binary("sriov", env!("CARGO_BIN_EXE_sriov"));
    let our_path = samples::our_cni_path(env!("CARGO_BIN_EXE_sriov"));
    let peer = Path::new(GO).join("host-device");
    let node = sriov_node();
    // The stand-in's other end up, so the VF has carrier in the pod as on a node whose PF has
    // link: without it the sriov ADD waits out its 200 ms carrier wait before announcing.
    let mut host_nl = node.host_netlink();
    let peer_end = host_nl.link_by_name("vfpeer").unwrap();
    host_nl.set_up(peer_end.index).unwrap();
    let ipam = |subnet: &str| json!({"type": "host-local", "subnet": subnet, "routes": [{"dst": "192.168.0.0/16"}]});
    // Different networks (so different lease directories): each host-local has its own.
    let ours_conf = conf(json!({"cniVersion": "1.0.0", "ipam": ipam("10.201.0.0/16")}));
    let peer_conf = json!({"cniVersion": "1.0.0", "name": "go-net", "type": "host-device",
                           "device": "enp0s11v1", "ipam": ipam("10.202.0.0/16")});
    let leases = floor::LeaseDir::new(node.dir.join("floor-leases"));
    let pod = node.pod_netns();
    let floor_dev = floor::Netdev {
        host: &node.host,
        pod: &pod,
        host_ifname: "enp0s11v1",
        address: "10.203.0.2/16",
        route_dst: "192.168.0.0/16",
        gateway: "10.203.0.1",
    };

    eprintln!(
        "bench sriov: {n} rounds of ours ({}), Go host-device, floor, wrapper",
        ours.display()
    );
    let (mut o, mut g, mut f) = (
        Series::new("sriov + host-local"),
        Series::new("Go host-device + host-local"),
        Series::new("floor"),
    );
    let (mut wrapper, mut process) = (Vec::new(), Vec::new());
    for i in 0..WARMUP + n {
        let keep = i >= WARMUP;
        for turn in 0..3 {
            match (i + turn) % 3 {
                0 => {
                    let id = format!("ours{i}");
                    let a = wrapped::call(&node, &ours, "ADD", &id, &ours_conf, &our_path, false);
                    let d = wrapped::call(&node, &ours, "DEL", &id, &ours_conf, &our_path, false);
                    if keep {
                        o.push(a.wall, d.wall);
                    }
                }
                1 => {
                    let id = format!("go{i}");
                    let a =
                        wrapped::call(&node, &peer, "ADD", &id, &peer_conf, Path::new(GO), false);
                    let d =
                        wrapped::call(&node, &peer, "DEL", &id, &peer_conf, Path::new(GO), false);
                    if keep {
                        g.push(a.wall, d.wall);
                    }
                }
                _ => {
                    let a = floor_dev.add(Some((&leases, "floor")));
                    let d = floor_dev.del(Some(&leases));
                    if keep {
                        f.push(a, d);
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

    eprintln!("bench sriov: {RSS_ROUNDS} memory rounds per plugin (no IPAM)");
    let alone = |bin: &Path, c: &serde_json::Value, tag: &str| {
        let (mut add, mut del) = (vec![], vec![]);
        for i in 0..RSS_ROUNDS {
            let id = format!("rss-{tag}{i}");
            add.push(
                wrapped::call(&node, bin, "ADD", &id, c, Path::new("/nonexistent"), true).rss_kib,
            );
            del.push(
                wrapped::call(&node, bin, "DEL", &id, c, Path::new("/nonexistent"), true).rss_kib,
            );
        }
        json!({"add": add, "del": del})
    };
    let rss = json!({
        "sriov": alone(&ours, &conf(json!({"cniVersion": "1.0.0"})), "o"),
        "go:host-device": alone(&peer, &json!({"cniVersion": "1.0.0", "name": "go-net",
                                              "type": "host-device", "device": "enp0s11v1"}), "g"),
    });

    samples::write(
        "sriov",
        &json!({
            "rows": [{
                "id": "sriov-netdev", "processes": 4,
                "title": "sriov netdev ADD+DEL + host-local (veth as the VF)",
                "ours": o.json(), "peer": g.json(), "floor": f.json(), "wrapper": wrapper, "process": process,
            }],
            "rss": rss,
        }),
    );
}
