//! The pod's socket directory (`<sharedDir>/<containerID[:12]>/`): creating it with safe
//! permissions, the pod-side JSON and the device-info file, and removing them again.

use std::fs;
use std::io;
use std::os::unix::fs::{chown, DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nfv_cni::Error;
use nfv_devinfo::{DeviceInfo, Layout, VhostUser, VhostUserMode};
use serde_json::{json, Value};

use crate::config::{Mode, Plan};
use crate::vswitch::errcode;

fn dir_error(what: String, e: io::Error) -> Error {
    let hint = match e.kind() {
        io::ErrorKind::PermissionDenied => {
            ": permission denied (the plugin runs as root on the node?)"
        }
        io::ErrorKind::ReadOnlyFilesystem => ": the file system is read-only",
        _ => "",
    };
    Error::new(errcode::SOCKET_DIR, format!("{what}: {e}{hint}"))
}

/// A group name from /etc/group or a numeric gid.
pub fn resolve_group(group: &str) -> Result<u32, Error> {
    if let Ok(gid) = group.parse::<u32>() {
        return Ok(gid);
    }
    let text = fs::read_to_string("/etc/group").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let gid = f.nth(1)?.parse::<u32>().ok()?;
            (name == group).then_some(gid)
        })
        .next()
        .ok_or_else(|| {
            Error::invalid_config(format!(
                "host.vhost.group {group:?} is not a group on this node (not in /etc/group and not a number)"
            ))
        })
}

/// Creates the socket directory. Without a group it is 0700 (root and OVS only); with one it
/// is owned by that group, 0770, so a non-root DPDK app in the group can create its socket.
/// Returns whether we created it (and so may remove it on rollback).
pub fn create(plan: &Plan) -> Result<bool, Error> {
    let gid = plan.group.as_deref().map(resolve_group).transpose()?;
    let dir = &plan.socket_dir;
    if let Some(parent) = dir.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(parent)
            .map_err(|e| dir_error(format!("creating sharedDir {}", parent.display()), e))?;
    }
    let created = match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let meta = fs::symlink_metadata(dir)
                .map_err(|e| dir_error(format!("checking {}", dir.display()), e))?;
            if !meta.is_dir() {
                return Err(Error::new(
                    errcode::SOCKET_DIR,
                    format!(
                        "{} exists and is not a directory (a symlink or file): remove it",
                        dir.display()
                    ),
                ));
            }
            false
        }
        Err(e) => return Err(dir_error(format!("creating {}", dir.display()), e)),
    };
    let mode = if let Some(gid) = gid {
        chown(dir, None, Some(gid))
            .map_err(|e| dir_error(format!("giving {} to group {gid}", dir.display()), e))?;
        0o770
    } else {
        0o700
    };
    fs::set_permissions(dir, fs::Permissions::from_mode(mode))
        .map_err(|e| dir_error(format!("setting permissions of {}", dir.display()), e))?;
    Ok(created)
}

/// The pod-side description next to the socket: what the pod's DPDK app needs to know.
pub fn pod_json_path(plan: &Plan) -> PathBuf {
    plan.socket_dir.join(format!("{}.json", plan.port))
}

pub fn pod_view(plan: &Plan, mac: &str, ips: &[String]) -> Value {
    json!({
        "network": plan.network,
        "containerId": plan.container_id,
        "ifname": plan.ifname,
        "type": "vhost-user",
        // The pod's side: with OVS in client mode the pod's app must be the server.
        "mode": plan.mode.flipped().as_str(),
        "socketPath": plan.socket_path.to_string_lossy(),
        "socketFile": plan.port,
        "mac": mac,
        "ips": ips,
    })
}

/// Device-info spec 1.1.0, type `vhost-user`; `mode` is the pod's side of the socket.
pub fn device_info(plan: &Plan) -> DeviceInfo {
    DeviceInfo::vhost_user(VhostUser {
        mode: match plan.mode.flipped() {
            Mode::Client => VhostUserMode::Client,
            Mode::Server => VhostUserMode::Server,
        },
        path: plan.socket_path.to_string_lossy().into_owned(),
    })
}

