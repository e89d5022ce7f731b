//! The compatibility helper must fail when the bytes differ, and pass when they do not.

#![allow(clippy::unwrap_used)]

use nfv_records::RecordStore;
use nfv_testkit::records::{assert_resaved_byte_for_byte, state_dir_with, TestRecord as Rec};

const SAME: &[u8] =
    b"{\n  \"containerId\": \"c\",\n  \"ifname\": \"net1\",\n  \"device\": \"d\"\n}";
const COMPACT: &[u8] = br#"{"containerId":"c","ifname":"net1","device":"d"}"#;

#[test]
fn identical_bytes_pass_and_return_the_records() {
    let dir = state_dir_with("tk-rec-same", &[("c-net1.json", SAME)]);
    let store = RecordStore::<Rec>::new(&dir);
    let records = assert_resaved_byte_for_byte(&store, &[("c-net1.json", SAME)]);
    assert_eq!(records[0].device, "d");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn different_bytes_fail() {
    let dir = state_dir_with("tk-rec-diff", &[("c-net1.json", COMPACT)]);
    let store = RecordStore::<Rec>::new(&dir);
    let failed = std::panic::catch_unwind(|| {
        assert_resaved_byte_for_byte(&store, &[("c-net1.json", COMPACT)]);
    });
    assert!(
        failed.is_err(),
        "compact input is saved pretty: must be reported"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
