//! The plugin runner: a plugin implements [`Plugin`]; `main` calls [`run`]. The runner reads
//! the environment and stdin, validates them in the reference runtime's order, dispatches the
//! verb, prints the result or error JSON on stdout (and nothing else), and sets the exit status.
//! A panic in the plugin becomes error code 100 after the stack has unwound, so the plugin's
//! rollback guards (netns restore, IPAM release) have run.

use crate::config::{parse_json, NetConf};
use crate::env::{self, Command, Env};
use crate::error::{code, Error};
use crate::log::{self, Level};
use crate::result::Success;
use crate::version::{self, Version, CURRENT_VERSION, SUPPORTED_VERSIONS, V0_4_0, V1_1_0};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::io::{Read, Write};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::Mutex;

/// The most stdin a plugin reads: a network configuration with its prevResult is a few KiB.
pub const MAX_STDIN: u64 = 4 << 20;

/// What a CNI plugin implements. GC and STATUS default to "nothing to do"; a plugin that
/// delegates IPAM forwards them itself (an IPAM plugin's own config names itself as
/// `ipam.type`, so the runner cannot forward blindly).
pub trait Plugin {
    fn add(&self, req: &Request) -> Result<Success, Error>;
    fn del(&self, req: &Request) -> Result<(), Error>;
    fn check(&self, req: &Request) -> Result<(), Error>;
    fn gc(&self, _req: &Request) -> Result<(), Error> {
        Ok(())
    }
    fn status(&self, _req: &Request) -> Result<(), Error> {
        Ok(())
    }
    /// An IPAM plugin (host-local): it reads only `ipam` and the spec's keys. The top level
    /// belongs to the main plugin that delegates to it, so its logging keys come from
    /// `ipam.logLevel` and `ipam.logFile`, never from the main plugin's.
    fn is_ipam(&self) -> bool {
        false
    }
}

/// One invocation: the validated environment, the shared config, and stdin, read once:
/// `stdin` as given (what a delegate is handed), `doc` the JSON document parsed from it
/// (what the plugin's own config and host-local's are typed from), `conf` the spec's keys
/// typed from `doc`.
#[derive(Debug, Clone)]
pub struct Request {
    pub env: Env,
    pub conf: NetConf,
    pub doc: Value,
    pub stdin: Vec<u8>,
}

impl Request {
    /// A request for `stdin` (parsed once, its spec keys typed) in `env`, as the runner builds
    /// it after its own checks: for tests and the fuzzers.
    pub fn new(env: Env, stdin: Vec<u8>) -> Result<Request, Error> {
        let doc: Value = parse_json(&stdin, "network configuration")?;
        let conf = NetConf::from_document(&doc)?;
        Ok(Request {
            env,
            conf,
            doc,
            stdin,
        })
    }

    /// The plugin's own config type from the parsed stdin, its keys matched as Go's
    /// encoding/json matches the Go plugins' (exact, else ignoring case; unknown keys
    /// ignored); errors name the field (code 6 or 7).
    pub fn parse_conf<T: DeserializeOwned>(&self) -> Result<T, Error> {
        crate::config::from_go_value(self.doc.clone(), "network configuration")
    }

    /// `prevResult`, read in whatever version it was written (the config's, if it says none).
    pub fn prev_result(&self) -> Result<Option<Success>, Error> {
        match &self.conf.prev_result {
            None => Ok(None),
            Some(v) => Success::from_value_as(v, self.cni_version())
                .map(Some)
                .map_err(|e| e.context("prevResult")),
        }
    }

    /// The config's cniVersion, "0.1.0" when it gives none.
    pub fn cni_version(&self) -> &str {
        if self.conf.cni_version.is_empty() {
            "0.1.0"
        } else {
            &self.conf.cni_version
        }
    }

    /// CNI_CONTAINERID (always present for ADD, DEL and CHECK).
    pub fn container_id(&self) -> &str {
        self.env.container_id.as_deref().unwrap_or("")
    }

    /// CNI_IFNAME (always present for ADD, DEL and CHECK).
    pub fn ifname(&self) -> &str {
        self.env.ifname.as_deref().unwrap_or("")
    }

    /// CNI_NETNS (present for ADD and CHECK; optional for DEL).
    pub fn netns(&self) -> Option<&Path> {
        self.env.netns.as_deref()
    }
}

