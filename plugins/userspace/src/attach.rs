//! The verbs: ADD (with rollback), DEL (idempotent, keeps going), CHECK and GC.

use std::thread;
use std::time::Duration;

use nfv_cni::result::Interface;
use nfv_cni::{code, ipam, Error, Request, Success};

use crate::config::{pod_mac, Mode, Plan, UserspaceConf, DEFAULT_TIMEOUT};
use crate::crash::crash_point;
use crate::places::Places;
use crate::ports::{self, OurPort, KEY_NETWORK};
use crate::sockdir;
use crate::vswitch::{cni_error, errcode, Vswitch};

/// `runtimeConfig.CNIDeviceInfoFile` for ADD: a file in the device-info tree, else code 7
/// before anything changes; whether ADD writes it or finds it there and keeps it (§5.1.2).
fn device_info_file(req: &Request) -> Result<Option<nfv_devinfo::AtAdd>, Error> {
    let place = nfv_devinfo::place();
    let path = nfv_devinfo::requested_path(&req.conf.runtime_config, &place)?;
    Ok(nfv_devinfo::AtAdd::decide(&place, path)?)
}

pub fn add(req: &Request, places: &Places) -> Result<Success, Error> {
    let conf: UserspaceConf = req.parse_conf()?;
    let plan = conf.plan(
        places,
        &req.conf.name,
        req.container_id(),
        req.ifname(),
        true,
    )?;
    // Both checked by `plan` for ADD; taken again here as values, not options.
    let files = conf.socket_files(places, req.container_id(), req.ifname())?;
    let ovsdb_socket = conf.ovsdb_socket(places)?;
    let mac = pod_mac(req.conf.runtime("mac"), &plan)?;
    let device_info = device_info_file(req)?;
    let mut vs = Vswitch::connect(&ovsdb_socket, plan.timeout)?;
    let (bridges, existing) = vs.read(&ports::attachment_filter(&plan))?;
    if let Some(p) = existing.first() {
        return Err(Error::new(
            errcode::EXISTS,
            format!(
                "OVS already has port {} for container {} interface {} on network {}: \
                 ADD must not run twice; run DEL first",
                p.name, plan.container_id, plan.ifname, plan.network
            ),
        ));
    }
    // Released again (IPAM DEL) if anything below fails.
    let lease = ipam::add_if_configured(req)?;
    crash_point("after-ipam");
    let (socket_dir, created_dir) =
        sockdir::create(&places.socket_dirs, &files, plan.group.as_deref())?;
    crash_point("after-socket-dir");
    let attached = attach_port(&mut vs, &plan, &mac, bridges).and_then(|()| {
        if plan.mode == Mode::Server {
            let from = plan.ovs_socket_dir.as_deref().ok_or_else(|| {
                Error::internal("server mode without ovsSocketDir: the config check let it by")
            })?;
            let ovs = sockdir::open_ovs_dir(&places.ovs_sockets, from, &plan.port)?;
            sockdir::wait_for_server_socket(&ovs, &plan.port, plan.timeout)?;
            sockdir::adopt_server_socket(&ovs, &plan.port, &socket_dir, plan.group.as_deref())?;
            crash_point("after-socket-move");
        }
        let ips: Vec<String> = lease
            .as_ref()
            .map(|l| {
                l.result()
                    .ips
                    .iter()
                    .map(|ip| ip.address.to_string())
                    .collect()
            })
            .unwrap_or_default();
        sockdir::write_pod_json(
            &socket_dir,
            &plan.port,
            &sockdir::pod_view(&plan, &mac, &ips),
        )?;
        crash_point("after-pod-json");
        if let Some(path) = device_info.as_ref().and_then(|d| d.written()) {
            sockdir::write_device_info(&nfv_devinfo::place(), path, &plan)?;
        }
        crash_point("after-device-info");
        Ok(())
    });
    if let Err(e) = attached {
        nfv_cni::warn!("ADD failed, rolling back: {e}");
        let mut errors = Vec::new();
        let filter = ports::attachment_filter(&plan);
        // The failure may have broken the connection (a timeout mid-reply): retry on a new one.
        let removed = remove_ports(&mut vs, &filter).or_else(|first| {
            nfv_cni::debug!("rollback on the same connection failed ({first}), reconnecting");
            let mut fresh = Vswitch::connect(&ovsdb_socket, plan.timeout)?;
            remove_ports(&mut fresh, &filter)
        });
        if let Err(r) = removed {
            errors.push(format!(
                "removing the port: {r}; DEL or GC will remove it (it carries our external_ids)"
            ));
        }
        if created_dir {
            drop(socket_dir);
            sockdir::remove(&places.socket_dirs, &files, &mut errors);
        }
        if let Some(path) = device_info.as_ref().and_then(|d| d.written()) {
            sockdir::remove_device_info(&nfv_devinfo::place(), path, &plan, &mut errors);
        }
        for r in &errors {
            nfv_cni::error!("rollback: {r}");
        }
        return Err(e); // `lease` drops here: IPAM DEL
    }
    let mut result = lease.map(|l| l.commit()).unwrap_or_default();
    result.interfaces = vec![Interface {
        name: plan.ifname.clone(),
        mac: Some(mac),
        sandbox: req.netns().map(|p| p.to_string_lossy().into_owned()),
        socket_path: Some(plan.socket_path.to_string_lossy().into_owned()),
        ..Default::default()
    }];
    for ip in &mut result.ips {
        ip.interface = Some(0);
    }
    nfv_cni::info!(
        "attached {} to bridge {} ({}), socket {}: {}",
        plan.port,
        plan.bridge,
        plan.mode.interface_type(),
        plan.socket_path.display(),
        sockdir::mode_note(plan.mode)
    );
    Ok(result)
}

