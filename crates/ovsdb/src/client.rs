//! [`OvsdbClient`]: a blocking JSON-RPC 1.0 session with ovsdb-server (RFC 7047 section 4).
//!
//! Time and memory are bounded whatever the server does (docs/design.md, "Deadlines and
//! bounds"):
//! - each call (connecting, or one request and its reply) has one deadline, computed when the
//!   call starts; every read and write waits only for what is left of it, so a server that
//!   trickles a byte now and then cannot stretch a call past it. An optional session deadline
//!   ([`OvsdbClient::set_session_deadline`]) caps every call on the connection;
//! - a message is at most [`MAX_MESSAGE`] bytes;
//! - `update` notifications held for a monitor are at most [`MAX_HELD_UPDATES`] and
//!   [`MAX_HELD_BYTES`]; messages skipped while waiting for one reply (notifications for nobody,
//!   stale replies, the server's echo requests) at most [`MAX_SKIPPED`] and [`MAX_SKIPPED_BYTES`].
//!   A server past either bound gets [`Error::Flood`], not our memory.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

use crate::error::Error;
use crate::operation::Operation;
use crate::reply::{parse_transact, OperationResult};
use crate::stream::JsonStream;
pub use crate::stream::MAX_MESSAGE;

/// Where Open vSwitch puts the database socket by default.
pub const DEFAULT_SOCKET: &str = "/var/run/openvswitch/db.sock";

/// `update` notifications held for monitors until someone reads them. The plugins' one monitor
/// (`cur_cfg`) gets one update per configuration change on the node, and the plugins forget it
/// when their wait ends.
pub const MAX_HELD_UPDATES: usize = 1024;
/// Bytes of held `update` notifications (a `cur_cfg` update is about 150 bytes).
pub const MAX_HELD_BYTES: usize = 1 << 20;
/// Messages skipped while waiting for one reply. A real server sends an echo request every few
/// seconds, a stale reply after a call of ours timed out, and the updates of monitors we
/// forgot that piled up in the socket buffer since the last call (the kernel holds about
/// 200 KiB, some 2,000 small notifications): 16,384 is eight times that.
pub const MAX_SKIPPED: usize = 16 << 10;
/// Bytes of messages skipped while waiting for one reply: room for a stale reply of the
/// largest size and the socket buffer's worth of notifications, twice over.
pub const MAX_SKIPPED_BYTES: usize = 2 * MAX_MESSAGE;

/// A byte stream whose reads and writes can each be given a time limit: what the client needs to
/// keep one deadline over a whole call.
pub trait Transport: Read + Write {
    /// Every read from now on gives up after `limit` (never zero).
    fn limit_reads(&mut self, limit: Duration) -> io::Result<()>;
    /// Every write from now on gives up after `limit` (never zero).
    fn limit_writes(&mut self, limit: Duration) -> io::Result<()>;
}

impl Transport for UnixStream {
    fn limit_reads(&mut self, limit: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(limit))
    }

    fn limit_writes(&mut self, limit: Duration) -> io::Result<()> {
        self.set_write_timeout(Some(limit))
    }
}

/// When one call must be over, and the time it was given (for the message).
#[derive(Debug, Clone, Copy)]
struct Deadline {
    at: Instant,
    budget: Duration,
}

impl Deadline {
    fn until(at: Instant) -> Deadline {
        Deadline {
            at,
            budget: at.saturating_duration_since(Instant::now()),
        }
    }

    /// What is left, `None` once it has passed.
    fn left(&self) -> Option<Duration> {
        Some(self.at.saturating_duration_since(Instant::now())).filter(|d| !d.is_zero())
    }
}

/// Messages skipped during one call, against [`MAX_SKIPPED`] and [`MAX_SKIPPED_BYTES`].
#[derive(Debug, Default)]
struct Skipped {
    count: usize,
    bytes: usize,
}

impl Skipped {
    fn add(&mut self, bytes: usize, context: &str) -> Result<(), Error> {
        self.count += 1;
        self.bytes += bytes;
        if self.count > MAX_SKIPPED || self.bytes > MAX_SKIPPED_BYTES {
            return Err(Error::Flood(format!(
                "{} messages ({} bytes) arrived while we waited for {context}, none of them \
                 the answer (we skip at most {MAX_SKIPPED} messages or {} MiB)",
                self.count,
                self.bytes,
                MAX_SKIPPED_BYTES >> 20
            )));
        }
        Ok(())
    }
}

