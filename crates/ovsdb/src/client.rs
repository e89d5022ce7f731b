//! [`OvsdbClient`]: a blocking JSON-RPC 1.0 session with ovsdb-server (RFC 7047 section 4).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value as Json};

use crate::error::Error;
use crate::operation::Operation;
use crate::reply::{parse_transact, OperationResult};
use crate::stream::JsonStream;

/// Where Open vSwitch puts the database socket by default.
pub const DEFAULT_SOCKET: &str = "/var/run/openvswitch/db.sock";

/// A connection to ovsdb-server. Requests are sent one at a time; while waiting for a reply the
/// client answers the server's `echo` requests (its inactivity probe) and skips notifications.
#[derive(Debug)]
pub struct OvsdbClient<S = UnixStream> {
    stream: S,
    frames: JsonStream,
    next_id: u64,
    timeout: Duration,
    /// `update` notifications that arrived while waiting for a reply: (monitor id, table-updates).
    updates: VecDeque<(Json, Json)>,
}

impl OvsdbClient<UnixStream> {
    /// Connects to the unix socket at `path`; every read and write gives up after `timeout`.
    pub fn connect(path: &Path, timeout: Duration) -> Result<Self, Error> {
        let stream = UnixStream::connect(path).map_err(|source| Error::Connect {
            path: path.to_path_buf(),
            source,
        })?;
        let set = |r: io::Result<()>| {
            r.map_err(|source| Error::Connect {
                path: path.to_path_buf(),
                source,
            })
        };
        set(stream.set_read_timeout(Some(timeout)))?;
        set(stream.set_write_timeout(Some(timeout)))?;
        Ok(OvsdbClient::from_stream(stream, timeout))
    }
}

impl<S: Read + Write> OvsdbClient<S> {
    /// Wraps an already connected stream (tests use a socket pair with a scripted peer).
    /// `timeout` is only used in messages: the stream's own timeouts do the waiting.
    pub fn from_stream(stream: S, timeout: Duration) -> Self {
        OvsdbClient {
            stream,
            frames: JsonStream::new(),
            next_id: 0,
            timeout,
            updates: VecDeque::new(),
        }
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
    /// (`{"Table": {"columns": [..]}}`); later changes arrive as `update` notifications, read
    /// with [`OvsdbClient::next_update`].
    pub fn monitor(&mut self, db: &str, monitor_id: &Json, requests: Json) -> Result<Json, Error> {
        self.updates.retain(|(id, _)| id != monitor_id);
        self.call("monitor", json!([db, monitor_id, requests]))
    }

    /// Blocks until the next `update` notification for `monitor_id` and returns its
    /// `<table-updates>`. Gives up with [`Error::Timeout`] when nothing arrives within the
    /// stream's read timeout.
    pub fn next_update(&mut self, monitor_id: &Json) -> Result<Json, Error> {
        loop {
            if let Some(pos) = self.updates.iter().position(|(id, _)| id == monitor_id) {
                if let Some((_, u)) = self.updates.remove(pos) {
                    return Ok(u);
                }
            }
            let msg = self.receive("an update notification")?;
            self.handle_request(&msg)?;
        }
    }

    /// Answers the server's `echo` and queues `update` notifications; false if `msg` is not a
    /// request or notification from the server.
    fn handle_request(&mut self, msg: &Json) -> Result<bool, Error> {
        let Some(m) = msg.get("method").and_then(Json::as_str) else {
            return Ok(false);
        };
        match m {
            "echo" if !msg["id"].is_null() => {
                let reply = json!({"result": msg["params"], "error": null, "id": msg["id"]});
                self.send(&reply, "the reply to the server's echo")?;
            }
            "update" => {
                if let Some([id, u]) = msg["params"].as_array().map(Vec::as_slice) {
                    self.updates.push_back((id.clone(), u.clone()));
                }
            }
            _ => {}
        }
        Ok(true)
    }

    /// Sends any request and returns its `result`; an `error` in the reply becomes [`Error::Rpc`].
    pub fn call(&mut self, method: &str, params: Json) -> Result<Json, Error> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(
            &json!({"method": method, "params": params, "id": id}),
            method,
        )?;
        loop {
            let msg = self.receive(method)?;
            if self.handle_request(&msg)? {
                continue;
            }
            if msg.get("id") != Some(&json!(id)) {
                // A late reply to an earlier request that timed out; not ours.
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

    fn send(&mut self, msg: &Json, context: &str) -> Result<(), Error> {
        let bytes = serde_json::to_vec(msg)
            .map_err(|e| Error::Protocol(format!("cannot encode {context}: {e}")))?;
        self.stream
            .write_all(&bytes)
            .and_then(|()| self.stream.flush())
            .map_err(|e| self.io_error(e, context))
    }

    fn receive(&mut self, context: &str) -> Result<Json, Error> {
        let mut buf = [0u8; 16 * 1024];
        loop {
            if let Some(v) = self.frames.next_value()? {
                return Ok(v);
            }
            let n = match self.stream.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_error(e, context)),
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

    fn io_error(&self, e: io::Error, context: &str) -> Error {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::Timeout {
                context: context.to_string(),
                after: self.timeout,
            },
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
}
