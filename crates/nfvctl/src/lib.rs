//! `nfvctl`: what a node holds, for the people who run it. Read-only: it takes no lock, creates
//! and changes nothing, reads every file through nfv-safefs within a bound, and never opens a
//! path it read from a file (a record's netns path is only stat-ed).
//!
//! - `node.rs`: where things are on a node (the plugins' own constants), or under a scratch
//!   directory for tests
//! - `read/`: what the plugins keep, each with the plugin's own reader: our records (sriov,
//!   vdpa), sriov-cni's caches, host-local's leases, OVSDB's ports, userspace-cni's files
//! - `kernel.rs`: what the kernel shows now (a VF's settings on its PF, sysfs, netns)
//! - `view.rs`: the attachments joined with their leases and the kernel's view (the `--json`
//!   schema, docs/nfvctl.md); `drift.rs`: what differs from what we recorded
//! - `table.rs`: the same for people
//! - `gc.rs`: `gc --dry-run`, with the plugins' own GC choices
//! - `cli.rs`: arguments

pub mod cli;
pub mod drift;
pub mod gc;
pub mod kernel;
pub mod node;
pub mod read;
pub mod table;
pub mod view;

use std::io::Write;

pub use node::Node;

/// Run `nfvctl` with `args` (without the program name); the exit code.
pub fn run(args: &[String]) -> i32 {
    let cmd = match cli::parse(args) {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("nfvctl: {msg}\n\n{}", cli::USAGE);
            return 2;
        }
    };
    let out = match cmd {
        cli::Command::Help => Ok(cli::USAGE.to_string()),
        cli::Command::Status { json, node } => {
            let snapshot = read::Snapshot::read(&node);
            let mut kernel = kernel::Kernel::open(&node);
            let status = view::Status::build(&snapshot, &mut kernel);
            if json {
                view::to_json(&status)
            } else {
                Ok(table::render(&status))
            }
        }
        cli::Command::GcDryRun {
            json,
            node,
            valid,
            network,
        } => {
            let snapshot = read::Snapshot::read(&node);
            match gc::Plan::build(&snapshot, &valid, network.as_deref()) {
                Ok(plan) if json => view::to_json(&plan),
                Ok(plan) => Ok(gc::render(&plan)),
                Err(e) => Err(e),
            }
        }
    };
    match out {
        Ok(text) => {
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
            {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("nfvctl: writing the output: {e}");
                    1
                }
            }
        }
        Err(msg) => {
            eprintln!("nfvctl: {msg}");
            1
        }
    }
}