/// The ADD transaction, then what ovs-vswitchd made of it. Two ADDs racing to create the same
/// bridge, or a bridge removed between our read and our write, make the transaction fail
/// without changing anything: re-read and try again.
fn attach_port(
    vs: &mut Vswitch,
    plan: &Plan,
    mac: &str,
    bridges: Vec<ports::BridgeRow>,
) -> Result<(), Error> {
    const ATTEMPTS: usize = 3;
    let mut bridges = bridges;
    let mut attempt = 1;
    let (results, txn) = loop {
        let bridge = bridges.iter().find(|b| b.name == plan.bridge);
        let txn = ports::add_txn(plan, mac, bridge);
        match vs.transact(&txn.ops, "adding the port") {
            Ok(r) => {
                crash_point("after-ovsdb");
                break (r, txn);
            }
            Err(e) => {
                let raced = match e.ovsdb_error() {
                    Some("timed out") => true,
                    Some("constraint violation") => txn.creates_bridge,
                    _ => false,
                };
                if raced && attempt < ATTEMPTS {
                    nfv_cni::debug!("bridge {} changed under us, retrying: {e}", plan.bridge);
                    attempt += 1;
                    bridges = vs.read(&ports::attachment_filter(plan))?.0;
                    continue;
                }
                return Err(add_error(e, plan));
            }
        }
    };
    let next = Vswitch::next_cfg(&results, txn.next_cfg_at).ok_or_else(|| {
        Error::new(
            errcode::OVSDB,
            "ovsdb-server did not return Open_vSwitch.next_cfg",
        )
    })?;
    let applied = vs
        .wait_applied(next)
        .map_err(|e| cni_error(e, "waiting for ovs-vswitchd"))?;
    if !applied {
        return Err(Error::new(
            errcode::VSWITCHD,
            format!(
                "ovs-vswitchd did not apply the new port {} within {:.1}s: is ovs-vswitchd running \
                 and connected to {}? (see ovs-vswitchd.log)",
                plan.port,
                vs.timeout().as_secs_f32(),
                plan.ovsdb_socket
                    .as_deref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            ),
        ));
    }
    // OVS accepts a port it cannot create and says so only here.
    let state = vs
        .interface_state(&plan.port)
        .map_err(|e| cni_error(e, "reading the new port"))?;
    if let Some(err) = state.error.filter(|e| !e.is_empty()) {
        return Err(Error::new(
            errcode::PORT,
            format!(
                "OVS could not create vhost-user port {} ({}): {err}",
                plan.port,
                plan.mode.interface_type()
            ),
        ));
    }
    crash_point("after-vswitchd");
    Ok(())
}

