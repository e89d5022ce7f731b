//! The pod's socket directory (`<sharedDir>/<containerID[:12]>/`): creating it with safe
//! permissions, the pod-side JSON, adopting the socket ovs-vswitchd made (server mode), the
//! device-info file, and removing them again. Everything in the socket directory and in OVS's
//! run directory goes through nfv-safefs: reached without following symlinks from a root of
//! its place, each entry checked for its kind (a socket is a socket) before it is touched.

use std::fs;
use std::io;
use std::os::fd::AsFd;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use nfv_cni::Error;
use nfv_devinfo::{DeviceInfo, Layout, Memif, VhostUser, VhostUserMode};
use nfv_plugin::{Failure, Failures};
use nfv_safefs::{Dir, FsError, Kind, Place, Problem, Removed};
use serde_json::{json, Value};

use crate::codes;
use crate::config::{Mode, Plan, SocketFiles};
use crate::places::Places;

fn dir_error(what: String, e: io::Error) -> Error {
    let hint = match e.kind() {
        io::ErrorKind::PermissionDenied => {
            ": permission denied (the plugin runs as root on the node?)"
        }
        io::ErrorKind::ReadOnlyFilesystem => ": the file system is read-only",
        _ => "",
    };
    Error::new(codes::SOCKET_DIR, format!("{what}: {e}{hint}"))
}

