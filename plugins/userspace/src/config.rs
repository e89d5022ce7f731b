//! The network configuration: the Intel userspace-cni-network-plugin format (engine `ovs-dpdk`,
//! iftype `vhostuser` or `memif`) plus our own keys, validated into a [`Plan`] (plain data, no
//! I/O).

use std::path::{Path, PathBuf};
use std::time::Duration;

use nfv_cni::{code, Error};
use serde::Deserialize;
use serde_json::Value;

use crate::places::{self, Places};

/// The pod volume that receives the socket when the pod has one, by default: the Intel
/// plugin's (its examples' `shared-dir` volume).
pub const DEFAULT_POD_VOLUME: &str = "shared-dir";
/// The bridge the Intel plugin uses when none is named.
pub const DEFAULT_BRIDGE: &str = "br0";
/// `sun_path` holds 108 bytes including the terminating NUL.
pub const SUN_PATH_MAX: usize = 108;
/// Seconds to wait for ovsdb-server and ovs-vswitchd when `ovsTimeout` is not given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The whole stdin, as far as this plugin reads it (shared keys come from `nfv_cni::NetConf`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserspaceConf {
    #[serde(default)]
    pub host: Option<SideConf>,
    #[serde(default)]
    pub container: Option<SideConf>,
    /// Base directory for the per-pod socket directories.
    #[serde(default)]
    pub shared_dir: Option<String>,
    /// The name of the pod's emptyDir volume that receives the socket when the pod has one
    /// (nfv-cni extension; default `shared-dir`, `""` never looks for one).
    #[serde(default)]
    pub shared_dir_volume: Option<String>,
    /// ovsdb-server's unix socket (nfv-cni extension).
    #[serde(default)]
    pub ovsdb_socket: Option<String>,
    /// Where ovs-vswitchd creates server-mode (`dpdkvhostuser`) sockets; default: the directory of
    /// `ovsdbSocket`, which is OVS's run directory (nfv-cni extension).
    #[serde(default)]
    pub ovs_socket_dir: Option<String>,
    /// Seconds to wait for ovsdb-server and ovs-vswitchd (nfv-cni extension, default 10).
    #[serde(default)]
    pub ovs_timeout: Option<f64>,
    /// Intel plugin: used to annotate the pod. Not needed here: accepted and ignored.
    #[serde(default)]
    pub kubeconfig: Option<String>,
}

/// The `host` or `container` block.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SideConf {
    #[serde(default)]
    pub engine: Option<String>,
    #[serde(default)]
    pub iftype: Option<String>,
    #[serde(default)]
    pub net_type: Option<String>,
    #[serde(default)]
    pub vhost: Option<VhostConf>,
    #[serde(default)]
    pub memif: Option<MemifConf>,
    #[serde(default)]
    pub bridge: Option<BridgeConf>,
}

/// The `memif` block (Intel plugin: `role` master|slave, `mode` ethernet|ip|inject-punt; its
/// older releases also read `socketfile`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemifConf {
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub socketfile: Option<String>,
    /// OVS's receive queues on the port (`options:n_rxq`; nfv-cni extension, 1-32): the pod's
    /// app may open at most this many transmit queues (docs/userspace.md, "memif").
    #[serde(default)]
    pub queues: Option<i64>,
    /// Group (name or gid) that may use the socket (nfv-cni extension, as `vhost.group`).
    #[serde(default)]
    pub group: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VhostConf {
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub socketfile: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BridgeConf {
    #[serde(default)]
    pub bridge_name: Option<String>,
    #[serde(default)]
    pub vlan_id: Option<i64>,
}

/// Which side listens on the vhost-user socket, seen from OVS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// OVS connects (`dpdkvhostuserclient`), the pod's app is the server. OVS recommends this:
    /// the port survives an ovs-vswitchd restart.
    Client,
    /// OVS listens (`dpdkvhostuser`, deprecated in OVS), the pod's app connects.
    Server,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Client => "client",
            Mode::Server => "server",
        }
    }

    /// The pod's side of the socket.
    pub fn flipped(self) -> Mode {
        match self {
            Mode::Client => Mode::Server,
            Mode::Server => Mode::Client,
        }
    }

    /// The OVS Interface type.
    pub fn interface_type(self) -> &'static str {
        match self {
            Mode::Client => "dpdkvhostuserclient",
            Mode::Server => "dpdkvhostuser",
        }
    }
}

/// A memif port: OVS's memif PMD as a DPDK virtual device (`type=dpdk`), OVS the server.
#[derive(Debug, Clone, PartialEq)]
pub struct MemifPlan {
    /// The DPDK device name, `net_memif<16 hex digits>`: unique per attachment (DPDK refuses a
    /// second device by one name) and derived from its identity alone, like the MAC.
    pub vdev: String,
    /// The memif id on the socket: one device per socket file, so always 0 (the PMD's default).
    pub id: u32,
    /// `options:n_rxq` (`host.memif.queues`), `None` for OVS's default (1).
    pub queues: Option<u16>,
}

impl MemifPlan {
    /// `options:dpdk-devargs`: the server end of the socket at `socket`, which must be a file
    /// (`socket-abstract=no`: the PMD's default abstract socket lives in the host's network
    /// namespace, out of a pod's reach).
    pub fn devargs(&self, socket: &Path) -> String {
        format!(
            "{},role=server,socket={},id={},socket-abstract=no",
            self.vdev,
            socket.display(),
            self.id
        )
    }
}

/// The memif vdev name of an attachment: FNV-1a over its identity (as [`pod_mac`]), 64 bits.
pub fn memif_vdev(network: &str, container_id: &str, ifname: &str) -> String {
    format!(
        "net_memif{:016x}",
        identity_hash(network, container_id, ifname)
    )
}

