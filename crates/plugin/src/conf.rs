//! Config helpers every device plugin needs the same way: the error for a bad field, strings
//! from `runtimeConfig`, MACs, and the `deviceID` / `runtimeConfig.deviceID` agreement.

use nfv_cni::{code, CniArgs, Error};
use nfv_netlink::MacAddr;
use nfv_pci::PciAddress;
use serde_json::{Map, Value};

/// A config error (7) naming the field: `"{field}: {msg}"`.
pub fn invalid(field: &str, msg: impl std::fmt::Display) -> Error {
    Error::new(code::INVALID_CONFIG, format!("{field}: {msg}"))
}

/// `runtimeConfig.{key}` as a string; absent or null is `None`, another type is an error
/// naming `runtimeConfig.{key}`.
pub fn runtime_str<'a>(
    rc: &'a Option<Map<String, Value>>,
    key: &str,
) -> Result<Option<&'a str>, Error> {
    match rc.as_ref().and_then(|m| m.get(key)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(invalid(
            &format!("runtimeConfig.{key}"),
            format!("must be a string, got {other}"),
        )),
    }
}

/// A unicast MAC from the config; the error names `field`.
pub fn parse_mac(field: &str, s: &str) -> Result<MacAddr, Error> {
    let mac: MacAddr = s.parse().map_err(|e| invalid(field, e))?;
    if !mac.is_unicast() {
        return Err(invalid(
            field,
            format!("{mac} is not a unicast address (zero or multicast)"),
        ));
    }
    Ok(mac)
}

/// The MAC an attachment asks for, by precedence: the config's `mac` < CNI_ARGS `MAC=` <
/// `runtimeConfig.mac` (`runtime_mac` reads it the plugin's way, after the other two are
/// checked, so the first bad one is the one reported). Each must be unicast; the error names
/// where the bad one came from.
pub fn requested_mac<'a>(
    conf_mac: Option<&str>,
    args: &CniArgs,
    runtime_mac: impl FnOnce() -> Result<Option<&'a str>, Error>,
) -> Result<Option<MacAddr>, Error> {
    let mut mac = conf_mac.map(|m| parse_mac("mac", m)).transpose()?;
    if let Some(m) = args.get("MAC") {
        mac = Some(parse_mac("CNI_ARGS MAC", m)?);
    }
    if let Some(m) = runtime_mac()? {
        mac = Some(parse_mac("runtimeConfig.mac", m)?);
    }
    Ok(mac)
}

/// The device from top-level `deviceID` and `runtimeConfig.deviceID`: either, or both when
/// they agree. `what` names the device in the message ("VF", "device").
pub fn agreed_device_id(
    top: Option<PciAddress>,
    runtime: Option<PciAddress>,
    what: &str,
) -> Result<Option<PciAddress>, Error> {
    match (top, runtime) {
        (Some(a), Some(b)) if a != b => Err(invalid(
            "deviceID",
            format!("{a} disagrees with runtimeConfig.deviceID {b}: give one {what}"),
        )),
        (Some(a), _) | (None, Some(a)) => Ok(Some(a)),
        (None, None) => Ok(None),
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
    fn runtime_str_reads_strings_and_names_the_key_of_anything_else() {
        let r = rc(json!({"mac": "02:00:00:00:00:01", "gone": null, "n": 5, "e": ""}));
        assert_eq!(runtime_str(&r, "mac").unwrap(), Some("02:00:00:00:00:01"));
        assert_eq!(runtime_str(&r, "gone").unwrap(), None);
        assert_eq!(runtime_str(&r, "absent").unwrap(), None);
        assert_eq!(runtime_str(&None, "mac").unwrap(), None);
        assert_eq!(runtime_str(&r, "e").unwrap(), Some(""));
        let e = runtime_str(&r, "n").unwrap_err();
        assert_eq!(e.code, code::INVALID_CONFIG);
        assert_eq!(e.msg, "runtimeConfig.n: must be a string, got 5");
    }

    #[test]
    fn parse_mac_takes_unicast_only_and_names_the_field() {
        assert_eq!(
            parse_mac("mac", "02:00:00:00:00:01").unwrap().to_string(),
            "02:00:00:00:00:01"
        );
        let e = parse_mac("runtimeConfig.mac", "01:00:5e:00:00:01").unwrap_err();
        assert_eq!(e.code, code::INVALID_CONFIG);
        assert!(e.msg.starts_with("runtimeConfig.mac: "), "{}", e.msg);
        assert!(e.msg.contains("not a unicast address"), "{}", e.msg);
        let e = parse_mac("mac", "zz").unwrap_err();
        assert!(e.msg.starts_with("mac: "), "{}", e.msg);
    }

    #[test]
    fn the_runtime_mac_beats_cni_args_which_beat_the_config() {
        let args = CniArgs::parse("IgnoreUnknown=1;MAC=02:00:00:00:00:02").unwrap();
        let none = CniArgs::default();
        let m = |s: &str| Some(s.parse::<MacAddr>().unwrap());
        let c = Some("02:00:00:00:00:01");
        let r = || Ok(Some("02:00:00:00:00:03"));
        let absent = || Ok(None);
        assert_eq!(requested_mac(None, &none, absent).unwrap(), None);
        assert_eq!(
            requested_mac(c, &none, absent).unwrap(),
            m("02:00:00:00:00:01")
        );
        assert_eq!(
            requested_mac(c, &args, absent).unwrap(),
            m("02:00:00:00:00:02")
        );
        assert_eq!(requested_mac(c, &args, r).unwrap(), m("02:00:00:00:00:03"));
        let e = requested_mac(Some("ff:ff:ff:ff:ff:ff"), &args, r).unwrap_err();
        assert!(e.msg.starts_with("mac: "), "{}", e.msg);
        let e = requested_mac(None, &none, || Ok(Some(""))).unwrap_err();
        assert!(e.msg.starts_with("runtimeConfig.mac: "), "{}", e.msg);
        // The config's own MAC is checked before runtimeConfig is read.
        let unread = || Err(invalid("runtimeConfig.mac", "must be a string, got 5"));
        let e = requested_mac(Some("zz"), &none, unread).unwrap_err();
        assert!(e.msg.starts_with("mac: "), "{}", e.msg);
    }

    #[test]
    fn device_ids_must_agree_when_both_are_given() {
        let a: PciAddress = "0000:03:00.2".parse().unwrap();
        let b: PciAddress = "0000:03:00.3".parse().unwrap();
        assert_eq!(agreed_device_id(Some(a), None, "VF").unwrap(), Some(a));
        assert_eq!(agreed_device_id(None, Some(b), "VF").unwrap(), Some(b));
        assert_eq!(agreed_device_id(Some(a), Some(a), "VF").unwrap(), Some(a));
        assert_eq!(agreed_device_id(None, None, "VF").unwrap(), None);
        let e = agreed_device_id(Some(a), Some(b), "device").unwrap_err();
        assert_eq!(e.code, code::INVALID_CONFIG);
        assert_eq!(
            e.msg,
            "deviceID: 0000:03:00.2 disagrees with runtimeConfig.deviceID 0000:03:00.3: give one device"
        );
    }
}
