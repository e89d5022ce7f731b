//! IPAM delegation (spec section "Delegated plugins"): find `ipam.type` in CNI_PATH, run it
//! with this invocation's environment (CNI_COMMAND set per call) and the original stdin bytes,
//! and read its result. [`add`] returns an [`IpamLease`] that releases the addresses again
//! (IPAM DEL) when dropped uncommitted: on an error return, and while a panic unwinds.

use crate::error::{code, Error};
use crate::result::Success;
use crate::runner::Request;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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

/// Run the configured IPAM plugin with `command`; returns what it printed on success.
fn exec(req: &Request, command: &str) -> Result<String, Error> {
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
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| Error::io(format!("cannot run IPAM plugin {}: {e}", bin.display())))?;
    if let Some(mut input) = child.stdin.take() {
        // The plugin reads all of stdin before it writes: writing first cannot deadlock.
        // A plugin that exits without reading gives EPIPE here; its exit status tells more.
        let _ = input.write_all(&req.stdin);
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::io(format!("waiting for IPAM plugin {}: {e}", bin.display())))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let trimmed = text.trim();
    if !out.status.success() {
        let err = serde_json::from_str::<Error>(trimmed).unwrap_or_else(|_| {
            Error::new(
                code::DELEGATE_OUTPUT,
                format!(
                    "IPAM plugin {name} failed ({}) without a CNI error: {trimmed:?}",
                    out.status
                ),
            )
        });
        return Err(Error {
            msg: format!("IPAM plugin {name}: {}", err.msg),
            ..err
        });
    }
    Ok(trimmed.to_string())
}

/// Addresses allocated by IPAM ADD, released again on drop unless committed.
#[derive(Debug)]
pub struct IpamLease<'a> {
    req: &'a Request,
    result: Success,
    committed: bool,
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
            if let Err(e) = del(self.req) {
                crate::error!("rollback: IPAM DEL failed, addresses may leak until GC: {e}");
            }
        }
    }
}

/// IPAM ADD. The result is read in whatever version the IPAM plugin printed.
pub fn add(req: &Request) -> Result<IpamLease<'_>, Error> {
    let out = exec(req, "ADD")?;
    // From here on the addresses are ours: release them if the result is unusable.
    let parsed = if out.is_empty() {
        Err(Error::new(
            code::DELEGATE_OUTPUT,
            "IPAM plugin succeeded but printed no result",
        ))
    } else {
        serde_json::from_str::<Value>(&out)
            .map_err(|e| {
                let msg = format!("IPAM plugin printed something that is not JSON ({e}): {out:?}");
                Error::new(code::DELEGATE_OUTPUT, msg)
            })
            .and_then(|v| Success::from_value_as(&v, req.cni_version()))
    };
    match parsed {
        Ok(result) => Ok(IpamLease {
            req,
            result,
            committed: false,
        }),
        Err(e) => {
            if let Err(d) = del(req) {
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
    if !configured(req) {
        return Ok(());
    }
    exec(req, command).map(|_| ())
}
