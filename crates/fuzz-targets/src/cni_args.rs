//! `CNI_ARGS`, the rest of the CNI_* environment and cniVersion strings (input: NUL-separated
//! fields: CNI_ARGS, CNI_COMMAND, CNI_CONTAINERID, CNI_IFNAME, CNI_NETNS, CNI_PATH, cniVersion;
//! a field that is not UTF-8 is an unset variable, as `std::env::var` sees it).
//!
//! Properties: CNI_ARGS parsing is total; what it accepts prints back as `K=V;...` and parses
//! to the same pairs, `get` gives the last value, and host-local (which reads CNI_ARGS again
//! from the runner's pairs) never calls such a pair malformed; an environment the runner
//! validates has a container ID and interface name that keep the reference's rules; versions
//! that parse print back to themselves; the whole runner answers any environment with an
//! error JSON in a code of the spec (or the about text when no command is set).

use std::collections::HashMap;

use nfv_cni::env::{self, matches_id_pattern};
use nfv_cni::version::{Version, SUPPORTED_VERSIONS};
use nfv_cni::{code, dispatch, CniArgs, Error, Plugin, Request, Success};
use nfv_hostlocal::{ConfigError, IpamConfig};
use serde_json::{json, Value};

use crate::chunks::fields;

const NAMES: [&str; 6] = [
    "CNI_ARGS",
    "CNI_COMMAND",
    "CNI_CONTAINERID",
    "CNI_IFNAME",
    "CNI_NETNS",
    "CNI_PATH",
];

pub fn run(data: &[u8]) {
    let parts = fields(data, NAMES.len() + 1);
    let text = |i: usize| parts.get(i).and_then(|b| std::str::from_utf8(b).ok());
    if let Some(args) = text(0) {
        cni_args(args);
    }
    if let Some(v) = text(NAMES.len()) {
        version(v);
    }
    let vars: HashMap<String, String> = NAMES
        .iter()
        .enumerate()
        .filter_map(|(i, n)| text(i).map(|v| (n.to_string(), v.to_string())))
        .collect();
    environment(&vars);
    runner(&vars, text(NAMES.len()).unwrap_or("1.1.0"));
}

fn cni_args(s: &str) {
    let parsed = match CniArgs::parse(s) {
        Ok(a) => a,
        Err(e) => {
            assert_eq!(e.code, code::INVALID_ENV, "{e}");
            return;
        }
    };
    for (k, v) in &parsed.0 {
        assert!(!k.is_empty() && !k.contains(['=', ';']), "key {k:?}");
        assert!(!v.contains(['=', ';']), "value {v:?}");
    }
    let printed: Vec<String> = parsed.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let printed = printed.join(";");
    assert_eq!(
        CniArgs::parse(&printed).unwrap(),
        parsed,
        "{printed:?} reads differently"
    );
    if let Some((k, v)) = parsed.0.last() {
        assert_eq!(parsed.get(k), Some(v.as_str()));
    }
    match parsed.ignore_unknown() {
        Ok(ignore) => {
            let only_known = parsed.0.iter().all(|(k, _)| k == "IgnoreUnknown");
            assert_eq!(parsed.ensure_known(&[]).is_ok(), ignore || only_known);
        }
        Err(e) => assert_eq!(e.code, code::INVALID_ENV),
    }
    // host-local reads the runner's pairs (plugins/host-local verbs.rs).
    let conf = json!({"cniVersion": "1.0.0", "name": "n", "ipam": {"type": "host-local", "subnet": "10.0.0.0/24"}});
    match IpamConfig::load(&conf, &parsed.0) {
        Ok(c) => assert!(c.requested.len() <= 1),
        Err(ConfigError::Args(m)) => {
            assert!(!m.starts_with("ARGS: invalid pair"), "{printed:?}: {m}")
        }
        Err(ConfigError::Invalid(_)) => {}
        Err(e @ ConfigError::Decode { .. }) => panic!("{printed:?}: {e}"),
    }
}

fn version(s: &str) {
    match Version::parse(s) {
        Ok(v) => {
            let printed = format!("{}.{}.{}", v.0, v.1, v.2);
            assert_eq!(Version::parse(&printed).unwrap(), v);
            if nfv_cni::version::is_supported(s) {
                assert_eq!(printed, s);
            }
            for other in SUPPORTED_VERSIONS {
                let o = Version::parse(other).unwrap();
                assert_eq!(v.at_least(o), v >= o);
            }
        }
        Err(e) => {
            assert_eq!(e.code, code::DECODE);
            assert!(!nfv_cni::version::is_supported(s));
        }
    }
}

fn environment(vars: &HashMap<String, String>) {
    let e = match env::from_lookup(&|k| vars.get(k).cloned()) {
        Ok(e) => e,
        Err(e) => {
            assert_eq!(e.code, code::INVALID_ENV, "{e}");
            return;
        }
    };
    match e.validate_attachment() {
        Ok(()) if e.command.is_attachment_verb() => {
            let id = e.container_id.as_deref().unwrap_or("");
            let ifname = e.ifname.as_deref().unwrap_or("");
            assert!(matches_id_pattern(id), "container ID {id:?} accepted");
            assert!(
                (1..=15).contains(&ifname.len())
                    && ifname != "."
                    && ifname != ".."
                    && !ifname.contains(['/', ':'])
                    && !ifname.chars().any(char::is_whitespace),
                "interface name {ifname:?} accepted"
            );
        }
        Ok(()) => {}
        Err(err) => assert!(
            [code::UNKNOWN_CONTAINER, code::INVALID_ENV].contains(&err.code),
            "{err}"
        ),
    }
}

struct Fixed;

impl Plugin for Fixed {
    fn add(&self, req: &Request) -> Result<Success, Error> {
        Ok(Success {
            cni_version: req.cni_version().to_string(),
            ips: vec![nfv_cni::result::IpConfig {
                address: "10.0.0.2/24".parse().unwrap(),
                gateway: None,
                interface: None,
            }],
            ..Success::default()
        })
    }

    fn del(&self, _req: &Request) -> Result<(), Error> {
        Ok(())
    }

    fn check(&self, _req: &Request) -> Result<(), Error> {
        Ok(())
    }
}

fn runner(vars: &HashMap<String, String>, cni_version: &str) {
    let stdin =
        serde_json::to_vec(&json!({"cniVersion": cni_version, "name": "net", "type": "fixed"}))
            .unwrap();
    let lookup = |k: &str| vars.get(k).cloned();
    let out = dispatch(&Fixed, "about", &lookup, &mut stdin.as_slice());
    let command = vars.get("CNI_COMMAND").filter(|c| !c.is_empty());
    if out.stdout.is_empty() {
        assert_eq!(out.exit_code, 0);
        // The about text, or a verb without output.
        assert!(command.is_none() || command.is_some_and(|c| c != "ADD" && c != "VERSION"));
        return;
    }
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    if out.exit_code == 0 {
        assert!(
            command.is_some_and(|c| c == "ADD" || c == "VERSION"),
            "printed {v} for {command:?}"
        );
        return;
    }
    let code = v["code"].as_u64().expect("an error JSON has a code");
    assert!((1..=7).contains(&code), "error code {code}: {v}");
    assert!(nfv_cni::version::is_supported(
        v["cniVersion"].as_str().unwrap_or_default()
    ));
}
