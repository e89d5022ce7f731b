#![allow(clippy::unwrap_used)]
//! docs/config/vdpa.md lists exactly the keys the vdpa config accepts: the fields of
//! `VdpaConf` (what the decoder matches keys against) and the `runtimeConfig` capability
//! arguments ADD reads. A field added on either side without the other fails here, naming it.

use nfv_cni::Plugin;
use nfv_pci::Sysfs;
use nfv_testkit::config_doc::{
    add_request, assert_same_keys, doc_keys, runtime_keys_read, struct_keys, workspace_root,
};
use nfv_vdpa::config::VdpaConf;
use nfv_vdpa::Vdpa;
use serde_json::json;
use vdpa::VdpaPlugin;

#[test]
fn the_reference_lists_every_key_the_config_accepts_and_no_other() {
    let scratch = std::env::temp_dir().join(format!("nfv-vdpa-config-doc-{}", std::process::id()));
    std::fs::create_dir_all(scratch.join("sys")).unwrap();
    // No vDPA device in an empty sysfs (and no netlink): a config ADD accepts fails at the
    // node, after every key is read.
    let plugin = VdpaPlugin(Vdpa {
        sysfs: Sysfs::at(scratch.join("sys")),
        records: nfv_vdpa::record::store(scratch.join("state")),
        use_netlink: false,
        check_dev_nodes: false,
    });
    let base = json!({"cniVersion": "1.1.0", "name": "probe", "type": "vdpa",
                      "deviceID": "0000:00:01.0"});
    let read = runtime_keys_read(&base, |conf| {
        plugin.add(&add_request(conf)).map(drop).map_err(|e| e.msg)
    });
    std::fs::remove_dir_all(&scratch).unwrap();
    assert!(
        read.contains("runtimeConfig.mac") && !read.contains("runtimeConfig.ips"),
        "the probe tells a key ADD reads from one it passes to IPAM: {read:?}"
    );

    let mut accepted = struct_keys::<VdpaConf>();
    accepted.extend(read);
    let doc = workspace_root().join("docs/config/vdpa.md");
    assert_same_keys(&doc, &doc_keys(&doc), &accepted);
}
