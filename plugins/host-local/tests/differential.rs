//! Differential test: our host-local and the reference (`/usr/lib/cni/host-local`, Debian's
//! containernetworking-plugins) run the same randomized operation sequences on twin data
//! directories. After every step the results must be identical (errors: same message, and a
//! code of the same meaning) and the lease directories identical byte for byte.
//!
//! Replay a failure with `HOSTLOCAL_SEED=<seed printed> cargo test -p host-local --test differential`.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ours, reference, run, seed, snapshot, Rng, Run, TempDir};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;

/// One network to exercise.
struct Scenario {
    name: &'static str,
    version: &'static str,
    /// The `ipam` section (dataDir is added per side).
    ipam: Value,
    runtime_config: Option<Value>,
    /// Addresses to request: inside and outside ranges, gateways, network addresses.
    candidates: &'static [&'static str],
    /// Addresses of the same family never go into one request (the reference picks among them
    /// in random map order).
    legacy_lease: &'static str,
}

fn scenarios(resolv: &Path) -> Vec<Scenario> {
    vec![
        Scenario {
            name: "v4-legacy-range",
            version: "1.0.0",
            ipam: json!({"type":"host-local","subnet":"10.10.0.0/28","routes":[{"dst":"0.0.0.0/0"}]}),
            runtime_config: None,
            candidates: &[
                "10.10.0.1",
                "10.10.0.0",
                "10.10.0.5",
                "10.10.0.14",
                "10.10.0.15",
                "10.99.0.1",
            ],
            legacy_lease: "10.10.0.9",
        },
        Scenario {
            name: "v6-start-end-gateway",
            version: "0.4.0",
            ipam: json!({"type":"host-local","ranges":[[{"subnet":"2001:db8:1::/124","rangeStart":"2001:db8:1::4",
                "rangeEnd":"2001:db8:1::c","gateway":"2001:db8:1::8"}]],"routes":[{"dst":"::/0","gw":"2001:db8:1::8"}]}),
            runtime_config: None,
            candidates: &[
                "2001:db8:1::4",
                "2001:db8:1::8",
                "2001:db8:1::a",
                "2001:db8:1::d",
                "2001:db8:9::1",
            ],
            legacy_lease: "2001:db8:1::6",
        },
        Scenario {
            name: "dual-stack",
            version: "1.0.0",
            ipam: json!({"type":"host-local","ranges":[[{"subnet":"10.20.0.0/29"}],[{"subnet":"fd00::/125"}]]}),
            runtime_config: None,
            candidates: &["10.20.0.3", "10.20.0.1", "fd00::5", "fd00::1", "10.21.0.1"],
            legacy_lease: "10.20.0.4",
        },
        Scenario {
            name: "multi-range-sets",
            version: "0.3.1",
            ipam: json!({"type":"host-local","ranges":[
                [{"subnet":"10.30.0.0/30"},{"subnet":"10.30.1.0/29","rangeStart":"10.30.1.3","rangeEnd":"10.30.1.5"}],
                [{"subnet":"fd01::/125"}]]}),
            runtime_config: None,
            candidates: &["10.30.0.2", "10.30.1.4", "10.30.1.6", "fd01::3", "fd01::9"],
            legacy_lease: "10.30.1.5",
        },
        Scenario {
            name: "spec-0.2.0-one-per-family",
            version: "0.2.0",
            ipam: json!({"type":"host-local","subnet":"10.40.0.0/29","ranges":[[{"subnet":"fd02::/125"}]],
                "routes":[{"dst":"0.0.0.0/0"},{"dst":"::/0"}]}),
            runtime_config: None,
            candidates: &["10.40.0.2", "fd02::2", "10.40.0.7"],
            legacy_lease: "fd02::4",
        },
        Scenario {
            name: "spec-0.1.0",
            version: "0.1.0",
            ipam: json!({"type":"host-local","subnet":"10.45.0.0/29","ranges":[[{"subnet":"fd03::/125"}]],
                "routes":[{"dst":"0.0.0.0/0","gw":"10.45.0.1"}]}),
            runtime_config: None,
            candidates: &["10.45.0.3", "fd03::3", "10.45.0.1"],
            legacy_lease: "10.45.0.5",
        },
        Scenario {
            name: "spec-0.3.0-v6-only",
            version: "0.3.0",
            ipam: json!({"type":"host-local","ranges":[[{"subnet":"fd04::/125"}],[{"subnet":"fd05::/125"}]]}),
            runtime_config: None,
            candidates: &["fd04::3", "fd05::3", "fd06::3"],
            legacy_lease: "fd05::4",
        },
        Scenario {
            name: "runtime-ip-ranges",
            version: "1.0.0",
            ipam: json!({"type":"host-local","ranges":[[{"subnet":"10.51.0.0/29"}]]}),
            runtime_config: Some(json!({"ipRanges":[[{"subnet":"10.50.0.0/29"}]]})),
            candidates: &["10.50.0.3", "10.51.0.3", "10.52.0.3"],
            legacy_lease: "10.51.0.6",
        },
        Scenario {
            name: "gateway-mid-range-dns",
            version: "1.0.0",
            ipam: json!({"type":"host-local","ranges":[[{"subnet":"10.60.0.0/29","gateway":"10.60.0.4"}]],
                "resolvConf": resolv.to_str().unwrap(),
                "routes":[{"dst":"192.168.0.0/16","gw":"10.60.0.4"}]}),
            runtime_config: None,
            candidates: &["10.60.0.4", "10.60.0.1", "10.60.0.6"],
            legacy_lease: "10.60.0.2",
        },
    ]
}

