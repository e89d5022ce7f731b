//! A blocking client for the Open vSwitch Database Management Protocol (RFC 7047).
//!
//! One-shot CNI binaries talk to `ovsdb-server` over its unix socket: connect, run one or two
//! transactions, exit. No async runtime, no background threads. The pieces:
//!
//! - [`value`]: the OVSDB data model on the wire (atoms, sets, maps, uuids, named uuids; RFC 7047 5.1).
//! - [`operation`]: typed transaction operations (insert, select, update, mutate, delete, wait,
//!   comment; RFC 7047 5.2) that serialize to the exact JSON the server expects.
//! - [`reply`]: the `transact` reply, per-operation errors and commit failures (RFC 7047 4.1.3).
//! - [`stream`]: framing. JSON-RPC over a stream socket has no length prefix: values arrive split
//!   across reads or several in one read, so the reader scans a byte stream (each byte once, a
//!   message at most [`stream::MAX_MESSAGE`] bytes).
//! - [`client`]: [`OvsdbClient`], the JSON-RPC session: `list_dbs`, `echo`, `transact`, `monitor`
//!   with its `update` notifications; answers the server's own `echo` (inactivity probe). Each
//!   call has one total deadline, and what it holds or skips while waiting is bounded.
//! - [`error`]: one error type whose messages say what an operator should check.

pub mod client;
pub mod error;
pub mod operation;
pub mod reply;
pub mod stream;
pub mod value;

pub use client::{OvsdbClient, Transport, DEFAULT_SOCKET};
pub use error::Error;
pub use operation::{Condition, Function, Mutation, Mutator, Operation, WaitUntil};
pub use reply::OperationResult;
pub use value::{Atom, Row, Uuid, Value};
