//! What ADD changed, written before the first change so DEL (or GC) can undo it, even after
//! a crash half-way through ADD. One JSON file per attachment; one lock file per VF.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use nfv_cni::{code, Error};
use nfv_netlink::{MacAddr, VfInfo, VfLinkState, VfSetting, VlanProto};
use serde::{Deserialize, Serialize};

/// Where the records live on a node.
pub const STATE_DIR: &str = "/var/lib/cni/nfv-sriov";

/// A VF's settings on the PF before ADD changed them (only those ADD changes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SavedVf {
    pub mac: Option<String>,
    pub vlan: Option<(u32, u32, bool)>,
    pub spoofchk: Option<bool>,
    pub trust: Option<bool>,
    pub rate: Option<(u32, u32)>,
    pub link_state: Option<u32>,
}

impl SavedVf {
    /// Remember, from the VF's current state, the fields `changes` will overwrite.
    pub fn capture(current: &VfInfo, changes: &[VfSetting]) -> SavedVf {
        let mut s = SavedVf::default();
        for c in changes {
            match c {
                VfSetting::Mac(_) => s.mac = Some(current.mac.to_string()),
                VfSetting::Vlan { .. } => {
                    s.vlan = Some((
                        current.vlan,
                        current.qos,
                        current.vlan_proto == VlanProto::Dot1Ad,
                    ))
                }
                VfSetting::SpoofCheck(_) => s.spoofchk = current.spoofchk,
                VfSetting::Trust(_) => s.trust = current.trust,
                VfSetting::Rate { .. } => s.rate = Some((current.min_tx_rate, current.max_tx_rate)),
                VfSetting::LinkState(_) => {
                    s.link_state = current.link_state.map(|l| match l {
                        VfLinkState::Auto => 0,
                        VfLinkState::Enable => 1,
                        VfLinkState::Disable => 2,
                    })
                }
            }
        }
        s
    }

    /// The settings that put the saved fields back.
    pub fn restore_settings(&self) -> Vec<VfSetting> {
        let mut out = Vec::new();
        if let Some(m) = self.mac.as_deref().and_then(|m| m.parse::<MacAddr>().ok()) {
            out.push(VfSetting::Mac(m));
        }
        if let Some((vlan, qos, ad)) = self.vlan {
            let proto = if ad {
                VlanProto::Dot1Ad
            } else {
                VlanProto::Dot1Q
            };
            out.push(VfSetting::Vlan { vlan, qos, proto });
        }
        if let Some(s) = self.spoofchk {
            out.push(VfSetting::SpoofCheck(s));
        }
        if let Some(t) = self.trust {
            out.push(VfSetting::Trust(t));
        }
        if let Some((min_mbps, max_mbps)) = self.rate {
            out.push(VfSetting::Rate { min_mbps, max_mbps });
        }
        match self.link_state {
            Some(0) => out.push(VfSetting::LinkState(VfLinkState::Auto)),
            Some(1) => out.push(VfSetting::LinkState(VfLinkState::Enable)),
            Some(2) => out.push(VfSetting::LinkState(VfLinkState::Disable)),
            _ => {}
        }
        out
    }
}

/// How the VF was given to the pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum VfMode {
    /// Its kernel netdev was moved into the pod.
    #[default]
    Netdev,
    /// Bound to a userspace-I/O driver (vfio-pci, uio_pci_generic, igb_uio): no netdev; the
    /// pod's DPDK app drives the device. Only the VF settings on the PF were changed.
    Userspace,
}

/// One attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub container_id: String,
    pub ifname: String,
    /// VF PCI address.
    pub device: String,
    pub pf_netdev: String,
    pub vf_index: u32,
    /// Netdev or userspace-driver mode (records written before the mode existed are netdev).
    #[serde(default)]
    pub mode: VfMode,
    /// The userspace driver the VF was bound to at ADD (userspace mode).
    #[serde(default)]
    pub driver: Option<String>,
    /// The VF netdev's name, MAC and MTU in the host before ADD (empty in userspace mode).
    pub host_ifname: String,
    pub host_mac: Option<String>,
    pub host_mtu: Option<u32>,
    /// Whether the VF netdev was administratively up in the host before ADD.
    #[serde(default)]
    pub host_up: bool,
    /// The VF settings ADD changes on the PF, as they were.
    pub saved_vf: SavedVf,
    /// CNI_NETNS at ADD.
    pub netns: String,
    /// The device-info file ADD wrote (runtimeConfig.CNIDeviceInfoFile), removed by DEL.
    #[serde(default)]
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

