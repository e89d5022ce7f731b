//! Errors of the host-local library. Messages keep the reference plugin's wording so logs and
//! scripts that match on them keep working; the plugin maps each kind to a CNI code in one place.

use std::net::IpAddr;
use std::path::PathBuf;

/// The configuration (stdin, CNI_ARGS) is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A value is well-formed JSON but not a valid setting (CNI code 7).
    #[error("{0}")]
    Invalid(String),
    /// A value has the wrong JSON type or does not parse (CNI code 6). `field` names the key.
    #[error("{msg}")]
    Decode { msg: String, field: String },
    /// CNI_ARGS is malformed or has unknown keys (CNI code 4).
    #[error("{0}")]
    Args(String),
}

/// A filesystem operation on the lease store failed or was refused.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `ipam.dataDir` cannot be used as given: not absolute, with `..`, or with a symbolic
    /// link or a non-directory on the way (CNI code 7: the config must change).
    #[error("ipam.dataDir {}: {problem}; set it to the absolute path of a directory reached without symbolic links", path.display())]
    DataDir {
        path: PathBuf,
        problem: nfv_safefs::FsError,
    },
    /// The network's lease directory (`<dataDir>/<name>`) is a symbolic link or not a
    /// directory: never followed, never used.
    #[error("lease directory: {0}")]
    LeaseDir(nfv_safefs::FsError),
    /// An entry in the store is not of the kind it must be (a symlink or a FIFO where a
    /// lease, `lock` or `last_reserved_ip.N` goes), or an operation on it failed.
    #[error(transparent)]
    Fs(#[from] nfv_safefs::FsError),
    /// Another call held the network's `lock` for the whole wait (a hung or stopped plugin).
    #[error("{} is still locked by another call after {}s: try again later; if it stays locked, look for a hung IPAM process holding that file", path.display(), waited.as_secs())]
    Busy {
        path: PathBuf,
        waited: std::time::Duration,
    },
    /// Any other system call on the store (lock, stat, write) failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    pub fn new(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// The lease directory is somewhere we refuse to go (a symlink or a non-directory on the
    /// way, a malformed dataDir): ADD fails, but nothing of ours can be there, so DEL and GC
    /// have nothing to do.
    pub fn is_refused_place(&self) -> bool {
        use nfv_safefs::Problem;
        match self {
            StoreError::DataDir { .. } => true,
            StoreError::LeaseDir(e) => matches!(
                e.problem,
                Problem::Symlink | Problem::WrongKind { .. } | Problem::NotAllowed(_)
            ),
            _ => false,
        }
    }
}

/// Why one range set could not give an address.
#[derive(Debug, thiserror::Error)]
pub enum RangeFailure {
    #[error("requested ip {0} is subnet's gateway")]
    RequestedIsGateway(IpAddr),
    #[error("requested IP address {ip} is not available in range set {set}")]
    RequestedTaken { ip: IpAddr, set: String },
    #[error("{ip} has been allocated to {id}, duplicate allocation is not allowed")]
    Duplicate { ip: IpAddr, id: String },
    #[error("no IP addresses available in range set: {0}")]
    Exhausted(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// ADD failed; every address reserved by this ADD has been released again.
#[derive(Debug, thiserror::Error)]
pub enum AllocError {
    #[error("failed to allocate for range {index}: {failure}")]
    Range { index: usize, failure: RangeFailure },
    /// Some requested addresses are in no range set (listed as given).
    #[error("failed to allocate all requested IPs:{}", .0.iter().map(|ip| format!(" {ip}")).collect::<String>())]
    RequestedNotInRange(Vec<IpAddr>),
    #[error(transparent)]
    Store(#[from] StoreError),
}
