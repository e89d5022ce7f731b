//! DEL takes over the pods the Intel userspace-cni plugin attached (docs/userspace.md,
//! "Migrating from the Intel userspace-cni-network-plugin"). That plugin tags nothing: its port
//! for an attachment has the name ours would have (`host.vhost.socketfile`, by default
//! `<containerID[:12]>-<ifname>`) and no external_ids, and it keeps
//! `<base>/data/local-<containerID[:12]>-<ifname>.json`. A port by that name without our tags
//! is taken as the pod's, and removed, only when its socket lies in a directory the Intel
//! plugin derives for this pod from the same config and identity: `<sharedDir>/<cid12>/` (its
//! default `/usr/local/var/run/openvswitch`) or, for a pod's `shared-dir` volume, its mount
//! `/var/lib/vhost_sockets/<pod UID>/`. In client mode the port's `vhost-server-path` says
//! where; it is read to decide that and never used as a path. In server mode the socket OVS
//! made must be there, a unix socket. Its bridge is left: nothing tells a bridge that plugin
//! created from one the operator created. Its files are removed from the derived paths only
//! (`remove_files`), each checked for its kind.

use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};

use nfv_cni::Error;
use nfv_ovsdb::WaitUntil;
use nfv_ovsdb::{Condition, Error as OvsdbError, Mutation, Mutator, Operation, Row, Uuid, Value};
use nfv_plugin::{Failure, Failures};
use nfv_safefs::{Kind, Problem, Removed};

use crate::codes::from_ovsdb;
use crate::config::{same_path, short_id, SocketFiles, UserspaceConf};
use crate::places::Places;
use crate::ports::{self, BridgeRow, DelTxn};
use crate::sockdir::{self, file_failure};
use crate::vswitch::Vswitch;

/// The prefix of every `external_ids` key this plugin writes.
const OUR_KEYS: &str = "nfv-cni/";

/// A Port by the attachment's name and its Interface by that name, as read.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedPort {
    pub uuid: Uuid,
    pub name: String,
    pub external_ids: Value,
    pub interfaces: Value,
    pub iface: Option<NamedIface>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NamedIface {
    pub uuid: Uuid,
    pub name: String,
    pub iface_type: String,
    pub options: Value,
    pub external_ids: Value,
}

/// Whether a port by the attachment's name is the Intel plugin's port of this pod.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Adopt,
    /// Not provably this pod's: left as it is, for this reason.
    Leave(String),
}

fn ours(ext: &Value) -> bool {
    match ext {
        Value::Map(m) => m
            .iter()
            .any(|(k, _)| k.as_str().is_some_and(|k| k.starts_with(OUR_KEYS))),
        _ => false,
    }
}

