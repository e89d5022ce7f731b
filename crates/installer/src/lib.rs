//! nfv-install: puts the nfv-cni plugins from the image into the node's CNI bin dir, the way a
//! DaemonSet's init container (ours, or the sriov-network-operator's `sriov-cni` one) runs it.
//!
//! - `plan`: what to do with one name, from what is on disk (pure).
//! - `store`: the bin dir and the installer's `.nfv-cni/` beside the plugins.
//! - `record`: what the installer remembers per name (what it wrote, what it replaced).
//! - `cli`: our subcommands and sriov-cni's entrypoint arguments.
//!
//! Not a CNI plugin: its stdout is a log for people (`kubectl logs`), one line per plugin.
#![allow(clippy::print_stdout)]

pub mod cli;
pub mod plan;
pub mod record;
pub mod sha256;
pub mod store;

use std::path::{Path, PathBuf};

use cli::Command;
use plan::{Current, Install, Kept, Uninstall};
use store::BinDir;

fn short(d: &str) -> &str {
    d.get(..12).unwrap_or(d)
}

/// Installs `name` from `source`; returns what was done, in words.
fn install_one(store: &BinDir, name: &str, source: &Path) -> Result<String, String> {
    store.clear_temps(name)?;
    let new = store::source_digest(source)?;
    let seen = store.seen(name)?;
    match plan::install(name, &seen, &new) {
        Install::Unchanged => Ok(format!("unchanged (sha256 {}...)", short(&new))),
        Install::RecordOnly(rec) => {
            store.write_record(name, &rec)?;
            Ok(format!(
                "already in place (sha256 {}...), now recorded as ours",
                short(&new)
            ))
        }
        Install::Replace {
            record,
            keep_current,
            why,
        } => {
            let tmp = store.write_temp(name, source, &new)?;
            let done = (|| {
                if keep_current {
                    store.keep_current(name)?;
                }
                store.write_record(name, &record)?;
                store.rename_in(&tmp, name)
            })();
            if done.is_err() {
                let _ = store.clear_temps(name);
            }
            done?;
            let kept = if record.previous.is_some() {
                format!("; uninstall puts back {}/{name}.previous", store::STATE_DIR)
            } else {
                String::new()
            };
            Ok(format!("{why} (sha256 {}...){kept}", short(&new)))
        }
        Install::Refuse(msg) => Err(msg),
    }
}

fn uninstall_one(store: &BinDir, name: &str) -> Result<String, String> {
    store.clear_temps(name)?;
    let seen = store.seen(name)?;
    let kept_is_current = match (&seen.kept, &seen.current) {
        (Kept::SameFileAsCurrent, _) => true,
        (Kept::File(k), Current::File(c)) => k == c,
        _ => false,
    };
    match plan::uninstall(name, &seen) {
        Uninstall::NotInstalled => Ok("not installed by nfv-install: left alone".into()),
        Uninstall::Restore => {
            store.restore(name)?;
            store.forget(name, false)?;
            Ok("put back the binary the first install replaced".into())
        }
        Uninstall::Remove => {
            store.remove_plugin(name)?;
            store.forget(name, false)?;
            Ok("removed (the name was free before nfv-install)".into())
        }
        Uninstall::Forget => {
            store.forget(name, kept_is_current)?;
            Ok("already as before nfv-install; its record is removed".into())
        }
        Uninstall::Refuse(msg) => Err(msg),
    }
}

fn status_one(store: &BinDir, name: &str) -> Result<String, String> {
    let seen = store.seen(name)?;
    let rec = seen.record.as_ref();
    Ok(match &seen.current {
        Current::Absent => "absent".to_string(),
        Current::Other(kind) => format!("{kind} (never touched)"),
        Current::File(c) if rec.is_some_and(|r| r.is_ours(c)) => format!(
            "ours (sha256 {}...){}",
            short(c),
            if rec.is_some_and(|r| r.previous.is_some()) {
                "; uninstall puts back the binary it replaced"
            } else {
                "; uninstall removes it"
            }
        ),
        Current::File(c) if rec.is_some() => format!("not ours (sha256 {}...)", short(c)),
        Current::File(c) => format!("not installed by nfv-install (sha256 {}...)", short(c)),
    })
}

