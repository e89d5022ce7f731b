//! CNI errors: the spec's well-known codes and the JSON a plugin prints on failure.
//!
//! Spec, section "Error": `{"cniVersion", "code", "msg", "details"}` on stdout, non-zero exit.
//! Codes 1-99 are reserved by the spec; 100 and above are plugin-defined.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The error codes: spec-defined ones, and the plugin-defined ones every nfv-cni plugin shares.
pub mod code {
    /// Incompatible CNI version.
    pub const INCOMPATIBLE_VERSION: u32 = 1;
    /// Unsupported field in network configuration.
    pub const UNSUPPORTED_FIELD: u32 = 2;
    /// Container unknown or does not exist.
    pub const UNKNOWN_CONTAINER: u32 = 3;
    /// Invalid necessary environment variables, like CNI_COMMAND, CNI_CONTAINERID, etc.
    pub const INVALID_ENV: u32 = 4;
    /// I/O failure, e.g. reading stdin.
    pub const IO: u32 = 5;
    /// Failed to decode content (JSON that does not parse, a value of the wrong type).
    pub const DECODE: u32 = 6;
    /// Invalid network configuration (missing name, bad value).
    pub const INVALID_CONFIG: u32 = 7;
    /// Try again later: a transient condition (a lock held, a device busy).
    pub const TRY_AGAIN_LATER: u32 = 11;
    /// STATUS: the plugin is not available (cannot serve ADD).
    pub const NOT_AVAILABLE: u32 = 50;
    /// STATUS: not available, and existing containers may lose connectivity.
    pub const NOT_AVAILABLE_LOSING: u32 = 51;
    /// Plugin-defined: the plugin panicked. A bug: the message says where.
    pub const PANIC: u32 = 100;
    /// Plugin-defined: a delegated plugin's output could not be understood.
    pub const DELEGATE_OUTPUT: u32 = 101;
    /// Plugin-defined: an unexpected internal failure (the reference library's ErrInternal).
    pub const INTERNAL: u32 = 999;
}

/// A CNI error as a plugin reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Error {
    pub code: u32,
    pub msg: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub details: String,
}

impl Error {
    pub fn new(code: u32, msg: impl Into<String>) -> Self {
        Error {
            code,
            msg: msg.into(),
            details: String::new(),
        }
    }

    pub fn with_details(mut self, details: impl Into<String>) -> Self {
        self.details = details.into();
        self
    }

    /// Prefix the message with what was being done, keeping the code.
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.msg = format!("{what}: {}", self.msg);
        self
    }

    pub fn invalid_config(msg: impl Into<String>) -> Self {
        Error::new(code::INVALID_CONFIG, msg)
    }

    pub fn io(msg: impl Into<String>) -> Self {
        Error::new(code::IO, msg)
    }

    pub fn internal(msg: impl Into<String>) -> Self {
        Error::new(code::INTERNAL, msg)
    }

    /// The error JSON as printed on stdout, in the config's cniVersion.
    pub fn to_json(&self, cni_version: &str) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("cniVersion".into(), cni_version.into());
        m.insert("code".into(), self.code.into());
        m.insert("msg".into(), self.msg.clone().into());
        if !self.details.is_empty() {
            m.insert("details".into(), self.details.clone().into());
        }
        serde_json::Value::Object(m)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.details.is_empty() {
            write!(f, "{} (CNI error {})", self.msg, self.code)
        } else {
            write!(
                f,
                "{}: {} (CNI error {})",
                self.msg, self.details, self.code
            )
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_omits_empty_details_and_keeps_spec_order() {
        let e = Error::new(code::INVALID_CONFIG, "missing network name");
        assert_eq!(
            e.to_json("1.0.0").to_string(),
            r#"{"cniVersion":"1.0.0","code":7,"msg":"missing network name"}"#
        );
        let e = e.with_details("d");
        assert_eq!(e.to_json("1.1.0")["details"], "d");
    }

    #[test]
    fn context_keeps_code() {
        let e = Error::io("device busy").context("moving VF 0000:00:11.2 into the pod");
        assert_eq!(e.code, code::IO);
        assert_eq!(e.msg, "moving VF 0000:00:11.2 into the pod: device busy");
    }
}
