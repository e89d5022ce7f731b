//! What GC does with one lease, as a plain function of its content and the valid attachments,
//! so that the plugin's GC and a read-only preview (`nfvctl gc --dry-run`) cannot disagree.

use std::collections::HashSet;

use crate::store::Owner;

/// GC's verdict on one lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseVerdict {
    /// Held by a valid attachment (its container ID and ifname; a legacy lease by the
    /// container ID alone).
    Keep,
    /// Held by no valid attachment: GC releases it.
    Release,
    /// Empty: a writer died between creating and writing it; opening the store removes it
    /// once it is old enough, GC itself leaves it.
    Empty,
}

/// The valid attachments of a GC (`cni.dev/valid-attachments`), as host-local matches leases
/// against them: container IDs trimmed, as lease contents are.
#[derive(Debug, Clone, Default)]
pub struct ValidOwners {
    pairs: HashSet<(String, String)>,
    ids: HashSet<String>,
}

impl ValidOwners {
    pub fn new<'a>(valid: impl IntoIterator<Item = (&'a str, &'a str)>) -> ValidOwners {
        let mut v = ValidOwners::default();
        for (container_id, ifname) in valid {
            let id = container_id.trim().to_string();
            v.pairs.insert((id.clone(), ifname.to_string()));
            v.ids.insert(id);
        }
        v
    }

    /// What GC does with a lease whose trimmed content is `content`.
    pub fn verdict(&self, content: &str) -> LeaseVerdict {
        if content.is_empty() {
            return LeaseVerdict::Empty;
        }
        let keep = match Owner::parse_key(content) {
            (id, Some(ifname)) => self.pairs.contains(&(id.to_string(), ifname.to_string())),
            (id, None) => self.ids.contains(id),
        };
        if keep {
            LeaseVerdict::Keep
        } else {
            LeaseVerdict::Release
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_match_whole_and_legacy_leases_by_container_id() {
        let v = ValidOwners::new([(" c1 ", "net1"), ("c2", "net2")]);
        assert_eq!(v.verdict("c1\r\nnet1"), LeaseVerdict::Keep);
        assert_eq!(v.verdict("c1\r\nnet2"), LeaseVerdict::Release);
        assert_eq!(v.verdict("c2"), LeaseVerdict::Keep, "legacy: ID only");
        assert_eq!(v.verdict("c3"), LeaseVerdict::Release);
        assert_eq!(v.verdict(""), LeaseVerdict::Empty);
        assert_eq!(
            ValidOwners::new([]).verdict("c1\r\nnet1"),
            LeaseVerdict::Release
        );
    }
}