fn identity_hash(network: &str, container_id: &str, ifname: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [network, container_id, ifname] {
        for b in part.bytes().chain([0u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// Everything ADD, DEL and CHECK need, computed from config and environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub network: String,
    pub container_id: String,
    pub ifname: String,
    pub bridge: String,
    /// 802.1Q tag for the port (`bridge.vlanId`), `None` for an untagged port.
    pub vlan: Option<u16>,
    pub mode: Mode,
    /// The OVS port and interface name, also the socket's file name.
    pub port: String,
    pub socket_dir: PathBuf,
    pub socket_path: PathBuf,
    /// The attachment's files (`socket_dir`, `socket_path` and the rest).
    pub files: SocketFiles,
    /// The socket directory lies in its place (always so for ADD). When not (DEL, CHECK or GC
    /// of a config ADD refuses), no file there is touched.
    pub files_in_place: bool,
    /// Group (name as configured) that may use the socket directory.
    pub group: Option<String>,
    /// ovsdb-server's socket; `None` (never for ADD) when outside OVS's run directory: then
    /// nothing is sent to it.
    pub ovsdb_socket: Option<PathBuf>,
    /// Where ovs-vswitchd creates server-mode sockets; `None` (never for ADD) when outside
    /// OVS's run directory.
    pub ovs_socket_dir: Option<PathBuf>,
    /// How long to wait for ovsdb-server and for ovs-vswitchd to apply a change.
    pub timeout: Duration,
    /// `Some` for a memif port (`host.iftype: memif`); `mode` is then `Server` (OVS listens).
    pub memif: Option<MemifPlan>,
}

impl Plan {
    /// The OVS Interface type: `dpdk` for memif, else the vhost-user type of `mode`.
    pub fn interface_type(&self) -> &'static str {
        if self.memif.is_some() {
            "dpdk"
        } else {
            self.mode.interface_type()
        }
    }

    /// The Intel plugin's `iftype` of the port.
    pub fn iftype(&self) -> &'static str {
        if self.memif.is_some() {
            "memif"
        } else {
            "vhostuser"
        }
    }

    /// What the port is, in words for messages and the pod.
    pub fn kind(&self) -> &'static str {
        if self.memif.is_some() {
            "memif"
        } else {
            "vhost-user"
        }
    }

    /// vhost-user server mode: ovs-vswitchd makes the socket in its run directory and ADD
    /// moves it into the pod's directory (a memif server socket is made in place).
    pub fn moves_server_socket(&self) -> bool {
        self.memif.is_none() && self.mode == Mode::Server
    }
}

/// Where one attachment's socket lives (docs/userspace.md, "Pod volumes").
#[derive(Debug, Clone, PartialEq)]
pub enum Home {
    /// `<sharedDir>/<containerID[:12]>/`: the plugin's own; ADD creates it, DEL removes it once
    /// empty.
    SharedDir,
    /// The pod's own emptyDir volume, this directory: kubelet's, so never created, changed or
    /// removed here. OVS reaches the socket through a short link (`SocketFiles::link`).
    PodVolume(PathBuf),
}

/// The files of one attachment, derived from `sharedDir` (or the pod volume), the config's
/// `host.vhost.socketfile` and the attachment's identity only, and checked to lie in their
/// place. DEL and GC remove these and nothing else (never a path read back from OVSDB).
#[derive(Debug, Clone, PartialEq)]
pub struct SocketFiles {
    /// `<sharedDir>/<containerID[:12]>`, or the pod volume.
    pub dir: PathBuf,
    /// The socket's file name (also the OVS port name); the pod JSON is `<port>.json`.
    pub port: String,
    /// The socket as OVS, the result and the device-info file name it: `dir/port`, or the
    /// link for a socket in a pod volume.
    pub socket_path: PathBuf,
    /// In a pod volume: the plugin's short link to `dir/port` (a path there is longer than
    /// `sun_path` holds).
    pub link: Option<PathBuf>,
    /// The pod-facing configuration in the Intel plugin's schema, next to the socket:
    /// `configData-<containerID[:12]>-<ifname>.json`, the name that plugin gives this file.
    pub config_data: String,
}

impl SocketFiles {
    /// The socket lies in the pod's own volume (not in a directory of ours).
    pub fn in_pod_volume(&self) -> bool {
        self.link.is_some()
    }
}

/// The Intel plugin's name for the pod-facing configuration file of an attachment.
pub fn config_data_name(container_id: &str, ifname: &str) -> String {
    format!("configData-{}-{ifname}.json", short_id(container_id))
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(code::INVALID_CONFIG, msg)
}

fn out_of_scope(field: &str, value: &str) -> Error {
    invalid(format!(
        "{field} is {value:?}: this plugin supports only OVS-DPDK ports (engine \"ovs-dpdk\", \
         iftype \"vhostuser\" or \"memif\"); VPP is out of scope, use the Intel userspace \
         CNI plugin for VPP networks"
    ))
}

fn check_side(side: &SideConf, which: &str) -> Result<(), Error> {
    match side.engine.as_deref() {
        None | Some("ovs-dpdk") => {}
        Some(e) => return Err(out_of_scope(&format!("{which}.engine"), e)),
    }
    match side.iftype.as_deref() {
        None | Some("") | Some("vhostuser") | Some("memif") => {}
        Some(t) => return Err(out_of_scope(&format!("{which}.iftype"), t)),
    }
    Ok(())
}

/// The Intel plugin's memif roles and ours, seen from `which` side: the server listens.
fn memif_role(s: Option<&str>, field: &str) -> Result<Option<Mode>, Error> {
    match s {
        None | Some("") => Ok(None),
        Some("master" | "server") => Ok(Some(Mode::Server)),
        Some("slave" | "client") => Ok(Some(Mode::Client)),
        Some(o) => Err(invalid(format!(
            "{field} is {o:?}: use \"master\" (or \"server\") for the side that listens, \
             \"slave\" (or \"client\") for the side that connects"
        ))),
    }
}

fn memif_mode(s: Option<&str>, field: &str) -> Result<(), Error> {
    match s {
        None | Some("") | Some("ethernet") => Ok(()),
        Some(o) => Err(invalid(format!(
            "{field} is {o:?}: OVS-DPDK's memif driver (DPDK net_memif) speaks only \
             \"ethernet\" mode; \"ip\" and \"inject-punt\" need VPP"
        ))),
    }
}

/// A memif socket path goes into `options:dpdk-devargs`, a comma-separated `key=value` list:
/// only characters that cannot start another argument.
fn check_devargs_path(path: &Path) -> Result<(), Error> {
    let s = path.to_string_lossy();
    match s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "/._-+@~".contains(*c)))
    {
        None => Ok(()),
        Some(c) => Err(invalid(format!(
            "the memif socket path {s:?} holds {c:?}: OVS passes it to DPDK in a \
             comma-separated list, so it may hold only letters, digits and / . _ - + @ ~ \
             (check sharedDir, host.memif.socketfile and the interface name)"
        ))),
    }
}

fn parse_mode(s: Option<&str>, field: &str) -> Result<Option<Mode>, Error> {
    match s {
        None | Some("") => Ok(None),
        Some("client") => Ok(Some(Mode::Client)),
        Some("server") => Ok(Some(Mode::Server)),
        Some(o) => Err(invalid(format!(
            "{field} is {o:?}: use \"client\" (OVS connects to the pod, recommended) or \"server\""
        ))),
    }
}

/// An OVS bridge name that is also a usable Linux interface name (the netdev datapath creates a
/// tap with the bridge's name).
fn check_bridge_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 15
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && name != "."
        && name != "..";
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "host.bridge.bridgeName {name:?} is not a valid bridge name: 1-15 characters of \
             letters, digits, '-', '_' or '.'"
        )))
    }
}

fn check_file_name(name: &str, field: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains('/')
        && !name.contains('\0')
        && !name.chars().any(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "{field} {name:?} must be a plain file name (no '/', no spaces)"
        )))
    }
}

