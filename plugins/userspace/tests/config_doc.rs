#![allow(clippy::unwrap_used)]
//! docs/config/userspace.md lists exactly the keys the userspace config accepts: the fields of
//! `UserspaceConf` and its blocks (what the decoder matches keys against) and the
//! `runtimeConfig` capability arguments ADD reads. A field added on either side without the
//! other fails here, naming it.

use nfv_cni::Plugin;
use nfv_testkit::config_doc::{
    add_request, assert_same_keys, doc_keys, runtime_keys_read, struct_keys, workspace_root,
};
use serde_json::json;
use userspace::config::UserspaceConf;
use userspace::places::Places;
use userspace::UserspaceAt;

#[test]
fn the_reference_lists_every_key_the_config_accepts_and_no_other() {
    let scratch =
        std::env::temp_dir().join(format!("nfv-userspace-config-doc-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    // Every place under the scratch directory and no ovsdb-server there: a config ADD accepts
    // fails connecting (code 11), after every key is read and before anything is created.
    let plugin = UserspaceAt(Places::under(&scratch));
    let base = json!({"cniVersion": "1.1.0", "name": "probe", "type": "userspace",
                      "host": {"engine": "ovs-dpdk", "iftype": "vhostuser"},
                      "sharedDir": scratch, "ovsdbSocket": scratch.join("db.sock"),
                      "ovsTimeout": 1});
    let read = runtime_keys_read(&base, |conf| {
        plugin.add(&add_request(conf)).map(drop).map_err(|e| e.msg)
    });
    std::fs::remove_dir_all(&scratch).unwrap();
    assert!(
        read.contains("runtimeConfig.mac") && !read.contains("runtimeConfig.ips"),
        "the probe tells a key ADD reads from one it passes to IPAM: {read:?}"
    );

    let mut accepted = struct_keys::<UserspaceConf>();
    accepted.extend(read);
    let doc = workspace_root().join("docs/config/userspace.md");
    assert_same_keys(&doc, &doc_keys(&doc), &accepted);
}
