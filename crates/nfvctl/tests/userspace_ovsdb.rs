//! The userspace plugin attaches a pod on the fake ovsdb-server its own tests use (a stateful
//! model of Open vSwitch), next to a port userspace-cni left and a vhost-user port nobody
//! accounts for; nfvctl reads OVSDB as a node's ovsdb-server: our port with its network,
//! attachment, bridge and socket, userspace-cni's port joined with its file, the stray port
//! flagged. Then `gc --dry-run` and the plugin's GC run on the same OVS, for two valid lists,
//! and remove the same ports. No root needed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../plugins/userspace/tests/common/mod.rs"]
mod us;

use nfv_cni::Attachment;
use nfvctl::gc::Plan;
use nfvctl::kernel::Kernel;
use nfvctl::read::Snapshot;
use nfvctl::view::Status;
use nfvctl::Node;
use serde_json::{json, Value};
use userspace::places::Places;

fn conf(dir: &std::path::Path, valid: Option<Value>) -> String {
    let mut c = json!({"cniVersion": "1.1.0", "name": "us-net", "type": "userspace",
        "ovsdbSocket": dir.join("db.sock"), "sharedDir": dir.join("s"), "ovsTimeout": 2,
        "host": {"engine": "ovs-dpdk", "iftype": "vhostuser", "bridge": {"bridgeName": "br-t"}}});
    if let Some(v) = valid {
        c["cni.dev/valid-attachments"] = v;
    }
    c.to_string()
}

#[test]
fn nfvctl_reads_ovsdb_as_the_plugin_left_it_and_previews_its_gc() {
    let d = us::scratch("nfvctl", "ovs");
    let model = us::OvsModel::new(None);
    let _fake = us::FakeOvsdb::start(&d, model.handler());
    let plugin = userspace::UserspaceAt(Places::under(&d));
    let (code, out) = us::run_with(&plugin, "ADD", us::CID, &conf(&d, None), None);
    assert_eq!(code, 0, "ADD: {out}");
    model.plant_userspace_cni_port(
        "br-old",
        "0123456789ab-net2",
        "dpdkvhostuserclient",
        &[(
            "vhost-server-path",
            "/usr/local/var/run/openvswitch/0123456789ab/0123456789ab-net2",
        )],
    );
    model.plant_port("br-x", "stray", &[]);

    let mut node = Node::under(&d.join("node"));
    node.ovsdb_socket = Some(d.join("db.sock"));
    let data = d.join("node/userspace/usrspcni/data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("local-0123456789ab-net2.json"),
        r#"{"name":"us-old"}"#,
    )
    .unwrap();

    let snapshot = Snapshot::read(&node);
    assert!(snapshot.notes.is_empty(), "{:?}", snapshot.notes);
    let st = Status::build(&snapshot, &mut Kernel::open(&node));
    let who: Vec<(&str, Option<&str>, &str, &str)> = st
        .attachments
        .iter()
        .map(|a| {
            (
                a.plugin,
                a.network.as_deref(),
                a.container_id.as_str(),
                a.ifname.as_str(),
            )
        })
        .collect();
    assert_eq!(
        who,
        [
            ("userspace", Some("us-net"), us::CID, "net1"),
            ("userspace-cni", Some("us-old"), "0123456789ab", "net2"),
        ]
    );
    let ours = st.attachments[0].ovs.as_ref().unwrap();
    assert_eq!(
        (
            ours.port.as_str(),
            ours.bridge.as_deref(),
            ours.iface_type.as_str()
        ),
        (us::PORT, Some("br-t"), "dpdkvhostuserclient")
    );
    assert_eq!(
        ours.socket.as_deref(),
        Some(d.join("s").join(us::CID12).join(us::PORT).to_str().unwrap()),
        "the socket the plugin tagged"
    );
    let theirs = st.attachments[1].ovs.as_ref().unwrap();
    assert_eq!(theirs.bridge.as_deref(), Some("br-old"));
    assert!(st.attachments.iter().all(|a| a.drift.is_empty()), "{st:?}");
    let stray: Vec<&str> = st.drift.iter().map(|d| d.kind).collect();
    assert_eq!(stray, ["ovs-port-without-record"]);
    assert!(st.drift[0].detail.contains("stray"));

    // The preview and the plugin's GC, on the same OVS: first with the pod valid, then not.
    let att = |c: &str| Attachment {
        container_id: c.into(),
        ifname: "net1".into(),
    };
    for (valid, removed) in [(vec![att(us::CID)], false), (vec![att("other")], true)] {
        let snapshot = Snapshot::read(&node);
        let plan = Plan::compute(&snapshot, Some(&valid), Some("us-net"));
        let previewed: Vec<&str> = plan.networks[0]
            .teardown
            .iter()
            .map(|s| s.container_id.as_str())
            .collect();
        assert_eq!(previewed.is_empty(), !removed, "{plan:?}");
        assert_eq!(
            model.our_ports("us-net"),
            [us::PORT],
            "the preview removed nothing"
        );
        let v = serde_json::to_value(&valid).unwrap();
        let (code, out) = us::run_with(&plugin, "GC", us::CID, &conf(&d, Some(v)), None);
        assert_eq!(code, 0, "GC: {out}");
        let gone = model.our_ports("us-net").is_empty();
        assert_eq!(gone, removed, "GC did what the preview said");
        if removed {
            assert_eq!(previewed, [us::CID]);
        }
    }
    assert!(
        model
            .port_names()
            .contains(&"0123456789ab-net2".to_string())
            && model.port_names().contains(&"stray".to_string()),
        "GC leaves ports that are not ours"
    );
    let _ = std::fs::remove_dir_all(&d);
}
