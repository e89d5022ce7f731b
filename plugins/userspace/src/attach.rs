//! ADD: the port in one OVSDB transaction and ovs-vswitchd's answer, then the socket
//! directory, the pod-side JSON and the device-info file. Any failure rolls back (the port,
//! the files, the IPAM lease).

use nfv_cni::result::Interface;
use nfv_cni::{code, ipam, Error, Request, Success};
use nfv_plugin::{Cause, Failure, Failures};

use crate::codes::{self, from_ovsdb};
use crate::config::{pod_mac, Plan, UserspaceConf};
use crate::configdata;
use crate::crash::crash_point;
use crate::detach::remove_ports;
use crate::places::Places;
use crate::podvolume;
use crate::ports;
use crate::sockdir;
use crate::vswitch::Vswitch;

/// `runtimeConfig.CNIDeviceInfoFile` for ADD: a file in the device-info tree, else code 7
/// before anything changes; whether ADD writes it or finds it there and keeps it (§5.1.2).
fn device_info_file(req: &Request) -> Result<Option<nfv_devinfo::AtAdd>, Error> {
    let place = nfv_devinfo::place();
    let path = nfv_devinfo::requested_path(&req.conf.runtime_config, &place)?;
    Ok(nfv_devinfo::AtAdd::decide(&place, path)?)
}

pub fn add(req: &Request, places: &Places) -> Result<Success, Error> {
    let conf: UserspaceConf = req.parse_conf()?;
    let home = podvolume::home_for_add(req, &conf, places)?;
    let plan = conf.plan_at(
        places,
        &req.conf.name,
        req.container_id(),
        req.ifname(),
        true,
        &home,
    )?;
    // Both checked by `plan` for ADD; taken again here as values, not options.
    let files = conf.socket_files_at(places, req.container_id(), req.ifname(), &home)?;
    let ovsdb_socket = conf.ovsdb_socket(places)?;
    let mac = pod_mac(req.conf.runtime("mac"), &plan)?;
    let device_info = device_info_file(req)?;
    let mut vs = Vswitch::connect(&ovsdb_socket, plan.timeout)?;
    let (bridges, existing) = vs.read(&ports::attachment_filter(&plan))?;
    if let Some(p) = existing.first() {
        return Err(Error::new(
            codes::EXISTS,
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
    let (socket_dir, created_dir) = sockdir::create(places, &files, plan.group.as_deref())?;
    crash_point("after-socket-dir");
    let attached = attach_port(&mut vs, &plan, &mac, bridges).and_then(|()| {
        if plan.memif.is_some() {
            // OVS's memif server makes its socket in the pod's directory as it attaches.
            sockdir::share_memif_socket(
                &socket_dir,
                &plan.port,
                plan.group.as_deref(),
                plan.timeout,
            )?;
            crash_point("after-memif-socket");
        }
        if plan.moves_server_socket() {
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
        let sandbox = req.netns().map(|p| p.to_string_lossy().into_owned());
        let data = configdata::for_pod(
            &conf,
            &plan,
            &mac,
            sandbox,
            lease.as_ref().map(|l| l.result()),
        )?;
        sockdir::write_config_data(&socket_dir, &files, &configdata::encode(&data)?)?;
        crash_point("after-pod-json");
        if let Some(path) = device_info.as_ref().and_then(|d| d.written()) {
            sockdir::write_device_info(&nfv_devinfo::place(), path, &plan)?;
        }
        crash_point("after-device-info");
        Ok(())
    });
    if let Err(e) = attached {
        nfv_cni::warn!("ADD failed, rolling back: {e}");
        let mut errors = Failures::new();
        let filter = ports::attachment_filter(&plan);
        // The failure may have broken the connection (a timeout mid-reply): retry on a new one.
        let removed = remove_ports(&mut vs, &filter).or_else(|first| {
            nfv_cni::debug!("rollback on the same connection failed ({first}), reconnecting");
            let mut fresh = Vswitch::connect(&ovsdb_socket, plan.timeout)?;
            remove_ports(&mut fresh, &filter)
        });
        if let Err(r) = removed {
            let later = "DEL or GC will remove it (it carries our external_ids)";
            errors.push(Failure::new(
                "removing the port",
                &plan.port,
                Cause::Then(
                    Box::new(r.into()),
                    Box::new(Failure::stated(&plan.port, later)),
                ),
            ));
        }
        // A pod volume is never removed, only what ADD put there (and the link).
        if created_dir || files.in_pod_volume() {
            drop(socket_dir);
            sockdir::remove(places, &files, &mut errors);
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
        plan.interface_type(),
        plan.socket_path.display(),
        sockdir::mode_note(&plan)
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
            codes::OVSDB,
            "ovsdb-server did not return Open_vSwitch.next_cfg",
        )
    })?;
    let applied = vs
        .wait_applied(next)
        .map_err(|e| from_ovsdb(e, "waiting for ovs-vswitchd"))?;
    if !applied {
        return Err(Error::new(
            codes::VSWITCHD,
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
        .map_err(|e| from_ovsdb(e, "reading the new port"))?;
    if let Some(err) = state.error.filter(|e| !e.is_empty()) {
        return Err(Error::new(
            codes::PORT,
            format!(
                "OVS could not create {} port {} ({}): {err}{}",
                plan.kind(),
                plan.port,
                plan.interface_type(),
                if plan.memif.is_some() {
                    " (is DPDK's memif driver, Debian's librte-net-memif23, installed where \
                     ovs-vswitchd runs?)"
                } else {
                    ""
                }
            ),
        ));
    }
    crash_point("after-vswitchd");
    Ok(())
}

fn add_error(e: nfv_ovsdb::Error, plan: &Plan) -> Error {
    match e.ovsdb_error() {
        Some("constraint violation") => Error::new(
            codes::EXISTS,
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
        _ => from_ovsdb(
            e,
            &format!("adding port {} to bridge {}", plan.port, plan.bridge),
        ),
    }
}