/// Configurations both plugins must refuse with the same message.
fn broken_ipams() -> Vec<Value> {
    vec![
        json!({"type":"host-local","subnet":"10.0.0.0/31"}),
        json!({"type":"host-local","subnet":"10.0.0.1/24"}),
        json!({"type":"host-local","subnet":"nope"}),
        json!({"type":"host-local","subnet":"10.0.0.0/24","rangeStart":"10.0.1.1"}),
        json!({"type":"host-local","subnet":"10.0.0.0/24","rangeStart":"10.0.0.50","rangeEnd":"10.0.0.40"}),
        json!({"type":"host-local","subnet":"10.0.0.0/24","rangeEnd":"fd00::1"}),
        json!({"type":"host-local","subnet":"10.0.0.0/24","gateway":"x.y"}),
        json!({"type":"host-local","ranges":[[{"subnet":"10.0.0.0/24"}],[{"subnet":"10.0.0.0/25"}]]}),
        json!({"type":"host-local","ranges":[[{"subnet":"10.0.0.0/24"},{"subnet":"fd00::/64"}]]}),
        json!({"type":"host-local","ranges":[[{"subnet":"10.0.0.0/24"},{"subnet":"10.0.0.128/25"}]]}),
        json!({"type":"host-local","ranges":[[]]}),
        json!({"type":"host-local","ranges":[[{"rangeStart":"10.0.0.1"}]]}),
        json!({"type":"host-local"}),
        json!({"type":"host-local","subnet":"2001:db8::/127"}),
    ]
}

/// The codes of ours that mean what the reference's error means. The reference reports every
/// failure of its own as 999; ours has a code per kind (see the plugin README).
fn codes_meaning(reference: &Run) -> Vec<u64> {
    let code = reference.code().unwrap_or(0);
    if code != 999 {
        return vec![code];
    }
    let m = reference.msg();
    if m.contains("no IP addresses available") {
        vec![110]
    } else if m.contains("duplicate allocation") {
        vec![112]
    } else if m.contains("requested") {
        vec![111]
    } else if m.contains("Failed to find address") {
        vec![113]
    } else if m.starts_with("ARGS:") {
        vec![4]
    } else {
        vec![6, 7]
    }
}

struct Side<'a> {
    bin: &'a Path,
    data: std::path::PathBuf,
}

