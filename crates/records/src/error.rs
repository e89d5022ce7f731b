//! The store's errors, and their CNI code (I/O, code 5; a lock held too long, code 11).

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file system step failed (`creating`, `opening`, `locking`, `writing`, ...).
    #[error("{step} {}: {source}", path.display())]
    Io {
        step: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The record could not be encoded.
    #[error("encoding the record: {0}")]
    Encode(#[source] serde_json::Error),
    /// The record could not be decoded (stores that do not ignore unreadable records).
    #[error("reading {}: {source}", path.display())]
    Decode {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// Another call held the device's lock for the whole wait (a hung or stopped plugin).
    #[error(
        "device {device} is still locked by another call after {}s ({}): try again later; if \
         it stays locked, look for a hung plugin process holding that file",
        waited.as_secs(),
        path.display()
    )]
    Busy {
        device: String,
        path: PathBuf,
        waited: std::time::Duration,
    },
    /// The container ID or interface name cannot name a file (the runner validates both;
    /// this guards callers that did not).
    #[error("{what} {value:?} cannot name a record file: it is empty, '.', '..' or contains '/'")]
    BadName { what: &'static str, value: String },
    /// Reading the store from outside ([`RecordStore::read_only`](crate::RecordStore::read_only))
    /// through nfv-safefs failed.
    #[error(transparent)]
    Fs(#[from] nfv_safefs::FsError),
}

impl StoreError {
    pub(crate) fn io(
        step: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| StoreError::Io { step, path, source }
    }
}

impl From<StoreError> for nfv_cni::Error {
    fn from(e: StoreError) -> Self {
        let code = match e {
            StoreError::Busy { .. } => nfv_cni::code::TRY_AGAIN_LATER,
            _ => nfv_cni::code::IO,
        };
        nfv_cni::Error::new(code, e.to_string())
    }
}
