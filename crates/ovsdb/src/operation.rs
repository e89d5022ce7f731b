//! Transaction operations (RFC 7047 section 5.2) and their exact JSON.

use std::fmt;

use serde_json::{json, Map, Value as Json};

use crate::value::Value;

/// Condition functions (RFC 7047 5.1, `<function>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// For sets and maps: every element of the value is in the column.
    Includes,
    Excludes,
}

impl Function {
    fn as_str(self) -> &'static str {
        match self {
            Function::Eq => "==",
            Function::Ne => "!=",
            Function::Lt => "<",
            Function::Le => "<=",
            Function::Gt => ">",
            Function::Ge => ">=",
            Function::Includes => "includes",
            Function::Excludes => "excludes",
        }
    }
}

/// `[column, function, value]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub column: String,
    pub function: Function,
    pub value: Value,
}

impl Condition {
    pub fn new(column: &str, function: Function, value: impl Into<Value>) -> Self {
        Condition {
            column: column.to_string(),
            function,
            value: value.into(),
        }
    }

    pub fn eq(column: &str, value: impl Into<Value>) -> Self {
        Condition::new(column, Function::Eq, value)
    }

    pub fn includes(column: &str, value: impl Into<Value>) -> Self {
        Condition::new(column, Function::Includes, value)
    }

    fn to_json(&self) -> Json {
        json!([self.column, self.function.as_str(), self.value.to_json()])
    }
}

/// Mutators (RFC 7047 5.1, `<mutator>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutator {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    /// Adds elements to a set or pairs to a map.
    Insert,
    /// Removes elements from a set, or keys/pairs from a map.
    Delete,
}

impl Mutator {
    fn as_str(self) -> &'static str {
        match self {
            Mutator::Add => "+=",
            Mutator::Sub => "-=",
            Mutator::Mul => "*=",
            Mutator::Div => "/=",
            Mutator::Mod => "%=",
            Mutator::Insert => "insert",
            Mutator::Delete => "delete",
        }
    }
}

/// `[column, mutator, value]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mutation {
    pub column: String,
    pub mutator: Mutator,
    pub value: Value,
}

impl Mutation {
    pub fn new(column: &str, mutator: Mutator, value: impl Into<Value>) -> Self {
        Mutation {
            column: column.to_string(),
            mutator,
            value: value.into(),
        }
    }

    fn to_json(&self) -> Json {
        json!([self.column, self.mutator.as_str(), self.value.to_json()])
    }
}

/// What a `wait` operation waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitUntil {
    /// The selected rows equal `rows`.
    Equal,
    /// The selected rows differ from `rows`.
    NotEqual,
}

/// Column values in insertion order, so the JSON is deterministic.
pub type Columns = Vec<(String, Value)>;

/// One operation of a `transact` request.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    Insert {
        table: String,
        row: Columns,
        /// Lets later operations of the same transaction refer to the new row as `["named-uuid", ..]`.
        uuid_name: Option<String>,
    },
    Select {
        table: String,
        conditions: Vec<Condition>,
        /// `None` selects every column.
        columns: Option<Vec<String>>,
    },
    Update {
        table: String,
        conditions: Vec<Condition>,
        row: Columns,
    },
    Mutate {
        table: String,
        conditions: Vec<Condition>,
        mutations: Vec<Mutation>,
    },
    Delete {
        table: String,
        conditions: Vec<Condition>,
    },
    Wait {
        table: String,
        conditions: Vec<Condition>,
        columns: Vec<String>,
        until: WaitUntil,
        rows: Vec<Columns>,
        /// Milliseconds; `Some(0)` fails at once when the condition does not hold.
        timeout_ms: Option<u64>,
    },
    /// Written to the server's log with the transaction.
    Comment(String),
}

fn columns_to_json(cols: &Columns) -> Json {
    let mut m = Map::new();
    for (k, v) in cols {
        m.insert(k.clone(), v.to_json());
    }
    Json::Object(m)
}

fn conditions_to_json(c: &[Condition]) -> Json {
    Json::Array(c.iter().map(Condition::to_json).collect())
}

