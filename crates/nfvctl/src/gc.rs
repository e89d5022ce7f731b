//! `nfvctl gc --dry-run`: what GC of each network would tear down, chosen by the functions the
//! plugins' GC calls (nfv-records' `select_stale`, sriov's `stale_caches`, userspace's
//! `is_stale`, host-local's `ValidOwners`), so the preview and GC cannot disagree. At run time
//! GC also skips what an ADD or DEL holds the lock of, and sriov-cni's VFs whose netdev is not
//! back in the host: the preview says so where it applies.

use std::collections::BTreeSet;
use std::path::Path;

use nfv_cni::Attachment;
use nfv_hostlocal::gc::{LeaseVerdict, ValidOwners};
use nfv_records::AttachmentRecord;
use serde::Serialize;
use serde_json::Value;
use sriov::sriov_cni::files::{stale_caches, CacheVerdict};

use crate::read::Snapshot;
use crate::view::{SCHEMA, SRIOV, SRIOV_CNI, USERSPACE, VDPA};

/// The most a valid-attachments file may hold (what the runner reads of a config).
const MAX_VALID_BYTES: u64 = 4 << 20;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub schema: u32,
    /// How many valid attachments the file listed (`null`: it listed none, so none is valid,
    /// as libcni means it).
    pub valid: Option<usize>,
    pub networks: Vec<NetworkPlan>,
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkPlan {
    pub network: String,
    /// What GC of this network tears down.
    pub teardown: Vec<Step>,
    /// What it looks at and leaves, and why.
    pub left: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// The plugin whose GC does it (`host-local` for a lease).
    pub plugin: &'static str,
    #[serde(rename = "containerID")]
    pub container_id: String,
    pub ifname: String,
    pub what: String,
}

/// The valid attachments a file lists, and the network it names: a JSON list of
/// `{containerID, ifname}`, or an object holding `cni.dev/valid-attachments` (or libcni's
/// misspelt `cni.dev/attachments`) and optionally `name`.
pub fn load_valid(path: &Path) -> Result<(Option<Vec<Attachment>>, Option<String>), String> {
    let bytes = nfv_safefs::read_regular_bounded(path, MAX_VALID_BYTES)
        .map_err(|e| format!("--valid: {e}"))?;
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("--valid {}: not JSON: {e}", path.display()))?;
    let list = |l: &Value| -> Result<Option<Vec<Attachment>>, String> {
        if l.is_null() {
            return Ok(None);
        }
        serde_json::from_value(l.clone()).map(Some).map_err(|e| {
            format!(
                "--valid {}: the valid attachments must be a list of {{\"containerID\": ..., \
                 \"ifname\": ...}}: {e}",
                path.display()
            )
        })
    };
    match &v {
        Value::Array(_) => Ok((list(&v)?, None)),
        Value::Object(o) => {
            let l = o
                .get("cni.dev/valid-attachments")
                .or_else(|| o.get("cni.dev/attachments"))
                .unwrap_or(&Value::Null);
            let name = o.get("name").and_then(Value::as_str).map(str::to_string);
            Ok((list(l)?, name))
        }
        _ => Err(format!(
            "--valid {}: give a JSON list of attachments or a GC config",
            path.display()
        )),
    }
}

impl Plan {
    /// The plan for the file at `valid`; `network` (else the file's `name`, else every network
    /// the node holds something of).
    pub fn build(s: &Snapshot, valid: &Path, network: Option<&str>) -> Result<Plan, String> {
        let (list, named) = load_valid(valid)?;
        let network = network.map(str::to_string).or(named);
        Ok(Plan::compute(s, list.as_deref(), network.as_deref()))
    }

