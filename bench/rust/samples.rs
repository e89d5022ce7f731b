//! What a bench program hands to `bench/report.py`: raw per-call samples in milliseconds,
//! one JSON file per suite in `$NFV_BENCH_OUT` (default `target/bench`). The statistics and
//! the tables are the report generator's job; a bench program only measures.
//!
//! Shared by the plugins' benches through `#[path]` (a bench is its package's own binary, so
//! this is the one way to share code without a crate that only benches would use).

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Milliseconds, the unit of every sample file.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A bare process: `/bin/true` spawned and waited for, what every plugin call costs before
/// it does anything. Timed in the same rounds as the plugins, so the report can say how much
/// of a call is process starts.
pub fn bare_process() -> Duration {
    let start = Instant::now();
    let status = Command::new("/bin/true").status().expect("spawn /bin/true");
    assert!(status.success());
    start.elapsed()
}

/// ADD and DEL samples of one implementation, paired: `add[i]` and `del[i]` are one attachment.
#[derive(Debug, Default)]
pub struct Series {
    pub name: String,
    pub add: Vec<f64>,
    pub del: Vec<f64>,
}

impl Series {
    pub fn new(name: impl Into<String>) -> Series {
        Series {
            name: name.into(),
            ..Series::default()
        }
    }

    pub fn push(&mut self, add: Duration, del: Duration) {
        self.add.push(ms(add));
        self.del.push(ms(del));
    }

    pub fn json(&self) -> Value {
        json!({"name": self.name, "add": self.add, "del": self.del})
    }
}

/// The binary to measure: `$NFV_BENCH_BIN_DIR/<name>` when set (the harness points it at the
/// shipped static build), else cargo's build of it.
pub fn binary(name: &str, cargo_built: &str) -> PathBuf {
    match std::env::var_os("NFV_BENCH_BIN_DIR") {
        Some(dir) => PathBuf::from(dir).join(name),
        None => PathBuf::from(cargo_built),
    }
}

/// The directory holding our host-local, for CNI_PATH (next to the measured binaries).
pub fn our_cni_path(cargo_built: &str) -> PathBuf {
    binary("host-local", cargo_built)
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// A count from the environment, else `default`.
pub fn env_count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

/// Write `doc` as `<suite>.json` into `$NFV_BENCH_OUT` (default `<workspace>/target/bench`).
pub fn write(suite: &str, doc: &Value) {
    let dir = std::env::var_os("NFV_BENCH_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench"));
    std::fs::create_dir_all(&dir).expect("create the bench output directory");
    let path = dir.join(format!("{suite}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(doc).unwrap()).expect("write samples");
    eprintln!("bench: samples written to {}", path.display());
}
