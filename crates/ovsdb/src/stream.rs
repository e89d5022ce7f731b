//! Framing: JSON-RPC over a stream socket has no delimiter or length prefix (RFC 7047 section 4).
//! A read may end in the middle of a value or hold several values; [`JsonStream`] buffers bytes and
//! hands out complete values in order.

use serde_json::{Deserializer, Value as Json};

use crate::error::Error;

/// Messages bigger than this are refused rather than buffered without end.
pub const MAX_MESSAGE: usize = 64 << 20;

/// An incremental JSON value parser.
#[derive(Debug, Default)]
pub struct JsonStream {
    buf: Vec<u8>,
}

impl JsonStream {
    pub fn new() -> Self {
        JsonStream::default()
    }

    /// Appends bytes as read from the socket.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete value, `Ok(None)` if more bytes are needed.
    pub fn next_value(&mut self) -> Result<Option<Json>, Error> {
        let start = self
            .buf
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(self.buf.len());
        self.buf.drain(..start);
        if self.buf.is_empty() {
            return Ok(None);
        }
        let mut it = Deserializer::from_slice(&self.buf).into_iter::<Json>();
        match it.next() {
            Some(Ok(v)) => {
                let used = it.byte_offset();
                self.buf.drain(..used);
                Ok(Some(v))
            }
            Some(Err(e)) if e.is_eof() => {
                if self.buf.len() > MAX_MESSAGE {
                    Err(Error::Protocol(format!(
                        "a message is larger than {MAX_MESSAGE} bytes"
                    )))
                } else {
                    Ok(None)
                }
            }
            Some(Err(e)) => Err(Error::Protocol(format!("invalid JSON: {e}"))),
            None => Ok(None),
        }
    }

    /// Bytes received but not yet part of a complete value.
    pub fn pending(&self) -> usize {
        self.buf.iter().filter(|b| !b.is_ascii_whitespace()).count()
    }
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