    pub fn compute(s: &Snapshot, valid: Option<&[Attachment]>, network: Option<&str>) -> Plan {
        let listed = valid;
        let valid = valid.unwrap_or_default();
        let networks: Vec<String> = match network {
            Some(n) => vec![n.to_string()],
            None => networks(s).into_iter().collect(),
        };
        let mut notes = s.notes.clone();
        if s.ovs.is_none() {
            notes.push("OVS not read: userspace ports are not in this preview".to_string());
        }
        Plan {
            schema: SCHEMA,
            valid: listed.map(<[Attachment]>::len),
            networks: networks.iter().map(|n| network_plan(s, n, valid)).collect(),
            notes,
        }
    }
}

/// Every network the node holds something of.
fn networks(s: &Snapshot) -> BTreeSet<String> {
    let mut n = BTreeSet::new();
    n.extend(s.sriov.iter().map(|r| r.network.clone()));
    n.extend(s.sriov_vdpa.iter().map(|r| r.network.clone()));
    n.extend(s.vdpa.iter().map(|r| r.network.clone()));
    n.extend(s.sriov_cni.iter().filter_map(|c| c.cache.network.clone()));
    n.extend(s.leases.iter().map(|l| l.network.clone()));
    if let Some(ports) = &s.ovs {
        n.extend(
            ports
                .iter()
                .filter_map(|p| p.ours.as_ref().map(|t| t.network.clone())),
        );
    }
    n.remove("");
    n
}

/// One record store's share of the plan, chosen as its plugin's GC chooses
/// ([`nfv_records::select_stale`]).
fn plan_records<R: AttachmentRecord + Clone>(
    plugin: &'static str,
    records: &[R],
    network: &str,
    valid: &[Attachment],
    teardown: &mut Vec<Step>,
    left: &mut Vec<Step>,
    what: impl Fn(&R) -> String,
) {
    let chosen = nfv_records::select_stale(records.iter().cloned(), network, valid);
    for r in &chosen.stale {
        teardown.push(step(plugin, r.container_id(), r.ifname(), what(r)));
    }
    for r in &chosen.unnamed {
        left.push(step(
            plugin,
            r.container_id(),
            r.ifname(),
            LEFT_TO_DEL.into(),
        ));
    }
}

fn step(plugin: &'static str, container_id: &str, ifname: &str, what: String) -> Step {
    Step {
        plugin,
        container_id: container_id.to_string(),
        ifname: ifname.to_string(),
        what,
    }
}

const LEFT_TO_DEL: &str =
    "its record names no network (an earlier release wrote it): GC leaves it, DEL removes it";
const AT_RUN_TIME: &str = "unless an ADD or DEL holds its lock at that moment";

