//! OVSDB values on the wire (RFC 7047 section 5.1).
//!
//! An `<atom>` is an integer, real, boolean, string, `["uuid", "<uuid>"]` or
//! `["named-uuid", "<id>"]`. A `<value>` is an atom, `["set", [atoms]]` or `["map", [[k, v]..]]`.
//! A set of exactly one element may be sent and received as the bare atom.

use std::fmt;

use serde_json::{json, Value as Json};

use crate::error::Error;

/// A row UUID as assigned by ovsdb-server (RFC 4122 text form).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uuid(String);

impl Uuid {
    /// Accepts the 8-4-4-4-12 hex form only; anything else is a protocol error.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let groups: Vec<&str> = s.split('-').collect();
        let lens = [8, 4, 4, 4, 12];
        let ok = groups.len() == 5
            && groups
                .iter()
                .zip(lens)
                .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()));
        if ok {
            Ok(Uuid(s.to_ascii_lowercase()))
        } else {
            Err(Error::Protocol(format!("{s:?} is not a UUID")))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One OVSDB atom.
#[derive(Debug, Clone, PartialEq)]
pub enum Atom {
    Integer(i64),
    Real(f64),
    Boolean(bool),
    String(String),
    Uuid(Uuid),
    /// A row inserted earlier in the same transaction, by its `uuid-name` (RFC 7047 5.2.1).
    NamedUuid(String),
}

impl Atom {
    pub fn to_json(&self) -> Json {
        match self {
            Atom::Integer(i) => json!(i),
            Atom::Real(r) => json!(r),
            Atom::Boolean(b) => json!(b),
            Atom::String(s) => json!(s),
            Atom::Uuid(u) => json!(["uuid", u.as_str()]),
            Atom::NamedUuid(n) => json!(["named-uuid", n]),
        }
    }

    pub fn from_json(j: &Json) -> Result<Self, Error> {
        match j {
            Json::Bool(b) => Ok(Atom::Boolean(*b)),
            Json::String(s) => Ok(Atom::String(s.clone())),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Ok(Atom::Integer(i)),
                None => n
                    .as_f64()
                    .map(Atom::Real)
                    .ok_or_else(|| Error::Protocol(format!("number {n} out of range"))),
            },
            Json::Array(a) => match (a.first().and_then(Json::as_str), a.get(1), a.len()) {
                (Some("uuid"), Some(Json::String(u)), 2) => Ok(Atom::Uuid(Uuid::parse(u)?)),
                (Some("named-uuid"), Some(Json::String(n)), 2) => Ok(Atom::NamedUuid(n.clone())),
                _ => Err(Error::Protocol(format!("{j} is not an OVSDB atom"))),
            },
            _ => Err(Error::Protocol(format!("{j} is not an OVSDB atom"))),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Atom::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_uuid(&self) -> Option<&Uuid> {
        match self {
            Atom::Uuid(u) => Some(u),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Atom::Integer(i) => Some(*i),
            _ => None,
        }
    }
}

impl From<&str> for Atom {
    fn from(s: &str) -> Self {
        Atom::String(s.to_string())
    }
}

impl From<String> for Atom {
    fn from(s: String) -> Self {
        Atom::String(s)
    }
}

impl From<i64> for Atom {
    fn from(i: i64) -> Self {
        Atom::Integer(i)
    }
}

impl From<bool> for Atom {
    fn from(b: bool) -> Self {
        Atom::Boolean(b)
    }
}

impl From<Uuid> for Atom {
    fn from(u: Uuid) -> Self {
        Atom::Uuid(u)
    }
}

/// One OVSDB value: an atom, a set or a map.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Atom(Atom),
    Set(Vec<Atom>),
    Map(Vec<(Atom, Atom)>),
}

impl Value {
    /// The empty set: how OVSDB spells "no value" for optional columns.
    pub fn empty() -> Self {
        Value::Set(Vec::new())
    }

    pub fn named_uuid(name: &str) -> Self {
        Value::Atom(Atom::NamedUuid(name.to_string()))
    }

    /// A string-to-string map, the type of `external_ids`, `options`, `other_config`.
    pub fn string_map<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> Self {
        Value::Map(
            pairs
                .iter()
                .map(|(k, v)| (Atom::from(k.as_ref()), Atom::from(v.as_ref())))
                .collect(),
        )
    }

    pub fn to_json(&self) -> Json {
        match self {
            Value::Atom(a) => a.to_json(),
            Value::Set(s) => json!(["set", s.iter().map(Atom::to_json).collect::<Vec<_>>()]),
            Value::Map(m) => json!([
                "map",
                m.iter()
                    .map(|(k, v)| json!([k.to_json(), v.to_json()]))
                    .collect::<Vec<_>>()
            ]),
        }
    }

    pub fn from_json(j: &Json) -> Result<Self, Error> {
        if let Json::Array(a) = j {
            match (a.first().and_then(Json::as_str), a.get(1), a.len()) {
                (Some("set"), Some(Json::Array(items)), 2) => {
                    return Ok(Value::Set(
                        items
                            .iter()
                            .map(Atom::from_json)
                            .collect::<Result<_, _>>()?,
                    ));
                }
                (Some("map"), Some(Json::Array(pairs)), 2) => {
                    let mut out = Vec::with_capacity(pairs.len());
                    for p in pairs {
                        match p.as_array().map(Vec::as_slice) {
                            Some([k, v]) => out.push((Atom::from_json(k)?, Atom::from_json(v)?)),
                            _ => {
                                return Err(Error::Protocol(format!("{p} is not a map pair")));
                            }
                        }
                    }
                    return Ok(Value::Map(out));
                }
                _ => {}
            }
        }
        Atom::from_json(j).map(Value::Atom)
    }

    /// The elements of a set-typed column (a bare atom is a set of one).
    pub fn atoms(&self) -> Vec<&Atom> {
        match self {
            Value::Atom(a) => vec![a],
            Value::Set(s) => s.iter().collect(),
            Value::Map(_) => Vec::new(),
        }
    }

    /// Looks a key up in a string-keyed map column.
    pub fn map_get(&self, key: &str) -> Option<&Atom> {
        match self {
            Value::Map(m) => m
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// An optional string column (`[0..1]` set) or a plain string column.
    pub fn opt_str(&self) -> Option<&str> {
        self.atoms().first().and_then(|a| a.as_str())
    }

    pub fn opt_i64(&self) -> Option<i64> {
        self.atoms().first().and_then(|a| a.as_i64())
    }
}

impl From<Atom> for Value {
    fn from(a: Atom) -> Self {
        Value::Atom(a)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Atom(Atom::from(s))
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Atom(Atom::from(s))
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Atom(Atom::Integer(i))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Atom(Atom::Boolean(b))
    }
}

impl From<Uuid> for Value {
    fn from(u: Uuid) -> Self {
        Value::Atom(Atom::Uuid(u))
    }
}

/// A row as returned by `select`: column name to value, decoded on access.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Row(serde_json::Map<String, Json>);

impl Row {
    pub fn from_json(j: &Json) -> Result<Self, Error> {
        match j {
            Json::Object(m) => Ok(Row(m.clone())),
            _ => Err(Error::Protocol(format!("row {j} is not an object"))),
        }
    }

    /// The decoded value of `column`; a column the server did not return is an error naming it.
    pub fn get(&self, column: &str) -> Result<Value, Error> {
        let j = self
            .0
            .get(column)
            .ok_or_else(|| Error::Protocol(format!("the reply has no column {column:?}")))?;
        Value::from_json(j)
    }

    pub fn uuid(&self) -> Result<Uuid, Error> {
        match self.get("_uuid")? {
            Value::Atom(Atom::Uuid(u)) => Ok(u),
            other => Err(Error::Protocol(format!("_uuid is {other:?}, not a uuid"))),
        }
    }

    pub fn string(&self, column: &str) -> Result<String, Error> {
        self.get(column)?
            .opt_str()
            .map(str::to_string)
            .ok_or_else(|| Error::Protocol(format!("column {column:?} is not a string")))
    }

    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoms_round_trip() {
        let cases = [
            json!(42),
            json!(-1),
            json!(1.5),
            json!(true),
            json!("br0"),
            json!(["uuid", "550e8400-e29b-41d4-a716-446655440000"]),
            json!(["named-uuid", "iface0"]),
        ];
        for c in cases {
            assert_eq!(Atom::from_json(&c).unwrap().to_json(), c, "{c}");
        }
    }

    #[test]
    fn sets_and_maps_round_trip() {
        let cases = [
            json!(["set", []]),
            json!(["set", [1, 2]]),
            json!(["set", [["uuid", "550e8400-e29b-41d4-a716-446655440000"]]]),
            json!(["map", []]),
            json!(["map", [["k", "v"], ["a", "b"]]]),
        ];
        for c in cases {
            assert_eq!(Value::from_json(&c).unwrap().to_json(), c, "{c}");
        }
    }

    #[test]
    fn bare_atom_is_a_set_of_one() {
        let v = Value::from_json(&json!("x")).unwrap();
        assert_eq!(v.atoms(), vec![&Atom::from("x")]);
        assert_eq!(v.opt_str(), Some("x"));
        assert_eq!(Value::empty().opt_str(), None);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            json!(["uuid", "nope"]),
            json!(["uuid"]),
            json!(["map", [["k"]]]),
            json!({"a": 1}),
            json!(null),
            json!(["bogus", 1]),
        ] {
            assert!(Value::from_json(&bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn map_lookup() {
        let v = Value::string_map(&[("a", "1"), ("b", "2")]);
        assert_eq!(v.map_get("b"), Some(&Atom::from("2")));
        assert_eq!(v.map_get("c"), None);
    }

    #[test]
    fn row_accessors_name_the_missing_column() {
        let r = Row::from_json(&json!({"name": "p0"})).unwrap();
        assert_eq!(r.string("name").unwrap(), "p0");
        let e = r.get("error").unwrap_err().to_string();
        assert!(e.contains("\"error\""), "{e}");
    }
}
