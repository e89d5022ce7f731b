//! The client against hostile servers on a unix socket in a temp dir (a thread each): one that
//! trickles its reply, one that floods notifications, one that sends a giant reply, one that
//! never accepts. Each call must end within its deadline with an error, holding bounded memory.
//! Every call runs under a guard that fails the test instead of hanging when it does not return.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test file: a failed unwrap is a failed test

use std::io::Write;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nfv_ovsdb::{Error, OvsdbClient};
use nfv_testkit::ovsdb::ScriptedServer as Server;
use serde_json::{json, Value as Json};

/// The deadline given to every call in these tests.
const T: Duration = Duration::from_secs(1);
/// How long past the deadline a call may take before the guard calls it hung.
const GUARD: Duration = Duration::from_secs(5);
/// The deadline in the flood tests: long, so that what ends the call is a bound, not the time.
const FLOOD_T: Duration = Duration::from_secs(20);

/// The memory tests measure the process's peak RSS: run one test at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs `f` on a thread; panics when it has not returned within `T + GUARD` (the old client
/// waited forever here). Returns its value and how long it took.
fn guarded<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> (R, Duration) {
    guarded_for(T + GUARD, what, f)
}

fn guarded_for<R: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> R + Send + 'static,
) -> (R, Duration) {
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(r) => (r, start.elapsed()),
        Err(_) => panic!("{what}: no answer after {limit:?}, the client has no total deadline"),
    }
}

/// The process's peak resident set (VmHWM) in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Generous: the client may hold a few MiB; the old one grew by hundreds of MiB per second.
const RSS_GROWTH_LIMIT_KIB: u64 = 96 << 10;

/// One line for docs/reliability.md: a notification flood is a storm the client must survive.
fn reliability(name: &str, sent: u64, e: &Error, elapsed: Duration, rss_growth_kib: u64) {
    eprintln!(
        "reliability: {}",
        json!({"kind": "storm", "name": name, "size": sent,
               "outcome": format!("refused ({}) after {} ms, peak RSS +{} KiB",
                                  flood_kind(e), elapsed.as_millis(), rss_growth_kib)})
    );
}

fn flood_kind(e: &Error) -> &'static str {
    match e {
        Error::Flood(m) if m.contains("update notifications") => "held updates over the bound",
        Error::Flood(_) => "skipped messages over the bound",
        _ => "other error",
    }
}

#[test]
fn trickled_reply_fails_within_the_deadline() {
    let _s = serial();
    let server = Server::start("trickle", |mut conn| {
        let req = conn.request().unwrap();
        let head = format!("{{\"id\":{},\"result\":[\"", req["id"]);
        if conn.write_all(head.as_bytes()).is_err() {
            return;
        }
        // One byte every 0.2 s: every read returns well within any per-read timeout.
        while conn.write_all(b"x").is_ok() {
            thread::sleep(Duration::from_millis(200));
        }
    });
    let sock = server.socket();
    let (r, took) = guarded("list_dbs against a trickling server", move || {
        let mut c = OvsdbClient::connect(&sock, T)?;
        c.list_dbs()
    });
    let e = r.unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
    assert!(e.to_string().contains("list_dbs"), "{e}");
    // The deadline plus what a busy machine adds to scheduling; the old client never returned.
    assert!(took < T + Duration::from_secs(3), "took {took:?}");
}

#[test]
fn trickled_update_fails_within_the_deadline() {
    let _s = serial();
    let server = Server::start("trickle-update", |mut conn| {
        let req = conn.request().unwrap();
        let reply = json!({"id": req["id"], "result": {}, "error": null});
        conn.write_all(reply.to_string().as_bytes()).unwrap();
        let update = json!({"id": null, "method": "update",
                            "params": ["cfg", {"Open_vSwitch": {"u": {"new": {"cur_cfg": 1}}}}]});
        for b in update.to_string().bytes().cycle() {
            if conn.write_all(&[b]).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(200));
        }
    });
    let sock = server.socket();
    let (r, took) = guarded("next_update against a trickling server", move || {
        let mut c = OvsdbClient::connect(&sock, T)?;
        let id = json!("cfg");
        c.monitor(
            "Open_vSwitch",
            &id,
            json!({"Open_vSwitch": {"columns": ["cur_cfg"]}}),
        )?;
        c.next_update(&id)
    });
    let e = r.unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
    // The deadline plus what a busy machine adds to scheduling; the old client never returned.
    assert!(took < T + Duration::from_secs(3), "took {took:?}");
}