fn network_plan(s: &Snapshot, network: &str, valid: &[Attachment]) -> NetworkPlan {
    let mut teardown = Vec::new();
    let mut left = Vec::new();

    plan_records(
        SRIOV,
        &s.sriov,
        network,
        valid,
        &mut teardown,
        &mut left,
        |r| {
            format!(
                "restore VF {} ({} vf {}) as recorded and remove its record, {AT_RUN_TIME}",
                r.device, r.pf_netdev, r.vf_index
            )
        },
    );
    // sriov's GC hands the network's stale hand-offs to the vdpa code first.
    plan_records(
        SRIOV,
        &s.sriov_vdpa,
        network,
        valid,
        &mut teardown,
        &mut left,
        |r| {
            format!(
                "detach vDPA device {} (handed off by sriov) and remove its record, {AT_RUN_TIME}",
                r.device
            )
        },
    );
    plan_records(
        VDPA,
        &s.vdpa,
        network,
        valid,
        &mut teardown,
        &mut left,
        |r| {
            format!(
                "detach vDPA device {} and remove its record, {AT_RUN_TIME}",
                r.device
            )
        },
    );

    let caches: Vec<(String, sriov::sriov_cni::Cache)> = s
        .sriov_cni
        .iter()
        .map(|c| (c.name.clone(), c.cache.clone()))
        .collect();
    for (name, _, verdict) in stale_caches(&caches, network, valid) {
        let (cid, ifname) = name.rsplit_once('-').unwrap_or((name, ""));
        match verdict {
            CacheVerdict::Collect(vf) => teardown.push(step(
                SRIOV_CNI,
                cid,
                ifname,
                format!(
                    "sriov's GC restores VF {vf} from sriov-cni's cache {name} and removes the \
                     cache and its allocation, {AT_RUN_TIME}, when no record of ours holds the \
                     VF and its netdev is back in the host"
                ),
            )),
            CacheVerdict::Left(why) => left.push(step(
                SRIOV_CNI,
                cid,
                ifname,
                format!("sriov-cni's cache {name}: {why}"),
            )),
        }
    }

    for p in s.ovs.iter().flatten() {
        let Some(t) = &p.ours else { continue };
        if t.network == network && userspace::detach::is_stale(&t.container_id, &t.ifname, valid) {
            teardown.push(step(
                USERSPACE,
                &t.container_id,
                &t.ifname,
                format!(
                    "remove OVS port {} (bridge {}) and its socket files",
                    p.name,
                    p.bridge.as_deref().unwrap_or("?")
                ),
            ));
        }
    }

    let owners = ValidOwners::new(
        valid
            .iter()
            .map(|a| (a.container_id.as_str(), a.ifname.as_str())),
    );
    for l in s.leases.iter().filter(|l| l.network == network) {
        let Some(content) = &l.content else { continue };
        if owners.verdict(content) == LeaseVerdict::Release {
            let (cid, ifname) = nfv_hostlocal::Owner::parse_key(content);
            teardown.push(step(
                "host-local",
                cid,
                ifname.unwrap_or(""),
                format!(
                    "release {} (lease in {}; when this network's IPAM is host-local with that \
                     dataDir)",
                    l.address,
                    l.data_dir.join(&l.network).display()
                ),
            ));
        }
    }
    NetworkPlan {
        network: network.to_string(),
        teardown,
        left,
    }
}

/// The plan for people.
pub fn render(p: &Plan) -> String {
    let mut out = String::new();
    match p.valid {
        Some(n) => out.push_str(&format!("{n} valid attachment(s) given\n")),
        None => out.push_str("no valid-attachments list given: no attachment is valid\n"),
    }
    if p.networks.is_empty() {
        out.push_str("no network holds anything here: GC would do nothing\n");
    }
    for n in &p.networks {
        out.push_str(&format!("\nGC of network {}:\n", n.network));
        if n.teardown.is_empty() {
            out.push_str("  tears down nothing\n");
        }
        for s in &n.teardown {
            out.push_str(&format!(
                "  {:<10} {} {}: {}\n",
                s.plugin, s.container_id, s.ifname, s.what
            ));
        }
        for s in &n.left {
            out.push_str(&format!(
                "  left       {} {} ({}): {}\n",
                s.container_id, s.ifname, s.plugin, s.what
            ));
        }
    }
    for note in &p.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_valid_file_is_a_list_or_a_gc_config() {
        let p = std::env::temp_dir().join(format!("nfvctl-valid-{}", std::process::id()));
        let load = |text: &str| {
            std::fs::write(&p, text).unwrap();
            load_valid(&p).map(|(l, n)| (l.map(|l| l.len()), n))
        };
        assert_eq!(
            load(r#"[{"containerID": "c", "ifname": "net1"}]"#),
            Ok((Some(1), None))
        );
        assert_eq!(
            load(r#"{"name": "n", "cni.dev/attachments": [{"containerID": "c", "ifname": "e"}]}"#),
            Ok((Some(1), Some("n".to_string()))),
            "libcni's misspelt key too"
        );
        assert_eq!(
            load(r#"{"cni.dev/valid-attachments": null}"#),
            Ok((None, None)),
            "null: none is valid"
        );
        let e = load(r#"[{"containerID": 1}]"#).unwrap_err();
        assert!(e.contains("list of {\"containerID\""), "{e}");
        assert!(load("42").unwrap_err().contains("a JSON list"));
        std::fs::remove_file(&p).unwrap();
    }
}
