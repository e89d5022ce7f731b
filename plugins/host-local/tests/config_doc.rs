#![allow(clippy::unwrap_used)]
//! docs/config/host-local.md lists exactly the keys host-local reads. Its config is not a
//! serde struct (it reads keys one by one, as Go's reference matches them), so both sides are
//! checked another way:
//! - every key the page lists is probed: given a value of the wrong type, `IpamConfig::load`
//!   must fail naming exactly that path (`ipam.ranges[0][0].subnet`);
//! - every key `crates/hostlocal/src/config.rs` reads (the string given to `field`,
//!   `opt_str`, `opt_ip`, `opt_cidr`, `opt_u32`) must appear in some listed path.

use std::collections::BTreeSet;

use nfv_hostlocal::error::ConfigError;
use nfv_hostlocal::IpamConfig;
use nfv_testkit::config_doc::{doc_keys, workspace_root};
use serde_json::{json, Value};

/// Read by the runner and the IPAM delegation, not by `IpamConfig::load`: listed, not probed.
const READ_ELSEWHERE: [&str; 3] = ["ipam.type", "ipam.logLevel", "ipam.logFile"];
/// Read by `IpamConfig::load` and listed on the common page (docs/config/README.md).
const COMMON: [&str; 2] = ["name", "cniVersion"];

/// Sets `leaf` at the dotted path `segs` in `v`; a `[]` per list level, each list given one
/// element. A route element starts with a `dst`, which is required and read first.
fn set(v: &mut Value, segs: &[&str], leaf: Value) {
    let Some((first, rest)) = segs.split_first() else {
        return;
    };
    let name = first.trim_end_matches("[]");
    let lists = first.matches("[]").count();
    if !v.is_object() {
        *v = json!({});
    }
    let mut slot = v
        .as_object_mut()
        .unwrap()
        .entry(name)
        .or_insert(Value::Null);
    for _ in 0..lists {
        if !slot.is_array() {
            *slot = json!([null]);
        }
        slot = &mut slot[0];
    }
    if rest.is_empty() {
        *slot = leaf;
        return;
    }
    if !slot.is_object() {
        *slot = if name == "routes" {
            json!({"dst": "0.0.0.0/0"})
        } else {
            json!({})
        };
    }
    set(slot, rest, leaf);
}

/// The keys config.rs reads, from its source (the part before its tests).
fn keys_in_source() -> BTreeSet<String> {
    let src =
        std::fs::read_to_string(workspace_root().join("crates/hostlocal/src/config.rs")).unwrap();
    let code = src.split("#[cfg(test)]").next().unwrap();
    let mut keys = BTreeSet::new();
    for reader in ["field(", "opt_str(", "opt_ip(", "opt_cidr(", "opt_u32("] {
        for call in code.split(reader).skip(1) {
            // `reader(obj, "key", ...)`: the first string literal before the call closes.
            let args = call.split(')').next().unwrap_or_default();
            if let Some(key) = args.split('"').nth(1) {
                keys.insert(key.to_string());
            }
        }
    }
    assert!(
        keys.contains("subnet") && keys.contains("dataDir"),
        "config.rs no longer reads keys through field/opt_*: update keys_in_source ({keys:?})"
    );
    keys
}

#[test]
fn the_reference_lists_every_key_host_local_reads_and_no_other() {
    let doc = workspace_root().join("docs/config/host-local.md");
    let listed = doc_keys(&doc);
    let base = json!({"cniVersion": "1.0.0", "name": "n",
                      "ipam": {"type": "host-local", "subnet": "10.0.0.0/24"}});

    let mut not_read = Vec::new();
    for key in listed
        .iter()
        .filter(|k| !READ_ELSEWHERE.contains(&k.as_str()))
    {
        let mut conf = base.clone();
        let segs: Vec<&str> = key.split('.').collect();
        set(&mut conf, &segs, json!(true));
        let want = key.replace("[]", "[0]");
        match IpamConfig::load(&conf, &[]) {
            Err(ConfigError::Decode { field, .. }) if field == want => {}
            other => not_read.push(format!("{key} (with `true` there: {other:?})")),
        }
    }
    assert!(
        not_read.is_empty(),
        "docs/config/host-local.md lists keys host-local does not read: {not_read:#?}"
    );

    let segments: BTreeSet<&str> = listed
        .iter()
        .flat_map(|k| k.split('.'))
        .map(|s| s.trim_end_matches("[]"))
        .collect();
    let common = doc_keys(&workspace_root().join("docs/config/README.md"));
    for key in COMMON {
        assert!(
            common.contains(key),
            "{key} is read by host-local: docs/config/README.md must list it"
        );
    }
    let unlisted: Vec<String> = keys_in_source()
        .into_iter()
        .filter(|k| !COMMON.contains(&k.as_str()) && !segments.contains(k.as_str()))
        .collect();
    assert!(
        unlisted.is_empty(),
        "host-local reads {unlisted:?}, which docs/config/host-local.md does not list: add a \
         row for each (its full path, e.g. `ipam.routes[].mtu`)"
    );
}
