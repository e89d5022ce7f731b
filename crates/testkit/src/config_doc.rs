//! Config references that cannot drift from the code (docs/config/*.md).
//!
//! Two sides, compared by [`assert_same_keys`]:
//! - [`struct_keys`]: the keys a config struct accepts, recorded from what serde's derive asks
//!   a deserializer for. `deserialize_struct` hands over the field names; the recorder answers
//!   every field with itself, so nested blocks (`host.vhost.mode`) are walked too. This is the
//!   list the plugins' decoder (`nfv_cni::gojson`, Go's key matching) matches keys against,
//!   so a field added to the struct is a key the reference must list.
//! - [`doc_keys`]: the first column of every table in a reference whose header's first cell
//!   is `key`: one key in backticks per row, dotted for nested blocks.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use nfv_cni::env::{CniArgs, Command, Env};
use nfv_cni::Request;
use serde::de::value::{Error as DeError, StrDeserializer};
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde_json::Value;

/// The workspace root (where `Cargo.lock` is), from the test's crate directory.
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .find(|d| d.join("Cargo.lock").is_file())
        .map(Path::to_path_buf)
        .expect("the testkit crate lies inside the workspace")
}

/// The leaf keys `T` accepts, dotted (`host.vhost.mode`); a field that is a list of structs
/// gives `list[].field`. A free-form map (`runtimeConfig`) is a leaf: its keys are not the
/// struct's.
pub fn struct_keys<T: DeserializeOwned>() -> BTreeSet<String> {
    let out = RefCell::new(BTreeSet::new());
    let walked = T::deserialize(Recorder {
        path: String::new(),
        out: &out,
    });
    if let Err(e) = walked {
        panic!(
            "could not walk the fields of {}: {e} (a field whose type refuses the recorder's \
             neutral value: teach config_doc::Recorder that type)",
            std::any::type_name::<T>()
        );
    }
    out.into_inner()
}

/// A deserializer that answers every request with a neutral value and records, as it goes,
/// the path of every field whose type is not a struct.
struct Recorder<'a> {
    path: String,
    out: &'a RefCell<BTreeSet<String>>,
}

impl Recorder<'_> {
    fn leaf(&self) {
        let p = self.path.strip_suffix("[]").unwrap_or(&self.path);
        if !p.is_empty() {
            self.out.borrow_mut().insert(p.to_string());
        }
    }

    fn child(&self, name: &str) -> Recorder<'_> {
        let path = if self.path.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.path)
        };
        Recorder {
            path,
            out: self.out,
        }
    }
}

macro_rules! leaf_with {
    ($($method:ident => $visit:ident($($value:expr)?)),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
                self.leaf();
                visitor.$visit($($value)?)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for Recorder<'_> {
    type Error = DeError;

    leaf_with! {
        deserialize_any => visit_unit(),
        deserialize_bool => visit_bool(false),
        deserialize_i8 => visit_i8(0),
        deserialize_i16 => visit_i16(0),
        deserialize_i32 => visit_i32(0),
        deserialize_i64 => visit_i64(0),
        deserialize_u8 => visit_u8(0),
        deserialize_u16 => visit_u16(0),
        deserialize_u32 => visit_u32(0),
        deserialize_u64 => visit_u64(0),
        deserialize_f32 => visit_f32(0.0),
        deserialize_f64 => visit_f64(0.0),
        deserialize_char => visit_char(' '),
        deserialize_str => visit_str(""),
        deserialize_string => visit_str(""),
        deserialize_bytes => visit_bytes(&[]),
        deserialize_byte_buf => visit_bytes(&[]),
        deserialize_unit => visit_unit(),
        deserialize_ignored_any => visit_unit(),
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.leaf();
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let element = Recorder {
            path: format!("{}[]", self.path),
            out: self.out,
        };
        visitor.visit_seq(OneElement(Some(element)))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.leaf();
        visitor.visit_map(Fields {
            fields: &[],
            next: 0,
            recorder: self,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_map(Fields {
            fields,
            next: 0,
            recorder: self,
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.leaf();
        let first: StrDeserializer<'_, DeError> =
            variants.first().copied().unwrap_or("").into_deserializer();
        visitor.visit_enum(first)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_str("")
    }
}

/// A struct's fields, each key answered by a recorder one level down.
struct Fields<'a> {
    fields: &'static [&'static str],
    next: usize,
    recorder: Recorder<'a>,
}

impl<'de> MapAccess<'de> for Fields<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some(name) = self.fields.get(self.next) else {
            return Ok(None);
        };
        let key: StrDeserializer<'_, DeError> = name.into_deserializer();
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let name = self.fields.get(self.next).copied().unwrap_or_default();
        self.next += 1;
        seed.deserialize(self.recorder.child(name))
    }
}

/// A list of one element, so that the element's type is walked too.
struct OneElement<'a>(Option<Recorder<'a>>);