fn add_error(e: nfv_ovsdb::Error, plan: &Plan) -> Error {
    match e.ovsdb_error() {
        Some("constraint violation") => Error::new(
            errcode::EXISTS,
            format!(
                "cannot add port {} to bridge {}: {e}. Another port or bridge with that name \
                 exists in OVS (set host.vhost.socketfile or remove the stale port)",
                plan.port, plan.bridge
            ),
        ),
        Some("timed out") => Error::new(
            code::TRY_AGAIN_LATER,
            format!(
                "bridge {} kept changing while we added the port: {e}",
                plan.bridge
            ),
        ),
        _ => cni_error(
            e,
            &format!("adding port {} to bridge {}", plan.port, plan.bridge),
        ),
    }
}

/// Removes our ports matching `filter` in one transaction (plus bridges we created that become
/// empty). A concurrent change makes the guarded transaction fail; re-read and retry, and on
/// the last attempt leave bridges alone. Returns the ports removed.
fn remove_ports(vs: &mut Vswitch, filter: &[(&str, &str)]) -> Result<Vec<OurPort>, Error> {
    remove_some(vs, filter, |_| true)
}

fn remove_some(
    vs: &mut Vswitch,
    filter: &[(&str, &str)],
    select: impl Fn(&OurPort) -> bool,
) -> Result<Vec<OurPort>, Error> {
    // Each round of a race has a winner; the last attempt keeps bridges and cannot race, then
    // removes, guarded again, a bridge of ours it may have left empty.
    const ATTEMPTS: usize = 10;
    for attempt in 1..=ATTEMPTS {
        if attempt > 1 {
            spread_out();
        }
        let (bridges, found) = vs.read(filter)?;
        let doomed: Vec<OurPort> = found.into_iter().filter(&select).collect();
        if doomed.is_empty() {
            return Ok(doomed);
        }
        let keep_bridges = attempt == ATTEMPTS;
        let txn = ports::del_txn(&doomed, &bridges, keep_bridges);
        match vs.transact(&txn.ops, "removing ports") {
            Ok(results) => {
                applied(vs, &results, txn.next_cfg_at, "the port removal");
                for b in &txn.removes_bridges {
                    nfv_cni::info!("removed bridge {b}: we created it and it is empty");
                }
                if keep_bridges {
                    let held: Vec<_> = bridges
                        .iter()
                        .filter(|b| doomed.iter().any(|p| b.ports.contains(&p.uuid)))
                        .map(|b| b.uuid.clone())
                        .collect();
                    remove_empty_bridges(vs, filter, &held);
                }
                return Ok(doomed);
            }
            Err(e) if e.ovsdb_error() == Some("timed out") && attempt < ATTEMPTS => {
                nfv_cni::debug!("bridges changed under us, retrying: {e}");
            }
            Err(e) => return Err(cni_error(e, "removing ports")),
        }
    }
    Ok(Vec::new())
}

/// Racers sleep a little apart before they try again.
fn spread_out() {
    thread::sleep(Duration::from_millis(1 + u64::from(std::process::id() % 7)));
}

/// Waits for ovs-vswitchd to apply the write whose `next_cfg` answer is at `at`; a timeout or
/// failure is only logged (teardown keeps going).
fn applied(vs: &mut Vswitch, results: &[nfv_ovsdb::OperationResult], at: usize, what: &str) {
    if let Some(next) = Vswitch::next_cfg(results, at) {
        match vs.wait_applied(next) {
            Ok(true) => {}
            Ok(false) => {
                nfv_cni::warn!("ovs-vswitchd has not applied {what} yet (not running?)")
            }
            Err(e) => nfv_cni::warn!("waiting for ovs-vswitchd: {e}"),
        }
    }
}

