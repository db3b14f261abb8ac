//! The one escaping rule of the crate's line-based state files (library playlists, sync
//! ledger, journal and tables): a value holds no tab and no line break.

/// Escapes a value so it holds no tab and no line break.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

/// Undoes [`escape`]; `None` for a dangling or unknown escape.
pub(crate) fn unescape(s: &str) -> Option<String> {
    if !s.contains('\\') {
        return Some(s.to_owned());
    }
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            out.push(match it.next()? {
                '\\' => '\\',
                't' => '\t',
                'n' => '\n',
                'r' => '\r',
                _ => return None,
            });
        } else {
            out.push(c);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bad_escapes() {
        let s = "a\\b\tc\nd\re";
        assert_eq!(unescape(&escape(s)).as_deref(), Some(s));
        assert_eq!(unescape("x\\"), None);
        assert_eq!(unescape("x\\q"), None);
    }
}
