//! Expected JSON from `testdata/conformance/`, and the few substitutions that make a live
//! result comparable with it.
//!
//! Only values a test generates itself are normalised: container IDs, namespace paths, the
//! host-side veth name derived from them, and MAC addresses the kernel picks at random. Each
//! test lists its substitutions; everything else must match exactly, key order aside.

use crate::binaries::workspace_root;
use serde_json::Value;
use std::path::PathBuf;

pub fn testdata_dir() -> PathBuf {
    workspace_root().join("testdata").join("conformance")
}

/// Parse `testdata/conformance/<rel>`.
pub fn load(rel: &str) -> Value {
    let path = testdata_dir().join(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// `testdata/conformance/<rel>` with `@KEY@` placeholders replaced.
/// Fails the test if a placeholder is left over.
pub fn render_str(rel: &str, vars: &[(&str, &str)]) -> String {
    let path = testdata_dir().join(rel);
    let mut text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    for (k, v) in vars {
        text = text.replace(&format!("@{k}@"), v);
    }
    assert!(
        !text.contains('@'),
        "{rel}: placeholder left unreplaced in\n{text}"
    );
    text
}

/// [`render_str`], written to `dest` (a conflist for the libcni driver).
pub fn render(rel: &str, vars: &[(&str, &str)], dest: &std::path::Path) {
    let text = render_str(rel, vars);
    std::fs::write(dest, text).unwrap_or_else(|e| panic!("writing {}: {e}", dest.display()));
}

/// [`render_str`], parsed.
pub fn render_json(rel: &str, vars: &[(&str, &str)]) -> Value {
    let text = render_str(rel, vars);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing rendered {rel}: {e}"))
}

/// Literal substitutions applied to every string in a document: each `(from, to)` replaces
/// occurrences of `from` (a generated value) with `to` (its placeholder, e.g. `<NETNS>`).
#[derive(Debug, Clone, Default)]
pub struct Normaliser {
    literals: Vec<(String, String)>,
    random_macs: bool,
}

impl Normaliser {
    pub fn new() -> Normaliser {
        Normaliser::default()
    }

    pub fn replace(mut self, from: &str, to: &str) -> Normaliser {
        self.literals.push((from.to_owned(), to.to_owned()));
        self
    }

    /// Replace every `"mac"` value with `<MAC>` once checked to be a well-formed unicast
    /// address: for interfaces whose MAC the kernel chose.
    pub fn random_macs(mut self) -> Normaliser {
        self.random_macs = true;
        self
    }

    pub fn apply(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => {
                let mut s = s.clone();
                for (from, to) in &self.literals {
                    s = s.replace(from, to);
                }
                Value::String(s)
            }
            Value::Array(a) => Value::Array(a.iter().map(|x| self.apply(x)).collect()),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| {
                        if k == "mac" && self.random_macs {
                            if let Some(mac) = x.as_str() {
                                assert!(is_unicast_mac(mac), "{mac:?} is not a unicast MAC");
                                return (k.clone(), Value::String("<MAC>".into()));
                            }
                        }
                        (k.clone(), self.apply(x))
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// `aa:bb:cc:dd:ee:ff`, lower-case hex, multicast bit clear.
pub fn is_unicast_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    parts.len() == 6
        && parts.iter().all(|p| {
            p.len() == 2
                && p.chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        })
        && u8::from_str_radix(parts[0], 16).is_ok_and(|b| b & 1 == 0)
}

/// Compare after normalising `actual`; the failure shows both documents in full.
pub fn assert_matches(actual: &Value, expected_rel: &str, norm: &Normaliser) {
    let expected = load(expected_rel);
    let got = norm.apply(actual);
    assert!(
        got == expected,
        "result differs from testdata/conformance/{expected_rel}\n--- expected\n{}\n--- got (normalised)\n{}",
        pretty(&expected),
        pretty(&got)
    );
}

pub fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn normalises_only_what_it_is_told() {
        let n = Normaliser::new()
            .replace("/run/netns/nfvc1x2", "<NETNS>")
            .random_macs();
        let v = json!({"interfaces":[{"name":"net1","mac":"0a:58:0a:63:00:99","sandbox":"/run/netns/nfvc1x2"}],"x":"/run/netns/other"});
        assert_eq!(
            n.apply(&v),
            json!({"interfaces":[{"name":"net1","mac":"<MAC>","sandbox":"<NETNS>"}],"x":"/run/netns/other"})
        );
    }

    #[test]
    #[should_panic(expected = "not a unicast MAC")]
    fn rejects_a_multicast_mac() {
        Normaliser::new()
            .random_macs()
            .apply(&json!({"mac": "01:00:5e:00:00:01"}));
    }

    #[test]
    fn mac_shape() {
        assert!(is_unicast_mac("0a:58:0a:63:00:99"));
        assert!(!is_unicast_mac("0A:58:0a:63:00:99"));
        assert!(!is_unicast_mac("0a:58:0a:63:00"));
    }
}
