use super::*;
use crate::result::{Interface, IpConfig};
use std::cell::RefCell;
use std::collections::HashMap;

/// A plugin that records which verb ran and answers as told.
#[derive(Default)]
struct Probe {
    calls: RefCell<Vec<&'static str>>,
    fail: Option<Error>,
    panic: bool,
}

impl Probe {
    fn answer(&self, verb: &'static str) -> Result<(), Error> {
        self.calls.borrow_mut().push(verb);
        if self.panic {
            panic!("boom in {verb}");
        }
        match &self.fail {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

impl Plugin for Probe {
    fn add(&self, req: &Request) -> Result<Success, Error> {
        self.answer("ADD")?;
        Ok(Success {
            cni_version: String::new(),
            interfaces: vec![Interface {
                name: req.ifname().into(),
                sandbox: req.netns().map(|p| p.display().to_string()),
                ..Default::default()
            }],
            ips: vec![IpConfig {
                address: "10.0.0.2/24".parse().unwrap(),
                gateway: None,
                interface: Some(0),
            }],
            ..Default::default()
        })
    }
    fn del(&self, _: &Request) -> Result<(), Error> {
        self.answer("DEL")
    }
    fn check(&self, _: &Request) -> Result<(), Error> {
        self.answer("CHECK")
    }
    fn gc(&self, _: &Request) -> Result<(), Error> {
        self.answer("GC")
    }
    fn status(&self, _: &Request) -> Result<(), Error> {
        self.answer("STATUS")
    }
}

fn run_with(p: &Probe, cmd: &str, stdin: &str, unset: &[&str]) -> Outcome {
    let mut env: HashMap<&str, &str> = [
        ("CNI_COMMAND", cmd),
        ("CNI_CONTAINERID", "ctr1"),
        ("CNI_NETNS", "/run/netns/x"),
        ("CNI_IFNAME", "net1"),
        ("CNI_PATH", "/nonexistent"),
    ]
    .into_iter()
    .collect();
    for u in unset {
        env.remove(u);
    }
    let get = move |k: &str| env.get(k).map(|v| v.to_string());
    dispatch(p, "probe plugin", &get, &mut stdin.as_bytes())
}

fn err_of(o: &Outcome) -> (u32, String, Value) {
    assert_eq!(
        o.exit_code,
        1,
        "stdout: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    (
        v["code"].as_u64().unwrap() as u32,
        v["msg"].as_str().unwrap().to_string(),
        v,
    )
}

const CONF: &str = r#"{"cniVersion":"1.0.0","name":"n","type":"probe"}"#;

#[test]
fn add_prints_result_in_config_version() {
    let p = Probe::default();
    for (ver, key) in [("1.1.0", "ips"), ("0.4.0", "ips"), ("0.2.0", "ip4")] {
        let o = run_with(
            &p,
            "ADD",
            &format!(r#"{{"cniVersion":"{ver}","name":"n","type":"probe"}}"#),
            &[],
        );
        assert_eq!(o.exit_code, 0);
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["cniVersion"], ver);
        assert!(v.get(key).is_some(), "{v}");
    }
}

#[test]
fn version_ignores_stdin() {
    let o = run_with(&Probe::default(), "VERSION", "not json", &[]);
    assert_eq!(o.exit_code, 0);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["cniVersion"], "1.1.0");
    assert_eq!(v["supportedVersions"].as_array().unwrap().len(), 7);
}

#[test]
fn no_command_prints_about_on_stderr_only() {
    let o = run_with(&Probe::default(), "", "", &["CNI_COMMAND"]);
    assert_eq!(o.exit_code, 0);
    assert!(o.stdout.is_empty());
    assert!(String::from_utf8_lossy(&o.stderr).contains("probe plugin"));
}

#[test]
fn malformed_inputs_get_exact_codes_and_never_reach_the_plugin() {
    let huge = format!(
        r#"{{"name":"n","pad":"{}"}}"#,
        "x".repeat((MAX_STDIN + 10) as usize)
    );
    let cases: Vec<(&str, &str, String, &[&str], u32)> = vec![
        ("invalid json", "ADD", "{".into(), &[], 6),
        ("not an object", "ADD", "[1]".into(), &[], 6),
        ("empty stdin", "ADD", "".into(), &[], 6),
        (
            "missing name",
            "ADD",
            r#"{"cniVersion":"1.0.0"}"#.into(),
            &[],
            7,
        ),
        (
            "bad name",
            "ADD",
            r#"{"cniVersion":"1.0.0","name":"a/b"}"#.into(),
            &[],
            7,
        ),
        (
            "name not string",
            "ADD",
            r#"{"cniVersion":"1.0.0","name":1}"#.into(),
            &[],
            6,
        ),
        (
            "unsupported version",
            "ADD",
            r#"{"cniVersion":"9.9.9","name":"n"}"#.into(),
            &[],
            1,
        ),
        (
            "malformed version",
            "ADD",
            r#"{"cniVersion":"one","name":"n"}"#.into(),
            &[],
            1,
        ),
        (
            "trailing garbage",
            "ADD",
            r#"{"cniVersion":"1.0.0","name":"n"} x"#.into(),
            &[],
            6,
        ),
        (
            "version not string",
            "ADD",
            r#"{"cniVersion":1,"name":"n"}"#.into(),
            &[],
            6,
        ),
        (
            "check on 0.3.1",
            "CHECK",
            r#"{"cniVersion":"0.3.1","name":"n"}"#.into(),
            &[],
            1,
        ),
        ("gc on 1.0.0", "GC", CONF.into(), &[], 1),
        ("status on 1.0.0", "STATUS", CONF.into(), &[], 1),
        (
            "missing netns on ADD",
            "ADD",
            CONF.into(),
            &["CNI_NETNS"],
            4,
        ),
        (
            "missing ifname on DEL",
            "DEL",
            CONF.into(),
            &["CNI_IFNAME"],
            4,
        ),
        ("missing path on GC", "GC", CONF.into(), &["CNI_PATH"], 4),
        ("unknown command", "FROB", CONF.into(), &[], 4),
        ("huge stdin", "ADD", huge, &[], 5),
        (
            "ipam wrong type",
            "ADD",
            r#"{"cniVersion":"1.0.0","name":"n","ipam":5}"#.into(),
            &[],
            6,
        ),
    ];
    for (what, cmd, stdin, unset, want) in cases {
        let p = Probe::default();
        let o = run_with(&p, cmd, &stdin, unset);
        let (code, msg, v) = err_of(&o);
        assert_eq!(code, want, "{what}: {msg}");
        assert!(v["cniVersion"].is_string(), "{what}");
        assert!(p.calls.borrow().is_empty(), "{what}: plugin was called");
    }
}

#[test]
fn plugin_errors_pass_through_with_config_version() {
    let p = Probe {
        fail: Some(Error::new(11, "busy")),
        ..Default::default()
    };
    let (code, msg, v) = err_of(&run_with(&p, "DEL", CONF, &["CNI_NETNS"]));
    assert_eq!(
        (code, msg.as_str(), v["cniVersion"].as_str()),
        (11, "busy", Some("1.0.0"))
    );
}

#[test]
fn panic_becomes_code_100() {
    let p = Probe {
        panic: true,
        ..Default::default()
    };
    let (code, msg, _) = err_of(&run_with(&p, "ADD", CONF, &[]));
    assert_eq!(code, code::PANIC);
    assert!(msg.contains("panicked"), "{msg}");
}

#[test]
fn each_verb_reaches_the_plugin() {
    let v11 = r#"{"cniVersion":"1.1.0","name":"n","type":"probe"}"#;
    for verb in ["ADD", "DEL", "CHECK", "GC", "STATUS"] {
        let p = Probe::default();
        let o = run_with(&p, verb, v11, &[]);
        assert_eq!(
            o.exit_code,
            0,
            "{verb}: {}",
            String::from_utf8_lossy(&o.stdout)
        );
        assert_eq!(p.calls.borrow().as_slice(), &[verb]);
        if verb != "ADD" {
            assert!(o.stdout.is_empty(), "{verb} prints nothing on success");
        }
    }
}

/// Like `Probe`, but its ADD result has no IP address.
struct NoIpProbe<'a>(&'a Probe);

impl Plugin for NoIpProbe<'_> {
    fn add(&self, _: &Request) -> Result<Success, Error> {
        self.0.answer("ADD")?;
        Ok(Success::default())
    }
    fn del(&self, _: &Request) -> Result<(), Error> {
        self.0.answer("DEL")
    }
    fn check(&self, _: &Request) -> Result<(), Error> {
        self.0.answer("CHECK")
    }
}