/// After a removal that left bridges alone: removes those of `held` that we created and that
/// now hold only their LOCAL port (the last racer to take a port out sees that), guarded so a
/// racing ADD keeps its bridge. Failures are logged: the ports are gone either way.
fn remove_empty_bridges(vs: &mut Vswitch, filter: &[(&str, &str)], held: &[nfv_ovsdb::Uuid]) {
    for _ in 0..3 {
        let bridges = match vs.read(filter) {
            Ok((b, _)) => b,
            Err(e) => return nfv_cni::warn!("reading bridges to remove empty ones: {}", e.msg),
        };
        let candidates: Vec<_> = bridges
            .into_iter()
            .filter(|b| held.contains(&b.uuid))
            .collect();
        let Some(txn) = ports::empty_bridges_txn(&candidates) else {
            return;
        };
        match vs.transact(&txn.ops, "removing empty bridges") {
            Ok(results) => {
                applied(vs, &results, txn.next_cfg_at, "the bridge removal");
                for b in &txn.removes_bridges {
                    nfv_cni::info!("removed bridge {b}: we created it and it is empty");
                }
                return;
            }
            Err(e) if e.ovsdb_error() == Some("timed out") => spread_out(),
            Err(e) => return nfv_cni::warn!("removing empty bridges: {e}"),
        }
    }
}

fn combine(errors: Vec<Error>) -> Result<(), Error> {
    let mut it = errors.into_iter();
    match it.next() {
        None => Ok(()),
        Some(first) => {
            let rest: Vec<String> = it.map(|e| e.msg).collect();
            if rest.is_empty() {
                Err(first)
            } else {
                let code = first.code;
                Err(Error::new(
                    code,
                    format!("{}; also: {}", first.msg, rest.join("; ")),
                ))
            }
        }
    }
}

