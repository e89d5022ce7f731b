//! The `transact` reply (RFC 7047 section 4.1.3).
//!
//! The result array has one element per operation: an object (success), an object with `error`
//! (that operation failed), or null (not attempted because an earlier one failed). Servers may
//! also stop after the failing element. If every operation succeeded but the commit failed, there
//! is one extra element holding the commit error. A failed transaction changes nothing.

use serde_json::Value as Json;

use crate::error::Error;
use crate::operation::Operation;
use crate::value::{Row, Uuid};

/// What one successful operation returned.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OperationResult {
    /// `insert`: the new row's UUID.
    pub uuid: Option<Uuid>,
    /// `select`: the matching rows.
    pub rows: Vec<Row>,
    /// `update`, `mutate`, `delete`: how many rows matched.
    pub count: Option<u64>,
}

fn error_parts(o: &serde_json::Map<String, Json>) -> Option<(String, String)> {
    let e = o.get("error")?;
    if e.is_null() {
        return None;
    }
    let error = e.as_str().map_or_else(|| e.to_string(), str::to_string);
    let details = o
        .get("details")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string();
    Some((error, details))
}

fn parse_success(o: &serde_json::Map<String, Json>) -> Result<OperationResult, Error> {
    let mut r = OperationResult::default();
    if let Some(u) = o.get("uuid") {
        r.uuid = match crate::value::Atom::from_json(u)? {
            crate::value::Atom::Uuid(u) => Some(u),
            other => return Err(Error::Protocol(format!("insert returned {other:?}"))),
        };
    }
    if let Some(rows) = o.get("rows") {
        let rows = rows
            .as_array()
            .ok_or_else(|| Error::Protocol(format!("rows {rows} is not an array")))?;
        r.rows = rows.iter().map(Row::from_json).collect::<Result<_, _>>()?;
    }
    if let Some(c) = o.get("count") {
        r.count = Some(
            c.as_u64()
                .ok_or_else(|| Error::Protocol(format!("count {c} is not a number")))?,
        );
    }
    Ok(r)
}

/// Turns the `result` of a `transact` into one [`OperationResult`] per operation, or the first
/// error with the failing operation named.
pub fn parse_transact(ops: &[Operation], result: &Json) -> Result<Vec<OperationResult>, Error> {
    let items = result
        .as_array()
        .ok_or_else(|| Error::Protocol(format!("transact result {result} is not an array")))?;
    let mut out = Vec::with_capacity(ops.len());
    for (index, item) in items.iter().enumerate() {
        let Some(o) = item.as_object() else {
            if item.is_null() {
                return Err(Error::Protocol(format!(
                    "operation {index} was not attempted but no earlier operation reported an error"
                )));
            }
            return Err(Error::Protocol(format!(
                "result {index} ({item}) is not an object"
            )));
        };
        match (error_parts(o), ops.get(index)) {
            (Some((error, details)), Some(op)) => {
                return Err(Error::Operation {
                    index,
                    op: op.to_string(),
                    error,
                    details,
                })
            }
            (Some((error, details)), None) => return Err(Error::Commit { error, details }),
            (None, Some(_)) => out.push(parse_success(o)?),
            (None, None) => {
                return Err(Error::Protocol(format!(
                    "{} results for {} operations",
                    items.len(),
                    ops.len()
                )))
            }
        }
    }
    if out.len() != ops.len() {
        return Err(Error::Protocol(format!(
            "the reply holds {} results for {} operations (partial reply)",
            out.len(),
            ops.len()
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ops(n: usize) -> Vec<Operation> {
        (0..n).map(|i| Operation::comment(&i.to_string())).collect()
    }

    #[test]
    fn success_rows_uuid_count() {
        let ops = vec![
            Operation::insert("Port", None),
            Operation::select("Port", vec![], None),
            Operation::delete("Port", vec![]),
        ];
        let r = parse_transact(
            &ops,
            &json!([{"uuid": ["uuid", "550e8400-e29b-41d4-a716-446655440000"]},
                    {"rows": [{"name": "p"}]}, {"count": 2}]),
        )
        .unwrap();
        assert_eq!(
            r[0].uuid.as_ref().unwrap().as_str(),
            "550e8400-e29b-41d4-a716-446655440000"
        );
        assert_eq!(r[1].rows[0].string("name").unwrap(), "p");
        assert_eq!(r[2].count, Some(2));
    }

    #[test]
    fn operation_error_names_the_operation() {
        let ops = vec![
            Operation::comment("x"),
            Operation::insert("Port", None),
            Operation::comment("y"),
        ];
        let e = parse_transact(
            &ops,
            &json!([{}, {"error": "constraint violation", "details": "dup"}, null]),
        )
        .unwrap_err();
        assert!(
            matches!(&e, Error::Operation { index: 1, op, error, .. } if op == "insert into Port" && error == "constraint violation"),
            "{e:?}"
        );
    }

    #[test]
    fn commit_error_is_the_extra_element() {
        let e = parse_transact(
            &ops(1),
            &json!([{}, {"error": "referential integrity violation", "details": "d"}]),
        )
        .unwrap_err();
        assert!(matches!(e, Error::Commit { .. }), "{e:?}");
    }

    #[test]
    fn short_reply_without_error_is_refused() {
        let e = parse_transact(&ops(3), &json!([{}, {}])).unwrap_err();
        assert!(e.to_string().contains("partial reply"), "{e}");
        let e = parse_transact(&ops(2), &json!([{}, null])).unwrap_err();
        assert!(matches!(e, Error::Protocol(_)), "{e:?}");
        assert!(parse_transact(&ops(1), &json!({})).is_err());
    }
}
