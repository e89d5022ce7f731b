//! The device-info file (Network Plumbing WG device-info spec 1.1.0, type `pci`) that tells
//! the pod which PCI device it got, written where `runtimeConfig.CNIDeviceInfoFile` says.

use std::path::{Path, PathBuf};

use nfv_cni::{code, Error};
use serde_json::{json, Map, Value};

/// `runtimeConfig.CNIDeviceInfoFile`, checked: an absolute path without `..`.
pub fn requested_path(
    runtime_config: &Option<Map<String, Value>>,
) -> Result<Option<PathBuf>, Error> {
    let bad = |m: String| {
        Error::new(
            code::INVALID_CONFIG,
            format!("runtimeConfig.CNIDeviceInfoFile: {m}"),
        )
    };
    match runtime_config
        .as_ref()
        .and_then(|m| m.get("CNIDeviceInfoFile"))
    {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => {
            let p = PathBuf::from(s);
            if !p.is_absolute()
                || p.components()
                    .any(|c| matches!(c, std::path::Component::ParentDir))
            {
                return Err(bad(format!("{s:?} must be an absolute path without '..'")));
            }
            Ok(Some(p))
        }
        Some(other) => Err(bad(format!("must be a string, got {other}"))),
    }
}

/// The file's content for a VF.
pub fn pci_device_info(pci_address: &str, pf_pci_address: &str) -> Value {
    json!({
        "type": "pci",
        "version": "1.1.0",
        "pci": {
            "pci-address": pci_address,
            "pf-pci-address": pf_pci_address,
        }
    })
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

    fn rc(v: Value) -> Option<Map<String, Value>> {
        v.as_object().cloned()
    }

    #[test]
    fn path_rules() {
        assert_eq!(requested_path(&None).unwrap(), None);
        assert_eq!(
            requested_path(&rc(
                json!({"CNIDeviceInfoFile": "/var/run/k8s.cni.cncf.io/devinfo/cni/x.json"})
            ))
            .unwrap(),
            Some(PathBuf::from("/var/run/k8s.cni.cncf.io/devinfo/cni/x.json"))
        );
        for bad in [json!("relative.json"), json!("/a/../etc/passwd"), json!(5)] {
            let e = requested_path(&rc(json!({ "CNIDeviceInfoFile": bad }))).unwrap_err();
            assert!(
                e.msg.starts_with("runtimeConfig.CNIDeviceInfoFile:"),
                "{}",
                e.msg
            );
        }
    }

    #[test]
    fn content_follows_the_spec_and_write_remove_roundtrip() {
        let info = pci_device_info("0000:01:10.0", "0000:01:00.0");
        assert_eq!(info["type"], "pci");
        assert_eq!(info["version"], "1.1.0");
        assert_eq!(info["pci"]["pci-address"], "0000:01:10.0");
        assert_eq!(info["pci"]["pf-pci-address"], "0000:01:00.0");
        let dir = std::env::temp_dir().join(format!("sriov-devinfo-{}", std::process::id()));
        let p = dir.join("sub/dev.json");
        write(&p, &info).unwrap();
        let back: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        assert_eq!(back, info);
        remove(&p).unwrap();
        remove(&p).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
