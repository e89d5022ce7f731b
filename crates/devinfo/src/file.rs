//! Writing and removing the file, only inside a [`Place`] (the device-info tree, [`crate::place`]),
//! every directory reached without following symlinks (nfv-safefs).
//!
//! - ADD asks [`existing`] before it changes anything: a file already there is the one Multus
//!   copied from the device plugin (device-info spec §5.1.2) and is kept, never written over;
//!   the plugin remembers that it did not write it.
//! - [`write`] creates the file atomically (an exclusively created temp file in the same
//!   directory, fsync, rename), mode 0444 as nadutils writes these files.
//! - DEL removes only a file this attachment wrote: [`remove_written`] when the plugin's record
//!   says so, [`remove_if_ours`] without a record (the content must be exactly what ADD writes
//!   for this attachment). Anything else (another file, a symlink, a FIFO, a path outside the
//!   tree) is left in place with a log line, and is never an error: DEL must not fail on it.

use std::io;
use std::path::{Path, PathBuf};

use nfv_safefs::{Dir, FsError, Kind, Place, Problem, Removed};
use serde::Serialize;

use crate::path::FIELD;

/// The file's mode: readable by all, written by no one (nadutils writes them 0444).
pub const MODE: u32 = 0o444;
/// Directories created on the way (Multus creates `cni/` 0755 too).
const DIR_MODE: u32 = 0o755;
/// A device-info file is a few hundred bytes; anything bigger is not one.
const MAX_BYTES: u64 = 64 * 1024;

/// How the JSON is laid out. The plugins keep the layout they always wrote, so a file is
/// byte-for-byte what earlier releases wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One line, no trailing newline (sriov, vdpa).
    Compact,
    /// Pretty-printed with a trailing newline (userspace).
    Pretty,
}

/// A failed or refused file operation, naming the step and the file.
#[derive(Debug, thiserror::Error)]
#[error("{step} device-info file {}: {problem}", path.display())]
pub struct FileError {
    /// What was being done: "encoding", "checking", "creating the directory of", "writing",
    /// "removing".
    pub step: &'static str,
    pub path: PathBuf,
    #[source]
    pub problem: Problem,
}

impl FileError {
    fn fs<'a>(step: &'static str, path: &'a Path) -> impl FnOnce(FsError) -> FileError + 'a {
        move |e| FileError {
            step,
            path: path.to_path_buf(),
            problem: e.problem,
        }
    }

    /// The path may not be used (outside the tree, a symlink on the way, not a regular
    /// file): the config's fault, not the node's.
    pub fn is_refusal(&self) -> bool {
        refused(&self.problem)
    }
}

fn refused(p: &Problem) -> bool {
    matches!(
        p,
        Problem::Symlink | Problem::WrongKind { .. } | Problem::NotAllowed(_)
    )
}

/// A refusal is code 7 naming the field and the fix; anything else is an I/O error (5).
impl From<FileError> for nfv_cni::Error {
    fn from(e: FileError) -> Self {
        if e.is_refusal() {
            nfv_cni::Error::new(
                nfv_cni::code::INVALID_CONFIG,
                format!(
                    "{FIELD}: {e}; name a file in the device-info tree that is reached \
                     without symbolic links and is a regular file or does not exist yet"
                ),
            )
        } else {
            nfv_cni::Error::new(nfv_cni::code::IO, e.to_string())
        }
    }
}

/// What [`write`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The file is ours: created by this call.
    Wrote,
    /// A regular file was already there (§5.1.2): kept as it is, nothing written.
    Kept,
}

/// What a remove did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Removed,
    /// Nothing there: already done.
    Absent,
    /// Something that is not ours is there: left in place (and logged).
    Left,
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

/// ADD, before anything changes: whether a regular file is at `path` already (Multus copied
/// the device plugin's there: keep it). A missing directory means no file. A symlink on the
/// way, or an entry that is not a regular file, is refused.
pub fn existing(place: &Place, path: &Path) -> Result<bool, FileError> {
    let (dir, name) = match place.open_parent(path, None) {
        Ok(found) => found,
        Err(e) if e.is_not_found() => return Ok(false),
        Err(e) => return Err(FileError::fs("checking", path)(e)),
    };
    match dir.stat(&name).map_err(FileError::fs("checking", path))? {
        None => Ok(false),
        Some(st) => match Kind::of(&st) {
            Kind::File => Ok(true),
            Kind::Symlink => Err(FileError {
                step: "checking",
                path: path.to_path_buf(),
                problem: Problem::Symlink,
            }),
            found => Err(FileError {
                step: "checking",
                path: path.to_path_buf(),
                problem: Problem::WrongKind {
                    found,
                    expected: Kind::File,
                },
            }),
        },
    }
}

