//! ADD and DEL latency of the built binary on a veth standing in for a VF (the netlink and
//! sysfs work a real VF needs, minus the driver's own time). Each call goes through the same
//! nsenter + unshare + bind-mount wrapper the black-box tests use; that wrapper alone is
//! measured too and reported, so the plugin's share can be read off.
//!
//!     cargo bench -p sriov --bench add_del        (root; release build)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{conf, is_root, sriov_node};
use serde_json::json;

fn pct(v: &mut [Duration], p: usize) -> f64 {
    v.sort();
    v[(v.len() * p / 100).min(v.len() - 1)].as_secs_f64() * 1000.0
}

fn main() {
    if !is_root() {
        println!("add_del: skipped, needs root");
        return;
    }
    let n = 50;
    let node = sriov_node();
    let c = conf(json!({"mtu": 1400}));
    let (mut add, mut del, mut wrap) = (vec![], vec![], vec![]);
    for i in 0..n {
        let id = format!("bench{i}");
        let t = Instant::now();
        let (code, out) = node.cni("ADD", &id, &c);
        add.push(t.elapsed());
        assert_eq!(code, 0, "{out}");
        let t = Instant::now();
        let (code, out) = node.cni("DEL", &id, &c);
        del.push(t.elapsed());
        assert_eq!(code, 0, "{out}");
        let t = Instant::now();
        let (_, _) = node.cni("VERSION", &id, &c);
        wrap.push(t.elapsed());
    }
    println!(
        "sriov ADD     p50 {:.2} ms  p90 {:.2} ms  (n={n})",
        pct(&mut add, 50),
        pct(&mut add, 90)
    );
    println!(
        "sriov DEL     p50 {:.2} ms  p90 {:.2} ms",
        pct(&mut del, 50),
        pct(&mut del, 90)
    );
    println!(
        "VERSION (wrapper + exec baseline) p50 {:.2} ms",
        pct(&mut wrap, 50)
    );
}
