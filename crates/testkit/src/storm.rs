//! Storm helpers: several runs of a plugin binary racing for one device. Each contender has
//! its own pod namespace ([`Pods`]); an IPAM stub keeps one lease file per attachment and can
//! be slowed down ([`install_leases_ipam`], [`set_ipam_delay`]) so that an ADD stays in flight
//! while another verb runs; [`together`] starts closures at the same instant.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use nfv_netlink::Netns;
use serde_json::Value;

use crate::Node;

/// Named pod namespaces, `<prefix>-<pid>-<n>-<i>`, deleted when dropped.
#[derive(Debug)]
pub struct Pods {
    names: Vec<String>,
}

impl Pods {
    pub fn new(prefix: &str, n: usize) -> Pods {
        let id = crate::unique_id();
        let names: Vec<String> = (0..n).map(|i| format!("{prefix}-{id}-{i}")).collect();
        for name in &names {
            Netns::create_named(name).unwrap();
        }
        Pods { names }
    }

    /// The i-th pod's namespace path (CNI_NETNS).
    pub fn path(&self, i: usize) -> PathBuf {
        Path::new("/run/netns").join(&self.names[i])
    }

    pub fn open(&self, i: usize) -> Netns {
        Netns::open(self.path(i)).unwrap()
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

impl Drop for Pods {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = Netns::delete_named(n);
        }
    }
}

/// Install `dir/bin/lease-ipam`: ADD waits `dir/ipam-delay` seconds (when that file exists),
/// creates `dir/leases/<CNI_CONTAINERID>-<CNI_IFNAME>` and returns 10.7.0.9/24; DEL removes
/// that file; other verbs do nothing.
pub fn install_leases_ipam(dir: &Path) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(dir.join("leases")).unwrap();
    let script = format!(
        "#!/bin/sh\nd={d}\nl=\"$d/leases/$CNI_CONTAINERID-$CNI_IFNAME\"\n\
         case \"$CNI_COMMAND\" in\n\
         ADD) t=$(cat $d/ipam-delay 2>/dev/null); [ -n \"$t\" ] && sleep \"$t\"; touch \"$l\"; \
         echo '{{\"cniVersion\":\"1.0.0\",\"ips\":[{{\"address\":\"10.7.0.9/24\"}}]}}';;\n\
         DEL) rm -f \"$l\";;\nesac\nexit 0\n",
        d = dir.display()
    );
    let p = bin.join("lease-ipam");
    std::fs::write(&p, script).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Make the stub's ADD wait `seconds` (a `sleep` argument, "0.2"); `None`: no wait.
