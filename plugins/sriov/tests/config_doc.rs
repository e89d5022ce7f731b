#![allow(clippy::unwrap_used)]
//! docs/config/sriov.md lists exactly the keys the sriov config accepts: the fields of
//! `SriovConf` (what the decoder matches keys against) and the `runtimeConfig` capability
//! arguments ADD reads. A field added on either side without the other fails here, naming it.

use nfv_cni::Plugin;
use nfv_testkit::config_doc::{
    add_request, assert_same_keys, doc_keys, runtime_keys_read, struct_keys, workspace_root,
};
use serde_json::json;
use sriov::config::SriovConf;
use sriov::Sriov;

#[test]
fn the_reference_lists_every_key_the_config_accepts_and_no_other() {
    let scratch = std::env::temp_dir().join(format!("nfv-sriov-config-doc-{}", std::process::id()));
    std::fs::create_dir_all(scratch.join("sys")).unwrap();
    // No VF in an empty sysfs: a config ADD accepts fails at the node, after every key is read.
    let plugin = Sriov::over(scratch.join("sys"), scratch.join("state"));
    let base = json!({"cniVersion": "1.1.0", "name": "probe", "type": "sriov",
                      "deviceID": "0000:00:01.0"});
    let read = runtime_keys_read(&base, |conf| {
        plugin.add(&add_request(conf)).map(drop).map_err(|e| e.msg)
    });
    std::fs::remove_dir_all(&scratch).unwrap();
    assert!(
        read.contains("runtimeConfig.mac") && !read.contains("runtimeConfig.ips"),
        "the probe tells a key ADD reads from one it passes to IPAM: {read:?}"
    );

    let mut accepted = struct_keys::<SriovConf>();
    accepted.extend(read);
    let doc = workspace_root().join("docs/config/sriov.md");
    assert_same_keys(&doc, &doc_keys(&doc), &accepted);
}
