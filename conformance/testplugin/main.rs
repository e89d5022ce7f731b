//! nfv-test-veth: a minimal main plugin for the conformance suites, never installed.
//!
//! It gives the black-box tiers something real to attach before the production plugins land,
//! and a main plugin for libcni chains (the reference `tuning` needs an interface to tune).
//! ADD creates a veth pair with the container end in CNI_NETNS as CNI_IFNAME, delegates IPAM
//! through the runner (rolled back if anything later fails), sets addresses and routes, and
//! returns the result; DEL removes the pair and releases IPAM, succeeding when things are
//! already gone; CHECK compares the namespace with prevResult and forwards CHECK to IPAM.
//!
//! It drives iproute2 rather than the project's netlink crate on purpose: a fixture that shares
//! no kernel code with the plugins under test cannot hide their bugs.
//!
//! Test-only config keys: `mtu`; `recordStdin` (a path prefix; each call writes the stdin
//! and CNI_ARGS it got to `<prefix>.<verb>`, so a test can see what the runtime passed);
//! `panicAfterIpam` (panic with an IPAM lease and a veth pair held).

mod iproute;

use iproute::{Link, VethPair};
use nfv_cni::result::Interface;
use nfv_cni::{ipam, Error, Plugin, Request, Success};
use nfv_conformance::fixture::host_veth_name;
use serde::Deserialize;
use std::path::PathBuf;

/// CNI_IFNAME already exists in the namespace.
const IFACE_EXISTS: u32 = 110;
/// CHECK found the namespace different from prevResult.
const CHECK_MISMATCH: u32 = 112;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VethConf {
    #[serde(default)]
    mtu: Option<u32>,
    #[serde(default)]
    record_stdin: Option<PathBuf>,
    /// Panic once IPAM and the veth pair exist: the runner must report code 100 and the
    /// unwinding must release both.
    #[serde(default)]
    panic_after_ipam: bool,
}

#[derive(Debug)]
struct TestVeth;

fn main() {
    nfv_cni::run(
        &TestVeth,
        "nfv-test-veth: conformance fixture (veth pair + delegated IPAM)",
    )
}

fn record(conf: &VethConf, req: &Request) -> Result<(), Error> {
    let Some(prefix) = &conf.record_stdin else {
        return Ok(());
    };
    let stdin = req.doc.clone();
    let args: Vec<String> = req
        .env
        .args
        .0
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let doc = serde_json::json!({"stdin": stdin, "cniArgs": args.join(";")});
    let path = format!(
        "{}.{}",
        prefix.display(),
        req.env.command.as_str().to_lowercase()
    );
    std::fs::write(&path, doc.to_string())
        .map_err(|e| Error::io(format!("recordStdin {path}: {e}")))
}

impl Plugin for TestVeth {
    fn add(&self, req: &Request) -> Result<Success, Error> {
        let conf: VethConf = req.parse_conf()?;
        record(&conf, req)?;
        let netns = req
            .netns()
            .ok_or_else(|| Error::invalid_config("CNI_NETNS is required"))?;
        let ifname = req.ifname();
        let container = Link::in_netns(netns, ifname);
        if container.exists()? {
            return Err(Error::new(
                IFACE_EXISTS,
                format!("interface {ifname} already exists in {}", netns.display()),
            )
            .with_details("pick another CNI_IFNAME or DEL the previous attachment"));
        }
        let lease = if ipam::configured(req) {
            Some(ipam::add(req)?)
        } else {
            None
        };
        let host = host_veth_name(req.container_id(), ifname);
        let pair = VethPair::create(&host, netns, ifname, conf.mtu)?;
        if conf.panic_after_ipam {
            panic!("panicAfterIpam is set: exercising the runner's panic handling");
        }

        let mut result = lease
            .as_ref()
            .map(|l| l.result().clone())
            .unwrap_or_default();
        for ip in &mut result.ips {
            ip.interface = Some(1);
            container.add_address(&ip.address.to_string())?;
        }
        container.up()?;
        pair.host().up()?;
        for route in &result.routes {
            let gw = route.gw.or_else(|| {
                result
                    .ips
                    .iter()
                    .find(|ip| ip.address.is_ipv4() == route.dst.is_ipv4())
                    .and_then(|ip| ip.gateway)
            });
            container.add_route(&route.dst.to_string(), gw.map(|g| g.to_string()).as_deref())?;
        }
        result.interfaces = vec![
            Interface {
                name: host.clone(),
                mac: Some(pair.host().mac()?),
                mtu: conf.mtu,
                ..Default::default()
            },
            Interface {
                name: ifname.to_owned(),
                mac: Some(container.mac()?),
                mtu: conf.mtu,
                sandbox: Some(netns.display().to_string()),
                ..Default::default()
            },
        ];
        pair.keep();
        if let Some(lease) = lease {
            lease.commit();
        }
        Ok(result)
    }

    fn del(&self, req: &Request) -> Result<(), Error> {
        let conf: VethConf = req.parse_conf()?;
        record(&conf, req)?;
        // Teardown keeps going: remove the link, release IPAM, then report every failure.
        let mut failures = Vec::new();
        let host = Link::in_host(&host_veth_name(req.container_id(), req.ifname()));
        if let Err(e) = host.delete_if_present() {
            failures.push(e);
        }
        if let Err(e) = ipam::del(req) {
            failures.push(e);
        }
        match failures.len() {
            0 => Ok(()),
            1 => Err(failures.remove(0)),
            _ => {
                let msgs: Vec<String> = failures.iter().map(|e| e.msg.clone()).collect();
                Err(Error {
                    msg: msgs.join("; "),
                    ..failures.remove(0)
                })
            }
        }
    }

    fn check(&self, req: &Request) -> Result<(), Error> {
        let conf: VethConf = req.parse_conf()?;
        record(&conf, req)?;
        let netns = req
            .netns()
            .ok_or_else(|| Error::invalid_config("CNI_NETNS is required"))?;
        let prev = req.prev_result()?.ok_or_else(|| {
            Error::invalid_config(
                "CHECK needs prevResult: the runtime passes the cached ADD result",
            )
        })?;
        let ifname = req.ifname();
        let idx = prev.container_interface(ifname).ok_or_else(|| {
            Error::new(
                CHECK_MISMATCH,
                format!("prevResult has no interface {ifname} in a sandbox"),
            )
        })?;
        let link = Link::in_netns(netns, ifname);
        if !link.exists()? {
            return Err(Error::new(
                CHECK_MISMATCH,
                format!("interface {ifname} is missing from {}", netns.display()),
            ));
        }
        let want_mac = prev.interfaces[idx].mac.as_deref().unwrap_or_default();
        let have_mac = link.mac()?;
        if !want_mac.is_empty() && !want_mac.eq_ignore_ascii_case(&have_mac) {
            return Err(Error::new(
                CHECK_MISMATCH,
                format!("{ifname} has MAC {have_mac}, prevResult says {want_mac}"),
            ));
        }
        let have = link.addresses()?;
        for ip in prev.ips.iter().filter(|ip| ip.interface == Some(idx)) {
            let want = ip.address.to_string();
            if !have.contains(&want) {
                return Err(Error::new(
                    CHECK_MISMATCH,
                    format!("{ifname} lacks address {want} (has {have:?})"),
                ));
            }
        }
        ipam::check(req)
    }

    fn gc(&self, req: &Request) -> Result<(), Error> {
        ipam::gc(req)
    }

    fn status(&self, req: &Request) -> Result<(), Error> {
        ipam::status(req)
    }
}
