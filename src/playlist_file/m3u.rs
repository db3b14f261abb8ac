//! M3U and M3U8 playlists: plain and extended (`#EXTM3U`, `#EXTINF`, `#PLAYLIST`).

use std::time::Duration;

use super::file::{
    PathStyle, PlaylistEntry, PlaylistFile, PlaylistParseError, SkippedEntry, WriteEntry,
    decode_text,
};

/// Lines longer than this are skipped: no real path is this long, and it bounds memory per
/// entry on hostile input.
pub const MAX_LINE_BYTES: usize = 32 * 1024;

/// Reads an M3U or M3U8 playlist.
///
/// Tolerant by design: a BOM, CRLF or CR line ends, blank lines, unknown `#` directives and
/// text that is not UTF-8 (read as Latin-1) are all accepted. Per-entry problems (an over-long
/// line, a URL that is not a local file) go into [`PlaylistFile::skipped`].
///
/// ```
/// use wmdm::library::read_m3u;
///
/// let list = read_m3u(b"\xEF\xBB\xBF#EXTM3U\r\n#EXTINF:215,Miles Davis - So What\r\n..\\Jazz\\so what.mp3\r\n").unwrap();
/// assert_eq!(list.entries[0].path, "..\\Jazz\\so what.mp3");
/// assert_eq!(list.entries[0].title.as_deref(), Some("Miles Davis - So What"));
/// ```
///
/// # Errors
/// A [`PlaylistParseError`] when the bytes are binary (hold a NUL) or cut UTF-16.
pub fn read_m3u(bytes: &[u8]) -> Result<PlaylistFile, PlaylistParseError> {
    let text = decode_text(bytes)?;
    let mut out = PlaylistFile::default();
    let mut pending: Option<(Option<Duration>, Option<String>)> = None;
    for (i, line) in text.split(['\n', '\r']).enumerate() {
        let lineno = i + 1;
        if line.len() > MAX_LINE_BYTES {
            out.skipped.push(SkippedEntry {
                line: lineno,
                reason: format!("line longer than {MAX_LINE_BYTES} bytes"),
            });
            pending = None;
            continue;
        }
        let trimmed = line.trim_matches(|c: char| c == ' ' || c == '\t');
        if trimmed.is_empty() {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix('#') {
            if let Some(info) = rest.strip_prefix("EXTINF:") {
                pending = Some(parse_extinf(info));
            } else if let Some(title) = rest.strip_prefix("PLAYLIST:") {
                out.title = Some(title.to_owned());
            }
            continue;
        }
        let (duration, title) = pending.take().unwrap_or((None, None));
        let path = match local_path(trimmed) {
            Ok(p) => p,
            Err(reason) => {
                out.skipped.push(SkippedEntry {
                    line: lineno,
                    reason,
                });
                continue;
            }
        };
        out.entries.push(PlaylistEntry {
            path,
            title,
            duration,
        });
    }
    Ok(out)
}

/// `#EXTINF:<seconds>[ attributes],<title>`; a negative or unreadable duration is unknown.
fn parse_extinf(info: &str) -> (Option<Duration>, Option<String>) {
    let (head, title) = info.split_once(',').unwrap_or((info, ""));
    let secs = head.split_whitespace().next().unwrap_or("");
    let duration = secs
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1.0e12)
        .map(Duration::from_secs_f64);
    let title = (!title.is_empty()).then(|| title.to_owned());
    (duration, title)
}

/// A path line as a local path: `file://` URLs are decoded; other URLs are skipped.
fn local_path(line: &str) -> Result<String, String> {
    let lower = line
        .get(..8)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if lower.starts_with("file://") {
        let rest = line.get(7..).unwrap_or_default();
        // file:///C:/x → C:/x ; file:///home/x → /home/x
        let rest = match rest.strip_prefix('/') {
            Some(r) if super::paths::is_absolute(r) && !r.starts_with(['/', '\\']) => r,
            _ => rest,
        };
        return percent_decode(rest).ok_or_else(|| "a file URL with bad %-escapes".to_owned());
    }
    if let Some((scheme, _)) = line.split_once("://")
        && !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return Err(format!("a {scheme}:// URL, not a local file"));
    }
    Ok(line.to_owned())
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Writes an extended M3U playlist (UTF-8, no BOM, CRLF line ends as Windows tools expect;
/// use the `.m3u8` extension to make the encoding explicit).
///
/// Each entry gets `#EXTINF:<seconds>,<title>` when it has a title or a duration (`-1` for an
/// unknown duration). Line breaks in titles become spaces.
///
/// ```
/// use wmdm::library::{write_m3u, PathStyle, WriteEntry};
///
/// let style = PathStyle::relative("Playlists", '\\');
/// let text = write_m3u(Some("Jazz"), &[WriteEntry { path: "Music/a.mp3", title: None, duration: None }], &style).unwrap();
/// assert_eq!(text, "#EXTM3U\r\n#PLAYLIST:Jazz\r\n..\\Music\\a.mp3\r\n");
/// ```
///
/// # Errors
/// [`Error::InvalidName`](crate::Error::InvalidName) for an entry whose path is empty or holds
/// a line break or NUL.
pub fn write_m3u(
    title: Option<&str>,
    entries: &[WriteEntry<'_>],
    style: &PathStyle,
) -> crate::Result<String> {
    let clean = |s: &str| s.replace(['\r', '\n'], " ");
    let mut out = String::from("#EXTM3U\r\n");
    if let Some(t) = title {
        out.push_str(&format!("#PLAYLIST:{}\r\n", clean(t)));
    }
    for e in entries {
        let path = style.spell(e.path)?;
        if e.title.is_some() || e.duration.is_some() {
            let secs = e
                .duration
                .map_or(-1, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
            out.push_str(&format!(
                "#EXTINF:{secs},{}\r\n",
                clean(e.title.unwrap_or(""))
            ));
        }
        out.push_str(&path);
        out.push_str("\r\n");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_inputs() {
        assert!(read_m3u(b"a.mp3\0\x01\x02").is_err());
        let long = format!("{}\nok.mp3\n", "x".repeat(MAX_LINE_BYTES + 1));
        let l = read_m3u(long.as_bytes()).unwrap();
        assert_eq!(l.entries.len(), 1);
        assert_eq!(l.skipped[0].line, 1);
        let l = read_m3u(
            b"http://radio/x\nfile:///C:/M%C3%BAsica/a.mp3\nfile:///home/a%20b.mp3\nfile://%zz\n",
        )
        .unwrap();
        assert_eq!(l.entries[0].path, "C:/Música/a.mp3");
        assert_eq!(l.entries[1].path, "/home/a b.mp3");
        assert_eq!(l.skipped.len(), 2);
        let l = read_m3u(b"caf\xe9.mp3\r").unwrap();
        assert_eq!(l.entries[0].path, "café.mp3");
        let l = read_m3u(b"#EXTINF:abc\nx.mp3\n#EXTINF:-1 tvg=\"1\",T, with comma\ny.mp3").unwrap();
        assert_eq!(l.entries[0].duration, None);
        assert_eq!(l.entries[1].title.as_deref(), Some("T, with comma"));
        assert!(
            read_m3u(b"\xFF\xFEa\0b")
                .unwrap_err()
                .message
                .contains("odd")
        );
        assert!(
            read_m3u(b"\xFF\xFEa\0\0\0")
                .unwrap_err()
                .message
                .contains("NUL")
        );
        assert_eq!(read_m3u(b"\xFF\xFEa\0").unwrap().entries[0].path, "a");
    }
}
