//! The raw netlink wire format the typed crates do not parse for us: the header length, the
//! native-endian integer reads, and one attribute walker shared by the VF-list, generic
//! netlink and extended-ack parsers. Every read is bounds-checked: a short or lying reply
//! ends the walk instead of reading past the buffer.

/// `struct nlmsghdr`.
pub(crate) const NLMSG_HDR_LEN: usize = 16;
/// The attribute type bits (NLA_F_NESTED and NLA_F_NET_BYTEORDER masked off).
const NLA_TYPE_MASK: u16 = 0x3fff;

pub(crate) fn read_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

pub(crate) fn read_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

pub(crate) fn read_i32(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_ne_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// Rounded up to netlink's 4-byte alignment.
pub(crate) fn align4(len: usize) -> usize {
    len.saturating_add(3) & !3
}

/// Walk the attributes in `b`: (type without flags, value). Stops at the first attribute
/// whose length does not fit.
pub(crate) fn attributes(mut b: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let len = read_u16(b, 0)? as usize;
        let kind = read_u16(b, 2)? & NLA_TYPE_MASK;
        if len < 4 || len > b.len() {
            return None;
        }
        let value = &b[4..len];
        b = b.get(align4(len)..).unwrap_or(&[]);
        Some((kind, value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nla(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut v = ((4 + value.len()) as u16).to_ne_bytes().to_vec();
        v.extend_from_slice(&kind.to_ne_bytes());
        v.extend_from_slice(value);
        v.resize(align4(v.len()), 0);
        v
    }

    #[test]
    fn walks_aligned_attributes_and_masks_the_flags() {
        let mut b = nla(1, b"abc");
        b.extend(nla(0x8000 | 2, &[9; 8]));
        let got: Vec<_> = attributes(&b).collect();
        assert_eq!(got, vec![(1, &b"abc"[..]), (2, &[9u8; 8][..])]);
    }

    #[test]
    fn a_length_that_does_not_fit_ends_the_walk() {
        let mut b = nla(1, b"abcd");
        b.extend_from_slice(&200u16.to_ne_bytes());
        b.extend_from_slice(&3u16.to_ne_bytes());
        assert_eq!(attributes(&b).count(), 1);
        assert_eq!(
            attributes(&[3, 0, 1, 0]).count(),
            0,
            "length below the header"
        );
        assert_eq!(attributes(&[8, 0]).count(), 0, "truncated header");
        assert_eq!(read_u32(&[1, 2, 3], 0), None);
        assert_eq!(read_u16(&[1, 2], usize::MAX), None);
    }
}
