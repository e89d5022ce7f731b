//! IPAM delegation (spec section "Delegated plugins"): find `ipam.type` in CNI_PATH, run it
//! with this invocation's environment (CNI_COMMAND set per call) and the original stdin bytes,
//! and read its result. [`add`] returns an [`IpamLease`] that releases the addresses again
//! (IPAM DEL) when dropped uncommitted: on an error return, and while a panic unwinds.
//!
//! Every call is bounded ([`DelegateLimits`]): a delegate still running at the deadline is
//! killed with everything it started (code 11, "try again later"; 50 for STATUS), and its
//! output is kept only up to a bound (a larger result is code 101). The rollback IPAM DEL of
//! a lease has the same bounds, so a hung delegate cannot hold an ADD that failed either.

mod child;

use crate::error::{code, Error};
use crate::result::Success;
use crate::runner::Request;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// How long one IPAM delegate call may run before it is killed. The slowest IPAM plugins in
/// common use wait on a server (dhcp's daemon retries a lease for about a minute, whereabouts
/// retries its datastore), and kubelet gives a whole sandbox setup 2 minutes by default
/// (`--runtime-request-timeout`): 60 s leaves room for the plugin's own work and, on failure,
/// the rollback IPAM DEL, which has the same deadline.
pub const DELEGATE_DEADLINE: Duration = Duration::from_secs(60);
/// The most of a delegate's stdout we read: a CNI result is a few KiB, even with hundreds of
/// addresses and routes. A delegate that prints more is killed (code 101).
pub const MAX_DELEGATE_STDOUT: usize = 1 << 20;
/// The most of a delegate's stderr we pass on to our own stderr; the rest is read and dropped.
pub const MAX_DELEGATE_STDERR: usize = 64 << 10;
/// How much of a delegate's stdout an error message quotes.
const QUOTE: usize = 512;

/// The bounds of one delegate call. The plugins use [`DelegateLimits::default`]; they are not a
/// config key, because whoever writes the network config must not choose how long a root
/// process waits. Tests pass shorter ones through the `*_with` functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelegateLimits {
    pub deadline: Duration,
    pub max_stdout: usize,
    pub max_stderr: usize,
}

impl Default for DelegateLimits {
    fn default() -> Self {
        DelegateLimits {
            deadline: DELEGATE_DEADLINE,
            max_stdout: MAX_DELEGATE_STDOUT,
            max_stderr: MAX_DELEGATE_STDERR,
        }
    }
}

/// Is an IPAM plugin configured?
pub fn configured(req: &Request) -> bool {
    req.conf.ipam_type().is_some()
}

/// Find a plugin binary by name in CNI_PATH. The name must be a plain file name.
pub fn find_in_path(name: &str, path: &[PathBuf]) -> Result<PathBuf, Error> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(Error::invalid_config(format!(
            "ipam.type {name:?} is not a plugin name: give the binary's file name, e.g. \"host-local\""
        )));
    }
    if path.is_empty() {
        return Err(Error::new(
            code::INVALID_ENV,
            format!("cannot find IPAM plugin {name:?}: CNI_PATH is empty"),
        ));
    }
    for dir in path {
        let candidate = dir.join(name);
        if is_executable(&candidate) {
            return Ok(candidate);
        }
    }
    Err(Error::invalid_config(format!(
        "failed to find IPAM plugin {name:?} (ipam.type) in CNI_PATH {path:?}: install it there or fix ipam.type"
    )))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// How a delegate call ended.
enum Ran {
    /// It succeeded and printed this (trimmed).
    Printed(String),
    /// It did not run, or it failed and said so: it holds nothing for this call.
    Failed(Error),
    /// It was killed (deadline, endless output): what it did before is unknown.
    Unknown(Error),
}

/// Run the configured IPAM plugin with `command`; returns what it printed on success.
fn exec(req: &Request, command: &str, limits: &DelegateLimits) -> Result<String, Error> {
    match run(req, command, limits) {
        Ran::Printed(out) => Ok(out),
        Ran::Failed(e) | Ran::Unknown(e) => Err(e),
    }
}

