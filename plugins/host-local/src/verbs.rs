//! ADD, DEL, CHECK, GC and STATUS.

use crate::codes::{alloc_error, config_error, store_error, LEASE_MISMATCH};
use ipnetwork::IpNetwork;
use nfv_cni::result::{Dns, IpConfig, Route};
use nfv_cni::{code, Error, Plugin, Request, Success};
use nfv_hostlocal::crash::crash_point;
use nfv_hostlocal::gc::{LeaseVerdict, ValidOwners};
use nfv_hostlocal::resolv::ResolvConf;
use nfv_hostlocal::store::LeaseStore;
use nfv_hostlocal::{allocate, release, DiskStore, IpamConfig, Owner};

/// The plugin.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostLocal;

/// The validated configuration of this invocation, from stdin as the runner parsed it.
fn load(req: &Request) -> Result<IpamConfig, Error> {
    IpamConfig::load(&req.doc, &req.env.args.0).map_err(config_error)
}

/// `resolvConf` is read whole into the result. 64 KiB is some fifty times the largest real
/// resolv.conf we know (glibc uses 3 nameservers and a search list of at most 256 characters;
/// systemd-resolved's stub file is about 1 KiB), and small enough that the result stays small.
const RESOLV_CONF_MAX: u64 = 64 << 10;

fn open(conf: &IpamConfig) -> Result<DiskStore, Error> {
    let mut store = DiskStore::open(&conf.data_dir, &conf.name).map_err(|e| store_error(&e))?;
    log_notes(&mut store);
    Ok(store)
}

/// DEL and GC: a lease directory we refuse to reach (a symlink or a non-directory on the
/// way, a malformed dataDir) holds nothing of ours, because ADD refuses it too: nothing to
/// release, and teardown must not fail over a value ADD refused. `None` then.
fn open_for_teardown(conf: &IpamConfig, verb: &str) -> Result<Option<DiskStore>, Error> {
    match DiskStore::open(&conf.data_dir, &conf.name) {
        Ok(mut store) => {
            log_notes(&mut store);
            Ok(Some(store))
        }
        Err(e) if e.is_refused_place() => {
            nfv_cni::warn!("host-local {verb}: nothing to release, the leases cannot be where the config points: {e}");
            Ok(None)
        }
        Err(e) => Err(store_error(&e)),
    }
}

fn log_notes(store: &mut DiskStore) {
    for note in store.take_notes() {
        nfv_cni::warn!("host-local: {note}");
    }
}

/// Save the index and unlock. The leases are already on disk: a failure here only means the
/// next run rebuilds the index, so it is logged, not reported.
fn finish(mut store: DiskStore) {
    log_notes(&mut store);
    if let Err(e) = store.finish() {
        nfv_cni::warn!(
            "host-local: could not save the lease index (the next run rebuilds it): {e}"
        );
    }
}

fn owner(req: &Request) -> Owner {
    Owner::new(req.container_id(), req.ifname())
}

fn dns(conf: &IpamConfig) -> Result<Dns, Error> {
    let Some(path) = &conf.resolv_conf else {
        return Ok(Dns::default());
    };
    // A symlink may be followed (/etc/resolv.conf often is one) but only a regular file of
    // bounded size is read: never a device, a FIFO or a directory.
    let bytes = nfv_safefs::read_regular_bounded(path, RESOLV_CONF_MAX).map_err(|e| {
        Error::new(code::IO, format!("ipam.resolvConf: {e}")).with_details(format!(
            "ipam.resolvConf must name a readable regular file of at most {RESOLV_CONF_MAX} bytes"
        ))
    })?;
    let r = ResolvConf::parse(&String::from_utf8_lossy(&bytes));
    Ok(Dns {
        nameservers: r.nameservers,
        domain: r.domain,
        search: r.search,
        options: r.options,
    })
}

fn network(ip: std::net::IpAddr, prefix: u8) -> Result<IpNetwork, Error> {
    IpNetwork::new(ip, prefix).map_err(|e| Error::internal(format!("address {ip}/{prefix}: {e}")))
}

fn routes(conf: &IpamConfig) -> Result<Vec<Route>, Error> {
    conf.routes
        .iter()
        .map(|r| {
            Ok(Route {
                dst: network(nfv_hostlocal::addr::canonical(r.dst.addr), r.dst.prefix)?,
                gw: r.gw,
                mtu: r.mtu,
                advmss: r.advmss,
                priority: r.priority,
                table: r.table,
                scope: r.scope,
            })
        })
        .collect()
}

impl Plugin for HostLocal {
    /// host-local is an IPAM plugin: its logging keys are `ipam.logLevel` and `ipam.logFile`;
    /// the top level belongs to the main plugin.
    fn is_ipam(&self) -> bool {
        true
    }

    fn add(&self, req: &Request) -> Result<Success, Error> {
        let conf = load(req)?;
        let dns = dns(&conf)?;
        let routes = routes(&conf)?;
        let mut store = open(&conf)?;
        let who = owner(req);
        let allocated = allocate(&mut store, &conf.range_sets, &who, &conf.requested)
            .map_err(alloc_error)
            .and_then(|allocated| {
                allocated
                    .iter()
                    .map(|a| {
                        Ok(IpConfig {
                            address: network(a.ip, a.prefix)?,
                            gateway: Some(a.gateway),
                            interface: None,
                        })
                    })
                    .collect::<Result<Vec<_>, Error>>()
                    .inspect_err(|_| {
                        // No result, no leases: take back what this ADD reserved.
                        release(&mut store, conf.range_sets.len(), &who);
                    })
            });
        crash_point("after-allocate", None);
        finish(store);
        let ips = allocated?;
        Ok(Success {
            cni_version: req.cni_version().to_string(),
            interfaces: Vec::new(),
            ips,
            routes,
            dns,
        })
    }

