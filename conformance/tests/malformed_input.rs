//! The malformed-input table: every case runs against our binaries (the nfv-test-veth fixture,
//! which delegates IPAM, and host-local) and must give the exact CNI error code, the spec's
//! error JSON and nothing else on stdout, exit status 1, and no side effect: no file in the
//! IPAM dataDir, no link in the namespace, no host-side veth.
//!
//! Cases marked `reference` also run against Debian's reference host-local, which must give
//! the same code: the expected codes are the reference runtime's, not ours restated.

use nfv_conformance::binaries::{plugin, reference, CniPath};
use nfv_conformance::fixture::host_veth_name;
use nfv_conformance::netns::host_links;
use nfv_conformance::prerequisites::{require, require_root, IPROUTE2, REFERENCE_PLUGINS};
use nfv_conformance::scratch::unique_name;
use nfv_conformance::{Invocation, Netns, ScratchDir};
use serde_json::{json, Value};
use std::path::Path;

/// Which binaries a case applies to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scope {
    /// The runner's own validation: every binary.
    Runner,
    /// Only the main plugin (the case is about delegating IPAM or the plugin's own keys).
    MainPlugin,
}

/// How to break the invocation.
#[derive(Debug, Clone)]
enum Input {
    /// Replace stdin with these bytes.
    Stdin(Vec<u8>),
    /// Set config keys (a null value removes the key).
    Conf(Value),
    /// Set an environment variable (empty string: present but empty).
    Env(&'static str, String),
    /// Remove an environment variable.
    Unset(&'static str),
}

#[derive(Debug, Clone)]
struct Case {
    name: &'static str,
    command: &'static str,
    input: Vec<Input>,
    code: u64,
    scope: Scope,
    /// Debian's host-local (cni v1.1.x skel) gives the same code.
    reference: bool,
}

fn case(name: &'static str, command: &'static str, input: Vec<Input>, code: u64) -> Case {
    Case {
        name,
        command,
        input,
        code,
        scope: Scope::Runner,
        reference: true,
    }
}

impl Case {
    fn ours_only(mut self) -> Case {
        self.reference = false;
        self
    }
    fn main_plugin(mut self) -> Case {
        self.scope = Scope::MainPlugin;
        self.reference = false;
        self
    }
}

fn stdin(s: &str) -> Input {
    Input::Stdin(s.as_bytes().to_vec())
}

fn conf(v: Value) -> Input {
    Input::Conf(v)
}

fn env(k: &'static str, v: &str) -> Input {
    Input::Env(k, v.to_owned())
}

fn table() -> Vec<Case> {
    use Input::Unset;
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let mut huge = br#"{"cniVersion":"1.0.0","name":"x","type":"t","pad":""#.to_vec();
    huge.extend(std::iter::repeat_n(b'a', 5 << 20));
    huge.extend(br#""}"#);
    vec![
        // stdin that is not a network configuration
        case("invalid JSON", "ADD", vec![stdin("{\"cniVersion\":")], 6),
        case("empty stdin", "ADD", vec![stdin("")], 6),
        // The reference decodes null into an empty struct and reports the missing name (7).
        case("JSON null", "ADD", vec![stdin("null")], 6).ours_only(),
        case("JSON array", "ADD", vec![stdin("[]")], 6),
        case("JSON string", "ADD", vec![stdin("\"net\"")], 6),
        case(
            "trailing garbage",
            "ADD",
            vec![stdin("{\"cniVersion\":\"1.0.0\",\"name\":\"n\"} x")],
            6,
        ),
        // The reference replaces invalid UTF-8 with U+FFFD and then rejects the name (7).
        case(
            "invalid UTF-8",
            "ADD",
            vec![Input::Stdin(b"{\"name\":\"\xff\xfe\"}".to_vec())],
            6,
        )
        .ours_only(),
        case("nesting 100000 deep", "ADD", vec![stdin(&deep)], 6),
        case("stdin over 4 MiB", "ADD", vec![Input::Stdin(huge)], 5).ours_only(),
        // name
        case("missing name", "ADD", vec![conf(json!({"name": null}))], 7),
        case("empty name", "ADD", vec![conf(json!({"name": ""}))], 7),
        case(
            "name with a slash",
            "ADD",
            vec![conf(json!({"name": "../etc"}))],
            7,
        ),
        case("name is a number", "ADD", vec![conf(json!({"name": 5}))], 6),
        // cniVersion
        case(
            "unsupported cniVersion",
            "ADD",
            vec![conf(json!({"cniVersion": "9.9.9"}))],
            1,
        ),
        case(
            "cniVersion not a version",
            "ADD",
            vec![conf(json!({"cniVersion": "abc"}))],
            1,
        ),
        case(
            "cniVersion is a number",
            "ADD",
            vec![conf(json!({"cniVersion": 1.0}))],
            6,
        ),
        case(
            "CHECK below 0.4.0",
            "CHECK",
            vec![conf(json!({"cniVersion": "0.3.1"}))],
            1,
        ),
        case(
            "GC below 1.1.0",
            "GC",
            vec![conf(json!({"cniVersion": "1.0.0"}))],
            1,
        )
        .ours_only(),
        case(
            "STATUS below 1.1.0",
            "STATUS",
            vec![conf(json!({"cniVersion": "0.4.0"}))],
            1,
        )
        .ours_only(),
        // CNI_IFNAME
        case(
            "ifname too long",
            "ADD",
            vec![env("CNI_IFNAME", "abcdefghijklmnop")],
            4,
        ),
        case("ifname .", "ADD", vec![env("CNI_IFNAME", ".")], 4),
        case("ifname ..", "DEL", vec![env("CNI_IFNAME", "..")], 4),
        case("ifname with /", "ADD", vec![env("CNI_IFNAME", "a/b")], 4),
        case(
            "ifname with :",
            "CHECK",
            vec![env("CNI_IFNAME", "eth0:1")],
            4,
        ),
        case(
            "ifname with space",
            "ADD",
            vec![env("CNI_IFNAME", "a b")],
            4,
        ),
        // CNI_CONTAINERID
        case(
            "container ID starting with -",
            "ADD",
            vec![env("CNI_CONTAINERID", "-abc")],
            4,
        ),
        case(
            "container ID with ;",
            "DEL",
            vec![env("CNI_CONTAINERID", "a;b")],
            4,
        ),
        case(
            "container ID with /",
            "ADD",
            vec![env("CNI_CONTAINERID", "../x")],
            4,
        ),
        // missing environment, per verb
        case(
            "ADD without CNI_CONTAINERID",
            "ADD",
            vec![Unset("CNI_CONTAINERID")],
            4,
        ),
        case("ADD without CNI_NETNS", "ADD", vec![Unset("CNI_NETNS")], 4),
        case(
            "ADD without CNI_IFNAME",
            "ADD",
            vec![Unset("CNI_IFNAME")],
            4,
        ),
        case("ADD without CNI_PATH", "ADD", vec![Unset("CNI_PATH")], 4),
        case(
            "ADD with empty CNI_NETNS",
            "ADD",
            vec![env("CNI_NETNS", "")],
            4,
        ),
        case(
            "CHECK without CNI_NETNS",
            "CHECK",
            vec![Unset("CNI_NETNS")],
            4,
        ),
        case(
            "DEL without CNI_CONTAINERID",
            "DEL",
            vec![Unset("CNI_CONTAINERID")],
            4,
        ),
        case(
            "DEL without CNI_IFNAME",
            "DEL",
            vec![Unset("CNI_IFNAME")],
            4,
        ),
        case("DEL without CNI_PATH", "DEL", vec![Unset("CNI_PATH")], 4),
        case("GC without CNI_PATH", "GC", vec![Unset("CNI_PATH")], 4).ours_only(),
        // CNI_ARGS (the reference leaves parsing to each plugin: host-local says 999)
        case(
            "CNI_ARGS pair without =",
            "ADD",
            vec![env("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAME")],
            4,
        )
        .ours_only(),
        // CNI_COMMAND
        case("unknown command", "FOO", vec![], 4),
        case("lower-case command", "add", vec![], 4),
        // wrong types in the shared keys
        case("type is a number", "ADD", vec![conf(json!({"type": 5}))], 6).ours_only(),
        case(
            "ipam is a string",
            "ADD",
            vec![conf(json!({"ipam": "host-local"}))],
            6,
        )
        .ours_only(),
        case("dns is a number", "ADD", vec![conf(json!({"dns": 5}))], 6).ours_only(),
        case(
            "runtimeConfig is a list",
            "ADD",
            vec![conf(json!({"runtimeConfig": []}))],
            6,
        )
        .ours_only(),
        // the main plugin's own keys and its delegation
        case(
            "mtu is a string",
            "ADD",
            vec![conf(json!({"mtu": "big"}))],
            6,
        )
        .main_plugin(),
        case(
            "ipam.type not in CNI_PATH",
            "ADD",
            vec![conf(json!({"ipam": {"type": "no-such-ipam"}}))],
            7,
        )
        .main_plugin(),
        case(
            "ipam.type is a path",
            "ADD",
            vec![conf(json!({"ipam": {"type": "../host-local"}}))],
            7,
        )
        .main_plugin(),
        case("CHECK without prevResult", "CHECK", vec![], 7).main_plugin(),
        case(
            "CHECK with an unreadable prevResult",
            "CHECK",
            vec![conf(json!({"prevResult": {"ips": "10.0.0.2/24"}}))],
            6,
        )
        .main_plugin(),
    ]
}

/// A well-formed config for `version`: the main plugin delegating to host-local, whose
/// `ipam` section host-local reads when run directly.
fn base_conf(version: &str, data_dir: &Path) -> Value {
    json!({
        "cniVersion": version,
        "name": "malformed",
        "type": "nfv-test-veth",
        "ipam": {
            "type": "host-local",
            "dataDir": data_dir,
            "ranges": [[{"subnet": "10.243.0.0/24"}]]
        }
    })
}

/// How strictly to judge the error JSON.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    /// The spec's `{cniVersion, code, msg, details?}`, nothing else on stdout.
    Spec,
    /// Only the code: Debian's reference plugins (v1.1.1) print errors without `cniVersion`.
    CodeOnly,
}

/// Run one case against one binary and check everything the table promises.
fn run_case(c: &Case, bin: &Path, cni_path: &Path, shape: Shape) {
    let ns = Netns::new();
    let data = ScratchDir::new("malformed-data");
    let container_id = unique_name("malformed");
    let version = if matches!(c.command, "GC" | "STATUS") {
        "1.1.0"
    } else {
        "1.0.0"
    };
    let mut conf = base_conf(version, data.path());
    let mut inv =
        Invocation::attachment(bin, c.command, &container_id, &ns.path(), "net1", cni_path);
    let mut raw: Option<Vec<u8>> = None;
    for i in &c.input {
        match i {
            Input::Stdin(b) => raw = Some(b.clone()),
            Input::Env(k, v) => inv = inv.env(k, v),
            Input::Unset(k) => inv = inv.without(k),
            Input::Conf(patch) => {
                for (k, v) in patch.as_object().into_iter().flatten() {
                    if v.is_null() {
                        conf.as_object_mut().map(|o| o.remove(k));
                    } else {
                        conf[k] = v.clone();
                    }
                }
            }
        }
    }
    let out = inv
        .stdin(raw.unwrap_or_else(|| conf.to_string().into_bytes()))
        .run();
    match shape {
        Shape::Spec => drop(out.cni_error(c.code)),
        Shape::CodeOnly => assert_eq!(
            out.error_code(),
            Some(c.code),
            "{}: stdout {}",
            c.name,
            String::from_utf8_lossy(&out.stdout)
        ),
    }
    assert_eq!(
        ns.links(),
        vec!["lo".to_owned()],
        "{}: a link was left in the netns",
        c.name
    );
    assert_eq!(
        data.files(),
        Vec::<String>::new(),
        "{}: files were left in the dataDir",
        c.name
    );
    let host = host_veth_name(&container_id, "net1");
    assert!(
        !host_links().contains(&host),
        "{}: host veth {host} left behind",
        c.name
    );
}

fn check_table(binary: &str, scope: Scope) {
    require_root();
    require(&[IPROUTE2]);
    let cni_path = CniPath::new(&[
        (
            "nfv-test-veth",
            Path::new(env!("CARGO_BIN_EXE_nfv-test-veth")),
        ),
        ("host-local", &plugin("host-local")),
        ("sriov", &plugin("sriov")),
        ("vdpa", &plugin("vdpa")),
        ("userspace", &plugin("userspace")),
    ]);
    let cases: Vec<Case> = table()
        .into_iter()
        .filter(|c| c.scope == Scope::Runner || c.scope == scope)
        .collect();
    assert!(
        cases.len() >= 30,
        "the table must hold at least 30 cases for {binary}"
    );
    let mut failures = Vec::new();
    for c in &cases {
        let bin = cni_path.binary(binary);
        if let Err(p) = std::panic::catch_unwind(|| run_case(c, &bin, cni_path.path(), Shape::Spec))
        {
            failures.push(format!("[{}] {}", c.name, panic_text(&p)));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed for {binary}:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "panic".into())
}

#[test]
fn malformed_inputs_to_the_main_plugin() {
    check_table("nfv-test-veth", Scope::MainPlugin);
}

#[test]
fn malformed_inputs_to_host_local() {
    check_table("host-local", Scope::Runner);
}

/// The expected codes are the reference runtime's: Debian's host-local agrees on every case
/// not marked ours-only.
#[test]
fn reference_host_local_agrees_with_the_table() {
    require_root();
    require(&[IPROUTE2, REFERENCE_PLUGINS]);
    let cni_path = CniPath::new(&[("host-local", &reference("host-local"))]);
    let mut failures = Vec::new();
    let cases: Vec<Case> = table()
        .into_iter()
        .filter(|c| c.reference && c.scope == Scope::Runner)
        .collect();
    for c in &cases {
        if let Err(p) = std::panic::catch_unwind(|| {
            run_case(
                c,
                &cni_path.binary("host-local"),
                cni_path.path(),
                Shape::CodeOnly,
            )
        }) {
            failures.push(format!("[{}] {}", c.name, panic_text(&p)));
        }
    }
    assert!(
        failures.is_empty(),
        "reference host-local disagrees on {} of {} cases:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// Run by hand with no CNI_COMMAND, a plugin says what it is on stderr and exits 0 with
/// nothing on stdout (skel's "about" behaviour).
#[test]
fn no_command_prints_about_on_stderr() {
    let bin = Path::new(env!("CARGO_BIN_EXE_nfv-test-veth"));
    let out = Invocation::new(bin).run();
    out.empty_success();
    assert!(
        out.stderr.contains("CNI protocol versions supported"),
        "stderr: {}",
        out.stderr
    );
}

// The runner's validation is shared, so every plugin binary must answer the runner-scope
// cases exactly as host-local does, before its own code runs and with nothing left behind.

#[test]
fn malformed_inputs_to_sriov() {
    check_table("sriov", Scope::Runner);
}

#[test]
fn malformed_inputs_to_vdpa() {
    check_table("vdpa", Scope::Runner);
}

#[test]
fn malformed_inputs_to_userspace() {
    check_table("userspace", Scope::Runner);
}