/// Writes the device-info file in `place` (pretty-printed, as this plugin always wrote it;
/// 0444; no symlink followed). A path `place` refuses is code 7 naming the field.
pub fn write_device_info(
    place: &nfv_devinfo::Place,
    path: &Path,
    plan: &Plan,
) -> Result<(), Error> {
    nfv_devinfo::write(place, path, &device_info(plan), Layout::Pretty)
        .map(|_| ())
        .map_err(|e| {
            if e.is_refusal() {
                return Error::from(e);
            }
            let what = format!("{} device-info file {}", e.step, e.path.display());
            match e.problem {
                nfv_devinfo::Problem::Io(io) => dir_error(what, io),
                other => Error::new(errcode::SOCKET_DIR, format!("{what}: {other}")),
            }
        })
}

pub fn write_json(path: &Path, v: &Value) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .map_err(|e| dir_error(format!("creating {}", parent.display()), e))?;
    }
    let mut bytes = serde_json::to_vec_pretty(v)
        .map_err(|e| Error::internal(format!("encoding {}: {e}", path.display())))?;
    bytes.push(b'\n');
    let tmp = path.with_extension("json.tmp");
    fs::write(&tmp, &bytes)
        .and_then(|()| fs::set_permissions(&tmp, fs::Permissions::from_mode(0o644)))
        .and_then(|()| fs::rename(&tmp, path))
        .map_err(|e| dir_error(format!("writing {}", path.display()), e))
}

/// Moves the socket ovs-vswitchd created (server mode) into the pod's directory, as the Intel
/// plugin does; the listening socket keeps working under its new name.
/// With `host.vhost.group` the socket is given to that group (0660) so a non-root app in the
/// group can connect; ovs-vswitchd creates it root-only.
pub fn adopt_server_socket(from: &Path, plan: &Plan) -> Result<(), Error> {
    let gid = plan.group.as_deref().map(resolve_group).transpose()?;
    if let Some(gid) = gid {
        chown(from, None, Some(gid))
            .and_then(|()| fs::set_permissions(from, fs::Permissions::from_mode(0o660)))
            .map_err(|e| dir_error(format!("giving {} to group {gid}", from.display()), e))?;
    }
    fs::rename(from, &plan.socket_path).map_err(|e| {
        dir_error(
            format!(
                "moving the vhost-user socket {} to {} (they must be on the same file system)",
                from.display(),
                plan.socket_path.display()
            ),
            e,
        )
    })
}

fn remove_file(path: &Path, errors: &mut Vec<String>) {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => errors.push(format!("removing {}: {e}", path.display())),
    }
}

/// Removes the socket, the pod JSON, and the directory once nothing else is in it.
/// Already gone is fine; failures are collected, not fatal.
pub fn remove(socket_path: &Path, port: &str, errors: &mut Vec<String>) {
    remove_file(socket_path, errors);
    let Some(dir) = socket_path.parent() else {
        return;
    };
    remove_file(&dir.join(format!("{port}.json")), errors);
    match fs::remove_dir(dir) {
        Ok(()) => {}
        Err(e)
            if e.kind() == io::ErrorKind::NotFound
                || e.kind() == io::ErrorKind::DirectoryNotEmpty => {}
        Err(e) => errors.push(format!("removing {}: {e}", dir.display())),
    }
}

/// Removes the device-info file if it is recognisably this attachment's (a regular file in
/// `place` holding exactly [`device_info`] of `plan`); anything else is left in place and
/// logged. Already gone is fine, a failure is collected.
pub fn remove_device_info(
    place: &nfv_devinfo::Place,
    path: &Path,
    plan: &Plan,
    errors: &mut Vec<String>,
) {
    if let Err(e) = nfv_devinfo::remove_if_ours(place, path, &device_info(plan)) {
        errors.push(e.to_string());
    }
}

