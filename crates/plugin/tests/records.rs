//! The record store's CNI answers on a real directory: CHECK without a record, the end of a
//! failed ADD.

use std::fs;
use std::path::PathBuf;

use nfv_plugin::CniRecordStore;
use nfv_records::RecordStore;
use nfv_testkit::records::TestRecord as Rec;

fn rec(c: &str, dev: &str) -> Rec {
    Rec::new(c, dev)
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nfv-plugin-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    d
}

#[test]
fn check_needs_a_record_and_names_the_attachment_it_lacks() {
    let dir = scratch("load-known");
    let store = RecordStore::<Rec>::new(&dir);
    let e = store.load_known("c1", "net1").unwrap_err();
    assert_eq!(e.code, nfv_cni::code::UNKNOWN_CONTAINER);
    assert_eq!(e.msg, "no attachment c1 / net1 recorded on this node");
    store.save(&rec("c1", "0000:00:01.1")).unwrap();
    assert_eq!(
        store.load_known("c1", "net1").unwrap(),
        rec("c1", "0000:00:01.1")
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_complete_rollback_drops_the_record_an_incomplete_one_keeps_it_and_says_why() {
    let dir = scratch("rolled-back");
    let store = RecordStore::<Rec>::new(&dir);
    let r = rec("c1", "0000:00:01.1");
    store.save(&r).unwrap();
    let failed = || nfv_cni::Error::new(121, "move: refused");

    let e = store.rolled_back(&r, failed(), &["set mtu: busy", "up: gone"]);
    assert_eq!((e.code, e.msg.as_str()), (121, "move: refused"));
    assert_eq!(e.details, "rollback incomplete: set mtu: busy; up: gone");
    assert_eq!(store.load("c1", "net1").unwrap(), Some(r.clone()));

    let e = store.rolled_back(&r, failed(), &[] as &[&str]);
    assert_eq!(
        (e.code, e.msg.as_str(), e.details.as_str()),
        (121, "move: refused", "")
    );
    assert_eq!(store.load("c1", "net1").unwrap(), None);
    fs::remove_dir_all(&dir).unwrap();
}