fn config(s: &Scenario, data: &Path, net: &str, ipam: &Value, extra: &[(&str, Value)]) -> String {
    let mut ipam = ipam.clone();
    ipam["dataDir"] = json!(data.to_str().unwrap());
    let mut c = json!({"cniVersion": s.version, "name": net, "type": "host-local", "ipam": ipam});
    if let Some(rc) = &s.runtime_config {
        c["runtimeConfig"] = rc.clone();
    }
    for (k, v) in extra {
        if *k == "runtimeConfig" && c.get("runtimeConfig").is_some() {
            for (rk, rv) in v.as_object().unwrap() {
                c["runtimeConfig"][rk] = rv.clone();
            }
        } else {
            c[*k] = v.clone();
        }
    }
    c.to_string()
}

/// One CNI call, made on both sides.
struct Op<'a> {
    verb: &'a str,
    id: &'a str,
    ifname: &'a str,
    args: &'a str,
    ipam: &'a Value,
    extra: &'a [(&'a str, Value)],
}

/// Run `op` with both plugins and assert they agree on the result and the directory.
fn compare(
    sides: &[Side],
    s: &Scenario,
    net: &str,
    op: Op,
    where_: impl Fn() -> String,
) -> (Run, Run) {
    let runs: Vec<Run> = sides
        .iter()
        .map(|side| {
            run(
                side.bin,
                op.verb,
                op.id,
                op.ifname,
                op.args,
                &config(s, &side.data, net, op.ipam, op.extra),
            )
        })
        .collect();
    let (r, o) = (&runs[0], &runs[1]);
    let dirs: Vec<_> = sides
        .iter()
        .map(|side| snapshot(&side.data.join(net)))
        .collect();
    let context = || {
        format!(
            "{}: {} {}/{} CNI_ARGS={:?} ipam={} extra={:?}\n\
             reference: {}{}\nours: {}{}\nreference dir: {:?}\nours dir: {:?}",
            where_(),
            op.verb,
            op.id,
            op.ifname,
            op.args,
            op.ipam,
            op.extra,
            r.stdout,
            r.stderr,
            o.stdout,
            o.stderr,
            dirs[0],
            dirs[1]
        )
    };
    assert_eq!(r.ok, o.ok, "success differs: {}", context());
    if r.ok {
        if op.verb == "ADD" {
            assert_eq!(r.json, o.json, "results differ: {}", context());
        } else {
            assert_eq!(r.stdout.trim(), o.stdout.trim(), "{}", context());
        }
    } else {
        assert_eq!(r.msg(), o.msg(), "error messages differ: {}", context());
        let want = codes_meaning(r);
        assert!(
            o.code().is_some_and(|c| want.contains(&c)),
            "error code {:?} does not mean what the reference's {:?} means (want one of {want:?}): {}",
            o.code(),
            r.code(),
            context()
        );
    }
    assert_eq!(dirs[0], dirs[1], "data directories differ: {}", context());
    (runs[0].clone(), runs[1].clone())
}