fn run(req: &Request, command: &str, limits: &DelegateLimits) -> Ran {
    match try_run(req, command, limits) {
        Ok(ran) => ran,
        Err(e) => Ran::Failed(e),
    }
}

fn try_run(req: &Request, command: &str, limits: &DelegateLimits) -> Result<Ran, Error> {
    let name = req.conf.ipam_type().ok_or_else(|| {
        Error::invalid_config(
            "ipam.type is missing: set it to the IPAM plugin to use, e.g. \"host-local\"",
        )
    })?;
    let bin = find_in_path(name, &req.env.path)?;
    crate::debug!("ipam {command}: running {}", bin.display());
    // The delegate gets this invocation's CNI_* values from the request, not from whatever the
    // process environment holds, so a Request built by a library caller (GC of one attachment,
    // a test) delegates exactly what it describes.
    let env = &req.env;
    let args: Vec<String> = env.args.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let path: Vec<String> = env.path.iter().map(|p| p.display().to_string()).collect();
    let mut cmd = Command::new(&bin);
    cmd.env("CNI_COMMAND", command)
        .env("CNI_ARGS", args.join(";"))
        .env("CNI_PATH", path.join(":"));
    for (key, value) in [
        ("CNI_CONTAINERID", env.container_id.as_deref()),
        ("CNI_IFNAME", env.ifname.as_deref()),
        ("CNI_NETNS", env.netns.as_deref().and_then(|p| p.to_str())),
    ] {
        match value {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
    let out = child::run(
        &mut cmd,
        req.stdin.clone(),
        limits.deadline,
        limits.max_stdout,
        limits.max_stderr,
    )
    .map_err(|e| Error::io(format!("cannot run IPAM plugin {}: {e}", bin.display())))?;
    pass_on_stderr(name, &out.stderr);
    match out.killed {
        Some(child::Killed::Deadline) => {
            let code = if command == "STATUS" {
                code::NOT_AVAILABLE
            } else {
                code::TRY_AGAIN_LATER
            };
            return Ok(Ran::Unknown(Error::new(
                code,
                format!(
                    "IPAM plugin {name} did not finish {command} within {}s and was killed \
                     with everything it started: is the server or datastore it uses reachable?",
                    limits.deadline.as_secs_f32()
                ),
            )));
        }
        Some(child::Killed::StdoutTooLarge) => {
            return Ok(Ran::Unknown(Error::new(
                code::DELEGATE_OUTPUT,
                format!(
                    "IPAM plugin {name} printed more than {} KiB for {command} and was killed: \
                     a CNI result is a few KiB",
                    limits.max_stdout >> 10
                ),
            )));
        }
        None => {}
    }
    let text = String::from_utf8_lossy(&out.stdout.bytes);
    let trimmed = text.trim();
    let Some(status) = out.status else {
        return Ok(Ran::Unknown(Error::io(format!(
            "IPAM plugin {name} closed its output but could not be reaped"
        ))));
    };
    if !status.success() {
        let err = serde_json::from_str::<Error>(trimmed).unwrap_or_else(|_| {
            Error::new(
                code::DELEGATE_OUTPUT,
                format!(
                    "IPAM plugin {name} failed ({status}) without a CNI error: {:?}",
                    quote(trimmed)
                ),
            )
        });
        return Ok(Ran::Failed(Error {
            msg: format!("IPAM plugin {name}: {}", err.msg),
            ..err
        }));
    }
    Ok(Ran::Printed(trimmed.to_string()))
}

/// At most [`QUOTE`] bytes of `s` (cut at a character boundary), marked when cut.
fn quote(s: &str) -> String {
    if s.len() <= QUOTE {
        return s.to_string();
    }
    let mut end = QUOTE;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes in all)", &s[..end], s.len())
}

/// The delegate's stderr goes where it went when the delegate inherited ours: to the runtime,
/// up to the bound.
fn pass_on_stderr(name: &str, err: &child::Captured) {
    if err.bytes.is_empty() && err.dropped == 0 {
        return;
    }
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(&err.bytes);
    if err.dropped > 0 {
        let _ = writeln!(
            stderr,
            "\n[IPAM plugin {name}: {} more bytes of stderr dropped]",
            err.dropped
        );
    }
}

/// Addresses allocated by IPAM ADD, released again on drop unless committed.
#[derive(Debug)]
pub struct IpamLease<'a> {
    req: &'a Request,
    result: Success,
    committed: bool,
    /// The bounds of the IPAM DEL that releases it.
    limits: DelegateLimits,
}

