//! The OVSDB edge: one connection to ovsdb-server per invocation, the reads and writes built in
//! `ports.rs`, and waiting for ovs-vswitchd to apply them (`cur_cfg` reaching `next_cfg`, what
//! `ovs-vsctl` does without `--no-wait`).

use std::path::Path;
use std::time::{Duration, Instant};

use nfv_cni::{code, Error};
use nfv_ovsdb::{Atom, Error as OvsdbError, Operation, OperationResult, OvsdbClient};
use serde_json::json;

use crate::ports::{self, BridgeRow, OurPort, DB};

/// Plugin-defined CNI error codes.
pub mod errcode {
    /// ovsdb-server refused a transaction.
    pub const OVSDB: u32 = 110;
    /// ovs-vswitchd accepted the port but could not create it (`Interface.error`).
    pub const PORT: u32 = 111;
    /// ovs-vswitchd did not apply the change in time.
    pub const VSWITCHD: u32 = 112;
    /// The socket directory or the files in it.
    pub const SOCKET_DIR: u32 = 113;
    /// ADD for an attachment whose port already exists.
    pub const EXISTS: u32 = 114;
}

/// Maps a client error to a CNI error: unreachable is "try again later", the rest is ours.
pub fn cni_error(e: OvsdbError, what: &str) -> Error {
    let code = if e.is_unreachable() {
        code::TRY_AGAIN_LATER
    } else {
        errcode::OVSDB
    };
    Error::new(code, format!("{what}: {e}"))
}

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
    /// `Interface.error`, empty when the port works.
    pub error: Option<String>,
    pub tag: Option<i64>,
    pub exists: bool,
}

#[derive(Debug)]
pub struct Vswitch {
    client: OvsdbClient,
    timeout: Duration,
}

impl Vswitch {
    pub fn connect(socket: &Path, timeout: Duration) -> Result<Self, Error> {
        let client = OvsdbClient::connect(socket, timeout)
            .map_err(|e| cni_error(e, "connecting to Open vSwitch"))?;
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
            .map_err(|e| cni_error(e, "reading bridges and ports"))?;
        let parse = |e: OvsdbError| cni_error(e, "reading bridges and ports");
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
    /// watching `cur_cfg` with an OVSDB monitor rather than polling; false on timeout.
    pub fn wait_applied(&mut self, next_cfg: i64) -> Result<bool, OvsdbError> {
        let id = json!(["cur_cfg", next_cfg]);
        let initial =
            self.client
                .monitor(DB, &id, json!({"Open_vSwitch": {"columns": ["cur_cfg"]}}))?;
        if cur_cfg(&initial) >= next_cfg {
            return Ok(true);
        }
        let deadline = Instant::now() + self.timeout;
        loop {
            match self.client.next_update(&id) {
                Ok(u) if cur_cfg(&u) >= next_cfg => return Ok(true),
                Ok(_) => {}
                Err(OvsdbError::Timeout { .. }) => return Ok(false),
                Err(e) => return Err(e),
            }
            if Instant::now() >= deadline {
                return Ok(false);
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
