//! What ADD did, written before the first change so DEL (or GC) can undo it, even after a
//! crash half-way through ADD. One small JSON file per attachment, written atomically; one
//! lock file per vDPA device. Never the only way to clean up: DEL without a record still finds
//! the device from the config and brings a virtio netdev home.

use std::path::PathBuf;

use nfv_podnet::HostNetdev;
use serde::{Deserialize, Serialize};

use crate::config::Mode;

/// Where the vdpa plugin keeps records.
pub const STATE_DIR: &str = "/var/lib/cni/nfv-vdpa";

/// Where the sriov plugin keeps the records of the vDPA devices it hands to this code: apart
/// from the vdpa plugin's, so that GC of an sriov network (which hands its stale hand-offs to
/// this code's GC) never touches an attachment of a vdpa network, nor the reverse.
pub const HANDOFF_STATE_DIR: &str = "/var/lib/cni/nfv-sriov/vdpa";

/// Every store of vDPA attachments on a node. A vdpa NAD and an sriov NAD may name the same
/// device, so each plugin refuses a device that a record in any of them holds, under a lock in
/// the first (see `lock.rs`). Each keeps its records where earlier releases wrote them.
pub const NODE_STATE_DIRS: [&str; 2] = [STATE_DIR, HANDOFF_STATE_DIR];

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
    /// The device-info file ADD writes (nothing was there before ADD), removed by DEL.
    /// Records of earlier releases name the file they wrote here too.
    pub device_info_file: Option<String>,
    /// The device-info file that was already there at ADD (Multus copied the device plugin's,
    /// device-info spec §5.1.2): kept as it was, never removed by DEL. Absent from the file
    /// when there is none: other records keep their bytes and the format its version (a
    /// binary that does not know the field ignores it and removes nothing either).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_info_kept: Option<String>,
    /// The network (`name` of the config at ADD; the sriov network's for a hand-off): GC of
    /// a network only tears down its own attachments. Empty in records written before it
    /// existed (GC then leaves them to DEL), and absent from the file when empty, so those
    /// records keep their bytes (and the format its version).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub network: String,
}

/// The records of one node: versioned, so a record of another version, or an unreadable
/// one, is ignored (with a warning) and DEL works from the config.
pub type RecordStore = nfv_records::RecordStore<Record>;

/// The store in `dir` ([`STATE_DIR`] on a node).
pub fn store(dir: impl Into<PathBuf>) -> RecordStore {
    RecordStore::new(dir).versioned(RECORD_VERSION)
}

// Keyed by the vDPA device's name.
nfv_records::attachment_record!(Record, network);

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
            device_info_kept: None,
            network: "vdpa-net".into(),
        }
    }

    /// A kept device-info file is recorded apart from one ADD wrote, and read back; a record
    /// without one has no such key (the format stays version 1).
    #[test]
    fn a_kept_device_info_file_is_recorded_apart() {
        let mut r = record();
        assert!(!serde_json::to_string(&r)
            .unwrap()
            .contains("deviceInfoKept"));
        r.device_info_kept = Some("/run/k8s.cni.cncf.io/devinfo/cni/x.json".into());
        let text = serde_json::to_string(&r).unwrap();
        assert!(
            text.contains(r#""deviceInfoFile":null,"deviceInfoKept":"/run/k8s.cni.cncf.io/devinfo/cni/x.json""#),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Record>(&text).unwrap(), r);
    }

    #[test]
    fn roundtrip_lock_and_holder() {
        let dir = std::env::temp_dir().join(format!("vdpa-records-{}", std::process::id()));
        let store = store(&dir);
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
        let store = store(&dir);
        let mut r = record();
        r.version = 2;
        store.save(&r).unwrap();
        assert_eq!(store.load("c1", "net1").unwrap(), None);
        assert!(store.all().unwrap().is_empty());
        std::fs::write(dir.join("c2-net1.json"), b"{not json").unwrap();
        assert_eq!(store.load("c2", "net1").unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Records written by the binary before the store moved to nfv-records (fixtures saved by
    /// that code): the new binary finds them, and writes the same bytes back.
    #[test]
    fn records_of_the_earlier_binary_load_and_save_byte_for_byte() {
        use nfv_testkit::records::{assert_resaved_byte_for_byte, state_dir_with};
        let fixtures = [
            (
                "0123456789abcdef-net1.json",
                &include_bytes!("../tests/fixtures/0123456789abcdef-net1.json")[..],
            ),
            (
                "fedcba9876543210-net1.json",
                &include_bytes!("../tests/fixtures/fedcba9876543210-net1.json")[..],
            ),
        ];
        let dir = state_dir_with("vdpa-records-fx", &fixtures);
        let store = store(&dir);
        let virtio = store.load("0123456789abcdef", "net1").unwrap().unwrap();
        assert_eq!(virtio.mode, Mode::Virtio);
        assert_eq!(virtio.device, "vdpa1");
        let saved = virtio.netdev.clone().unwrap();
        assert_eq!(
            (
                saved.host.name.as_str(),
                saved.host.up,
                saved.kernel_device.as_str()
            ),
            ("eth5", true, "virtio1")
        );
        assert_eq!(
            virtio.device_info_file.as_deref(),
            Some("/var/run/k8s.cni.cncf.io/devinfo/cni/0123456789abcdef-net1-device.json")
        );
        let vhost = store.holder_of("vdpa0").unwrap().unwrap();
        assert_eq!((vhost.mode, vhost.netdev.clone()), (Mode::Vhost, None));
        assert_resaved_byte_for_byte(&store, &fixtures);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