impl IpamLease<'_> {
    pub fn result(&self) -> &Success {
        &self.result
    }

    /// Keep the addresses: the attachment succeeded.
    pub fn commit(mut self) -> Success {
        self.committed = true;
        std::mem::take(&mut self.result)
    }
}

impl Drop for IpamLease<'_> {
    fn drop(&mut self) {
        if !self.committed {
            crate::info!("rolling back: releasing IPAM addresses");
            if let Err(e) = forward_with(self.req, "DEL", &self.limits) {
                crate::error!("rollback: IPAM DEL failed, addresses may leak until GC: {e}");
            }
        }
    }
}

/// IPAM ADD. The result is read in whatever version the IPAM plugin printed.
pub fn add(req: &Request) -> Result<IpamLease<'_>, Error> {
    add_with(req, &DelegateLimits::default())
}

/// [`add`] with other bounds (tests); the lease's release uses them too.
pub fn add_with<'a>(req: &'a Request, limits: &DelegateLimits) -> Result<IpamLease<'a>, Error> {
    let out = match run(req, "ADD", limits) {
        Ran::Printed(out) => out,
        Ran::Failed(e) => return Err(e),
        Ran::Unknown(e) => {
            // Killed mid-way, it may have allocated before it hung: release, as for an
            // unreadable result. The DEL has the same deadline.
            if let Err(d) = forward_with(req, "DEL", limits) {
                crate::error!("releasing addresses after IPAM ADD was killed: {d}");
            }
            return Err(e);
        }
    };
    // From here on the addresses are ours: release them if the result is unusable.
    let parsed = if out.is_empty() {
        Err(Error::new(
            code::DELEGATE_OUTPUT,
            "IPAM plugin succeeded but printed no result",
        ))
    } else {
        serde_json::from_str::<Value>(&out)
            .map_err(|e| {
                let msg = format!(
                    "IPAM plugin printed something that is not JSON ({e}): {:?}",
                    quote(&out)
                );
                Error::new(code::DELEGATE_OUTPUT, msg)
            })
            .and_then(|v| Success::from_value_as(&v, req.cni_version()))
    };
    match parsed {
        Ok(result) => Ok(IpamLease {
            req,
            result,
            committed: false,
            limits: *limits,
        }),
        Err(e) => {
            if let Err(d) = forward_with(req, "DEL", limits) {
                crate::error!("releasing addresses after an unreadable IPAM result: {d}");
            }
            Err(e.context("reading the IPAM result"))
        }
    }
}

/// IPAM ADD when an IPAM plugin is configured (main plugins where IPAM is optional), else None.
pub fn add_if_configured(req: &Request) -> Result<Option<IpamLease<'_>>, Error> {
    if configured(req) {
        add(req).map(Some)
    } else {
        Ok(None)
    }
}

/// IPAM DEL (a no-op when no IPAM is configured).
pub fn del(req: &Request) -> Result<(), Error> {
    forward(req, "DEL")
}

/// IPAM CHECK (a no-op when no IPAM is configured).
pub fn check(req: &Request) -> Result<(), Error> {
    forward(req, "CHECK")
}

/// IPAM GC (a no-op when no IPAM is configured).
pub fn gc(req: &Request) -> Result<(), Error> {
    forward(req, "GC")
}

/// IPAM STATUS (a no-op when no IPAM is configured).
pub fn status(req: &Request) -> Result<(), Error> {
    forward(req, "STATUS")
}

fn forward(req: &Request, command: &str) -> Result<(), Error> {
    forward_with(req, command, &DelegateLimits::default())
}

/// Runs IPAM `command` (DEL, CHECK, GC, STATUS) with `limits`; a no-op when no IPAM is
/// configured.
pub fn forward_with(req: &Request, command: &str, limits: &DelegateLimits) -> Result<(), Error> {
    if !configured(req) {
        return Ok(());
    }
    exec(req, command, limits).map(|_| ())
}
