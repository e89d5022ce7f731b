//! Where the runtime asks for the file: `runtimeConfig.CNIDeviceInfoFile` (Multus sets it for
//! plugins whose config declares the `CNIDeviceInfoFile` capability).

use std::path::{Component, PathBuf};

use nfv_cni::{code, Error};
use serde_json::{Map, Value};

/// The runtimeConfig key.
pub const RUNTIME_CONFIG_KEY: &str = "CNIDeviceInfoFile";

/// `runtimeConfig.CNIDeviceInfoFile`, checked: absent, null or empty means no file; otherwise
/// a string holding an absolute path without `..` (the plugin runs as root: a relative path
/// would land wherever the runtime's working directory is). Anything else is code 7 naming
/// the field.
pub fn requested_path(
    runtime_config: &Option<Map<String, Value>>,
) -> Result<Option<PathBuf>, Error> {
    let bad = |m: String| {
        Error::new(
            code::INVALID_CONFIG,
            format!("runtimeConfig.{RUNTIME_CONFIG_KEY}: {m}"),
        )
    };
    match runtime_config
        .as_ref()
        .and_then(|m| m.get(RUNTIME_CONFIG_KEY))
    {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => {
            let p = PathBuf::from(s);
            if !p.is_absolute() || p.components().any(|c| matches!(c, Component::ParentDir)) {
                return Err(bad(format!("{s:?} must be an absolute path without '..'")));
            }
            Ok(Some(p))
        }
        Some(other) => Err(bad(format!("must be a string, got {other}"))),
    }
}

/// For DEL without a record: remove the file the config asks for. A config that asks for
/// none, or for one ADD would have refused, has nothing to remove; the error is a failure to
/// remove a file that is there.
pub fn remove_requested(
    runtime_config: &Option<Map<String, Value>>,
) -> Result<(), crate::FileError> {
    match requested_path(runtime_config) {
        Ok(Some(p)) => crate::remove(&p),
        Ok(None) | Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rc(v: Value) -> Option<Map<String, Value>> {
        v.as_object().cloned()
    }

    #[test]
    fn remove_requested_removes_only_a_valid_requested_file() {
        let dir = std::env::temp_dir().join(format!("nfv-devinfo-rmreq-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("x.json");
        std::fs::write(&f, "{}").unwrap();
        remove_requested(&None).unwrap();
        remove_requested(&rc(json!({"CNIDeviceInfoFile": "x.json"}))).unwrap();
        assert!(f.exists(), "a relative path is never touched");
        remove_requested(&rc(json!({"CNIDeviceInfoFile": f}))).unwrap();
        assert!(!f.exists());
        remove_requested(&rc(json!({"CNIDeviceInfoFile": f}))).unwrap();
        let e = remove_requested(&rc(json!({"CNIDeviceInfoFile": dir}))).unwrap_err();
        assert!(e.to_string().contains(&dir.display().to_string()), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn absent_null_or_empty_is_no_file() {
        assert_eq!(requested_path(&None).unwrap(), None);
        for v in [
            json!({}),
            json!({"CNIDeviceInfoFile": null}),
            json!({"CNIDeviceInfoFile": ""}),
        ] {
            assert_eq!(requested_path(&rc(v.clone())).unwrap(), None, "{v}");
        }
    }

    #[test]
    fn an_absolute_path_is_taken() {
        assert_eq!(
            requested_path(&rc(
                json!({"CNIDeviceInfoFile": "/var/run/k8s.cni.cncf.io/devinfo/cni/x.json"})
            ))
            .unwrap(),
            Some(PathBuf::from("/var/run/k8s.cni.cncf.io/devinfo/cni/x.json"))
        );
    }

    #[test]
    fn relative_dotdot_and_non_strings_are_refused_naming_the_field() {
        for (bad, why) in [
            (json!("relative.json"), "absolute path"),
            (json!("/a/../etc/passwd"), "without '..'"),
            (json!(5), "must be a string, got 5"),
            (json!({"a": 1}), "must be a string"),
        ] {
            let e = requested_path(&rc(json!({ "CNIDeviceInfoFile": bad }))).unwrap_err();
            assert_eq!(e.code, code::INVALID_CONFIG);
            assert!(
                e.msg.starts_with("runtimeConfig.CNIDeviceInfoFile:") && e.msg.contains(why),
                "{}",
                e.msg
            );
        }
    }
}
