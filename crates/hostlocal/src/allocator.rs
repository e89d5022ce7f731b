//! Round-robin allocation over range sets, in the reference plugin's order: each set continues
//! after its last reserved address, skips gateways, moves on to the set's next range at a range's
//! end and wraps around; requested addresses are taken as given.

use crate::addr;
use crate::error::{AllocError, RangeFailure, StoreError};
use crate::range::Range;
use crate::range_set::RangeSet;
use crate::store::{LeaseStore, Owner};
use std::net::IpAddr;

/// One address handed out by ADD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allocation {
    /// The range set it came from (the `N` of `last_reserved_ip.N`).
    pub set_index: usize,
    pub ip: IpAddr,
    /// The prefix length of the range's subnet.
    pub prefix: u8,
    pub gateway: IpAddr,
}

/// Walks a range set's addresses once, starting after `last` when `last` is in the set.
#[derive(Debug)]
pub struct RangeIter<'a> {
    set: &'a RangeSet,
    index: usize,
    cur: Option<IpAddr>,
    start: Option<IpAddr>,
}

impl<'a> RangeIter<'a> {
    pub fn new(set: &'a RangeSet, last: Option<IpAddr>) -> RangeIter<'a> {
        let resume = last.and_then(|ip| {
            set.ranges()
                .iter()
                .position(|r| r.contains(ip))
                .map(|i| (i, ip))
        });
        match resume {
            Some((index, ip)) => RangeIter {
                set,
                index,
                cur: Some(ip),
                start: None,
            },
            None => RangeIter {
                set,
                index: 0,
                cur: None,
                start: None,
            },
        }
    }
}

impl<'a> Iterator for RangeIter<'a> {
    type Item = (IpAddr, &'a Range);

    fn next(&mut self) -> Option<Self::Item> {
        let ranges = self.set.ranges();
        loop {
            let mut r = &ranges[self.index];
            match self.cur {
                None => {
                    let first = r.range_start;
                    self.cur = Some(first);
                    self.start = Some(first);
                    if first == r.gateway {
                        continue;
                    }
                    return Some((first, r));
                }
                Some(cur) => {
                    let next = if cur == r.range_end {
                        self.index = (self.index + 1) % ranges.len();
                        r = &ranges[self.index];
                        r.range_start
                    } else {
                        addr::next(cur)
                    };
                    self.cur = Some(next);
                    match self.start {
                        None => self.start = Some(next),
                        Some(start) if start == next => return None,
                        Some(_) => {}
                    }
                    if next == r.gateway {
                        continue;
                    }
                    return Some((next, r));
                }
            }
        }
    }
}

fn allocation(set_index: usize, ip: IpAddr, r: &Range) -> Allocation {
    Allocation {
        set_index,
        ip,
        prefix: r.prefix,
        gateway: r.gateway,
    }
}

/// Take one address from range set `set_index` for `owner`.
fn allocate_one(
    store: &mut dyn LeaseStore,
    set: &RangeSet,
    set_index: usize,
    owner: &Owner,
    requested: Option<IpAddr>,
) -> Result<Allocation, RangeFailure> {
    if let Some(ip) = requested {
        let r = set
            .range_for(ip)
            .ok_or_else(|| RangeFailure::RequestedTaken {
                ip,
                set: set.to_string(),
            })?;
        if ip == r.gateway {
            return Err(RangeFailure::RequestedIsGateway(ip));
        }
        if !store.reserve(owner, ip, set_index)? {
            return Err(RangeFailure::RequestedTaken {
                ip,
                set: set.to_string(),
            });
        }
        return Ok(allocation(set_index, ip, r));
    }
    // One address per set and attachment: a second ADD for the same attachment is an error.
    if let Some(ip) = store
        .leases_of(owner)?
        .into_iter()
        .find(|ip| set.contains(*ip))
    {
        return Err(RangeFailure::Duplicate {
            ip,
            id: owner.container_id.clone(),
        });
    }
    let last = store.last_reserved(set_index);
    for (ip, r) in RangeIter::new(set, last) {
        if store.reserve(owner, ip, set_index)? {
            return Ok(allocation(set_index, ip, r));
        }
    }
    Err(RangeFailure::Exhausted(set.to_string()))
}

/// Undo the reservations of a failed ADD the way the reference does: one release by attachment
/// per range set already served.
fn roll_back(store: &mut dyn LeaseStore, owner: &Owner, served: usize) {
    for _ in 0..served {
        // Best effort: the ADD error is what the caller reports.
        let _ = store.release_owner(owner);
    }
}

/// ADD: one address from every range set. Requested addresses go to the first set containing
/// them; a requested address in no set fails the ADD. On failure nothing stays reserved.
pub fn allocate(
    store: &mut dyn LeaseStore,
    sets: &[RangeSet],
    owner: &Owner,
    requested: &[IpAddr],
) -> Result<Vec<Allocation>, AllocError> {
    let mut pending: Vec<IpAddr> = Vec::with_capacity(requested.len());
    for ip in requested {
        if !pending.contains(ip) {
            pending.push(*ip);
        }
    }
    let mut out = Vec::with_capacity(sets.len());
    for (index, set) in sets.iter().enumerate() {
        let wanted = pending
            .iter()
            .position(|ip| set.contains(*ip))
            .map(|i| pending.remove(i));
        match allocate_one(store, set, index, owner, wanted) {
            Ok(a) => out.push(a),
            Err(failure) => {
                roll_back(store, owner, out.len());
                return Err(AllocError::Range { index, failure });
            }
        }
    }
    if !pending.is_empty() {
        roll_back(store, owner, out.len());
        return Err(AllocError::RequestedNotInRange(pending));
    }
    Ok(out)
}

/// DEL: release the attachment's leases, once per range set as the reference does (so a
/// second pass also clears legacy ID-only leases). Keeps going past errors and returns them all.
pub fn release(store: &mut dyn LeaseStore, set_count: usize, owner: &Owner) -> Vec<StoreError> {
    let mut errors = Vec::new();
    for _ in 0..set_count.max(1) {
        if let Err(e) = store.release_owner(owner) {
            errors.push(e);
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::Cidr;
    use crate::range::RangeSpec;
    use crate::store::MemoryStore;

    /// (subnet, rangeStart, rangeEnd, gateway)
    type Spec<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>);

    fn set(specs: &[Spec]) -> RangeSet {
        let specs: Vec<RangeSpec> = specs
            .iter()
            .map(|(s, a, b, g)| RangeSpec {
                subnet: Cidr::parse(s),
                range_start: a.map(|x| x.parse().unwrap()),
                range_end: b.map(|x| x.parse().unwrap()),
                gateway: g.map(|x| x.parse().unwrap()),
            })
            .collect();
        RangeSet::canonicalize(&specs).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn add(
        store: &mut MemoryStore,
        sets: &[RangeSet],
        id: &str,
    ) -> Result<Vec<IpAddr>, AllocError> {
        allocate(store, sets, &Owner::new(id, "eth0"), &[])
            .map(|v| v.iter().map(|a| a.ip).collect())
    }

    #[test]
    fn round_robin_skips_gateway_and_wraps() {
        let sets = vec![set(&[("10.0.0.0/29", None, None, None)])];
        let mut s = MemoryStore::default();
        let got: Vec<IpAddr> = (0..5)
            .map(|i| add(&mut s, &sets, &format!("c{i}")).unwrap()[0])
            .collect();
        assert_eq!(
            got,
            ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"].map(ip)
        );
        let e = add(&mut s, &sets, "c9").unwrap_err();
        assert_eq!(e.to_string(), "failed to allocate for range 0: no IP addresses available in range set: 10.0.0.1-10.0.0.6");
        // Releasing .3 then allocating continues after the last reserved (.6) and wraps to .3.
        release(&mut s, 1, &Owner::new("c1", "eth0"));
        assert_eq!(add(&mut s, &sets, "c10").unwrap(), [ip("10.0.0.3")]);
        assert_eq!(s.last.get(&0).map(String::as_str), Some("10.0.0.3"));
    }

    #[test]
    fn multi_range_set_moves_to_next_range() {
        let sets = vec![set(&[
            ("10.0.0.0/30", None, None, None),
            (
                "10.0.1.0/24",
                Some("10.0.1.10"),
                Some("10.0.1.11"),
                Some("10.0.1.10"),
            ),
        ])];
        let mut s = MemoryStore::default();
        let got: Vec<IpAddr> = (0..2)
            .map(|i| add(&mut s, &sets, &format!("c{i}")).unwrap()[0])
            .collect();
        assert_eq!(got, [ip("10.0.0.2"), ip("10.0.1.11")]);
        assert!(add(&mut s, &sets, "c3").is_err());
    }

    #[test]
    fn last_reserved_outside_the_set_restarts_at_range_start() {
        let sets = vec![set(&[("10.0.0.0/24", Some("10.0.0.50"), None, None)])];
        let mut s = MemoryStore::default();
        s.last.insert(0, "192.168.1.1".into());
        assert_eq!(add(&mut s, &sets, "a").unwrap(), [ip("10.0.0.50")]);
        s.last.insert(0, "garbage".into());
        assert_eq!(add(&mut s, &sets, "b").unwrap(), [ip("10.0.0.51")]);
    }

    #[test]
    fn duplicate_add_is_refused_per_set() {
        let sets = vec![
            set(&[("10.0.0.0/24", None, None, None)]),
            set(&[("2001:db8::/64", None, None, None)]),
        ];
        let mut s = MemoryStore::default();
        assert_eq!(
            add(&mut s, &sets, "a").unwrap(),
            [ip("10.0.0.2"), ip("2001:db8::2")]
        );
        let e = add(&mut s, &sets, "a").unwrap_err();
        assert_eq!(e.to_string(), "failed to allocate for range 0: 10.0.0.2 has been allocated to a, duplicate allocation is not allowed");
        // Nothing was reserved by the refused ADD, so nothing is rolled back.
        assert_eq!(s.leases.len(), 2);
    }

    #[test]
    fn requested_addresses() {
        let sets = vec![
            set(&[("10.0.0.0/24", None, None, None)]),
            set(&[("2001:db8::/64", None, None, None)]),
        ];
        let mut s = MemoryStore::default();
        let o = Owner::new("a", "eth0");
        let got = allocate(&mut s, &sets, &o, &[ip("2001:db8::9"), ip("10.0.0.9")]).unwrap();
        assert_eq!(
            got.iter().map(|a| a.ip).collect::<Vec<_>>(),
            [ip("10.0.0.9"), ip("2001:db8::9")]
        );
        assert_eq!(got[0].prefix, 24);
        assert_eq!(got[0].gateway, ip("10.0.0.1"));
        let o2 = Owner::new("b", "eth0");
        let e = allocate(&mut s, &sets, &o2, &[ip("10.0.0.9")]).unwrap_err();
        assert_eq!(e.to_string(), "failed to allocate for range 0: requested IP address 10.0.0.9 is not available in range set 10.0.0.1-10.0.0.254");
        let e = allocate(&mut s, &sets, &o2, &[ip("10.0.0.1")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "failed to allocate for range 0: requested ip 10.0.0.1 is subnet's gateway"
        );
        let e = allocate(&mut s, &sets, &o2, &[ip("10.9.0.1")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "failed to allocate all requested IPs: 10.9.0.1"
        );
        // Rolled back: b holds nothing, a keeps its two leases, last_reserved_ip moved on.
        assert_eq!(s.leases.len(), 2);
        assert_eq!(s.last.get(&0).map(String::as_str), Some("10.0.0.10"));
    }

    #[test]
    fn failure_in_second_set_rolls_back_first() {
        let sets = vec![
            set(&[("10.0.0.0/24", None, None, None)]),
            set(&[("10.1.0.0/30", None, None, None)]),
        ];
        let mut s = MemoryStore::default();
        add(&mut s, &sets, "a").unwrap();
        let e = add(&mut s, &sets, "c").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("failed to allocate for range 1: no IP addresses"),
            "{e}"
        );
        assert_eq!(s.leases.len(), 2);
        assert!(!s.leases.values().any(|c| c.starts_with("c\r\n")));
    }

    #[test]
    fn release_matches_ifname_then_legacy() {
        let mut s = MemoryStore::default();
        s.leases.insert("10.0.0.2".into(), "a\r\neth0".into());
        s.leases.insert("10.0.0.3".into(), "a\r\neth1".into());
        s.leases.insert("10.0.0.4".into(), "a".into());
        release(&mut s, 1, &Owner::new("a", "eth0"));
        assert_eq!(
            s.leases.keys().collect::<Vec<_>>(),
            ["10.0.0.3", "10.0.0.4"]
        );
        release(&mut s, 1, &Owner::new("a", "eth0"));
        assert_eq!(s.leases.keys().collect::<Vec<_>>(), ["10.0.0.3"]);
        // Two range sets: both passes in one DEL.
        s.leases.insert("10.0.0.4".into(), "a".into());
        s.leases.insert("10.0.0.5".into(), "a\r\neth1".into());
        release(&mut s, 2, &Owner::new("a", "eth1"));
        assert!(s.leases.is_empty());
    }

    #[test]
    fn iterator_visits_every_address_once() {
        let s = set(&[
            ("10.0.0.0/29", None, None, Some("10.0.0.3")),
            ("10.0.1.0/30", None, None, None),
        ]);
        for last in [
            None,
            Some(ip("10.0.0.5")),
            Some(ip("10.0.1.2")),
            Some(ip("10.0.0.2")),
        ] {
            let mut seen: Vec<IpAddr> = RangeIter::new(&s, last).map(|(ip, _)| ip).collect();
            // 6 addresses minus gateway .3, plus 10.0.1.2 (10.0.1.1 is that range's gateway).
            assert_eq!(seen.len(), 6, "from {last:?}: {seen:?}");
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), 6);
            assert!(!seen.contains(&ip("10.0.0.3")) && !seen.contains(&ip("10.0.1.1")));
        }
        let order: Vec<IpAddr> = RangeIter::new(&s, Some(ip("10.0.0.6")))
            .map(|(ip, _)| ip)
            .take(2)
            .collect();
        assert_eq!(order, [ip("10.0.1.2"), ip("10.0.0.1")]);
    }
}