#[test]
fn result_without_ips_cannot_be_printed_as_020() {
    struct NoIp;
    impl Plugin for NoIp {
        fn add(&self, _: &Request) -> Result<Success, Error> {
            Ok(Success::default())
        }
        fn del(&self, _: &Request) -> Result<(), Error> {
            Ok(())
        }
        fn check(&self, _: &Request) -> Result<(), Error> {
            Ok(())
        }
    }
    let get = |k: &str| match k {
        "CNI_COMMAND" => Some("ADD".to_string()),
        "CNI_CONTAINERID" => Some("c".into()),
        "CNI_NETNS" => Some("/x".into()),
        "CNI_IFNAME" => Some("eth0".into()),
        "CNI_PATH" => Some("/x".into()),
        _ => None,
    };
    let o = dispatch(
        &NoIp,
        "",
        &get,
        &mut r#"{"cniVersion":"0.2.0","name":"n"}"#.as_bytes(),
    );
    let (code, _, _) = err_of(&o);
    assert_eq!(code, 1);
    // ... and the attachment the plugin made is undone with its own DEL.
    let p = Probe::default();
    let conf = r#"{"cniVersion":"0.2.0","name":"n"}"#;
    let o = dispatch(&NoIpProbe(&p), "", &get, &mut conf.as_bytes());
    assert_eq!(err_of(&o).0, 1);
    assert_eq!(p.calls.borrow().as_slice(), &["ADD", "DEL"]);
}

