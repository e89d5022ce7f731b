//! userspace-cni's per-attachment files, `<base>/data/local-<containerID[:12]>-<ifname>.json`
//! (the names the userspace plugin's DEL derives to remove them, `Places::userspace_cni_data_file`):
//! listed through nfv-safefs, each read within a bound for its network name only.

use std::path::Path;

use nfv_safefs::{Dir, Kind};

/// userspace-cni's files hold its NetConf and result: a few KiB.
const MAX_BYTES: u64 = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserspaceCniFile {
    pub name: String,
    /// The container ID's first 12 characters and the ifname, from the file name.
    pub cid12: String,
    pub ifname: String,
    /// The config's `name`, when the file holds one.
    pub network: Option<String>,
}

impl UserspaceCniFile {
    /// The OVS port userspace-cni names after the attachment (its default socket file name).
    pub fn port_name(&self) -> String {
        format!("{}-{}", self.cid12, self.ifname)
    }
}

/// The attachment a file name stands for, `local-<cid12>-<ifname>.json`.
pub fn parse_name(name: &str) -> Option<(String, String)> {
    let stem = name.strip_prefix("local-")?.strip_suffix(".json")?;
    let (cid12, ifname) = stem.split_once('-')?;
    (!cid12.is_empty() && !ifname.is_empty()).then(|| (cid12.to_string(), ifname.to_string()))
}

pub fn read(dir: &Path, notes: &mut Vec<String>) -> Vec<UserspaceCniFile> {
    let d = match Dir::open_trusted(dir) {
        Ok(d) => d,
        Err(e) if e.is_not_found() => return Vec::new(),
        Err(e) => {
            notes.push(format!("userspace-cni's files: {e}: not read"));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for name in super::leases::names(&d, notes) {
        let Some((cid12, ifname)) = parse_name(&name) else {
            continue;
        };
        if !matches!(d.kind(&name), Ok(Some(Kind::File))) {
            notes.push(format!(
                "{}: not a regular file: not userspace-cni's, not shown",
                d.join(&name).display()
            ));
            continue;
        }
        let network = d
            .read_bounded(&name, MAX_BYTES)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(str::to_string));
        out.push(UserspaceCniFile {
            name,
            cid12,
            ifname,
            network,
        });
    }
    out
}
