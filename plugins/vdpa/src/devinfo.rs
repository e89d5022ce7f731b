//! The device-info file (Network Plumbing WG device-info spec 1.1.0, type `vdpa`) telling the
//! pod which vDPA device it got, written where `runtimeConfig.CNIDeviceInfoFile` says.

use std::path::Path;

use nfv_cni::{code, Error};
use serde_json::{json, Map, Value};

use crate::discover::Found;

/// The file's content: `parent-device` is the vDPA device's name (as the device plugin
/// reports it), `path` the char device in vhost mode; PCI addresses when the parent is PCI.
pub fn vdpa_device_info(found: &Found) -> Value {
    let mut vdpa = Map::new();
    vdpa.insert("parent-device".into(), json!(found.device.name));
    vdpa.insert("driver".into(), json!(found.mode.devinfo_name()));
    if let Some(p) = &found.device.vhost_device {
        vdpa.insert("path".into(), json!(p.display().to_string()));
    }
    if let Some(p) = found.parent {
        vdpa.insert("pci-address".into(), json!(p.to_string()));
    }
    if let Some(p) = found.pf {
        vdpa.insert("pf-pci-address".into(), json!(p.to_string()));
    }
    json!({"type": "vdpa", "version": "1.1.0", "vdpa": vdpa})
}

/// Write it atomically (temp file + rename), creating the directory.
pub fn write(path: &Path, info: &Value) -> Result<(), Error> {
    let io = |what: &str, e: std::io::Error| {
        Error::new(
            code::IO,
            format!("{what} device-info file {}: {e}", path.display()),
        )
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io("creating the directory of", e))?;
    }
    let tmp = path.with_extension("tmp");
    let body = serde_json::to_vec(info).map_err(|e| Error::new(code::IO, e.to_string()))?;
    std::fs::write(&tmp, body).map_err(|e| io("writing", e))?;
    std::fs::rename(&tmp, path).map_err(|e| io("writing", e))
}

/// Remove it; already gone is fine.
pub fn remove(path: &Path) -> Result<(), String> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("removing device-info file {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Mode;
    use nfv_pci::Sysfs;

    fn sysfs() -> Sysfs {
        Sysfs::at(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sysfs/nic"))
    }

    #[test]
    fn vhost_on_a_vf() {
        let sel = crate::config::Selector::Name("vdpa0".into());
        let f = crate::discover::find(&sysfs(), None, &sel, None).unwrap();
        assert_eq!(
            vdpa_device_info(&f),
            json!({"type": "vdpa", "version": "1.1.0", "vdpa": {
                "parent-device": "vdpa0", "driver": "vhost", "path": "/dev/vhost-vdpa-0",
                "pci-address": "0000:02:00.2", "pf-pci-address": "0000:02:00.0"}})
        );
    }

    #[test]
    fn virtio_and_simulator() {
        let s = sysfs();
        let f = crate::discover::find(
            &s,
            None,
            &crate::config::Selector::Name("vdpa1".into()),
            None,
        )
        .unwrap();
        assert_eq!(f.mode, Mode::Virtio);
        let v = vdpa_device_info(&f);
        assert_eq!(v["vdpa"]["driver"], "virtio");
        assert!(v["vdpa"].get("path").is_none());
        let f = crate::discover::find(
            &s,
            None,
            &crate::config::Selector::Name("vdpa2".into()),
            None,
        )
        .unwrap();
        assert_eq!(
            vdpa_device_info(&f)["vdpa"],
            json!({"parent-device": "vdpa2", "driver": "vhost", "path": "/dev/vhost-vdpa-1"})
        );
    }

    #[test]
    fn write_remove_roundtrip() {
        let dir = std::env::temp_dir().join(format!("vdpa-devinfo-{}", std::process::id()));
        let p = dir.join("sub/dev.json");
        let info = json!({"type": "vdpa"});
        write(&p, &info).unwrap();
        let back: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        assert_eq!(back, info);
        remove(&p).unwrap();
        remove(&p).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
