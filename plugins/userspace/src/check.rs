//! CHECK: the attachment's one port is on its bridge with the type, socket path and VLAN the
//! config says and no error from ovs-vswitchd, the socket directory is there, and prevResult
//! agrees with the port.

use std::path::Path;

use nfv_cni::{ipam, Error, Request};

use crate::codes::{self, from_ovsdb};
use crate::config::{same_path, Mode, UserspaceConf};
use crate::places::Places;
use crate::podvolume;
use crate::ports;
use crate::sockdir;
use crate::vswitch::Vswitch;

pub fn check(req: &Request, places: &Places) -> Result<(), Error> {
    let conf: UserspaceConf = req.parse_conf()?;
    let home = podvolume::home_now(req, &conf, places);
    let plan = conf.plan_at(
        places,
        &req.conf.name,
        req.container_id(),
        req.ifname(),
        false,
        &home,
    )?;
    let fail = |msg: String| Error::new(codes::PORT, msg);
    let Some(ovsdb_socket) = &plan.ovsdb_socket else {
        // Logged by `plan`: no port can have been added through a socket ADD refuses.
        return ipam::check(req);
    };
    let mut vs = Vswitch::connect(ovsdb_socket, plan.timeout)?;
    let (bridges, found) = vs.read(&ports::attachment_filter(&plan))?;
    let port = match found.as_slice() {
        [p] => p,
        [] => {
            return Err(fail(format!(
                "OVS has no port for container {} interface {} on network {}",
                plan.container_id, plan.ifname, plan.network
            )))
        }
        many => {
            return Err(fail(format!(
                "OVS has {} ports for one attachment: {}",
                many.len(),
                many.iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    };
    if !bridges
        .iter()
        .any(|b| b.name == plan.bridge && b.ports.contains(&port.uuid))
    {
        return Err(fail(format!(
            "port {} is not on bridge {}",
            port.name, plan.bridge
        )));
    }
    let state = vs
        .interface_state(&port.name)
        .map_err(|e| from_ovsdb(e, "reading the port"))?;
    if state.iface_type != plan.interface_type() {
        return Err(fail(format!(
            "port {} has type {:?}, expected {:?}",
            port.name,
            state.iface_type,
            plan.interface_type()
        )));
    }
    // Where ADD puts the socket now, or where it put it for this attachment before (the pod
    // volume gone, or a pod attached by an earlier release): each derived from config and
    // identity. The socket path the port names picks one; it is compared, never used.
    let mut homes = vec![plan.files.clone()];
    homes.extend(
        conf.teardown_files(places, req.container_id(), req.ifname(), None)
            .into_iter()
            .filter(|f| f.dir != plan.files.dir),
    );
    let files = match (plan.mode, state.vhost_server_path.as_deref()) {
        _ if plan.memif.is_some() => memif_files(&plan, &homes, state.dpdk_devargs.as_deref()),
        (Mode::Client, Some(path)) => homes
            .iter()
            .find(|f| same_path(&f.socket_path, Path::new(path)))
            .cloned(),
        (Mode::Client, None) => None,
        (Mode::Server, _) => Some(plan.files.clone()),
    };
    let Some(files) = files else {
        if let Some(m) = &plan.memif {
            return Err(fail(format!(
                "port {} has options:dpdk-devargs {:?}, expected {:?}",
                port.name,
                state.dpdk_devargs,
                m.devargs(&plan.socket_path)
            )));
        }
        return Err(fail(format!(
            "port {} has options:vhost-server-path {:?}, expected {:?}",
            port.name,
            state.vhost_server_path,
            plan.socket_path.to_string_lossy()
        )));
    };
    let want_path = files.socket_path.to_string_lossy().into_owned();
    if state.tag != plan.vlan.map(i64::from) {
        return Err(fail(format!(
            "port {} has VLAN tag {:?}, expected {:?}",
            port.name, state.tag, plan.vlan
        )));
    }
    if let Some(err) = state.error.filter(|e| !e.is_empty()) {
        return Err(fail(format!("OVS reports port {}: {err}", port.name)));
    }
    if plan.files_in_place && !sockdir::exists(places, &files)? {
        return Err(fail(format!(
            "the socket directory {} is gone",
            files.dir.display()
        )));
    }
    // memif: OVS made the socket and listens on it; without it the pod cannot connect.
    if plan.memif.is_some() && plan.files_in_place && !sockdir::has_socket(places, &files) {
        return Err(fail(format!(
            "the memif socket {} that OVS listens on is gone: recreate the pod",
            files.socket_path.display()
        )));
    }
    if let Some(prev) = req.prev_result()? {
        let iface = prev
            .interfaces
            .iter()
            .find(|i| i.name == plan.ifname)
            .ok_or_else(|| fail(format!("prevResult has no interface {}", plan.ifname)))?;
        if iface.socket_path.as_deref().is_some_and(|s| s != want_path) {
            return Err(fail(format!(
                "prevResult socketPath {:?} differs from the port's {want_path:?}",
                iface.socket_path
            )));
        }
        if let (Some(a), Some(b)) = (&iface.mac, &port.mac) {
            if !a.eq_ignore_ascii_case(b) {
                return Err(fail(format!(
                    "prevResult mac {a} differs from the port's {b}"
                )));
            }
        }
    }
    ipam::check(req)
}

/// memif: the home whose devargs (derived from config and identity) the port has, exactly.
fn memif_files(
    plan: &crate::config::Plan,
    homes: &[crate::config::SocketFiles],
    devargs: Option<&str>,
) -> Option<crate::config::SocketFiles> {
    let m = plan.memif.as_ref()?;
    let devargs = devargs?;
    homes
        .iter()
        .find(|f| m.devargs(&f.socket_path) == devargs)
        .cloned()
}
