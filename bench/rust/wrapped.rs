//! One plugin call on a scratch node, timed from spawn to exit: the same nsenter + unshare +
//! bind-mount wrapper as nfv-testkit's `Node::cni` (the plugin sees the node's fake /sys and
//! scratch /var/lib), with CNI_PATH chosen per call (ours or the Go IPAM) and, for the memory
//! rounds, GNU time between the wrapper and the plugin to read the plugin's peak RSS.
//!
//! Ours and the Go peer go through this one function, so the wrapper costs both the same;
//! [`wrapper_only`] times it around `/bin/true` so the report can show it.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nfv_testkit::Node;
use serde_json::Value;

/// A plugin call's wall time, and its peak RSS in KiB when asked for (`ru_maxrss` of the
/// plugin and any child it waited for, such as its IPAM plugin).
pub struct Took {
    pub wall: Duration,
    pub rss_kib: Option<u64>,
}

/// Run `bin` with CNI_COMMAND=`verb` on `node`; panics with the plugin's output when it fails
/// (a bench whose calls fail measures nothing).
pub fn call(
    node: &Node,
    bin: &Path,
    verb: &str,
    id: &str,
    conf: &Value,
    cni_path: &Path,
    rss: bool,
) -> Took {
    let rss_file = node.dir.join("rss.txt");
    let timer = if rss {
        format!("/usr/bin/time -f %M -o {} ", rss_file.display())
    } else {
        String::new()
    };
    let script = format!(
        "mount --bind {} /sys && mount --bind {} /var/lib && exec {timer}{}",
        node.sys().display(),
        node.dir.join("varlib").display(),
        bin.display()
    );
    let stdin = serde_json::to_vec(conf).unwrap();
    let start = Instant::now();
    let mut child = Command::new("nsenter")
        .arg(format!("--net=/run/netns/{}", node.host_name))
        .args(["--", "unshare", "--mount", "--propagation", "private"])
        .args(["--", "sh", "-c"])
        .arg(&script)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("CNI_COMMAND", verb)
        .env("CNI_CONTAINERID", id)
        .env("CNI_NETNS", node.pod_netns())
        .env("CNI_IFNAME", "net1")
        .env("CNI_PATH", cni_path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nsenter/unshare (util-linux) must be installed");
    child.stdin.take().unwrap().write_all(&stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    let wall = start.elapsed();
    assert!(
        out.status.success(),
        "{} {verb} {id} failed: {}{}",
        bin.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let rss_kib = rss.then(|| {
        let mut s = String::new();
        std::fs::File::open(&rss_file)
            .and_then(|mut f| f.read_to_string(&mut s))
            .expect("GNU time's output");
        s.trim()
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or_else(|| panic!("GNU time wrote {s:?}"))
    });
    Took { wall, rss_kib }
}

/// The wrapper alone: nsenter, unshare, the two bind mounts and an exec of `/bin/true`.
pub fn wrapper_only(node: &Node) -> Duration {
    call(
        node,
        Path::new("/bin/true"),
        "VERSION",
        "wrapper",
        &Value::Null,
        Path::new("/nonexistent"),
        false,
    )
    .wall
}
