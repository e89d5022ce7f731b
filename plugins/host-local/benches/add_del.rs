//! ADD and DEL latency of our host-local and the reference side by side, at 10, 1,000, 10,000
//! and 60,000 existing leases in a /16, as a runtime sees it (process spawn to exit).
//!
//! `cargo bench -p host-local --bench add_del` (release build). Needs the reference plugin:
//! `apt-get install containernetworking-plugins`. Environment:
//! `HOSTLOCAL_BENCH_SIZES=10,1000` to pick sizes, `HOSTLOCAL_BENCH_ITERS=50` for our samples
//! per size (the reference gets fewer at large sizes, where one call takes most of a second).
//! A benchmark, not a test: it prints numbers and asserts nothing about speed.

// A benchmark binary: it prints its table on stdout and fails loudly on setup errors.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const REFERENCE: &str = "/usr/lib/cni/host-local";
const BASE: u32 = 0x0ac8_0000; // 10.200.0.0/16

fn conf(data: &Path) -> String {
    format!(
        r#"{{"cniVersion":"1.0.0","name":"bench","type":"host-local","ipam":{{"type":"host-local","dataDir":"{}","subnet":"10.200.0.0/16"}}}}"#,
        data.display()
    )
}

/// One plugin call; returns its wall time.
fn call(bin: &Path, verb: &str, id: &str, conf: &str) -> Duration {
    let start = Instant::now();
    let mut child = Command::new(bin)
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
    took
}

/// A data directory holding `n` leases, written directly in the on-disk format.
fn populate(data: &Path, n: usize) {
    let _ = std::fs::remove_dir_all(data);
    eprintln!("writing {n} leases into {}", data.display());
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

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let idx = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[idx.min(samples.len() - 1)]
}

#[derive(Clone, Copy)]
struct Stats {
    add_p50: Duration,
    add_p99: Duration,
    del_p50: Duration,
    del_p99: Duration,
    samples: usize,
}

/// Samples of one plugin at one lease count.
struct Series {
    bin: PathBuf,
    conf: String,
    iters: usize,
    adds: Vec<Duration>,
    dels: Vec<Duration>,
}

impl Series {
    fn new(bin: &Path, data: &Path, n: usize, iters: usize) -> Series {
        populate(data, n);
        let conf = conf(data);
        // Warm-up (our first call after the directory was written behind its back rebuilds the index).
        call(bin, "ADD", "warmup", &conf);
        call(bin, "DEL", "warmup", &conf);
        Series {
            bin: bin.to_path_buf(),
            conf,
            iters,
            adds: Vec::new(),
            dels: Vec::new(),
        }
    }

    /// One ADD and one DEL of a fresh container, so the lease count stays the same.
    fn sample(&mut self, round: usize) {
        if round >= self.iters {
            return;
        }
        let id = format!("probe-{round}");
        self.adds.push(call(&self.bin, "ADD", &id, &self.conf));
        self.dels.push(call(&self.bin, "DEL", &id, &self.conf));
    }

    fn stats(&mut self) -> Stats {
        Stats {
            add_p50: percentile(&mut self.adds, 0.50),
            add_p99: percentile(&mut self.adds, 0.99),
            del_p50: percentile(&mut self.dels, 0.50),
            del_p99: percentile(&mut self.dels, 0.99),
            samples: self.adds.len(),
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn ratio(a: Duration, b: Duration) -> String {
    format!("{:.2}x", a.as_secs_f64() / b.as_secs_f64().max(1e-9))
}

fn main() {
    // `cargo bench` passes --bench; a filter argument is not used.
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_host-local"));
    let reference = PathBuf::from(REFERENCE);
    if !reference.is_file() {
        eprintln!("{REFERENCE} is missing: apt-get install containernetworking-plugins");
        std::process::exit(1);
    }
    let sizes: Vec<usize> = std::env::var("HOSTLOCAL_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10, 1_000, 10_000, 60_000]);
    let iters: usize = std::env::var("HOSTLOCAL_BENCH_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let root = std::env::temp_dir().join(format!("nfv-host-local-bench-{}", std::process::id()));

    println!("host-local ADD/DEL latency, ms per call (process spawn to exit), /16 network");
    println!(
        "{:>7} | {:>9} {:>9} {:>9} {:>9} | {:>9} {:>9} {:>9} {:>9} | {:>9} {:>9} | {:>5} {:>5}",
        "leases",
        "ours ADD",
        "p99",
        "ours DEL",
        "p99",
        "ref ADD",
        "p99",
        "ref DEL",
        "p99",
        "ADD ref/",
        "DEL ref/",
        "n ours",
        "n ref"
    );
    // Rounds interleave every size and both plugins, so load from elsewhere on the machine
    // hits all columns alike instead of skewing one row.
    let mut series: Vec<(usize, Series, Series)> = sizes
        .iter()
        .map(|&n| {
            let ref_iters = match n {
                0..=1_000 => iters,
                1_001..=10_000 => iters.min(15),
                _ => iters.min(8),
            };
            let o = Series::new(&ours, &root.join(format!("ours-{n}")), n, iters);
            let r = Series::new(
                &reference,
                &root.join(format!("reference-{n}")),
                n,
                ref_iters,
            );
            (n, o, r)
        })
        .collect();
    for round in 0..iters {
        for (_, o, r) in series.iter_mut() {
            o.sample(round);
            r.sample(round);
        }
    }
    let mut ours_base: Option<Stats> = None;
    let mut flat = Vec::new();
    for (n, o, r) in series.iter_mut() {
        let (n, o, r) = (*n, o.stats(), r.stats());
        println!(
            "{:>7} | {:>9} {:>9} {:>9} {:>9} | {:>9} {:>9} {:>9} {:>9} | {:>9} {:>9} | {:>5} {:>5}",
            n,
            ms(o.add_p50),
            ms(o.add_p99),
            ms(o.del_p50),
            ms(o.del_p99),
            ms(r.add_p50),
            ms(r.add_p99),
            ms(r.del_p50),
            ms(r.del_p99),
            ratio(r.add_p50, o.add_p50),
            ratio(r.del_p50, o.del_p50),
            o.samples,
            r.samples
        );
        let base = *ours_base.get_or_insert(o);
        flat.push((
            n,
            ratio(o.add_p50, base.add_p50),
            ratio(o.del_p50, base.del_p50),
        ));
    }
    // Mixed operation: the reference changes the directory, so our next call rebuilds the index
    // (reads every lease once, like each reference call does).
    println!();
    println!("ours right after a reference ADD on the same directory (index rebuild), ms:");
    let mixed_iters = iters.min(5);
    for (n, o, _) in series.iter() {
        let mut dels = Vec::new();
        for i in 0..mixed_iters {
            let id = format!("mixed-{i}");
            call(&reference, "ADD", &id, &o.conf);
            dels.push(call(&ours, "DEL", &id, &o.conf));
        }
        println!(
            "{n:>7}: DEL p50 {} ({} samples)",
            ms(percentile(&mut dels, 0.5)),
            dels.len()
        );
    }
    println!();
    println!(
        "ours at n leases vs ours at {} leases (p50; the target is within 1.5x):",
        sizes.first().copied().unwrap_or(0)
    );
    for (n, a, d) in flat {
        println!("{n:>7}: ADD {a}  DEL {d}");
    }
    let _ = std::fs::remove_dir_all(&root);
}
