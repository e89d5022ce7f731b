#![allow(clippy::unwrap_used)]
//! docs/config/README.md ("Keys every plugin reads") lists exactly the spec keys `NetConf`
//! decodes, libcni's misspelt GC key, and the logging keys the runner reads from the rest.
//! Sits here because the comparison lives in nfv-testkit; the keys are nfv-cni's.

use std::collections::BTreeSet;

use nfv_cni::config::MISSPELT_VALID_ATTACHMENTS;
use nfv_cni::result::Dns;
use nfv_cni::NetConf;
use nfv_testkit::config_doc::{assert_same_keys, doc_keys, workspace_root};
use serde_json::{Map, Value};

/// `NetConf`'s keys as it prints them. Every field is written out (no `..Default::default()`),
/// so a field added to `NetConf` stops this from compiling until it is given here too.
fn netconf_keys() -> BTreeSet<String> {
    let full = NetConf {
        cni_version: "1.1.0".into(),
        name: "n".into(),
        plugin_type: "t".into(),
        capabilities: Some(Map::new()),
        ipam: Some(Map::new()),
        dns: Some(Dns::default()),
        runtime_config: Some(Map::new()),
        args: Some(Value::Null),
        prev_result: Some(Value::Null),
        valid_attachments: Some(Vec::new()),
        extra: Map::new(),
    };
    let Value::Object(m) = serde_json::to_value(&full).unwrap() else {
        panic!("NetConf prints as an object")
    };
    m.keys().cloned().collect()
}

/// The keys the runner takes from the config's other keys (`m.get("...")` in runner.rs):
/// read from the source, so a key added there is one the page must list.
fn runner_keys() -> BTreeSet<String> {
    let src = std::fs::read_to_string(workspace_root().join("crates/cni/src/runner.rs")).unwrap();
    let keys: BTreeSet<String> = src
        .split("m.get(\"")
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(k, _)| k.to_string()))
        .collect();
    assert!(
        keys.contains("logLevel") && keys.contains("logFile"),
        "runner.rs no longer reads logging keys as m.get(\"...\"): update runner_keys ({keys:?})"
    );
    keys
}

#[test]
fn the_common_keys_page_lists_what_every_plugin_reads_and_no_more() {
    let mut accepted = netconf_keys();
    accepted.insert(MISSPELT_VALID_ATTACHMENTS.to_string());
    accepted.extend(runner_keys());
    let doc = workspace_root().join("docs/config/README.md");
    assert_same_keys(&doc, &doc_keys(&doc), &accepted);
}
