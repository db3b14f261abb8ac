//! The small text codec every sync state file shares: UTF-8 lines, a header line naming the
//! file kind and its version, then `key=value` lines or tab-separated records. Values escape
//! `\`, tab, CR and LF as `\\`, `\t`, `\r`, `\n`, so any name survives a round trip.

pub(crate) use crate::escape::{Escaped, escape, unescape};

use std::fmt;

/// Why a state file could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateParseError {
    /// The 1-based line where the problem is (0 for the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for StateParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for StateParseError {}

pub(crate) fn bad(line: usize, message: impl Into<String>) -> StateParseError {
    StateParseError {
        line,
        message: message.into(),
    }
}

/// The first line of a state file written in place (on a device that refuses renames):
/// `#wmdm-whole <body length> <SHA-1 of the body, 40 hex>`. Plain state files start with
/// their kind (`wmdm-...`), never with `#`.
pub(crate) const WHOLE_MAGIC: &str = "#wmdm-whole ";

/// The body of a framed state file when its length and hash match (the write was complete);
/// `None` otherwise, or when `stored` is not framed.
pub(crate) fn whole_body(stored: &[u8]) -> Option<&[u8]> {
    use sha1::Digest;
    let nl = stored.iter().position(|&b| b == b'\n')?;
    let (head, body) = stored.split_at(nl);
    let head = std::str::from_utf8(head).ok()?.strip_prefix(WHOLE_MAGIC)?;
    let (len, hash) = head.split_once(' ')?;
    let body = body.get(1..)?;
    let digest = sha1::Sha1::digest(body);
    let hex = hex::encode(digest);
    (len.parse::<usize>().ok() == Some(body.len()) && hex == hash).then_some(body)
}

/// Splits a file into its lines after checking the header `"<kind> <version>"`. A file
/// written in place is read through its frame (an incomplete one is an error).
pub(crate) fn lines_after_header<'a>(
    bytes: &'a [u8],
    kind: &str,
    version: u32,
) -> Result<impl Iterator<Item = (usize, &'a str)>, StateParseError> {
    let bytes = if bytes.first() == Some(&b'#') {
        whole_body(bytes).ok_or_else(|| bad(1, "an incomplete in-place write"))?
    } else {
        bytes
    };
    let text = std::str::from_utf8(bytes).map_err(|e| bad(0, format!("not UTF-8: {e}")))?;
    let mut lines = text
        .split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')));
    let header = lines.next().map(|(_, l)| l).unwrap_or_default();
    let expected = format!("{kind} {version}");
    if header != expected {
        return Err(bad(1, format!("expected the header {expected:?}")));
    }
    Ok(lines.filter(|(_, l)| !l.is_empty()))
}

/// Splits `key=value`, unescaping the value.
pub(crate) fn key_value(line_no: usize, line: &str) -> Result<(&str, String), StateParseError> {
    let (k, v) = line
        .split_once('=')
        .ok_or_else(|| bad(line_no, "expected key=value"))?;
    let v = unescape(v).ok_or_else(|| bad(line_no, "bad escape"))?;
    Ok((k, v))
}

