//! The OVSDB edge: one connection to ovsdb-server per invocation, the reads and writes built in
//! `ports.rs`, and waiting for ovs-vswitchd to apply them (`cur_cfg` reaching `next_cfg`, what
//! `ovs-vsctl` does without `--no-wait`).
//!
//! Waits (docs/design.md, "Deadlines and bounds"): with `ovsTimeout` = T, connecting takes at
//! most T, any one call to ovsdb-server at most T, waiting for ovs-vswitchd to apply a change at
//! most T in total, and everything on one connection at most [`SESSION_TIMEOUTS`] × T, however
//! many calls a verb makes (retries included).

use std::path::Path;
use std::time::{Duration, Instant};

use nfv_cni::Error;
use nfv_ovsdb::{Atom, Error as OvsdbError, Operation, OperationResult, OvsdbClient};
use serde_json::json;

use crate::codes::from_ovsdb;
use crate::ports::{self, BridgeRow, OurPort, DB};

/// The highest `cur_cfg` in a monitor's `<table-updates>` for Open_vSwitch (0 if none).
fn cur_cfg(updates: &serde_json::Value) -> i64 {
    updates["Open_vSwitch"]
        .as_object()
        .map(|rows| {
            rows.values()
                .filter_map(|r| r["new"]["cur_cfg"].as_i64())
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0)
}

/// What ovs-vswitchd made of one of our interfaces.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InterfaceState {
    pub iface_type: String,
    pub vhost_server_path: Option<String>,
    /// `options:dpdk-devargs` (memif ports).
    pub dpdk_devargs: Option<String>,
    /// `Interface.error`, empty when the port works.
    pub error: Option<String>,
    pub tag: Option<i64>,
    pub exists: bool,
}

/// All the work on one connection ends within this many `ovsTimeout`s: room for one full wait
/// for ovs-vswitchd plus the round trips to ovsdb-server around it, which take milliseconds
/// when the server is healthy. A server that answers each call just before its deadline cannot
/// make a verb's retries add up to minutes. ADD's rollback, when this budget is spent, opens a
/// fresh connection with a budget of its own.
pub const SESSION_TIMEOUTS: u32 = 2;

#[derive(Debug)]
pub struct Vswitch {
    client: OvsdbClient,
    timeout: Duration,
}

impl Vswitch {
    pub fn connect(socket: &Path, timeout: Duration) -> Result<Self, Error> {
        let end = Instant::now() + timeout * SESSION_TIMEOUTS;
        let mut client = OvsdbClient::connect(socket, timeout)
            .map_err(|e| from_ovsdb(e, "connecting to Open vSwitch"))?;
        client.set_session_deadline(Some(end));
        Ok(Vswitch { client, timeout })
    }

    /// Liveness for STATUS: the server answers and holds the Open_vSwitch database.
    pub fn has_database(&mut self) -> Result<bool, OvsdbError> {
        Ok(self.client.list_dbs()?.iter().any(|d| d == DB))
    }

    pub fn transact(
        &mut self,
        ops: &[Operation],
        what: &str,
    ) -> Result<Vec<OperationResult>, OvsdbError> {
        nfv_cni::debug!("{what}: {} operations", ops.len());
        self.client.transact(DB, ops).inspect_err(|e| {
            nfv_cni::debug!("{what} failed: {e}");
        })
    }

    /// Every bridge and our ports matching `filter`.
    pub fn read(
        &mut self,
        filter: &[(&str, &str)],
    ) -> Result<(Vec<BridgeRow>, Vec<OurPort>), Error> {
        let r = self
            .transact(&ports::read_ops(filter), "reading bridges and ports")
            .map_err(|e| from_ovsdb(e, "reading bridges and ports"))?;
        let parse = |e: OvsdbError| from_ovsdb(e, "reading bridges and ports");
        let bridges = r[0]
            .rows
            .iter()
            .map(BridgeRow::from_row)
            .collect::<Result<_, _>>()
            .map_err(parse)?;
        let ours = r[1]
            .rows
            .iter()
            .map(OurPort::from_row)
            .collect::<Result<_, _>>()
            .map_err(parse)?;
        Ok((bridges, ours))
    }