/// A connection to ovsdb-server. Requests are sent one at a time; while waiting for a reply the
/// client answers the server's `echo` requests (its inactivity probe), holds `update`
/// notifications for the monitors it started and skips anything else.
#[derive(Debug)]
pub struct OvsdbClient<S = UnixStream> {
    stream: S,
    frames: JsonStream,
    next_id: u64,
    /// The total time one call may take.
    timeout: Duration,
    /// No call waits past this.
    session_end: Option<Instant>,
    /// Monitors whose `update` notifications are held.
    monitors: Vec<Json>,
    /// `update` notifications not read yet: (monitor id, table-updates, size on the wire).
    updates: VecDeque<(Json, Json, usize)>,
    held_bytes: usize,
}

impl OvsdbClient<UnixStream> {
    /// Connects to the unix socket at `path`, giving up after `timeout`; every later call
    /// (request and reply) gives up `timeout` after it starts.
    pub fn connect(path: &Path, timeout: Duration) -> Result<Self, Error> {
        let stream = connect_within(path, timeout)?;
        Ok(OvsdbClient::from_stream(stream, timeout))
    }
}

/// `connect(2)` on a unix socket waits while the listener's backlog is full, for as long as the
/// server does not accept: without a limit, forever. std has no connect timeout for unix sockets
/// and this crate has no `unsafe`, so the connect runs on a helper thread and we stop waiting for
/// it at the deadline; a thread still stuck there ends with the (one-shot) process, and a
/// connection it makes late is closed at once.
fn connect_within(path: &Path, timeout: Duration) -> Result<UnixStream, Error> {
    let connect_error = |source| Error::Connect {
        path: path.to_path_buf(),
        source,
    };
    let (tx, rx) = mpsc::channel();
    let target = path.to_path_buf();
    thread::Builder::new()
        .name("ovsdb-connect".into())
        .spawn(move || {
            let _ = tx.send(UnixStream::connect(&target));
        })
        .map_err(connect_error)?;
    match rx.recv_timeout(timeout) {
        Ok(r) => r.map_err(connect_error),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(Error::Timeout {
            context: format!("the connection on {}", path.display()),
            after: timeout,
        }),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(connect_error(io::Error::other(
            "the connecting thread ended without a result",
        ))),
    }
}

impl<S: Transport> OvsdbClient<S> {
    /// Wraps an already connected stream (tests use a socket pair with a scripted peer). Every
    /// call gives up `timeout` after it starts: the client sets the stream's read and write
    /// timeouts to what is left before each read and write.
    pub fn from_stream(stream: S, timeout: Duration) -> Self {
        OvsdbClient {
            stream,
            frames: JsonStream::new(),
            next_id: 0,
            timeout,
            session_end: None,
            monitors: Vec::new(),
            updates: VecDeque::new(),
            held_bytes: 0,
        }
    }

    /// No call on this connection waits past `end` (`None`: each call has its own timeout only).
    /// A caller that makes several calls for one job bounds the whole job with this.
    pub fn set_session_deadline(&mut self, end: Option<Instant>) {
        self.session_end = end;
    }

    /// The deadline of a call starting now: the timeout, cut short by the session deadline.
    fn deadline(&self) -> Deadline {
        self.deadline_by(Instant::now() + self.timeout)
    }

    fn deadline_by(&self, at: Instant) -> Deadline {
        Deadline::until(self.session_end.map_or(at, |end| end.min(at)))
    }