    fn del(&self, req: &Request) -> Result<(), Error> {
        let conf = load(req)?;
        let Some(mut store) = open_for_teardown(&conf, "DEL")? else {
            return Ok(());
        };
        let errors = release(&mut store, conf.range_sets.len(), &owner(req));
        finish(store);
        if errors.is_empty() {
            return Ok(());
        }
        let msg: Vec<String> = errors.iter().map(ToString::to_string).collect();
        Err(Error::new(code::IO, msg.join(";")))
    }

    fn check(&self, req: &Request) -> Result<(), Error> {
        let conf = load(req)?;
        let who = owner(req);
        let mut store = match DiskStore::open(&conf.data_dir, &conf.name) {
            Ok(store) => store,
            // ADD refuses such a place, so no lease of this attachment can be there.
            Err(e) if e.is_refused_place() => {
                return Err(Error::new(
                    LEASE_MISMATCH,
                    format!(
                        "host-local: Failed to find address added by container {}",
                        req.container_id()
                    ),
                )
                .with_details(e.to_string()))
            }
            Err(e) => return Err(store_error(&e)),
        };
        log_notes(&mut store);
        let held = store.leases_of(&who);
        finish(store);
        let held = held.map_err(|e| store_error(&e))?;
        if held.is_empty() {
            return Err(Error::new(
                LEASE_MISMATCH,
                format!(
                    "host-local: Failed to find address added by container {}",
                    req.container_id()
                ),
            ));
        }
        // Every address of prevResult that comes from our ranges must be leased to this attachment.
        if let Some(prev) = req.prev_result()? {
            for ip in prev
                .ips
                .iter()
                .map(|c| nfv_hostlocal::addr::canonical(c.address.ip()))
            {
                let ours = conf.range_sets.iter().any(|s| s.contains(ip));
                if ours && !held.contains(&ip) {
                    return Err(Error::new(
                        LEASE_MISMATCH,
                        format!(
                            "host-local: address {ip} in prevResult is not leased to container {} interface {}",
                            req.container_id(),
                            req.ifname()
                        ),
                    )
                    .with_details(format!("leased to this attachment: {held:?}")));
                }
            }
        }
        Ok(())
    }

    fn gc(&self, req: &Request) -> Result<(), Error> {
        let conf = load(req)?;
        // libcni's rule: no list (absent or null) means no attachment is valid. libcni sends
        // none when its caller passed none, after it has DELed every attachment it cached
        // (as `cnitool gc` does). The runner already folded in the misspelt
        // `cni.dev/attachments` libcni also sends.
        let valid = match &req.conf.valid_attachments {
            Some(v) => v.as_slice(),
            None => {
                nfv_cni::info!(
                    "host-local GC: no cni.dev/valid-attachments, so no attachment is valid: releasing every lease of {}",
                    conf.name
                );
                &[]
            }
        };
        let owners = ValidOwners::new(
            valid
                .iter()
                .map(|a| (a.container_id.as_str(), a.ifname.as_str())),
        );
        let Some(mut store) = open_for_teardown(&conf, "GC")? else {
            return Ok(());
        };
        let mut errors = Vec::new();
        match store.all_leases() {
            Err(e) => errors.push(e.to_string()),
            Ok(leases) => {
                for (ip, content) in leases {
                    // An empty lease is a fresh one: opening the store removes it once it is
                    // old.
                    if owners.verdict(&content) != LeaseVerdict::Release {
                        continue;
                    }
                    nfv_cni::info!("host-local GC: releasing {ip} held by {content:?}");
                    if let Err(e) = store.release(ip) {
                        errors.push(e.to_string());
                    }
                }
            }
        }
        finish(store);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::new(code::IO, errors.join(";")))
        }
    }

    fn status(&self, req: &Request) -> Result<(), Error> {
        let conf = load(req)?;
        let dir = conf.data_dir.join(&conf.name);
        let unusable = |why: String| {
            Error::new(
                code::NOT_AVAILABLE,
                format!(
                    "host-local: data directory {} is unusable: {why}",
                    dir.display()
                ),
            )
        };
        let mut store =
            DiskStore::open(&conf.data_dir, &conf.name).map_err(|e| unusable(e.to_string()))?;
        log_notes(&mut store);
        let probe = store.probe_writable().map_err(|e| e.to_string());
        let exhausted = exhausted_set(&mut store, &conf);
        finish(store);
        probe.map_err(unusable)?;
        match exhausted.map_err(|e| unusable(e.to_string()))? {
            None => Ok(()),
            Some((i, set)) => Err(Error::new(
                code::NOT_AVAILABLE,
                format!("host-local: no IP addresses available in range set {i}: {set}"),
            )),
        }
    }
}

/// The first range set without a free address, if any.
fn exhausted_set(
    store: &mut DiskStore,
    conf: &IpamConfig,
) -> Result<Option<(usize, String)>, nfv_hostlocal::StoreError> {
    let leases = store.lease_count()? as u128;
    for (i, set) in conf.range_sets.iter().enumerate() {
        // More addresses than leases in the whole network: some must be free.
        if set.usable_addresses() > leases {
            continue;
        }
        let mut free = false;
        'ranges: for r in set.ranges() {
            let mut ip = r.range_start;
            loop {
                if ip != r.gateway && !store.is_leased(ip)? {
                    free = true;
                    break 'ranges;
                }
                if ip == r.range_end {
                    break;
                }
                ip = nfv_hostlocal::addr::next(ip);
            }
        }
        if !free {
            return Ok(Some((i, set.to_string())));
        }
    }
    Ok(None)
}
