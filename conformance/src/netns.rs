//! Throwaway network namespaces, made and removed with iproute2 (`ip netns`), so the suites
//! see namespaces exactly as a runtime's bind-mounted `/run/netns/<name>` files.

use crate::scratch::unique_name;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    pub fn new() -> Netns {
        let name = unique_name("nfvc");
        ip(&["netns", "add", &name]);
        Netns { name }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.name)
    }

    /// Link names inside the namespace, sorted.
    pub fn links(&self) -> Vec<String> {
        let out = ip(&["-n", &self.name, "-j", "link", "show"]);
        let mut names = link_names(&out);
        names.sort();
        names
    }

    /// `ip -j` output for one link, or None when it does not exist.
    pub fn link(&self, ifname: &str) -> Option<Value> {
        let out = Command::new("ip")
            .args(["-n", &self.name, "-j", "-d", "addr", "show", "dev", ifname])
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        v.as_array().and_then(|a| a.first().cloned())
    }

    /// Run a command inside the namespace; returns its stdout, failing the test on error.
    pub fn exec(&self, argv: &[&str]) -> String {
        let mut args = vec!["netns", "exec", &self.name];
        args.extend_from_slice(argv);
        ip(&args)
    }

    /// Read a sysctl inside the namespace (e.g. `net/ipv4/conf/net1/arp_filter`).
    pub fn sysctl(&self, key: &str) -> String {
        self.exec(&["cat", &format!("/proc/sys/{key}")])
            .trim()
            .to_owned()
    }
}

impl Default for Netns {
    fn default() -> Self {
        Netns::new()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// The name of the host-namespace link with this ifindex (e.g. a veth's peer, from the
/// container end's `link_index`).
pub fn host_link_by_index(ifindex: u64) -> Option<String> {
    let v: Value = serde_json::from_str(&ip(&["-j", "link", "show"])).ok()?;
    v.as_array()?
        .iter()
        .find(|l| l.get("ifindex").and_then(Value::as_u64) == Some(ifindex))
        .and_then(|l| l.get("ifname").and_then(Value::as_str).map(str::to_owned))
}

/// Link names in the host namespace (to check a plugin left no host-side veth behind).
pub fn host_links() -> Vec<String> {
    link_names(&ip(&["-j", "link", "show"]))
}

fn link_names(ip_json: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(ip_json).unwrap_or(Value::Null);
    v.as_array()
        .map(|links| {
            links
                .iter()
                .filter_map(|l| l.get("ifname").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn ip(args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running ip {args:?}: {e} (apt-get install -y iproute2)"));
    assert!(
        out.status.success(),
        "ip {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
