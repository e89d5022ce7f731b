//! How a target reads several pieces out of one input, and how seeds are written in that form.

/// Pieces with a 2-byte little-endian length before each; a short last piece takes what is left.
pub fn frames(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while data.len() >= 2 {
        let len = usize::from(u16::from_le_bytes([data[0], data[1]]));
        let rest = &data[2..];
        let take = len.min(rest.len());
        out.push(&rest[..take]);
        data = &rest[take..];
    }
    out
}

/// The input [`frames`] reads back as `pieces` (each at most 65535 bytes).
pub fn encode_frames(pieces: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in pieces {
        let len = u16::try_from(p.len()).expect("a frame is at most 65535 bytes");
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(p);
    }
    out
}

/// Up to `n` NUL-separated fields; the last one keeps any further NULs.
pub fn fields(data: &[u8], n: usize) -> Vec<&[u8]> {
    data.splitn(n, |b| *b == 0).collect()
}

/// Named sections: `@name\n` on a line of its own starts one; its content runs to the next
/// such line (without the newline before it). Text before the first section is ignored.
pub fn sections(data: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut starts = Vec::new();
    let mut at = 0;
    while at < data.len() {
        if data[at] == b'@' && (at == 0 || data[at - 1] == b'\n') {
            starts.push(at);
        }
        at += 1;
    }
    let mut out = Vec::new();
    for (i, &s) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(data.len(), |&n| n - 1);
        let block = &data[s + 1..end.max(s + 1)];
        let (name, content) = match block.iter().position(|b| *b == b'\n') {
            Some(nl) => (&block[..nl], &block[nl + 1..]),
            None => (block, &block[block.len()..]),
        };
        out.push((name, content));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let pieces: [&[u8]; 3] = [b"ab", b"", b"xyz"];
        assert_eq!(frames(&encode_frames(&pieces)), pieces);
        assert_eq!(frames(&[5, 0, b'a']), [b"a"]);
        assert!(frames(&[1]).is_empty());
    }

    #[test]
    fn sections_split_on_at_lines() {
        let s = sections(b"junk\n@one\nab\n@two\n\n@three");
        assert_eq!(
            s,
            [
                (&b"one"[..], &b"ab"[..]),
                (&b"two"[..], &b""[..]),
                (&b"three"[..], &b""[..])
            ]
        );
        assert_eq!(sections(b"@a\nx@b\n"), [(&b"a"[..], &b"x@b\n"[..])]);
    }
}
