//! DEL (idempotent, keeps going) and GC: our ports go in guarded transactions (with the
//! bridges we created that become empty), then the files derived from the config and the
//! attachment's identity, never a path an OVSDB row names; IPAM is always released. ADD's
//! rollback removes its port through [`remove_ports`] too.

use std::thread;
use std::time::Duration;

use nfv_cni::{ipam, Error, Request};
use nfv_plugin::{Cause, Failure, Failures};

use crate::adopt;
use crate::codes::{self, from_ovsdb};
use crate::config::{short_id, UserspaceConf, DEFAULT_TIMEOUT};
use crate::places::Places;
use crate::podvolume;
use crate::ports::{self, OurPort, KEY_NETWORK};
use crate::sockdir;
use crate::vswitch::Vswitch;

/// DEL needs only the ovsdb socket and the attachment's identity: a config that no longer
/// validates (or never did) must not make the pod undeletable. It removes the files it derives
/// from the config and the identity, in every place ADD may have put them (the pod's volume,
/// `sharedDir`, our earlier default), never a path an OVSDB row names; a place the config
/// names outside its allowed roots is left alone, never an error. A pod the Intel
/// userspace-cni plugin attached is taken over (`adopt.rs`): its port and its files.
pub fn del(req: &Request, places: &Places) -> Result<(), Error> {
    let conf: UserspaceConf = req.parse_conf()?;
    let (cid, ifname) = (req.container_id(), req.ifname());
    let filter = [
        (KEY_NETWORK, req.conf.name.as_str()),
        (ports::KEY_CONTAINER, cid),
        (ports::KEY_IFNAME, ifname),
    ];
    let pod_uid = podvolume::pod_uid(req);
    let volume = podvolume::volume_path(pod_uid, &conf, places);
    let homes = conf.teardown_files(places, cid, ifname, volume.as_deref());
    let mut errors = Failures::new();
    let port = format!("{cid}/{ifname}");
    match conf.ovsdb_socket(places) {
        Ok(socket) => {
            let timeout = conf.timeout().unwrap_or(DEFAULT_TIMEOUT);
            match Vswitch::connect(&socket, timeout) {
                Ok(mut vs) => match remove_ports(&mut vs, &filter) {
                    // The Intel plugin never made memif ports on OVS: nothing of its to adopt.
                    Ok(removed) if removed.is_empty() && !conf.is_memif() => {
                        if let Err(e) = adopt::remove_port(
                            &mut vs,
                            &conf,
                            places,
                            &homes,
                            (cid, ifname),
                            pod_uid,
                        ) {
                            errors.push(Failure::bare(&port, e));
                        }
                    }
                    Ok(_) => {}
                    Err(e) => errors.push(Failure::bare(&port, e)),
                },
                Err(e) => errors.push(Failure::bare(&port, e)),
            }
        }
        Err(e) => nfv_cni::warn!("DEL: {}; not talking to it", e.msg),
    }
    let mut file_errors = Failures::new();
    for files in &homes {
        sockdir::remove(places, files, &mut file_errors);
    }
    if nfv_cni::env::validate_container_id(cid).is_ok()
        && nfv_cni::env::validate_ifname(ifname).is_ok()
        && !conf.is_memif()
    {
        adopt::remove_files(places, cid, ifname, pod_uid, &mut file_errors);
    }
    // No record here: only a file recognisably this attachment's (what ADD writes for the
    // plan, with the socket in any of its places) is removed; without a plan nothing can be
    // recognised.
    let plan = conf.plan(places, &req.conf.name, cid, ifname, false).ok();
    let place = nfv_devinfo::place();
    if let Some(path) = nfv_devinfo::requested_path_for_teardown(&req.conf.runtime_config, &place) {
        match &plan {
            Some(plan) => {
                let ours: Vec<_> = homes
                    .iter()
                    .map(|f| sockdir::device_info_for(plan, &f.socket_path))
                    .collect();
                sockdir::remove_device_info_of(&place, &path, &ours, &mut file_errors)
            }
            None => nfv_cni::info!(
                "device-info file {} left in place: the config does not say what ADD wrote",
                path.display()
            ),
        }
    }
    errors.extend(file_errors);
    if let Err(e) = ipam::del(req) {
        errors.push(Failure::bare(&port, e));
    }
    combine(errors)
}

