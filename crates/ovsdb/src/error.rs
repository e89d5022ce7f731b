//! Errors of the OVSDB client, worded for the operator who reads them in a pod event.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong talking to ovsdb-server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The socket could not be opened: the server is down, the path is wrong, or we lack rights.
    #[error("cannot connect to ovsdb-server at {}: {}", path.display(), connect_hint(source))]
    Connect { path: PathBuf, source: io::Error },

    /// Reading or writing the socket failed after the connection was made.
    #[error("talking to ovsdb-server ({context}): {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },

    /// The server closed the connection before answering.
    #[error("ovsdb-server closed the connection while we waited for the reply to {context} (was it restarted or killed?)")]
    Closed { context: String },

    /// No answer in time.
    #[error("ovsdb-server did not answer {context} within {}s (is it overloaded or stopped?)", after.as_secs_f32())]
    Timeout { context: String, after: Duration },

    /// The bytes on the wire are not the protocol we expect.
    #[error("ovsdb-server sent something we do not understand: {0}")]
    Protocol(String),

    /// The server sent more than we hold or skip while waiting: notifications for a monitor
    /// nobody reads, or messages that are not the reply we wait for.
    #[error("ovsdb-server flooded the connection: {0}; we stopped reading rather than hold more (a real ovsdb-server does not do this: is the socket path right?)")]
    Flood(String),

    /// The JSON-RPC request itself was refused (unknown database, malformed request).
    #[error("ovsdb-server refused {method}: {error}{}", fmt_details(details))]
    Rpc {
        method: String,
        error: String,
        details: String,
    },

    /// One operation of a transaction failed; nothing of the transaction was applied.
    #[error(
        "operation {index} ({op}) failed, nothing was changed: {error}{}{}",
        fmt_details(details),
        op_hint(error)
    )]
    Operation {
        index: usize,
        op: String,
        error: String,
        details: String,
    },

    /// Every operation succeeded but the commit was refused (constraints, referential integrity).
    #[error(
        "the transaction was refused at commit, nothing was changed: {error}{}{}",
        fmt_details(details),
        op_hint(error)
    )]
    Commit { error: String, details: String },
}

impl Error {
    /// True when ovsdb-server cannot be reached at all (STATUS maps this to "not available").
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            Error::Connect { .. } | Error::Closed { .. } | Error::Timeout { .. }
        )
    }

    /// The OVSDB error string of a failed operation or commit ("constraint violation", ...).
    pub fn ovsdb_error(&self) -> Option<&str> {
        match self {
            Error::Operation { error, .. } | Error::Commit { error, .. } => Some(error),
            Error::Rpc { error, .. } => Some(error),
            _ => None,
        }
    }
}

fn fmt_details(details: &str) -> String {
    if details.is_empty() {
        String::new()
    } else {
        format!(" ({details})")
    }
}

fn connect_hint(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => {
            "the socket does not exist; is ovsdb-server running, and is the socket path right?"
                .into()
        }
        io::ErrorKind::ConnectionRefused => {
            "nobody is listening on the socket; ovsdb-server is not running".into()
        }
        io::ErrorKind::PermissionDenied => {
            "permission denied; run as root or give this user access to the socket".into()
        }
        _ => e.to_string(),
    }
}

/// What the standard OVSDB error strings (RFC 7047 section 4.1.3 and 5.2) mean for the caller.
fn op_hint(error: &str) -> &'static str {
    match error {
        "constraint violation" => "; a row with the same unique name already exists, or a value is out of the column's range",
        "referential integrity violation" => "; a row would point at a row that does not exist",
        "timed out" => "; the state changed under us (another client edited the same rows), retry",
        "not owner" => "; another client holds the lock",
        "resources exhausted" => "; the database is full",
        "I/O error" => "; ovsdb-server could not write its database file",
        "duplicate uuid-name" | "unknown column" | "unknown table" | "syntax error" => {
            "; this is a bug in the caller or a schema it does not support"
        }
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_errors_say_what_to_check() {
        let e = Error::Connect {
            path: "/run/db.sock".into(),
            source: io::Error::from_raw_os_error(2),
        };
        assert!(e.to_string().contains("is ovsdb-server running"), "{e}");
        assert!(e.is_unreachable());
        let e = Error::Connect {
            path: "/run/db.sock".into(),
            source: io::Error::from_raw_os_error(111),
        };
        assert!(e.to_string().contains("not running"), "{e}");
    }

    #[test]
    fn operation_errors_explain_standard_strings() {
        let e = Error::Operation {
            index: 2,
            op: "insert into Port".into(),
            error: "constraint violation".into(),
            details: "Transaction causes multiple rows in \"Port\" table to have identical values"
                .into(),
        };
        let s = e.to_string();
        assert!(
            s.starts_with("operation 2 (insert into Port) failed"),
            "{s}"
        );
        assert!(s.contains("same unique name already exists"), "{s}");
        assert!(!e.is_unreachable());
    }
}