/// DEL needs only the ovsdb socket and the attachment's identity: a config that no longer
/// validates (or never did) must not make the pod undeletable. It removes the files it derives
/// from the config and the identity, never a path an OVSDB row names; a place the config names
/// outside its allowed roots is left alone, never an error.
pub fn del(req: &Request, places: &Places) -> Result<(), Error> {
    let conf: UserspaceConf = req.parse_conf()?;
    let filter = [
        (KEY_NETWORK, req.conf.name.as_str()),
        (ports::KEY_CONTAINER, req.container_id()),
        (ports::KEY_IFNAME, req.ifname()),
    ];
    let mut errors: Vec<Error> = Vec::new();
    match conf.ovsdb_socket(places) {
        Ok(socket) => {
            let timeout = conf.timeout().unwrap_or(DEFAULT_TIMEOUT);
            match Vswitch::connect(&socket, timeout) {
                Ok(mut vs) => {
                    if let Err(e) = remove_ports(&mut vs, &filter) {
                        errors.push(e);
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        Err(e) => nfv_cni::warn!("DEL: {}; not talking to it", e.msg),
    }
    let mut file_errors = Vec::new();
    match conf.socket_files(places, req.container_id(), req.ifname()) {
        Ok(files) => sockdir::remove(&places.socket_dirs, &files, &mut file_errors),
        Err(e) => nfv_cni::warn!("DEL: {}; leaving the socket directory alone", e.msg),
    }
    // No record here: only a file recognisably this attachment's (what ADD writes for the
    // plan) is removed; without a plan nothing can be recognised.
    let plan = conf
        .plan(
            places,
            &req.conf.name,
            req.container_id(),
            req.ifname(),
            false,
        )
        .ok();
    let place = nfv_devinfo::place();
    if let Some(path) = nfv_devinfo::requested_path_for_teardown(&req.conf.runtime_config, &place) {
        match &plan {
            Some(plan) => sockdir::remove_device_info(&place, &path, plan, &mut file_errors),
            None => nfv_cni::info!(
                "device-info file {} left in place: the config does not say what ADD wrote",
                path.display()
            ),
        }
    }
    errors.extend(
        file_errors
            .into_iter()
            .map(|m| Error::new(errcode::SOCKET_DIR, m)),
    );
    if let Err(e) = ipam::del(req) {
        errors.push(e);
    }
    combine(errors)
}

pub fn check(req: &Request, places: &Places) -> Result<(), Error> {
    let conf: UserspaceConf = req.parse_conf()?;
    let plan = conf.plan(
        places,
        &req.conf.name,
        req.container_id(),
        req.ifname(),
        false,
    )?;
    let fail = |msg: String| Error::new(errcode::PORT, msg);
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
        .map_err(|e| cni_error(e, "reading the port"))?;
    if state.iface_type != plan.mode.interface_type() {
        return Err(fail(format!(
            "port {} has type {:?}, expected {:?}",
            port.name,
            state.iface_type,
            plan.mode.interface_type()
        )));
    }
    let want_path = plan.socket_path.to_string_lossy().into_owned();
    if plan.mode == Mode::Client && state.vhost_server_path.as_deref() != Some(&want_path) {
        return Err(fail(format!(
            "port {} has options:vhost-server-path {:?}, expected {want_path:?}",
            port.name, state.vhost_server_path
        )));
    }
    if state.tag != plan.vlan.map(i64::from) {
        return Err(fail(format!(
            "port {} has VLAN tag {:?}, expected {:?}",
            port.name, state.tag, plan.vlan
        )));
    }
    if let Some(err) = state.error.filter(|e| !e.is_empty()) {
        return Err(fail(format!("OVS reports port {}: {err}", port.name)));
    }
    if plan.files_in_place {
        let files = conf.socket_files(places, req.container_id(), req.ifname())?;
        if !sockdir::exists(&places.socket_dirs, &files)? {
            return Err(fail(format!(
                "the socket directory {} is gone",
                plan.socket_dir.display()
            )));
        }
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

/// GC removes our ports of this network whose attachment is not valid, and the files it
/// derives from the config and each port's (container ID, ifname): never a path the row names.
pub fn gc(req: &Request, places: &Places) -> Result<(), Error> {
    let conf: UserspaceConf = req.parse_conf()?;
    let valid = req.conf.valid_attachments.clone().unwrap_or_default();
    let mut errors = Vec::new();
    let socket = match conf.ovsdb_socket(places) {
        Ok(s) => Some(s),
        Err(e) => {
            nfv_cni::warn!("GC: {}; not talking to it", e.msg);
            None
        }
    };
    let timeout = conf.timeout().unwrap_or(DEFAULT_TIMEOUT);
    match socket.map(|s| Vswitch::connect(&s, timeout)) {
        None => {}
        Some(Ok(mut vs)) => {
            let filter = [(KEY_NETWORK, req.conf.name.as_str())];
            let stale = |p: &OurPort| {
                !valid
                    .iter()
                    .any(|a| a.container_id == p.container_id && a.ifname == p.ifname)
            };
            match remove_some(&mut vs, &filter, stale) {
                Ok(removed) => {
                    let mut file_errors = Vec::new();
                    for p in removed {
                        nfv_cni::info!(
                            "GC: removed port {} (container {} interface {})",
                            p.name,
                            p.container_id,
                            p.ifname
                        );
                        match conf.socket_files(places, &p.container_id, &p.ifname) {
                            Ok(files) => {
                                sockdir::remove(&places.socket_dirs, &files, &mut file_errors)
                            }
                            Err(e) => nfv_cni::warn!(
                                "GC: leaving the files of port {} alone: {}",
                                p.name,
                                e.msg
                            ),
                        }
                    }
                    errors.extend(
                        file_errors
                            .into_iter()
                            .map(|m| Error::new(errcode::SOCKET_DIR, m)),
                    );
                }
                Err(e) => errors.push(e),
            }
        }
        Some(Err(e)) => errors.push(e),
    }
    if let Err(e) = ipam::gc(req) {
        errors.push(e);
    }
    combine(errors)
}
