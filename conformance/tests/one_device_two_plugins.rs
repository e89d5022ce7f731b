//! Two plugins meet on one device: a VF carrying a vhost_vdpa device can be named by an sriov
//! NAD (sriov hands the vDPA device over, its records in /var/lib/cni/nfv-sriov/vdpa) and by a
//! vdpa NAD (records in /var/lib/cni/nfv-vdpa). The built `sriov` and `vdpa` binaries race
//! for it round after round, each pod in its own namespace, on a node whose fake /sys and
//! /var/lib are bind-mounted for the plugin processes only: exactly one ADD wins; the loser
//! fails with code 133 naming the winner and leaves no record or lease; its DEL leaves the
//! winner's record alone; the winner's DEL leaves the node as it was.
//!
//! Needs root and util-linux; the binaries come from `NFV_CNI_BIN_DIR` (see `binaries`).
//! Prints a `reliability:` line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use nfv_conformance::binaries::plugin;
use nfv_conformance::prerequisites::{require, require_root, Prerequisite};
use nfv_testkit::storm::{install_leases_ipam, leases, names, report, together, Pods};
use nfv_testkit::sysfs::link;
use nfv_testkit::Node;
use serde_json::{json, Value};

const UTIL_LINUX: Prerequisite = Prerequisite {
    what: "nsenter",
    apt_package: "util-linux",
};

const PF: &str = "0000:00:0b.0";
const VF: &str = "0000:00:0b.1";
/// The vDPA device on [`VF`], bound to vhost_vdpa.
const DEVICE: &str = "vdpa7";

/// The record stores of the two plugins on the node, under its scratch /var/lib.
const STORES: [(&str, &str); 2] = [
    ("sriov", "varlib/cni/nfv-sriov/vdpa"),
    ("vdpa", "varlib/cni/nfv-vdpa"),
];

/// A PF (netdev `pf0`) whose VF 1 carries [`DEVICE`] on vhost_vdpa (`/dev/vhost-vdpa-7`).
fn fake_sysfs(root: &Path) {
    let devs = root.join("devices/pci0000:00");
    let (pf, vf) = (devs.join(PF), devs.join(VF));
    std::fs::create_dir_all(pf.join("net/pf0")).unwrap();
    std::fs::create_dir_all(root.join("bus/pci/drivers/mlx5_core")).unwrap();
    for d in [PF, VF] {
        link(
            &format!("../../../devices/pci0000:00/{d}"),
            root.join("bus/pci/devices").join(d),
        );
    }
    link(&format!("../{VF}"), pf.join("virtfn1"));
    link(&format!("../{PF}"), vf.join("physfn"));
    link("../../../bus/pci/drivers/mlx5_core", vf.join("driver"));
    std::fs::create_dir_all(root.join("bus/vdpa/drivers/vhost_vdpa")).unwrap();
    let dev = vf.join(DEVICE);
    std::fs::create_dir_all(dev.join("vhost-vdpa-7")).unwrap();
    link(
        "../../../../bus/vdpa/drivers/vhost_vdpa",
        dev.join("driver"),
    );
    link(
        &format!("../../../devices/pci0000:00/{VF}/{DEVICE}"),
        root.join("bus/vdpa/devices").join(DEVICE),
    );
}

/// The NAD of plugin `kind` naming the VF (and so its vDPA device).
fn conf(kind: &str) -> Value {
    json!({"cniVersion": "1.1.0", "name": format!("{kind}-net"), "type": kind,
        "deviceID": VF, "ipam": {"type": "lease-ipam"}})
}

struct Contenders {
    node: Node,
    vdpa: PathBuf,
    pods: Pods,
}

impl Contenders {
    /// Contender 0 is the sriov binary, 1 the vdpa binary.
    fn run(&self, i: usize, command: &str, ctr: &str) -> (i32, Value) {
        let kind = STORES[i].0;
        let env = [
            ("CNI_PATH", self.node.dir.join("bin").display().to_string()),
            ("CNI_NETNS", self.pods.path(i).display().to_string()),
        ];
        if i == 0 {
            self.node.cni_with(command, ctr, &conf(kind), &env)
        } else {
            self.node
                .cni_of(&self.vdpa, command, ctr, &conf(kind), &env)
        }
    }

    /// Every record of both stores, as `<plugin>:<file>`.
    fn records(&self) -> Vec<String> {
        STORES
            .iter()
            .flat_map(|(kind, dir)| {
                names(&self.node.dir.join(dir))
                    .into_iter()
                    .filter(|n| n.ends_with(".json"))
                    .map(move |n| format!("{kind}:{n}"))
            })
            .collect()
    }

    /// The winner's record, as bytes.
    fn record_of(&self, i: usize, ctr: &str) -> Option<String> {
        let p = self
            .node
            .dir
            .join(STORES[i].1)
            .join(format!("{ctr}-net1.json"));
        std::fs::read_to_string(p).ok()
    }
}

#[test]
fn an_sriov_and_a_vdpa_nad_racing_for_one_vhost_vdpa_device_one_wins() {
    require_root();
    require(&[UTIL_LINUX]);
    let node = Node::new("xplug", plugin("sriov"));
    fake_sysfs(&node.sys());
    install_leases_ipam(&node.dir);
    let c = Contenders {
        node,
        vdpa: plugin("vdpa"),
        pods: Pods::new("xplug", 2),
    };
    const ROUNDS: usize = 12;
    let mut wins = [0usize; 2];
    for round in 0..ROUNDS {
        let ctrs = [format!("r{round}sriov"), format!("r{round}vdpa")];
        let added = together(2, |i| c.run(i, "ADD", &ctrs[i]));
        let won: Vec<usize> = (0..2).filter(|i| added[*i].0 == 0).collect();
        assert_eq!(won.len(), 1, "round {round}: one ADD wins: {added:?}");
        let (w, l) = (won[0], 1 - won[0]);
        wins[w] += 1;
        let err = &added[l].1;
        assert_eq!(err["code"], 133, "round {round}: {}: {err}", STORES[l].0);
        let msg = err["msg"].as_str().unwrap();
        assert!(
            msg.contains(DEVICE) && msg.contains(&format!("container {} ", ctrs[w])),
            "round {round}: the error names the device and its holder: {msg}"
        );
        assert_eq!(
            c.records(),
            vec![format!("{}:{}-net1.json", STORES[w].0, ctrs[w])],
            "round {round}: only the winner's record"
        );
        assert_eq!(leases(&c.node.dir), vec![format!("{}-net1", ctrs[w])]);

        let held = c.record_of(w, &ctrs[w]);
        let (code, out) = c.run(l, "DEL", &ctrs[l]);
        assert_eq!(code, 0, "round {round}: the loser's DEL: {out}");
        assert_eq!(
            c.record_of(w, &ctrs[w]),
            held,
            "round {round}: the loser's DEL touched the winner's record"
        );
        let (code, out) = c.run(w, "DEL", &ctrs[w]);
        assert_eq!(code, 0, "round {round}: the winner's DEL: {out}");
        assert!(c.records().is_empty(), "round {round}: {:?}", c.records());
        assert!(leases(&c.node.dir).is_empty(), "round {round}");
    }
    report(
        "an sriov NAD and a vdpa NAD racing for one vhost_vdpa device",
        ROUNDS,
        2,
        &format!(
            "one winner per round (sriov {}, vdpa {}); the loser code 133 naming the winner, \
             no record or lease left; its DEL left the winner's record; node at rest after \
             the winner's DEL",
            wins[0], wins[1]
        ),
    );
}
