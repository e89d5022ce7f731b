//! What a suite needs from the machine, and the Debian package that provides it.
//!
//! A missing prerequisite fails the test with the apt command that fixes it: a suite that
//! skips itself silently would let CI pass without running it.

use std::path::Path;
use std::process::Command;

/// A file or command a suite needs, and the apt package it comes from.
#[derive(Debug, Clone, Copy)]
pub struct Prerequisite {
    /// An absolute path, or a bare command name looked up in PATH.
    pub what: &'static str,
    pub apt_package: &'static str,
}

pub const IPROUTE2: Prerequisite = Prerequisite {
    what: "ip",
    apt_package: "iproute2",
};
pub const GO: Prerequisite = Prerequisite {
    what: "go",
    apt_package: "golang-go",
};
pub const LIBCNI: Prerequisite = Prerequisite {
    what: "/usr/share/gocode/src/github.com/containernetworking/cni/libcni/api.go",
    apt_package: "golang-github-appc-cni-dev",
};
pub const REFERENCE_PLUGINS: Prerequisite = Prerequisite {
    what: "/usr/lib/cni/tuning",
    apt_package: "containernetworking-plugins",
};

impl Prerequisite {
    pub fn present(&self) -> bool {
        if self.what.starts_with('/') {
            return Path::new(self.what).exists();
        }
        Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {} >/dev/null", self.what))
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }
}

/// Panic (failing the calling test) naming every missing package at once.
pub fn require(needs: &[Prerequisite]) {
    let missing: Vec<&Prerequisite> = needs.iter().filter(|p| !p.present()).collect();
    if missing.is_empty() {
        return;
    }
    let what: Vec<&str> = missing.iter().map(|p| p.what).collect();
    let mut pkgs: Vec<&str> = missing.iter().map(|p| p.apt_package).collect();
    pkgs.dedup();
    panic!(
        "missing {what:?}: install with `apt-get install -y {}` (make test does this first)",
        pkgs.join(" ")
    );
}

/// Root is needed to create network namespaces and links.
pub fn require_root() {
    // Read through /proc: this crate stays free of unsafe code.
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(str::to_owned))
        })
        .unwrap_or_default();
    assert_eq!(
        uid, "0",
        "the black-box suites create network namespaces: run them as root"
    );
}