fn col(name: &str, value: impl Into<Value>) -> (String, Value) {
    (name.to_string(), value.into())
}

impl Operation {
    pub fn insert(table: &str, uuid_name: Option<&str>) -> Self {
        Operation::Insert {
            table: table.to_string(),
            row: Vec::new(),
            uuid_name: uuid_name.map(str::to_string),
        }
    }

    pub fn select(table: &str, conditions: Vec<Condition>, columns: Option<&[&str]>) -> Self {
        Operation::Select {
            table: table.to_string(),
            conditions,
            columns: columns.map(|c| c.iter().map(|s| s.to_string()).collect()),
        }
    }

    pub fn update(table: &str, conditions: Vec<Condition>) -> Self {
        Operation::Update {
            table: table.to_string(),
            conditions,
            row: Vec::new(),
        }
    }

    pub fn mutate(table: &str, conditions: Vec<Condition>, mutations: Vec<Mutation>) -> Self {
        Operation::Mutate {
            table: table.to_string(),
            conditions,
            mutations,
        }
    }

    pub fn delete(table: &str, conditions: Vec<Condition>) -> Self {
        Operation::Delete {
            table: table.to_string(),
            conditions,
        }
    }

    /// A `wait` that fails the transaction at once unless the selected `columns` of the rows
    /// matching `conditions` are exactly `rows` (or differ from them, for [`WaitUntil::NotEqual`]).
    pub fn wait_now(
        table: &str,
        conditions: Vec<Condition>,
        columns: &[&str],
        until: WaitUntil,
        rows: Vec<Columns>,
    ) -> Self {
        Operation::Wait {
            table: table.to_string(),
            conditions,
            columns: columns.iter().map(|s| s.to_string()).collect(),
            until,
            rows,
            timeout_ms: Some(0),
        }
    }

    pub fn comment(text: &str) -> Self {
        Operation::Comment(text.to_string())
    }

    /// Adds a column to an insert or update; a no-op for other operations.
    pub fn with(mut self, column: &str, value: impl Into<Value>) -> Self {
        if let Operation::Insert { row, .. } | Operation::Update { row, .. } = &mut self {
            row.push(col(column, value));
        }
        self
    }

    /// The RFC 7047 operation name.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::Insert { .. } => "insert",
            Operation::Select { .. } => "select",
            Operation::Update { .. } => "update",
            Operation::Mutate { .. } => "mutate",
            Operation::Delete { .. } => "delete",
            Operation::Wait { .. } => "wait",
            Operation::Comment(_) => "comment",
        }
    }

    pub fn table(&self) -> Option<&str> {
        match self {
            Operation::Insert { table, .. }
            | Operation::Select { table, .. }
            | Operation::Update { table, .. }
            | Operation::Mutate { table, .. }
            | Operation::Delete { table, .. }
            | Operation::Wait { table, .. } => Some(table),
            Operation::Comment(_) => None,
        }
    }

    pub fn to_json(&self) -> Json {
        match self {
            Operation::Insert {
                table,
                row,
                uuid_name,
            } => {
                let mut o = json!({"op": "insert", "table": table, "row": columns_to_json(row)});
                if let (Some(n), Json::Object(m)) = (uuid_name, &mut o) {
                    m.insert("uuid-name".into(), json!(n));
                }
                o
            }
            Operation::Select {
                table,
                conditions,
                columns,
            } => {
                let mut o = json!({"op": "select", "table": table, "where": conditions_to_json(conditions)});
                if let (Some(c), Json::Object(m)) = (columns, &mut o) {
                    m.insert("columns".into(), json!(c));
                }
                o
            }
            Operation::Update {
                table,
                conditions,
                row,
            } => json!({"op": "update", "table": table, "where": conditions_to_json(conditions),
                        "row": columns_to_json(row)}),
            Operation::Mutate {
                table,
                conditions,
                mutations,
            } => json!({"op": "mutate", "table": table, "where": conditions_to_json(conditions),
                        "mutations": mutations.iter().map(Mutation::to_json).collect::<Vec<_>>()}),
            Operation::Delete { table, conditions } => {
                json!({"op": "delete", "table": table, "where": conditions_to_json(conditions)})
            }
            Operation::Wait {
                table,
                conditions,
                columns,
                until,
                rows,
                timeout_ms,
            } => {
                let mut o = json!({"op": "wait", "table": table, "where": conditions_to_json(conditions),
                    "columns": columns,
                    "until": match until { WaitUntil::Equal => "==", WaitUntil::NotEqual => "!=" },
                    "rows": rows.iter().map(columns_to_json).collect::<Vec<_>>()});
                if let (Some(t), Json::Object(m)) = (timeout_ms, &mut o) {
                    m.insert("timeout".into(), json!(t));
                }
                o
            }
            Operation::Comment(c) => json!({"op": "comment", "comment": c}),
        }
    }
}

