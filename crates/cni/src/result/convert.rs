//! Reading a result of any version into the one model, and printing it in any version: the
//! version decides between the 0.1.0/0.2.0 format (`legacy.rs`) and the current one
//! (`current.rs`).

use super::json::{as_obj, decode_err, field};
use super::model::Success;
use super::{current, legacy};
use crate::error::Error;
use crate::version::{Version, V0_3_0};
use serde_json::Value;

impl Success {
    /// Read a result of any supported version. The version comes from the result's own
    /// `cniVersion`; `fallback_version` is used when it has none (the config's version).
    pub fn from_value(v: &Value) -> Result<Success, Error> {
        Self::from_value_as(v, "")
    }

    pub fn from_value_as(v: &Value, fallback_version: &str) -> Result<Success, Error> {
        let obj = as_obj(v, "result")?;
        let version = match field(obj, "cniVersion") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(decode_err(format!(
                    "cniVersion must be a string, not {other}"
                )))
            }
            None => fallback_version.to_string(),
        };
        let parsed = Version::parse(&version)?;
        if !crate::version::is_supported(&version) && !version.is_empty() {
            return Err(crate::version::incompatible(&version).context("reading a CNI result"));
        }
        let mut s = if parsed < V0_3_0 {
            legacy::from_020(obj)?
        } else {
            current::from_current(obj)?
        };
        s.cni_version = if version.is_empty() {
            "0.1.0".into()
        } else {
            version
        };
        Ok(s)
    }

    /// Print as `version` (which must be supported), following the reference conversion rules.
    pub fn to_version(&self, version: &str) -> Result<Value, Error> {
        if !crate::version::is_supported(version) {
            return Err(crate::version::incompatible(version));
        }
        let v = Version::parse(version)?;
        if v < V0_3_0 {
            return legacy::to_020(self, version);
        }
        current::to_current(self, version, v)
    }
}
