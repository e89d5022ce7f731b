//! Every plugin's network configuration (input: stdin as the runtime would pass it).
//!
//! Two layers see the same bytes:
//! 1. the plugin's own parse and validate layer, called directly: what ADD, DEL and CHECK
//!    check before they touch anything (host-local also allocates, from an in-memory store);
//! 2. the whole runner protocol, `nfv_cni::dispatch`, for every verb, with a stand-in plugin
//!    that runs that same layer instead of touching the system.
//!
//! Properties: the layer is a total function (an answer, never a panic) and deterministic; a
//! refusal carries a config code (4, 6 or 7; host-local's allocation codes for its ADD);
//! sriov's and vdpa's DEL never fail on a config (what ADD refuses must not make DEL fail);
//! a device-info path that is accepted is absolute and has no `..`; host-local allocates
//! inside the right range set and never the gateway. Through the runner: stdout is empty or
//! exactly one JSON document; a failure is an error JSON in a version we speak with a spec or
//! plugin code, never 100 (a panic); an ADD result reads back as a result.

use std::collections::HashMap;
use std::path::Component;

use ipnetwork::IpNetwork;
use nfv_cni::config::parse_json;
use nfv_cni::env::{self, Env};
use nfv_cni::result::{Interface, IpConfig};
use nfv_cni::{code, dispatch, Command, Error, NetConf, Outcome, Plugin, Request, Success};
use nfv_hostlocal::{allocate, IpamConfig, MemoryStore, Owner};
use serde_json::Value;

const CONTAINER_ID: &str = "fuzz0123456789abcdef";
const IFNAME: &str = "net1";
/// Never a real namespace or plugin directory: nothing here may be reached anyway.
const NETNS: &str = "/run/netns/nfv-fuzz-absent";
const CNI_PATH: &str = "/nonexistent/nfv-fuzz/cni-bin";
const CNI_ARGS: &str = "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=pod";

/// Which plugin's layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sriov,
    Vdpa,
    Userspace,
    HostLocal,
}

pub fn sriov(data: &[u8]) {
    run(Kind::Sriov, data);
}

pub fn vdpa(data: &[u8]) {
    run(Kind::Vdpa, data);
}

pub fn userspace(data: &[u8]) {
    run(Kind::Userspace, data);
}

pub fn host_local(data: &[u8]) {
    run(Kind::HostLocal, data);
}

const VERBS: [Command; 5] = [
    Command::Add,
    Command::Del,
    Command::Check,
    Command::Gc,
    Command::Status,
];

fn run(kind: Kind, data: &[u8]) {
    // 1. The layer itself, on the raw bytes.
    for verb in VERBS {
        // Bytes that are no JSON document never get past the runner (layer 2 checks that);
        // the layer sees them as the null document, a config of the wrong shape.
        let doc: Value = parse_json(data, "network configuration").unwrap_or_default();
        let req = Request {
            env: environment(verb),
            conf: NetConf::from_document(&doc).unwrap_or_default(),
            doc,
            stdin: data.to_vec(),
        };
        let first = layer(kind, &req, verb);
        let again = layer(kind, &req, verb);
        assert_eq!(first, again, "{kind:?} {verb:?}: not deterministic");
        match &first {
            Ok(Some(s)) => check_success(kind, s),
            Ok(None) => {}
            Err(e) => check_refusal(kind, verb, e),
        }
    }
    // 2. The runner. A logFile would make it open a file the input names: never here.
    let stdin = quiet(data);
    for verb in VERBS {
        let vars = env_vars(verb);
        let lookup = |k: &str| vars.get(k).cloned();
        let out = dispatch(&StandIn(kind), "", &lookup, &mut stdin.as_slice());
        check_outcome(kind, verb, &out);
    }
}