fn fs_error(e: FsError) -> Error {
    let hint = match &e.problem {
        Problem::Io(io) if io.kind() == io::ErrorKind::PermissionDenied => {
            " (the plugin runs as root on the node?)"
        }
        Problem::Io(io) if io.kind() == io::ErrorKind::ReadOnlyFilesystem => {
            " (the file system is read-only)"
        }
        Problem::Symlink | Problem::WrongKind { .. } => ": remove it",
        _ => "",
    };
    Error::new(codes::SOCKET_DIR, format!("{e}{hint}"))
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

/// Opens the attachment's socket directory, creating it (and `sharedDir` below its root) when
/// missing: `0700`, or owned by `group` and `0770` so a non-root DPDK app in the group can
/// create its socket. Refused: a symlink anywhere below the root, a directory owned by anyone
/// but us (root). Returns it and whether this call created it (and so may remove it on
/// rollback). A pod volume is opened as it is (kubelet's: it must exist, and is never created
/// or changed), and the short link OVS uses is made to the socket's path in it.
pub fn create(
    places: &Places,
    files: &SocketFiles,
    group: Option<&str>,
) -> Result<(Dir, bool), Error> {
    if let Some(link) = &files.link {
        let (parent, name) = places
            .pod_volumes
            .open_parent(&files.dir, None)
            .map_err(fs_error)?;
        let dir = parent.open_dir(&name).map_err(fs_error)?;
        if group.is_some() {
            nfv_cni::debug!(
                "host.vhost.group: the pod's volume {} is kubelet's and keeps its owner and mode",
                files.dir.display()
            );
        }
        make_link(places, link, &files.dir.join(&files.port))?;
        return Ok((dir, false));
    }
    let gid = group.map(resolve_group).transpose()?;
    let (parent, name) = places
        .socket_dirs
        .open_parent(&files.dir, Some(0o755))
        .map_err(fs_error)?;
    let (dir, created) = parent.create_dir(&name, 0o700).map_err(fs_error)?;
    let owner = nix::sys::stat::fstat(dir.as_fd())
        .map_err(|e| dir_error(format!("checking {}", files.dir.display()), e.into()))?
        .st_uid;
    let me = nix::unistd::geteuid().as_raw();
    if owner != me {
        return Err(Error::new(
            codes::SOCKET_DIR,
            format!(
                "{} is owned by uid {owner}, not by root: it is not a socket directory this \
                 plugin made; remove it",
                files.dir.display()
            ),
        ));
    }
    let mode = if gid.is_some() { 0o770 } else { 0o700 };
    dir.set_own_owner_mode(gid, mode).map_err(fs_error)?;
    Ok((dir, created))
}

/// The short link `link` (in the plugin's own link directory, created when missing) to
/// `target`, the socket in a pod volume: a socket path there is longer than `sun_path`
/// holds, so OVS connects through the link. An old link by that name is replaced; anything
/// else there fails ADD and is left.
fn make_link(places: &Places, link: &Path, target: &Path) -> Result<(), Error> {
    let (dir, name) = places
        .vhost_links
        .open_parent(link, Some(0o755))
        .map_err(fs_error)?;
    dir.set_symlink(&name, target).map_err(fs_error)
}

/// The socket directory if it is there, reached without symlinks and ours (owned by us; a
/// pod volume is kubelet's); `None` when it is not, with the reason logged when something
/// else is in its place.
fn open_existing(places: &Places, files: &SocketFiles) -> Result<Option<Dir>, Error> {
    let leave = |e: FsError| -> Result<Option<Dir>, Error> {
        match e.problem {
            _ if e.is_not_found() => Ok(None),
            Problem::Io(_) => Err(fs_error(e)),
            _ => {
                nfv_cni::warn!("not touching the socket directory: {e}");
                Ok(None)
            }
        }
    };
    let place = if files.in_pod_volume() {
        &places.pod_volumes
    } else {
        &places.socket_dirs
    };
    let (parent, name) = match place.open_parent(&files.dir, None) {
        Ok(p) => p,
        Err(e) => return leave(e),
    };
    let dir = match parent.open_dir(&name) {
        Ok(d) => d,
        Err(e) => return leave(e),
    };
    if files.in_pod_volume() {
        return Ok(Some(dir));
    }
    let owner = nix::sys::stat::fstat(dir.as_fd())
        .map_err(|e| dir_error(format!("checking {}", files.dir.display()), e.into()))?
        .st_uid;
    if owner != nix::unistd::geteuid().as_raw() {
        nfv_cni::warn!(
            "not touching {}: owned by uid {owner}, not a socket directory this plugin made",
            files.dir.display()
        );
        return Ok(None);
    }
    Ok(Some(dir))
}

/// Whether a unix socket by the port's name is in the attachment's directory (reached without
/// symlinks, and ours or the pod's volume).
pub fn has_socket(places: &Places, files: &SocketFiles) -> bool {
    matches!(open_existing(places, files), Ok(Some(d))
        if d.kind(&files.port).is_ok_and(|k| k == Some(Kind::Socket)))
}

/// CHECK: whether the socket directory is there (and ours, or the pod's volume).
pub fn exists(places: &Places, files: &SocketFiles) -> Result<bool, Error> {
    Ok(open_existing(places, files)?.is_some())
}

/// The pod-side description next to the socket, `<port>.json`.
pub fn pod_json_name(port: &str) -> String {
    format!("{port}.json")
}

pub fn pod_view(plan: &Plan, mac: &str, ips: &[String]) -> Value {
    let mut v = json!({
        "network": plan.network,
        "containerId": plan.container_id,
        "ifname": plan.ifname,
        "type": plan.kind(),
        // The pod's side: with OVS in client mode the pod's app must be the server.
        "mode": plan.mode.flipped().as_str(),
        "socketPath": plan.socket_path.to_string_lossy(),
        "socketFile": plan.port,
        "mac": mac,
        "ips": ips,
    });
    if let Some(m) = &plan.memif {
        // What the pod's app passes to its own memif driver (the client end).
        v["memif"] = json!({
            "role": "client",
            "mode": "ethernet",
            "id": m.id,
            "socketAbstract": false,
            "ovsRxQueues": m.queues.unwrap_or(1),
        });
    }
    v
}

/// Writes `<port>.json` into the socket directory: an exclusively created temp file, then
/// renamed over it, so nothing a pod plants in its (group-writable) directory is followed.
pub fn write_pod_json(dir: &Dir, port: &str, v: &Value) -> Result<(), Error> {
    let mut bytes = serde_json::to_vec_pretty(v)
        .map_err(|e| Error::internal(format!("encoding the pod JSON: {e}")))?;
    bytes.push(b'\n');
    dir.write_atomic(&pod_json_name(port), &bytes, 0o644)
        .map_err(fs_error)
}

/// Writes the pod-facing configuration in the Intel plugin's schema (`files.config_data`,
/// see `configdata.rs`) next to the socket, as the pod JSON is written.
pub fn write_config_data(dir: &Dir, files: &SocketFiles, bytes: &[u8]) -> Result<(), Error> {
    dir.write_atomic(&files.config_data, bytes, 0o644)
        .map_err(fs_error)
}

/// memif: waits (at most `timeout`) for the server socket `port` ovs-vswitchd's memif driver
/// makes in the pod's directory `dir` as it brings the port up (after OVS reports the change
/// applied, sometimes a moment later), checked to be a unix socket and nothing else. With a
/// group (`host.memif.group`) the socket is given to it, 0660, so a non-root app in the group
/// can connect; without, it stays as OVS made it (root's).
pub fn share_memif_socket(
    dir: &Dir,
    port: &str,
    group: Option<&str>,
    timeout: Duration,
) -> Result<(), Error> {
    let gid = group.map(resolve_group).transpose()?;
    let deadline = Instant::now() + timeout;
    loop {
        match dir.kind(port).map_err(fs_error)? {
            Some(Kind::Socket) => break,
            None if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
            other => {
                return Err(Error::new(
                    codes::PORT,
                    format!(
                        "ovs-vswitchd attached the memif port but {} is {}, not its socket{}: \
                         is ovs-vswitchd's DPDK the one with net_memif, and can it write there?",
                        dir.join(port).display(),
                        other.map_or("missing", |k| k.words()),
                        if other.is_none() {
                            format!(" after {:.1}s", timeout.as_secs_f32())
                        } else {
                            String::new()
                        }
                    ),
                ))
            }
        }
    }
    if let Some(gid) = gid {
        dir.set_owner_mode(port, Kind::Socket, Some(gid), 0o660)
            .map_err(fs_error)?;
    }
    Ok(())
}

/// Server mode: opens `ovsSocketDir` (in OVS's run directory, no symlinks below its root).
pub fn open_ovs_dir(place: &Place, ovs_dir: &Path, port: &str) -> Result<Dir, Error> {
    place
        .open_parent(&ovs_dir.join(port), None)
        .map(|(dir, _)| dir)
        .map_err(|e| {
            Error::new(
                codes::PORT,
                format!("{e}: set ovsSocketDir to where ovs-vswitchd puts vhost-user sockets"),
            )
        })
}

/// Server mode: waits until ovs-vswitchd has created its socket `port` in `ovs`: a unix
/// socket, nothing else (a file or a symlink by that name fails at once).
pub fn wait_for_server_socket(ovs: &Dir, port: &str, timeout: Duration) -> Result<(), Error> {
    let deadline = Instant::now() + timeout;
    loop {
        match ovs.kind(port) {
            Ok(Some(Kind::Socket)) => return Ok(()),
            Ok(Some(other)) => {
                return Err(Error::new(
                    codes::PORT,
                    format!(
                        "{} is {}, not a unix socket ovs-vswitchd created: left alone",
                        ovs.join(port).display(),
                        other.words()
                    ),
                ))
            }
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                return Err(Error::new(
                    codes::PORT,
                    format!(
                        "ovs-vswitchd did not create the server-mode socket {} within {:.1}s: \
                         set ovsSocketDir to where ovs-vswitchd puts vhost-user sockets",
                        ovs.join(port).display(),
                        timeout.as_secs_f32()
                    ),
                ))
            }
            Err(e) => return Err(fs_error(e)),
        }
    }
}

