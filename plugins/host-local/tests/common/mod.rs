//! Shared helpers for the black-box tests: run a host-local binary the way a runtime does,
//! temporary data directories, directory snapshots and a seeded random generator.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The reference plugin, from Debian's containernetworking-plugins package.
pub const REFERENCE: &str = "/usr/lib/cni/host-local";

/// Our binary, built by cargo for this test.
pub fn ours() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_host-local"))
}

/// The reference binary; fails the test with the package to install when it is missing.
pub fn reference() -> PathBuf {
    let p = PathBuf::from(REFERENCE);
    assert!(
        p.is_file(),
        "{REFERENCE} is missing: install the reference plugin with \
         `apt-get install containernetworking-plugins` (make test does this)"
    );
    p
}

/// What one plugin run printed.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub ok: bool,
    pub json: Option<Value>,
    pub stdout: String,
    pub stderr: String,
    /// The signal that ended the process, if one did.
    pub signal: Option<i32>,
}

impl Run {
    pub fn code(&self) -> Option<u64> {
        self.json.as_ref()?.get("code")?.as_u64()
    }
    pub fn msg(&self) -> &str {
        self.json
            .as_ref()
            .and_then(|j| j.get("msg"))
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

/// Run `bin` with a CNI verb.
pub fn run(bin: &Path, command: &str, id: &str, ifname: &str, args: &str, stdin: &str) -> Run {
    run_env(bin, command, id, ifname, args, stdin, &[])
}

/// [`run`] with more environment variables.
pub fn run_env(
    bin: &Path,
    command: &str,
    id: &str,
    ifname: &str,
    args: &str,
    stdin: &str,
    env: &[(&str, &str)],
) -> Run {
    let mut child = Command::new(bin)
        .env_clear()
        .envs(env.iter().copied())
        .env("CNI_COMMAND", command)
        .env("CNI_CONTAINERID", id)
        .env("CNI_NETNS", "/var/run/netns/nfv-test")
        .env("CNI_IFNAME", ifname)
        .env("CNI_PATH", "/usr/lib/cni")
        .env("CNI_ARGS", args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    Run {
        ok: out.status.success(),
        json: serde_json::from_str(&stdout).ok(),
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
        signal: std::os::unix::process::ExitStatusExt::signal(&out.status),
    }
}

/// Limits for [`run_limited`]: a wall-clock deadline and, optionally, an address-space cap
/// (through util-linux `prlimit`), so a plugin that reads without bound fails the test instead
/// of the machine.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout: std::time::Duration,
    pub address_space: Option<u64>,
}

impl Limits {
    pub fn seconds(s: u64) -> Limits {
        Limits {
            timeout: std::time::Duration::from_secs(s),
            address_space: None,
        }
    }
    pub fn memory(mut self, bytes: u64) -> Limits {
        self.address_space = Some(bytes);
        self
    }
}

/// Like [`run`], but the plugin is killed when it outlives `limits.timeout` (then `ok` is
/// false and `stderr` says "timed out") and may be capped in address space.
pub fn run_limited(
    bin: &Path,
    command: &str,
    id: &str,
    ifname: &str,
    stdin: &str,
    limits: Limits,
) -> Run {
    let mut cmd = match limits.address_space {
        Some(bytes) => {
            let mut c = Command::new("prlimit");
            c.arg(format!("--as={bytes}")).arg("--").arg(bin);
            c
        }
        None => Command::new(bin),
    };
    let mut child = cmd
        // A relative path in a config must never land in the source tree.
        .current_dir(std::env::temp_dir())
        .env_clear()
        .env("CNI_COMMAND", command)
        .env("CNI_CONTAINERID", id)
        .env("CNI_NETNS", "/var/run/netns/nfv-test")
        .env("CNI_IFNAME", ifname)
        .env("CNI_PATH", "/usr/lib/cni")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let start = std::time::Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > limits.timeout {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            return Run {
                ok: false,
                json: None,
                signal: std::os::unix::process::ExitStatusExt::signal(&out.status),
                stdout: String::from_utf8_lossy(&out.stdout).to_string(),
                stderr: format!(
                    "timed out after {:?} (killed){}",
                    limits.timeout,
                    String::from_utf8_lossy(&out.stderr)
                ),
            };
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    Run {
        ok: out.status.success(),
        json: serde_json::from_str(&stdout).ok(),
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
        signal: std::os::unix::process::ExitStatusExt::signal(&out.status),
    }
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("nfv-host-local-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Names and contents of the regular files in `dir` (empty if it does not exist).
pub fn snapshot(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            out.insert(
                e.file_name().into_string().unwrap(),
                std::fs::read_to_string(e.path()).unwrap(),
            );
        }
    }
    out
}

/// Leases only: files named by an address.
pub fn leases(dir: &Path) -> BTreeMap<String, String> {
    snapshot(dir)
        .into_iter()
        .filter(|(n, _)| n.parse::<std::net::IpAddr>().is_ok())
        .collect()
}

/// A small deterministic generator (PCG-style LCG), so a failing sequence can be replayed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The seed for randomized tests: `HOSTLOCAL_SEED` or a fixed default.
pub fn seed() -> u64 {
    std::env::var("HOSTLOCAL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_123)
}
