//! One plugin call on a scratch node, timed from spawn to exit: the same nsenter + unshare +
//! bind-mount wrapper as nfv-testkit's `Node::cni` (the plugin sees the node's fake /sys and
//! scratch /var/lib), with CNI_PATH chosen per call (ours or the Go IPAM) and, for the memory
//! rounds, GNU time between the wrapper and the plugin to read the plugin's peak RSS.
//!
//! Ours and the Go peer go through this one function, so the wrapper costs both the same;
//! [`wrapper_only`] times it around `/bin/true` so the report can show it.
//!
//! With `NFV_BENCH_TRACE=<dir>` (bench/run.sh sets it for one extra short run of the bench),
//! every warm call (after the bench's 3 warm-up rounds) runs under `perf trace`, written to
//! `<dir>/<binary>-<id without its digits>-<verb>.<n>.txt` for bench/syscalls.py: where the
//! plugin's own time goes. perf starts outside the wrapper (the wrapper's /sys is the fake
//! one, without tracefs) and follows it down to the plugin and its IPAM child.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
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
    let mut cmd = match trace_file(bin, verb, id, rss) {
        Some(file) => {
            let mut c = Command::new("perf");
            c.args(["trace", "-o"]).arg(file).args(["--", "nsenter"]);
            c
        }
        None => Command::new("nsenter"),
    };
    let start = Instant::now();
    let mut child = cmd
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

/// Calls of each binary, kind and verb so far: warm calls are traced, not the first ones.
static CALLS: Mutex<Vec<(String, usize)>> = Mutex::new(Vec::new());
/// The first traced call of a kind: the first one a bench keeps after its 3 warm-up rounds.
const FIRST_TRACED: usize = 3;

/// Where this call's `perf trace` goes, when tracing is asked for and this call of its binary,
/// kind (the id without its round number) and verb is a warm one.
fn trace_file(bin: &Path, verb: &str, id: &str, rss: bool) -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("NFV_BENCH_TRACE")?;
    let name = bin.file_name()?.to_string_lossy().into_owned();
    if rss || name == "true" {
        return None;
    }
    let key = format!(
        "{name}-{}-{verb}",
        id.trim_end_matches(|c: char| c.is_ascii_digit())
    );
    let mut calls = CALLS.lock().unwrap();
    let seen = match calls.iter_mut().find(|(k, _)| *k == key) {
        Some((_, n)) => {
            *n += 1;
            *n - 1
        }
        None => {
            calls.push((key.clone(), 1));
            0
        }
    };
    (seen >= FIRST_TRACED).then(|| Path::new(&dir).join(format!("{key}.{seen}.txt")))
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