/// Moves the socket ovs-vswitchd created (server mode) into the pod's directory, as the Intel
/// plugin does; the listening socket keeps working under its new name. With `host.vhost.group`
/// the socket is first given to that group (0660) so a non-root app in the group can connect
/// (ovs-vswitchd creates it root-only); only a unix socket is ever changed or moved.
pub fn adopt_server_socket(
    ovs: &Dir,
    port: &str,
    to: &Dir,
    group: Option<&str>,
) -> Result<(), Error> {
    let gid = group.map(resolve_group).transpose()?;
    if let Some(gid) = gid {
        ovs.set_owner_mode(port, Kind::Socket, Some(gid), 0o660)
            .map_err(fs_error)?;
    }
    ovs.rename_to(port, Kind::Socket, to, port).map_err(|e| {
        let e = fs_error(e);
        Error::new(
            e.code,
            format!(
                "{} (ovsSocketDir and sharedDir must be on the same file system)",
                e.msg
            ),
        )
    })
}

/// A file or directory that could not be removed, the path as its device.
pub(crate) fn file_failure(e: FsError) -> Failure {
    Failure::bare(e.path.display().to_string(), e)
}

/// Removes `name` if it is of kind `kind`; gone is done; another kind is left alone (logged).
fn remove_entry(dir: &Dir, name: &str, kind: Kind, errors: &mut Failures) {
    match dir.remove(name, kind) {
        Ok(Removed::Removed | Removed::Absent | Removed::NotEmpty) => {}
        Err(e) if matches!(e.problem, Problem::Io(_)) => errors.push(file_failure(e)),
        Err(e) => nfv_cni::warn!("leaving it in place: {e}"),
    }
}

