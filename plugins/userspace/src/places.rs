//! Where the paths a userspace config names may lie (docs/userspace.md, "Places"). The plugin
//! creates, chowns, renames and deletes files there as root, so each kind of path has a fixed
//! set of roots: `sharedDir` (the pods' socket directories), OVS's run directory
//! (`ovsdbSocket`, `ovsSocketDir`), the pods' own emptyDir volumes below kubelet's pod
//! directory, the plugin's short links to sockets in those volumes, and the files the Intel
//! userspace-cni plugin leaves behind. Below a root everything is reached without following
//! symlinks (nfv-safefs). The node's places are constants; tests give scratch directories.

use std::path::{Path, PathBuf};

use nfv_safefs::Place;

/// The default `sharedDir` for engine ovs-dpdk, as in the Intel plugin (its
/// `DefaultOvsCNIDir`): a config without `sharedDir` means the same directory with both
/// plugins. It is also one of OVS's run directories (a build from source).
pub const DEFAULT_SHARED_DIR: &str = "/usr/local/var/run/openvswitch";

/// This plugin's default `sharedDir` before it followed the Intel plugin's: DEL, CHECK and GC
/// of a config without `sharedDir` also look there, for pods attached by an earlier release.
pub const LEGACY_SHARED_DIR: &str = "/var/lib/cni/usrspcni";

/// Where `sharedDir` may be: one of these or a directory below one. The default (above), the
/// Intel plugin's base directory for its other engines (also our earlier default), its older
/// vhostuser plugin's, its `/var/lib/vhost_sockets` remapping target (also the
/// OpenStack/KubeVirt OVS-DPDK convention), and the `vhostuser` directories in /run that
/// hostPath volumes use.
pub const SHARED_DIR_ROOTS: &[&str] = &[
    DEFAULT_SHARED_DIR,
    LEGACY_SHARED_DIR,
    "/var/lib/cni/vhostuser",
    "/var/lib/vhost_sockets",
    "/run/vhostuser",
    "/var/run/vhostuser",
    "/run/vhost-user",
    "/var/run/vhost-user",
];

/// Open vSwitch's run directories (Debian/Red Hat packages, and a build from source): where
/// ovsdb-server's socket and ovs-vswitchd's server-mode vhost-user sockets are.
pub const OVS_RUN_DIRS: &[&str] = &[
    "/run/openvswitch",
    "/var/run/openvswitch",
    "/usr/local/var/run/openvswitch",
];

/// kubelet's pod directories: a pod's emptyDir volume V is
/// `<KUBELET_PODS>/<pod UID>/volumes/kubernetes.io~empty-dir/V`.
pub const KUBELET_PODS: &str = "/var/lib/kubelet/pods";

/// The plugin's short links to sockets in pod volumes, `<VHOST_LINKS>/<containerID[:12]>-<ifname>`:
/// a socket path in a pod volume is longer than `sun_path` holds. Not a `sharedDir` root nor
/// below one, so no config can create anything here.
pub const VHOST_LINKS: &str = "/run/nfv-cni/vhost-user";

/// The Intel plugin's base directory: its per-attachment data is
/// `<base>/data/local-<containerID[:12]>-<ifname>.json` (its `DefaultLocalCNIDir`), removed
/// when DEL takes over one of its pods.
pub const USERSPACE_CNI_BASE: &str = "/var/lib/cni/usrspcni";

/// Where the Intel plugin bind-mounted a pod's `shared-dir` emptyDir, `<dir>/<pod UID>` (its
/// `DefaultHostVhostuserBaseDir`): the emptyDir's own path is too long for a socket.
pub const USERSPACE_CNI_REMAP: &str = "/var/lib/vhost_sockets";

#[derive(Debug, Clone)]
pub struct Places {
    /// The per-pod socket directories `<sharedDir>/<containerID[:12]>`: strictly below a root,
    /// so `sharedDir` is a root or lies below one.
    pub socket_dirs: Place,
    /// `sharedDir` when the config names none (its first root is the directory).
    pub default_shared_dir: PathBuf,
    /// Our earlier default, also cleaned up for configs without `sharedDir`.
    pub legacy_shared_dir: PathBuf,
    /// `ovsdbSocket`, strictly below a root.
    pub ovsdb_socket: Place,
    /// Server mode: the socket ovs-vswitchd creates, `<ovsSocketDir>/<port>`, strictly below a
    /// root (so `ovsSocketDir` is a root or lies below one).
    pub ovs_sockets: Place,
    /// Pods' emptyDir volumes, below kubelet's pod directory: never created or removed here.
    pub pod_volumes: Place,
    /// The short links to sockets in pod volumes (a directory of the plugin's own).
    pub vhost_links: Place,
    /// The Intel plugin's base directory, holding `data/local-*.json`.
    pub userspace_cni_data: Place,
    /// The Intel plugin's bind-mount targets for pod volumes, `<root>/<pod UID>`.
    pub userspace_cni_remap: Place,
}

/// The one root of a place built here.
fn root(place: &Place) -> &Path {
    place
        .roots()
        .first()
        .map_or(Path::new("/"), PathBuf::as_path)
}

impl Places {
    /// The node's places: the constants above.
    pub fn node() -> Places {
        Places {
            socket_dirs: Place::new("sharedDir", SHARED_DIR_ROOTS.iter().map(PathBuf::from)),
            default_shared_dir: PathBuf::from(DEFAULT_SHARED_DIR),
            legacy_shared_dir: PathBuf::from(LEGACY_SHARED_DIR),
            ovsdb_socket: Place::new("ovsdbSocket", OVS_RUN_DIRS.iter().map(PathBuf::from)),
            ovs_sockets: Place::new("ovsSocketDir", OVS_RUN_DIRS.iter().map(PathBuf::from)),
            pod_volumes: Place::new("the pod's volume", [KUBELET_PODS]),
            vhost_links: Place::new("the vhost-user link", [VHOST_LINKS]),
            userspace_cni_data: Place::new("userspace-cni's data", [USERSPACE_CNI_BASE]),
            userspace_cni_remap: Place::new("userspace-cni's socket mount", [USERSPACE_CNI_REMAP]),
        }
    }