/// The first 12 characters of the container ID, as the Intel plugin names sockets and dirs.
pub fn short_id(container_id: &str) -> &str {
    container_id
        .char_indices()
        .nth(12)
        .map_or(container_id, |(i, _)| &container_id[..i])
}

/// Below a `sharedDir` root, pods make files (their apps create the client-mode sockets in
/// their directories): a path there may be OVS's only directly in the root, as ovsdb-server's
/// socket and ovs-vswitchd's server-mode sockets are in `/usr/local/var/run/openvswitch`,
/// which is both an OVS run directory and the default `sharedDir`.
fn below_pod_dirs(places: &Places, path: &Path) -> bool {
    places
        .socket_dirs
        .check(path)
        .is_ok_and(|(_, rest)| rest.components().count() > 1)
}

/// `a` and `b` name the same path once repeated and trailing slashes are ignored (the Intel
/// plugin joins its paths by hand).
pub fn same_path(a: &Path, b: &Path) -> bool {
    a.components().eq(b.components())
}

impl UserspaceConf {
    /// ovsdb-server's socket, which must lie in OVS's run directory: the plugin talks to no
    /// other server.
    pub fn ovsdb_socket(&self, places: &Places) -> Result<PathBuf, Error> {
        let socket = PathBuf::from(
            self.ovsdb_socket
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| nfv_ovsdb::DEFAULT_SOCKET.to_string()),
        );
        let in_place = places.ovsdb_socket.check(&socket).is_ok();
        if !in_place || below_pod_dirs(places, &socket) {
            return Err(invalid(format!(
                "ovsdbSocket {:?} is not in Open vSwitch's run directory: give ovsdb-server's \
                 socket below {} (the plugin talks to no other server; not in a pod's socket \
                 directory; docs/userspace.md, \"Places\")",
                socket.display().to_string(),
                places::roots(&places.ovsdb_socket)
            )));
        }
        Ok(socket)
    }

    /// How long to wait for ovsdb-server and ovs-vswitchd.
    pub fn timeout(&self) -> Result<Duration, Error> {
        match self.ovs_timeout {
            None => Ok(DEFAULT_TIMEOUT),
            Some(t) if t > 0.0 && t <= 600.0 => Ok(Duration::from_secs_f64(t)),
            Some(t) => Err(invalid(format!(
                "ovsTimeout {t} is out of range: give seconds, more than 0 and at most 600"
            ))),
        }
    }

    /// The ovsdb-server socket and the timeout: all STATUS needs.
    pub fn endpoint(&self, places: &Places) -> Result<(PathBuf, Duration), Error> {
        Ok((self.ovsdb_socket(places)?, self.timeout()?))
    }

    /// `host.iftype` is `memif`.
    pub fn is_memif(&self) -> bool {
        self.host.as_ref().and_then(|h| h.iftype.as_deref()) == Some("memif")
    }

    /// The socket's file name, also the OVS port's name: `host.vhost.socketfile`, else
    /// `<containerID[:12]>-<ifname>`; for memif `host.memif.socketfile`, else the Intel
    /// plugin's memif name `memif-<containerID[:12]>-<ifname>.sock`.
    pub(crate) fn port_name(&self, container_id: &str, ifname: &str) -> Result<String, Error> {
        let host = self.host.as_ref();
        let port = if self.is_memif() {
            host.and_then(|h| h.memif.as_ref())
                .and_then(|m| m.socketfile.clone())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| format!("memif-{}-{}.sock", short_id(container_id), ifname))
        } else {
            host.and_then(|h| h.vhost.as_ref())
                .and_then(|v| v.socketfile.clone())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| format!("{}-{}", short_id(container_id), ifname))
        };
        let field = if self.is_memif() {
            "host.memif.socketfile"
        } else {
            "host.vhost.socketfile"
        };
        check_file_name(&port, field)?;
        Ok(port)
    }

    /// `sharedDir` as configured, if it is.
    fn configured_shared_dir(&self) -> Option<&str> {
        self.shared_dir.as_deref().filter(|s| !s.is_empty())
    }

    /// `sharedDir`, or the default.
    pub(crate) fn shared_dir(&self, places: &Places) -> PathBuf {
        self.configured_shared_dir()
            .map_or_else(|| places.default_shared_dir.clone(), PathBuf::from)
    }

    /// The name of the pod volume that receives the socket, `None` when the config turns the
    /// lookup off (`sharedDirVolume: ""`). A name that is no Kubernetes volume name (a DNS-1123
    /// label) is code 7 (ADD) or `None` with a warning (teardown).
    pub fn pod_volume_name(&self, for_add: bool) -> Result<Option<String>, Error> {
        let name = match self.shared_dir_volume.as_deref() {
            None => return Ok(Some(DEFAULT_POD_VOLUME.to_string())),
            Some("") => return Ok(None),
            Some(n) => n,
        };
        let b = name.as_bytes();
        let label = b.len() <= 63
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            && b.first().is_some_and(u8::is_ascii_alphanumeric)
            && b.last().is_some_and(u8::is_ascii_alphanumeric);
        if label {
            return Ok(Some(name.to_string()));
        }
        let e = invalid(format!(
            "sharedDirVolume {name:?} is not a Kubernetes volume name: give the name of the \
             pod's emptyDir volume (lower-case letters, digits and '-', at most 63), or \"\" to \
             never put the socket in a pod volume"
        ));
        if for_add {
            return Err(e);
        }
        nfv_cni::warn!("{}: not looking for the pod's volume", e.msg);
        Ok(None)
    }

    fn check_socket_dir(&self, places: &Places, dir: &Path) -> Result<(), Error> {
        places.socket_dirs.check(dir).map(|_| ()).map_err(|_| {
            invalid(format!(
                "sharedDir {:?} is not a place for the pods' socket directories: use {} or a \
                 directory below one, without '.' or '..' (the plugin creates, chowns and \
                 deletes files there as root; docs/userspace.md, \"Places\")",
                self.shared_dir(places).display().to_string(),
                places::roots(&places.socket_dirs)
            ))
        })
    }

    /// The files of the attachment (`container_id`, `ifname`) in `home`, not yet checked
    /// against their place. `base` is the `sharedDir` for [`Home::SharedDir`].
    fn files_in(
        &self,
        places: &Places,
        container_id: &str,
        ifname: &str,
        home: &Home,
        base: &Path,
    ) -> Result<SocketFiles, Error> {
        nfv_cni::env::validate_container_id(container_id)?;
        nfv_cni::env::validate_ifname(ifname)?;
        let port = self.port_name(container_id, ifname)?;
        let config_data = config_data_name(container_id, ifname);
        Ok(match home {
            Home::SharedDir => {
                let dir = base.join(short_id(container_id));
                SocketFiles {
                    socket_path: dir.join(&port),
                    dir,
                    port,
                    link: None,
                    config_data,
                }
            }
            Home::PodVolume(dir) => {
                let link = places.vhost_link(short_id(container_id), ifname);
                SocketFiles {
                    dir: dir.clone(),
                    port,
                    socket_path: link.clone(),
                    link: Some(link),
                    config_data,
                }
            }
        })
    }

    /// The files of the attachment (`container_id`, `ifname`) in `<sharedDir>/<cid12>/`, in
    /// their place. The identity is checked too (GC takes it from OVSDB rows): one plain name
    /// each.
    pub fn socket_files(
        &self,
        places: &Places,
        container_id: &str,
        ifname: &str,
    ) -> Result<SocketFiles, Error> {
        self.socket_files_at(places, container_id, ifname, &Home::SharedDir)
    }

    /// The files of the attachment in `home`, in their place.
    pub fn socket_files_at(
        &self,
        places: &Places,
        container_id: &str,
        ifname: &str,
        home: &Home,
    ) -> Result<SocketFiles, Error> {
        let files = self.files_in(places, container_id, ifname, home, &self.shared_dir(places))?;
        if files.in_pod_volume() {
            places
                .pod_volumes
                .check(&files.dir)
                .map_err(|e| Error::internal(e.to_string()))?;
        } else {
            self.check_socket_dir(places, &files.dir)?;
        }
        Ok(files)
    }

    /// Every place DEL, CHECK and GC look for the attachment's files, derived from the config
    /// and the identity only, the one ADD uses now first: the pod volume (when given), then
    /// `<sharedDir>/<cid12>/`, and for a config without `sharedDir` also
    /// `<our earlier default>/<cid12>/`. One outside its place is left out, with a warning.
    pub fn teardown_files(
        &self,
        places: &Places,
        container_id: &str,
        ifname: &str,
        pod_volume: Option<&Path>,
    ) -> Vec<SocketFiles> {
        let mut out = Vec::new();
        if let Some(v) = pod_volume {
            match self.socket_files_at(
                places,
                container_id,
                ifname,
                &Home::PodVolume(v.to_path_buf()),
            ) {
                Ok(f) => out.push(f),
                Err(e) => nfv_cni::warn!("leaving the pod volume alone: {}", e.msg),
            }
        }
        match self.socket_files(places, container_id, ifname) {
            Ok(f) => out.push(f),
            Err(e) => nfv_cni::warn!("leaving the socket directory alone: {}", e.msg),
        }
        if self.configured_shared_dir().is_none() {
            let legacy = self
                .files_in(
                    places,
                    container_id,
                    ifname,
                    &Home::SharedDir,
                    &places.legacy_shared_dir,
                )
                .ok()
                .filter(|f| places.socket_dirs.check(&f.dir).is_ok());
            out.extend(legacy);
        }
        out
    }

    /// `ovsSocketDir`, which must be OVS's run directory (the plugin moves a socket out of it
    /// and chowns it).
    fn ovs_socket_dir(
        &self,
        places: &Places,
        ovsdb_socket: &Path,
        port: &str,
    ) -> Result<PathBuf, Error> {
        let dir = match self.ovs_socket_dir.as_deref().filter(|s| !s.is_empty()) {
            Some(d) => PathBuf::from(d),
            None => ovsdb_socket
                .parent()
                .map_or_else(|| PathBuf::from("/"), Path::to_path_buf),
        };
        let socket = dir.join(port);
        if places.ovs_sockets.check(&socket).is_err() || below_pod_dirs(places, &socket) {
            return Err(invalid(format!(
                "ovsSocketDir {:?} is not Open vSwitch's run directory: use {} or a directory \
                 below one (not a pod's socket directory), where ovs-vswitchd creates its \
                 server-mode sockets (the plugin moves the socket from there into the pod's \
                 directory; docs/userspace.md, \"Places\")",
                dir.display().to_string(),
                places::roots(&places.ovs_sockets)
            )));
        }
        Ok(dir)
    }

    /// Validates the config for one attachment whose socket is in `<sharedDir>/<cid12>/`.
    /// `for_add` enables checks that only matter when creating (a DEL must still clean up
    /// after a config that became invalid).
    pub fn plan(
        &self,
        places: &Places,
        network: &str,
        container_id: &str,
        ifname: &str,
        for_add: bool,
    ) -> Result<Plan, Error> {
        self.plan_at(
            places,
            network,
            container_id,
            ifname,
            for_add,
            &Home::SharedDir,
        )
    }

    /// [`UserspaceConf::plan`] with the socket in `home`.
    pub fn plan_at(
        &self,
        places: &Places,
        network: &str,
        container_id: &str,
        ifname: &str,
        for_add: bool,
        home: &Home,
    ) -> Result<Plan, Error> {
        let host = self.host.as_ref().ok_or_else(|| {
            invalid(
                "host is missing: give {\"host\": {\"engine\": \"ovs-dpdk\", \"iftype\": \"vhostuser\", ...}}",
            )
        })?;
        check_side(host, "host")?;
        if host.engine.is_none() {
            return Err(invalid(
                "host.engine is missing: set it to \"ovs-dpdk\" (the only engine supported)",
            ));
        }
        if let Some(c) = &self.container {
            check_side(c, "container")?;
        }
        match host.net_type.as_deref() {
            None | Some("") | Some("bridge") => {}
            Some("interface") => {
                return Err(invalid(
                    "host.netType \"interface\" is not supported with ovs-dpdk: use \"bridge\"",
                ))
            }
            Some(o) => return Err(invalid(format!("host.netType is {o:?}: use \"bridge\""))),
        }
        let vhost = host.vhost.as_ref();
        let memif = if self.is_memif() {
            Some(self.memif_plan(network, container_id, ifname)?)
        } else {
            None
        };
        let (mode, pod_mode) = if memif.is_some() {
            (Mode::Server, None)
        } else {
            (
                parse_mode(vhost.and_then(|v| v.mode.as_deref()), "host.vhost.mode")?
                    .unwrap_or(Mode::Client),
                parse_mode(
                    self.container
                        .as_ref()
                        .and_then(|c| c.vhost.as_ref())
                        .and_then(|v| v.mode.as_deref()),
                    "container.vhost.mode",
                )?,
            )
        };
        if pod_mode == Some(mode) {
            return Err(invalid(format!(
                "host.vhost.mode and container.vhost.mode are both {:?}: one side must be the \
                 server and the other the client (host {:?} means container {:?})",
                mode.as_str(),
                mode.as_str(),
                mode.flipped().as_str()
            )));
        }
        let bridge_conf = host.bridge.as_ref();
        let bridge = bridge_conf
            .and_then(|b| b.bridge_name.clone())
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| DEFAULT_BRIDGE.to_string());
        check_bridge_name(&bridge)?;
        let vlan = match bridge_conf.and_then(|b| b.vlan_id) {
            None | Some(0) => None,
            Some(v @ 1..=4094) => Some(v as u16),
            Some(v) => {
                return Err(invalid(format!(
                    "host.bridge.vlanId {v} is out of range: use 1-4094, or 0/omit for an untagged port"
                )))
            }
        };
        if for_add {
            self.pod_volume_name(true)?;
        }
        let files = self.files_in(places, container_id, ifname, home, &self.shared_dir(places))?;
        if for_add && memif.is_some() && files.in_pod_volume() {
            return Err(invalid(format!(
                "host.iftype is \"memif\", and the pod has the volume {:?} for its socket: \
                 OVS's memif server creates its socket where it is told, and a path in a pod \
                 volume is longer than a unix socket path may be (108 bytes). Set \
                 sharedDirVolume to \"\" to keep memif sockets in sharedDir",
                files
                    .dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            )));
        }
        if for_add && memif.is_some() {
            check_devargs_path(&files.socket_path)?;
        }
        if for_add && mode == Mode::Server && files.in_pod_volume() {
            return Err(invalid(format!(
                "host.vhost.mode is \"server\", and the pod has the volume {:?} for its \
                 socket: ovs-vswitchd creates a server-mode socket in its run directory, on \
                 another file system, so it cannot be moved into the pod's volume. Use \
                 \"client\" (what OVS recommends), or set sharedDirVolume to \"\" to keep \
                 the socket in sharedDir",
                files
                    .dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            )));
        }
        // A place refused here fails ADD; DEL, CHECK and GC then leave that part alone.
        let refused = |e: Error| -> Result<(), Error> {
            if for_add {
                return Err(e);
            }
            nfv_cni::warn!("{}: leaving it alone", e.msg);
            Ok(())
        };
        let files_in_place = if files.in_pod_volume() {
            true
        } else {
            match self.check_socket_dir(places, &files.dir) {
                Ok(()) => true,
                Err(e) => refused(e).map(|()| false)?,
            }
        };
        let ovsdb_socket = match self.ovsdb_socket(places) {
            Ok(s) => Some(s),
            Err(e) => refused(e).map(|()| None)?,
        };
        let ovs_socket_dir = match &ovsdb_socket {
            Some(s) => match self.ovs_socket_dir(places, s, &files.port) {
                Ok(d) => Some(d),
                Err(e) => refused(e).map(|()| None)?,
            },
            None => None,
        };
        let timeout = match self.timeout() {
            Ok(t) => t,
            Err(e) => {
                refused(e)?;
                DEFAULT_TIMEOUT
            }
        };
        let len = files.socket_path.as_os_str().len();
        if for_add && len >= SUN_PATH_MAX {
            let (kind, key) = if memif.is_some() {
                ("memif", "memif")
            } else {
                ("vhost-user", "vhost")
            };
            return Err(invalid(format!(
                "the {kind} socket path {} is {len} bytes; a unix socket path must be shorter \
                 than {SUN_PATH_MAX} bytes (sun_path): shorten sharedDir or host.{key}.socketfile",
                files.socket_path.display()
            )));
        }
        Ok(Plan {
            network: network.to_string(),
            container_id: container_id.to_string(),
            ifname: ifname.to_string(),
            bridge,
            vlan,
            mode,
            port: files.port.clone(),
            socket_dir: files.dir.clone(),
            socket_path: files.socket_path.clone(),
            files,
            files_in_place,
            group: if memif.is_some() {
                host.memif.as_ref().and_then(|m| m.group.clone())
            } else {
                vhost.and_then(|v| v.group.clone())
            }
            .filter(|g| !g.is_empty()),
            ovsdb_socket,
            ovs_socket_dir,
            timeout,
            memif,
        })
    }

    /// A memif port's plan: OVS is the server (the Intel plugin's `master`), the pod's app the
    /// client, in ethernet mode, the only mode DPDK's memif driver speaks. Every field is
    /// checked here, for DEL too: a config ADD refuses never made a port.
    fn memif_plan(
        &self,
        network: &str,
        container_id: &str,
        ifname: &str,
    ) -> Result<MemifPlan, Error> {
        let host = self.host.as_ref().and_then(|h| h.memif.as_ref());
        let pod = self.container.as_ref().and_then(|c| c.memif.as_ref());
        if let Some(t) = self.container.as_ref().and_then(|c| c.iftype.as_deref()) {
            if !t.is_empty() && t != "memif" {
                return Err(invalid(format!(
                    "container.iftype is {t:?} and host.iftype \"memif\": both sides of a \
                     memif port are memif; leave container.iftype out or set it to \"memif\""
                )));
            }
        }
        if memif_role(host.and_then(|m| m.role.as_deref()), "host.memif.role")?
            == Some(Mode::Client)
        {
            return Err(invalid(
                "host.memif.role is the client (\"slave\"): with OVS-DPDK the host side is \
                 the memif server (\"master\"), which creates the socket in the pod's \
                 directory; the pod's app connects as the client. Leave host.memif.role out \
                 or set it to \"master\"",
            ));
        }
        if memif_role(pod.and_then(|m| m.role.as_deref()), "container.memif.role")?
            == Some(Mode::Server)
        {
            return Err(invalid(
                "container.memif.role is the server (\"master\"), and so is OVS: the pod's \
                 app must be the client; leave container.memif.role out or set it to \"slave\"",
            ));
        }
        memif_mode(host.and_then(|m| m.mode.as_deref()), "host.memif.mode")?;
        memif_mode(pod.and_then(|m| m.mode.as_deref()), "container.memif.mode")?;
        let queues = match host.and_then(|m| m.queues) {
            None => None,
            Some(q @ 1..=32) => Some(q as u16),
            Some(q) => {
                return Err(invalid(format!(
                    "host.memif.queues {q} is out of range: give 1-32, OVS's receive queues on \
                     the port (the pod's app may open at most this many transmit queues)"
                )))
            }
        };
        Ok(MemifPlan {
            vdev: memif_vdev(network, container_id, ifname),
            id: 0,
            queues,
        })
    }
}

