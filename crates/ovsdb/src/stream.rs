//! Framing: JSON-RPC over a stream socket has no delimiter or length prefix (RFC 7047 section 4).
//! A read may end in the middle of a value or hold several values; [`JsonStream`] buffers bytes and
//! hands out complete values in order.
//!
//! Each byte is looked at once: a small scanner (nesting depth, inside a string or not) finds
//! where a value ends, and only then is the value parsed. Re-parsing the buffer after every read
//! until a value completes, as this did before, costs time quadratic in the message size, which
//! a server that sends a big reply in small pieces turns into minutes of CPU.

use serde_json::Value as Json;

use crate::error::Error;

/// The largest message accepted; a bigger one is refused before it is buffered.
///
/// 4 MiB is about eight times the largest reply the plugins ask for: their biggest read is every
/// bridge with its port uuids (about 45 bytes per port) and our ports with their `external_ids`
/// (about 400 bytes each). DPDK's vhost library serves at most 1024 vhost-user ports per
/// ovs-vswitchd (`RTE_MAX_VHOST_DEVICE`), and even 10,000 ports of any kind on the node's bridges
/// stay under 1 MiB. Parsed, a message takes up to about 16 times its size in memory (a
/// `serde_json::Value` per two bytes of `[[],[],...]`), so this also bounds the client's peak
/// memory to well under 100 MiB whatever the server sends.
pub const MAX_MESSAGE: usize = 4 << 20;

/// An incremental JSON value parser.
#[derive(Debug, Default)]
pub struct JsonStream {
    buf: Vec<u8>,
    /// How much of the value at the start of `buf` has been scanned.
    scanned: usize,
    /// Open `{` and `[` not yet closed in the scanned part.
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// Size in bytes of the value [`JsonStream::next_value`] returned last.
    last_size: usize,
}

impl JsonStream {
    pub fn new() -> Self {
        JsonStream::default()
    }

    /// Appends bytes as read from the socket.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete value, `Ok(None)` if more bytes are needed. A top-level value must be
    /// an object or an array (a JSON-RPC message or a batch); anything else, invalid JSON, or a
    /// value larger than [`MAX_MESSAGE`] is a protocol error.
    pub fn next_value(&mut self) -> Result<Option<Json>, Error> {
        if self.scanned == 0 {
            let start = self
                .buf
                .iter()
                .position(|b| !b.is_ascii_whitespace())
                .unwrap_or(self.buf.len());
            self.buf.drain(..start);
            match self.buf.first() {
                None => return Ok(None),
                Some(b'{' | b'[') => {}
                Some(&b) => {
                    return Err(Error::Protocol(format!(
                        "expected a JSON object, got {:?}",
                        char::from(b)
                    )))
                }
            }
        }
        let Some(end) = self.scan() else {
            self.scanned = self.buf.len();
            return if self.buf.len() > MAX_MESSAGE {
                Err(too_large())
            } else {
                Ok(None)
            };
        };
        if end > MAX_MESSAGE {
            return Err(too_large());
        }
        let parsed = serde_json::from_slice(&self.buf[..end]);
        self.buf.drain(..end);
        self.scanned = 0;
        self.last_size = end;
        parsed
            .map(Some)
            .map_err(|e| Error::Protocol(format!("invalid JSON: {e}")))
    }

