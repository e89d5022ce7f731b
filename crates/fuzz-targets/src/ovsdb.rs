//! What ovsdb-server sends back: the framing of the byte stream, the JSON-RPC session, the
//! `transact` reply, OVSDB values and rows, and the userspace plugin's reading of its rows.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::time::Duration;

use nfv_ovsdb::stream::JsonStream;
use nfv_ovsdb::{reply, Atom, Error as OvsdbError, Operation, OvsdbClient, Row, Value};
use serde_json::{json, Value as Json};
use userspace::ports::{self, BridgeRow, OurPort};

/// The values a stream yields until it needs more bytes or fails, and whether it failed.
#[derive(Debug, PartialEq)]
struct Drained {
    values: Vec<Json>,
    failed: bool,
}

fn drain(s: &mut JsonStream, into: &mut Drained) {
    while !into.failed {
        match s.next_value() {
            Ok(Some(v)) => into.values.push(v),
            Ok(None) => return,
            Err(e) => {
                assert!(matches!(e, OvsdbError::Protocol(_)), "{e:?}");
                into.failed = true;
            }
        }
    }
}

/// Chunk sizes 1..=64 from a small generator seeded by the input's first byte.
fn chunk_sizes(seed: u8) -> impl Iterator<Item = usize> {
    let mut x = u32::from(seed) | 0x100;
    std::iter::repeat_with(move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        (x % 64) as usize + 1
    })
}

/// `JsonStream` (input: a seed byte for where reads end, then the bytes as they arrive).
///
/// Property: the same bytes split at any points give the same values, the same failure and
/// the same count of pending bytes as when they arrive in one read. One exception is known
/// and allowed: a bare number at the top level is complete as far as the parser can tell at
/// the end of a read (`1` then `2` reads as 1 and 2, not 12). JSON-RPC messages are objects,
/// so past the first top-level number only the values before it are compared.
pub fn stream(data: &[u8]) {
    let Some((&seed, payload)) = data.split_first() else {
        return;
    };
    let mut whole = Drained {
        values: vec![],
        failed: false,
    };
    let mut s = JsonStream::new();
    s.push(payload);
    drain(&mut s, &mut whole);
    let whole_pending = s.pending();

    let mut pieces = Drained {
        values: vec![],
        failed: false,
    };
    let mut s = JsonStream::new();
    let mut rest = payload;
    let mut sizes = chunk_sizes(seed);
    while !rest.is_empty() && !pieces.failed {
        let n = sizes.next().unwrap_or(1).min(rest.len());
        s.push(&rest[..n]);
        rest = &rest[n..];
        drain(&mut s, &mut pieces);
    }
    let before_number = |d: &Drained| -> Vec<Json> {
        d.values
            .iter()
            .take_while(|v| !v.is_number())
            .cloned()
            .collect()
    };
    if whole
        .values
        .iter()
        .chain(&pieces.values)
        .any(Json::is_number)
    {
        assert_eq!(before_number(&whole), before_number(&pieces));
        return;
    }
    assert_eq!(whole, pieces, "split reads read differently");
    if !whole.failed {
        assert_eq!(whole_pending, s.pending(), "pending bytes differ");
    }
}

/// A `transact` reply, a row, a value (input: one JSON document), and then the same bytes as
/// what the server sends to a client session.
///
/// Properties: every decoder is total; values and atoms that decode print back to JSON that
/// decodes to the same; a `transact` reply that decodes has one result per operation (the
/// userspace plugin indexes results by operation); the client always ends (the bytes run
/// out: closed) and everything it wrote is a sequence of JSON-RPC objects.
pub fn reply(data: &[u8]) {
    if let Ok(j) = serde_json::from_slice::<Json>(data) {
        walk(&j, 0);
        transact_replies(&j);
        if let Some(result) = j.get("result") {
            transact_replies(result);
        }
    }
    session(data);
}

