//! The one escaping rule of the crate's line-based state files (library playlists, sync
//! ledger, journal and tables): a value holds no tab and no line break.

/// Escapes a value so it holds no tab and no line break.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_escaped(&mut out, s);
    out
}

/// The characters [`escape`] replaces, and what with.
fn replacement(c: char) -> Option<&'static str> {
    match c {
        '\\' => Some("\\\\"),
        '\t' => Some("\\t"),
        '\n' => Some("\\n"),
        '\r' => Some("\\r"),
        _ => None,
    }
}

/// Appends `s`, escaped as [`escape`] does, to `out` (no string of its own: the state files
/// write one or more values per line, thousands of lines).
pub(crate) fn push_escaped(out: &mut String, s: &str) {
    use std::fmt::Write as _;
    // Writing into a string cannot fail.
    let _ = write!(out, "{}", Escaped(s));
}

/// `s` escaped as [`escape`] does, written by `format!` and `write!` without a string of its
/// own.
pub(crate) struct Escaped<'a>(pub(crate) &'a str);

impl std::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(['\\', '\t', '\n', '\r']) {
            let (plain, tail) = rest.split_at(at);
            f.write_str(plain)?;
            let mut chars = tail.chars();
            if let Some(c) = chars.next() {
                f.write_str(replacement(c).unwrap_or_default())?;
            }
            rest = chars.as_str();
        }
        f.write_str(rest)
    }
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

    #[test]
    fn the_three_writers_agree() {
        for s in [
            "",
            "plain",
            "a\\b\tc\nd\re",
            "\\\\",
            "\t",
            "é\tü\n",
            "end\\",
        ] {
            let mut pushed = String::from("x");
            push_escaped(&mut pushed, s);
            assert_eq!(pushed, format!("x{}", Escaped(s)), "{s:?}");
            assert_eq!(escape(s), Escaped(s).to_string(), "{s:?}");
            assert!(!escape(s).contains(['\t', '\n', '\r']));
            assert_eq!(unescape(&escape(s)).as_deref(), Some(s));
        }
    }
}