/// The pod's app is the server in client mode: the socket appears when the app starts.
pub fn mode_note(mode: Mode) -> &'static str {
    match mode {
        Mode::Client => "OVS connects to the socket once the pod's app listens on it",
        Mode::Server => "OVS listens on the socket; the pod's app connects",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::UserspaceConf;

    fn plan_in(dir: &Path, group: Option<&str>) -> Plan {
        let mut c: UserspaceConf = serde_json::from_value(json!({
            "host": {"engine": "ovs-dpdk", "iftype": "vhostuser"},
            "sharedDir": dir.join("shared").to_string_lossy()
        }))
        .unwrap();
        if let (Some(g), Some(h)) = (group, c.host.as_mut()) {
            h.vhost = Some(crate::config::VhostConf {
                group: Some(g.to_string()),
                ..Default::default()
            });
        }
        c.plan("n", "abcdef0123456789", "net1", true).unwrap()
    }

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("us-sockdir-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn create_is_private_and_idempotent_then_removed() {
        let d = scratch("create");
        let p = plan_in(&d, None);
        assert!(create(&p).unwrap());
        let mode = fs::metadata(&p.socket_dir).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o700);
        assert!(!create(&p).unwrap());
        write_json(&pod_json_path(&p), &pod_view(&p, "02:00:00:00:00:01", &[])).unwrap();
        fs::write(&p.socket_path, b"").unwrap();
        let mut errs = vec![];
        remove(&p.socket_path, &p.port, &mut errs);
        assert!(errs.is_empty(), "{errs:?}");
        assert!(!p.socket_dir.exists());
        remove(&p.socket_path, &p.port, &mut errs);
        assert!(errs.is_empty(), "gone is fine: {errs:?}");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn numeric_group_gets_group_access() {
        let d = scratch("group");
        let p = plan_in(&d, Some("4242"));
        create(&p).unwrap();
        use std::os::unix::fs::MetadataExt;
        let m = fs::metadata(&p.socket_dir).unwrap();
        assert_eq!(m.gid(), 4242);
        assert_eq!(m.permissions().mode() & 0o7777, 0o770);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn unknown_group_is_a_config_error() {
        let e = resolve_group("no-such-group-xyz").unwrap_err();
        assert_eq!(e.code, nfv_cni::code::INVALID_CONFIG);
        assert!(e.msg.contains("host.vhost.group"));
        assert_eq!(resolve_group("root").unwrap(), 0);
    }

    #[test]
    fn symlink_in_place_of_the_dir_is_refused() {
        let d = scratch("symlink");
        let p = plan_in(&d, None);
        fs::create_dir_all(p.socket_dir.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink("/tmp", &p.socket_dir).unwrap();
        let e = create(&p).unwrap_err();
        assert!(e.msg.contains("not a directory"), "{}", e.msg);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn views_flip_the_mode() {
        let d = scratch("views");
        let p = plan_in(&d, None);
        assert_eq!(
            device_info(&p).vhost_user.unwrap().mode,
            VhostUserMode::Server
        );
        assert_eq!(pod_view(&p, "m", &[])["mode"], json!("server"));
        fs::remove_dir_all(&d).unwrap();
    }

    /// The device-info files the plugin wrote before nfv-devinfo (fixtures saved by that
    /// code), byte for byte, for both socket modes.
    #[test]
    fn device_info_bytes_match_the_earlier_plugin() {
        let d = scratch("devinfo");
        for (host_mode, fixture) in [
            (
                "client",
                &include_bytes!("../tests/fixtures/devinfo-host-client.json")[..],
            ),
            (
                "server",
                &include_bytes!("../tests/fixtures/devinfo-host-server.json")[..],
            ),
        ] {
            let c: UserspaceConf = serde_json::from_value(json!({
                "host": {"engine": "ovs-dpdk", "iftype": "vhostuser", "vhost": {"mode": host_mode}},
                "sharedDir": "/var/run/vhost-shared"
            }))
            .unwrap();
            let p = c.plan("n", "abcdef0123456789", "net1", true).unwrap();
            let file = d.join(format!("sub/{host_mode}.json"));
            let place = nfv_devinfo::Place::new(nfv_devinfo::FIELD, [d.clone()]);
            write_device_info(&place, &file, &p).unwrap();
            assert_eq!(fs::read(&file).unwrap(), fixture, "host mode {host_mode}");
            // 0444 as nadutils writes them (earlier releases wrote 0644).
            let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o444);
            let mut errs = vec![];
            remove_device_info(&place, &file, &p, &mut errs);
            remove_device_info(&place, &file, &p, &mut errs);
            assert!(errs.is_empty() && !file.exists(), "{errs:?}");
        }
        fs::remove_dir_all(&d).unwrap();
    }
}