/// Removes the attachment's socket (a unix socket only), its pod JSON and pod-facing
/// configuration (regular files only), and the directory once empty (never a pod volume,
/// which is kubelet's), then the short link to a socket in a pod volume (a symlink only), all
/// derived from config and identity (`files`). Already gone is fine. Anything of another kind
/// is left where it is and logged, not an error: the pod may put anything in its directory,
/// and must not make its own DEL fail forever. I/O failures are collected.
pub fn remove(places: &Places, files: &SocketFiles, errors: &mut Failures) {
    match open_existing(places, files) {
        Ok(Some(dir)) => {
            remove_entry(&dir, &files.port, Kind::Socket, errors);
            remove_entry(&dir, &pod_json_name(&files.port), Kind::File, errors);
            remove_entry(&dir, &files.config_data, Kind::File, errors);
            drop(dir);
            if !files.in_pod_volume() {
                if let Ok((parent, name)) = places.socket_dirs.open_parent(&files.dir, None) {
                    remove_entry(&parent, &name, Kind::Dir, errors);
                }
            }
        }
        Ok(None) => {}
        Err(e) => errors.push(Failure::bare(files.dir.display().to_string(), e)),
    }
    if let Some(link) = &files.link {
        remove_link(places, link, errors);
    }
}

/// Removes the short link `link` to a socket in a pod volume (a symlink only; gone is done).
pub fn remove_link(places: &Places, link: &Path, errors: &mut Failures) {
    match places.vhost_links.open_parent(link, None) {
        Ok((dir, name)) => remove_entry(&dir, &name, Kind::Symlink, errors),
        Err(e) if e.is_not_found() => {}
        Err(e) if matches!(e.problem, Problem::Io(_)) => errors.push(file_failure(e)),
        Err(e) => nfv_cni::warn!("leaving the link alone: {e}"),
    }
}

/// Device-info spec 1.1.0, type `vhost-user` (`mode` the pod's side of the socket) or
/// `memif` (`role` the pod's: `slave`, the Intel plugin's and the spec's word for client).
pub fn device_info(plan: &Plan) -> DeviceInfo {
    device_info_for(plan, &plan.socket_path)
}

/// [`device_info`] with the socket at `socket_path`.
pub fn device_info_for(plan: &Plan, socket_path: &Path) -> DeviceInfo {
    if plan.memif.is_some() {
        return DeviceInfo::memif(Memif {
            role: "slave".into(),
            path: socket_path.to_string_lossy().into_owned(),
            mode: "ethernet".into(),
        });
    }
    device_info_at(plan.mode, socket_path)
}

/// [`device_info`] for OVS's side `mode` and the socket at `socket_path`.
pub fn device_info_at(mode: Mode, socket_path: &Path) -> DeviceInfo {
    DeviceInfo::vhost_user(VhostUser {
        mode: match mode.flipped() {
            Mode::Client => VhostUserMode::Client,
            Mode::Server => VhostUserMode::Server,
        },
        path: socket_path.to_string_lossy().into_owned(),
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
                other => Error::new(codes::SOCKET_DIR, format!("{what}: {other}")),
            }
        })
}