impl RecordStore {
    pub fn new(dir: impl Into<PathBuf>) -> RecordStore {
        RecordStore { dir: dir.into() }
    }

    fn path(&self, container_id: &str, ifname: &str) -> PathBuf {
        self.dir.join(format!("{container_id}-{ifname}.json"))
    }

    /// Take the per-VF lock (held until the returned file is dropped).
    pub fn lock_vf(&self, device: &str) -> Result<File, Error> {
        std::fs::create_dir_all(&self.dir).map_err(|e| io_err("creating", &self.dir, e))?;
        let path = self.dir.join(format!("{device}.lock"));
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

    pub fn load(&self, container_id: &str, ifname: &str) -> Result<Option<Record>, Error> {
        let path = self.path(container_id, ifname);
        match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| Error::new(code::IO, format!("reading {}: {e}", path.display()))),
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

    /// Every record (for GC); unreadable files are skipped.
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
                        out.push(r);
                    }
                }
            }
        }
        Ok(out)
    }

    /// The record, if any, that holds this VF.
    pub fn holder_of(&self, device: &str) -> Result<Option<Record>, Error> {
        Ok(self.all()?.into_iter().find(|r| r.device == device))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_vf_restores_exactly_what_was_changed() {
        let current = VfInfo {
            id: 1,
            mac: "02:00:00:00:00:09".parse().unwrap(),
            vlan: 0,
            qos: 0,
            spoofchk: Some(true),
            trust: None,
            link_state: Some(VfLinkState::Auto),
            ..Default::default()
        };
        let changes = [
            VfSetting::Vlan {
                vlan: 100,
                qos: 0,
                proto: VlanProto::Dot1Q,
            },
            VfSetting::SpoofCheck(false),
            VfSetting::Trust(true),
        ];
        let saved = SavedVf::capture(&current, &changes);
        assert_eq!(
            saved.restore_settings(),
            vec![
                VfSetting::Vlan {
                    vlan: 0,
                    qos: 0,
                    proto: VlanProto::Dot1Q
                },
                VfSetting::SpoofCheck(true),
            ],
            "trust was not reported by the driver: nothing to restore; MAC untouched"
        );
    }

    #[test]
    fn records_without_a_mode_are_netdev_mode() {
        let old = r#"{"containerId":"c","ifname":"net1","device":"0000:01:10.0","pfNetdev":"p",
            "vfIndex":0,"hostIfname":"p0v0","hostMac":null,"hostMtu":null,
            "savedVf":{"mac":null,"vlan":null,"spoofchk":null,"trust":null,"rate":null,
            "link_state":null},"netns":"/run/netns/x"}"#;
        let r: Record = serde_json::from_str(old).unwrap();
        assert_eq!((r.mode, r.driver.clone()), (VfMode::Netdev, None));
        let mut u = r.clone();
        u.mode = VfMode::Userspace;
        let text = serde_json::to_string(&u).unwrap();
        assert!(text.contains(r#""mode":"userspace""#), "{text}");
    }

    #[test]
    fn store_roundtrip_and_lock() {
        let dir = std::env::temp_dir().join(format!("sriov-records-{}", std::process::id()));
        let store = RecordStore::new(&dir);
        let r = Record {
            container_id: "c1".into(),
            ifname: "net1".into(),
            device: "0000:01:10.0".into(),
            pf_netdev: "enp1s0".into(),
            vf_index: 0,
            mode: VfMode::Netdev,
            driver: None,
            host_ifname: "enp1s0v0".into(),
            host_mac: Some("02:00:00:00:00:01".into()),
            host_mtu: Some(1500),
            host_up: true,
            saved_vf: SavedVf::default(),
            netns: "/run/netns/x".into(),
            device_info_file: None,
        };
        assert_eq!(store.load("c1", "net1").unwrap(), None);
        let _lock = store.lock_vf(&r.device).unwrap();
        store.save(&r).unwrap();
        assert_eq!(store.load("c1", "net1").unwrap(), Some(r.clone()));
        assert_eq!(store.holder_of("0000:01:10.0").unwrap(), Some(r));
        store.remove("c1", "net1").unwrap();
        store.remove("c1", "net1").unwrap();
        assert!(store.all().unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
