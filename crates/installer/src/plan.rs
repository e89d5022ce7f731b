//! What to do with one plugin name, decided from what is on disk: plain functions over plain
//! data, so every case (fresh node, Go plugin in place, upgrade, a crash at any step, someone
//! else's binary) is a unit test.

use crate::record::Record;

/// The entry `<bin dir>/<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Current {
    Absent,
    /// A regular file, by digest.
    File(String),
    /// Anything else (a symlink, a directory): never ours, never touched.
    Other(&'static str),
}

/// The entry `<bin dir>/.nfv-cni/<name>.previous`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    Absent,
    /// A hard link to the very file at `<name>` (the first step of a take-over that did not
    /// finish).
    SameFileAsCurrent,
    /// A regular file, by digest.
    File(String),
    Other(&'static str),
}

/// What is on disk for one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub current: Current,
    pub kept: Kept,
    pub record: Option<Record>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Install {
    /// Our binary with this content is in place and recorded: nothing is written.
    Unchanged,
    /// The content in place is already the new one; only the record changes.
    RecordOnly(Record),
    /// Write the new binary and rename it over the name. With `keep_current`, the file now
    /// there is first hard-linked to `<name>.previous` (the binary `uninstall` puts back).
    Replace {
        record: Record,
        keep_current: bool,
        why: &'static str,
    },
    /// Leave everything as it is.
    Refuse(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uninstall {
    /// Nothing recorded under this name: not ours to touch.
    NotInstalled,
    /// Rename `<name>.previous` over the name (or back into the free name), then forget.
    Restore,
    /// Remove our binary (the name was free before us), then forget.
    Remove,
    /// The name already holds what we replaced, or nothing we must restore: forget only.
    Forget,
    Refuse(String),
}

fn short(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}

/// Installing the binary whose digest is `new` under `name`.
pub fn install(name: &str, seen: &Seen, new: &str) -> Install {
    let fresh = Record::default();
    let record = seen.record.as_ref();
    let current = match &seen.current {
        Current::Other(kind) => {
            return Install::Refuse(format!(
                "{name} is {kind}, not a plugin binary: left alone (remove it to let nfv-install install {name})"
            ))
        }
        Current::Absent => None,
        Current::File(d) => Some(d.as_str()),
    };
    let Some(rec) = record else {
        // Never seen this name: a free name, our own binary put there by other means, or a
        // binary we take over (the Go plugin), kept for `uninstall`.
        match (&seen.kept, current) {
            (Kept::Absent, None) => {
                return Install::Replace {
                    record: fresh.with_ours(new),
                    keep_current: false,
                    why: "installed",
                }
            }
            (Kept::Absent, Some(c)) if c == new => {
                return Install::RecordOnly(fresh.with_ours(new))
            }
            (Kept::Absent | Kept::SameFileAsCurrent, Some(c)) => {
                return Install::Replace {
                    record: Record {
                        previous: Some(c.to_string()),
                        ours: Vec::new(),
                    }
                    .with_ours(new),
                    keep_current: true,
                    why: "installed over the binary that was there",
                }
            }
            _ => {
                return Install::Refuse(format!(
                    "{name}: .nfv-cni/{name}.previous exists but .nfv-cni/{name}.record does not: \
                     nfv-install cannot tell which binary is the one to put back. Move \
                     .nfv-cni/{name}.previous back to {name} or delete it, then run again"
                ))
            }
        }
    };
    match current {
        Some(c) if c == new => {
            if rec.ours.first().map(String::as_str) == Some(new) {
                Install::Unchanged
            } else {
                Install::RecordOnly(rec.with_ours(new))
            }
        }
        Some(c) if rec.is_ours(c) => Install::Replace {
            record: rec.with_ours(new),
            keep_current: false,
            why: "upgraded",
        },
        Some(c) if rec.previous.as_deref() == Some(c) => Install::Replace {
            // A crash after the record was written and before the rename, or the replaced
            // binary put back by hand: it is still the one to keep.
            record: rec.with_ours(new),
            keep_current: !matches!(seen.kept, Kept::SameFileAsCurrent)
                && seen.kept != Kept::File(c.to_string()),
            why: "installed over the binary that was there",
        },
        Some(c) => Install::Refuse(format!(
            "{name} holds a binary nfv-install did not write (sha256 {}...): another installer \
             manages this name now, so nfv-install leaves it alone. Stop the other installer, or \
             remove {name} and run again",
            short(c)
        )),
        None => Install::Replace {
            record: rec.with_ours(new),
            keep_current: false,
            why: "installed again (the name was empty)",
        },
    }
}

/// Putting back what the first install replaced.
pub fn uninstall(name: &str, seen: &Seen) -> Uninstall {
    let Some(rec) = &seen.record else {
        return Uninstall::NotInstalled;
    };
    let kept_ok = match (&rec.previous, &seen.kept) {
        (Some(p), Kept::File(k)) => p == k,
        (Some(_), Kept::SameFileAsCurrent) => true,
        _ => false,
    };
    match &seen.current {
        Current::Other(kind) => Uninstall::Refuse(format!(
            "{name} is {kind} now, not a binary nfv-install wrote: left alone"
        )),
        Current::File(c) if rec.previous.as_deref() == Some(c.as_str()) => Uninstall::Forget,
        Current::File(c) if rec.is_ours(c) => match &rec.previous {
            None => Uninstall::Remove,
            Some(_) if kept_ok => Uninstall::Restore,
            Some(p) => Uninstall::Refuse(format!(
                "{name}: the binary to put back (sha256 {}...) is not in .nfv-cni/{name}.previous \
                 any more: ours is left in place rather than leave the name empty",
                short(p)
            )),
        },
        Current::File(c) => Uninstall::Refuse(format!(
            "{name} holds a binary nfv-install did not write (sha256 {}...): left alone",
            short(c)
        )),
        Current::Absent if rec.previous.is_some() && kept_ok => Uninstall::Restore,
        Current::Absent => Uninstall::Forget,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(c: char) -> String {
        std::iter::repeat_n(c, 64).collect()
    }
    const GO: char = 'a';
    const V1: char = '1';
    const V2: char = '2';
    const OTHER: char = 'f';

    fn seen(current: Current, kept: Kept, record: Option<Record>) -> Seen {
        Seen {
            current,
            kept,
            record,
        }
    }
    fn file(c: char) -> Current {
        Current::File(d(c))
    }
    fn rec(previous: Option<char>, ours: &[char]) -> Option<Record> {
        Some(Record {
            previous: previous.map(d),
            ours: ours.iter().map(|c| d(*c)).collect(),
        })
    }
    fn replace(record: Option<Record>, keep_current: bool) -> (Record, bool) {
        (record.unwrap(), keep_current)
    }
    fn replaced(plan: Install) -> (Record, bool) {
        match plan {
            Install::Replace {
                record,
                keep_current,
                ..
            } => (record, keep_current),
            other => panic!("not a replace: {other:?}"),
        }
    }

    #[test]
    fn a_free_name_is_installed_with_nothing_to_put_back() {
        let plan = install("sriov", &seen(Current::Absent, Kept::Absent, None), &d(V1));
        assert_eq!(replaced(plan), replace(rec(None, &[V1]), false));
    }

    #[test]
    fn the_go_plugin_is_kept_and_recorded_as_previous() {
        let plan = install("sriov", &seen(file(GO), Kept::Absent, None), &d(V1));
        assert_eq!(replaced(plan), replace(rec(Some(GO), &[V1]), true));
    }

    #[test]
    fn the_same_content_again_writes_nothing() {
        let s = seen(file(V1), Kept::File(d(GO)), rec(Some(GO), &[V1]));
        assert_eq!(install("sriov", &s, &d(V1)), Install::Unchanged);
    }

    #[test]
    fn our_binary_put_there_by_other_means_is_adopted_without_a_rewrite() {
        let s = seen(file(V1), Kept::Absent, None);
        assert_eq!(
            install("sriov", &s, &d(V1)),
            Install::RecordOnly(rec(None, &[V1]).unwrap())
        );
    }

    #[test]
    fn an_upgrade_replaces_ours_and_keeps_the_first_previous() {
        let s = seen(file(V1), Kept::File(d(GO)), rec(Some(GO), &[V1]));
        let plan = install("sriov", &s, &d(V2));
        assert_eq!(replaced(plan), replace(rec(Some(GO), &[V2, V1]), false));
    }

    #[test]
    fn a_rollback_to_an_older_version_of_ours_is_an_upgrade_too() {
        let s = seen(file(V2), Kept::File(d(GO)), rec(Some(GO), &[V2, V1]));
        let plan = install("sriov", &s, &d(V1));
        assert_eq!(replaced(plan), replace(rec(Some(GO), &[V1, V2]), false));
    }

    #[test]
    fn a_crash_between_the_record_and_the_rename_resumes() {
        // First install: record written, link made, rename not done.
        let s = seen(file(GO), Kept::SameFileAsCurrent, rec(Some(GO), &[V1]));
        assert_eq!(
            replaced(install("sriov", &s, &d(V1))),
            replace(rec(Some(GO), &[V1]), false)
        );
        // Upgrade: record lists v2, v1 still in place.
        let s = seen(file(V1), Kept::File(d(GO)), rec(Some(GO), &[V2, V1]));
        assert_eq!(
            replaced(install("sriov", &s, &d(V2))),
            replace(rec(Some(GO), &[V2, V1]), false)
        );
        // Link made, record not written.
        let s = seen(file(GO), Kept::SameFileAsCurrent, None);
        assert_eq!(
            replaced(install("sriov", &s, &d(V1))),
            replace(rec(Some(GO), &[V1]), true)
        );
        // Rename done (the new binary in place, recorded): nothing left to do.
        let s = seen(file(V1), Kept::File(d(GO)), rec(Some(GO), &[V1]));
        assert_eq!(install("sriov", &s, &d(V1)), Install::Unchanged);
    }

    #[test]
    fn the_replaced_binary_put_back_by_hand_is_kept_again_only_if_the_copy_is_gone() {
        let s = seen(file(GO), Kept::File(d(GO)), rec(Some(GO), &[V1]));
        assert!(!replaced(install("sriov", &s, &d(V1))).1);
        let s = seen(file(GO), Kept::Absent, rec(Some(GO), &[V1]));
        assert!(replaced(install("sriov", &s, &d(V1))).1);
    }

    #[test]
    fn someone_elses_binary_after_ours_is_left_alone() {
        let s = seen(file(OTHER), Kept::File(d(GO)), rec(Some(GO), &[V1]));
        let Install::Refuse(msg) = install("sriov", &s, &d(V2)) else {
            panic!()
        };
        assert!(
            msg.contains("did not write") && msg.contains("ffffffffffff"),
            "{msg}"
        );
        assert!(matches!(uninstall("sriov", &s), Uninstall::Refuse(_)));
    }

    #[test]
    fn a_symlink_or_directory_is_never_touched() {
        for kind in ["a symlink", "a directory"] {
            let s = seen(Current::Other(kind), Kept::Absent, None);
            assert!(matches!(install("sriov", &s, &d(V1)), Install::Refuse(_)));
            let s = seen(Current::Other(kind), Kept::Absent, rec(None, &[V1]));
            assert!(matches!(uninstall("sriov", &s), Uninstall::Refuse(_)));
        }
    }

    #[test]
    fn a_kept_binary_without_its_record_stops_the_install() {
        let s = seen(file(GO), Kept::File(d(OTHER)), None);
        assert!(matches!(install("sriov", &s, &d(V1)), Install::Refuse(_)));
        let s = seen(Current::Absent, Kept::File(d(GO)), None);
        assert!(matches!(install("sriov", &s, &d(V1)), Install::Refuse(_)));
    }

    #[test]
    fn a_deleted_binary_of_ours_is_installed_again() {
        let s = seen(Current::Absent, Kept::File(d(GO)), rec(Some(GO), &[V1]));
        assert_eq!(
            replaced(install("sriov", &s, &d(V1))),
            replace(rec(Some(GO), &[V1]), false)
        );
    }

    #[test]
    fn uninstall_puts_back_what_was_there() {
        let s = seen(file(V2), Kept::File(d(GO)), rec(Some(GO), &[V2, V1]));
        assert_eq!(uninstall("sriov", &s), Uninstall::Restore);
        let s = seen(file(V1), Kept::Absent, rec(None, &[V1]));
        assert_eq!(uninstall("sriov", &s), Uninstall::Remove);
        let s = seen(Current::Absent, Kept::File(d(GO)), rec(Some(GO), &[V1]));
        assert_eq!(uninstall("sriov", &s), Uninstall::Restore);
    }

    #[test]
    fn uninstall_after_a_crash_finishes_and_never_loses_the_go_binary() {
        // Restored already, the record not yet removed.
        let s = seen(file(GO), Kept::Absent, rec(Some(GO), &[V1]));
        assert_eq!(uninstall("sriov", &s), Uninstall::Forget);
        // A take-over that stopped before its rename.
        let s = seen(file(GO), Kept::SameFileAsCurrent, rec(Some(GO), &[V1]));
        assert_eq!(uninstall("sriov", &s), Uninstall::Forget);
        // Ours in place and the kept copy gone: ours stays.
        let s = seen(file(V1), Kept::Absent, rec(Some(GO), &[V1]));
        assert!(matches!(uninstall("sriov", &s), Uninstall::Refuse(_)));
        // Nothing recorded: not ours.
        let s = seen(file(GO), Kept::Absent, None);
        assert_eq!(uninstall("sriov", &s), Uninstall::NotInstalled);
        // Ours removed by hand, nothing to put back.
        let s = seen(Current::Absent, Kept::Absent, rec(None, &[V1]));
        assert_eq!(uninstall("sriov", &s), Uninstall::Forget);
    }
}