/// Runs `action` for each name under one lock, reporting each; 0 when all succeeded.
fn each(
    bin_dir: &Path,
    create_state: bool,
    names: &[&str],
    mut action: impl FnMut(&BinDir, &str) -> Result<String, String>,
) -> (i32, Option<BinDir>) {
    let store = match BinDir::open(bin_dir, create_state) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("nfv-install: {e}");
            return (1, None);
        }
    };
    let mut code = 0;
    for name in names {
        match action(&store, name) {
            Ok(words) => println!("nfv-install: {}: {words}", store.join(name).display()),
            Err(e) => {
                eprintln!("nfv-install: {}: {e}", store.join(name).display());
                code = 1;
            }
        }
    }
    (code, Some(store))
}

fn wait_for_stop() -> i32 {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    set.add(Signal::SIGTERM);
    set.add(Signal::SIGINT);
    if let Err(e) = set.thread_block() {
        eprintln!("nfv-install: blocking SIGTERM/SIGINT: {e}");
        return 1;
    }
    match set.wait() {
        Ok(sig) => {
            println!("nfv-install: {sig}: stopping");
            0
        }
        Err(e) => {
            eprintln!("nfv-install: waiting for a signal: {e}");
            1
        }
    }
}

/// The whole program: parse `args` (without the program name), act, return the exit code.
pub fn run(args: &[String]) -> i32 {
    let command = match cli::parse(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("nfv-install: {e}\n\n{}", cli::USAGE);
            return 1;
        }
    };
    match command {
        Command::Help => {
            println!("{}", cli::USAGE);
            0
        }
        Command::SriovHelp => {
            println!("{}", cli::SRIOV_USAGE);
            0
        }
        Command::Sleep => wait_for_stop(),
        Command::Install {
            bin_dir,
            from,
            plugins,
        } => {
            each(&bin_dir, true, &plugins, |s, name| {
                install_one(s, name, &from.join(name))
            })
            .0
        }
        Command::Uninstall { bin_dir, plugins } => {
            let (code, store) = each(&bin_dir, false, &plugins, uninstall_one);
            if let Some(store) = store {
                match store.remove_state_if_empty() {
                    Ok(true) => println!(
                        "nfv-install: {}: nothing left to remember, removed",
                        store.join(store::STATE_DIR).display()
                    ),
                    Ok(false) => {}
                    Err(e) => eprintln!("nfv-install: {e}"),
                }
            }
            code
        }
        Command::Status { bin_dir, plugins } => each(&bin_dir, false, &plugins, status_one).0,
        Command::SriovEntrypoint {
            bin_dir,
            file,
            no_sleep,
        } => sriov_entrypoint(&bin_dir, &file, no_sleep),
    }
}

/// sriov-cni's entrypoint: both locations must exist; the file is installed under its own
/// name (which must be one of ours); then sleep until stopped unless `--no-sleep`.
fn sriov_entrypoint(bin_dir: &Path, file: &Path, no_sleep: bool) -> i32 {
    for location in [bin_dir, file] {
        if !location.exists() {
            eprintln!(
                "nfv-install: location {} does not exist",
                location.display()
            );
            return 1;
        }
    }
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let Some(name) = cli::PLUGINS.iter().find(|p| **p == name) else {
        eprintln!(
            "nfv-install: {} is not one of nfv-cni's plugins ({}): nfv-install writes no other name",
            file.display(),
            cli::PLUGINS.join(", ")
        );
        return 1;
    };
    let source = PathBuf::from(file);
    let (code, store) = each(bin_dir, true, &[name], |s, n| install_one(s, n, &source));
    drop(store); // release the bin dir's lock before sleeping
    if code != 0 || no_sleep {
        return code;
    }
    println!("nfv-install: installed; sleeping until the container is stopped");
    wait_for_stop()
}
