//! The command line: our own subcommands, and the arguments of sriov-cni's image entrypoint
//! (`images/entrypoint.sh` in k8snetworkplumbingwg/sriov-cni), which the sriov-network-operator's
//! `sriov-cni` init container passes (`--no-sleep`) without naming a command. See
//! deployment/README.md for that contract.

use std::path::PathBuf;

/// The plugins the image carries, in `/usr/bin`: the only names nfv-install ever writes.
pub const PLUGINS: [&str; 4] = ["host-local", "sriov", "vdpa", "userspace"];
/// Where the node's CNI bin dir is mounted in the container (the same as sriov-cni's image).
pub const DEFAULT_BIN_DIR: &str = "/host/opt/cni/bin";
/// Where the image keeps the plugins.
pub const DEFAULT_FROM: &str = "/usr/bin";
/// sriov-cni's default source file.
pub const DEFAULT_SRIOV_FILE: &str = "/usr/bin/sriov";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Install {
        bin_dir: PathBuf,
        from: PathBuf,
        plugins: Vec<&'static str>,
    },
    Uninstall {
        bin_dir: PathBuf,
        plugins: Vec<&'static str>,
    },
    Status {
        bin_dir: PathBuf,
        plugins: Vec<&'static str>,
    },
    /// Wait for SIGTERM/SIGINT, then exit 0 (the DaemonSet's long-running container).
    Sleep,
    /// sriov-cni's entrypoint: copy one binary into the bin dir, then sleep unless told not to.
    SriovEntrypoint {
        bin_dir: PathBuf,
        file: PathBuf,
        no_sleep: bool,
    },
    Help,
    SriovHelp,
}

pub const USAGE: &str = "\
nfv-install: puts the nfv-cni plugins into the node's CNI bin dir (mounted in the container)

  nfv-install install   [--cni-bin-dir=DIR] [--from=DIR] [--plugins=NAME,...]
  nfv-install uninstall [--cni-bin-dir=DIR] [--plugins=NAME,...]
  nfv-install status    [--cni-bin-dir=DIR] [--plugins=NAME,...]
  nfv-install sleep
  nfv-install [--cni-bin-dir=DIR] [--sriov-bin-file=FILE] [--no-sleep] [-h|--help]

install: for each plugin (default: host-local,sriov,vdpa,userspace from --from, default
  /usr/bin), write it to a temp file beside the bin dir's entries, sync, and rename it over
  the name; only when the content differs. The binary it replaces the first time (the Go
  plugin) is kept in DIR/.nfv-cni/<name>.previous. A name holding a binary it did not write
  (after its own) is left alone and reported.
uninstall: puts back what the first install replaced (or removes ours where the name was
  free); leaves names that hold someone else's binary alone.
status: what each name holds now, as the installer sees it.
sleep: waits for SIGTERM or SIGINT (the DaemonSet's main container).
Without a command: the sriov-cni image's entrypoint arguments: install FILE (default
  /usr/bin/sriov) into DIR, then sleep until stopped, or exit with --no-sleep.
DIR defaults to /host/opt/cni/bin.
";

pub const SRIOV_USAGE: &str = "\
nfv-install, as the sriov-cni image's entrypoint: copies the sriov binary into the CNI bin dir.

  --cni-bin-dir=DIR      where the node's CNI bin dir is mounted (default /host/opt/cni/bin)
  --sriov-bin-file=FILE  the binary to copy (default /usr/bin/sriov)
  --no-sleep             exit after copying (default: sleep until stopped)
  -h, --help             this text
";