/// What one invocation produced: the bytes for stdout and stderr, and the exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub exit_code: i32,
}

impl Outcome {
    fn json(v: &Value, exit_code: i32) -> Outcome {
        let mut stdout = serde_json::to_vec(v).unwrap_or_default();
        stdout.push(b'\n');
        Outcome {
            stdout,
            stderr: Vec::new(),
            exit_code,
        }
    }

    fn error(e: &Error, cni_version: &str) -> Outcome {
        Outcome::json(&e.to_json(cni_version), 1)
    }
}

static PANIC_NOTE: Mutex<Option<String>> = Mutex::new(None);

/// Run a plugin as a CNI executable: never returns.
pub fn run(plugin: &dyn Plugin, about: &str) -> ! {
    panic::set_hook(Box::new(|info| {
        let where_ = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let note = format!("plugin panicked{where_}: {what}");
        log::log(Level::Error, format_args!("{note}"));
        if let Ok(mut slot) = PANIC_NOTE.lock() {
            *slot = Some(note);
        }
    }));
    let mut stdin = std::io::stdin().lock();
    let out = dispatch(plugin, about, &|k| std::env::var(k).ok(), &mut stdin);
    let _ = std::io::stderr().write_all(&out.stderr);
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(&out.stdout);
    let _ = stdout.flush();
    std::process::exit(out.exit_code)
}

/// The whole protocol for one invocation, with the environment and stdin passed in.
pub fn dispatch(
    plugin: &dyn Plugin,
    about: &str,
    get_env: &dyn Fn(&str) -> Option<String>,
    stdin: &mut dyn Read,
) -> Outcome {
    let env = match env::from_lookup(get_env) {
        Ok(env) => env,
        Err(e) => {
            if get_env("CNI_COMMAND").filter(|c| !c.is_empty()).is_none() && !about.is_empty() {
                // Run by hand with no command: say what this is, as the reference plugins do.
                let text = format!(
                    "{about}\nCNI protocol versions supported: {}\n",
                    SUPPORTED_VERSIONS.join(", ")
                );
                return Outcome {
                    stdout: Vec::new(),
                    stderr: text.into_bytes(),
                    exit_code: 0,
                };
            }
            return Outcome::error(&e, CURRENT_VERSION);
        }
    };
    if env.command == Command::Version {
        let v = serde_json::json!({"cniVersion": CURRENT_VERSION, "supportedVersions": SUPPORTED_VERSIONS});
        return Outcome::json(&v, 0);
    }
    let req = match read_request(env, stdin) {
        Ok(req) => req,
        Err((e, version)) => return Outcome::error(&e, &version),
    };
    let version = req.cni_version().to_string();
    let logging = if plugin.is_ipam() {
        req.conf.ipam.as_ref()
    } else {
        Some(&req.conf.extra)
    };
    let (level, level_note) = Level::from_config(logging.and_then(|m| m.get("logLevel")));
    log::init(
        level,
        logging
            .and_then(|m| m.get("logFile"))
            .and_then(Value::as_str),
        format!(
            "{}[{}] {} {}/{}",
            req.conf.plugin_type,
            std::process::id(),
            req.env.command.as_str(),
            req.container_id(),
            req.ifname()
        ),
    );
    if let Some(note) = level_note {
        log::log(Level::Warning, format_args!("{note}"));
    }
    let called = panic::catch_unwind(AssertUnwindSafe(|| match req.env.command {
        Command::Add => add_printable(plugin, &req, &version).map(Some),
        Command::Del => plugin.del(&req).map(|_| None),
        Command::Check => plugin.check(&req).map(|_| None),
        Command::Gc => plugin.gc(&req).map(|_| None),
        Command::Status => plugin.status(&req).map(|_| None),
        Command::Version => Ok(None),
    }));
    match called {
        Ok(Ok(Some(result))) => Outcome::json(&result, 0),
        Ok(Ok(None)) => Outcome {
            stdout: Vec::new(),
            stderr: Vec::new(),
            exit_code: 0,
        },
        Ok(Err(e)) => {
            crate::debug!("failed: {e}");
            Outcome::error(&e, &version)
        }
        Err(_) => {
            let note = PANIC_NOTE
                .lock()
                .ok()
                .and_then(|mut n| n.take())
                .unwrap_or_else(|| "plugin panicked".into());
            let e = Error::new(
                code::PANIC,
                format!("{note} (a bug in the plugin: please report it with the log)"),
            );
            Outcome::error(&e, &version)
        }
    }
}