#[test]
fn ours_and_the_reference_agree_on_random_operation_sequences() {
    let reference = reference();
    let ours = ours();
    let seed = seed();
    let tmp = TempDir::new("differential");
    let resolv = tmp.0.join("resolv.conf");
    std::fs::write(
        &resolv,
        "nameserver 10.60.0.53\nsearch pod.example svc.example\noptions ndots:3\n",
    )
    .unwrap();
    let sides = [
        Side {
            bin: &reference,
            data: tmp.0.join("reference"),
        },
        Side {
            bin: &ours,
            data: tmp.0.join("ours"),
        },
    ];
    let ids = ["a1", "b2", "c3", "d4", "e5", "f6", "g7", "h8", "legacy1"];
    let unknown_ids = ["zz9", "never-seen"];
    let ifnames = ["eth0", "net1"];
    let mut rng = Rng::new(seed);
    let mut total = 0;
    let mut errors_seen = 0;
    let mut exhausted_seen = 0;

    for s in scenarios(&resolv) {
        let net = format!("diff-{}", s.name);
        for side in &sides {
            // A lease written by an old version (container ID only), which DEL must also release.
            let dir = side.data.join(&net);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(s.legacy_lease), "legacy1").unwrap();
        }
        // The last ADD result per attachment, for CHECK's prevResult.
        let mut last_result: HashMap<(String, String), Value> = HashMap::new();
        for step in 0..80 {
            if step % 10 == 5 {
                // Bring the legacy lease back when its address is free on both sides, so the
                // release passes that fall back to ID-only leases keep being exercised.
                let paths: Vec<_> = sides
                    .iter()
                    .map(|side| side.data.join(&net).join(s.legacy_lease))
                    .collect();
                if paths.iter().all(|p| !p.exists()) {
                    for p in &paths {
                        std::fs::write(p, "legacy1").unwrap();
                    }
                }
            }
            let id = if rng.chance(15) {
                *rng.pick(&unknown_ids)
            } else if rng.chance(20) {
                "legacy1"
            } else {
                *rng.pick(&ids)
            };
            let ifname = *rng.pick(&ifnames);
            let roll = rng.below(100);
            let mut args = String::new();
            let mut extra: Vec<(&str, Value)> = Vec::new();
            let mut ipam = s.ipam.clone();
            let check_allowed = matches!(s.version, "0.4.0" | "1.0.0");
            let verb = if roll < 45 {
                if rng.chance(35) {
                    let ip = *rng.pick(s.candidates);
                    match rng.below(4) {
                        0 => args = format!("IP={ip}"),
                        1 => args = format!("IgnoreUnknown=1;K8S_POD_NAME=p;IP={ip}"),
                        2 => extra.push(("args", json!({"cni": {"ips": [ip]}}))),
                        _ => extra.push(("runtimeConfig", json!({"ips": [format!("{ip}/24")]}))),
                    }
                }
                "ADD"
            } else if roll < 80 {
                "DEL"
            } else if roll < 90 && check_allowed {
                if let Some(prev) = last_result.get(&(id.to_string(), ifname.to_string())) {
                    if rng.chance(70) {
                        extra.push(("prevResult", prev.clone()));
                    }
                }
                "CHECK"
            } else if roll < 95 {
                args = "K8S_POD_NAME=p".into();
                "ADD"
            } else {
                ipam = rng.pick(&broken_ipams()).clone();
                if rng.chance(50) {
                    "ADD"
                } else {
                    "DEL"
                }
            };

            let (r, _) = compare(
                &sides,
                &s,
                &net,
                Op {
                    verb,
                    id,
                    ifname,
                    args: &args,
                    ipam: &ipam,
                    extra: &extra,
                },
                || format!("seed {seed} scenario {} step {step}", s.name),
            );
            if r.ok {
                if verb == "ADD" {
                    last_result.insert(
                        (id.to_string(), ifname.to_string()),
                        r.json.clone().unwrap_or(Value::Null),
                    );
                } else if verb == "DEL" {
                    last_result.remove(&(id.to_string(), ifname.to_string()));
                }
            } else {
                errors_seen += 1;
                if r.msg().contains("no IP addresses available") {
                    exhausted_seen += 1;
                }
            }
            total += 1;
        }
    }
    assert!(total >= 500, "only {total} operations");
    // The sequence must exercise the failure paths too, or it proves little.
    assert!(
        errors_seen > 50 && exhausted_seen > 5,
        "errors {errors_seen}, exhaustion {exhausted_seen}: seed {seed}"
    );
}