    /// `list_dbs`: the names of the databases the server holds (RFC 7047 4.1.1).
    pub fn list_dbs(&mut self) -> Result<Vec<String>, Error> {
        let r = self.call("list_dbs", json!([]))?;
        r.as_array()
            .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_string)).collect())
            .ok_or_else(|| Error::Protocol(format!("list_dbs returned {r}")))
    }

    /// `echo`: a liveness check; the server must send `params` back (RFC 7047 4.1.11).
    pub fn echo(&mut self) -> Result<(), Error> {
        let params = json!(["nfv-ovsdb"]);
        let r = self.call("echo", params.clone())?;
        if r == params {
            Ok(())
        } else {
            Err(Error::Protocol(format!("echo came back as {r}")))
        }
    }

    /// `transact` on database `db`: all operations commit together or none does (RFC 7047 4.1.3).
    pub fn transact(&mut self, db: &str, ops: &[Operation]) -> Result<Vec<OperationResult>, Error> {
        let mut params = vec![json!(db)];
        params.extend(ops.iter().map(Operation::to_json));
        let r = self.call("transact", Json::Array(params))?;
        parse_transact(ops, &r)
    }

    /// `monitor` (RFC 7047 4.1.5): returns the initial `<table-updates>` for `requests`
    /// (`{"Table": {"columns": [..]}}`); later changes arrive as `update` notifications, held
    /// until read with [`OvsdbClient::next_update`] or dropped by
    /// [`OvsdbClient::forget_monitor`].
    pub fn monitor(&mut self, db: &str, monitor_id: &Json, requests: Json) -> Result<Json, Error> {
        self.forget_monitor(monitor_id);
        self.monitors.push(monitor_id.clone());
        let r = self.call("monitor", json!([db, monitor_id, requests]));
        if r.is_err() {
            self.forget_monitor(monitor_id);
        }
        r
    }

    /// Stops holding `update` notifications for `monitor_id` and drops those held. The server
    /// keeps sending them until the connection closes; they are skipped from now on.
    pub fn forget_monitor(&mut self, monitor_id: &Json) {
        self.monitors.retain(|id| id != monitor_id);
        let mut freed = 0;
        self.updates.retain(|(id, _, size)| {
            let keep = id != monitor_id;
            if !keep {
                freed += size;
            }
            keep
        });
        self.held_bytes -= freed;
    }

    /// Blocks until the next `update` notification for `monitor_id` and returns its
    /// `<table-updates>`. Gives up with [`Error::Timeout`] when nothing arrives within the
    /// client's timeout.
    pub fn next_update(&mut self, monitor_id: &Json) -> Result<Json, Error> {
        let deadline = self.deadline();
        self.next_update_within(monitor_id, deadline)
    }

    /// [`OvsdbClient::next_update`] giving up at `deadline` (or the session deadline, if sooner)
    /// instead: for a caller that waits for a condition over several updates.
    pub fn next_update_until(
        &mut self,
        monitor_id: &Json,
        deadline: Instant,
    ) -> Result<Json, Error> {
        let deadline = self.deadline_by(deadline);
        self.next_update_within(monitor_id, deadline)
    }

    fn next_update_within(&mut self, monitor_id: &Json, deadline: Deadline) -> Result<Json, Error> {
        let context = "an update notification";
        let mut skipped = Skipped::default();
        loop {
            if let Some(pos) = self.updates.iter().position(|(id, ..)| id == monitor_id) {
                if let Some((_, u, size)) = self.updates.remove(pos) {
                    self.held_bytes -= size;
                    return Ok(u);
                }
            }
            let msg = self.receive(context, &deadline)?;
            if !self.handle_request(&msg, context, &deadline, &mut skipped)? {
                // A reply when we wait for no reply: a stale one.
                skipped.add(self.frames.last_size(), context)?;
            }
        }
    }

    /// Answers the server's `echo`, holds `update` notifications for our monitors and skips
    /// other requests and notifications; false if `msg` is not a request or notification.
    fn handle_request(
        &mut self,
        msg: &Json,
        context: &str,
        deadline: &Deadline,
        skipped: &mut Skipped,
    ) -> Result<bool, Error> {
        let Some(m) = msg.get("method").and_then(Json::as_str) else {
            return Ok(false);
        };
        let size = self.frames.last_size();
        match (m, msg["params"].as_array().map(Vec::as_slice)) {
            ("echo", _) if !msg["id"].is_null() => {
                skipped.add(size, context)?;
                let reply = json!({"result": msg["params"], "error": null, "id": msg["id"]});
                self.send(&reply, "the reply to the server's echo", deadline)?;
            }
            ("update", Some([id, u])) if self.monitors.contains(id) => {
                if self.updates.len() >= MAX_HELD_UPDATES || self.held_bytes + size > MAX_HELD_BYTES
                {
                    return Err(Error::Flood(format!(
                        "more update notifications for monitor {id} arrived than we hold \
                         unread ({MAX_HELD_UPDATES} messages or {} KiB)",
                        MAX_HELD_BYTES >> 10
                    )));
                }
                self.updates.push_back((id.clone(), u.clone(), size));
                self.held_bytes += size;
            }
            _ => skipped.add(size, context)?,
        }
        Ok(true)
    }

    /// Sends any request and returns its `result`; an `error` in the reply becomes [`Error::Rpc`].
    /// The whole call (sending, and reading everything up to the reply) gives up at the
    /// client's timeout after it starts, or at the session deadline if that comes first.
    pub fn call(&mut self, method: &str, params: Json) -> Result<Json, Error> {
        let deadline = self.deadline();
        let id = self.next_id;
        self.next_id += 1;
        self.send(
            &json!({"method": method, "params": params, "id": id}),
            method,
            &deadline,
        )?;
        let mut skipped = Skipped::default();
        loop {
            let msg = self.receive(method, &deadline)?;
            if self.handle_request(&msg, method, &deadline, &mut skipped)? {
                continue;
            }
            if msg.get("id") != Some(&json!(id)) {
                // A late reply to an earlier request that timed out; not ours.
                skipped.add(self.frames.last_size(), method)?;
                continue;
            }
            return match msg.get("error") {
                Some(e) if !e.is_null() => Err(Error::Rpc {
                    method: method.to_string(),
                    error: e
                        .get("error")
                        .and_then(Json::as_str)
                        .or(e.as_str())
                        .map_or_else(|| e.to_string(), str::to_string),
                    details: e
                        .get("details")
                        .and_then(Json::as_str)
                        .unwrap_or_default()
                        .to_string(),
                }),
                _ => msg
                    .get("result")
                    .cloned()
                    .ok_or_else(|| Error::Protocol(format!("reply to {method} has no result"))),
            };
        }
    }

    fn send(&mut self, msg: &Json, context: &str, deadline: &Deadline) -> Result<(), Error> {
        let bytes = serde_json::to_vec(msg)
            .map_err(|e| Error::Protocol(format!("cannot encode {context}: {e}")))?;
        let mut sent = 0;
        while sent < bytes.len() {
            let left = deadline.left().ok_or_else(|| timeout(context, deadline))?;
            let written = self
                .stream
                .limit_writes(left)
                .and_then(|()| self.stream.write(&bytes[sent..]));
            match written {
                Ok(0) => {
                    return Err(Error::Closed {
                        context: context.to_string(),
                    })
                }
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_error(e, context, deadline)),
            }
        }
        self.stream
            .flush()
            .map_err(|e| io_error(e, context, deadline))
    }

    fn receive(&mut self, context: &str, deadline: &Deadline) -> Result<Json, Error> {
        let mut buf = [0u8; 16 * 1024];
        loop {
            if let Some(v) = self.frames.next_value()? {
                return Ok(v);
            }
            let left = deadline.left().ok_or_else(|| timeout(context, deadline))?;
            let read = self
                .stream
                .limit_reads(left)
                .and_then(|()| self.stream.read(&mut buf));
            let n = match read {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_error(e, context, deadline)),
            };
            if n == 0 {
                let context = if self.frames.pending() > 0 {
                    format!("{context} (the reply was cut off)")
                } else {
                    context.to_string()
                };
                return Err(Error::Closed { context });
            }
            self.frames.push(&buf[..n]);
        }
    }
}

fn timeout(context: &str, deadline: &Deadline) -> Error {
    Error::Timeout {
        context: context.to_string(),
        after: deadline.budget,
    }
}

fn io_error(e: io::Error, context: &str, deadline: &Deadline) -> Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => timeout(context, deadline),
        io::ErrorKind::BrokenPipe
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted => Error::Closed {
            context: context.to_string(),
        },
        _ => Error::Io {
            context: context.to_string(),
            source: e,
        },
    }
}