impl<'de> de::SeqAccess<'de> for OneElement<'_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        self.0.take().map(|r| seed.deserialize(r)).transpose()
    }
}

/// The keys a reference lists: the first cell of each row of every table whose header's first
/// cell is `key` (any case). Each such cell must be exactly one key in backticks, and no key
/// may be listed twice; anything else panics naming the line.
pub fn doc_keys(doc: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(doc)
        .unwrap_or_else(|e| panic!("cannot read the reference {}: {e}", doc.display()));
    let mut keys = BTreeSet::new();
    let mut in_key_table = false;
    let mut in_table = false;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if !line.starts_with('|') {
            in_table = false;
            in_key_table = false;
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let first = cells.first().copied().unwrap_or_default();
        if !in_table {
            in_table = true;
            in_key_table = first.eq_ignore_ascii_case("key");
            continue;
        }
        if !in_key_table || first.chars().all(|c| matches!(c, '-' | ':' | ' ')) {
            continue;
        }
        let key = first
            .strip_prefix('`')
            .and_then(|k| k.strip_suffix('`'))
            .filter(|k| !k.is_empty() && !k.contains(['`', ' ']))
            .unwrap_or_else(|| {
                panic!(
                    "{}:{}: the first cell of a key table must be one key in backticks, got {first:?}",
                    doc.display(),
                    n + 1
                )
            });
        if !keys.insert(key.to_string()) {
            panic!("{}:{}: `{key}` is listed twice", doc.display(), n + 1);
        }
    }
    keys
}

