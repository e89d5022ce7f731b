//! ADD and DEL latency of our host-local and the reference (Debian's Go plugin) side by side,
//! at 10, 1,000, 10,000 and 60,000 existing leases in a /16, as a runtime sees it (process
//! spawn to exit), next to the floor: the lease's file operations timed in this process
//! (bench/rust/floor.rs). Then the peak RSS of a few calls of each at every size, and ours
//! right after the reference changed the directory (our index is rebuilt then).
//!
//! `cargo bench -p host-local --bench add_del` (release build; `make bench` runs it for the
//! report). Needs the reference plugin: `apt-get install containernetworking-plugins`.
//! Environment: `HOSTLOCAL_BENCH_SIZES=10,1000` to pick sizes, `NFV_BENCH_ITERS=50` for our
//! samples per size (the reference gets fewer at large sizes, where one call takes most of a
//! second), NFV_BENCH_BIN_DIR (the binary to measure), NFV_BENCH_OUT (host-local.json).
//! A benchmark, not a test: it prints progress and asserts nothing about speed.

// A benchmark binary: it fails loudly on setup errors.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../bench/rust/samples.rs"]
mod samples;

use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use samples::{ms, Series};
use serde_json::{json, Value};

const REFERENCE: &str = "/usr/lib/cni/host-local";
const BASE: u32 = 0x0ac8_0000; // 10.200.0.0/16
const RSS_ROUNDS: usize = 3;

fn conf(data: &Path) -> String {
    format!(
        r#"{{"cniVersion":"1.0.0","name":"bench","type":"host-local","ipam":{{"type":"host-local","dataDir":"{}","subnet":"10.200.0.0/16"}}}}"#,
        data.display()
    )
}