/// logLevel values the Go plugins accept (sriov-cni's `panic`, userspace-cni's `verbose`,
/// empty) and ones nobody accepts (unknown, not a string) never fail a verb: a log setting must
/// not make a pod undeletable. (Each used to be code 7 on every verb, DEL included.)
#[test]
fn no_log_level_fails_a_verb() {
    for level in [
        r#""panic""#,
        r#""verbose""#,
        r#""""#,
        r#""loud""#,
        "5",
        "null",
    ] {
        for cmd in ["ADD", "DEL", "CHECK"] {
            let p = Probe::default();
            let stdin = format!(r#"{{"cniVersion":"1.0.0","name":"n","logLevel":{level}}}"#);
            let o = run_with(&p, cmd, &stdin, &[]);
            assert_eq!(
                o.exit_code,
                0,
                "{cmd} with logLevel {level}: {:?}",
                String::from_utf8_lossy(&o.stdout)
            );
            assert_eq!(*p.calls.borrow(), vec![cmd], "{cmd} with logLevel {level}");
        }
    }
}

/// An IPAM plugin reads only `ipam` and the spec's keys: the main plugin's top-level logging
/// keys are not its to judge or act on, whatever their type.
#[test]
fn an_ipam_plugin_ignores_the_main_plugins_logging_keys() {
    struct Ipam(Probe);
    impl Plugin for Ipam {
        fn add(&self, req: &Request) -> Result<Success, Error> {
            self.0.add(req)
        }
        fn del(&self, req: &Request) -> Result<(), Error> {
            self.0.del(req)
        }
        fn check(&self, req: &Request) -> Result<(), Error> {
            self.0.check(req)
        }
        fn is_ipam(&self) -> bool {
            true
        }
    }
    let p = Ipam(Probe::default());
    let stdin = r#"{"cniVersion":"1.0.0","name":"n","type":"sriov","logLevel":{"weird":1},
        "logFile":["not","a","path"],"ipam":{"type":"host-local","logLevel":"debug"}}"#;
    let env: HashMap<&str, &str> = [
        ("CNI_COMMAND", "DEL"),
        ("CNI_CONTAINERID", "ctr1"),
        ("CNI_IFNAME", "net1"),
        ("CNI_PATH", "/nonexistent"),
    ]
    .into_iter()
    .collect();
    let get = move |k: &str| env.get(k).map(|v| v.to_string());
    let o = dispatch(&p, "ipam probe", &get, &mut stdin.as_bytes());
    assert_eq!(o.exit_code, 0, "{}", String::from_utf8_lossy(&o.stdout));
    assert_eq!(*p.0.calls.borrow(), vec!["DEL"]);
    assert!(
        crate::log::enabled(Level::Debug),
        "ipam.logLevel is the IPAM plugin's"
    );
}