/// Panics unless `documented` and `accepted` are the same set, naming every key missing on
/// either side and where to fix it.
pub fn assert_same_keys(doc: &Path, documented: &BTreeSet<String>, accepted: &BTreeSet<String>) {
    let root = workspace_root();
    let doc = doc.strip_prefix(&root).unwrap_or(doc);
    let undocumented: Vec<&String> = accepted.difference(documented).collect();
    let unknown: Vec<&String> = documented.difference(accepted).collect();
    let mut problems = Vec::new();
    if !undocumented.is_empty() {
        problems.push(format!(
            "the config accepts {undocumented:?}, which {} does not list: add a row for each \
             to a table whose first column is `key` (type, default, validation, example)",
            doc.display()
        ));
    }
    if !unknown.is_empty() {
        problems.push(format!(
            "{} lists {unknown:?}, which the config does not accept: remove the rows or fix \
             their spelling",
            doc.display()
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("; "));
}

/// The capability arguments a runtime may put in `runtimeConfig` (CNI conventions,
/// "Well-known capabilities", and Multus's `CNIDeviceInfoFile`): the closed list
/// [`runtime_keys_read`] probes.
pub const CAPABILITY_KEYS: [&str; 11] = [
    "portMappings",
    "ipRanges",
    "bandwidth",
    "dns",
    "ips",
    "mac",
    "infinibandGUID",
    "deviceID",
    "CNIDeviceInfoFile",
    "aliases",
    "cgroupPath",
];

/// An ADD request for `conf` as a runtime sends it (container `config-doc-probe`, interface
/// `net1`, a pod namespace that does not exist, no CNI_ARGS, no CNI_PATH).
pub fn add_request(conf: &Value) -> Request {
    let stdin = serde_json::to_vec(conf).expect("a JSON value serialises");
    let env = Env {
        command: Command::Add,
        container_id: Some("config-doc-probe".into()),
        netns: Some(PathBuf::from("/run/netns/nfv-config-doc-probe-absent")),
        ifname: Some("net1".into()),
        args: CniArgs::default(),
        path: Vec::new(),
    };
    Request::new(env, stdin).expect("a probe config parses")
}

/// The `runtimeConfig` keys a plugin's ADD reads, as `runtimeConfig.<key>`: each of
/// [`CAPABILITY_KEYS`] is given a value of the wrong type (a number) in `base`, and ADD
/// (`add`, which gets the whole config) reads the key if its error names it. `base` must be a
/// config ADD accepts up to the node (no device, no ovsdb-server): its own error must not
/// name `runtimeConfig`, or the probe could not tell. Only what ADD validates before it
/// touches the node is seen: the plugins validate every key first (STYLE: bad input leaves
/// no state behind).
pub fn runtime_keys_read(
    base: &Value,
    add: impl Fn(&Value) -> Result<(), String>,
) -> BTreeSet<String> {
    let plain = add(base).expect_err("the probe's base config must fail at the node, not succeed");
    assert!(
        !plain.contains("runtimeConfig"),
        "the probe's base config fails naming runtimeConfig ({plain}): it must fail later, at the node"
    );
    let mut read = BTreeSet::new();
    for key in CAPABILITY_KEYS {
        let mut conf = base.clone();
        conf["runtimeConfig"] = serde_json::json!({ key: 5 });
        let field = format!("runtimeConfig.{key}");
        match add(&conf) {
            Err(msg) if msg.contains(&field) => {
                read.insert(field);
            }
            Err(_) => {}
            Ok(()) => panic!("ADD succeeded with {field} = 5 in the probe's config"),
        }
    }
    read
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::{Map, Value};

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    #[serde(rename_all = "camelCase")]
    struct Inner {
        socket_file: Option<String>,
        vlan_id: Option<i64>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    enum Kind {
        A,
        B,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Conf {
        #[serde(rename = "deviceID")]
        device_id: Option<String>,
        host: Option<Inner>,
        list: Vec<Inner>,
        names: Vec<String>,
        free: Option<Map<String, Value>>,
        any: Value,
        kind: Option<Kind>,
        on: bool,
        rate: Option<f64>,
    }

    #[test]
    fn every_leaf_is_recorded_with_its_path() {
        let keys: Vec<String> = struct_keys::<Conf>().into_iter().collect();
        assert_eq!(
            keys,
            [
                "any",
                "deviceID",
                "free",
                "host.socketFile",
                "host.vlanId",
                "kind",
                "list[].socketFile",
                "list[].vlanId",
                "names",
                "on",
                "rate"
            ]
        );
    }

    fn scratch_doc(name: &str, text: &str) -> PathBuf {
        let p =
            std::env::temp_dir().join(format!("nfv-config-doc-{}-{name}.md", crate::unique_id()));
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn only_key_tables_count_and_each_row_names_one_key() {
        let p = scratch_doc(
            "ok",
            "# x\n\n| key | type |\n|---|---|\n| `a` | string |\n| `b.c` | int |\n\n\
             | code | meaning |\n|---|---|\n| 7 | bad |\n\n| Key | x |\n| --- | --- |\n| `d` | y |\n",
        );
        let keys: Vec<String> = doc_keys(&p).into_iter().collect();
        std::fs::remove_file(&p).unwrap();
        assert_eq!(keys, ["a", "b.c", "d"]);
    }

    #[test]
    fn a_row_with_two_keys_or_a_key_twice_is_refused() {
        for (name, text) in [
            ("two", "| key | x |\n|---|---|\n| `a`, `b` | y |\n"),
            ("plain", "| key | x |\n|---|---|\n| a | y |\n"),
            (
                "twice",
                "| key | x |\n|---|---|\n| `a` | y |\n| `a` | z |\n",
            ),
        ] {
            let p = scratch_doc(name, text);
            let r = std::panic::catch_unwind(|| doc_keys(&p));
            std::fs::remove_file(&p).unwrap();
            assert!(r.is_err(), "{name} must be refused");
        }
    }

    #[test]
    fn a_difference_either_way_fails_naming_the_key() {
        let set = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        let doc = Path::new("docs/config/x.md");
        assert_same_keys(doc, &set(&["a", "b"]), &set(&["a", "b"]));
        let missing =
            std::panic::catch_unwind(|| assert_same_keys(doc, &set(&["a"]), &set(&["a", "new"])))
                .unwrap_err();
        let msg = missing.downcast_ref::<String>().unwrap();
        assert!(
            msg.contains("\"new\"") && msg.contains("does not list"),
            "{msg}"
        );
        let extra =
            std::panic::catch_unwind(|| assert_same_keys(doc, &set(&["a", "old"]), &set(&["a"])))
                .unwrap_err();
        let msg = extra.downcast_ref::<String>().unwrap();
        assert!(
            msg.contains("\"old\"") && msg.contains("does not accept"),
            "{msg}"
        );
    }
}
