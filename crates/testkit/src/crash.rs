//! The crash-test driver: run ADD with a crash point named in the plugin's variable (the
//! binary SIGKILLs itself there), then DEL, and compare the host before and after. What "the
//! host" is stays with each test: it passes a function that renders it as one comparable
//! string.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::Value;

use crate::Node;

/// Install `bin/lease-ipam` under `dir`: an IPAM plugin that keeps its "lease" as the file
/// `dir/lease` (ADD creates it and returns 10.7.0.9/24, DEL removes it).
pub fn install_lease_ipam(dir: &Path) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let lease = dir.join("lease");
    let script = format!(
        "#!/bin/sh\ncase \"$CNI_COMMAND\" in\n\
         ADD) touch {l}; echo '{{\"cniVersion\":\"1.0.0\",\"ips\":[{{\"address\":\"10.7.0.9/24\"}}]}}';;\n\
         DEL) rm -f {l};;\nesac\nexit 0\n",
        l = lease.display()
    );
    let p = bin.join("lease-ipam");
    std::fs::write(&p, script).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// How many `*.json` files `dir` holds (0 when it does not exist): a plugin's records.
pub fn json_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                .count()
        })
        .unwrap_or(0)
}

/// The environment the driver runs the plugin with: CNI_PATH is the node's `bin` (where
/// [`install_lease_ipam`] puts the IPAM plugin).
pub fn cni_path(node: &Node) -> [(&'static str, String); 1] {
    [("CNI_PATH", node.dir.join("bin").display().to_string())]
}

/// What the host looked like around one crash.
#[derive(Debug)]
pub struct Crashed {
    /// Before ADD (and again after DEL: the driver asserts that).
    pub before: String,
    /// Right after the killed ADD, before DEL.
    pub after_crash: String,
}

/// ADD `conf` as container `ctr1` with `var=point` in the environment: it must die without
/// printing anything. Then DEL must succeed and leave `host_state` as it was before ADD.
/// Panics (a failed test) naming `var=point` otherwise.
pub fn add_killed_at_then_del(
    node: &Node,
    conf: &Value,
    var: &str,
    point: &str,
    host_state: impl Fn(&Node) -> String,
) -> Crashed {
    let env = cni_path(node);
    let before = host_state(node);
    let mut crash_env = env.to_vec();
    crash_env.push((var, point.to_string()));

    let (code, out) = node.cni_with("ADD", "ctr1", conf, &crash_env);
    assert_ne!(
        code, 0,
        "{var}={point}: the ADD was supposed to be killed, printed {out}"
    );
    assert_eq!(
        out,
        Value::Null,
        "{var}={point}: a killed plugin prints nothing"
    );
    let after_crash = host_state(node);

    let (code, out) = node.cni_with("DEL", "ctr1", conf, &env);
    assert_eq!(code, 0, "{var}={point}: DEL after the crash failed: {out}");
    assert_eq!(
        host_state(node),
        before,
        "{var}={point}: DEL did not restore the host"
    );
    Crashed {
        before,
        after_crash,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_files_counts_only_json_and_a_missing_dir_is_empty() {
        let dir = std::env::temp_dir().join(format!("testkit-json-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(json_files(&dir), 0);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.json"), "{}").unwrap();
        std::fs::write(dir.join("b.json.tmp"), "{}").unwrap();
        std::fs::write(dir.join("c.json"), "{}").unwrap();
        assert_eq!(json_files(&dir), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn lease_ipam_creates_the_lease_on_add_and_removes_it_on_del() {
        let dir = std::env::temp_dir().join(format!("testkit-ipam-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        install_lease_ipam(&dir);
        let run = |cmd: &str| {
            std::process::Command::new(dir.join("bin/lease-ipam"))
                .env("CNI_COMMAND", cmd)
                .output()
                .unwrap()
        };
        let out = run("ADD");
        assert!(out.status.success());
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["ips"][0]["address"], "10.7.0.9/24");
        assert!(dir.join("lease").exists());
        assert!(run("DEL").status.success());
        assert!(!dir.join("lease").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
