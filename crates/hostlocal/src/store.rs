//! The lease store interface the allocator works against, and an in-memory store for tests.
//!
//! A lease is a file named by the address whose content is `<containerID>\r\n<ifname>`; files
//! written by old versions hold the container ID only ("legacy" leases). Matching compares the
//! whitespace-trimmed content, as the reference plugin does.

use crate::error::StoreError;
use std::net::IpAddr;

/// The separator between container ID and interface name in a lease file.
pub const LINE_BREAK: &str = "\r\n";

/// Who holds a lease.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Owner {
    pub container_id: String,
    pub ifname: String,
}

impl Owner {
    pub fn new(container_id: impl Into<String>, ifname: impl Into<String>) -> Owner {
        Owner {
            container_id: container_id.into(),
            ifname: ifname.into(),
        }
    }

    /// The lease file content, and the key it is matched by.
    pub fn key(&self) -> String {
        format!("{}{LINE_BREAK}{}", self.container_id.trim(), self.ifname)
    }

    /// The content of a lease written by versions that stored the container ID only.
    pub fn legacy_key(&self) -> String {
        self.container_id.trim().to_string()
    }

    /// Parse a lease's trimmed content back into (container ID, ifname); legacy leases have no
    /// ifname.
    pub fn parse_key(key: &str) -> (&str, Option<&str>) {
        match key.split_once(LINE_BREAK) {
            Some((id, ifname)) => (id, Some(ifname)),
            None => (key, None),
        }
    }
}

/// Storage for leases. Every call happens while the caller holds the network's lock.
pub trait LeaseStore {
    /// Create the lease for `ip` unless a lease for it exists (then `Ok(false)`), and remember
    /// `ip` as the last address reserved in range set `set_index`.
    fn reserve(&mut self, owner: &Owner, ip: IpAddr, set_index: usize) -> Result<bool, StoreError>;

    /// The last address reserved in range set `set_index`, if recorded and readable.
    fn last_reserved(&mut self, set_index: usize) -> Option<IpAddr>;

    /// Addresses leased to `owner` (its key or its legacy key), in file-name order.
    fn leases_of(&mut self, owner: &Owner) -> Result<Vec<IpAddr>, StoreError>;

    /// Remove the leases holding `owner`'s key; when there are none, those holding its legacy
    /// key. Returns the released addresses.
    fn release_owner(&mut self, owner: &Owner) -> Result<Vec<IpAddr>, StoreError>;

    /// Every lease with its trimmed content, in file-name order.
    fn all_leases(&mut self) -> Result<Vec<(IpAddr, String)>, StoreError>;

    /// Remove the lease for `ip` if it exists.
    fn release(&mut self, ip: IpAddr) -> Result<(), StoreError>;

    /// Is there a lease for `ip`?
    fn is_leased(&mut self, ip: IpAddr) -> Result<bool, StoreError>;

    /// How many leases exist.
    fn lease_count(&mut self) -> Result<usize, StoreError>;
}

/// Leases in memory, for unit tests of allocation logic. Keeps the same naming and matching
/// rules as the disk store.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MemoryStore {
    /// file name -> content
    pub leases: std::collections::BTreeMap<String, String>,
    /// set index -> last reserved address as written
    pub last: std::collections::BTreeMap<usize, String>,
}

impl MemoryStore {
    fn matching(&self, key: &str) -> Vec<String> {
        self.leases
            .iter()
            .filter(|(_, c)| c.trim() == key)
            .map(|(n, _)| n.clone())
            .collect()
    }
}

impl LeaseStore for MemoryStore {
    fn reserve(&mut self, owner: &Owner, ip: IpAddr, set_index: usize) -> Result<bool, StoreError> {
        let name = ip.to_string();
        if self.leases.contains_key(&name) {
            return Ok(false);
        }
        self.leases.insert(name.clone(), owner.key());
        self.last.insert(set_index, name);
        Ok(true)
    }

    fn last_reserved(&mut self, set_index: usize) -> Option<IpAddr> {
        self.last
            .get(&set_index)
            .and_then(|s| crate::addr::parse_ip(s))
    }

    fn leases_of(&mut self, owner: &Owner) -> Result<Vec<IpAddr>, StoreError> {
        let (key, legacy) = (owner.key(), owner.legacy_key());
        Ok(self
            .leases
            .iter()
            .filter(|(_, c)| c.trim() == key || c.trim() == legacy)
            .filter_map(|(n, _)| crate::addr::parse_ip(n))
            .collect())
    }

    fn release_owner(&mut self, owner: &Owner) -> Result<Vec<IpAddr>, StoreError> {
        let mut names = self.matching(&owner.key());
        if names.is_empty() {
            names = self.matching(&owner.legacy_key());
        }
        for n in &names {
            self.leases.remove(n);
        }
        Ok(names
            .iter()
            .filter_map(|n| crate::addr::parse_ip(n))
            .collect())
    }

    fn all_leases(&mut self) -> Result<Vec<(IpAddr, String)>, StoreError> {
        Ok(self
            .leases
            .iter()
            .filter_map(|(n, c)| crate::addr::parse_ip(n).map(|ip| (ip, c.trim().to_string())))
            .collect())
    }

    fn release(&mut self, ip: IpAddr) -> Result<(), StoreError> {
        self.leases.remove(&ip.to_string());
        Ok(())
    }

    fn is_leased(&mut self, ip: IpAddr) -> Result<bool, StoreError> {
        Ok(self.leases.contains_key(&ip.to_string()))
    }

    fn lease_count(&mut self) -> Result<usize, StoreError> {
        Ok(self.leases.len())
    }
}
