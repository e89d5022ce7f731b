//! The record store's answers in CNI terms: CHECK without a record, and the end of a failed
//! ADD. nfv-records stores records; what a verb answers about them is decided here.

use std::fmt::Display;

use nfv_cni::{code, Error};
use nfv_records::{AttachmentRecord, RecordStore};

/// What the verbs ask of a [`RecordStore`] beyond storing: import it, and call the methods on
/// the store.
pub trait CniRecordStore<R> {
    /// The attachment's record for CHECK, which needs one: none is a CNI error 3 (unknown
    /// container), "no attachment <container> / <ifname> recorded on this node".
    fn load_known(&self, container_id: &str, ifname: &str) -> Result<R, Error>;

    /// The end of a failed ADD: `failures` are what undoing `record`'s changes could not undo.
    /// None: the record goes (a failure to remove it is only logged) and `e` is returned as it
    /// was. Some: the record stays, for DEL to finish the job, and `e` says so in its details
    /// ("rollback incomplete: <failures joined by "; ">").
    fn rolled_back(&self, record: &R, e: Error, failures: &[impl Display]) -> Error;
}

impl<R: AttachmentRecord> CniRecordStore<R> for RecordStore<R> {
    fn load_known(&self, container_id: &str, ifname: &str) -> Result<R, Error> {
        self.load(container_id, ifname)?.ok_or_else(|| {
            Error::new(
                code::UNKNOWN_CONTAINER,
                format!("no attachment {container_id} / {ifname} recorded on this node"),
            )
        })
    }

    fn rolled_back(&self, record: &R, e: Error, failures: &[impl Display]) -> Error {
        if failures.is_empty() {
            if let Err(r) = self.remove(record.container_id(), record.ifname()) {
                nfv_cni::error!("rollback: {r}");
            }
            e
        } else {
            let all: Vec<String> = failures.iter().map(ToString::to_string).collect();
            e.with_details(format!("rollback incomplete: {}", all.join("; ")))
        }
    }
}
