//! Where the paths a userspace config names may lie (docs/userspace.md, "Places"). The plugin
//! creates, chowns, renames and deletes files there as root, so each kind of path has a fixed
//! set of roots: `sharedDir` (the pods' socket directories) and OVS's run directory
//! (`ovsdbSocket`, `ovsSocketDir`). Below a root everything is reached without following
//! symlinks (nfv-safefs). The node's places are constants; tests give scratch directories.

use std::path::{Path, PathBuf};

use nfv_safefs::Place;

/// Where `sharedDir` may be: one of these or a directory below one. The Intel plugin's default,
/// its older vhostuser plugin's and its `/var/lib/vhost_sockets` remapping target (also the
/// OpenStack/KubeVirt OVS-DPDK convention), and the `vhostuser` directories in /run that
/// hostPath volumes use.
pub const SHARED_DIR_ROOTS: &[&str] = &[
    "/var/lib/cni/usrspcni",
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

#[derive(Debug, Clone)]
pub struct Places {
    /// The per-pod socket directories `<sharedDir>/<containerID[:12]>`: strictly below a root,
    /// so `sharedDir` is a root or lies below one.
    pub socket_dirs: Place,
    /// `ovsdbSocket`, strictly below a root.
    pub ovsdb_socket: Place,
    /// Server mode: the socket ovs-vswitchd creates, `<ovsSocketDir>/<port>`, strictly below a
    /// root (so `ovsSocketDir` is a root or lies below one).
    pub ovs_sockets: Place,
}

impl Places {
    /// The node's places: the constants above.
    pub fn node() -> Places {
        Places {
            socket_dirs: Place::new("sharedDir", SHARED_DIR_ROOTS.iter().map(PathBuf::from)),
            ovsdb_socket: Place::new("ovsdbSocket", OVS_RUN_DIRS.iter().map(PathBuf::from)),
            ovs_sockets: Place::new("ovsSocketDir", OVS_RUN_DIRS.iter().map(PathBuf::from)),
        }
    }

    /// Every place rooted at `dir` (tests: a scratch directory stands in for the node's).
    pub fn under(dir: &Path) -> Places {
        Places {
            socket_dirs: Place::new("sharedDir", [dir.to_path_buf()]),
            ovsdb_socket: Place::new("ovsdbSocket", [dir.to_path_buf()]),
            ovs_sockets: Place::new("ovsSocketDir", [dir.to_path_buf()]),
        }
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
    fn roots_read_as_a_list() {
        assert_eq!(
            roots(&Places::node().ovsdb_socket),
            "/run/openvswitch, /var/run/openvswitch or /usr/local/var/run/openvswitch"
        );
    }
}
