//! The conversion matrix: every input version to every output version, compared with the
//! golden files in testdata/results/ (written by the reference Go library: see
//! conformance/goldens/main.go).

use super::*;
use crate::version::SUPPORTED_VERSIONS;
use serde_json::Value;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/results")
}

fn load(rel: &str) -> Value {
    let p = dir().join(rel);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn conversion_matrix_matches_reference() {
    let mut checked = 0;
    for from in SUPPORTED_VERSIONS {
        let input = load(&format!("input/{from}.json"));
        let parsed = Success::from_value(&input).unwrap_or_else(|e| panic!("reading {from}: {e}"));
        assert_eq!(parsed.cni_version, from);
        for to in SUPPORTED_VERSIONS {
            let want = load(&format!("{from}/{to}.json"));
            let got = parsed.to_version(to);
            match want.get("error") {
                Some(_) => assert!(got.is_err(), "{from} -> {to} should fail"),
                None => assert_eq!(got.unwrap(), want, "{from} -> {to}"),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 49);
}

#[test]
fn round_trip_through_own_output_is_stable() {
    for from in SUPPORTED_VERSIONS {
        let parsed = Success::from_value(&load(&format!("input/{from}.json"))).unwrap();
        let printed = parsed.to_version(from).unwrap();
        let again = Success::from_value(&printed).unwrap();
        assert_eq!(again, parsed, "{from}");
    }
}

#[test]
fn no_ip_result_cannot_be_020() {
    let parsed = Success::from_value(&load("input/no-ip.json")).unwrap();
    assert!(load("no-ip/0.2.0.json").get("error").is_some());
    assert_eq!(parsed.to_version("0.2.0").unwrap_err().code, 1);
    assert_eq!(
        parsed.to_version("0.4.0").unwrap(),
        load("no-ip/0.4.0.json")
    );
}

#[test]
fn malformed_results_are_decode_errors() {
    let bad = [
        r#"{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1"}]}"#,
        r#"{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1/24","interface":3}]}"#,
        r#"{"cniVersion":"1.0.0","ips":[{"gateway":"10.0.0.1"}]}"#,
        r#"{"cniVersion":"1.0.0","routes":[{"dst":"x/8"}]}"#,
        r#"{"cniVersion":"1.0.0","interfaces":{}}"#,
        r#"{"cniVersion":"0.2.0","ip4":{"ip":"fd00::1/64"}}"#,
        r#"{"cniVersion":"1.1.0","interfaces":[{"name":"a","mtu":-1}]}"#,
        r#"[]"#,
    ];
    for b in bad {
        let v: Value = serde_json::from_str(b).unwrap();
        let e = Success::from_value(&v).unwrap_err();
        assert_eq!(e.code, crate::code::DECODE, "{b}: {e}");
    }
    let v: Value = serde_json::from_str(r#"{"cniVersion":"7.0.0"}"#).unwrap();
    assert_eq!(Success::from_value(&v).unwrap_err().code, 1);
}

#[test]
fn version_less_result_takes_fallback() {
    let v: Value =
        serde_json::from_str(r#"{"ips":[{"version":"4","address":"10.0.0.1/24"}]}"#).unwrap();
    let s = Success::from_value_as(&v, "0.4.0").unwrap();
    assert_eq!(s.cni_version, "0.4.0");
    assert_eq!(s.ips.len(), 1);
}
