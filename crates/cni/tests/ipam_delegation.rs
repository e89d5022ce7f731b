#![allow(clippy::unwrap_used)] // a test: a failed setup step should stop it loudly
//! IPAM delegation against a real executable: a shell script standing in for an IPAM plugin,
//! recording each call's CNI_COMMAND and stdin so the test can see what was forwarded.

use nfv_cni::{env, ipam, Request};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

struct Fixture {
    dir: PathBuf,
}

impl Fixture {
    /// `body` is the script's behaviour for ADD; every call appends "CMD stdin" to calls.log.
    fn new(name: &str, add_body: &str) -> Fixture {
        Fixture::with_others(name, add_body, "true")
    }

    /// As [`Fixture::new`], with `other_body` for every command but ADD. Both see `$DIR`, the
    /// fixture's directory.
    fn with_others(name: &str, add_body: &str, other_body: &str) -> Fixture {
        let dir = std::env::temp_dir().join(format!("nfv-ipam-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let script = format!(
            "#!/bin/sh\nDIR={dir}\nin=$(cat)\necho \"$CNI_COMMAND $CNI_CONTAINERID $in\" >> {log}\n\
             if [ \"$CNI_COMMAND\" = ADD ]; then\n{add_body}\nelse\n{other_body}\nfi\nexit 0\n",
            dir = dir.display(),
            log = dir.join("calls.log").display()
        );
        let bin = dir.join("fake-ipam");
        std::fs::write(&bin, script).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        Fixture { dir }
    }

    fn request(&self, conf: &str) -> Request {
        let dir = self.dir.display().to_string();
        let get = move |k: &str| match k {
            "CNI_COMMAND" => Some("ADD".to_string()),
            "CNI_CONTAINERID" => Some("ctr9".into()),
            "CNI_NETNS" => Some("/run/netns/none".into()),
            "CNI_IFNAME" => Some("net1".into()),
            "CNI_PATH" => Some(format!("/nonexistent:{dir}")),
            _ => None,
        };
        Request::new(env::from_lookup(&get).unwrap(), conf.as_bytes().to_vec()).unwrap()
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const CONF: &str = r#"{"cniVersion":"0.4.0","name":"n","type":"x","vendorKey":{"kept":true},"ipam":{"type":"fake-ipam","subnet":"10.0.0.0/24"}}"#;

fn with_env<T>(f: impl FnOnce() -> T) -> T {
    // The delegate must get the request's CNI_* values, not the process's: make them differ.
    std::env::set_var("CNI_CONTAINERID", "process-env-value");
    f()
}

#[test]
fn add_reads_result_and_commit_keeps_it() {
    with_env(|| {
        let fx = Fixture::new(
            "commit",
            r#"echo '{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.0.0.2/24","gateway":"10.0.0.1"}]}'"#,
        );
        let req = fx.request(CONF);
        let lease = ipam::add(&req).unwrap();
        assert_eq!(lease.result().ips[0].address.to_string(), "10.0.0.2/24");
        let result = lease.commit();
        assert_eq!(result.cni_version, "0.4.0");
        let calls = fx.calls();
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert!(calls[0].starts_with("ADD ctr9 "), "{calls:?}");
        assert!(
            calls[0].contains(r#""vendorKey":{"kept":true}"#),
            "stdin passed through unchanged"
        );
    })
}

#[test]
fn dropped_lease_runs_ipam_del() {
    with_env(|| {
        let fx = Fixture::new(
            "rollback",
            r#"echo '{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.0.0.2/24"}]}'"#,
        );
        let req = fx.request(CONF);
        {
            let _lease = ipam::add(&req).unwrap();
            // the plugin fails here: the lease goes out of scope uncommitted
        }
        let cmds: Vec<String> = fx
            .calls()
            .iter()
            .map(|c| c.split(' ').next().unwrap().to_string())
            .collect();
        assert_eq!(cmds, ["ADD", "DEL"]);
    })
}

#[test]
fn delegate_error_keeps_its_code() {
    with_env(|| {
        let fx = Fixture::new(
            "err",
            r#"echo '{"code":11,"msg":"no addresses left"}'; exit 1"#,
        );
        let req = fx.request(CONF);
        let e = ipam::add(&req).unwrap_err();
        assert_eq!(e.code, 11);
        assert!(
            e.msg.contains("no addresses left") && e.msg.contains("fake-ipam"),
            "{}",
            e.msg
        );
    })
}

#[test]
fn unreadable_result_is_released() {
    with_env(|| {
        let fx = Fixture::new("garbage", "echo 'not json'");
        let req = fx.request(CONF);
        let e = ipam::add(&req).unwrap_err();
        assert_eq!(e.code, nfv_cni::code::DELEGATE_OUTPUT);
        let cmds: Vec<String> = fx
            .calls()
            .iter()
            .map(|c| c.split(' ').next().unwrap().to_string())
            .collect();
        assert_eq!(cmds, ["ADD", "DEL"]);
    })
}

#[test]
fn missing_plugin_and_bad_type_name_the_field() {
    let fx = Fixture::new("missing", "true");
    let req = fx.request(&CONF.replace("fake-ipam", "no-such-ipam"));
    let e = ipam::add(&req).unwrap_err();
    assert_eq!(e.code, 7);
    assert!(e.msg.contains("ipam.type"), "{}", e.msg);
    let req = fx.request(&CONF.replace("fake-ipam", "../../bin/sh"));
    assert_eq!(ipam::add(&req).unwrap_err().code, 7);
    assert!(
        !Path::new(&fx.dir.join("calls.log")).exists(),
        "nothing ran"
    );
}

#[test]
fn forwarding_without_ipam_is_a_no_op() {
    let fx = Fixture::new("noipam", "true");
    let req = fx.request(r#"{"cniVersion":"1.1.0","name":"n","type":"x"}"#);
    for f in [ipam::del, ipam::check, ipam::gc, ipam::status] {
        f(&req).unwrap();
    }
    assert!(fx.calls().is_empty());
}

// Hostile delegates: each test must finish fast with a clear error, whatever the delegate does.
// Every call runs under a guard that fails the test instead of hanging (the old code waited
// for the delegate, and for everything holding its stdout, without end).

/// Short bounds for tests; the plugins use DelegateLimits::default() (60 s, 1 MiB, 64 KiB).
const LIMITS: ipam::DelegateLimits = ipam::DelegateLimits {
    deadline: Duration::from_millis(400),
    max_stdout: 1 << 20,
    max_stderr: 64 << 10,
};
const GUARD: Duration = Duration::from_secs(8);
const RESULT: &str =
    r#"echo '{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.0.0.2/24"}]}'"#;

fn add(req: &Request) -> Result<ipam::IpamLease<'_>, nfv_cni::Error> {
    ipam::add_with(req, &LIMITS)
}

fn status(req: &Request) -> Result<(), nfv_cni::Error> {
    ipam::forward_with(req, "STATUS", &LIMITS)
}

/// Runs `f` on a thread; panics when it has not returned within GUARD.
fn guarded<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> (R, Duration) {
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(GUARD) {
        Ok(r) => (r, start.elapsed()),
        Err(_) => panic!("the delegate call did not return within {GUARD:?}: no deadline"),
    }
}

fn commands(fx: &Fixture) -> Vec<String> {
    fx.calls()
        .iter()
        .map(|c| c.split(' ').next().unwrap().to_string())
        .collect()
}

/// Whether the process whose pid the delegate wrote to `file` is gone (or a zombie).
fn is_dead(fx: &Fixture, file: &str) -> bool {
    let pid = std::fs::read_to_string(fx.dir.join(file)).unwrap();
    match std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())) {
        Err(_) => true,
        Ok(stat) => stat.rsplit(") ").next().unwrap().starts_with('Z'),
    }
}

/// Waits a little for the kernel to finish a kill before looking.
fn dead_soon(fx: &Fixture, file: &str) -> bool {
    (0..50).any(|_| {
        let dead = is_dead(fx, file);
        if !dead {
            std::thread::sleep(Duration::from_millis(20));
        }
        dead
    })
}

#[test]
fn hung_add_is_killed_at_the_deadline_with_what_it_started_then_released() {
    let fx = Fixture::new("hang", "sleep 30 &\necho $! > $DIR/child.pid\nsleep 30");
    let req = fx.request(CONF);
    let (e, took) = guarded(move || add(&req).map(|l| l.commit()).unwrap_err());
    assert_eq!(e.code, nfv_cni::code::TRY_AGAIN_LATER, "{}", e.msg);
    assert!(
        e.msg.contains("fake-ipam") && e.msg.contains("ADD") && e.msg.contains("0.4s"),
        "{}",
        e.msg
    );
    assert!(
        took < LIMITS.deadline + Duration::from_secs(1),
        "took {took:?}"
    );
    assert!(
        dead_soon(&fx, "child.pid"),
        "what the delegate started was killed too"
    );
    // It may have allocated before it hung: released.
    assert_eq!(commands(&fx), ["ADD", "DEL"]);
}

#[test]
fn hung_rollback_del_is_bounded_too() {
    let fx = Fixture::with_others("hang-del", RESULT, "sleep 30");
    let req = fx.request(CONF);
    let (ips, took) = guarded(move || {
        let lease = add(&req).unwrap();
        let n = lease.result().ips.len();
        drop(lease); // the plugin failed after IPAM ADD: the lease releases
        n
    });
    assert_eq!(ips, 1);
    assert!(
        took < LIMITS.deadline + Duration::from_secs(1),
        "took {took:?}"
    );
    assert_eq!(commands(&fx), ["ADD", "DEL"]);
}

#[test]
fn endless_output_is_cut_at_the_bound_and_released() {
    let fx = Fixture::new("endless", "while :; do printf '%01024d' 0; done");
    let req = fx.request(CONF);
    let (e, took) = guarded(move || add(&req).map(|l| l.commit()).unwrap_err());
    assert_eq!(e.code, nfv_cni::code::DELEGATE_OUTPUT, "{}", e.msg);
    assert!(e.msg.contains("more than 1024 KiB"), "{}", e.msg);
    assert!(
        took < LIMITS.deadline + Duration::from_secs(1),
        "took {took:?}"
    );
    assert_eq!(commands(&fx), ["ADD", "DEL"]);
}

#[test]
fn failing_add_keeps_its_error_and_releases_nothing() {
    let fx = Fixture::new("fail", "echo 'bad things' >&2; exit 3");
    let req = fx.request(CONF);
    let (e, took) = guarded(move || add(&req).map(|l| l.commit()).unwrap_err());
    assert_eq!(e.code, nfv_cni::code::DELEGATE_OUTPUT, "{}", e.msg);
    assert!(
        e.msg.contains("fake-ipam") && e.msg.contains("exit status: 3"),
        "{}",
        e.msg
    );
    assert!(
        took < LIMITS.deadline + Duration::from_secs(1),
        "took {took:?}"
    );
    assert_eq!(commands(&fx), ["ADD"]);
}

#[test]
fn garbage_output_is_101_quoted_short_and_released() {
    let fx = Fixture::new(
        "garbage-long",
        "printf '{\"cniVersion\":\"0.4.0\",\"ips\":['; i=0; while [ $i -lt 200 ]; do printf 'garbage\\n\\033[31m '; i=$((i+1)); done",
    );
    let req = fx.request(CONF);
    let (e, _) = guarded(move || add(&req).map(|l| l.commit()).unwrap_err());
    assert_eq!(e.code, nfv_cni::code::DELEGATE_OUTPUT, "{}", e.msg);
    assert!(e.msg.contains("not JSON"), "{}", e.msg);
    assert!(
        e.msg.len() < 1500,
        "the message quotes a bounded part: {}",
        e.msg.len()
    );
    assert_eq!(commands(&fx), ["ADD", "DEL"]);
}

#[test]
fn a_straggler_holding_stdout_does_not_hold_the_call() {
    // The delegate answers and exits; something it started in the background keeps its stdout.
    let fx = Fixture::new(
        "straggler",
        &format!("sleep 30 &\necho $! > $DIR/child.pid\n{RESULT}"),
    );
    let req = fx.request(CONF);
    let (r, took) = guarded(move || add(&req).map(|l| l.commit().ips.len()));
    assert_eq!(r.unwrap(), 1);
    assert!(
        took < LIMITS.deadline + Duration::from_secs(1),
        "took {took:?}"
    );
    assert!(dead_soon(&fx, "child.pid"), "the straggler was killed");
    assert_eq!(commands(&fx), ["ADD"]);
}

#[test]
fn hung_status_is_not_available() {
    let fx = Fixture::with_others("hang-status", "true", "sleep 30");
    let req = fx.request(CONF);
    let (e, took) = guarded(move || status(&req).unwrap_err());
    assert_eq!(e.code, nfv_cni::code::NOT_AVAILABLE, "{}", e.msg);
    assert!(e.msg.contains("STATUS"), "{}", e.msg);
    assert!(
        took < LIMITS.deadline + Duration::from_secs(1),
        "took {took:?}"
    );
}

#[test]
fn a_delegate_that_never_reads_a_large_config_is_bounded() {
    // Over a pipe's 64 KiB, writing stdin blocks until the delegate reads it; this one never does.
    let fx = Fixture::new("noread", "true");
    let script = fx.dir.join("fake-ipam");
    std::fs::write(&script, "#!/bin/sh\nexec sleep 30\n").unwrap();
    let pad = "x".repeat(256 << 10);
    let conf = CONF.replace(r#""vendorKey":{"kept":true}"#, &format!(r#""pad":"{pad}""#));
    let req = fx.request(&conf);
    let (e, took) = guarded(move || add(&req).map(|l| l.commit()).unwrap_err());
    assert_eq!(e.code, nfv_cni::code::TRY_AGAIN_LATER, "{}", e.msg);
    assert!(
        took < LIMITS.deadline * 2 + Duration::from_secs(1),
        "took {took:?}"
    );
}

#[test]
fn default_limits_are_the_documented_ones() {
    let d = ipam::DelegateLimits::default();
    assert_eq!(d.deadline, Duration::from_secs(60));
    assert_eq!(d.max_stdout, 1 << 20);
    assert_eq!(d.max_stderr, 64 << 10);
}