impl fmt::Display for Operation {
    /// "insert into Port", "mutate Bridge", "comment": for error messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self, self.table()) {
            (Operation::Insert { .. }, Some(t)) => write!(f, "insert into {t}"),
            (Operation::Select { .. } | Operation::Delete { .. }, Some(t)) => {
                write!(f, "{} from {t}", self.name())
            }
            (_, Some(t)) => write!(f, "{} {t}", self.name()),
            (_, None) => f.write_str(self.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Atom;

    #[test]
    fn insert_with_uuid_name() {
        let op = Operation::insert("Interface", Some("iface"))
            .with("name", "vhu0")
            .with("options", Value::string_map(&[("vhost-server-path", "/s")]));
        assert_eq!(
            op.to_json(),
            json!({"op": "insert", "table": "Interface", "uuid-name": "iface",
                   "row": {"name": "vhu0", "options": ["map", [["vhost-server-path", "/s"]]]}})
        );
        assert_eq!(op.to_string(), "insert into Interface");
    }

    #[test]
    fn select_mutate_delete_wait_comment() {
        let sel = Operation::select(
            "Port",
            vec![Condition::includes(
                "external_ids",
                Value::string_map(&[("k", "v")]),
            )],
            Some(&["_uuid", "name"]),
        );
        assert_eq!(
            sel.to_json(),
            json!({"op": "select", "table": "Port",
                   "where": [["external_ids", "includes", ["map", [["k", "v"]]]]],
                   "columns": ["_uuid", "name"]})
        );
        let m = Operation::mutate(
            "Bridge",
            vec![Condition::eq("name", "br0")],
            vec![Mutation::new(
                "ports",
                Mutator::Insert,
                Value::Set(vec![Atom::NamedUuid("p".into())]),
            )],
        );
        assert_eq!(
            m.to_json(),
            json!({"op": "mutate", "table": "Bridge", "where": [["name", "==", "br0"]],
                   "mutations": [["ports", "insert", ["set", [["named-uuid", "p"]]]]]})
        );
        let d = Operation::delete("Port", vec![Condition::new("name", Function::Ne, "x")]);
        assert_eq!(
            d.to_json(),
            json!({"op": "delete", "table": "Port", "where": [["name", "!=", "x"]]})
        );
        let w = Operation::wait_now(
            "Bridge",
            vec![Condition::eq("name", "br0")],
            &["name"],
            WaitUntil::Equal,
            vec![vec![("name".into(), Value::from("br0"))]],
        );
        assert_eq!(
            w.to_json(),
            json!({"op": "wait", "table": "Bridge", "where": [["name", "==", "br0"]],
                   "columns": ["name"], "until": "==", "rows": [{"name": "br0"}], "timeout": 0})
        );
        let u = Operation::update("Open_vSwitch", vec![]).with("next_cfg", 3i64);
        assert_eq!(
            u.to_json(),
            json!({"op": "update", "table": "Open_vSwitch", "where": [], "row": {"next_cfg": 3}})
        );
        assert_eq!(
            Operation::comment("hi").to_json(),
            json!({"op": "comment", "comment": "hi"})
        );
    }
}
