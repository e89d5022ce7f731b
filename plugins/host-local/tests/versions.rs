//! The ADD result in every cniVersion from 0.1.0 to 1.1.0, compared with the expected JSON in
//! testdata/host-local/results (recorded from the reference up to 1.0.0).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ours, run, TempDir};
use serde_json::{json, Value};
use std::path::PathBuf;

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/host-local")
}

#[test]
fn add_results_in_every_version_match_the_recorded_ones() {
    let tmp = TempDir::new("versions");
    for v in [
        "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0",
    ] {
        let conf = json!({"cniVersion": v, "name": "tdata", "type": "host-local", "ipam": {
            "type": "host-local", "dataDir": tmp.0.join(v), "subnet": "10.1.0.0/24",
            "ranges": [[{"subnet": "fd00:1::/120"}]],
            "resolvConf": testdata().join("resolv.conf"),
            "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0", "gw": "fd00:1::1"}]}});
        let r = run(&ours(), "ADD", "c1", "eth0", "", &conf.to_string());
        assert!(r.ok, "{v}: {}{}", r.stdout, r.stderr);
        let path = testdata().join(format!("results/add-{v}.json"));
        let want: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            r.json.unwrap(),
            want,
            "cniVersion {v} differs from {}",
            path.display()
        );
    }
}
