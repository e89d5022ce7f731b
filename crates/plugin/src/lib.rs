//! What the device plugins (sriov, vdpa, userspace) share on their CNI-facing side, so that
//! each plugin is a leaf over it:
//!
//! - [`conf`]: config helpers (the error for a bad field, `runtimeConfig` strings, MACs, the
//!   `deviceID` / `runtimeConfig.deviceID` agreement).
//! - [`codes`]: netlink and sysfs errors as CNI errors, with the plugin's own codes.
//! - [`records`]: the record store's answers to CHECK (no record: code 3) and to a failed
//!   ADD (the record kept when the rollback is incomplete).
//! - [`failures`]: what a teardown or rollback could not undo, kept typed (step, device,
//!   errno) until it is printed as one CNI error.
//! - [`gc`]: GC's teardown of one stale attachment (lock, record still the same, restore,
//!   record removed), the same steps for every plugin that keeps records.

pub mod codes;
pub mod conf;
pub mod failures;
pub mod gc;
pub mod records;

pub use failures::{Cause, Failure, Failures};
pub use records::CniRecordStore;
