//! What ADD did, kept so DEL or GC can undo it, even after a crash half-way through ADD: one
//! small JSON file per attachment (`<containerID>-<ifname>.json`), written atomically (temp
//! file, fsync, rename), and one lock file per device (`<device>.lock`, flock) so two
//! attachments never race for the same device.
//!
//! The record type belongs to the plugin (it knows what it changed); this crate only needs to
//! know whose attachment a record is, which device it holds and which network it belongs to
//! ([`AttachmentRecord`]). GC is per network ([`RecordStore::stale`]); the device-held checks
//! ([`RecordStore::holder_of`]) see every network's records.
//! A store may be versioned: records whose `version` field is not the store's are someone
//! else's (an older or newer binary's) and are ignored with a warning, as are unreadable files,
//! so DEL falls back to working from the config instead of failing.

mod derive;
mod error;
mod name;
mod store;

pub use error::StoreError;
pub use name::file_safe;
pub use store::{
    select_stale, AttachmentRecord, DeviceLock, ReadOnly, RecordStore, StaleSelection, LOCK_WAIT,
    MAX_RECORD_BYTES,
};