    /// Every place rooted at `dir` (tests: a scratch directory stands in for the node's).
    /// The directories the plugin itself names are `dir/default`, `dir/legacy`,
    /// `dir/kubelet/pods`, `dir/links`, `dir/usrspcni/data` and `dir/vhost_sockets`.
    pub fn under(dir: &Path) -> Places {
        Places {
            socket_dirs: Place::new("sharedDir", [dir.to_path_buf()]),
            default_shared_dir: dir.join("default"),
            legacy_shared_dir: dir.join("legacy"),
            ovsdb_socket: Place::new("ovsdbSocket", [dir.to_path_buf()]),
            ovs_sockets: Place::new("ovsSocketDir", [dir.to_path_buf()]),
            pod_volumes: Place::new("the pod's volume", [dir.join("kubelet/pods")]),
            vhost_links: Place::new("the vhost-user link", [dir.join("links")]),
            userspace_cni_data: Place::new("userspace-cni's data", [dir.join("usrspcni")]),
            userspace_cni_remap: Place::new(
                "userspace-cni's socket mount",
                [dir.join("vhost_sockets")],
            ),
        }
    }

    /// The emptyDir volume `volume` of the pod `uid` (both checked plain names).
    pub fn pod_volume(&self, uid: &str, volume: &str) -> PathBuf {
        root(&self.pod_volumes)
            .join(uid)
            .join("volumes/kubernetes.io~empty-dir")
            .join(volume)
    }

    /// The short link to the socket of attachment (`cid12`, `ifname`) in a pod volume.
    pub fn vhost_link(&self, cid12: &str, ifname: &str) -> PathBuf {
        root(&self.vhost_links).join(format!("{cid12}-{ifname}"))
    }

    /// The Intel plugin's data file of attachment (`cid12`, `ifname`).
    pub fn userspace_cni_data_file(&self, cid12: &str, ifname: &str) -> PathBuf {
        root(&self.userspace_cni_data)
            .join("data")
            .join(format!("local-{cid12}-{ifname}.json"))
    }

    /// Where the Intel plugin bind-mounted the `shared-dir` volume of pod `uid`.
    pub fn userspace_cni_remap_dir(&self, uid: &str) -> PathBuf {
        root(&self.userspace_cni_remap).join(uid)
    }
}

/// The roots of `place`, for messages: "/a, /b or /c".
pub fn roots(place: &Place) -> String {
    let r: Vec<String> = place
        .roots()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    match r.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_places_accept_the_usual_paths_and_nothing_else() {
        let p = Places::node();
        for ok in [
            "/var/lib/cni/usrspcni/0123456789ab",
            "/var/lib/cni/usrspcni/net-a/0123456789ab",
            "/var/run/vhostuser/0123456789ab",
            "/var/lib/vhost_sockets/0123456789ab",
            "/usr/local/var/run/openvswitch/0123456789ab",
        ] {
            assert!(p.socket_dirs.check(Path::new(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "/tmp/0123456789ab",
            "/var/lib/cni/0123456789ab",
            "/var/lib/cni/usrspcni/../x/0123456789ab",
            "/etc/0123456789ab",
            "/var/lib/kubelet/pods/0123456789ab",
            "relative/0123456789ab",
        ] {
            assert!(p.socket_dirs.check(Path::new(bad)).is_err(), "{bad}");
        }
        assert!(p
            .ovsdb_socket
            .check(Path::new("/var/run/openvswitch/db.sock"))
            .is_ok());
        assert!(p.ovsdb_socket.check(Path::new("/tmp/db.sock")).is_err());
        assert!(p.ovsdb_socket.check(Path::new("/run/openvswitch")).is_err());
        assert!(p
            .ovs_sockets
            .check(Path::new("/usr/local/var/run/openvswitch/vhu0"))
            .is_ok());
        assert!(p.ovs_sockets.check(Path::new("/etc/shadow")).is_err());
    }

    #[test]
    fn the_paths_the_plugin_derives_itself() {
        let p = Places::node();
        assert_eq!(
            p.pod_volume("u-1", "shared-dir"),
            Path::new("/var/lib/kubelet/pods/u-1/volumes/kubernetes.io~empty-dir/shared-dir")
        );
        assert!(p.pod_volumes.check(&p.pod_volume("u-1", "v")).is_ok());
        assert_eq!(
            p.vhost_link("0123456789ab", "net1"),
            Path::new("/run/nfv-cni/vhost-user/0123456789ab-net1")
        );
        assert!(
            p.socket_dirs
                .check(&p.vhost_link("0123456789ab", "net1"))
                .is_err(),
            "no sharedDir reaches the links"
        );
        assert_eq!(
            p.userspace_cni_data_file("0123456789ab", "net1"),
            Path::new("/var/lib/cni/usrspcni/data/local-0123456789ab-net1.json")
        );
        assert_eq!(
            p.userspace_cni_remap_dir("u-1"),
            Path::new("/var/lib/vhost_sockets/u-1")
        );
    }

    #[test]
    fn roots_read_as_a_list() {
        assert_eq!(
            roots(&Places::node().ovsdb_socket),
            "/run/openvswitch, /var/run/openvswitch or /usr/local/var/run/openvswitch"
        );
    }
}