/// GC removes our ports of this network whose attachment is not valid, and the files it
/// derives from the config and each port's (container ID, ifname): never a path the row names.
pub fn gc(req: &Request, places: &Places) -> Result<(), Error> {
    let conf: UserspaceConf = req.parse_conf()?;
    let valid = req.conf.valid_attachments.clone().unwrap_or_default();
    let mut errors = Failures::new();
    let network = req.conf.name.as_str();
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
            match remove_some(&mut vs, &filter, |p| {
                is_stale(&p.container_id, &p.ifname, &valid)
            }) {
                Ok(removed) => {
                    let mut file_errors = Failures::new();
                    for p in removed {
                        nfv_cni::info!(
                            "GC: removed port {} (container {} interface {})",
                            p.name,
                            p.container_id,
                            p.ifname
                        );
                        // The identity comes from the row: checked to be plain names
                        // before any path is derived from it.
                        let ids = nfv_cni::env::validate_container_id(&p.container_id)
                            .and_then(|()| nfv_cni::env::validate_ifname(&p.ifname));
                        if let Err(e) = ids {
                            nfv_cni::warn!(
                                "GC: leaving the files of port {} alone: {}",
                                p.name,
                                e.msg
                            );
                            continue;
                        }
                        // The pod's volume (its UID is not in the row) goes with the pod;
                        // the link to it is ours and goes here.
                        for files in conf.teardown_files(places, &p.container_id, &p.ifname, None) {
                            sockdir::remove(places, &files, &mut file_errors);
                        }
                        let link = places.vhost_link(short_id(&p.container_id), &p.ifname);
                        sockdir::remove_link(places, &link, &mut file_errors);
                    }
                    errors.extend(file_errors);
                }
                Err(e) => errors.push(Failure::bare(network, e)),
            }
        }
        Some(Err(e)) => errors.push(Failure::bare(network, e)),
    }
    if let Err(e) = ipam::gc(req) {
        errors.push(Failure::bare(network, e));
    }
    combine(errors)
}

/// GC's choice, as a plain function so that GC and a read-only preview (`nfvctl gc
/// --dry-run`) cannot disagree: a port of ours (of the network being collected) is stale when
/// no valid attachment has its container ID and ifname (its `nfv-cni/container-id` and
/// `nfv-cni/ifname` tags).
pub fn is_stale(container_id: &str, ifname: &str, valid: &[nfv_cni::Attachment]) -> bool {
    !valid
        .iter()
        .any(|a| a.container_id == container_id && a.ifname == ifname)
}

/// Removes our ports matching `filter` in one transaction (plus bridges we created that become
/// empty). A concurrent change makes the guarded transaction fail; re-read and retry, and on
/// the last attempt leave bridges alone. Returns the ports removed.
pub(crate) fn remove_ports(
    vs: &mut Vswitch,
    filter: &[(&str, &str)],
) -> Result<Vec<OurPort>, Error> {
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
            Err(e) => return Err(from_ovsdb(e, "removing ports")),
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

/// A failure as the CNI error it reports: a CNI error as it came (OVSDB, IPAM), a file that
/// could not be removed as code 113 with its sentence.
fn into_error(f: Failure) -> Error {
    match f.cause {
        Cause::Cni(e) if f.step.is_empty() && f.context.is_empty() => e,
        _ => Error::new(codes::SOCKET_DIR, f.to_string()),
    }
}

/// The first failure with its code, the messages of the rest after it.
fn combine(errors: Failures) -> Result<(), Error> {
    let mut it = errors.into_iter().map(into_error);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_failure_keeps_its_code_and_the_rest_follow_as_sentences() {
        assert!(combine(Failures::new()).is_ok());
        let unmount = Failure::new("unmounting /run/x", "/run/x", nix::errno::Errno::EBUSY);
        let mut all = Failures::new();
        all.push(Failure::bare(
            "c/net1",
            Error::new(110, "removing ports: refused"),
        ));
        all.push(unmount);
        all.push(Failure::bare(
            "c/net1",
            Error::new(5, "IPAM").with_details("d"),
        ));
        let e = combine(all).unwrap_err();
        assert_eq!(e.code, 110);
        assert_eq!(
            e.msg,
            format!(
                "removing ports: refused; also: unmounting /run/x: {}; IPAM",
                nix::errno::Errno::EBUSY
            )
        );
        let mut files = Failures::new();
        files.push(Failure::new(
            "unmounting /run/x",
            "/run/x",
            nix::errno::Errno::EBUSY,
        ));
        let e = combine(files).unwrap_err();
        assert_eq!(e.code, codes::SOCKET_DIR);
        assert_eq!(
            e.msg,
            format!("unmounting /run/x: {}", nix::errno::Errno::EBUSY)
        );
    }
}
