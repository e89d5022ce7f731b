//! What ADD did, written before the first change so DEL (or GC) can undo it, even after a
//! crash half-way through ADD. One small JSON file per attachment, written atomically; one
//! lock file per vDPA device. Never the only way to clean up: DEL without a record still finds
//! the device from the config and brings a virtio netdev home.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use nfv_cni::{code, Error};
use nfv_podnet::HostNetdev;
use serde::{Deserialize, Serialize};

use crate::config::Mode;

/// Where the binary keeps records.
pub const STATE_DIR: &str = "/var/lib/cni/nfv-vdpa";

/// The record format; a record of another version is not read (DEL then works from the config).
pub const RECORD_VERSION: u32 = 1;

/// The virtio netdev as it was in the host before ADD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedNetdev {
    /// Name, MAC, MTU, admin state.
    #[serde(flatten)]
    pub host: HostNetdev,
    /// The kernel device it sits on (`virtio3`), to recognise it wherever it is.
    pub kernel_device: String,
}

/// One attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub version: u32,
    pub container_id: String,
    pub ifname: String,
    /// The vDPA device's name.
    pub device: String,
    pub mode: Mode,
    /// Virtio mode: the netdev that moved into the pod.
    pub netdev: Option<SavedNetdev>,
    /// CNI_NETNS at ADD.
    pub netns: String,
    /// The device-info file ADD wrote, removed by DEL.
    pub device_info_file: Option<String>,
}

/// The records of one node.
#[derive(Debug, Clone)]
pub struct RecordStore {
    dir: PathBuf,
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::new(code::IO, format!("{what} {}: {e}", path.display()))
}

/// A file-name-safe form of a device name (`vdpa:0000:65:00.2` stays readable).
fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.:".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl RecordStore {
    pub fn new(dir: impl Into<PathBuf>) -> RecordStore {
        RecordStore { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, container_id: &str, ifname: &str) -> PathBuf {
        self.dir.join(format!("{container_id}-{ifname}.json"))
    }

    /// Take the per-device lock (held until the returned file is dropped).
    pub fn lock_device(&self, device: &str) -> Result<File, Error> {
        std::fs::create_dir_all(&self.dir).map_err(|e| io_err("creating", &self.dir, e))?;
        let path = self.dir.join(format!("{}.lock", file_safe(device)));
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| io_err("opening", &path, e))?;
        f.lock().map_err(|e| io_err("locking", &path, e))?;
        Ok(f)
    }

    /// Write a record atomically (temp file, fsync, rename).
    pub fn save(&self, r: &Record) -> Result<(), Error> {
        std::fs::create_dir_all(&self.dir).map_err(|e| io_err("creating", &self.dir, e))?;
        let path = self.path(&r.container_id, &r.ifname);
        let tmp = path.with_extension("json.tmp");
        let body = serde_json::to_vec_pretty(r)
            .map_err(|e| Error::new(code::IO, format!("encoding the record: {e}")))?;
        let mut f = File::create(&tmp).map_err(|e| io_err("writing", &tmp, e))?;
        f.write_all(&body).map_err(|e| io_err("writing", &tmp, e))?;
        f.sync_all().map_err(|e| io_err("syncing", &tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io_err("renaming", &tmp, e))
    }

    /// The record of an attachment; `None` when there is none or it is of another version.
    pub fn load(&self, container_id: &str, ifname: &str) -> Result<Option<Record>, Error> {
        let path = self.path(container_id, ifname);
        match std::fs::read(&path) {
            Ok(b) => match serde_json::from_slice::<Record>(&b) {
                Ok(r) if r.version == RECORD_VERSION => Ok(Some(r)),
                Ok(r) => {
                    nfv_cni::warn!(
                        "{}: record version {} is not {RECORD_VERSION}; ignored",
                        path.display(),
                        r.version
                    );
                    Ok(None)
                }
                Err(e) => {
                    nfv_cni::warn!("{}: unreadable record ignored: {e}", path.display());
                    Ok(None)
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err("reading", &path, e)),
        }
    }

    /// Remove a record; already gone is fine.
    pub fn remove(&self, container_id: &str, ifname: &str) -> Result<(), Error> {
        let path = self.path(container_id, ifname);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("removing", &path, e)),
        }
    }

    /// Every readable record of this version (for GC).
    pub fn all(&self) -> Result<Vec<Record>, Error> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("listing", &self.dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let p = entry.path();
            if p.extension().is_some_and(|x| x == "json") {
                if let Ok(b) = std::fs::read(&p) {
                    if let Ok(r) = serde_json::from_slice::<Record>(&b) {
                        if r.version == RECORD_VERSION {
                            out.push(r);
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// The record, if any, that holds this device.
    pub fn holder_of(&self, device: &str) -> Result<Option<Record>, Error> {
        Ok(self.all()?.into_iter().find(|r| r.device == device))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            version: RECORD_VERSION,
            container_id: "c1".into(),
            ifname: "net1".into(),
            device: "vdpa:0000:65:00.2".into(),
            mode: Mode::Virtio,
            netdev: Some(SavedNetdev {
                host: HostNetdev {
                    name: "eth5".into(),
                    mac: Some("02:00:00:00:0a:01".into()),
                    mtu: Some(1500),
                    up: false,
                },
                kernel_device: "virtio1".into(),
            }),
            netns: "/run/netns/x".into(),
            device_info_file: None,
        }
    }

    #[test]
    fn roundtrip_lock_and_holder() {
        let dir = std::env::temp_dir().join(format!("vdpa-records-{}", std::process::id()));
        let store = RecordStore::new(&dir);
        let r = record();
        assert_eq!(store.load("c1", "net1").unwrap(), None);
        let _lock = store.lock_device(&r.device).unwrap();
        store.save(&r).unwrap();
        assert_eq!(store.load("c1", "net1").unwrap(), Some(r.clone()));
        assert_eq!(store.holder_of("vdpa:0000:65:00.2").unwrap(), Some(r));
        store.remove("c1", "net1").unwrap();
        store.remove("c1", "net1").unwrap();
        assert!(store.all().unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn other_versions_and_garbage_are_not_read() {
        let dir = std::env::temp_dir().join(format!("vdpa-records-v-{}", std::process::id()));
        let store = RecordStore::new(&dir);
        let mut r = record();
        r.version = 2;
        store.save(&r).unwrap();
        assert_eq!(store.load("c1", "net1").unwrap(), None);
        assert!(store.all().unwrap().is_empty());
        std::fs::write(dir.join("c2-net1.json"), b"{not json").unwrap();
        assert_eq!(store.load("c2", "net1").unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