/// ADD, then the result in the config's version. A result that cannot be printed in that
/// version (0.1.0/0.2.0 without an address) fails the ADD, so the attachment is undone with
/// the plugin's own DEL: nothing the runtime is told failed may stay behind.
fn add_printable(plugin: &dyn Plugin, req: &Request, version: &str) -> Result<Value, Error> {
    let result = plugin.add(req)?;
    result.to_version(version).inspect_err(|_| {
        crate::warn!(
            "the ADD result cannot be printed as cniVersion {version}: undoing the attachment"
        );
        if let Err(e) = plugin.del(req) {
            crate::error!("undoing the attachment failed, GC will retry: {e}");
        }
    })
}

/// Read stdin and validate it in the reference order: JSON and name (6/7), container ID and
/// ifname (3/4), cniVersion (1 unless it is one we implement), verb minimums (1), then the
/// shared keys' types (6/7).
/// On error, also returns the version to print the error in.
fn read_request(env: Env, stdin: &mut dyn Read) -> Result<Request, (Error, String)> {
    let current = || CURRENT_VERSION.to_string();
    let mut bytes = Vec::new();
    stdin
        .take(MAX_STDIN + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            (
                Error::io(format!(
                    "error reading the network configuration from stdin: {e}"
                )),
                current(),
            )
        })?;
    if bytes.len() as u64 > MAX_STDIN {
        let e = Error::io(format!(
            "the network configuration on stdin is larger than {} MiB: a CNI config is a few KiB; check what the runtime passes",
            MAX_STDIN >> 20
        ));
        return Err((e, current()));
    }
    let raw: Value = parse_json(&bytes, "network configuration").map_err(|e| (e, current()))?;
    let Value::Object(obj) = &raw else {
        let e = Error::new(
            code::DECODE,
            format!(
                "the network configuration must be a JSON object, not {}",
                kind(&raw)
            ),
        );
        return Err((e, current()));
    };
    let version_str = match obj.get("cniVersion") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            let e = Error::new(
                code::DECODE,
                format!(
                    "cniVersion must be a string such as \"1.0.0\", not {}",
                    kind(other)
                ),
            );
            return Err((e, current()));
        }
    };
    // Errors are printed in the config's version when we speak it, else in ours.
    let print_version = if version::is_supported(&version_str) {
        version_str.clone()
    } else if version_str.is_empty() {
        "0.1.0".into()
    } else {
        current()
    };
    let fail = |e: Error| (e, print_version.clone());
    match obj.get("name") {
        None | Some(Value::Null) => env::validate_network_name("").map_err(fail)?,
        Some(Value::String(n)) => env::validate_network_name(n).map_err(fail)?,
        Some(other) => {
            return Err(fail(Error::new(
                code::DECODE,
                format!("name must be a string, not {}", kind(other)),
            )))
        }
    }
    env.validate_attachment().map_err(fail)?;
    // Like the reference, anything that is not a version we implement, malformed or not, is
    // "incompatible CNI versions" (1); the details list the versions we do implement.
    if !version_str.is_empty() && !version::is_supported(&version_str) {
        return Err(fail(version::incompatible(&version_str)));
    }
    let v = Version::parse(&version_str).map_err(fail)?;
    let minimum = match env.command {
        Command::Check => Some(V0_4_0),
        Command::Gc | Command::Status => Some(V1_1_0),
        _ => None,
    };
    if let Some(min) = minimum {
        if !v.at_least(min) {
            let e = Error::new(
                code::INCOMPATIBLE_VERSION,
                format!("config version does not allow {}", env.command.as_str()),
            )
            .with_details(format!(
                "{} needs cniVersion {}.{}.{} or later; the config says {:?}",
                env.command.as_str(),
                min.0,
                min.1,
                min.2,
                version_str
            ));
            return Err(fail(e));
        }
    }
    let conf = NetConf::from_document(&raw).map_err(fail)?;
    Ok(Request {
        env,
        conf,
        doc: raw,
        stdin: bytes,
    })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests;