/// ADD's decision about the requested file, made before anything changes (and recorded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AtAdd {
    /// Nothing there: ADD writes it, DEL removes it.
    Write(PathBuf),
    /// A regular file there already (device-info spec §5.1.2): kept, never removed.
    Keep(PathBuf),
}

impl AtAdd {
    /// [`existing`] decides: `None` when no file is asked for.
    pub fn decide(place: &Place, path: Option<PathBuf>) -> Result<Option<AtAdd>, FileError> {
        let Some(path) = path else { return Ok(None) };
        Ok(Some(if existing(place, &path)? {
            nfv_cni::info!(
                "device-info file {} is already there (copied by Multus from the device \
                 plugin): keeping it (device-info spec 5.1.2)",
                path.display()
            );
            AtAdd::Keep(path)
        } else {
            AtAdd::Write(path)
        }))
    }

    /// The file ADD writes, if it does.
    pub fn written(&self) -> Option<&Path> {
        match self {
            AtAdd::Write(p) => Some(p),
            AtAdd::Keep(_) => None,
        }
    }

    /// The file ADD found and keeps, if so.
    pub fn kept(&self) -> Option<&Path> {
        match self {
            AtAdd::Keep(p) => Some(p),
            AtAdd::Write(_) => None,
        }
    }
}

/// Write the file atomically in `place`, creating missing directories below its root, mode
/// 0444 (the pod's processes need not run as root to read it). A regular file already there
/// is kept (§5.1.2), anything else there is refused. `content` is a
/// [`DeviceInfo`](crate::DeviceInfo), or a plugin's own type that flattens one and adds an
/// extension object (readers of the spec ignore fields they do not know).
pub fn write<T: Serialize + ?Sized>(
    place: &Place,
    path: &Path,
    content: &T,
    layout: Layout,
) -> Result<Written, FileError> {
    let body = encode(content, layout).map_err(|e| FileError {
        step: "encoding",
        path: path.to_path_buf(),
        problem: Problem::Io(io::Error::other(e)),
    })?;
    let (dir, name) = place
        .open_parent(path, Some(DIR_MODE))
        .map_err(FileError::fs("creating the directory of", path))?;
    // A regular file is the case to keep; write_atomic refuses any other kind itself.
    if dir.kind(&name).map_err(FileError::fs("writing", path))? == Some(Kind::File) {
        nfv_cni::info!(
            "device-info file {} is already there: kept as it is (device-info spec 5.1.2)",
            path.display()
        );
        return Ok(Written::Kept);
    }
    dir.write_atomic(&name, &body, MODE)
        .map_err(FileError::fs("writing", path))?;
    Ok(Written::Wrote)
}

fn left(path: &Path, why: impl std::fmt::Display) -> Removal {
    nfv_cni::info!("device-info file {} left in place: {why}", path.display());
    Removal::Left
}

/// The directory holding `path`, for a remove: `Err(removal)` when there is nothing to do.
fn parent_for_remove(
    place: &Place,
    path: &Path,
) -> Result<Result<(Dir, String), Removal>, FileError> {
    match place.open_parent(path, None) {
        Ok(found) => Ok(Ok(found)),
        Err(e) if e.is_not_found() => Ok(Err(Removal::Absent)),
        Err(e) if refused(&e.problem) => Ok(Err(left(path, e))),
        Err(e) => Err(FileError::fs("removing", path)(e)),
    }
}

fn remove_regular(dir: &Dir, name: &str, path: &Path) -> Result<Removal, FileError> {
    match dir.remove(name, Kind::File) {
        Ok(Removed::Removed) => Ok(Removal::Removed),
        Ok(Removed::Absent) => Ok(Removal::Absent),
        Ok(Removed::NotEmpty) => Ok(left(path, "it is not a regular file")),
        Err(e) if refused(&e.problem) => Ok(left(path, e)),
        Err(e) => Err(FileError::fs("removing", path)(e)),
    }
}