/// The tab-separated fields of a record line. By byte: fields are short (a few dozen bytes),
/// where a general substring search costs more in setting up than in searching.
pub(crate) fn fields(line: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(line);
    std::iter::from_fn(move || {
        let r = rest?;
        match r.bytes().position(|b| b == b'\t') {
            Some(i) => {
                rest = r.get(i + 1..);
                r.get(..i)
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// Parses a decimal number field.
pub(crate) fn number<T: std::str::FromStr>(line_no: usize, s: &str) -> Result<T, StateParseError> {
    s.parse()
        .map_err(|_| bad(line_no, format!("{s:?} is not a number")))
}

/// Parses 16 lower-case hex digits as a `u64`.
pub(crate) fn hex_u64(line_no: usize, s: &str) -> Result<u64, StateParseError> {
    if s.len() != 16 {
        return Err(bad(line_no, "expected 16 hex digits"));
    }
    u64::from_str_radix(s, 16).map_err(|_| bad(line_no, "expected 16 hex digits"))
}

/// Parses 40 hex digits (either case) as 20 bytes.
pub(crate) fn hex20(line_no: usize, s: &str) -> Result<[u8; 20], StateParseError> {
    if s.len() != 40 {
        return Err(bad(line_no, "expected 40 hex digits"));
    }
    // By table: a ledger holds two of these a line, and a decoder that branches on each
    // digit (digit or letter, at random) cost a third of reading a 10,000-entry ledger.
    const INVALID: u8 = 0xFF;
    const TABLE: [u8; 256] = {
        let mut t = [INVALID; 256];
        let mut i = 0;
        while i < 10 {
            t[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            t[b'a' as usize + i] = 10 + i as u8;
            t[b'A' as usize + i] = 10 + i as u8;
            i += 1;
        }
        t
    };
    let mut out = [0u8; 20];
    let mut invalid = 0u8;
    for (o, pair) in out.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
        let (hi, lo) = (TABLE[usize::from(pair[0])], TABLE[usize::from(pair[1])]);
        // Any invalid digit sets the high bits; checked once, after the loop.
        invalid |= (hi | lo) & 0xF0;
        *o = (hi << 4) | (lo & 0x0F);
    }
    if invalid != 0 {
        return Err(bad(line_no, "bad hex"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The table decoder reads 40 characters as the general decoder does, and refuses
        /// what it refuses.
        #[test]
        fn hex20_agrees_with_the_general_decoder(s in "[0-9a-fA-F]{40}|[0-9a-fA-Fg-z+ é]{38,40}") {
            let mut expected = [0u8; 20];
            let general = hex::decode_to_slice(&s, &mut expected).map(|()| expected).ok();
            prop_assert_eq!(hex20(1, &s).ok(), general);
        }

        #[test]
        fn escape_round_trips(s in ".*") {
            let e = escape(&s);
            prop_assert!(!e.contains(['\t', '\n', '\r']));
            prop_assert_eq!(unescape(&e), Some(s));
        }
    }

    #[test]
    fn fields_split_at_every_tab() {
        fn split(l: &str) -> Vec<&str> {
            fields(l).collect()
        }
        assert_eq!(split("a\tbc\t\tdé"), ["a", "bc", "", "dé"]);
        assert_eq!(split(""), [""]);
        assert_eq!(split("\t"), ["", ""]);
        assert_eq!(split("x\t"), ["x", ""]);
        // As `str::split`, which the state files were read with before.
        for l in ["a\tb", "\t\t", "é\t\tü\t", "no tab"] {
            assert_eq!(split(l), l.split('\t').collect::<Vec<_>>());
        }
    }

    #[test]
    fn header_is_checked() {
        assert!(lines_after_header(b"x 1\na=b", "x", 1).is_ok());
        assert_eq!(
            lines_after_header(b"x 2\n", "x", 1).err().map(|e| e.line),
            Some(1)
        );
        assert!(lines_after_header(&[0xff], "x", 1).is_err());
        assert_eq!(hex20(1, &"ab".repeat(20)).unwrap(), [0xab; 20]);
        assert!(hex20(1, "zz").is_err());
        let mixed = "0123456789abcdefABCD".repeat(2);
        assert_eq!(
            hex20(1, &mixed).unwrap()[..10],
            [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xab, 0xcd]
        );
        // One bad digit anywhere, or a sign (which from_str_radix would take), is refused.
        assert!(hex20(1, &format!("{}g0", "ab".repeat(19))).is_err());
        assert!(hex20(1, &format!("+0{}", "ab".repeat(19))).is_err());
        assert!(hex20(1, &"é".repeat(20)).is_err());
        assert_eq!(unescape("a\\q"), None);
    }
}