/// Answers `monitor`, then meets the next request with endless `update` notifications for that
/// monitor and never replies; counts the notifications it got out.
fn flood_server(name: &str, update_for: Json) -> (Server, Arc<AtomicU64>) {
    let sent = Arc::new(AtomicU64::new(0));
    let count = sent.clone();
    let server = Server::start(name, move |mut conn| {
        let req = conn.request().unwrap();
        let reply = json!({"id": req["id"], "result": {}, "error": null});
        conn.write_all(reply.to_string().as_bytes()).unwrap();
        conn.request().unwrap();
        let pad = "p".repeat(1000);
        let update = json!({"id": null, "method": "update",
                            "params": [update_for, {"Open_vSwitch": {"u": {"new": {"cur_cfg": 1, "pad": pad}}}}]});
        let mut burst = Vec::new();
        for _ in 0..64 {
            burst.extend_from_slice(update.to_string().as_bytes());
        }
        // At most 8 GiB, should a client keep reading.
        for _ in 0..(8u64 << 30) / burst.len() as u64 {
            if conn.write_all(&burst).is_err() {
                return;
            }
            count.fetch_add(64, Ordering::Relaxed);
        }
    });
    (server, sent)
}

fn flooded_call(server: &Server) -> (Result<Vec<String>, Error>, Duration, u64) {
    let sock = server.socket();
    let before = peak_rss_kib();
    let (r, took) = guarded_for(
        FLOOD_T + GUARD,
        "list_dbs against a flooding server",
        move || {
            let mut c = OvsdbClient::connect(&sock, FLOOD_T)?;
            c.monitor(
                "Open_vSwitch",
                &json!("cfg"),
                json!({"Open_vSwitch": {"columns": ["cur_cfg"]}}),
            )?;
            c.list_dbs()
        },
    );
    let growth = peak_rss_kib().saturating_sub(before);
    (r, took, growth)
}

#[test]
fn flood_of_updates_for_our_monitor_is_refused_with_bounded_memory() {
    let _s = serial();
    let (server, sent) = flood_server("flood-held", json!("cfg"));
    let (r, took, growth) = flooded_call(&server);
    let e = r.unwrap_err();
    assert!(matches!(e, Error::Flood(_)), "{e:?}");
    assert!(e.to_string().contains("update notifications"), "{e}");
    assert!(
        growth < RSS_GROWTH_LIMIT_KIB,
        "peak RSS grew by {growth} KiB"
    );
    reliability(
        "ovsdb update flood for our monitor",
        sent.load(Ordering::Relaxed),
        &e,
        took,
        growth,
    );
}

#[test]
fn flood_of_foreign_notifications_is_refused_with_bounded_memory() {
    let _s = serial();
    let (server, sent) = flood_server("flood-skipped", json!("not-ours"));
    let (r, took, growth) = flooded_call(&server);
    let e = r.unwrap_err();
    assert!(matches!(e, Error::Flood(_)), "{e:?}");
    assert!(e.to_string().contains("none of them the answer"), "{e}");
    assert!(
        growth < RSS_GROWTH_LIMIT_KIB,
        "peak RSS grew by {growth} KiB"
    );
    reliability(
        "ovsdb notification flood for no monitor",
        sent.load(Ordering::Relaxed),
        &e,
        took,
        growth,
    );
}

#[test]
fn giant_reply_is_refused() {
    let _s = serial();
    let server = Server::start("giant", |mut conn| {
        let req = conn.request().unwrap();
        let head = format!("{{\"id\":{},\"result\":[\"", req["id"]);
        if conn.write_all(head.as_bytes()).is_err() {
            return;
        }
        // 32 MiB: under the old 64 MiB limit, far over any reply the plugins ask for.
        let chunk = vec![b'x'; 64 << 10];
        for _ in 0..512 {
            if conn.write_all(&chunk).is_err() {
                return;
            }
        }
        let _ = conn.write_all(b"\"],\"error\":null}");
    });
    let sock = server.socket();
    let before = peak_rss_kib();
    let (r, took) = guarded("list_dbs with a giant reply", move || {
        let mut c = OvsdbClient::connect(&sock, T)?;
        c.list_dbs()
    });
    let growth = peak_rss_kib().saturating_sub(before);
    let e = r.unwrap_err();
    assert!(matches!(e, Error::Protocol(_)), "{e:?}");
    assert!(e.to_string().contains("larger than"), "{e}");
    // Refused at the bound, long before the whole reply (the old client took over 6 s).
    assert!(took < T + Duration::from_secs(3), "took {took:?}");
    assert!(
        growth < RSS_GROWTH_LIMIT_KIB,
        "peak RSS grew by {growth} KiB"
    );
}

