//! Decoding a plugin's configuration the way Go's `encoding/json` decodes the Go plugins'
//! configurations, so a NetworkAttachmentDefinition written for them means the same here: a
//! key matches the field of exactly that name, else the first field whose name matches it
//! ignoring case (`spoofChk`, `VLAN`, `DeviceID`); keys that match no field are ignored; when
//! several keys land on one field, the last one wins.
//!
//! It works as a serde `Deserializer` over a parsed JSON value that renames an object's keys
//! to the field names serde's derive asks for (`deserialize_struct` hands them over), at every
//! level, so nested blocks (`host.vhost.socketFile`) decode the same way.

use serde::de::value::StringDeserializer;
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::{Map, Value};

/// A JSON value to be decoded with Go's key matching.
#[derive(Debug)]
pub struct GoValue(pub Value);

/// Go's `bytes.EqualFold`, near enough: equal under Unicode lowercasing.
fn eq_fold(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// The object's entries with their keys renamed to `fields` as Go matches them.
fn matched(map: Map<String, Value>, fields: &'static [&'static str]) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = Vec::with_capacity(map.len());
    for (key, value) in map {
        let name = if fields.contains(&key.as_str()) {
            key
        } else if let Some(f) = fields.iter().find(|f| eq_fold(f, &key)) {
            (*f).to_string()
        } else {
            key
        };
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => out.push((name, value)),
        }
    }
    out
}

struct GoMap {
    entries: std::vec::IntoIter<(String, Value)>,
    value: Option<Value>,
}

impl GoMap {
    fn new(entries: Vec<(String, Value)>) -> GoMap {
        GoMap {
            entries: entries.into_iter(),
            value: None,
        }
    }
}

impl<'de> MapAccess<'de> for GoMap {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        let key: StringDeserializer<serde_json::Error> = key.into_deserializer();
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        let value = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("a map value was asked for before its key"))?;
        seed.deserialize(GoValue(value))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

struct GoSeq(std::vec::IntoIter<Value>);

impl<'de> SeqAccess<'de> for GoSeq {
    type Error = serde_json::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        self.0
            .next()
            .map(|v| seed.deserialize(GoValue(v)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

impl<'de> de::Deserializer<'de> for GoValue {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Object(m) => visitor.visit_map(GoMap::new(m.into_iter().collect())),
            Value::Array(a) => visitor.visit_seq(GoSeq(a.into_iter())),
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(GoValue(other)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Object(m) => visitor.visit_map(GoMap::new(matched(m, fields))),
            // Not an object: the plain value says what it is in the error.
            other => other.deserialize_struct(name, fields, visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_enum(name, variants, visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    struct Inner {
        #[serde(default)]
        socketfile: Option<String>,
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    struct Conf {
        #[serde(rename = "deviceID", default)]
        device_id: Option<String>,
        #[serde(default)]
        vlan: Option<i64>,
        #[serde(rename = "vlanQoS", default)]
        vlan_qos: Option<i64>,
        #[serde(default)]
        spoofchk: Option<String>,
        #[serde(default)]
        inner: Option<Inner>,
        #[serde(default)]
        list: Vec<Inner>,
        #[serde(default)]
        free: Option<Map<String, Value>>,
    }

    fn go(v: Value) -> Conf {
        Conf::deserialize(GoValue(v)).unwrap()
    }

    #[test]
    fn keys_match_exactly_else_ignoring_case_at_every_level() {
        let c = go(
            json!({"DeviceID": "0000:01:10.0", "VLAN": 100, "VlanQos": 3,
            "spoofChk": "on", "Inner": {"SocketFile": "s"}, "LIST": [{"SOCKETFILE": "t"}],
            "free": {"KeepMe": 1}, "unknown": {"x": 1}}),
        );
        assert_eq!(c.device_id.as_deref(), Some("0000:01:10.0"));
        assert_eq!(c.vlan, Some(100));
        assert_eq!(c.vlan_qos, Some(3));
        assert_eq!(c.spoofchk.as_deref(), Some("on"));
        assert_eq!(c.inner.unwrap().socketfile.as_deref(), Some("s"));
        assert_eq!(c.list[0].socketfile.as_deref(), Some("t"));
        assert!(
            c.free.unwrap().contains_key("KeepMe"),
            "free-form maps keep their keys"
        );
    }

    #[test]
    fn the_last_key_for_a_field_wins() {
        // Go assigns each key in order: the later one overwrites, whatever its case.
        assert_eq!(go(json!({"vlan": 1, "VLAN": 2})).vlan, Some(2));
        assert_eq!(go(json!({"VLAN": 2, "vlan": 1})).vlan, Some(1));
    }

    #[test]
    fn types_are_still_checked() {
        let e = Conf::deserialize(GoValue(json!({"Vlan": "100"}))).unwrap_err();
        assert!(e.to_string().contains("invalid type"), "{e}");
        let e = Conf::deserialize(GoValue(json!([1]))).unwrap_err();
        assert!(e.to_string().contains("invalid type"), "{e}");
    }
}