/// The MAC for the pod's side: `runtimeConfig.mac` when given, else derived from the attachment
/// (stable across retries, locally administered, unicast).
pub fn pod_mac(runtime_mac: Option<&Value>, plan: &Plan) -> Result<String, Error> {
    if let Some(v) = runtime_mac {
        let s = v.as_str().unwrap_or_default();
        let bytes: Vec<Option<u8>> = s
            .split(':')
            .map(|p| {
                (p.len() == 2)
                    .then(|| u8::from_str_radix(p, 16).ok())
                    .flatten()
            })
            .collect();
        if bytes.len() != 6 || bytes.iter().any(Option::is_none) {
            return Err(invalid(format!(
                "runtimeConfig.mac {v} is not a MAC address like \"02:00:00:00:00:01\""
            )));
        }
        if bytes[0].unwrap_or(1) & 1 == 1 {
            return Err(invalid(format!(
                "runtimeConfig.mac {s} is a multicast address: the low bit of the first byte must be 0"
            )));
        }
        return Ok(s.to_ascii_lowercase());
    }
    // FNV-1a over the attachment's identity.
    let b = identity_hash(&plan.network, &plan.container_id, &plan.ifname).to_be_bytes();
    Ok(format!(
        "02:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        b[3], b[4], b[5], b[6], b[7]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn conf(v: Value) -> UserspaceConf {
        serde_json::from_value(v).unwrap()
    }

    fn intel() -> Value {
        json!({
            "host": {"engine": "ovs-dpdk", "iftype": "vhostuser", "netType": "bridge",
                     "vhost": {"mode": "client"}, "bridge": {"bridgeName": "br-dpdk", "vlanId": 100}},
            "container": {"engine": "ovs-dpdk", "iftype": "vhostuser", "netType": "interface",
                          "vhost": {"mode": "server"}},
            "sharedDir": "/var/lib/cni/usrspcni/"
        })
    }

    const CID: &str = "0123456789abcdef0123";

    #[test]
    fn intel_config_plans() {
        let p = conf(intel())
            .plan(&Places::node(), "net", CID, "net1", true)
            .unwrap();
        assert_eq!(p.bridge, "br-dpdk");
        assert_eq!(p.vlan, Some(100));
        assert_eq!(p.mode, Mode::Client);
        assert_eq!(p.port, "0123456789ab-net1");
        assert_eq!(
            p.socket_dir,
            PathBuf::from("/var/lib/cni/usrspcni/0123456789ab")
        );
        assert_eq!(
            p.socket_path,
            PathBuf::from("/var/lib/cni/usrspcni/0123456789ab/0123456789ab-net1")
        );
        assert_eq!(
            p.ovsdb_socket,
            Some(PathBuf::from("/var/run/openvswitch/db.sock"))
        );
        assert_eq!(
            p.ovs_socket_dir,
            Some(PathBuf::from("/var/run/openvswitch"))
        );
        assert!(p.files_in_place);
    }

    #[test]
    fn defaults_client_mode_br0() {
        let p = conf(json!({"host": {"engine": "ovs-dpdk", "iftype": "vhostuser"}}))
            .plan(&Places::node(), "n", CID, "eth1", true)
            .unwrap();
        assert_eq!(p.mode, Mode::Client);
        assert_eq!(p.bridge, "br0");
        assert_eq!(p.vlan, None);
        assert!(p.socket_path.starts_with(crate::places::DEFAULT_SHARED_DIR));
    }

    /// Changed on purpose with memif support (issue 16): VPP is still refused on either side,
    /// `iftype: memif` with engine ovs-dpdk is now accepted (`memif_*` tests below).
    #[test]
    fn vpp_rejected_with_reason_memif_accepted_on_ovs_dpdk() {
        for (k, v) in [("engine", "vpp"), ("iftype", "vdpa")] {
            let mut c = intel();
            c["host"][k] = json!(v);
            let e = conf(c)
                .plan(&Places::node(), "n", CID, "net1", true)
                .unwrap_err();
            assert_eq!(e.code, code::INVALID_CONFIG);
            assert!(e.msg.contains("out of scope"), "{}", e.msg);
            assert!(e.msg.contains(&format!("host.{k}")), "{}", e.msg);
        }
        let mut c = intel();
        c["container"]["engine"] = json!("vpp");
        assert!(conf(c)
            .plan(&Places::node(), "n", CID, "net1", true)
            .is_err());
        let mut c = intel();
        c["host"]["engine"] = json!("vpp");
        c["host"]["iftype"] = json!("memif");
        let e = conf(c)
            .plan(&Places::node(), "n", CID, "net1", true)
            .unwrap_err();
        assert!(e.msg.contains("host.engine"), "{}", e.msg);
        let p = conf(memif())
            .plan(&Places::node(), "n", CID, "net1", true)
            .unwrap();
        assert!(p.memif.is_some());
    }

    fn memif() -> Value {
        json!({
            "host": {"engine": "ovs-dpdk", "iftype": "memif", "netType": "bridge",
                     "memif": {"role": "master", "mode": "ethernet"},
                     "bridge": {"bridgeName": "br-dpdk", "vlanId": 100}},
            "container": {"engine": "ovs-dpdk", "iftype": "memif", "netType": "interface",
                          "memif": {"role": "slave", "mode": "ethernet"}},
            "sharedDir": "/var/lib/cni/usrspcni/"
        })
    }

    #[test]
    fn memif_plans_a_dpdk_port_with_the_intel_socket_name() {
        let p = conf(memif())
            .plan(&Places::node(), "net", CID, "net1", true)
            .unwrap();
        assert_eq!(p.port, "memif-0123456789ab-net1.sock");
        assert_eq!(
            p.socket_path,
            PathBuf::from("/var/lib/cni/usrspcni/0123456789ab/memif-0123456789ab-net1.sock")
        );
        assert_eq!(
            (p.interface_type(), p.kind(), p.mode),
            ("dpdk", "memif", Mode::Server)
        );
        assert!(!p.moves_server_socket());
        assert_eq!(p.vlan, Some(100));
        let m = p.memif.as_ref().unwrap();
        assert_eq!(m.vdev, memif_vdev("net", CID, "net1"));
        assert!(
            m.vdev.starts_with("net_memif") && m.vdev.len() == 25,
            "{}",
            m.vdev
        );
        assert_eq!(
            m.devargs(&p.socket_path),
            format!(
                "{},role=server,socket=/var/lib/cni/usrspcni/0123456789ab/\
                 memif-0123456789ab-net1.sock,id=0,socket-abstract=no",
                m.vdev
            )
        );
        assert_eq!(m.queues, None);
        // Defaults: no memif block at all, no container block.
        let p = conf(json!({"host": {"engine": "ovs-dpdk", "iftype": "memif"}}))
            .plan(&Places::node(), "net", CID, "net1", true)
            .unwrap();
        assert!(p.memif.is_some());
        // host.memif.socketfile, as the Intel plugin's older releases read it.
        let mut c = memif();
        c["host"]["memif"]["socketfile"] = json!("m0.sock");
        let p = conf(c)
            .plan(&Places::node(), "net", CID, "net1", true)
            .unwrap();
        assert_eq!(p.port, "m0.sock");
    }

    #[test]
    fn memif_vdev_is_unique_per_attachment_and_rederived() {
        let a = memif_vdev("net", CID, "net1");
        assert_eq!(a, memif_vdev("net", CID, "net1"));
        assert_ne!(a, memif_vdev("net", CID, "net2"));
        assert_ne!(a, memif_vdev("net2", CID, "net1"));
        assert_ne!(a, memif_vdev("net", "0123456789abcdef0124", "net1"));
        // DEL derives the same plan from config and identity alone.
        let add = conf(memif())
            .plan(&Places::node(), "n", CID, "net1", true)
            .unwrap();
        let del = conf(memif())
            .plan(&Places::node(), "n", CID, "net1", false)
            .unwrap();
        assert_eq!(add, del);
    }

    #[test]
    fn memif_fields_are_checked_naming_the_field() {
        for (side, key, value, field) in [
            ("host", "role", "slave", "host.memif.role"),
            ("host", "role", "client", "host.memif.role"),
            ("host", "role", "boss", "host.memif.role"),
            ("host", "mode", "ip", "host.memif.mode"),
            ("host", "mode", "inject-punt", "host.memif.mode"),
            ("container", "role", "master", "container.memif.role"),
            ("container", "mode", "ip", "container.memif.mode"),
            ("host", "queues", "0", "host.memif.queues"),
            ("host", "queues", "33", "host.memif.queues"),
            ("host", "socketfile", "../m.sock", "host.memif.socketfile"),
        ] {
            let mut c = memif();
            c[side]["memif"][key] = if key == "queues" {
                json!(value.parse::<i64>().unwrap())
            } else {
                json!(value)
            };
            let e = conf(c)
                .plan(&Places::node(), "n", CID, "net1", true)
                .unwrap_err();
            assert_eq!(e.code, code::INVALID_CONFIG, "{field}");
            assert!(e.msg.contains(field), "{field}: {}", e.msg);
        }
        let mut c = memif();
        c["container"]["iftype"] = json!("vhostuser");
        let e = conf(c)
            .plan(&Places::node(), "n", CID, "net1", true)
            .unwrap_err();
        assert!(e.msg.contains("container.iftype"), "{}", e.msg);
        let mut c = memif();
        c["host"]["memif"]["queues"] = json!(2);
        let p = conf(c)
            .plan(&Places::node(), "n", CID, "net1", true)
            .unwrap();
        assert_eq!(p.memif.unwrap().queues, Some(2));
    }

    /// Hostile: the socket path goes into dpdk-devargs, a comma-separated list; a ',' or '='
    /// from the socket file name, sharedDir or the interface name would add arguments
    /// (another socket, another role) to OVS's DPDK device.
    #[test]
    fn memif_socket_path_cannot_inject_devargs() {
        for (key, value) in [
            ("socketfile", "m.sock,socket=x.sock"),
            ("socketfile", "m.sock,role=client"),
            ("sharedDir", "/var/lib/cni/usrspcni/a,role=client"),
            ("sharedDir", "/var/lib/cni/usrspcni/a=b"),
        ] {
            let mut c = memif();
            if key == "sharedDir" {
                c["sharedDir"] = json!(value);
            } else {
                c["host"]["memif"][key] = json!(value);
            }
            let e = conf(c)
                .plan(&Places::node(), "n", CID, "net1", true)
                .unwrap_err();
            assert_eq!(e.code, code::INVALID_CONFIG, "{value}");
            assert!(e.msg.contains("memif socket path"), "{value}: {}", e.msg);
        }
        let e = conf(memif())
            .plan(&Places::node(), "n", CID, "a,b", true)
            .unwrap_err();
        assert!(e.msg.contains("memif socket path"), "{}", e.msg);
        // DEL of such an attachment still plans (nothing goes to DPDK).
        assert!(conf(memif())
            .plan(&Places::node(), "n", CID, "a,b", false)
            .is_ok());
    }

    #[test]
    fn memif_in_a_pod_volume_is_refused_at_add() {
        let home = Home::PodVolume(PathBuf::from(
            "/var/lib/kubelet/pods/u/volumes/kubernetes.io~empty-dir/shared-dir",
        ));
        let e = conf(memif())
            .plan_at(&Places::node(), "n", CID, "net1", true, &home)
            .unwrap_err();
        assert!(e.msg.contains("sharedDirVolume"), "{}", e.msg);
        assert!(conf(memif())
            .plan_at(&Places::node(), "n", CID, "net1", false, &home)
            .is_ok());
    }

    #[test]
    fn bad_fields_are_named() {
        let cases = [
            (json!({"vhost": {"mode": "both"}}), "host.vhost.mode"),
            (json!({"bridge": {"vlanId": 4095}}), "host.bridge.vlanId"),
            (json!({"bridge": {"vlanId": -1}}), "host.bridge.vlanId"),
            (json!({"bridge": {"bridgeName": "a/b"}}), "bridgeName"),
            (
                json!({"bridge": {"bridgeName": "averyveryverylongbridge"}}),
                "bridgeName",
            ),
            (json!({"vhost": {"socketfile": "../x"}}), "socketfile"),
            (json!({"netType": "interface"}), "netType"),
        ];
        for (patch, field) in cases {
            let mut c = intel();
            for (k, v) in patch.as_object().unwrap() {
                c["host"][k] = v.clone();
            }
            let e = conf(c)
                .plan(&Places::node(), "n", CID, "net1", true)
                .unwrap_err();
            assert!(e.msg.contains(field), "{field}: {}", e.msg);
        }
        let e = conf(json!({}))
            .plan(&Places::node(), "n", CID, "net1", true)
            .unwrap_err();
        assert!(e.msg.contains("host is missing"), "{}", e.msg);
    }

    #[test]
    fn both_sides_same_mode_is_an_error() {
        let mut c = intel();
        c["container"]["vhost"]["mode"] = json!("client");
        let e = conf(c)
            .plan(&Places::node(), "n", CID, "net1", true)
            .unwrap_err();
        assert!(e.msg.contains("both"), "{}", e.msg);
    }

    #[test]
    fn socket_path_limit_is_108_bytes() {
        // dir + "/" + 12 + "/" + "0123456789ab-net1" (17)
        let base = "/var/lib/cni/usrspcni/";
        let fits = 107 - base.len() - 1 - 12 - 1 - 17;
        let mut c = intel();
        c["sharedDir"] = json!(format!("{base}{}", "d".repeat(fits)));
        let p = conf(c)
            .plan(&Places::node(), "n", CID, "net1", true)
            .unwrap();
        assert_eq!(p.socket_path.as_os_str().len(), 107);
        let mut c = intel();
        c["sharedDir"] = json!(format!("{base}{}", "d".repeat(fits + 1)));
        let e = conf(c)
            .plan(&Places::node(), "n", CID, "net1", true)
            .unwrap_err();
        assert!(e.msg.contains("108 bytes"), "{}", e.msg);
        // DEL must still be able to clean up.
        let mut c = intel();
        c["sharedDir"] = json!(format!("{base}{}", "d".repeat(fits + 1)));
        assert!(conf(c)
            .plan(&Places::node(), "n", CID, "net1", false)
            .is_ok());
    }

    #[test]
    fn places_are_refused_at_add_naming_the_field_and_ignored_otherwise() {
        for (key, value, field) in [
            ("sharedDir", "/tmp/s", "sharedDir"),
            (
                "sharedDir",
                "/var/lib/cni/usrspcni/../../../etc",
                "sharedDir",
            ),
            ("ovsdbSocket", "/tmp/db.sock", "ovsdbSocket"),
            ("ovsSocketDir", "/etc", "ovsSocketDir"),
            ("ovsTimeout", "0", "ovsTimeout"),
        ] {
            let mut c = intel();
            c[key] = if key == "ovsTimeout" {
                json!(0)
            } else {
                json!(value)
            };
            let e = conf(c)
                .plan(&Places::node(), "n", CID, "net1", true)
                .unwrap_err();
            assert_eq!(e.code, code::INVALID_CONFIG, "{key}");
            assert!(e.msg.starts_with(field), "{key}: {}", e.msg);
            if key != "ovsTimeout" {
                assert!(
                    e.msg.contains("/run/openvswitch") || e.msg.contains("/var/lib/cni/usrspcni"),
                    "names the allowed places: {}",
                    e.msg
                );
            }
        }
        let mut c = intel();
        c["sharedDir"] = json!("/tmp/s");
        c["ovsdbSocket"] = json!("/tmp/db.sock");
        c["ovsTimeout"] = json!(-1);
        let p = conf(c)
            .plan(&Places::node(), "n", CID, "net1", false)
            .unwrap();
        assert!(!p.files_in_place);
        assert_eq!((p.ovsdb_socket, p.ovs_socket_dir), (None, None));
        assert_eq!(p.timeout, DEFAULT_TIMEOUT);
        assert_eq!(
            p.socket_path,
            PathBuf::from("/tmp/s/0123456789ab/0123456789ab-net1")
        );
    }

    #[test]
    fn socket_files_come_from_config_and_identity_only() {
        let mut c = intel();
        c["host"]["vhost"]["socketfile"] = json!("vhu0");
        let f = conf(c).socket_files(&Places::node(), CID, "net1").unwrap();
        assert_eq!(f.dir, PathBuf::from("/var/lib/cni/usrspcni/0123456789ab"));
        assert_eq!(f.socket_path, f.dir.join("vhu0"));
        for (cid, ifname) in [
            ("../../etc", "net1"),
            (CID, "../x"),
            ("", "net1"),
            (CID, "a/b"),
        ] {
            assert!(
                conf(intel())
                    .socket_files(&Places::node(), cid, ifname)
                    .is_err(),
                "{cid} {ifname}"
            );
        }
    }

    #[test]
    fn no_shared_dir_means_the_intel_plugins_default_and_teardown_also_looks_in_ours() {
        let c = conf(json!({"host": {"engine": "ovs-dpdk"}}));
        let p = c.plan(&Places::node(), "n", CID, "net1", true).unwrap();
        assert_eq!(
            p.socket_path,
            PathBuf::from("/usr/local/var/run/openvswitch/0123456789ab/0123456789ab-net1")
        );
        let dirs: Vec<PathBuf> = c
            .teardown_files(&Places::node(), CID, "net1", None)
            .into_iter()
            .map(|f| f.dir)
            .collect();
        assert_eq!(
            dirs,
            [
                PathBuf::from("/usr/local/var/run/openvswitch/0123456789ab"),
                PathBuf::from("/var/lib/cni/usrspcni/0123456789ab")
            ]
        );
        // A configured sharedDir is the only one.
        let dirs: Vec<PathBuf> = conf(intel())
            .teardown_files(&Places::node(), CID, "net1", None)
            .into_iter()
            .map(|f| f.dir)
            .collect();
        assert_eq!(dirs, [PathBuf::from("/var/lib/cni/usrspcni/0123456789ab")]);
    }

    /// Hostile: OVS's run directory /usr/local/var/run/openvswitch is also the default
    /// sharedDir, where pods' apps create sockets: ovsdbSocket and ovsSocketDir may name only
    /// OVS's own entries directly in it, never one in a pod's directory below it.
    #[test]
    fn ovs_paths_may_not_lie_in_a_pods_socket_directory() {
        for (key, value, ok) in [
            (
                "ovsdbSocket",
                "/usr/local/var/run/openvswitch/db.sock",
                true,
            ),
            (
                "ovsdbSocket",
                "/usr/local/var/run/openvswitch/0123456789ab/db.sock",
                false,
            ),
            ("ovsdbSocket", "/run/openvswitch/sub/db.sock", true),
            ("ovsSocketDir", "/usr/local/var/run/openvswitch", true),
            (
                "ovsSocketDir",
                "/usr/local/var/run/openvswitch/0123456789ab",
                false,
            ),
        ] {
            let mut c = intel();
            c["host"]["vhost"]["mode"] = json!("server");
            c["container"]["vhost"]["mode"] = json!("client");
            c[key] = json!(value);
            if key == "ovsSocketDir" {
                c["ovsdbSocket"] = json!("/usr/local/var/run/openvswitch/db.sock");
            }
            let r = conf(c).plan(&Places::node(), "n", CID, "net1", true);
            match r {
                Ok(_) => assert!(ok, "{key} {value} accepted"),
                Err(e) => {
                    assert!(!ok, "{key} {value}: {}", e.msg);
                    assert!(e.msg.starts_with(key), "{}", e.msg);
                }
            }
        }
    }

    #[test]
    fn the_pod_volume_name_is_a_kubernetes_volume_name() {
        let name = |v: Value| {
            let mut c = intel();
            c["sharedDirVolume"] = v;
            conf(c).pod_volume_name(true).map_err(|e| e.msg)
        };
        assert_eq!(name(json!(null)), Ok(Some("shared-dir".into())));
        assert_eq!(name(json!("vhost-0")), Ok(Some("vhost-0".into())));
        assert_eq!(name(json!("")), Ok(None));
        for bad in ["../x", "a/b", "Shared", "-x", "x-", ".", &"a".repeat(64)] {
            let e = name(json!(bad)).unwrap_err();
            assert!(e.starts_with("sharedDirVolume"), "{bad}: {e}");
            let mut c = intel();
            c["sharedDirVolume"] = json!(bad);
            assert_eq!(conf(c).pod_volume_name(false).unwrap(), None, "{bad}");
        }
    }

    #[test]
    fn mac_from_runtime_config_or_derived() {
        let p = conf(intel())
            .plan(&Places::node(), "n", CID, "net1", true)
            .unwrap();
        assert_eq!(
            pod_mac(Some(&json!("02:AA:bb:cc:dd:ee")), &p).unwrap(),
            "02:aa:bb:cc:dd:ee"
        );
        assert!(pod_mac(Some(&json!("01:00:00:00:00:01")), &p).is_err());
        assert!(pod_mac(Some(&json!("zz")), &p).is_err());
        let a = pod_mac(None, &p).unwrap();
        assert_eq!(a, pod_mac(None, &p).unwrap());
        assert!(a.starts_with("02:"));
        let q = conf(intel())
            .plan(&Places::node(), "n", CID, "net2", true)
            .unwrap();
        assert_ne!(a, pod_mac(None, &q).unwrap());
    }

    #[test]
    fn short_id_handles_short_ids() {
        assert_eq!(short_id("abc"), "abc");
        assert_eq!(short_id(CID), "0123456789ab");
    }
}
