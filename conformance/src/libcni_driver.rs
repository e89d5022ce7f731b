//! The real-runtime tier: `conformance/libcni/`, a small Go program over Debian's libcni
//! (the library containerd and CRI-O embed), built in GOPATH mode without network access.
//!
//! libcni does what a runtime does and what the netns tier cannot: it injects `name`,
//! `cniVersion` and `prevResult` into each plugin of a chain, filters capability args into
//! `runtimeConfig` by each plugin's declared `capabilities`, caches the ADD result under
//! `<cache-dir>/results/` and feeds it back as `prevResult` to CHECK and DEL, and parses our
//! VERSION output to validate the list.

use crate::binaries::workspace_root;
use crate::invocation::{Invocation, Outcome};
use crate::prerequisites::{require, GO, LIBCNI, REFERENCE_PLUGINS};
use crate::scratch::ScratchDir;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Where Debian's `golang-github-appc-cni-dev` puts its sources (GOPATH layout).
pub const GOCODE: &str = "/usr/share/gocode";

/// Build the driver once per test process; every later call returns the same binary.
pub fn driver_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(build).clone()
}

fn build() -> PathBuf {
    require(&[GO, LIBCNI, REFERENCE_PLUGINS]);
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let out_dir = target.join("conformance");
    std::fs::create_dir_all(&out_dir)
        .unwrap_or_else(|e| panic!("creating {}: {e}", out_dir.display()));
    // Build to a per-process name and rename: test binaries run concurrently.
    let tmp = out_dir.join(format!("cnidriver.{}", std::process::id()));
    let out = Command::new("go")
        .args(["build", "-o"])
        .arg(&tmp)
        .arg(".")
        .current_dir(workspace_root().join("conformance").join("libcni"))
        .env("GO111MODULE", "off")
        .env(
            "GOPATH",
            format!("{}:{GOCODE}", out_dir.join("gopath").display()),
        )
        .env("GOCACHE", out_dir.join("gocache"))
        .env("GOFLAGS", "")
        .output()
        .unwrap_or_else(|e| panic!("running go build: {e} (apt-get install -y golang-go)"));
    assert!(
        out.status.success(),
        "go build of conformance/libcni failed (needs golang-go and golang-github-appc-cni-dev):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bin = out_dir.join("cnidriver");
    std::fs::rename(&tmp, &bin).unwrap_or_else(|e| panic!("installing {}: {e}", bin.display()));
    bin
}

/// One attachment as a runtime manages it: a conflist, a CNI_PATH, a cache dir, and the
/// container's identity. Each verb runs the driver once.
#[derive(Debug)]
pub struct Runtime {
    pub conflist: PathBuf,
    pub cni_path: PathBuf,
    pub cache: ScratchDir,
    pub netns: PathBuf,
    pub ifname: String,
    pub container_id: String,
    /// Capability args as a JSON object, e.g. `{"mac": "..."}`.
    pub capabilities: Option<String>,
    /// CNI_ARGS pairs, `K=V;K=V`.
    pub args: Option<String>,
}

impl Runtime {
    pub fn new(
        conflist: &Path,
        cni_path: &Path,
        netns: &Path,
        ifname: &str,
        container_id: &str,
    ) -> Runtime {
        Runtime {
            conflist: conflist.to_path_buf(),
            cni_path: cni_path.to_path_buf(),
            cache: ScratchDir::new("libcni-cache"),
            netns: netns.to_path_buf(),
            ifname: ifname.to_owned(),
            container_id: container_id.to_owned(),
            capabilities: None,
            args: None,
        }
    }

    /// Run `cnidriver <verb>`: add, check, del, cached or validate.
    pub fn run(&self, verb: &str) -> Outcome {
        let mut inv = Invocation::new(&driver_binary())
            .arg(verb)
            .arg("--conflist")
            .arg(&self.conflist.display().to_string())
            .arg("--cni-path")
            .arg(&self.cni_path.display().to_string())
            .arg("--cache-dir")
            .arg(&self.cache.path().display().to_string())
            .arg("--netns")
            .arg(&self.netns.display().to_string())
            .arg("--ifname")
            .arg(&self.ifname)
            .arg("--containerid")
            .arg(&self.container_id);
        if let Some(c) = &self.capabilities {
            inv = inv.arg("--capabilities").arg(c);
        }
        if let Some(a) = &self.args {
            inv = inv.arg("--args").arg(a);
        }
        inv.run()
    }

    /// The file libcni caches the ADD result in for this attachment.
    pub fn cache_file(&self, network: &str) -> PathBuf {
        self.cache
            .join("results")
            .join(format!("{network}-{}-{}", self.container_id, self.ifname))
    }
}