    /// `next_cfg` as returned by the `select` at `at` of a write.
    pub fn next_cfg(results: &[OperationResult], at: usize) -> Option<i64> {
        results
            .get(at)?
            .rows
            .first()?
            .get("next_cfg")
            .ok()?
            .opt_i64()
    }

    /// Waits until ovs-vswitchd has applied configuration `next_cfg` (`cur_cfg >= next_cfg`),
    /// watching `cur_cfg` with an OVSDB monitor rather than polling; false when that has not
    /// happened within the timeout, counted once from the start (the monitor call included),
    /// however the updates arrive.
    pub fn wait_applied(&mut self, next_cfg: i64) -> Result<bool, OvsdbError> {
        let deadline = Instant::now() + self.timeout;
        let id = json!(["cur_cfg", next_cfg]);
        let applied = self.watch_cur_cfg(&id, next_cfg, deadline);
        // Later updates of this monitor would only pile up: skip them from now on.
        self.client.forget_monitor(&id);
        applied
    }

    fn watch_cur_cfg(
        &mut self,
        id: &serde_json::Value,
        next_cfg: i64,
        deadline: Instant,
    ) -> Result<bool, OvsdbError> {
        let initial =
            self.client
                .monitor(DB, id, json!({"Open_vSwitch": {"columns": ["cur_cfg"]}}))?;
        if cur_cfg(&initial) >= next_cfg {
            return Ok(true);
        }
        loop {
            match self.client.next_update_until(id, deadline) {
                Ok(u) if cur_cfg(&u) >= next_cfg => return Ok(true),
                Ok(_) => {}
                Err(OvsdbError::Timeout { .. }) => return Ok(false),
                Err(e) => return Err(e),
            }
        }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The interface and port named `port` as OVS sees them now.
    pub fn interface_state(&mut self, port: &str) -> Result<InterfaceState, OvsdbError> {
        let r = self.client.transact(DB, &ports::state_ops(port))?;
        let mut s = InterfaceState::default();
        if let Some(row) = r[1].rows.first() {
            s.exists = true;
            s.iface_type = row.get("type")?.opt_str().unwrap_or_default().to_string();
            s.vhost_server_path = row
                .get("options")?
                .map_get("vhost-server-path")
                .and_then(Atom::as_str)
                .map(str::to_string);
            s.dpdk_devargs = row
                .get("options")?
                .map_get("dpdk-devargs")
                .and_then(Atom::as_str)
                .map(str::to_string);
            s.error = row.get("error")?.opt_str().map(str::to_string);
        }
        if let Some(row) = r[2].rows.first() {
            s.tag = row.get("tag")?.opt_i64();
        } else {
            s.exists = false;
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    //! The waits against a fake ovsdb-server that stalls: each must end within its bound. A
    //! guard fails the test instead of hanging when a wait has no total deadline.

    use super::*;
    use nfv_ovsdb::stream::JsonStream;
    use serde_json::Value;
    use std::io::{Read, Write};
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::path::PathBuf;
    use std::sync::mpsc;
    use std::thread;

    const T: Duration = Duration::from_millis(600);

    struct Fake {
        dir: PathBuf,
    }

    impl Fake {
        fn start(name: &str, behave: impl FnOnce(UnixStream) + Send + 'static) -> Fake {
            let dir =
                std::env::temp_dir().join(format!("nfv-vswitch-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let listener = UnixListener::bind(dir.join("db.sock")).unwrap();
            thread::spawn(move || {
                if let Ok((conn, _)) = listener.accept() {
                    behave(conn);
                }
            });
            Fake { dir }
        }
    }

    impl Drop for Fake {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn request(conn: &mut UnixStream, frames: &mut JsonStream) -> Option<Value> {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(v) = frames.next_value().ok()? {
                return Some(v);
            }
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => return None,
                Ok(n) => frames.push(&buf[..n]),
            }
        }
    }

    fn reply(conn: &mut UnixStream, req: &Value, result: Value) -> bool {
        let r = json!({"id": req["id"], "result": result, "error": null});
        conn.write_all(r.to_string().as_bytes()).is_ok()
    }

    /// Runs `f` on a thread; panics when it has not returned within `limit`.
    fn guarded<R: Send + 'static>(
        limit: Duration,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> (R, Duration) {
        let (tx, rx) = mpsc::channel();
        let start = Instant::now();
        thread::spawn(move || {
            let _ = tx.send(f());
        });
        match rx.recv_timeout(limit) {
            Ok(r) => (r, start.elapsed()),
            Err(_) => panic!("no answer within {limit:?}: the wait has no total deadline"),
        }
    }

    #[test]
    fn a_trickled_cur_cfg_update_ends_the_wait_at_the_timeout() {
        let fake = Fake::start("trickle", |mut conn| {
            let mut frames = JsonStream::new();
            let req = request(&mut conn, &mut frames).unwrap();
            let initial = json!({"Open_vSwitch": {"u": {"new": {"cur_cfg": 4}}}});
            reply(&mut conn, &req, initial);
            let update = json!({"id": null, "method": "update", "params": [req["params"][1],
                                {"Open_vSwitch": {"u": {"new": {"cur_cfg": 5}}}}]});
            for b in update.to_string().bytes() {
                if conn.write_all(&[b]).is_err() {
                    return;
                }
                thread::sleep(Duration::from_millis(200));
            }
        });
        let sock = fake.dir.join("db.sock");
        let (r, took) = guarded(T + Duration::from_secs(5), move || {
            let mut vs = Vswitch::connect(&sock, T).unwrap();
            vs.wait_applied(5)
        });
        assert!(!r.unwrap(), "not applied");
        // The whole update would take 20 s to trickle in; a busy machine may add scheduling
        // delay to the deadline, never that much.
        assert!(took < T + Duration::from_secs(3), "took {took:?}");
    }

    #[test]
    fn a_server_answering_each_call_late_gets_one_session_budget() {
        // Each answer comes at 0.8 T: every call is within its own T, but five are not within
        // the connection's SESSION_TIMEOUTS x T.
        let fake = Fake::start("late", |mut conn| {
            let mut frames = JsonStream::new();
            while let Some(req) = request(&mut conn, &mut frames) {
                thread::sleep(T * 4 / 5);
                if !reply(&mut conn, &req, json!(["Open_vSwitch"])) {
                    return;
                }
            }
        });
        let sock = fake.dir.join("db.sock");
        let (r, took) = guarded(T * 10, move || {
            let mut vs = Vswitch::connect(&sock, T).unwrap();
            (0..5).try_for_each(|_| vs.has_database().map(|_| ()))
        });
        assert!(matches!(r, Err(OvsdbError::Timeout { .. })), "{r:?}");
        // Five answers at 0.8 T each would take 4 T; the session budget ends it at 2 T (plus
        // whatever a busy machine adds to the scheduling).
        assert!(
            took < T * SESSION_TIMEOUTS + Duration::from_millis(1500),
            "took {took:?}"
        );
    }

    #[test]
    fn updates_after_the_wait_are_not_held() {
        // vswitchd applies at once; then the node keeps changing (cfg bumps from other pods):
        // a later call on the same connection must not queue those updates.
        let fake = Fake::start("later", |mut conn| {
            let mut frames = JsonStream::new();
            let req = request(&mut conn, &mut frames).unwrap();
            let monitor_id = req["params"][1].clone();
            reply(
                &mut conn,
                &req,
                json!({"Open_vSwitch": {"u": {"new": {"cur_cfg": 7}}}}),
            );
            let req = request(&mut conn, &mut frames).unwrap();
            for cfg in 8..3000 {
                let update = json!({"id": null, "method": "update", "params": [monitor_id,
                                    {"Open_vSwitch": {"u": {"new": {"cur_cfg": cfg}}}}]});
                if conn.write_all(update.to_string().as_bytes()).is_err() {
                    return;
                }
                // Spread over several reads, as a busy node would.
                if cfg % 500 == 0 {
                    thread::sleep(Duration::from_millis(5));
                }
            }
            reply(&mut conn, &req, json!(["Open_vSwitch"]));
        });
        let sock = fake.dir.join("db.sock");
        // Not a timing test: a generous timeout, so a busy machine parsing the 3000 updates in a
        // debug build cannot fail it; what it checks is that they are skipped, not held.
        let (r, _) = guarded(Duration::from_secs(60), move || {
            let mut vs = Vswitch::connect(&sock, Duration::from_secs(20)).unwrap();
            assert!(vs.wait_applied(7).unwrap());
            vs.has_database()
        });
        assert!(
            r.unwrap(),
            "the call after the wait skips the piled-up updates"
        );
    }
}