pub fn set_ipam_delay(dir: &Path, seconds: Option<&str>) {
    let p = dir.join("ipam-delay");
    match seconds {
        Some(s) => std::fs::write(p, s).unwrap(),
        None => {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// The leases the stub holds, as `<containerID>-<ifname>`, sorted.
pub fn leases(dir: &Path) -> Vec<String> {
    names(&dir.join("leases"))
}

/// The names of the entries of `dir`, sorted (none when it does not exist).
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Run `f(0)` .. `f(n-1)` on `n` threads released at the same instant; their results in order.
pub fn together<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let start = Barrier::new(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (f, start) = (&f, &start);
                s.spawn(move || {
                    start.wait();
                    f(i)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Where a storm's device-info files go: the tree Multus uses (the only place they may go).
pub const DEVINFO_DIR: &str = "/run/k8s.cni.cncf.io/devinfo/cni";

/// The device-info file name of `plugin`'s racing container `ctr` (or the prefix of those of
/// a [`Tag`]): named for this test process, so parallel runs never meet.
fn devinfo_name(plugin: &str, ctr: &str) -> String {
    format!("nfv-races-{plugin}-{}-{ctr}", std::process::id())
}

/// The device-info file a runtime would ask `plugin`'s container `ctr` for, under
/// [`DEVINFO_DIR`].
pub fn devinfo_path(plugin: &str, ctr: &str) -> PathBuf {
    Path::new(DEVINFO_DIR).join(format!("{}-net1-device.json", devinfo_name(plugin, ctr)))
}

/// A prefix for container IDs (`t<n>-`) unique in this test process: the device-info files of
/// every test share one directory. Dropped (at the end of a test, or when it fails half-way),
/// it removes the device-info files its containers left.
#[derive(Debug)]
pub struct Tag {
    plugin: &'static str,
    prefix: String,
}

/// A fresh [`Tag`] for `plugin`'s containers.
pub fn tag(plugin: &'static str) -> Tag {
    static N: AtomicUsize = AtomicUsize::new(0);
    Tag {
        plugin,
        prefix: format!("t{}-", N.fetch_add(1, Ordering::SeqCst)),
    }
}

impl std::fmt::Display for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.prefix)
    }
}

impl Drop for Tag {
    fn drop(&mut self) {
        let prefix = devinfo_name(self.plugin, &self.prefix);
        for n in names(Path::new(DEVINFO_DIR)) {
            if n.starts_with(&prefix) {
                let _ = std::fs::remove_file(Path::new(DEVINFO_DIR).join(n));
            }
        }
    }
}

/// Run `command` for `ctr` in pod namespace `netns`, with the node's `bin` as CNI_PATH.
pub fn run_in(node: &Node, command: &str, ctr: &str, netns: &Path, conf: &Value) -> (i32, Value) {
    let env = [
        ("CNI_PATH", node.dir.join("bin").display().to_string()),
        ("CNI_NETNS", netns.display().to_string()),
    ];
    node.cni_with(command, ctr, conf, &env)
}

/// Wait until `path` exists (an ADD got as far as writing its record); 10 s at most.
pub fn wait_for(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The node as one comparable string: the host netdev `netdev` (name, MAC, MTU, up), the
/// plugin's `records`, the stub's leases, and which of `ctrs` still have a device-info file
/// (`devinfo` gives each one's path). At rest: the netdev home as it was, nothing else.
pub fn at_rest(
    node: &Node,
    netdev: &str,
    records: Vec<String>,
    devinfo: impl Fn(&str) -> PathBuf,
    ctrs: &[String],
) -> String {
    let netdev = node
        .host_netlink()
        .link_by_name(netdev)
        .ok()
        .map(|l| (l.name, l.mac, l.mtu, l.admin_up));
    let devinfo: Vec<&String> = ctrs.iter().filter(|c| devinfo(c).exists()).collect();
    format!(
        "netdev={netdev:?} records={records:?} leases={:?} devinfo={devinfo:?}",
        leases(&node.dir)
    )
}

/// One plugin's side of a [`race`]: how its contenders are configured, and what winning and
/// losing leave on the node.
pub trait Contest {
    /// The config container `ctr` is added (and deleted) with.
    fn conf(&self, ctr: &str) -> Value;
    /// Everything `ctr`'s attachment in `pod` holds, as one comparable string.
    fn held_by(&self, ctr: &str, pod: &Netns) -> String;
    /// The node as one comparable string, with the leftovers of `ctrs`.
    fn at_rest(&self, ctrs: &[String]) -> String;
    /// The winner's ADD printed `result`, and it holds `held`.
    fn assert_won(&self, what: &str, result: &Value, held: &str);
    /// A losing ADD answered `out`: its error names the device and `winner`, and nothing of
    /// `loser` is left.
    fn assert_lost(&self, what: &str, loser: &str, winner: &str, out: &(i32, Value));
    /// The record `ctr`'s ADD writes once it holds the device.
    fn record(&self, ctr: &str) -> PathBuf;
}

/// `rounds` rounds of `n` ADDs of `plugin` for one device at once (a pod namespace each),
/// then the losers' DELs at once, then the winner's DEL. Each round: exactly one ADD wins;
/// every loser fails as [`Contest::assert_lost`] says; the losers' DELs leave what the
/// winner holds as it was; the winner's DEL brings the node back to rest. `label` starts
/// every message. Returns how often each contender won.
pub fn race(
    node: &Node,
    contest: &(impl Contest + Sync),
    plugin: &'static str,
    label: &str,
    n: usize,
    rounds: usize,
) -> Vec<usize> {
    let pods = Pods::new(&format!("{plugin}race"), n);
    let rest = contest.at_rest(&[]);
    let mut wins = vec![0usize; n];
    let t = tag(plugin);
    for round in 0..rounds {
        let what = format!("{label} round {round}");
        let ctrs: Vec<String> = (0..n).map(|i| format!("{t}r{round}c{i}")).collect();
        let verb = |command: &str, i: usize| {
            run_in(
                node,
                command,
                &ctrs[i],
                &pods.path(i),
                &contest.conf(&ctrs[i]),
            )
        };
        let added = together(n, |i| verb("ADD", i));
        let won: Vec<usize> = (0..n).filter(|i| added[*i].0 == 0).collect();
        assert_eq!(won.len(), 1, "{what}: one ADD wins: {added:?}");
        let w = won[0];
        wins[w] += 1;
        let winner = &ctrs[w];
        for i in (0..n).filter(|i| *i != w) {
            contest.assert_lost(&what, &ctrs[i], winner, &added[i]);
        }
        let held = contest.held_by(winner, &pods.open(w));
        contest.assert_won(&what, &added[w].1, &held);

        let losers: Vec<usize> = (0..n).filter(|i| *i != w).collect();
        let deleted = together(losers.len(), |j| verb("DEL", losers[j]));
        for (j, (code, out)) in deleted.iter().enumerate() {
            assert_eq!(*code, 0, "{what}: DEL of {}: {out}", ctrs[losers[j]]);
        }
        assert_eq!(
            contest.held_by(winner, &pods.open(w)),
            held,
            "{what}: the losers' DELs touched the winner's device"
        );

        let (code, out) = verb("DEL", w);
        assert_eq!(code, 0, "{what}: DEL of the winner: {out}");
        assert_eq!(contest.at_rest(&ctrs), rest, "{what}: device not back");
    }
    wins
}

/// `rounds` rounds of a loser's DEL during the winner's ADD: the winner's ADD is slowed down
/// in IPAM (every ADD's IPAM is, only the winner's gets that far); once its record is
/// written, a second ADD for the device and that loser's DEL run while it is in flight.
/// `shared`: the loser's pod namespace is the winner's. The winner's ADD always succeeds and
/// keeps what it holds, the loser fails as [`Contest::assert_lost`] says, its DEL (and
/// another once the ADD is done) takes nothing, and the winner's DEL brings the node to rest.
/// Returns how many of the loser's DELs were issued while the winner's ADD was in flight
/// (panics when none was: the rounds proved nothing).
pub fn del_during_add(
    node: &Node,
    contest: &(impl Contest + Sync),
    plugin: &'static str,
    label: &str,
    rounds: usize,
    shared: bool,
) -> usize {
    let pods = Pods::new(&format!("{plugin}del"), 2);
    let loser_pod = pods.path(if shared { 0 } else { 1 });
    let rest = contest.at_rest(&[]);
    let mut overlapped = 0;
    let t = tag(plugin);
    set_ipam_delay(&node.dir, Some("0.3"));
    for round in 0..rounds {
        let what = format!("{label} round {round}");
        let (winner, loser) = (format!("{t}r{round}w"), format!("{t}r{round}l"));
        let record = contest.record(&winner);
        let (cw, cl) = (contest.conf(&winner), contest.conf(&loser));
        let (added, lost, deleted, add_done, del_start) = std::thread::scope(|s| {
            let add = s.spawn(|| {
                let out = run_in(node, "ADD", &winner, &pods.path(0), &cw);
                (out, Instant::now())
            });
            wait_for(&record);
            let lose = s.spawn(|| run_in(node, "ADD", &loser, &loser_pod, &cl));
            let del_start = Instant::now();
            let deleted = run_in(node, "DEL", &loser, &loser_pod, &cl);
            let (added, add_done) = add.join().unwrap();
            (added, lose.join().unwrap(), deleted, add_done, del_start)
        });
        if del_start < add_done {
            overlapped += 1;
        }
        assert_eq!(added.0, 0, "{what}: the winner's ADD: {}", added.1);
        assert_eq!(deleted.0, 0, "{what}: the loser's DEL: {}", deleted.1);
        contest.assert_lost(&what, &loser, &winner, &lost);
        let held = contest.held_by(&winner, &pods.open(0));
        let lost_it = format!("{what}: the winner lost its device");
        contest.assert_won(&lost_it, &added.1, &held);
        // The loser's DEL once more, now that the winner's ADD is done: still nothing taken.
        let (code, out) = run_in(node, "DEL", &loser, &loser_pod, &cl);
        assert_eq!(code, 0, "{what}: {out}");
        assert_eq!(contest.held_by(&winner, &pods.open(0)), held, "{what}");
        let (code, out) = run_in(node, "DEL", &winner, &pods.path(0), &cw);
        assert_eq!(code, 0, "{what}: DEL of the winner: {out}");
        assert_eq!(contest.at_rest(&[winner, loser]), rest, "{what}");
    }
    assert!(
        overlapped > 0,
        "no loser's DEL was issued during the winner's ADD"
    );
    overlapped
}

/// Print the storm's line for the reliability report (docs/reliability.md).
pub fn report(name: &str, rounds: usize, contenders: usize, outcome: &str) {
    crate::reliability::report(serde_json::json!({"kind": "storm", "name": name,
        "rounds": rounds, "contenders": contenders, "outcome": outcome}));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn together_runs_every_index_once_and_keeps_the_order() {
        let out = together(4, |i| i * 10);
        assert_eq!(out, vec![0, 10, 20, 30]);
    }

    #[test]
    fn the_leases_stub_keeps_one_file_per_attachment() {
        let dir = std::env::temp_dir().join(format!("testkit-leases-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        install_leases_ipam(&dir);
        set_ipam_delay(&dir, Some("0.01"));
        let run = |cmd: &str, cid: &str| {
            std::process::Command::new(dir.join("bin/lease-ipam"))
                .env("CNI_COMMAND", cmd)
                .env("CNI_CONTAINERID", cid)
                .env("CNI_IFNAME", "net1")
                .output()
                .unwrap()
        };
        let out = run("ADD", "a");
        assert!(out.status.success());
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["ips"][0]["address"], "10.7.0.9/24");
        assert!(run("ADD", "b").status.success());
        assert_eq!(leases(&dir), vec!["a-net1", "b-net1"]);
        assert!(run("DEL", "a").status.success());
        assert_eq!(leases(&dir), vec!["b-net1"]);
        set_ipam_delay(&dir, None);
        assert!(!dir.join("ipam-delay").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
