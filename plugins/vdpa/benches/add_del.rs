//! ADD and DEL latency of the built binary, virtio mode, on a veth standing in for the virtio
//! netdev (the sysfs and netlink work a real device needs, minus the driver's own time), and
//! vhost mode (sysfs only). Each call goes through the nsenter + unshare + bind-mount wrapper the
//! black-box tests use; that wrapper alone (VERSION) is measured too, so the plugin's share can
//! be read off.
//!
//!     cargo bench -p vdpa --bench add_del        (root; release build)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{conf, is_root, vdpa_node, Node, VF};
use serde_json::{json, Value};

fn pct(v: &mut [Duration], p: usize) -> f64 {
    v.sort();
    v[(v.len() * p / 100).min(v.len() - 1)].as_secs_f64() * 1000.0
}

fn round(node: &Node, label: &str, c: &Value, n: usize) {
    let (mut add, mut del) = (vec![], vec![]);
    for i in 0..n {
        let id = format!("bench{i}");
        let t = Instant::now();
        let (code, out) = node.cni("ADD", &id, c);
        add.push(t.elapsed());
        assert_eq!(code, 0, "{out}");
        let t = Instant::now();
        let (code, out) = node.cni("DEL", &id, c);
        del.push(t.elapsed());
        assert_eq!(code, 0, "{out}");
    }
    println!(
        "vdpa {label:<7} ADD p50 {:.2} ms  p90 {:.2} ms   DEL p50 {:.2} ms  p90 {:.2} ms  (n={n})",
        pct(&mut add, 50),
        pct(&mut add, 90),
        pct(&mut del, 50),
        pct(&mut del, 90)
    );
}

fn main() {
    if !is_root() {
        println!("add_del: skipped, needs root");
        return;
    }
    let n = 50;
    let node = vdpa_node();
    round(
        &node,
        "virtio",
        &conf(json!({"deviceID": VF, "mtu": 1400})),
        n,
    );
    round(&node, "vhost", &conf(json!({"vdpaDevice": "vdpa4"})), n);
    let mut wrap = vec![];
    for _ in 0..n {
        let t = Instant::now();
        let _ = node.cni("VERSION", "x", &conf(json!({})));
        wrap.push(t.elapsed());
    }
    println!(
        "VERSION (wrapper + exec baseline) p50 {:.2} ms",
        pct(&mut wrap, 50)
    );
}
