//! The scratch node with a stand-in "plugin" (a shell script) that reports what it sees:
//! the bind-mounted /sys and /var/lib, the host netns, the CNI environment and stdin.
//! Needs root (namespaces, mounts) and util-linux; skips without root.

#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;

use nfv_testkit::{root_or_skip, sysfs, Node};
use serde_json::json;

#[test]
fn the_binary_sees_the_fake_sys_the_scratch_var_lib_and_the_cni_env() {
    if !root_or_skip("the_binary_sees_the_fake_sys_the_scratch_var_lib_and_the_cni_env") {
        return;
    }
    let script_dir = std::env::temp_dir().join(format!("nfv-testkit-bin-{}", std::process::id()));
    std::fs::create_dir_all(&script_dir).unwrap();
    let plugin = script_dir.join("plugin");
    std::fs::write(
        &plugin,
        "#!/bin/sh\n\
         conf=$(cat)\n\
         printf '{\"marker\":\"%s\",\"varlib\":\"%s\",\"link\":\"%s\",\"veths\":\"%s\",\"cmd\":\"%s\",\"ctr\":\"%s\",\
         \"netns\":\"%s\",\"extra\":\"%s\",\"conf\":%s}\\n' \
         \"$(cat /sys/marker)\" \"$(ls /var/lib)\" \"$(readlink /sys/bus/x)\" \"$(grep -c tkv0 /proc/net/dev)\" \
         \"$CNI_COMMAND\" \"$CNI_CONTAINERID\" \"$CNI_NETNS\" \"$EXTRA\" \"$conf\"\n\
         exit 3\n",
    )
    .unwrap();
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();

    let node = Node::new("tk", &plugin);
    std::fs::write(node.sys().join("marker"), "fake-sysfs").unwrap();
    sysfs::link("../devices/x", node.sys().join("bus/x"));
    node.host_netlink()
        .create_veth("tkv0", "tkv0peer", None)
        .unwrap();

    let (code, out) = node.cni_with(
        "ADD",
        "ctr9",
        &json!({"name": "n"}),
        &[("EXTRA", "yes".to_string())],
    );
    assert_eq!(code, 3);
    assert_eq!(out["marker"], "fake-sysfs", "{out}");
    assert_eq!(out["varlib"], "cni", "{out}");
    assert_eq!(out["link"], "../devices/x", "{out}");
    assert_eq!(
        out["veths"], "2",
        "runs in the host netns, with both veth ends: {out}"
    );
    assert_eq!(
        (out["cmd"].clone(), out["ctr"].clone(), out["extra"].clone()),
        (json!("ADD"), json!("ctr9"), json!("yes"))
    );
    assert_eq!(out["netns"], json!(node.pod_netns()));
    assert_eq!(out["conf"], json!({"name": "n"}));
    // The real /sys of this process is untouched.
    assert!(!std::path::Path::new("/sys/marker").exists());

    let (pod, host, dir) = (node.pod_netns(), node.host_name.clone(), node.dir.clone());
    assert!(pod.exists());
    drop(node);
    assert!(!pod.exists() && !std::path::Path::new("/run/netns").join(host).exists());
    assert!(!dir.exists());
    std::fs::remove_dir_all(&script_dir).unwrap();
}