/// Sets the listen backlog to 0: one pending connection fills it.
#[allow(unsafe_code)]
fn backlog_zero(listener: &UnixListener) {
    use std::os::fd::AsRawFd;
    // SAFETY: listen(2) on a socket this function borrows; no memory is passed.
    let rc = unsafe { libc::listen(listener.as_raw_fd(), 0) };
    assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
}

#[test]
fn server_that_never_accepts_fails_within_the_deadline() {
    let _s = serial();
    let dir = std::env::temp_dir().join(format!("nfv-ovsdb-{}-noaccept", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("db.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    backlog_zero(&listener);
    // Fill the backlog: this one is queued, the next connect waits for an accept().
    let _queued = UnixStream::connect(&sock).unwrap();
    let s2 = sock.clone();
    let (r, took) = guarded("connect to a server that never accepts", move || {
        OvsdbClient::connect(Path::new(&s2), T).map(|_| ())
    });
    let e = r.unwrap_err();
    assert!(e.is_unreachable(), "{e:?}");
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
    // The deadline plus what a busy machine adds to scheduling; the old client never returned.
    assert!(took < T + Duration::from_secs(3), "took {took:?}");
    drop(listener);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn session_deadline_caps_every_call() {
    let _s = serial();
    // Answers each request 0.6 s late: each call is within its own 1 s, three are not within
    // the session's 1.5 s.
    let server = Server::start("session", |mut conn| {
        while let Some(req) = conn.request() {
            thread::sleep(Duration::from_millis(600));
            let reply = json!({"id": req["id"], "result": ["Open_vSwitch"], "error": null});
            if conn.write_all(reply.to_string().as_bytes()).is_err() {
                return;
            }
        }
    });
    let sock = server.socket();
    let (r, took) = guarded("three calls in one session", move || {
        let mut c = OvsdbClient::connect(&sock, T)?;
        c.set_session_deadline(Some(Instant::now() + Duration::from_millis(1500)));
        c.list_dbs()?;
        c.list_dbs()?;
        c.list_dbs()
    });
    let e = r.unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
    assert!(took < Duration::from_millis(3500), "took {took:?}");
}

#[test]
fn updates_for_a_forgotten_monitor_are_skipped_not_held() {
    let _s = serial();
    let server = Server::start("forgotten", |mut conn| {
        let req = conn.request().unwrap();
        let reply = json!({"id": req["id"], "result": {}, "error": null});
        conn.write_all(reply.to_string().as_bytes()).unwrap();
        let req = conn.request().unwrap();
        let update = json!({"id": null, "method": "update",
                            "params": ["cfg", {"Open_vSwitch": {"u": {"new": {"cur_cfg": 1}}}}]});
        for _ in 0..500 {
            conn.write_all(update.to_string().as_bytes()).unwrap();
        }
        let reply = json!({"id": req["id"], "result": ["Open_vSwitch"], "error": null});
        conn.write_all(reply.to_string().as_bytes()).unwrap();
        let _ = conn.request();
    });
    let sock = server.socket();
    let (r, _) = guarded("a call after forget_monitor", move || {
        let mut c = OvsdbClient::connect(&sock, T)?;
        let id = json!("cfg");
        c.monitor(
            "Open_vSwitch",
            &id,
            json!({"Open_vSwitch": {"columns": ["cur_cfg"]}}),
        )?;
        c.forget_monitor(&id);
        assert_eq!(c.list_dbs()?, ["Open_vSwitch"]);
        c.next_update_until(&id, Instant::now() + Duration::from_millis(200))
    });
    assert!(matches!(r, Err(Error::Timeout { .. })), "{r:?}");
}
