//! Hostile `logFile` and log-injection cases, black-box through the host-local binary (every
//! plugin shares the logger, nfv-cni's): a config value with newlines stays inside one log
//! record, and a `logFile` that is not a regular file below /var/log (a FIFO, a device, a
//! symlink, a path elsewhere) is never opened: the plugin logs to stderr with one warning and
//! does its job. The log files are under the real /var/log, with unique names, removed after.
//!
//! Needs root for /var/log; without it each test prints why it is skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{ours, TempDir};
use serde_json::{json, Value};

/// How long one run may take: the plugin needs milliseconds; a blocked open never returns.
const DEADLINE: Duration = Duration::from_secs(10);

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

fn root_or_skip(test: &str) -> bool {
    let root = is_root();
    if !root {
        eprintln!("SKIPPED {test}: the log files live in /var/log, which needs root");
    }
    root
}

/// `/var/log/nfv-test-logdev-<pid>-<tag>`, removed (whatever it is) when dropped.
struct VarLog(PathBuf);

impl VarLog {
    fn new(tag: &str) -> VarLog {
        let p = PathBuf::from(format!(
            "/var/log/nfv-test-logdev-{}-{tag}",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&p);
        VarLog(p)
    }
}

impl Drop for VarLog {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

struct Outcome {
    code: Option<i32>,
    stdout: Value,
    stderr: String,
}

/// Runs the host-local binary with `verb` and `conf`; fails the test (after killing the child)
/// if it has not finished within [`DEADLINE`].
fn run(verb: &str, conf: &Value) -> Outcome {
    let mut child = Command::new(ours())
        .env_clear()
        .env("CNI_COMMAND", verb)
        .env("CNI_CONTAINERID", "logdev0")
        .env("CNI_NETNS", "/var/run/netns/nfv-test")
        .env("CNI_IFNAME", "eth0")
        .env("CNI_PATH", "/nonexistent")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(conf.to_string().as_bytes())
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("host-local {verb} still running after {DEADLINE:?}: it blocked");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    Outcome {
        code: status.code(),
        stdout: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stderr,
    }
}

/// A valid host-local config with its leases in `data`, logging to `log_file`.
fn conf(data: &Path, log_file: &Path) -> Value {
    json!({"cniVersion": "1.0.0", "name": "logdev", "type": "host-local",
        "ipam": {"type": "host-local", "dataDir": data, "subnet": "10.77.0.0/24",
                 "logLevel": "debug", "logFile": log_file}})
}

/// A record line: `<seconds>.<millis> host-local[<pid>] ...`.
fn is_record(line: &str) -> bool {
    let Some((time, rest)) = line.split_once(' ') else {
        return false;
    };
    let Some((secs, millis)) = time.split_once('.') else {
        return false;
    };
    !secs.is_empty()
        && secs.bytes().all(|b| b.is_ascii_digit())
        && millis.len() == 3
        && millis.bytes().all(|b| b.is_ascii_digit())
        && rest.starts_with("host-local[")
}

/// The case, and the same value in every field host-local echoes in its errors:
/// with `logLevel: debug` the log file holds one line per record, each a record, and no line
/// is the planted key.
#[test]
fn config_values_with_newlines_stay_inside_one_log_record() {
    if !root_or_skip("config_values_with_newlines_stay_inside_one_log_record") {
        return;
    }
    let tmp = TempDir::new("logdev-inject");
    let log = VarLog::new("inject.log");
    let evil = "x\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE attacker@evil \n\r\u{1b}[2J";
    let cases: Vec<(&str, Value)> = vec![
        ("ipam.subnet", json!({"ipam": {"subnet": evil}})),
        (
            "rangeStart",
            json!({"ipam": {"ranges": [[{"subnet": "10.77.0.0/24", "rangeStart": evil}]]}}),
        ),
        (
            "gateway",
            json!({"ipam": {"ranges": [[{"subnet": "10.77.0.0/24", "gateway": evil}]]}}),
        ),
        ("routes", json!({"ipam": {"routes": [{"dst": evil}]}})),
        ("resolvConf", json!({"ipam": {"resolvConf": evil}})),
        // Below /proc, so the directory cannot be created and the error echoes it.
        (
            "dataDir",
            json!({"ipam": {"dataDir": format!("/proc/{evil}")}}),
        ),
        ("args.cni.ips", json!({"args": {"cni": {"ips": [evil]}}})),
        (
            "runtimeConfig.ips",
            json!({"runtimeConfig": {"ips": [evil]}}),
        ),
    ];
    let mut runs = 0;
    for (field, extra) in &cases {
        let mut c = json!({"cniVersion": "1.0.0", "name": "logdev", "type": "host-local",
            "ipam": {"type": "host-local", "dataDir": tmp.0.join("data"),
                     "subnet": "10.77.0.0/24", "logLevel": "debug", "logFile": log.0}});
        for (k, v) in extra.as_object().unwrap() {
            match (c.get_mut(k), v) {
                (Some(Value::Object(base)), Value::Object(over)) => {
                    for (kk, vv) in over {
                        base.insert(kk.clone(), vv.clone());
                    }
                }
                _ => c[k] = v.clone(),
            }
        }
        if *field == "rangeStart" || *field == "gateway" {
            c["ipam"].as_object_mut().unwrap().remove("subnet");
        }
        let out = run("ADD", &c);
        runs += 1;
        if out.code == Some(0) {
            run("DEL", &c);
        }
    }
    let text = std::fs::read_to_string(&log.0).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.len() >= runs,
        "every run logged at least one record:\n{text}"
    );
    for l in &lines {
        assert!(is_record(l), "a line that is not a record: {l:?}\n{text}");
        assert!(!l.starts_with("ssh-ed25519"), "{text}");
        assert!(!l.contains('\u{1b}') && !l.contains('\r'), "{l:?}");
    }
    assert!(
        text.contains("x\\nssh-ed25519 AAAA"),
        "the value is logged, escaped:\n{text}"
    );
}

/// A FIFO as logFile: never opened (it would block with no reader); the plugin logs to stderr
/// with one warning and ADD, DEL succeed within the deadline.
#[test]
fn a_fifo_as_log_file_does_not_hang_the_plugin() {
    if !root_or_skip("a_fifo_as_log_file_does_not_hang_the_plugin") {
        return;
    }
    let tmp = TempDir::new("logdev-fifo");
    let fifo = VarLog::new("fifo.log");
    let made = Command::new("mkfifo").arg(&fifo.0).status().unwrap();
    assert!(made.success());
    let c = conf(&tmp.0.join("data"), &fifo.0);
    let add = run("ADD", &c);
    assert_eq!(add.code, Some(0), "{} {}", add.stdout, add.stderr);
    assert_eq!(add.stdout["ips"][0]["address"], "10.77.0.2/24");
    assert_one_warning(&add.stderr, &fifo.0, "a FIFO");
    let del = run("DEL", &c);
    assert_eq!(del.code, Some(0), "{}", del.stderr);
}

/// A character device below /var/log: refused the same way.
#[test]
fn a_device_as_log_file_is_not_opened() {
    if !root_or_skip("a_device_as_log_file_is_not_opened") {
        return;
    }
    let tmp = TempDir::new("logdev-dev");
    let dev = VarLog::new("null.log");
    let made = Command::new("mknod")
        .arg(&dev.0)
        .args(["c", "1", "3"])
        .status()
        .unwrap();
    assert!(made.success());
    let c = conf(&tmp.0.join("data"), &dev.0);
    let add = run("ADD", &c);
    assert_eq!(add.code, Some(0), "{}", add.stderr);
    assert_one_warning(&add.stderr, &dev.0, "a character device");
    run("DEL", &c);
}

/// A symlink below /var/log pointing elsewhere (here at a file standing in for
/// authorized_keys): never followed, nothing written to the target.
#[test]
fn a_symlinked_log_file_is_not_followed() {
    if !root_or_skip("a_symlinked_log_file_is_not_followed") {
        return;
    }
    let tmp = TempDir::new("logdev-link");
    let victim = tmp.0.join("authorized_keys");
    std::fs::write(&victim, b"").unwrap();
    let link = VarLog::new("link.log");
    std::os::unix::fs::symlink(&victim, &link.0).unwrap();
    let c = conf(&tmp.0.join("data"), &link.0);
    let add = run("ADD", &c);
    assert_eq!(add.code, Some(0), "{}", add.stderr);
    assert_one_warning(&add.stderr, &link.0, "symbolic link");
    run("DEL", &c);
    assert_eq!(
        std::fs::read(&victim).unwrap(),
        b"",
        "written through the symlink"
    );
}

/// A log file outside /var/log is not created or appended to.
#[test]
fn a_log_file_outside_var_log_is_not_used() {
    if !root_or_skip("a_log_file_outside_var_log_is_not_used") {
        return;
    }
    let tmp = TempDir::new("logdev-outside");
    let outside = tmp.0.join("cron.d-stand-in");
    let c = conf(&tmp.0.join("data"), &outside);
    let add = run("ADD", &c);
    assert_eq!(add.code, Some(0), "{}", add.stderr);
    assert_one_warning(&add.stderr, &outside, "must lie below /var/log");
    run("DEL", &c);
    assert!(!outside.exists(), "created a log file outside /var/log");
}

/// A regular file below /var/log is used: created 0600, one record per line.
#[test]
fn a_log_file_below_var_log_is_created_0600_and_used() {
    if !root_or_skip("a_log_file_below_var_log_is_created_0600_and_used") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let tmp = TempDir::new("logdev-ok");
    let log = VarLog::new("ok.log");
    let c = conf(&tmp.0.join("data"), &log.0);
    let add = run("ADD", &c);
    assert_eq!(add.code, Some(0), "{}", add.stderr);
    assert_eq!(add.stderr, "", "no warning");
    let mode = std::fs::metadata(&log.0).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    run("DEL", &c);
    let text = std::fs::read_to_string(&log.0).unwrap();
    assert!(text.lines().all(is_record), "{text}");
}

/// Exactly one warning line on stderr, naming logFile, the path, why and the fix.
fn assert_one_warning(stderr: &str, path: &Path, why: &str) {
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("logFile")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    let w = lines[0];
    assert!(
        w.contains("[warning]")
            && w.contains(&format!("{:?}", path.display().to_string()))
            && w.contains(why)
            && w.contains("Fix: set logFile"),
        "{w}"
    );
}