/// Every value in the document, as a value, an atom and a row.
fn walk(j: &Json, depth: usize) {
    if let Ok(v) = Value::from_json(j) {
        let again = Value::from_json(&v.to_json()).expect("a printed value decodes");
        assert_eq!(again, v, "value {j} does not survive printing");
        let _ = (
            v.opt_str(),
            v.opt_i64(),
            v.map_get("nfv-cni/socket-path"),
            v.atoms(),
        );
    }
    if let Ok(a) = Atom::from_json(j) {
        assert_eq!(Atom::from_json(&a.to_json()).ok(), Some(a.clone()));
        if let Some(u) = a.as_uuid() {
            assert_eq!(nfv_ovsdb::Uuid::parse(u.as_str()).ok().as_ref(), Some(u));
        }
    }
    if let Ok(r) = Row::from_json(j) {
        row(&r);
    }
    if depth > 32 {
        return;
    }
    match j {
        Json::Array(a) => a.iter().for_each(|x| walk(x, depth + 1)),
        Json::Object(o) => o.values().for_each(|x| walk(x, depth + 1)),
        _ => {}
    }
}

fn row(r: &Row) {
    for c in r.columns().map(str::to_string).collect::<Vec<_>>() {
        let _ = r.get(&c);
        let _ = r.string(&c);
    }
    let _ = r.uuid();
    if let Ok(b) = BridgeRow::from_row(r) {
        assert!(b.ports.len() <= r.get("ports").map_or(0, |p| p.atoms().len()));
    }
    let _ = OurPort::from_row(r);
}

/// The operation lists the plugin sends: reads, the state query, and plain comments.
fn op_lists() -> Vec<Vec<Operation>> {
    vec![
        vec![],
        vec![Operation::comment("c")],
        ports::read_ops(&[("nfv-cni/network", "n")]),
        ports::state_ops("port0"),
        (0..4).map(|i| Operation::comment(&i.to_string())).collect(),
    ]
}

fn transact_replies(result: &Json) {
    for ops in op_lists() {
        match reply::parse_transact(&ops, result) {
            Ok(r) => {
                assert_eq!(r.len(), ops.len(), "results for {} operations", ops.len());
                for (i, x) in r.iter().enumerate() {
                    x.rows.iter().for_each(row);
                    let _ = userspace::vswitch::Vswitch::next_cfg(&r, i);
                }
            }
            Err(e) => {
                let _ = (e.to_string(), e.ovsdb_error(), e.is_unreachable());
            }
        }
    }
}

/// The server's side of a session: the input, handed out in reads of varying size; what the
/// client writes is kept.
struct Server<'a> {
    bytes: &'a [u8],
    sizes: Box<dyn Iterator<Item = usize>>,
    written: Rc<RefCell<Vec<u8>>>,
}

impl nfv_ovsdb::Transport for Server<'_> {
    // A scripted server answers at once: there is nothing to wait for.
    fn limit_reads(&mut self, _limit: Duration) -> std::io::Result<()> {
        Ok(())
    }
    fn limit_writes(&mut self, _limit: Duration) -> std::io::Result<()> {
        Ok(())
    }
}

impl Read for Server<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self
            .sizes
            .next()
            .unwrap_or(1)
            .saturating_mul(97)
            .min(buf.len())
            .min(self.bytes.len());
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

impl Write for Server<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.written.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn session(data: &[u8]) {
    let written = Rc::new(RefCell::new(Vec::new()));
    let server = Server {
        bytes: data,
        sizes: Box::new(chunk_sizes(data.first().copied().unwrap_or(0))),
        written: Rc::clone(&written),
    };
    let mut c = OvsdbClient::from_stream(server, Duration::from_secs(1));
    let _ = c.list_dbs();
    let _ = c.echo();
    for ops in op_lists() {
        if let Ok(r) = c.transact("Open_vSwitch", &ops) {
            assert_eq!(r.len(), ops.len());
        }
    }
    let id = json!(["cur_cfg", 7]);
    let _ = c.monitor(
        "Open_vSwitch",
        &id,
        json!({"Open_vSwitch": {"columns": ["cur_cfg"]}}),
    );
    for _ in 0..3 {
        if c.next_update(&id).is_err() {
            break;
        }
    }
    drop(c);
    // Requests and answers to the server's echo: JSON-RPC objects, one after another.
    let mut s = JsonStream::new();
    s.push(&written.borrow());
    while let Some(m) = s.next_value().expect("the client wrote valid JSON") {
        assert!(
            m.get("method").is_some() || m.get("result").is_some(),
            "the client wrote {m}"
        );
    }
    assert_eq!(s.pending(), 0, "the client wrote half a message");
}
