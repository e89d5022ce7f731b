//! CNI error codes of host-local, and the one place library errors become CNI errors.
//!
//! The reference plugin reports every failure as code 999 ("internal"); we keep its message
//! text and give each kind of failure its own code so a runtime or operator can tell them apart.

use nfv_cni::{code, Error};
use nfv_hostlocal::error::{AllocError, ConfigError, RangeFailure, StoreError};

/// No address left in a range set (ADD). STATUS reports the same condition as code 50.
pub const RANGE_EXHAUSTED: u32 = 110;
/// A requested address (CNI_ARGS IP, args.cni.ips, runtimeConfig.ips) cannot be given: taken,
/// the gateway, or in no range set.
pub const REQUESTED_IP_UNAVAILABLE: u32 = 111;
/// ADD for an attachment that already holds an address in the range set.
pub const DUPLICATE_ALLOCATION: u32 = 112;
/// CHECK: the attachment holds no lease, or not the addresses in prevResult.
pub const LEASE_MISMATCH: u32 = 113;

pub fn config_error(e: ConfigError) -> Error {
    match e {
        ConfigError::Invalid(msg) => Error::new(code::INVALID_CONFIG, msg),
        ConfigError::Decode { msg, field } => Error::new(code::DECODE, msg)
            .with_details(format!("in the network configuration at {field}")),
        ConfigError::Args(msg) => Error::new(code::INVALID_ENV, msg).with_details(
            "CNI_ARGS may hold IP=<address> and IgnoreUnknown=1; other keys need IgnoreUnknown=1",
        ),
    }
}

/// `ipam.dataDir` refused (relative, `..`, a symlink or a non-directory on the way) is a
/// config the operator must change (7); the network's lock held past the wait is "try again
/// later" (11); every other store failure is I/O (5).
pub fn store_error(e: &StoreError) -> Error {
    match e {
        StoreError::DataDir { .. } => Error::new(code::INVALID_CONFIG, e.to_string()),
        StoreError::Busy { .. } => Error::new(code::TRY_AGAIN_LATER, e.to_string()),
        _ => Error::new(code::IO, e.to_string()),
    }
}

pub fn alloc_error(e: AllocError) -> Error {
    let code = match &e {
        AllocError::Range { failure, .. } => match failure {
            RangeFailure::Exhausted(_) => RANGE_EXHAUSTED,
            RangeFailure::RequestedIsGateway(_) | RangeFailure::RequestedTaken { .. } => {
                REQUESTED_IP_UNAVAILABLE
            }
            RangeFailure::Duplicate { .. } => DUPLICATE_ALLOCATION,
            RangeFailure::Store(e) => store_error(e).code,
        },
        AllocError::RequestedNotInRange(_) => REQUESTED_IP_UNAVAILABLE,
        AllocError::Store(e) => store_error(e).code,
    };
    Error::new(code, e.to_string())
}