/// DEL (and ADD's rollback) when the plugin's record says ADD wrote `path`: remove it if it
/// is a regular file in `place`; gone is done. A path outside `place` (a record of an earlier
/// release, which wrote wherever the config said), a symlink or another kind of file is left
/// in place.
pub fn remove_written(place: &Place, path: &Path) -> Result<Removal, FileError> {
    let (dir, name) = match parent_for_remove(place, path)? {
        Ok(found) => found,
        Err(done) => return Ok(done),
    };
    remove_regular(&dir, &name, path)
}

/// DEL without a record: remove `path` only when it is recognisably this attachment's, a
/// regular file in `place` whose JSON content is exactly `ours` (what ADD writes for this
/// attachment; the layout does not matter). Any other file is left in place.
pub fn remove_if_ours<T: Serialize + ?Sized>(
    place: &Place,
    path: &Path,
    ours: &T,
) -> Result<Removal, FileError> {
    let ours = serde_json::to_value(ours).map_err(|e| FileError {
        step: "encoding",
        path: path.to_path_buf(),
        problem: Problem::Io(io::Error::other(e)),
    })?;
    let (dir, name) = match parent_for_remove(place, path)? {
        Ok(found) => found,
        Err(done) => return Ok(done),
    };
    let bytes = match dir.read_bounded(&name, MAX_BYTES) {
        Ok(b) => b,
        Err(e) if e.is_not_found() => return Ok(Removal::Absent),
        Err(e) if refused(&e.problem) || matches!(e.problem, Problem::TooLarge(_)) => {
            return Ok(left(path, e))
        }
        Err(e) => return Err(FileError::fs("removing", path)(e)),
    };
    match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(v) if v == ours => remove_regular(&dir, &name, path),
        _ => Ok(left(
            path,
            "no record of this attachment, and its content is not what ADD writes for it \
             (another attachment's, or the device plugin's)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{DeviceInfo, Pci, VhostUser, VhostUserMode};
    use std::fs;
    use std::os::unix::fs::{symlink, PermissionsExt};

    /// A scratch device-info tree: (scratch dir, place rooted at `<dir>/devinfo`).
    fn scratch(name: &str) -> (PathBuf, Place) {
        let d = std::env::temp_dir().join(format!("nfv-devinfo-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        let place = Place::new(FIELD, [d.join("devinfo")]);
        (d, place)
    }

    fn pci() -> DeviceInfo {
        DeviceInfo::pci(Pci {
            pci_address: "0000:01:10.0".into(),
            pf_pci_address: Some("0000:01:00.0".into()),
            ..Pci::default()
        })
    }

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn add_decides_to_write_a_missing_file_and_keep_an_existing_one() {
        let (d, place) = scratch("decide");
        let p = d.join("devinfo/cni/dev.json");
        assert_eq!(AtAdd::decide(&place, None).unwrap(), None);
        let w = AtAdd::decide(&place, Some(p.clone())).unwrap().unwrap();
        assert_eq!((w.written(), w.kept()), (Some(p.as_path()), None));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, b"{}").unwrap();
        let k = AtAdd::decide(&place, Some(p.clone())).unwrap().unwrap();
        assert_eq!((k.written(), k.kept()), (None, Some(p.as_path())));
        let e = AtAdd::decide(&place, Some(d.join("x.json"))).unwrap_err();
        assert!(e.is_refusal(), "outside the place: {e}");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn write_remove_roundtrip_creates_the_directory_0444() {
        let (d, place) = scratch("roundtrip");
        let p = d.join("devinfo/sub/dir/dev.json");
        assert!(!existing(&place, &p).unwrap());
        assert_eq!(
            write(&place, &p, &pci(), Layout::Compact).unwrap(),
            Written::Wrote
        );
        let back: DeviceInfo = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
        assert_eq!(back, pci());
        assert_eq!(mode(&p), 0o444);
        assert!(existing(&place, &p).unwrap());
        assert_eq!(
            fs::read_dir(p.parent().unwrap()).unwrap().count(),
            1,
            "no temp file left next to it"
        );
        assert_eq!(remove_written(&place, &p).unwrap(), Removal::Removed);
        assert!(!p.exists());
        assert_eq!(remove_written(&place, &p).unwrap(), Removal::Absent);
        fs::remove_dir_all(&d).unwrap();
    }

    /// device-info spec §5.1.2: a file already there (Multus copied the device plugin's) is
    /// kept, byte for byte and mode.
    #[test]
    fn an_existing_file_is_kept_not_written_over() {
        let (d, place) = scratch("kept");
        let p = d.join("devinfo/cni/dev.json");
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, b"{\"from\":\"the device plugin\"}").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(existing(&place, &p).unwrap());
        let other = DeviceInfo::vhost_user(VhostUser {
            mode: VhostUserMode::Client,
            path: "/s".into(),
        });
        assert_eq!(
            write(&place, &p, &other, Layout::Pretty).unwrap(),
            Written::Kept
        );
        assert_eq!(fs::read(&p).unwrap(), b"{\"from\":\"the device plugin\"}");
        assert_eq!(mode(&p), 0o600);
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
        let (d, place) = scratch("fail");
        fs::create_dir_all(d.join("devinfo")).unwrap();
        // The "directory" is a regular file: creating it fails.
        fs::write(d.join("devinfo/file"), b"").unwrap();
        let p = d.join("devinfo/file/dev.json");
        let e = write(&place, &p, &pci(), Layout::Compact).unwrap_err();
        assert_eq!(e.step, "creating the directory of");
        let cni: nfv_cni::Error = e.into();
        assert_eq!(cni.code, nfv_cni::code::INVALID_CONFIG);
        assert!(
            cni.msg.starts_with("runtimeConfig.CNIDeviceInfoFile:")
                && cni.msg.contains("file/dev.json"),
            "{}",
            cni.msg
        );
        // The target is a directory: refused, nothing written next to it.
        let p = d.join("devinfo/taken");
        fs::create_dir_all(p.join("inside")).unwrap();
        let e = write(&place, &p, &pci(), Layout::Compact).unwrap_err();
        assert!(e.is_refusal(), "{e}");
        assert_eq!(fs::read_dir(d.join("devinfo")).unwrap().count(), 2);
        assert!(existing(&place, &p).unwrap_err().is_refusal());
        assert_eq!(remove_written(&place, &p).unwrap(), Removal::Left);
        assert!(p.join("inside").exists());
        fs::remove_dir_all(&d).unwrap();
    }

    /// Hostile: a symlink planted as a directory of the tree points elsewhere. ADD refuses it
    /// and nothing is written or removed through it.
    #[test]
    fn a_symlinked_directory_is_never_followed() {
        let (d, place) = scratch("symdir");
        let target = d.join("elsewhere");
        fs::create_dir_all(&target).unwrap();
        fs::create_dir_all(d.join("devinfo")).unwrap();
        symlink(&target, d.join("devinfo/cni")).unwrap();
        let p = d.join("devinfo/cni/dev.json");
        let e = existing(&place, &p).unwrap_err();
        assert!(matches!(e.problem, Problem::Symlink), "{e}");
        let e = write(&place, &p, &pci(), Layout::Compact).unwrap_err();
        assert!(matches!(e.problem, Problem::Symlink), "{e}");
        let cni: nfv_cni::Error = e.into();
        assert_eq!(cni.code, nfv_cni::code::INVALID_CONFIG);
        assert_eq!(
            fs::read_dir(&target).unwrap().count(),
            0,
            "nothing written there"
        );
        fs::write(
            target.join("dev.json"),
            encode(&pci(), Layout::Compact).unwrap(),
        )
        .unwrap();
        assert_eq!(remove_written(&place, &p).unwrap(), Removal::Left);
        assert_eq!(remove_if_ours(&place, &p, &pci()).unwrap(), Removal::Left);
        assert!(target.join("dev.json").exists(), "nothing removed there");
        fs::remove_dir_all(&d).unwrap();
    }

    /// Hostile: the file itself is a symlink (or a FIFO, a directory): never written through,
    /// never removed.
    #[test]
    fn a_symlink_or_fifo_in_place_of_the_file_is_left_alone() {
        let (d, place) = scratch("symfile");
        fs::create_dir_all(d.join("devinfo")).unwrap();
        let victim = d.join("victim");
        fs::write(&victim, b"keep").unwrap();
        let p = d.join("devinfo/dev.json");
        symlink(&victim, &p).unwrap();
        assert!(existing(&place, &p).unwrap_err().is_refusal());
        assert!(write(&place, &p, &pci(), Layout::Compact)
            .unwrap_err()
            .is_refusal());
        assert_eq!(remove_written(&place, &p).unwrap(), Removal::Left);
        assert_eq!(remove_if_ours(&place, &p, &pci()).unwrap(), Removal::Left);
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert!(
            fs::symlink_metadata(&p).is_ok(),
            "the link itself stays too"
        );
        let fifo = d.join("devinfo/fifo.json");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert!(existing(&place, &fifo).unwrap_err().is_refusal());
        assert_eq!(remove_written(&place, &fifo).unwrap(), Removal::Left);
        assert_eq!(
            remove_if_ours(&place, &fifo, &pci()).unwrap(),
            Removal::Left
        );
        assert!(fifo.exists());
        fs::remove_dir_all(&d).unwrap();
    }

    /// Without a record, only a file whose content is exactly this attachment's is removed.
    #[test]
    fn without_a_record_only_our_own_content_is_removed() {
        let (d, place) = scratch("ours");
        let p = d.join("devinfo/cni/dev.json");
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        let other = DeviceInfo::pci(Pci {
            pci_address: "0000:01:10.7".into(),
            ..Pci::default()
        });
        for foreign in [
            encode(&other, Layout::Compact).unwrap(),
            b"ssh-ed25519 AAAA".to_vec(),
            Vec::new(),
        ] {
            fs::write(&p, &foreign).unwrap();
            assert_eq!(remove_if_ours(&place, &p, &pci()).unwrap(), Removal::Left);
            assert_eq!(fs::read(&p).unwrap(), foreign);
        }
        // Ours in either layout.
        for layout in [Layout::Compact, Layout::Pretty] {
            fs::write(&p, encode(&pci(), layout).unwrap()).unwrap();
            assert_eq!(
                remove_if_ours(&place, &p, &pci()).unwrap(),
                Removal::Removed
            );
            assert!(!p.exists());
        }
        assert_eq!(remove_if_ours(&place, &p, &pci()).unwrap(), Removal::Absent);
        let missing_dir = d.join("devinfo/none/dev.json");
        assert_eq!(
            remove_if_ours(&place, &missing_dir, &pci()).unwrap(),
            Removal::Absent
        );
        fs::remove_dir_all(&d).unwrap();
    }

    /// Hostile: a path outside the tree (a record of an earlier release, or a config) is never
    /// removed, whatever it holds.
    #[test]
    fn a_path_outside_the_place_is_left_alone() {
        let (d, place) = scratch("outside");
        let victim = d.join("victim.json");
        fs::write(&victim, encode(&pci(), Layout::Compact).unwrap()).unwrap();
        assert_eq!(remove_written(&place, &victim).unwrap(), Removal::Left);
        assert_eq!(
            remove_if_ours(&place, &victim, &pci()).unwrap(),
            Removal::Left
        );
        assert!(victim.exists());
        let e = write(&place, &d.join("new.json"), &pci(), Layout::Compact).unwrap_err();
        assert!(e.is_refusal());
        assert!(!d.join("new.json").exists());
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
        let (d, place) = scratch("extended");
        let p = d.join("devinfo/dev.json");
        let ext = Extended {
            info: pci(),
            vfio: Some(12),
        };
        write(&place, &p, &ext, Layout::Compact).unwrap();
        assert_eq!(
            fs::read_to_string(&p).unwrap(),
            r#"{"type":"pci","version":"1.1.0","pci":{"pci-address":"0000:01:10.0","pf-pci-address":"0000:01:00.0"},"vfio":12}"#
        );
        assert_eq!(remove_if_ours(&place, &p, &ext).unwrap(), Removal::Removed);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn content_that_cannot_be_encoded_is_an_encoding_error_and_writes_nothing() {
        use std::collections::BTreeMap;
        let (d, place) = scratch("encode");
        let p = d.join("devinfo/dev.json");
        // JSON object keys must be strings.
        let bad: BTreeMap<Vec<u8>, u8> = [(vec![1u8], 1u8)].into_iter().collect();
        let e = write(&place, &p, &bad, Layout::Compact).unwrap_err();
        assert_eq!(e.step, "encoding");
        let cni: nfv_cni::Error = e.into();
        assert_eq!(cni.code, nfv_cni::code::IO);
        assert!(!d.join("devinfo").exists(), "nothing created");
        fs::remove_dir_all(&d).unwrap();
    }
}
