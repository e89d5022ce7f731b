//! Writing and removing the file. The write is atomic (a temp file next to it, fsync, rename)
//! so the pod never reads half a file; remove treats "already gone" as done, so DEL can run
//! any number of times.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::Serialize;

#[cfg(test)]
use crate::spec::DeviceInfo;

/// How the JSON is laid out. The plugins keep the layout they always wrote, so a file is
/// byte-for-byte what earlier releases wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One line, no trailing newline (sriov, vdpa).
    Compact,
    /// Pretty-printed with a trailing newline (userspace).
    Pretty,
}

/// A failed file operation, naming the step and the path (an encoding failure is step
/// "encoding", its serde error wrapped as [`io::ErrorKind::Other`]).
#[derive(Debug, thiserror::Error)]
#[error("{step} device-info file {}: {source}", path.display())]
pub struct FileError {
    /// What was being done: "encoding", "creating the directory of", "writing", "removing".
    pub step: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

impl From<FileError> for nfv_cni::Error {
    fn from(e: FileError) -> Self {
        nfv_cni::Error::new(nfv_cni::code::IO, e.to_string())
    }
}

/// The bytes [`write`] puts in the file.
pub fn encode<T: Serialize + ?Sized>(
    content: &T,
    layout: Layout,
) -> Result<Vec<u8>, serde_json::Error> {
    match layout {
        Layout::Compact => serde_json::to_vec(content),
        Layout::Pretty => serde_json::to_vec_pretty(content).map(|mut b| {
            b.push(b'\n');
            b
        }),
    }
}

/// The temp file next to `path` (`x.json` -> `x.json.tmp`).
fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Write the file atomically, creating its directory. It is readable by all (0644): the pod's
/// processes need not run as root to read it. `content` is a [`DeviceInfo`](crate::DeviceInfo),
/// or a plugin's own type that flattens one and adds an extension object (readers of the spec
/// ignore fields they do not know).
pub fn write<T: Serialize + ?Sized>(
    path: &Path,
    content: &T,
    layout: Layout,
) -> Result<(), FileError> {
    let err = |step: &'static str| {
        move |source: io::Error| FileError {
            step,
            path: path.to_path_buf(),
            source,
        }
    };
    let body = encode(content, layout).map_err(|e| err("encoding")(io::Error::other(e)))?;
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(err("creating the directory of"))?;
    }
    let tmp = temp_path(path);
    let written = (|| {
        let mut f: File = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&tmp)?;
        f.write_all(&body)?;
        // The umask may have taken bits off the mode given to open().
        f.set_permissions(fs::Permissions::from_mode(0o644))?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written.map_err(err("writing"))
}