fn plugin_list(value: &str) -> Result<Vec<&'static str>, String> {
    let mut out = Vec::new();
    for name in value.split(',').filter(|s| !s.is_empty()) {
        match PLUGINS.iter().find(|p| **p == name) {
            Some(p) if !out.contains(p) => out.push(*p),
            Some(_) => {}
            None => {
                return Err(format!(
                    "--plugins: {name:?} is not one of nfv-cni's plugins ({})",
                    PLUGINS.join(", ")
                ))
            }
        }
    }
    if out.is_empty() {
        return Err("--plugins: name at least one plugin".into());
    }
    Ok(out)
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let Some(first) = args.first() else {
        return sriov_entrypoint(args);
    };
    let sub = first.as_str();
    if !["install", "uninstall", "status", "sleep", "help"].contains(&sub) {
        return sriov_entrypoint(args);
    }
    let mut bin_dir = PathBuf::from(DEFAULT_BIN_DIR);
    let mut from = PathBuf::from(DEFAULT_FROM);
    let mut plugins = PLUGINS.to_vec();
    for arg in &args[1..] {
        let (key, value) = arg.split_once('=').unwrap_or((arg.as_str(), ""));
        match (sub, key) {
            (_, "-h" | "--help") => return Ok(Command::Help),
            ("install" | "uninstall" | "status", "--cni-bin-dir") if !value.is_empty() => {
                bin_dir = PathBuf::from(value)
            }
            ("install" | "uninstall" | "status", "--plugins") => plugins = plugin_list(value)?,
            ("install", "--from") if !value.is_empty() => from = PathBuf::from(value),
            _ => return Err(format!("{sub}: unexpected argument {arg:?}")),
        }
    }
    Ok(match sub {
        "install" => Command::Install {
            bin_dir,
            from,
            plugins,
        },
        "uninstall" => Command::Uninstall { bin_dir, plugins },
        "status" => Command::Status { bin_dir, plugins },
        "sleep" => Command::Sleep,
        _ => Command::Help,
    })
}

/// sriov-cni's entrypoint arguments: `--name=value` pairs, `--no-sleep`, `-h`/`--help`;
/// anything else is an error.
fn sriov_entrypoint(args: &[String]) -> Result<Command, String> {
    let mut bin_dir = PathBuf::from(DEFAULT_BIN_DIR);
    let mut file = PathBuf::from(DEFAULT_SRIOV_FILE);
    let mut no_sleep = false;
    for arg in args {
        let (key, value) = arg.split_once('=').unwrap_or((arg.as_str(), ""));
        match key {
            "-h" | "--help" => return Ok(Command::SriovHelp),
            "--cni-bin-dir" => bin_dir = PathBuf::from(value),
            "--sriov-bin-file" => file = PathBuf::from(value),
            "--no-sleep" => no_sleep = true,
            _ => return Err(format!("unknown parameter {key:?}")),
        }
    }
    Ok(Command::SriovEntrypoint {
        bin_dir,
        file,
        no_sleep,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_operators_init_container_arguments_are_sriov_cnis() {
        assert_eq!(
            parse(&args(&["--no-sleep"])).unwrap(),
            Command::SriovEntrypoint {
                bin_dir: DEFAULT_BIN_DIR.into(),
                file: DEFAULT_SRIOV_FILE.into(),
                no_sleep: true
            }
        );
        assert_eq!(
            parse(&[]).unwrap(),
            Command::SriovEntrypoint {
                bin_dir: DEFAULT_BIN_DIR.into(),
                file: DEFAULT_SRIOV_FILE.into(),
                no_sleep: false
            }
        );
        assert_eq!(
            parse(&args(&["--cni-bin-dir=/x", "--sriov-bin-file=/y/sriov"])).unwrap(),
            Command::SriovEntrypoint {
                bin_dir: "/x".into(),
                file: "/y/sriov".into(),
                no_sleep: false
            }
        );
        assert_eq!(parse(&args(&["-h"])).unwrap(), Command::SriovHelp);
        assert!(parse(&args(&["--sleep"]))
            .unwrap_err()
            .contains("unknown parameter"));
    }

    #[test]
    fn our_subcommands() {
        assert_eq!(
            parse(&args(&[
                "install",
                "--plugins=sriov,host-local",
                "--from=/img"
            ]))
            .unwrap(),
            Command::Install {
                bin_dir: DEFAULT_BIN_DIR.into(),
                from: "/img".into(),
                plugins: vec!["sriov", "host-local"]
            }
        );
        assert_eq!(
            parse(&args(&["uninstall", "--cni-bin-dir=/b"])).unwrap(),
            Command::Uninstall {
                bin_dir: "/b".into(),
                plugins: PLUGINS.to_vec()
            }
        );
        assert!(parse(&args(&["install", "--plugins=bridge"]))
            .unwrap_err()
            .contains("bridge"));
        assert!(parse(&args(&["uninstall", "--from=/x"])).is_err());
        assert!(parse(&args(&["install", "--cni-bin-dir"])).is_err());
        assert_eq!(parse(&args(&["sleep"])).unwrap(), Command::Sleep);
    }
}
