//! The command line.

use std::path::PathBuf;

use crate::node::Node;

pub const USAGE: &str = "\
nfvctl: what this node's CNI attachments are (nfv-cni's, and sriov-cni's and userspace-cni's
before it), where they drifted, and what GC would tear down. Read-only: it changes nothing.

  nfvctl status [--json] [--ovsdb SOCKET | --no-ovs] [--data-dir DIR]...
      every attachment: pod container ID, netns, ifname, network, the VF (settings applied at
      ADD, before ADD, on the PF now), the vDPA device, the OVS port and socket, the leases;
      and the drift flags (docs/nfvctl.md says what to do about each)
  nfvctl gc --dry-run --valid FILE [--network NAME] [--json] [--ovsdb SOCKET | --no-ovs]
            [--data-dir DIR]...
      what GC of each network would tear down, given the valid attachments in FILE: a JSON list
      [{\"containerID\": ..., \"ifname\": ...}], or a GC config holding
      \"cni.dev/valid-attachments\" (its \"name\", if any, is the network)
  nfvctl help

--ovsdb: ovsdb-server's socket (default /var/run/openvswitch/db.sock); --no-ovs: do not ask OVS.
--data-dir: another host-local dataDir to read leases from (besides /var/lib/cni/networks).
--json: the stable schema of docs/nfvctl.md instead of the table.
";

#[derive(Debug)]
pub enum Command {
    Help,
    Status {
        json: bool,
        node: Node,
    },
    GcDryRun {
        json: bool,
        node: Node,
        valid: PathBuf,
        network: Option<String>,
    },
}

pub fn parse(args: &[String]) -> Result<Command, String> {
    let Some((verb, rest)) = args.split_first() else {
        return Ok(Command::Help);
    };
    let mut json = false;
    let mut dry_run = false;
    let mut valid = None;
    let mut network = None;
    let mut node = Node::real();
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag {
            "--json" => json = true,
            "--dry-run" => dry_run = true,
            "--valid" => valid = Some(PathBuf::from(value()?)),
            "--network" => network = Some(value()?),
            "--ovsdb" => node.ovsdb_socket = Some(PathBuf::from(value()?)),
            "--no-ovs" => node.ovsdb_socket = None,
            "--data-dir" => {
                let d = PathBuf::from(value()?);
                if !d.is_absolute() {
                    return Err(format!("--data-dir {}: give an absolute path", d.display()));
                }
                node.lease_dirs.push(d);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    match verb.as_str() {
        "help" | "--help" | "-h" => Ok(Command::Help),
        "status" => Ok(Command::Status { json, node }),
        "gc" if !dry_run => Err(
            "gc only previews: give --dry-run (the plugins' own GC, run by the runtime, tears down)"
                .to_string(),
        ),
        "gc" => Ok(Command::GcDryRun {
            json,
            node,
            valid: valid.ok_or("gc --dry-run needs --valid FILE")?,
            network,
        }),
        other => Err(format!("unknown command {other:?}")),
    }
}
