//! Where the runtime asks for the file: `runtimeConfig.CNIDeviceInfoFile` (Multus sets it for
//! plugins whose config declares the `CNIDeviceInfoFile` capability), and where it may lie:
//! only in the device-info tree Multus uses ([`ROOTS`]). Whoever may create a
//! NetworkAttachmentDefinition writes this value, and the plugin writes and deletes the file
//! as root, so a path anywhere else is refused at ADD and ignored by DEL, CHECK and GC.

use std::path::PathBuf;

use nfv_cni::{code, Error};
use nfv_safefs::{Place, Problem};
use serde_json::{Map, Value};

/// The runtimeConfig key.
pub const RUNTIME_CONFIG_KEY: &str = "CNIDeviceInfoFile";

/// The field, as messages name it.
pub const FIELD: &str = "runtimeConfig.CNIDeviceInfoFile";

/// The device-info tree (device-info spec 1.1.0; Multus writes the CNI side under `cni/`,
/// the device plugin its own under `dp/`). `/var/run` is a symlink to `/run` on most nodes:
/// both spellings are accepted, each reached from its own root.
pub const ROOTS: [&str; 2] = [
    "/var/run/k8s.cni.cncf.io/devinfo",
    "/run/k8s.cni.cncf.io/devinfo",
];

/// The place the plugins pass to every function here ([`ROOTS`]). Tests pass a place of
/// their own under a scratch directory.
pub fn place() -> Place {
    Place::new(FIELD, ROOTS)
}

/// `runtimeConfig.CNIDeviceInfoFile` for ADD: absent, null or empty means no file; otherwise
/// a string naming a file strictly below one of `place`'s roots (absolute, no `.` or `..`).
/// Anything else is code 7 naming the field and where the file must lie. Lexical only: the
/// directories are checked for symlinks when the file is used.
pub fn requested_path(
    runtime_config: &Option<Map<String, Value>>,
    place: &Place,
) -> Result<Option<PathBuf>, Error> {
    let bad = |m: String| Error::new(code::INVALID_CONFIG, format!("{FIELD}: {m}"));
    match runtime_config
        .as_ref()
        .and_then(|m| m.get(RUNTIME_CONFIG_KEY))
    {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => {
            let p = PathBuf::from(s);
            match place.check(&p) {
                Ok(_) => Ok(Some(p)),
                Err(e) => Err(bad(format!(
                    "{s:?} is refused: {}; the plugin only writes device-info files in the \
                     tree Multus uses (e.g. {}/cni/<name>-device.json)",
                    match e.problem {
                        Problem::NotAllowed(why) => why,
                        other => other.to_string(),
                    },
                    place
                        .roots()
                        .first()
                        .map(|r| r.display().to_string())
                        .unwrap_or_default()
                ))),
            }
        }
        Some(other) => Err(bad(format!("must be a string, got {other}"))),
    }
}

/// `runtimeConfig.CNIDeviceInfoFile` for DEL, CHECK and GC: the path when ADD would have
/// taken it, else `None` (logged). A value ADD refuses never makes these verbs fail, and
/// they never touch a file ADD would not have written.
pub fn requested_path_for_teardown(
    runtime_config: &Option<Map<String, Value>>,
    place: &Place,
) -> Option<PathBuf> {
    match requested_path(runtime_config, place) {
        Ok(p) => p,
        Err(e) => {
            nfv_cni::info!("ignoring {}: ADD would refuse it", e.msg);
            None
        }
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
    fn absent_null_or_empty_is_no_file() {
        assert_eq!(requested_path(&None, &place()).unwrap(), None);
        for v in [
            json!({}),
            json!({"CNIDeviceInfoFile": null}),
            json!({"CNIDeviceInfoFile": ""}),
        ] {
            assert_eq!(
                requested_path(&rc(v.clone()), &place()).unwrap(),
                None,
                "{v}"
            );
        }
    }

    #[test]
    fn a_path_in_the_device_info_tree_is_taken_under_both_spellings() {
        for p in [
            "/var/run/k8s.cni.cncf.io/devinfo/cni/x.json",
            "/run/k8s.cni.cncf.io/devinfo/cni/x.json",
            "/run/k8s.cni.cncf.io/devinfo/x.json",
        ] {
            assert_eq!(
                requested_path(&rc(json!({ "CNIDeviceInfoFile": p })), &place()).unwrap(),
                Some(PathBuf::from(p))
            );
        }
    }

    #[test]
    fn paths_elsewhere_and_non_strings_are_refused_naming_the_field_and_the_tree() {
        for (bad, why) in [
            (json!("relative.json"), "absolute path"),
            (json!("/a/../etc/passwd"), "'..'"),
            (
                json!("/run/k8s.cni.cncf.io/devinfo/../../../etc/passwd"),
                "'..'",
            ),
            (
                json!("/etc/passwd"),
                "must lie below /var/run/k8s.cni.cncf.io/devinfo or /run/k8s.cni.cncf.io/devinfo",
            ),
            (json!("/run/k8s.cni.cncf.io/devinfo"), "must lie below"),
            (
                json!("/run/k8s.cni.cncf.io/devinfox/a.json"),
                "must lie below",
            ),
            (json!(5), "must be a string, got 5"),
            (json!({"a": 1}), "must be a string"),
        ] {
            let e = requested_path(&rc(json!({ "CNIDeviceInfoFile": bad })), &place()).unwrap_err();
            assert_eq!(e.code, code::INVALID_CONFIG);
            assert!(
                e.msg.starts_with("runtimeConfig.CNIDeviceInfoFile:") && e.msg.contains(why),
                "{}",
                e.msg
            );
            assert_eq!(
                requested_path_for_teardown(&rc(json!({ "CNIDeviceInfoFile": bad })), &place()),
                None,
                "DEL, CHECK and GC ignore it"
            );
        }
    }
}