fn env_vars(verb: Command) -> HashMap<String, String> {
    [
        ("CNI_COMMAND", verb.as_str()),
        ("CNI_CONTAINERID", CONTAINER_ID),
        ("CNI_NETNS", NETNS),
        ("CNI_IFNAME", IFNAME),
        ("CNI_PATH", CNI_PATH),
        ("CNI_ARGS", CNI_ARGS),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn environment(verb: Command) -> Env {
    let vars = env_vars(verb);
    env::from_lookup(&|k| vars.get(k).cloned()).expect("the fixed environment is valid")
}

/// The input without `logFile` and with a valid `logLevel` turned down to errors (so the
/// runner neither opens a file nor floods stderr); bytes that are no JSON object pass as they
/// are, since the runner refuses those before it sets up logging.
fn quiet(data: &[u8]) -> Vec<u8> {
    let Ok(Value::Object(mut m)) = serde_json::from_slice::<Value>(data) else {
        return data.to_vec();
    };
    m.remove("logFile");
    if let Some(Value::String(l)) = m.get("logLevel") {
        if nfv_cni::log::Level::parse(l).is_ok() {
            m.insert("logLevel".into(), "error".into());
        }
    }
    serde_json::to_vec(&Value::Object(m)).expect("a JSON value serializes")
}

/// The parse and validate layer of `kind` for `verb`, as far as it runs without the system.
/// ADD returns the result it would build from what it validated.
fn layer(kind: Kind, req: &Request, verb: Command) -> Result<Option<Success>, Error> {
    if verb == Command::Check {
        req.prev_result()?;
    }
    match kind {
        Kind::Sriov => match verb {
            Command::Add | Command::Check => {
                let conf: sriov::config::SriovConf = req.parse_conf()?;
                let plan = sriov::config::plan(&conf, &req.env.args)?;
                accepted_devinfo(&nfv_devinfo::requested_path(
                    &conf.runtime_config,
                    &nfv_devinfo::place(),
                )?);
                Ok(Some(stand_in_result(req, plan.mac.map(|m| m.to_string()))))
            }
            // DEL without a record reads what it can of the config and never fails on it;
            // GC and STATUS read nothing of it.
            _ => {
                if let Ok(conf) = req.parse_conf::<sriov::config::SriovConf>() {
                    let _ = sriov::config::device(&conf);
                    let _ =
                        nfv_devinfo::requested_path(&conf.runtime_config, &nfv_devinfo::place());
                }
                Ok(None)
            }
        },
        Kind::Vdpa => match verb {
            Command::Add | Command::Check => {
                let conf: nfv_vdpa::config::VdpaConf = req.parse_conf()?;
                let plan = nfv_vdpa::config::plan(&conf, &req.env.args)?;
                accepted_devinfo(&plan.device_info_file);
                Ok(Some(stand_in_result(req, plan.mac.map(|m| m.to_string()))))
            }
            _ => {
                if let Ok(conf) = req.parse_conf::<nfv_vdpa::config::VdpaConf>() {
                    let _ = nfv_vdpa::config::plan(&conf, &req.env.args);
                    let _ =
                        nfv_devinfo::requested_path(&conf.runtime_config, &nfv_devinfo::place());
                }
                Ok(None)
            }
        },
        Kind::Userspace => {
            let conf: userspace::config::UserspaceConf = req.parse_conf()?;
            let places = userspace::places::Places::node();
            let (socket, _timeout) = conf.endpoint(&places)?;
            assert!(socket.is_absolute(), "ovsdbSocket {socket:?} accepted");
            let name = &req.conf.name;
            match verb {
                Command::Add => {
                    let plan = conf.plan(&places, name, req.container_id(), req.ifname(), true)?;
                    let mac = userspace::config::pod_mac(req.conf.runtime("mac"), &plan)?;
                    accepted_devinfo(&nfv_devinfo::requested_path(
                        &req.conf.runtime_config,
                        &nfv_devinfo::place(),
                    )?);
                    assert!(
                        plan.socket_path.starts_with(&plan.socket_dir)
                            && plan.socket_path.as_os_str().len() < userspace::config::SUN_PATH_MAX,
                        "socket path {:?} accepted for ADD",
                        plan.socket_path
                    );
                    Ok(Some(stand_in_result(req, Some(mac))))
                }
                Command::Check => {
                    conf.plan(&places, name, req.container_id(), req.ifname(), false)?;
                    Ok(None)
                }
                Command::Del => {
                    let _ = conf.plan(&places, name, req.container_id(), req.ifname(), false);
                    Ok(None)
                }
                _ => Ok(None),
            }
        }
        Kind::HostLocal => {
            let conf =
                IpamConfig::load(&req.doc, &req.env.args.0).map_err(host_local::config_error)?;
            if verb != Command::Add {
                return Ok(None);
            }
            Ok(Some(host_local_add(req, &conf)?))
        }
    }
}

/// host-local's ADD against an empty in-memory store: every address inside its range set,
/// never a gateway, every requested address granted.
fn host_local_add(req: &Request, conf: &IpamConfig) -> Result<Success, Error> {
    let mut store = MemoryStore::default();
    let owner = Owner::new(req.container_id(), req.ifname());
    let allocated = allocate(&mut store, &conf.range_sets, &owner, &conf.requested)
        .map_err(host_local::alloc_error)?;
    assert_eq!(
        allocated.len(),
        conf.range_sets.len(),
        "one address per set"
    );
    for a in &allocated {
        let set = &conf.range_sets[a.set_index];
        let range = set.range_for(a.ip).expect("allocated inside its set");
        assert_ne!(a.ip, range.gateway, "allocated the gateway");
        assert_eq!(a.prefix, range.prefix);
    }
    for ip in &conf.requested {
        assert!(
            allocated.iter().any(|a| a.ip == *ip),
            "requested {ip} not granted"
        );
    }
    let ips = allocated
        .iter()
        .map(|a| {
            let address = IpNetwork::new(a.ip, a.prefix)
                .unwrap_or_else(|e| panic!("{}/{}: {e}", a.ip, a.prefix));
            IpConfig {
                address,
                gateway: Some(a.gateway),
                interface: None,
            }
        })
        .collect();
    Ok(Success {
        cni_version: req.cni_version().to_string(),
        ips,
        ..Success::default()
    })
}

/// What the stand-in's ADD returns: the pod interface and one address, so that every
/// version can print it.
fn stand_in_result(req: &Request, mac: Option<String>) -> Success {
    Success {
        cni_version: req.cni_version().to_string(),
        interfaces: vec![Interface {
            name: req.ifname().to_string(),
            mac,
            sandbox: Some(NETNS.to_string()),
            ..Interface::default()
        }],
        ips: vec![IpConfig {
            address: "10.1.2.3/24".parse().expect("a fixed address"),
            gateway: None,
            interface: Some(0),
        }],
        ..Success::default()
    }
}

fn accepted_devinfo(path: &Option<std::path::PathBuf>) {
    if let Some(p) = path {
        assert!(
            p.is_absolute() && !p.components().any(|c| c == Component::ParentDir),
            "device-info path {p:?} accepted"
        );
    }
}

fn check_success(kind: Kind, s: &Success) {
    if kind == Kind::HostLocal {
        assert!(s.interfaces.is_empty());
    }
}

fn check_refusal(kind: Kind, verb: Command, e: &Error) {
    assert!(
        !e.msg.is_empty(),
        "{kind:?} {verb:?}: an error without a message"
    );
    let config_codes = [code::INVALID_ENV, code::DECODE, code::INVALID_CONFIG];
    let mut allowed = config_codes.to_vec();
    if kind == Kind::HostLocal && verb == Command::Add {
        allowed.extend([
            host_local::RANGE_EXHAUSTED,
            host_local::REQUESTED_IP_UNAVAILABLE,
            host_local::DUPLICATE_ALLOCATION,
        ]);
    }
    if verb == Command::Check {
        // prevResult in a version we do not implement.
        allowed.push(code::INCOMPATIBLE_VERSION);
    }
    assert!(
        allowed.contains(&e.code),
        "{kind:?} {verb:?}: refused with code {}: {}",
        e.code,
        e.msg
    );
    assert!(
        !(matches!(kind, Kind::Sriov | Kind::Vdpa)
            && verb != Command::Add
            && verb != Command::Check),
        "{kind:?} {verb:?} failed on the config: {e}"
    );
}

/// The runner's output for one verb.
fn check_outcome(kind: Kind, verb: Command, out: &Outcome) {
    let what = format!("{kind:?} {verb:?}");
    if out.stdout.is_empty() {
        assert_eq!(out.exit_code, 0, "{what}: failed without an error JSON");
        assert_ne!(verb, Command::Add, "{what}: ADD succeeded without a result");
        return;
    }
    assert_eq!(
        out.stdout.last(),
        Some(&b'\n'),
        "{what}: stdout ends in a newline"
    );
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{what}: stdout is not one JSON document: {e}"));
    let version = v["cniVersion"].as_str().unwrap_or_default();
    assert!(
        nfv_cni::version::is_supported(version),
        "{what}: printed in cniVersion {version:?}"
    );
    if out.exit_code == 0 {
        assert_eq!(verb, Command::Add, "{what}: printed on success: {v}");
        Success::from_value(&v)
            .unwrap_or_else(|e| panic!("{what}: result does not read back: {e}"));
        return;
    }
    assert_eq!(out.exit_code, 1, "{what}");
    let code = v["code"].as_u64().expect("an error has a code");
    assert!(
        v["msg"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: error without msg: {v}"
    );
    let spec = [1, 2, 3, 4, 5, 6, 7];
    let host_local_codes = [110, 111, 112];
    let ok = spec.contains(&code)
        || (kind == Kind::HostLocal && verb == Command::Add && host_local_codes.contains(&code));
    assert!(ok, "{what}: error code {code}: {v}");
    assert_ne!(code, u64::from(code::PANIC), "{what}: panicked: {v}");
}

/// The runner's view of a plugin: the layer above, nothing else.
struct StandIn(Kind);

impl Plugin for StandIn {
    fn add(&self, req: &Request) -> Result<Success, Error> {
        let s = layer(self.0, req, Command::Add)?;
        Ok(s.expect("ADD of the layer returns a result"))
    }

    fn del(&self, req: &Request) -> Result<(), Error> {
        layer(self.0, req, Command::Del).map(|_| ())
    }

    fn check(&self, req: &Request) -> Result<(), Error> {
        layer(self.0, req, Command::Check).map(|_| ())
    }

    fn gc(&self, req: &Request) -> Result<(), Error> {
        layer(self.0, req, Command::Gc).map(|_| ())
    }

    fn status(&self, req: &Request) -> Result<(), Error> {
        layer(self.0, req, Command::Status).map(|_| ())
    }
}