/// Removes the device-info file if it is recognisably this attachment's (a regular file in
/// `place` holding exactly [`device_info`] of `plan`); anything else is left in place and
/// logged. Already gone is fine, a failure is collected.
pub fn remove_device_info(
    place: &nfv_devinfo::Place,
    path: &Path,
    plan: &Plan,
    errors: &mut Failures,
) {
    remove_device_info_of(place, path, &[device_info(plan)], errors);
}

/// Removes the device-info file if it holds exactly one of `ours` (what ADD writes for this
/// attachment, for each place its socket may be in); anything else is left and logged.
pub fn remove_device_info_of(
    place: &nfv_devinfo::Place,
    path: &Path,
    ours: &[DeviceInfo],
    errors: &mut Failures,
) {
    for info in ours {
        match nfv_devinfo::remove_if_ours(place, path, info) {
            Ok(nfv_devinfo::Removal::Left) => {}
            Ok(_) => return,
            Err(e) => return errors.push(Failure::bare(path.display().to_string(), e)),
        }
    }
}

/// The pod's app is the server in client mode: the socket appears when the app starts.
pub fn mode_note(plan: &Plan) -> &'static str {
    if plan.memif.is_some() {
        return "OVS's memif server listens on the socket; the pod's app connects as the client";
    }
    match plan.mode {
        Mode::Client => "OVS connects to the socket once the pod's app listens on it",
        Mode::Server => "OVS listens on the socket; the pod's app connects",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::UserspaceConf;
    use crate::places::Places;
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::net::UnixListener;
    use std::path::PathBuf;

    const CID: &str = "abcdef0123456789";

    /// The plan and files of an attachment whose places are all below `dir`.
    fn plan_in(dir: &Path, group: Option<&str>) -> (Places, Plan, SocketFiles) {
        let mut c: UserspaceConf = serde_json::from_value(json!({
            "host": {"engine": "ovs-dpdk", "iftype": "vhostuser"},
            "sharedDir": dir.join("shared").to_string_lossy(),
            "ovsdbSocket": dir.join("db.sock").to_string_lossy()
        }))
        .unwrap();
        if let (Some(g), Some(h)) = (group, c.host.as_mut()) {
            h.vhost = Some(crate::config::VhostConf {
                group: Some(g.to_string()),
                ..Default::default()
            });
        }
        let places = Places::under(dir);
        let plan = c.plan(&places, "n", CID, "net1", true).unwrap();
        let files = c.socket_files(&places, CID, "net1").unwrap();
        (places, plan, files)
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
        let (places, p, f) = plan_in(&d, None);
        let (dir, created) = create(&places, &f, None).unwrap();
        assert!(created);
        let mode = fs::metadata(&p.socket_dir).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o700);
        assert!(!create(&places, &f, None).unwrap().1);
        write_pod_json(&dir, &p.port, &pod_view(&p, "02:00:00:00:00:01", &[])).unwrap();
        let json_mode = fs::metadata(p.socket_dir.join(pod_json_name(&p.port)))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(json_mode & 0o777, 0o644);
        let _listener = UnixListener::bind(&p.socket_path).unwrap();
        assert!(exists(&places, &f).unwrap());
        let mut errs = Failures::new();
        remove(&places, &f, &mut errs);
        assert!(errs.is_empty(), "{errs:?}");
        assert!(!p.socket_dir.exists());
        assert!(!exists(&places, &f).unwrap());
        remove(&places, &f, &mut errs);
        assert!(errs.is_empty(), "gone is fine: {errs:?}");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn remove_takes_only_a_socket_and_a_regular_pod_json() {
        let d = scratch("kinds");
        let (places, p, f) = plan_in(&d, None);
        create(&places, &f, None).unwrap();
        // A regular file where the socket is, a directory where the pod JSON is.
        fs::write(&p.socket_path, b"not a socket").unwrap();
        fs::create_dir(p.socket_dir.join(pod_json_name(&p.port))).unwrap();
        let mut errs = Failures::new();
        remove(&places, &f, &mut errs);
        assert!(errs.is_empty(), "left alone, not an error: {errs:?}");
        assert_eq!(fs::read(&p.socket_path).unwrap(), b"not a socket");
        assert!(p.socket_dir.join(pod_json_name(&p.port)).is_dir());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn numeric_group_gets_group_access() {
        let d = scratch("group");
        let (places, p, f) = plan_in(&d, Some("4242"));
        create(&places, &f, Some("4242")).unwrap();
        use std::os::unix::fs::MetadataExt;
        let m = fs::metadata(&p.socket_dir).unwrap();
        assert_eq!(m.gid(), 4242);
        assert_eq!(m.permissions().mode() & 0o7777, 0o770);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn server_socket_is_waited_for_by_kind_then_given_to_the_group_and_moved() {
        let d = scratch("server");
        let (places, p, f) = plan_in(&d, Some("4242"));
        let (dir, _) = create(&places, &f, Some("4242")).unwrap();
        let ovs = open_ovs_dir(&places.ovs_sockets, &d, &p.port).unwrap();
        // A regular file by the socket's name: refused at once, never moved or chmodded.
        fs::write(d.join(&p.port), b"x").unwrap();
        let e = wait_for_server_socket(&ovs, &p.port, Duration::from_secs(5)).unwrap_err();
        assert!(e.msg.contains("not a unix socket"), "{}", e.msg);
        assert!(adopt_server_socket(&ovs, &p.port, &dir, Some("4242")).is_err());
        assert_eq!(fs::read(d.join(&p.port)).unwrap(), b"x");
        fs::remove_file(d.join(&p.port)).unwrap();
        // Nothing there: times out.
        let e = wait_for_server_socket(&ovs, &p.port, Duration::from_millis(20)).unwrap_err();
        assert!(e.msg.contains("did not create"), "{}", e.msg);
        // The socket: moved, 0660, the group's.
        let _l = UnixListener::bind(d.join(&p.port)).unwrap();
        wait_for_server_socket(&ovs, &p.port, Duration::from_secs(5)).unwrap();
        adopt_server_socket(&ovs, &p.port, &dir, Some("4242")).unwrap();
        use std::os::unix::fs::MetadataExt;
        let m = fs::symlink_metadata(&p.socket_path).unwrap();
        assert_eq!((m.gid(), m.mode() & 0o7777), (4242, 0o660));
        assert!(!d.join(&p.port).exists());
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
        let (places, p, f) = plan_in(&d, None);
        fs::create_dir_all(p.socket_dir.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink("/tmp", &p.socket_dir).unwrap();
        let e = create(&places, &f, None).unwrap_err();
        assert!(e.msg.contains("symbolic link"), "{}", e.msg);
        // DEL leaves it (and what it points to) alone.
        let mut errs = Failures::new();
        remove(&places, &f, &mut errs);
        assert!(errs.is_empty(), "{errs:?}");
        assert!(fs::symlink_metadata(&p.socket_dir)
            .unwrap()
            .file_type()
            .is_symlink());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn views_flip_the_mode() {
        let d = scratch("views");
        let (_, p, _) = plan_in(&d, None);
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
            let places = Places {
                socket_dirs: Place::new("sharedDir", ["/var/run/vhost-shared"]),
                ..Places::node()
            };
            let p = c
                .plan(&places, "n", "abcdef0123456789", "net1", true)
                .unwrap();
            let file = d.join(format!("sub/{host_mode}.json"));
            let place = nfv_devinfo::Place::new(nfv_devinfo::FIELD, [d.clone()]);
            write_device_info(&place, &file, &p).unwrap();
            assert_eq!(fs::read(&file).unwrap(), fixture, "host mode {host_mode}");
            // 0444 as nadutils writes them (earlier releases wrote 0644).
            let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o444);
            let mut errs = Failures::new();
            remove_device_info(&place, &file, &p, &mut errs);
            remove_device_info(&place, &file, &p, &mut errs);
            assert!(errs.is_empty() && !file.exists(), "{errs:?}");
        }
        fs::remove_dir_all(&d).unwrap();
    }
}
