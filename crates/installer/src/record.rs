//! What the installer remembers about one plugin name, in `<bin dir>/.nfv-cni/<name>.record`:
//! the digests of every binary it wrote under that name, and the digest of the binary that was
//! there before its first install (kept beside the record as `<name>.previous`).
//!
//! This is what "own" means: the installer replaces or removes `<bin dir>/<name>` only when the
//! file there is one it wrote (its digest is in `ours`) or the one it recorded replacing
//! (`previous`, the state left by a crash between writing the record and the rename). Anything
//! else there was put by someone else after us, and is left alone.

/// The text format: a header line, then `previous <digest>|none`, then one `ours <digest>`
/// per binary written, newest first.
const HEADER: &str = "nfv-install record 1";

/// How many of our own digests a record keeps: enough to recognise any version a crash or
/// a rollback could have left in place.
pub const OURS_KEPT: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    /// The digest of the regular file the first install replaced; `None` when the name was
    /// free.
    pub previous: Option<String>,
    /// Digests of the binaries this installer wrote under the name, newest first.
    pub ours: Vec<String>,
}

impl Record {
    pub fn is_ours(&self, digest: &str) -> bool {
        self.ours.iter().any(|d| d == digest)
    }

    /// The record with `digest` as the newest binary of ours.
    pub fn with_ours(&self, digest: &str) -> Record {
        let mut ours = vec![digest.to_string()];
        ours.extend(self.ours.iter().filter(|d| *d != digest).cloned());
        ours.truncate(OURS_KEPT);
        Record {
            previous: self.previous.clone(),
            ours,
        }
    }

    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{HEADER}\nprevious {}\n",
            self.previous.as_deref().unwrap_or("none")
        );
        for d in &self.ours {
            s.push_str(&format!("ours {d}\n"));
        }
        s
    }

    /// Parses a record; anything but the exact format is an error naming the line.
    pub fn parse(text: &str) -> Result<Record, String> {
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err(format!("the first line is not {HEADER:?}"));
        }
        let mut rec = Record::default();
        let mut saw_previous = false;
        for line in lines {
            match line.split_once(' ') {
                Some(("previous", "none")) if !saw_previous => saw_previous = true,
                Some(("previous", d)) if !saw_previous && is_digest(d) => {
                    rec.previous = Some(d.to_string());
                    saw_previous = true;
                }
                Some(("ours", d)) if is_digest(d) => rec.ours.push(d.to_string()),
                _ => return Err(format!("unexpected line {line:?}")),
            }
        }
        if !saw_previous {
            return Err("no 'previous' line".into());
        }
        Ok(rec)
    }
}

/// 64 lowercase hex digits.
pub fn is_digest(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(c: char) -> String {
        std::iter::repeat_n(c, 64).collect()
    }

    #[test]
    fn round_trips() {
        for rec in [
            Record::default(),
            Record {
                previous: Some(d('a')),
                ours: vec![d('b'), d('c')],
            },
        ] {
            assert_eq!(Record::parse(&rec.to_text()).unwrap(), rec);
        }
    }

    #[test]
    fn with_ours_puts_the_newest_first_once_and_keeps_a_bounded_history() {
        let rec = Record::default().with_ours(&d('1')).with_ours(&d('2'));
        assert_eq!(rec.ours, vec![d('2'), d('1')]);
        assert_eq!(rec.with_ours(&d('1')).ours, vec![d('1'), d('2')]);
        let mut many = Record::default();
        for c in "0123456789abcdefghij".chars() {
            many = many.with_ours(&d(c));
        }
        assert_eq!(many.ours.len(), OURS_KEPT);
        assert!(many.is_ours(&d('j')) && many.is_ours(&d('4')) && !many.is_ours(&d('3')));
    }

    #[test]
    fn refuses_anything_else() {
        for bad in [
            "",
            "nfv-install record 2\nprevious none\n",
            "nfv-install record 1\n",
            "nfv-install record 1\nprevious none\nprevious none\n",
            "nfv-install record 1\nprevious xyz\n",
            "nfv-install record 1\nprevious none\nours ABC\n",
            "nfv-install record 1\nprevious none\nsomething else\n",
        ] {
            assert!(Record::parse(bad).is_err(), "{bad:?}");
        }
    }
}
