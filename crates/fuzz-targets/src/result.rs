//! CNI results of every version and the conversions between them (input: a result as JSON,
//! as a delegated IPAM plugin prints it or the runtime passes it as prevResult).
//!
//! Properties: reading is total (a result or a decode/version error); a result that reads,
//! printed in any version, reads back, and printing what was read back gives the same JSON
//! (conversion reaches a fixed point after one step); nothing but the documented losses
//! happens: 0.3.0 and later keep every address, interface and route destination, 0.1.0/0.2.0
//! keep the first address of each family, and only they may refuse (a result without one).

use nfv_cni::result::Success;
use nfv_cni::version::{Version, SUPPORTED_VERSIONS};
use nfv_cni::{code, Error};
use serde_json::Value;

pub fn run(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let mut read = vec![checked(Success::from_value(&v))];
    // As prevResult without a cniVersion of its own: read in the config's version.
    for fallback in SUPPORTED_VERSIONS {
        read.push(checked(Success::from_value_as(&v, fallback)));
    }
    for s in read.into_iter().flatten() {
        for version in SUPPORTED_VERSIONS {
            convert(&s, version);
        }
        assert!(
            s.to_version("9.9.9").is_err(),
            "printed in an unknown version"
        );
    }
}

fn checked(r: Result<Success, Error>) -> Option<Success> {
    match r {
        Ok(s) => {
            assert!(
                nfv_cni::version::is_supported(&s.cni_version),
                "read as {:?}",
                s.cni_version
            );
            for ip in &s.ips {
                if let Some(i) = ip.interface {
                    assert!(i < s.interfaces.len(), "ips[].interface {i} out of range");
                }
            }
            Some(s)
        }
        Err(e) => {
            assert!(
                [code::DECODE, code::INCOMPATIBLE_VERSION].contains(&e.code),
                "read failed with code {}: {}",
                e.code,
                e.msg
            );
            None
        }
    }
}

fn convert(s: &Success, version: &str) {
    let legacy = Version::parse(version).unwrap() < Version(0, 3, 0);
    let printed = match s.to_version(version) {
        Ok(p) => p,
        Err(e) => {
            assert!(legacy, "printing as {version} failed: {e}");
            assert!(
                s.ips.is_empty(),
                "printing as {version} failed with addresses: {e}"
            );
            assert_eq!(e.code, code::INCOMPATIBLE_VERSION);
            return;
        }
    };
    assert_eq!(printed["cniVersion"], version);
    let back = Success::from_value(&printed)
        .unwrap_or_else(|e| panic!("{version} result does not read back: {e}\n{printed}"));
    assert_eq!(back.cni_version, version);
    let again = back
        .to_version(version)
        .unwrap_or_else(|e| panic!("{version} result read back does not print: {e}"));
    assert_eq!(printed, again, "printing as {version} is not stable");
    // Through text too: what a runtime actually receives.
    let text = serde_json::to_vec(&printed).unwrap();
    let reparsed: Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(reparsed, printed, "{version} JSON does not survive text");

    assert_eq!(back.dns, s.dns, "{version}: dns changed");
    let addrs = |x: &Success| x.ips.iter().map(|i| i.address).collect::<Vec<_>>();
    if legacy {
        let first = |x: &Success, v4: bool| {
            x.ips
                .iter()
                .find(|i| i.address.is_ipv4() == v4)
                .map(|i| (i.address, i.gateway))
        };
        for v4 in [true, false] {
            assert_eq!(
                first(&back, v4),
                first(s, v4),
                "{version}: first address changed"
            );
        }
        assert!(back.interfaces.is_empty());
        assert!(back.ips.len() <= 2);
    } else {
        assert_eq!(addrs(&back), addrs(s), "{version}: addresses changed");
        let names = |x: &Success| {
            x.interfaces
                .iter()
                .map(|i| i.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&back), names(s), "{version}: interfaces changed");
        let dsts = |x: &Success| x.routes.iter().map(|r| (r.dst, r.gw)).collect::<Vec<_>>();
        assert_eq!(dsts(&back), dsts(s), "{version}: routes changed");
        if version == "1.1.0" {
            let mut expected = s.clone();
            expected.cni_version = version.to_string();
            assert_eq!(back, expected, "1.1.0 lost something");
        }
    }
}