/// Remove the file; already gone is fine.
pub fn remove(path: &Path) -> Result<(), FileError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(FileError {
            step: "removing",
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Pci, VhostUser, VhostUserMode};

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("nfv-devinfo-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    fn pci() -> DeviceInfo {
        DeviceInfo::pci(Pci {
            pci_address: "0000:01:10.0".into(),
            pf_pci_address: Some("0000:01:00.0".into()),
            ..Pci::default()
        })
    }

    #[test]
    fn write_remove_roundtrip_creates_the_directory() {
        let d = scratch("roundtrip");
        let p = d.join("sub/dir/dev.json");
        write(&p, &pci(), Layout::Compact).unwrap();
        let back: DeviceInfo = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
        assert_eq!(back, pci());
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        assert_eq!(
            fs::read_dir(p.parent().unwrap()).unwrap().count(),
            1,
            "no temp file left next to it"
        );
        remove(&p).unwrap();
        assert!(!p.exists());
        remove(&p).unwrap();
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn rewriting_replaces_the_content() {
        let d = scratch("rewrite");
        let p = d.join("dev.json");
        write(&p, &pci(), Layout::Compact).unwrap();
        let other = DeviceInfo::vhost_user(VhostUser {
            mode: VhostUserMode::Client,
            path: "/s".into(),
        });
        write(&p, &other, Layout::Pretty).unwrap();
        assert_eq!(
            fs::read(&p).unwrap(),
            encode(&other, Layout::Pretty).unwrap()
        );
        fs::remove_dir_all(&d).unwrap();
    }

    /// Byte-for-byte what sriov wrote with `json!` + `to_vec` (compact, no newline).
    #[test]
    fn compact_layout_matches_earlier_releases() {
        assert_eq!(
            String::from_utf8(encode(&pci(), Layout::Compact).unwrap()).unwrap(),
            r#"{"type":"pci","version":"1.1.0","pci":{"pci-address":"0000:01:10.0","pf-pci-address":"0000:01:00.0"}}"#
        );
    }

    /// Byte-for-byte what userspace wrote with `to_vec_pretty` plus a newline.
    #[test]
    fn pretty_layout_matches_earlier_releases() {
        let info = DeviceInfo::vhost_user(VhostUser {
            mode: VhostUserMode::Server,
            path: "/var/run/vhost/abcdef012345/net1".into(),
        });
        assert_eq!(
            String::from_utf8(encode(&info, Layout::Pretty).unwrap()).unwrap(),
            "{\n  \"type\": \"vhost-user\",\n  \"version\": \"1.1.0\",\n  \"vhost-user\": {\n    \
             \"mode\": \"server\",\n    \"path\": \"/var/run/vhost/abcdef012345/net1\"\n  }\n}\n"
        );
    }

    #[test]
    fn a_write_that_fails_names_the_file_and_leaves_nothing() {
        let d = scratch("fail");
        fs::create_dir_all(&d).unwrap();
        // The "directory" is a regular file: creating it fails.
        fs::write(d.join("file"), b"").unwrap();
        let p = d.join("file/dev.json");
        let e = write(&p, &pci(), Layout::Compact).unwrap_err();
        assert_eq!(e.step, "creating the directory of");
        let cni: nfv_cni::Error = e.into();
        assert_eq!(cni.code, nfv_cni::code::IO);
        assert!(cni.msg.contains("file/dev.json"), "{}", cni.msg);
        // The target is a directory: the rename fails and the temp file is cleaned up.
        let p = d.join("taken");
        fs::create_dir_all(p.join("inside")).unwrap();
        let e = write(&p, &pci(), Layout::Compact).unwrap_err();
        assert_eq!(e.step, "writing");
        assert!(!d.join("taken.tmp").exists());
        let e = remove(&p).unwrap_err();
        assert_eq!(e.step, "removing");
        fs::remove_dir_all(&d).unwrap();
    }

    /// A plugin's extension object next to the spec's fields, through the same writer.
    #[test]
    fn extended_content_is_written_the_same_way() {
        #[derive(Serialize)]
        struct Extended {
            #[serde(flatten)]
            info: DeviceInfo,
            vfio: Option<u32>,
        }
        let d = scratch("extended");
        let p = d.join("dev.json");
        let ext = Extended {
            info: pci(),
            vfio: Some(12),
        };
        write(&p, &ext, Layout::Compact).unwrap();
        assert_eq!(
            fs::read_to_string(&p).unwrap(),
            r#"{"type":"pci","version":"1.1.0","pci":{"pci-address":"0000:01:10.0","pf-pci-address":"0000:01:00.0"},"vfio":12}"#
        );
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn content_that_cannot_be_encoded_is_an_encoding_error_and_writes_nothing() {
        use std::collections::BTreeMap;
        let d = scratch("encode");
        let p = d.join("dev.json");
        // JSON object keys must be strings.
        let bad: BTreeMap<Vec<u8>, u8> = [(vec![1u8], 1u8)].into_iter().collect();
        let e = write(&p, &bad, Layout::Compact).unwrap_err();
        assert_eq!(e.step, "encoding");
        assert!(!d.exists(), "nothing created");
    }
}
