//! One plugin invocation as a runtime performs it: a clean environment holding only the
//! CNI_* variables the test chose, the config on stdin, stdout and stderr captured apart.

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The variables a runtime sets, in the order skel reads them.
pub const CNI_VARS: [&str; 6] = [
    "CNI_COMMAND",
    "CNI_CONTAINERID",
    "CNI_NETNS",
    "CNI_IFNAME",
    "CNI_ARGS",
    "CNI_PATH",
];

#[derive(Debug, Clone)]
pub struct Invocation {
    binary: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Vec<u8>,
}

impl Invocation {
    pub fn new(binary: &Path) -> Invocation {
        Invocation {
            binary: binary.to_path_buf(),
            args: Vec::new(),
            env: Vec::new(),
            stdin: Vec::new(),
        }
    }

    /// An attachment verb with every variable set, the way libcni calls ADD/CHECK/DEL.
    pub fn attachment(
        binary: &Path,
        command: &str,
        container_id: &str,
        netns: &Path,
        ifname: &str,
        cni_path: &Path,
    ) -> Invocation {
        Invocation::new(binary)
            .env("CNI_COMMAND", command)
            .env("CNI_CONTAINERID", container_id)
            .env("CNI_NETNS", &netns.display().to_string())
            .env("CNI_IFNAME", ifname)
            .env("CNI_PATH", &cni_path.display().to_string())
    }

    /// A command-line argument (plugins take none; the libcni driver does).
    pub fn arg(mut self, a: &str) -> Invocation {
        self.args.push(a.to_owned());
        self
    }

    /// Set (or replace) a variable.
    pub fn env(mut self, key: &str, value: &str) -> Invocation {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Drop a variable entirely (not the same as setting it empty, though skel treats both alike).
    pub fn without(mut self, key: &str) -> Invocation {
        self.env.retain(|(k, _)| k != key);
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Invocation {
        self.stdin = bytes.into();
        self
    }

    pub fn stdin_json(self, conf: &Value) -> Invocation {
        self.stdin(conf.to_string())
    }

    pub fn run(&self) -> Outcome {
        let mut cmd = Command::new(&self.binary);
        cmd.args(&self.args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {}: {e}", self.binary.display()));
        // Feed stdin from a thread: a plugin that answers before reading everything (or never
        // reads) must not deadlock the harness on a full pipe.
        let stdin = child.stdin.take();
        let data = self.stdin.clone();
        let writer = std::thread::spawn(move || {
            if let Some(mut s) = stdin {
                let _ = s.write_all(&data);
            }
        });
        let out = child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("waiting for {}: {e}", self.binary.display()));
        let _ = writer.join();
        Outcome {
            what: self.describe(),
            status: out.status.code(),
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn describe(&self) -> String {
        let env: Vec<String> = self.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let name = self
            .binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        format!(
            "{} {} {}",
            env.join(" "),
            name.unwrap_or_default(),
            self.args.join(" ")
        )
    }
}

/// What came back from one invocation.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub what: String,
    /// Exit code; None when killed by a signal.
    pub status: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Outcome {
    fn report(&self) -> String {
        format!(
            "{}\n  exit: {:?}\n  stdout: {}\n  stderr: {}",
            self.what,
            self.status,
            String::from_utf8_lossy(&self.stdout),
            self.stderr.trim_end()
        )
    }

    /// stdout as exactly one JSON document (whitespace around it allowed, nothing else).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not exactly one JSON document ({e}):\n{}",
                self.report()
            )
        })
    }

    /// Exit 0 with a JSON document on stdout; returns it.
    pub fn success(&self) -> Value {
        assert_eq!(self.status, Some(0), "expected success:\n{}", self.report());
        self.json()
    }

    /// Exit 0 with nothing on stdout (DEL, CHECK, GC, and STATUS when ready).
    pub fn empty_success(&self) {
        assert_eq!(self.status, Some(0), "expected success:\n{}", self.report());
        assert!(
            self.stdout.iter().all(u8::is_ascii_whitespace),
            "expected nothing on stdout:\n{}",
            self.report()
        );
    }

    /// Exit status 1 and an error `code` on stdout, without judging the rest of the shape:
    /// for reference binaries that predate the spec's `cniVersion` in errors.
    pub fn error_code(&self) -> Option<u64> {
        assert_eq!(
            self.status,
            Some(1),
            "expected exit status 1:\n{}",
            self.report()
        );
        self.json().get("code").and_then(Value::as_u64)
    }

    /// The spec's error shape: exit status 1, stdout holding only
    /// `{cniVersion, code, msg, details?}` with the right types, msg non-empty, and `code` as
    /// expected. Returns the error object.
    pub fn cni_error(&self, code: u64) -> Value {
        assert_eq!(
            self.status,
            Some(1),
            "expected exit status 1:\n{}",
            self.report()
        );
        let v = self.json();
        let Some(obj) = v.as_object() else {
            panic!("error is not an object:\n{}", self.report())
        };
        for key in obj.keys() {
            assert!(
                ["cniVersion", "code", "msg", "details"].contains(&key.as_str()),
                "unexpected key {key:?} in the error:\n{}",
                self.report()
            );
        }
        assert!(
            obj.get("cniVersion")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty()),
            "error lacks a cniVersion string:\n{}",
            self.report()
        );
        assert!(
            obj.get("msg")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty()),
            "error lacks a non-empty msg:\n{}",
            self.report()
        );
        if let Some(d) = obj.get("details") {
            assert!(d.is_string(), "details is not a string:\n{}", self.report());
        }
        assert_eq!(
            obj.get("code").and_then(Value::as_u64),
            Some(code),
            "wrong error code:\n{}",
            self.report()
        );
        v
    }
}
