//! OVS's rows as ovsdb-server returns them (RFC 7047 wire form), turned into ports: ours by
//! the userspace plugin's tags, userspace-cni's untagged vhost-user ports, other ports left
//! out; then the status view joins them with userspace-cni's files and flags a vhost-user port
//! nobody accounts for, an `Interface.error`, and a userspace-cni file whose port is gone.

#![allow(clippy::unwrap_used)]

use nfv_ovsdb::Row;
use nfvctl::kernel::Kernel;
use nfvctl::read::{Snapshot, UserspaceCniFile};
use nfvctl::view::Status;
use nfvctl::Node;
use serde_json::{json, Value};

fn rows(v: Value) -> Vec<Row> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| Row::from_json(r).unwrap())
        .collect()
}

fn uuid(n: u32) -> Value {
    json!(["uuid", format!("00000000-0000-0000-0000-{n:012}")])
}

fn map(pairs: &[(&str, &str)]) -> Value {
    json!([
        "map",
        pairs.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>()
    ])
}

#[test]
fn ports_are_read_joined_and_judged() {
    let bridges = rows(json!([
        {"name": "br0", "ports": ["set", [uuid(1), uuid(2), uuid(3), uuid(4)]]}
    ]));
    let ours = map(&[
        ("nfv-cni/network", "us-net"),
        ("nfv-cni/container-id", "c-us-0123456789"),
        ("nfv-cni/ifname", "net1"),
        (
            "nfv-cni/socket-path",
            "/usr/local/var/run/openvswitch/c-us-0123456/c-us-0123456-net1",
        ),
    ]);
    let ports = rows(json!([
        {"_uuid": uuid(1), "name": "c-us-0123456-net1", "external_ids": ours, "interfaces": uuid(11)},
        {"_uuid": uuid(2), "name": "0123456789ab-net2", "external_ids": map(&[]), "interfaces": uuid(12)},
        {"_uuid": uuid(3), "name": "stray", "external_ids": map(&[]), "interfaces": uuid(13)},
        {"_uuid": uuid(4), "name": "dpdk0", "external_ids": map(&[]), "interfaces": uuid(14)},
    ]));
    let ifaces = rows(json!([
        {"_uuid": uuid(11), "name": "c-us-0123456-net1", "type": "dpdkvhostuserclient",
         "options": map(&[("vhost-server-path", "/x")]), "error": ["set", []]},
        {"_uuid": uuid(12), "name": "0123456789ab-net2", "type": "dpdkvhostuserclient",
         "options": map(&[("vhost-server-path", "/usr/local/var/run/openvswitch/0123456789ab/0123456789ab-net2")]),
         "error": "could not open vhost-user socket"},
        {"_uuid": uuid(13), "name": "stray", "type": "dpdkvhostuser", "options": map(&[]),
         "error": ["set", []]},
        {"_uuid": uuid(14), "name": "dpdk0", "type": "dpdk", "options": map(&[]), "error": ["set", []]},
    ]));
    let p = nfvctl::read::ovs::ports(&bridges, &ports, &ifaces).unwrap();
    let names: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["0123456789ab-net2", "c-us-0123456-net1", "stray"],
        "dpdk0 is not a pod's"
    );
    let us = &p[1];
    let t = us.ours.as_ref().unwrap();
    assert_eq!((t.network.as_str(), t.ifname.as_str()), ("us-net", "net1"));
    assert_eq!(us.bridge.as_deref(), Some("br0"));
    assert_eq!(
        us.socket(),
        Some("/usr/local/var/run/openvswitch/c-us-0123456/c-us-0123456-net1"),
        "our tag, not the option"
    );
    assert_eq!(
        p[0].error.as_deref(),
        Some("could not open vhost-user socket")
    );

    let dir = std::env::temp_dir().join(format!("nfvctl-ovs-{}", std::process::id()));
    let node = Node::under(&dir);
    let mut snapshot = Snapshot::read(&node);
    snapshot.ovs = Some(p);
    snapshot.userspace_cni = vec![
        UserspaceCniFile {
            name: "local-0123456789ab-net2.json".into(),
            cid12: "0123456789ab".into(),
            ifname: "net2".into(),
            network: Some("us-old".into()),
        },
        UserspaceCniFile {
            name: "local-fedcba987654-net1.json".into(),
            cid12: "fedcba987654".into(),
            ifname: "net1".into(),
            network: None,
        },
    ];
    let st = Status::build(&snapshot, &mut Kernel::open(&node));
    let seen: Vec<(&str, Vec<&str>)> = st
        .attachments
        .iter()
        .map(|a| (a.plugin, a.drift.iter().map(|d| d.kind).collect()))
        .collect();
    assert_eq!(
        seen,
        [
            ("userspace", vec![]),
            ("userspace-cni", vec!["ovs-port-error"]),
            ("userspace-cni", vec!["ovs-port-gone"]),
        ]
    );
    assert_eq!(st.drift.len(), 1);
    assert_eq!(st.drift[0].kind, "ovs-port-without-record");
    assert!(st.drift[0].detail.contains("stray"), "{:?}", st.drift);
}
