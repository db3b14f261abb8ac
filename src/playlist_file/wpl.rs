//! WPL: the SMIL-based Windows Media playlist.
//!
//! ```text
//! <?wpl version="1.0"?>
//! <smil>
//!   <head><meta name="Generator" content="..."/><title>Name</title></head>
//!   <body><seq><media src="..\Music\a.mp3"/></seq></body>
//! </smil>
//! ```

use quick_xml::Reader;
use quick_xml::escape::escape;
use quick_xml::events::Event;

use super::file::{
    PathStyle, PlaylistEntry, PlaylistFile, PlaylistParseError, SkippedEntry, WriteEntry,
    decode_text,
};

/// Nesting deeper than this is not a playlist WMP wrote; refusing it bounds the work on
/// hostile input.
const MAX_DEPTH: usize = 64;

/// Reads a WPL playlist: the `<title>` and every `<media src="...">` in order.
///
/// WMP's auto playlists keep their rule in a `<smartPlaylist>` element; those rules are not
/// read, only the entries WMP last saved. A `<media>` without a usable `src` is skipped.
///
/// ```
/// use wmdm::library::read_wpl;
///
/// let list = read_wpl(br#"<?wpl version="1.0"?><smil><head><title>A &amp; B</title></head>
///   <body><seq><media src="..\Music\a.mp3"/></seq></body></smil>"#).unwrap();
/// assert_eq!(list.title.as_deref(), Some("A & B"));
/// assert_eq!(list.entries[0].path, "..\\Music\\a.mp3");
/// ```
///
/// # Errors
/// A [`PlaylistParseError`] with the byte position when the XML is malformed or truncated, is
/// nested deeper than 64 elements, is binary, or has no `<smil>` root.
pub fn read_wpl(bytes: &[u8]) -> Result<PlaylistFile, PlaylistParseError> {
    let text = decode_text(bytes)?;
    let mut reader = Reader::from_str(&text);
    reader.config_mut().trim_text(true);
    let mut out = PlaylistFile::default();
    let mut stack: Vec<Vec<u8>> = Vec::new();
    let mut saw_smil = false;
    let mut media = 0usize;
    let err = |reader: &Reader<&[u8]>, message: String| PlaylistParseError {
        position: usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX),
        message,
    };
    loop {
        let event = reader
            .read_event()
            .map_err(|e| err(&reader, format!("malformed XML: {e}")))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = e.local_name().as_ref().to_ascii_lowercase();
                if stack.is_empty() {
                    if name != b"smil" {
                        return Err(err(
                            &reader,
                            "not a WPL playlist: the root element is not <smil>".into(),
                        ));
                    }
                    saw_smil = true;
                }
                if name == b"media" {
                    media += 1;
                    match media_src(e) {
                        Ok(path) => out.entries.push(PlaylistEntry {
                            path,
                            title: None,
                            duration: None,
                        }),
                        Err(reason) => out.skipped.push(SkippedEntry {
                            line: media,
                            reason,
                        }),
                    }
                }
                if matches!(event, Event::Start(_)) {
                    if stack.len() >= MAX_DEPTH {
                        return Err(err(
                            &reader,
                            format!("elements nested deeper than {MAX_DEPTH}"),
                        ));
                    }
                    stack.push(name);
                }
            }
            Event::End(_) => {
                stack.pop();
            }
            Event::Text(t) => {
                let in_title = stack.last().is_some_and(|n| n == b"title")
                    && stack.iter().any(|n| n == b"head");
                if in_title {
                    let s = t
                        .unescape()
                        .map_err(|e| err(&reader, format!("bad text in <title>: {e}")))?;
                    out.title = Some(s.into_owned());
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(err(
            &reader,
            "truncated: the file ends inside an element".into(),
        ));
    }
    if !saw_smil {
        return Err(err(&reader, "not a WPL playlist: no <smil> element".into()));
    }
    Ok(out)
}

fn media_src(e: &quick_xml::events::BytesStart<'_>) -> Result<String, String> {
    for attr in e.attributes() {
        let attr = attr.map_err(|e| format!("bad attribute: {e}"))?;
        if attr.key.local_name().as_ref().eq_ignore_ascii_case(b"src") {
            let v = attr
                .unescape_value()
                .map_err(|e| format!("bad src value: {e}"))?;
            if v.trim().is_empty() {
                return Err("empty src".into());
            }
            return Ok(v.into_owned());
        }
    }
    Err("<media> without src".into())
}

/// Writes a WPL playlist as WMP does (UTF-8, CRLF, a `Generator` and an `ItemCount` meta).
/// Titles and durations of entries are not part of WPL and are not written.
///
/// ```
/// use wmdm::library::{write_wpl, read_wpl, PathStyle, WriteEntry};
///
/// let style = PathStyle::relative("Playlists", '\\');
/// let text = write_wpl("Rock & Roll", &[WriteEntry { path: "Music/a.mp3", title: None, duration: None }], &style).unwrap();
/// let back = read_wpl(text.as_bytes()).unwrap();
/// assert_eq!(back.title.as_deref(), Some("Rock & Roll"));
/// assert_eq!(back.entries[0].path, "..\\Music\\a.mp3");
/// ```
///
/// # Errors
/// [`Error::InvalidName`](crate::Error::InvalidName) for an entry whose path is empty or holds
/// a line break or NUL.
pub fn write_wpl(
    title: &str,
    entries: &[WriteEntry<'_>],
    style: &PathStyle,
) -> crate::Result<String> {
    let mut out = String::from("<?wpl version=\"1.0\"?>\r\n<smil>\r\n    <head>\r\n");
    out.push_str(&format!(
        "        <meta name=\"Generator\" content=\"wmdm -- {}\"/>\r\n",
        env!("CARGO_PKG_VERSION")
    ));
    out.push_str(&format!(
        "        <meta name=\"ItemCount\" content=\"{}\"/>\r\n",
        entries.len()
    ));
    out.push_str(&format!("        <title>{}</title>\r\n", escape(title)));
    out.push_str("    </head>\r\n    <body>\r\n        <seq>\r\n");
    for e in entries {
        let path = style.spell(e.path)?;
        out.push_str(&format!(
            "            <media src=\"{}\"/>\r\n",
            escape(path.as_str())
        ));
    }
    out.push_str("        </seq>\r\n    </body>\r\n</smil>\r\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_wpl() {
        for bad in [
            &b"<smil><body><seq><media src=\"a\"/>"[..],
            b"<smil><body></seq></smil>",
            b"<html/>",
            b"",
            b"\x00\x01\x02garbage",
            b"<smil><media src=\"&bogus;\"/></smil>",
        ] {
            let r = read_wpl(bad);
            if bad.starts_with(b"<smil><media") {
                let l = r.unwrap();
                assert!(l.entries.is_empty());
                assert_eq!(l.skipped.len(), 1);
            } else {
                assert!(r.is_err(), "{:?}", String::from_utf8_lossy(bad));
            }
        }
        let deep = format!("<smil>{}", "<a>".repeat(1000));
        assert!(
            read_wpl(deep.as_bytes())
                .unwrap_err()
                .message
                .contains("deeper")
        );
        let l = read_wpl(b"<smil><media/><media src=\"  \"/><media src=\"x\"/></smil>").unwrap();
        assert_eq!(l.entries.len(), 1);
        assert_eq!(l.skipped.iter().map(|s| s.line).collect::<Vec<_>>(), [1, 2]);
    }
}
