//! host-local's leases: `<dataDir>/<network>/<address>`, holding `<containerID>\r\n<ifname>`,
//! parsed with host-local's own parser. No lock is taken: a lease is published whole (temp
//! file, then rename), so a read sees it whole or not at all.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use nfv_hostlocal::disk::{parse_lease, LeaseContent, LEASE_MAX};
use nfv_hostlocal::Owner;
use nfv_safefs::{Dir, Kind};

use super::MAX_ENTRIES;

/// One lease file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub data_dir: PathBuf,
    /// The directory's name: host-local's `name`, the network's.
    pub network: String,
    pub address: IpAddr,
    /// The trimmed content (`None`: not text, someone else's file).
    pub content: Option<String>,
}

impl Lease {
    /// Container ID and ifname (`None` for a legacy lease holding the ID only).
    pub fn owner(&self) -> Option<(&str, Option<&str>)> {
        self.content
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(Owner::parse_key)
    }
}

/// Every lease below the data directories. The node's default is opened as the plugins open
/// their own constant roots; one given on the command line is walked without following a
/// symlink, as host-local walks a configured dataDir.
pub fn read(data_dirs: &[PathBuf], notes: &mut Vec<String>) -> Vec<Lease> {
    let mut out = Vec::new();
    for (i, data_dir) in data_dirs.iter().enumerate() {
        let opened = if i == 0 {
            Dir::open_trusted(data_dir)
        } else {
            open_given(data_dir)
        };
        let dir = match opened {
            Ok(d) => d,
            Err(e) if e.is_not_found() => continue,
            Err(e) => {
                notes.push(format!("host-local leases: {e}: not read"));
                continue;
            }
        };
        for network in names(&dir, notes) {
            // `.nfv-hostlocal` is our index, not a network.
            if network.starts_with('.') || !matches!(dir.kind(&network), Ok(Some(Kind::Dir))) {
                continue;
            }
            match dir.open_dir(&network) {
                Ok(net) => read_network(data_dir, &network, &net, &mut out, notes),
                Err(e) => notes.push(format!("host-local leases: {e}: not read")),
            }
        }
    }
    out
}

/// A dataDir given on the command line, reached as host-local reaches a configured one: from
/// `/`, no symlink followed but host-local's own trusted ones (`/var/run`).
fn open_given(path: &Path) -> Result<Dir, nfv_safefs::FsError> {
    for link in nfv_hostlocal::disk::TRUSTED_LINKS {
        if let Ok(rest) = path.strip_prefix(link) {
            let mut dir = Dir::open_trusted(Path::new(link))?;
            for c in rest.components() {
                if let std::path::Component::Normal(name) = c {
                    dir = dir.open_dir(&name.to_string_lossy())?;
                }
            }
            return Ok(dir);
        }
    }
    Dir::open(path)
}

fn read_network(
    data_dir: &Path,
    network: &str,
    dir: &Dir,
    out: &mut Vec<Lease>,
    notes: &mut Vec<String>,
) {
    for name in names(dir, notes) {
        // Lease files are named by their address (IPv6 with colons); `lock` and
        // `last_reserved_ip.N` are not leases.
        let Ok(address) = name.parse::<IpAddr>() else {
            continue;
        };
        let content = match dir.read_bounded(&name, LEASE_MAX) {
            Ok(bytes) => match parse_lease(&bytes) {
                LeaseContent::Key(k) => Some(k),
                LeaseContent::Foreign => None,
            },
            Err(e) if e.is_not_found() => continue, // released meanwhile
            Err(e) => {
                notes.push(format!("host-local lease {e}: not host-local's, not shown"));
                continue;
            }
        };
        out.push(Lease {
            data_dir: data_dir.to_path_buf(),
            network: network.to_string(),
            address,
            content,
        });
    }
}

/// The names in `dir`, sorted, at most [`MAX_ENTRIES`].
pub(crate) fn names(dir: &Dir, notes: &mut Vec<String>) -> Vec<String> {
    match dir.names() {
        Ok(mut n) => {
            n.sort();
            if n.len() > MAX_ENTRIES {
                notes.push(format!(
                    "{}: {} entries, only the first {MAX_ENTRIES} looked at",
                    dir.path().display(),
                    n.len()
                ));
                n.truncate(MAX_ENTRIES);
            }
            n
        }
        Err(e) => {
            notes.push(format!("{e}: not read"));
            Vec::new()
        }
    }
}