/// Paths random sequences reach rarely: release passes that fall back to ID-only leases after
/// a DEL and after a rolled-back ADD, and requested addresses skipping the duplicate check.
#[test]
fn ours_and_the_reference_agree_on_legacy_lease_edge_cases() {
    let reference = reference();
    let ours = ours();
    let tmp = TempDir::new("differential-edges");
    let sides = [
        Side {
            bin: &reference,
            data: tmp.0.join("reference"),
        },
        Side {
            bin: &ours,
            data: tmp.0.join("ours"),
        },
    ];
    let s = scenarios(&tmp.0.join("resolv.conf"))
        .into_iter()
        .find(|s| s.name == "dual-stack")
        .unwrap();
    let net = "edges";
    let seed_legacy = || {
        for side in &sides {
            let dir = side.data.join(net);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("fd00::4"), "legacy1").unwrap();
        }
    };
    let both_requested = [("args", json!({"cni": {"ips": ["fd00::5"]}}))];
    let three_requested = [("args", json!({"cni": {"ips": ["fd00::5", "10.21.0.1"]}}))];
    let plain: [(&str, Value); 0] = [];
    // (verb, CNI_ARGS, extra config keys, put the legacy lease back first)
    type Step<'a> = (&'a str, &'a str, &'a [(&'a str, Value)], bool);
    let steps: Vec<Step> = vec![
        // Requested addresses skip the duplicate check: legacy1 gets two new leases next to
        // its legacy one; DEL's second pass then removes the legacy lease too.
        ("ADD", "IP=10.20.0.3", &both_requested, true),
        ("DEL", "", &plain, false),
        // A rolled-back ADD after two sets were served releases twice: the legacy lease goes.
        ("ADD", "IP=10.20.0.3", &three_requested, true),
        // Plain ADD with a legacy lease in the v6 set: duplicate, rolls back the v4 address.
        ("ADD", "", &plain, true),
        ("DEL", "", &plain, false),
    ];
    for (i, (verb, args, extra, reseed)) in steps.into_iter().enumerate() {
        if reseed {
            seed_legacy();
        }
        let op = Op {
            verb,
            id: "legacy1",
            ifname: "eth0",
            args,
            ipam: &s.ipam,
            extra,
        };
        compare(&sides, &s, net, op, || format!("edge step {i}"));
    }
    assert!(common::leases(&sides[1].data.join(net)).is_empty());
}

/// Our binary and the reference take turns at random on ONE directory, against the reference
/// alone on a twin directory: results and directories must stay identical, so our index must
/// notice every change the reference makes behind its back.
#[test]
fn taking_turns_with_the_reference_on_one_directory_changes_nothing() {
    let reference = reference();
    let ours = ours();
    let seed = seed();
    let tmp = TempDir::new("differential-turns");
    let s = scenarios(&tmp.0.join("resolv.conf"))
        .into_iter()
        .find(|s| s.name == "dual-stack")
        .unwrap();
    let net = "turns";
    let (alone, mixed) = (tmp.0.join("alone"), tmp.0.join("mixed"));
    let mut rng = Rng::new(seed ^ 0x7475_726e);
    let ids = ["a1", "b2", "c3", "d4", "e5", "f6", "g7"];
    for step in 0..150 {
        let verb = if rng.chance(55) { "ADD" } else { "DEL" };
        let id = *rng.pick(&ids);
        let by = if rng.chance(50) { &ours } else { &reference };
        let a = run(
            &reference,
            verb,
            id,
            "eth0",
            "",
            &config(&s, &alone, net, &s.ipam, &[]),
        );
        let m = run(
            by,
            verb,
            id,
            "eth0",
            "",
            &config(&s, &mixed, net, &s.ipam, &[]),
        );
        let who = if by == &ours { "ours" } else { "reference" };
        let ctx = || {
            format!(
                "seed {seed} step {step}: {verb} {id} by {who}\nalone: {}\nmixed: {}{}",
                a.stdout, m.stdout, m.stderr
            )
        };
        assert_eq!(a.ok, m.ok, "{}", ctx());
        if a.ok {
            assert_eq!(a.json, m.json, "{}", ctx());
        } else {
            assert_eq!(a.msg(), m.msg(), "{}", ctx());
        }
        assert_eq!(
            snapshot(&alone.join(net)),
            snapshot(&mixed.join(net)),
            "{}",
            ctx()
        );
    }
}
