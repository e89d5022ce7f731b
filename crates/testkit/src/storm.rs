//! Storm helpers: several runs of a plugin binary racing for one device. Each contender has
//! its own pod namespace ([`Pods`]); an IPAM stub keeps one lease file per attachment and can
//! be slowed down ([`install_leases_ipam`], [`set_ipam_delay`]) so that an ADD stays in flight
//! while another verb runs; [`together`] starts closures at the same instant.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Barrier;

use nfv_netlink::Netns;

/// Named pod namespaces, `<prefix>-<pid>-<n>-<i>`, deleted when dropped.
#[derive(Debug)]
pub struct Pods {
    names: Vec<String>,
}

impl Pods {
    pub fn new(prefix: &str, n: usize) -> Pods {
        let id = crate::unique_id();
        let names: Vec<String> = (0..n).map(|i| format!("{prefix}-{id}-{i}")).collect();
        for name in &names {
            Netns::create_named(name).unwrap();
        }
        Pods { names }
    }

    /// The i-th pod's namespace path (CNI_NETNS).
    pub fn path(&self, i: usize) -> PathBuf {
        Path::new("/run/netns").join(&self.names[i])
    }

    pub fn open(&self, i: usize) -> Netns {
        Netns::open(self.path(i)).unwrap()
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

impl Drop for Pods {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = Netns::delete_named(n);
        }
    }
}

/// Install `dir/bin/lease-ipam`: ADD waits `dir/ipam-delay` seconds (when that file exists),
/// creates `dir/leases/<CNI_CONTAINERID>-<CNI_IFNAME>` and returns 10.7.0.9/24; DEL removes
/// that file; other verbs do nothing.
pub fn install_leases_ipam(dir: &Path) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(dir.join("leases")).unwrap();
    let script = format!(
        "#!/bin/sh\nd={d}\nl=\"$d/leases/$CNI_CONTAINERID-$CNI_IFNAME\"\n\
         case \"$CNI_COMMAND\" in\n\
         ADD) t=$(cat $d/ipam-delay 2>/dev/null); [ -n \"$t\" ] && sleep \"$t\"; touch \"$l\"; \
         echo '{{\"cniVersion\":\"1.0.0\",\"ips\":[{{\"address\":\"10.7.0.9/24\"}}]}}';;\n\
         DEL) rm -f \"$l\";;\nesac\nexit 0\n",
        d = dir.display()
    );
    let p = bin.join("lease-ipam");
    std::fs::write(&p, script).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Make the stub's ADD wait `seconds` (a `sleep` argument, "0.2"); `None`: no wait.
pub fn set_ipam_delay(dir: &Path, seconds: Option<&str>) {
    let p = dir.join("ipam-delay");
    match seconds {
        Some(s) => std::fs::write(p, s).unwrap(),
        None => {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// The leases the stub holds, as `<containerID>-<ifname>`, sorted.
pub fn leases(dir: &Path) -> Vec<String> {
    names(&dir.join("leases"))
}

/// The names of the entries of `dir`, sorted (none when it does not exist).
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Run `f(0)` .. `f(n-1)` on `n` threads released at the same instant; their results in order.
pub fn together<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let start = Barrier::new(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (f, start) = (&f, &start);
                s.spawn(move || {
                    start.wait();
                    f(i)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Print the storm's line for the reliability report (docs/reliability.md).
pub fn report(name: &str, rounds: usize, contenders: usize, outcome: &str) {
    crate::reliability::report(serde_json::json!({"kind": "storm", "name": name,
        "rounds": rounds, "contenders": contenders, "outcome": outcome}));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn together_runs_every_index_once_and_keeps_the_order() {
        let out = together(4, |i| i * 10);
        assert_eq!(out, vec![0, 10, 20, 30]);
    }

    #[test]
    fn the_leases_stub_keeps_one_file_per_attachment() {
        let dir = std::env::temp_dir().join(format!("testkit-leases-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        install_leases_ipam(&dir);
        set_ipam_delay(&dir, Some("0.01"));
        let run = |cmd: &str, cid: &str| {
            std::process::Command::new(dir.join("bin/lease-ipam"))
                .env("CNI_COMMAND", cmd)
                .env("CNI_CONTAINERID", cid)
                .env("CNI_IFNAME", "net1")
                .output()
                .unwrap()
        };
        let out = run("ADD", "a");
        assert!(out.status.success());
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["ips"][0]["address"], "10.7.0.9/24");
        assert!(run("ADD", "b").status.success());
        assert_eq!(leases(&dir), vec!["a-net1", "b-net1"]);
        assert!(run("DEL", "a").status.success());
        assert_eq!(leases(&dir), vec!["b-net1"]);
        set_ipam_delay(&dir, None);
        assert!(!dir.join("ipam-delay").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