/// One plugin call: its wall time, and with `rss` its peak RSS in KiB (GNU time's %M).
fn call(
    bin: &Path,
    verb: &str,
    id: &str,
    conf: &str,
    rss: Option<&Path>,
) -> (Duration, Option<u64>) {
    let mut cmd = match rss {
        Some(out) => {
            let mut c = Command::new("/usr/bin/time");
            c.arg("-f").arg("%M").arg("-o").arg(out).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    let start = Instant::now();
    let mut child = cmd
        .env_clear()
        .env("CNI_COMMAND", verb)
        .env("CNI_CONTAINERID", id)
        .env("CNI_NETNS", "/var/run/netns/bench")
        .env("CNI_IFNAME", "eth0")
        .env("CNI_PATH", "/usr/lib/cni")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn plugin");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(conf.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{} {verb} {id} failed: {}{}",
        bin.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let kib = rss.map(|p| {
        let mut s = String::new();
        std::fs::File::open(p)
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        s.trim()
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .unwrap()
    });
    (took, kib)
}

/// A data directory holding `n` leases, written directly in the on-disk format.
fn populate(data: &Path, n: usize) {
    let _ = std::fs::remove_dir_all(data);
    eprintln!(
        "bench host-local: writing {n} leases into {}",
        data.display()
    );
    let dir = data.join("bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("lock"), "").unwrap();
    for i in 0..n {
        let ip = Ipv4Addr::from(BASE + 2 + i as u32);
        std::fs::write(dir.join(ip.to_string()), format!("existing-{i}\r\neth0")).unwrap();
    }
    if n > 0 {
        std::fs::write(
            dir.join("last_reserved_ip.0"),
            Ipv4Addr::from(BASE + 1 + n as u32).to_string(),
        )
        .unwrap();
    }
    // Flush the new files so their writeback does not land inside the measurements.
    let _ = Command::new("sync").status();
}

/// The floor at `n` leases: host-local's file operations for one lease, in this process.
/// ADD: lock (flock), the lease file created exclusively and written, last_reserved_ip.0;
/// DEL: lock, unlink. Our index is ours; the floor knows the free address already.
struct Floor {
    dir: PathBuf,
    ip: String,
}

impl Floor {
    fn new(data: &Path, n: usize) -> Floor {
        populate(data, n);
        Floor {
            dir: data.join("bench"),
            ip: Ipv4Addr::from(BASE + 2 + n as u32).to_string(),
        }
    }

    fn locked(&self) -> std::fs::File {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(self.dir.join("lock"))
            .unwrap();
        f.lock().unwrap();
        f
    }

    fn sample(&self, into: &mut Series) {
        let t = Instant::now();
        {
            let _lock = self.locked();
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(self.dir.join(&self.ip))
                .unwrap();
            f.write_all(b"floor\r\neth0").unwrap();
            std::fs::write(self.dir.join("last_reserved_ip.0"), &self.ip).unwrap();
        }
        let add = t.elapsed();
        let t = Instant::now();
        {
            let _lock = self.locked();
            std::fs::remove_file(self.dir.join(&self.ip)).unwrap();
        }
        into.push(add, t.elapsed());
    }
}

/// Samples of one plugin at one lease count.
struct Plugin {
    bin: PathBuf,
    conf: String,
    iters: usize,
    series: Series,
}

impl Plugin {
    fn new(name: &str, bin: &Path, data: &Path, n: usize, iters: usize) -> Plugin {
        populate(data, n);
        let conf = conf(data);
        // Warm-up (our first call after the directory was written behind its back rebuilds the index).
        call(bin, "ADD", "warmup", &conf, None);
        call(bin, "DEL", "warmup", &conf, None);
        Plugin {
            bin: bin.to_path_buf(),
            conf,
            iters,
            series: Series::new(name),
        }
    }

    /// One ADD and one DEL of a fresh container, so the lease count stays the same.
    fn sample(&mut self, round: usize) {
        if round >= self.iters {
            return;
        }
        let id = format!("probe-{round}");
        let (a, _) = call(&self.bin, "ADD", &id, &self.conf, None);
        let (d, _) = call(&self.bin, "DEL", &id, &self.conf, None);
        self.series.push(a, d);
    }

    /// Peak RSS of a few ADDs and DELs, KiB.
    fn rss(&self, scratch: &Path) -> Value {
        let (mut add, mut del) = (vec![], vec![]);
        for i in 0..RSS_ROUNDS {
            let id = format!("rss-{i}");
            add.push(call(&self.bin, "ADD", &id, &self.conf, Some(scratch)).1);
            del.push(call(&self.bin, "DEL", &id, &self.conf, Some(scratch)).1);
        }
        json!({"add": add, "del": del})
    }
}

/// `60000` as `60,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn main() {
    // `cargo bench` passes --bench; a filter argument is not used.
    let ours = samples::binary("host-local", env!("CARGO_BIN_EXE_host-local"));
    let reference = PathBuf::from(REFERENCE);
    if !reference.is_file() {
        eprintln!("{REFERENCE} is missing: apt-get install containernetworking-plugins");
        std::process::exit(1);
    }
    let sizes: Vec<usize> = std::env::var("HOSTLOCAL_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10, 1_000, 10_000, 60_000]);
    let iters = samples::env_count("NFV_BENCH_ITERS", 50);
    let root = std::env::temp_dir().join(format!("nfv-host-local-bench-{}", std::process::id()));
    eprintln!(
        "bench host-local: ours ({}) and {REFERENCE} at {sizes:?} leases",
        ours.display()
    );

    let mut at: Vec<(usize, Plugin, Plugin, Floor, Series)> = sizes
        .iter()
        .map(|&n| {
            let ref_iters = match n {
                0..=1_000 => iters,
                1_001..=10_000 => iters.min(20),
                _ => iters.min(10),
            };
            let o = Plugin::new(
                "host-local",
                &ours,
                &root.join(format!("ours-{n}")),
                n,
                iters,
            );
            let r = Plugin::new(
                "Go host-local",
                &reference,
                &root.join(format!("reference-{n}")),
                n,
                ref_iters,
            );
            let f = Floor::new(&root.join(format!("floor-{n}")), n);
            (n, o, r, f, Series::new("floor"))
        })
        .collect();
    // Rounds interleave every size, both plugins and the floor, so load from elsewhere on the
    // machine hits all columns alike instead of skewing one row.
    eprintln!("bench host-local: {iters} rounds");
    let mut process = Vec::new();
    for round in 0..iters {
        process.push(ms(samples::bare_process()));
        for (_, o, r, f, fs) in at.iter_mut() {
            o.sample(round);
            r.sample(round);
            f.sample(fs);
        }
    }
    eprintln!("bench host-local: memory rounds and ours after a reference ADD");
    let scratch = root.join("rss.txt");
    let mut rows = Vec::new();
    let mut rss = serde_json::Map::new();
    for (n, o, r, _, fs) in &at {
        // Mixed operation: the reference changes the directory, so our next call rebuilds the
        // index (reads every lease once, like each reference call does).
        let mut rebuild = Vec::new();
        for i in 0..iters.min(5) {
            let id = format!("mixed-{i}");
            call(&reference, "ADD", &id, &o.conf, None);
            rebuild.push(ms(call(&ours, "DEL", &id, &o.conf, None).0));
        }
        rows.push(json!({
            "id": format!("host-local-{n}"),
            "title": format!("host-local ADD+DEL at {} leases", thousands(*n)),
            "leases": n, "processes": 2,
            "ours": o.series.json(), "peer": r.series.json(), "floor": fs.json(),
            "ours_del_after_reference_add": rebuild, "process": process,
        }));
        rss.insert(format!("host-local@{n}"), o.rss(&scratch));
        rss.insert(format!("go:host-local@{n}"), r.rss(&scratch));
    }
    samples::write("host-local", &json!({"rows": rows, "rss": rss}));
    let _ = std::fs::remove_dir_all(&root);
}
