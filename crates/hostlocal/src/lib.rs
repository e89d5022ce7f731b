//! host-local IPAM as a library: configuration, range sets, the round-robin allocator and the
//! on-disk lease store, compatible byte for byte with the reference plugin's data directory.

pub mod addr;
pub mod config;
pub mod error;
pub mod range;
pub mod range_set;
pub mod resolv;

pub use config::IpamConfig;
pub use error::{AllocError, ConfigError, StoreError};
pub use range::Range;
pub use range_set::RangeSet;
pub mod allocator;
pub mod crash;
pub mod disk;
pub mod gc;
pub mod store;

pub use allocator::{allocate, release, Allocation};
pub use disk::DiskStore;
pub use store::{LeaseStore, MemoryStore, Owner};
