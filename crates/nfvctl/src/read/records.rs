//! Our records (sriov's, the vdpa code's), read with the plugins' own types through
//! nfv-records' read-only listing: no lock, no symlink followed, each file bounded.

use nfv_records::{AttachmentRecord, RecordStore};

/// Every record of `store`; what is skipped (unreadable, another version) becomes a note.
pub fn read<R: AttachmentRecord>(store: &RecordStore<R>, notes: &mut Vec<String>) -> Vec<R> {
    match store.read_only() {
        Ok(nfv_records::ReadOnly { records, skipped }) => {
            for (name, why) in skipped {
                notes.push(format!(
                    "{}: {why}: not shown",
                    store.dir().join(name).display()
                ));
            }
            records
        }
        Err(e) => {
            notes.push(format!("{}: {e}: not read", store.dir().display()));
            Vec::new()
        }
    }
}