    /// Scans on from `self.scanned`; the end (exclusive) of the first value once it is complete.
    fn scan(&mut self) -> Option<usize> {
        for (i, &b) in self.buf.iter().enumerate().skip(self.scanned) {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// Bytes received but not yet part of a complete value.
    pub fn pending(&self) -> usize {
        self.buf.iter().filter(|b| !b.is_ascii_whitespace()).count()
    }

    /// Size in bytes of the value returned last (what a caller counts against its bounds).
    pub fn last_size(&self) -> usize {
        self.last_size
    }
}

fn too_large() -> Error {
    Error::Protocol(format!(
        "a message is larger than {} MiB, more than any reply we ask for",
        MAX_MESSAGE >> 20
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_split_at_every_byte() {
        let msg = br#"{"id":1,"result":["Open_vSwitch","_Server"],"error":null}"#;
        for cut in 1..msg.len() {
            let mut s = JsonStream::new();
            s.push(&msg[..cut]);
            assert_eq!(s.next_value().unwrap(), None, "cut at {cut}");
            s.push(&msg[cut..]);
            let v = s.next_value().unwrap().unwrap();
            assert_eq!(v["id"], json!(1));
            assert_eq!(s.next_value().unwrap(), None);
            assert_eq!(s.pending(), 0);
        }
    }

    #[test]
    fn several_values_in_one_read() {
        let mut s = JsonStream::new();
        s.push(br#"{"a":1}{"b":2} {"c":3}"#);
        s.push(b"\n{\"d\":");
        assert_eq!(s.next_value().unwrap(), Some(json!({"a": 1})));
        assert_eq!(s.next_value().unwrap(), Some(json!({"b": 2})));
        assert_eq!(s.next_value().unwrap(), Some(json!({"c": 3})));
        assert_eq!(s.next_value().unwrap(), None);
        assert!(s.pending() > 0);
        s.push(b"4}");
        assert_eq!(s.next_value().unwrap(), Some(json!({"d": 4})));
    }

    #[test]
    fn garbage_is_a_protocol_error() {
        let mut s = JsonStream::new();
        s.push(b"{\"a\":1}]");
        assert!(s.next_value().unwrap().is_some());
        assert!(matches!(s.next_value(), Err(Error::Protocol(_))));
    }

    #[test]
    fn braces_and_quotes_inside_strings_do_not_end_a_value() {
        let msg = br#"{"s":"}]\"{[\\","t":[1,{"u":"]"}]} {"n":2}"#;
        for cut in 1..msg.len() {
            let mut s = JsonStream::new();
            s.push(&msg[..cut]);
            let mut got = Vec::new();
            while let Some(v) = s.next_value().unwrap() {
                got.push(v);
            }
            s.push(&msg[cut..]);
            while let Some(v) = s.next_value().unwrap() {
                got.push(v);
            }
            assert_eq!(
                got,
                vec![
                    json!({"s": "}]\"{[\\", "t": [1, {"u": "]"}]}),
                    json!({"n": 2})
                ],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn a_top_level_scalar_is_refused() {
        let mut s = JsonStream::new();
        s.push(b"  42 ");
        assert!(matches!(s.next_value(), Err(Error::Protocol(_))));
    }

    #[test]
    fn an_unfinished_message_over_the_limit_is_refused_before_it_ends() {
        let mut s = JsonStream::new();
        s.push(br#"{"result":[""#);
        let chunk = vec![b'x'; 64 << 10];
        let mut refused = false;
        for _ in 0..(MAX_MESSAGE / chunk.len() + 2) {
            s.push(&chunk);
            match s.next_value() {
                Ok(None) => {}
                Err(Error::Protocol(m)) => {
                    assert!(m.contains("larger than"), "{m}");
                    refused = true;
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(refused);
        assert!(s.buf.len() <= MAX_MESSAGE + chunk.len());
    }

    #[test]
    fn a_complete_message_over_the_limit_is_refused() {
        let mut s = JsonStream::new();
        let big = format!(r#"{{"result":["{}"]}}"#, "x".repeat(MAX_MESSAGE));
        s.push(big.as_bytes());
        assert!(matches!(s.next_value(), Err(Error::Protocol(_))));
    }

    #[test]
    fn a_big_message_in_tiny_pieces_is_scanned_once() {
        // 2 MiB in 64-byte pieces: re-parsing the buffer after each piece would take minutes.
        let msg = format!(r#"{{"id":1,"result":["{}"]}}"#, "y".repeat(2 << 20));
        let mut s = JsonStream::new();
        let start = std::time::Instant::now();
        let mut got = None;
        for piece in msg.as_bytes().chunks(64) {
            s.push(piece);
            if let Some(v) = s.next_value().unwrap() {
                got = Some(v);
            }
        }
        assert_eq!(got.unwrap()["id"], json!(1));
        assert_eq!(s.last_size(), msg.len());
        assert!(start.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn utf8_split_inside_a_character() {
        let msg = "{\"comment\":\"br\u{00e9}\u{1F600}\"}".as_bytes();
        let mut s = JsonStream::new();
        let mid = msg.len() - 4;
        s.push(&msg[..mid]);
        assert_eq!(s.next_value().unwrap(), None);
        s.push(&msg[mid..]);
        assert_eq!(
            s.next_value().unwrap(),
            Some(json!({"comment": "br\u{00e9}\u{1F600}"}))
        );
    }
}
