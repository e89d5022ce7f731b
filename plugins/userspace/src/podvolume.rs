//! The pod's own emptyDir volume for its socket (docs/userspace.md, "Pod volumes"), found
//! without Kubernetes API access: the pod UID from `CNI_ARGS` (`K8S_POD_UID`, which Multus passes
//! to the plugins it calls) and the volume name from the config, below kubelet's pod directory.
//! kubelet creates a pod's volumes before its sandbox, so the volume is there at ADD; this
//! plugin never creates, changes or removes it. The socket goes directly into the volume, one
//! per pod, so no pod sees another's sockets. The UID is the runtime's, never the config's:
//! a network config cannot point the plugin at another pod's volume.

use std::path::PathBuf;

use nfv_cni::{Error, Request};
use nfv_safefs::Problem;

use crate::codes;
use crate::config::{Home, UserspaceConf};
use crate::places::Places;

/// `K8S_POD_UID` from `CNI_ARGS`, when it is a plain UID: hex digits and '-' (a UUID, or the
/// hash kubelet gives a static pod), at most 64. Anything else is ignored with a warning.
pub fn pod_uid(req: &Request) -> Option<&str> {
    let uid = req.env.args.get("K8S_POD_UID")?;
    let plain = !uid.is_empty()
        && uid.len() <= 64
        && uid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
        && !uid.starts_with('-');
    if !plain {
        nfv_cni::warn!(
            "CNI_ARGS K8S_POD_UID {uid:?} is not a pod UID (hex digits and '-'): not looking \
             for the pod's volume"
        );
        return None;
    }
    Some(uid)
}

/// The pod volume's path for the pod `uid` (from [`pod_uid`]), whether or not it exists: for
/// DEL, which also cleans up after a volume kubelet has already removed (the link is ours).
pub fn volume_path(uid: Option<&str>, conf: &UserspaceConf, places: &Places) -> Option<PathBuf> {
    let uid = uid?;
    let name = conf.pod_volume_name(false).ok().flatten()?;
    Some(places.pod_volume(uid, &name))
}

/// Where ADD puts the socket: the pod's volume when the pod has one (a directory, reached
/// without symlinks below kubelet's pod directory), else `<sharedDir>/<cid12>/`. Something
/// other than a directory at the volume's path fails ADD (113): kubelet makes directories.
pub fn home_for_add(req: &Request, conf: &UserspaceConf, places: &Places) -> Result<Home, Error> {
    let (Some(uid), Some(name)) = (pod_uid(req), conf.pod_volume_name(true)?) else {
        return Ok(Home::SharedDir);
    };
    let path = places.pod_volume(uid, &name);
    let found = places
        .pod_volumes
        .open_parent(&path, None)
        .and_then(|(parent, name)| parent.open_dir(&name));
    match found {
        Ok(_) => {
            nfv_cni::debug!(
                "the pod has the volume {}: the socket goes there",
                path.display()
            );
            Ok(Home::PodVolume(path))
        }
        Err(e) if e.is_not_found() => Ok(Home::SharedDir),
        Err(e) => {
            let hint = match e.problem {
                Problem::Symlink | Problem::WrongKind { .. } => {
                    ": kubelet makes a pod's emptyDir volumes as directories"
                }
                _ => "",
            };
            Err(Error::new(codes::SOCKET_DIR, format!("{e}{hint}")))
        }
    }
}

/// CHECK: where ADD would put the socket now; a volume that cannot be used reads as none.
pub fn home_now(req: &Request, conf: &UserspaceConf, places: &Places) -> Home {
    home_for_add(req, conf, places).unwrap_or_else(|e| {
        nfv_cni::warn!("{}: looking in sharedDir", e.msg);
        Home::SharedDir
    })
}
