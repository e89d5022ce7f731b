//! On-disk compatibility of a plugin's records: files written by an earlier binary, kept as
//! fixtures, must load in the current one and be written back byte for byte.

use std::path::PathBuf;

use nfv_records::{AttachmentRecord, RecordStore};
use serde::{Deserialize, Serialize};

/// The least record a store can hold: whose attachment, which device. For tests of stores
/// and of what is built on them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestRecord {
    pub container_id: String,
    pub ifname: String,
    pub device: String,
}

impl TestRecord {
    /// `container`'s attachment on `net1`, holding `device`.
    pub fn new(container: &str, device: &str) -> TestRecord {
        TestRecord {
            container_id: container.into(),
            ifname: "net1".into(),
            device: device.into(),
        }
    }
}

nfv_records::attachment_record!(TestRecord);

/// A fresh scratch directory holding `fixtures` (file name, bytes): a state directory as an
/// earlier binary left it. The caller removes it.
pub fn state_dir_with(name: &str, fixtures: &[(&str, &[u8])]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (file, bytes) in fixtures {
        std::fs::write(dir.join(file), bytes).unwrap();
    }
    dir
}

/// Every record `store` finds among `fixtures` (already in its directory, see
/// [`state_dir_with`]) is saved again after the files are removed, and each file must come
/// back byte for byte. Returns the records, for the caller's own checks.
pub fn assert_resaved_byte_for_byte<R: AttachmentRecord>(
    store: &RecordStore<R>,
    fixtures: &[(&str, &[u8])],
) -> Vec<R> {
    let records = store.all().unwrap();
    assert_eq!(
        records.len(),
        fixtures.len(),
        "every fixture is a record the store reads"
    );
    for (file, _) in fixtures {
        std::fs::remove_file(store.dir().join(file)).unwrap();
    }
    for r in &records {
        store.save(r).unwrap();
    }
    for (file, bytes) in fixtures {
        let now = std::fs::read(store.dir().join(file)).unwrap();
        assert!(
            now == *bytes,
            "{file} is written differently now:\n{}\nwas:\n{}",
            String::from_utf8_lossy(&now),
            String::from_utf8_lossy(bytes)
        );
    }
    records
}
