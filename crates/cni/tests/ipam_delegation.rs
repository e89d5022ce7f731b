#![allow(clippy::unwrap_used)] // a test: a failed setup step should stop it loudly
//! IPAM delegation against a real executable: a shell script standing in for an IPAM plugin,
//! recording each call's CNI_COMMAND and stdin so the test can see what was forwarded.

use nfv_cni::{config::parse_json, env, ipam, Request};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

struct Fixture {
    dir: PathBuf,
}

impl Fixture {
    /// `body` is the script's behaviour for ADD; every call appends "CMD stdin" to calls.log.
    fn new(name: &str, add_body: &str) -> Fixture {
        let dir = std::env::temp_dir().join(format!("nfv-ipam-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let script = format!(
            "#!/bin/sh\nin=$(cat)\necho \"$CNI_COMMAND $CNI_CONTAINERID $in\" >> {log}\n\
             if [ \"$CNI_COMMAND\" = ADD ]; then\n{add_body}\nfi\nexit 0\n",
            log = dir.join("calls.log").display()
        );
        let bin = dir.join("fake-ipam");
        std::fs::write(&bin, script).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        Fixture { dir }
    }

    fn request(&self, conf: &str) -> Request {
        let dir = self.dir.display().to_string();
        let get = move |k: &str| match k {
            "CNI_COMMAND" => Some("ADD".to_string()),
            "CNI_CONTAINERID" => Some("ctr9".into()),
            "CNI_NETNS" => Some("/run/netns/none".into()),
            "CNI_IFNAME" => Some("net1".into()),
            "CNI_PATH" => Some(format!("/nonexistent:{dir}")),
            _ => None,
        };
        Request {
            env: env::from_lookup(&get).unwrap(),
            conf: parse_json(conf.as_bytes(), "conf").unwrap(),
            stdin: conf.as_bytes().to_vec(),
        }
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const CONF: &str = r#"{"cniVersion":"0.4.0","name":"n","type":"x","vendorKey":{"kept":true},"ipam":{"type":"fake-ipam","subnet":"10.0.0.0/24"}}"#;

fn with_env<T>(f: impl FnOnce() -> T) -> T {
    // The delegate must get the request's CNI_* values, not the process's: make them differ.
    std::env::set_var("CNI_CONTAINERID", "process-env-value");
    f()
}

#[test]
fn add_reads_result_and_commit_keeps_it() {
    with_env(|| {
        let fx = Fixture::new(
            "commit",
            r#"echo '{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.0.0.2/24","gateway":"10.0.0.1"}]}'"#,
        );
        let req = fx.request(CONF);
        let lease = ipam::add(&req).unwrap();
        assert_eq!(lease.result().ips[0].address.to_string(), "10.0.0.2/24");
        let result = lease.commit();
        assert_eq!(result.cni_version, "0.4.0");
        let calls = fx.calls();
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert!(calls[0].starts_with("ADD ctr9 "), "{calls:?}");
        assert!(
            calls[0].contains(r#""vendorKey":{"kept":true}"#),
            "stdin passed through unchanged"
        );
    })
}

#[test]
fn dropped_lease_runs_ipam_del() {
    with_env(|| {
        let fx = Fixture::new(
            "rollback",
            r#"echo '{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.0.0.2/24"}]}'"#,
        );
        let req = fx.request(CONF);
        {
            let _lease = ipam::add(&req).unwrap();
            // the plugin fails here: the lease goes out of scope uncommitted
        }
        let cmds: Vec<String> = fx
            .calls()
            .iter()
            .map(|c| c.split(' ').next().unwrap().to_string())
            .collect();
        assert_eq!(cmds, ["ADD", "DEL"]);
    })
}

#[test]
fn delegate_error_keeps_its_code() {
    with_env(|| {
        let fx = Fixture::new(
            "err",
            r#"echo '{"code":11,"msg":"no addresses left"}'; exit 1"#,
        );
        let req = fx.request(CONF);
        let e = ipam::add(&req).unwrap_err();
        assert_eq!(e.code, 11);
        assert!(
            e.msg.contains("no addresses left") && e.msg.contains("fake-ipam"),
            "{}",
            e.msg
        );
    })
}

#[test]
fn unreadable_result_is_released() {
    with_env(|| {
        let fx = Fixture::new("garbage", "echo 'not json'");
        let req = fx.request(CONF);
        let e = ipam::add(&req).unwrap_err();
        assert_eq!(e.code, nfv_cni::code::DELEGATE_OUTPUT);
        let cmds: Vec<String> = fx
            .calls()
            .iter()
            .map(|c| c.split(' ').next().unwrap().to_string())
            .collect();
        assert_eq!(cmds, ["ADD", "DEL"]);
    })
}

#[test]
fn missing_plugin_and_bad_type_name_the_field() {
    let fx = Fixture::new("missing", "true");
    let req = fx.request(&CONF.replace("fake-ipam", "no-such-ipam"));
    let e = ipam::add(&req).unwrap_err();
    assert_eq!(e.code, 7);
    assert!(e.msg.contains("ipam.type"), "{}", e.msg);
    let req = fx.request(&CONF.replace("fake-ipam", "../../bin/sh"));
    assert_eq!(ipam::add(&req).unwrap_err().code, 7);
    assert!(
        !Path::new(&fx.dir.join("calls.log")).exists(),
        "nothing ran"
    );
}

#[test]
fn forwarding_without_ipam_is_a_no_op() {
    let fx = Fixture::new("noipam", "true");
    let req = fx.request(r#"{"cniVersion":"1.1.0","name":"n","type":"x"}"#);
    for f in [ipam::del, ipam::check, ipam::gc, ipam::status] {
        f(&req).unwrap();
    }
    assert!(fx.calls().is_empty());
}