/// A plugin's own keys decode as the Go plugins decode theirs: exact, else ignoring case,
/// unknown keys ignored (sriov-cni's `spoofChk`, `VLAN`, `DeviceID` work there, and did
/// nothing here before).
#[test]
fn parse_conf_matches_keys_as_go_does() {
    #[derive(Debug, serde::Deserialize)]
    struct Conf {
        #[serde(rename = "deviceID", default)]
        device_id: Option<String>,
        #[serde(default)]
        vlan: Option<u16>,
        #[serde(default)]
        spoofchk: Option<String>,
    }
    let stdin = br#"{"cniVersion":"1.0.0","name":"n","type":"sriov","DeviceID":"0000:01:10.0",
        "VLAN":100,"spoofChk":"on","somethingElse":true}"#;
    let env = crate::env::from_lookup(&|k| {
        [
            ("CNI_COMMAND", "DEL"),
            ("CNI_CONTAINERID", "c"),
            ("CNI_IFNAME", "net1"),
            ("CNI_PATH", "/p"),
        ]
        .iter()
        .find(|(n, _)| *n == k)
        .map(|(_, v)| v.to_string())
    })
    .unwrap();
    let req = Request::new(env.clone(), stdin.to_vec()).unwrap();
    let c: Conf = req.parse_conf().unwrap();
    assert_eq!(c.device_id.as_deref(), Some("0000:01:10.0"));
    assert_eq!(c.vlan, Some(100));
    assert_eq!(c.spoofchk.as_deref(), Some("on"));
    // A wrong type is still refused, naming the field.
    let bad = br#"{"cniVersion":"1.0.0","name":"n","VLAN":"100"}"#;
    let req = Request::new(env, bad.to_vec()).unwrap();
    let e = req.parse_conf::<Conf>().unwrap_err();
    assert_eq!(e.code, 6);
    assert!(e.msg.contains("vlan"), "{}", e.msg);
}

/// stdin is parsed once: the plugin's own config is typed from the document the runner
/// parsed (`Request::doc`), never from the bytes again, and the bytes stay as given for a
/// delegate.
#[test]
fn the_plugin_types_its_config_from_the_document_parsed_once() {
    #[derive(Debug, serde::Deserialize)]
    struct Conf {
        #[serde(default)]
        vlan: Option<u16>,
    }
    /// What DEL saw: the typed VLAN, the document, the bytes.
    type Seen = (Option<u16>, Value, Vec<u8>);
    struct Reads(RefCell<Option<Seen>>);
    impl Plugin for Reads {
        fn add(&self, _: &Request) -> Result<Success, Error> {
            Err(Error::new(code::INTERNAL, "not here"))
        }
        fn del(&self, req: &Request) -> Result<(), Error> {
            let c: Conf = req.parse_conf()?;
            *self.0.borrow_mut() = Some((c.vlan, req.doc.clone(), req.stdin.clone()));
            Ok(())
        }
        fn check(&self, _: &Request) -> Result<(), Error> {
            Ok(())
        }
    }
    let stdin = r#"{"cniVersion":"1.0.0","name":"n","type":"t","VLAN":100}  "#;
    let p = Reads(RefCell::new(None));
    let get = |k: &str| match k {
        "CNI_COMMAND" => Some("DEL".to_string()),
        "CNI_CONTAINERID" => Some("c".into()),
        "CNI_IFNAME" => Some("net1".into()),
        "CNI_PATH" => Some("/p".into()),
        _ => None,
    };
    let o = dispatch(&p, "", &get, &mut stdin.as_bytes());
    assert_eq!(o.exit_code, 0, "{o:?}");
    let (vlan, doc, bytes) = p.0.borrow_mut().take().unwrap();
    assert_eq!(vlan, Some(100));
    assert_eq!(
        doc,
        serde_json::json!({"cniVersion":"1.0.0","name":"n","type":"t","VLAN":100})
    );
    assert_eq!(bytes, stdin.as_bytes());
    // What parse_conf reads is the document: another document, another config, whatever the
    // bytes say.
    let env = crate::env::from_lookup(&get).unwrap();
    let mut req = Request::new(env, stdin.as_bytes().to_vec()).unwrap();
    req.doc["VLAN"] = 200.into();
    assert_eq!(req.parse_conf::<Conf>().unwrap().vlan, Some(200));
}