/// The decision, from the rows alone: `candidates` are the socket paths the Intel plugin
/// derives for this pod (client mode), `server_socket_found` whether a unix socket by the
/// port's name is in one of those directories (server mode).
pub fn judge(port: &NamedPort, candidates: &[PathBuf], server_socket_found: bool) -> Verdict {
    let Some(iface) = &port.iface else {
        return Verdict::Leave("it has no interface by its name".into());
    };
    if ours(&port.external_ids) || ours(&iface.external_ids) {
        return Verdict::Leave("it carries nfv-cni external_ids (another attachment's)".into());
    }
    let single = port
        .interfaces
        .atoms()
        .iter()
        .filter_map(|a| a.as_uuid())
        .eq([&iface.uuid]);
    if !single || iface.name != port.name {
        return Verdict::Leave("it is not one interface by its own name".into());
    }
    match iface.iface_type.as_str() {
        "dpdkvhostuserclient" => {
            let path = iface
                .options
                .map_get("vhost-server-path")
                .and_then(|a| a.as_str());
            match path {
                Some(p) if candidates.iter().any(|c| same_path(c, Path::new(p))) => Verdict::Adopt,
                other => Verdict::Leave(format!(
                    "its vhost-server-path {other:?} is none of this pod's socket paths {}",
                    candidates
                        .iter()
                        .map(|c| c.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
        "dpdkvhostuser" if server_socket_found => Verdict::Adopt,
        "dpdkvhostuser" => {
            Verdict::Leave("no socket by its name is in this pod's socket directory".into())
        }
        other => Verdict::Leave(format!("its type {other:?} is not a vhost-user port")),
    }
}

/// Read: every bridge, and the Port and Interface named `port`.
pub fn read_ops(port: &str) -> Vec<Operation> {
    vec![
        Operation::comment(&format!(
            "nfv-cni userspace: find userspace-cni's port {port}"
        )),
        Operation::select(
            "Bridge",
            vec![],
            Some(&["_uuid", "name", "ports", "external_ids"]),
        ),
        Operation::select(
            "Port",
            vec![Condition::eq("name", port)],
            Some(&["_uuid", "name", "external_ids", "interfaces"]),
        ),
        Operation::select(
            "Interface",
            vec![Condition::eq("name", port)],
            Some(&["_uuid", "name", "type", "options", "external_ids"]),
        ),
    ]
}

/// The rows [`read_ops`] returned: the bridges and the port, if there is one.
pub fn parse_read(
    results: &[nfv_ovsdb::OperationResult],
) -> Result<(Vec<BridgeRow>, Option<NamedPort>), OvsdbError> {
    let rows = |i: usize| -> Result<&[Row], OvsdbError> {
        results
            .get(i)
            .map(|r| r.rows.as_slice())
            .ok_or_else(|| OvsdbError::Protocol(format!("the reply has no result {i}")))
    };
    let bridges = rows(1)?
        .iter()
        .map(BridgeRow::from_row)
        .collect::<Result<_, _>>()?;
    let iface = match rows(3)?.first() {
        None => None,
        Some(r) => Some(NamedIface {
            uuid: r.uuid()?,
            name: r.string("name")?,
            iface_type: r.get("type")?.opt_str().unwrap_or_default().to_string(),
            options: r.get("options")?,
            external_ids: r.get("external_ids")?,
        }),
    };
    let port = match rows(2)?.first() {
        None => None,
        Some(r) => Some(NamedPort {
            uuid: r.uuid()?,
            name: r.string("name")?,
            external_ids: r.get("external_ids")?,
            interfaces: r.get("interfaces")?,
            iface,
        }),
    };
    Ok((bridges, port))
}

/// Takes `port` out of `bridge`, guarded by `wait`s on the rows exactly as judged, so a port
/// that changed since (renamed, tagged, pointed elsewhere) fails the transaction and is
/// judged again. The bridge is never removed.
pub fn del_txn(port: &NamedPort, bridge: &BridgeRow) -> DelTxn {
    let mut ops = vec![
        Operation::comment(&format!(
            "nfv-cni userspace: remove userspace-cni's port {}",
            port.name
        )),
        Operation::wait_now(
            "Port",
            ports::by_uuid(&port.uuid),
            &["name", "external_ids", "interfaces"],
            WaitUntil::Equal,
            vec![vec![
                ("name".into(), Value::from(port.name.as_str())),
                ("external_ids".into(), port.external_ids.clone()),
                ("interfaces".into(), port.interfaces.clone()),
            ]],
        ),
    ];
    if let Some(i) = &port.iface {
        ops.push(Operation::wait_now(
            "Interface",
            ports::by_uuid(&i.uuid),
            &["name", "type", "options", "external_ids"],
            WaitUntil::Equal,
            vec![vec![
                ("name".into(), Value::from(i.name.as_str())),
                ("type".into(), Value::from(i.iface_type.as_str())),
                ("options".into(), i.options.clone()),
                ("external_ids".into(), i.external_ids.clone()),
            ]],
        ));
    }
    ops.push(Operation::mutate(
        "Bridge",
        ports::by_uuid(&bridge.uuid),
        vec![Mutation::new(
            "ports",
            Mutator::Delete,
            ports::uuid_set(std::slice::from_ref(&port.uuid)),
        )],
    ));
    let next_cfg_at = ports::bump_cfg(&mut ops);
    DelTxn {
        ops,
        next_cfg_at,
        removes_bridges: Vec::new(),
    }
}

/// The socket paths the Intel plugin gives this attachment's port, derived from the config
/// and identity as it derives them: `<sharedDir>/<cid12>/<port>` (its default `sharedDir`
/// is ours), and `<its mount dir>/<pod UID>/<port>` for a pod with a `shared-dir` volume.
/// Only compared with what a port says, never opened: no place is needed.
pub fn socket_paths(
    conf: &UserspaceConf,
    places: &Places,
    container_id: &str,
    ifname: &str,
    pod_uid: Option<&str>,
) -> Vec<PathBuf> {
    let Ok(port) = conf.port_name(container_id, ifname) else {
        return Vec::new();
    };
    let mut out = vec![conf
        .shared_dir(places)
        .join(short_id(container_id))
        .join(&port)];
    if let Some(uid) = pod_uid {
        out.push(places.userspace_cni_remap_dir(uid).join(&port));
    }
    out
}

/// Server mode: a unix socket by the port's name is in one of `homes` (reached without
/// symlinks, in their places) or in the Intel plugin's mount dir of the pod.
fn server_socket_found(places: &Places, homes: &[SocketFiles], pod_uid: Option<&str>) -> bool {
    let Some(port) = homes.first().map(|f| f.port.clone()) else {
        return false;
    };
    if homes
        .iter()
        .filter(|f| !f.in_pod_volume())
        .any(|f| sockdir::has_socket(places, f))
    {
        return true;
    }
    pod_uid.is_some_and(|uid| {
        let dir = places.userspace_cni_remap_dir(uid);
        places
            .userspace_cni_remap
            .open_parent(&dir.join(&port), None)
            .and_then(|(d, name)| d.kind(&name))
            .is_ok_and(|k| k == Some(Kind::Socket))
    })
}

/// DEL, when OVS holds no port of ours for the attachment: removes the Intel plugin's port
/// of this pod (see [`judge`]), retrying when it changed under us. Returns its name when it
/// removed one. A port by that name that is not provably this pod's is left and logged.
pub fn remove_port(
    vs: &mut Vswitch,
    conf: &UserspaceConf,
    places: &Places,
    homes: &[SocketFiles],
    ids: (&str, &str),
    pod_uid: Option<&str>,
) -> Result<Option<String>, Error> {
    let (container_id, ifname) = ids;
    let Ok(name) = conf.port_name(container_id, ifname) else {
        return Ok(None);
    };
    let candidates = socket_paths(conf, places, container_id, ifname, pod_uid);
    for _ in 0..3 {
        let results = vs
            .transact(&read_ops(&name), "reading a port by the attachment's name")
            .map_err(|e| from_ovsdb(e, "reading a port by the attachment's name"))?;
        let (bridges, found) = parse_read(&results).map_err(|e| from_ovsdb(e, "reading a port"))?;
        let Some(port) = found else {
            return Ok(None);
        };
        let server = port
            .iface
            .as_ref()
            .is_some_and(|i| i.iface_type == "dpdkvhostuser")
            && server_socket_found(places, homes, pod_uid);
        if let Verdict::Leave(why) = judge(&port, &candidates, server) {
            nfv_cni::warn!(
                "OVS has a port {name} without this plugin's external_ids, left in place: {why}. \
                 If it is this pod's, remove it with ovs-vsctl del-port {name}"
            );
            return Ok(None);
        }
        let Some(bridge) = bridges.iter().find(|b| b.ports.contains(&port.uuid)) else {
            return Ok(None); // on no bridge: OVSDB has collected it already
        };
        let txn = del_txn(&port, bridge);
        match vs.transact(&txn.ops, "removing userspace-cni's port") {
            Ok(results) => {
                if let Some(next) = Vswitch::next_cfg(&results, txn.next_cfg_at) {
                    match vs.wait_applied(next) {
                        Ok(true) => {}
                        Ok(false) => nfv_cni::warn!(
                            "ovs-vswitchd has not applied the port removal yet (not running?)"
                        ),
                        Err(e) => nfv_cni::warn!("waiting for ovs-vswitchd: {e}"),
                    }
                }
                nfv_cni::info!(
                    "removed port {name} of container {container_id} interface {ifname}, which \
                     userspace-cni created; its bridge {} stays",
                    bridge.name
                );
                return Ok(Some(name));
            }
            Err(e) if e.ovsdb_error() == Some("timed out") => {
                nfv_cni::debug!("port {name} changed under us, judging it again: {e}");
            }
            Err(e) => return Err(from_ovsdb(e, "removing userspace-cni's port")),
        }
    }
    nfv_cni::warn!("port {name} kept changing while DEL judged it: left in place");
    Ok(None)
}

/// DEL: the Intel plugin's files of this attachment, from derived paths only: its data file
/// (a regular file; its `data` directory once empty), and the mount of the pod's `shared-dir`
/// volume it made at `<its mount dir>/<pod UID>` (unmounted, then the directory removed once
/// empty). Gone is done; anything of another kind is left and logged; failures are collected.
pub fn remove_files(
    places: &Places,
    container_id: &str,
    ifname: &str,
    pod_uid: Option<&str>,
    errors: &mut Failures,
) {
    let data = places.userspace_cni_data_file(short_id(container_id), ifname);
    match places.userspace_cni_data.open_parent(&data, None) {
        Ok((dir, name)) => {
            if remove(&dir, &name, Kind::File, errors) == Some(Removed::Removed) {
                nfv_cni::info!("removed userspace-cni's {}", data.display());
            }
            drop(dir);
            if let Some(parent) = data.parent() {
                if let Ok((d, n)) = places.userspace_cni_data.open_parent(parent, None) {
                    remove(&d, &n, Kind::Dir, errors);
                }
            }
        }
        Err(e) => leave(e, errors),
    }
    if let Some(uid) = pod_uid {
        unmount_remap(places, &places.userspace_cni_remap_dir(uid), errors);
    }
}

fn remove(dir: &nfv_safefs::Dir, name: &str, kind: Kind, errors: &mut Failures) -> Option<Removed> {
    match dir.remove(name, kind) {
        Ok(r) => Some(r),
        Err(e) if matches!(e.problem, Problem::Io(_)) => {
            errors.push(file_failure(e));
            None
        }
        Err(e) => {
            nfv_cni::warn!("leaving it in place: {e}");
            None
        }
    }
}

fn leave(e: nfv_safefs::FsError, errors: &mut Failures) {
    match e.problem {
        _ if e.is_not_found() => {}
        Problem::Io(_) => errors.push(file_failure(e)),
        _ => nfv_cni::warn!("leaving it in place: {e}"),
    }
}

/// The Intel plugin bind-mounted the pod's `shared-dir` volume at `dir` (a socket path in the
/// volume itself is too long): detach that mount, through a handle on the very directory
/// reached without symlinks, then remove the directory once empty. A directory that is no
/// mount point is only removed when empty.
fn unmount_remap(places: &Places, dir: &Path, errors: &mut Failures) {
    let (parent, name) = match places.userspace_cni_remap.open_parent(dir, None) {
        Ok(p) => p,
        Err(e) => return leave(e, errors),
    };
    match parent.open_dir(&name) {
        Ok(d) => {
            let proc = format!("/proc/self/fd/{}", d.as_fd().as_raw_fd());
            match nix::mount::umount2(proc.as_str(), nix::mount::MntFlags::MNT_DETACH) {
                Ok(()) => nfv_cni::info!(
                    "unmounted userspace-cni's mount of the pod's volume at {}",
                    dir.display()
                ),
                Err(nix::errno::Errno::EINVAL) => {} // not a mount point
                Err(e) => errors.push(Failure::new(
                    format!("unmounting {}", dir.display()),
                    dir.display().to_string(),
                    e,
                )),
            }
        }
        Err(e) => return leave(e, errors),
    }
    remove(&parent, &name, Kind::Dir, errors);
}

#[cfg(test)]
mod tests {
    use super::*;
    use nfv_ovsdb::Atom;

    fn u(n: u8) -> Uuid {
        Uuid::parse(&format!("{n:08x}-0000-0000-0000-000000000000")).unwrap()
    }

    const SOCK: &str = "/usr/local/var/run/openvswitch/0123456789ab/0123456789ab-net1";

    fn port(iface_type: &str, options: &[(&str, &str)], ext: &[(&str, &str)]) -> NamedPort {
        NamedPort {
            uuid: u(1),
            name: "0123456789ab-net1".into(),
            external_ids: Value::string_map(ext),
            interfaces: Value::Atom(Atom::Uuid(u(2))),
            iface: Some(NamedIface {
                uuid: u(2),
                name: "0123456789ab-net1".into(),
                iface_type: iface_type.into(),
                options: Value::string_map(options),
                external_ids: Value::string_map::<&str, &str>(&[]),
            }),
        }
    }

    fn candidates() -> Vec<PathBuf> {
        vec![PathBuf::from(SOCK)]
    }

    #[test]
    fn a_client_port_is_the_pods_when_its_socket_is_in_the_pods_directory() {
        let p = port("dpdkvhostuserclient", &[("vhost-server-path", SOCK)], &[]);
        assert_eq!(judge(&p, &candidates(), false), Verdict::Adopt);
        // As the Intel plugin joins it, with a doubled or trailing slash.
        let p = port(
            "dpdkvhostuserclient",
            &[(
                "vhost-server-path",
                "/usr/local/var/run/openvswitch//0123456789ab/0123456789ab-net1",
            )],
            &[],
        );
        assert_eq!(judge(&p, &candidates(), false), Verdict::Adopt);
    }

    #[test]
    fn a_port_elsewhere_or_tagged_or_of_another_kind_is_left() {
        for (p, why) in [
            (
                port(
                    "dpdkvhostuserclient",
                    &[("vhost-server-path", "/run/other/0123456789ab-net1")],
                    &[],
                ),
                "none of this pod's",
            ),
            (
                port(
                    "dpdkvhostuserclient",
                    &[(
                        "vhost-server-path",
                        "/usr/local/var/run/openvswitch/0123456789ab/../x/0123456789ab-net1",
                    )],
                    &[],
                ),
                "none of this pod's",
            ),
            (port("dpdkvhostuserclient", &[], &[]), "None"),
            (
                port(
                    "dpdkvhostuserclient",
                    &[("vhost-server-path", SOCK)],
                    &[("nfv-cni/network", "other")],
                ),
                "nfv-cni external_ids",
            ),
            (port("internal", &[], &[]), "not a vhost-user port"),
            (port("dpdkvhostuser", &[], &[]), "no socket"),
        ] {
            match judge(&p, &candidates(), false) {
                Verdict::Leave(w) => assert!(w.contains(why), "{why}: {w}"),
                Verdict::Adopt => panic!("adopted: {p:?}"),
            }
        }
        let mut two = port("dpdkvhostuserclient", &[("vhost-server-path", SOCK)], &[]);
        two.interfaces = Value::Set(vec![Atom::Uuid(u(2)), Atom::Uuid(u(3))]);
        assert!(matches!(
            judge(&two, &candidates(), false),
            Verdict::Leave(_)
        ));
        assert_eq!(
            judge(&port("dpdkvhostuser", &[], &[]), &candidates(), true),
            Verdict::Adopt
        );
    }

    #[test]
    fn the_removal_is_guarded_by_the_rows_as_judged_and_keeps_the_bridge() {
        let p = port("dpdkvhostuserclient", &[("vhost-server-path", SOCK)], &[]);
        let b = BridgeRow {
            uuid: u(9),
            name: "br0".into(),
            ports: vec![u(8), u(1)],
            created_by_us: false,
        };
        let t = del_txn(&p, &b);
        let j: Vec<serde_json::Value> = t.ops.iter().map(Operation::to_json).collect();
        assert!(t.removes_bridges.is_empty());
        assert_eq!(j[1]["op"], "wait");
        assert_eq!(j[1]["table"], "Port");
        assert_eq!(j[2]["table"], "Interface");
        assert_eq!(
            j[2]["rows"][0]["options"],
            serde_json::json!(["map", [["vhost-server-path", SOCK]]])
        );
        assert_eq!(j[3]["table"], "Bridge");
        assert_eq!(j[3]["mutations"][0][1], "delete");
        assert!(!j
            .iter()
            .any(|o| o["table"] == "Open_vSwitch" && o["mutations"][0][0] == "bridges"));
    }

    #[test]
    fn socket_paths_are_derived_as_the_intel_plugin_derives_them() {
        let c: UserspaceConf = serde_json::from_value(serde_json::json!({
            "host": {"engine": "ovs-dpdk", "iftype": "vhostuser"}}))
        .unwrap();
        let p = socket_paths(&c, &Places::node(), "0123456789abcdef", "net1", Some("u-1"));
        assert_eq!(
            p,
            [
                PathBuf::from(SOCK),
                PathBuf::from("/var/lib/vhost_sockets/u-1/0123456789ab-net1")
            ]
        );
        let c: UserspaceConf = serde_json::from_value(serde_json::json!({
            "host": {"engine": "ovs-dpdk", "vhost": {"socketfile": "vhu0"}},
            "sharedDir": "/var/lib/cni/usrspcni/"}))
        .unwrap();
        assert_eq!(
            socket_paths(&c, &Places::node(), "0123456789abcdef", "net1", None),
            [PathBuf::from("/var/lib/cni/usrspcni/0123456789ab/vhu0")]
        );
    }
}
