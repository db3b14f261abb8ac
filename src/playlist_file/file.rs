//! What the playlist file readers return and what the writers take.

use std::fmt;
use std::time::Duration;

/// A playlist file that could not be read at all (per-entry problems are
/// [`SkippedEntry`] instead).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlaylistParseError {
    /// Byte offset in the file where the problem was found.
    pub position: usize,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for PlaylistParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "playlist error at byte {}: {}",
            self.position, self.message
        )
    }
}

impl std::error::Error for PlaylistParseError {}

impl From<PlaylistParseError> for crate::Error {
    /// A playlist file that does not parse is an invalid argument.
    fn from(_: PlaylistParseError) -> crate::Error {
        crate::Error::InvalidArg
    }
}

/// One entry of a playlist file, as written in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlaylistEntry {
    /// The path as written (either separator; relative to the playlist's folder, or absolute).
    pub path: String,
    /// The display title (M3U `#EXTINF`), if any.
    pub title: Option<String>,
    /// The duration (M3U `#EXTINF`), if known.
    pub duration: Option<Duration>,
}

/// An entry that was left out, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedEntry {
    /// 1-based line (M3U) or 1-based entry number (WPL).
    pub line: usize,
    /// Why it was skipped.
    pub reason: String,
}

/// A parsed playlist file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlaylistFile {
    /// The title the file gives itself (M3U `#PLAYLIST:`, WPL `<title>`).
    pub title: Option<String>,
    /// The entries, in order.
    pub entries: Vec<PlaylistEntry>,
    /// Entries that could not be used.
    pub skipped: Vec<SkippedEntry>,
}

/// One track to write into a playlist file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteEntry<'a> {
    /// The track's path from the root of the medium the playlist is written on (the library
    /// root, or the device root), `/`-separated.
    pub path: &'a str,
    /// The display title (M3U only).
    pub title: Option<&'a str>,
    /// The duration (M3U only).
    pub duration: Option<Duration>,
}

/// How a writer spells paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathStyle {
    /// The folder the playlist file itself goes in, root-relative and `/`-separated (`""` for
    /// the root). Entries are written relative to it.
    pub base_folder: String,
    /// The separator written between components: `\\` for Windows and most devices, `/`
    /// elsewhere.
    pub separator: char,
    /// When set, entries are written absolute instead: this prefix, the separator, then the
    /// entry's path (`Some("")` gives `\Music\a.mp3` on a device; `Some("C:\\Music")` gives
    /// `C:\Music\Music\a.mp3`).
    pub absolute_prefix: Option<String>,
}

impl PathStyle {
    /// Paths relative to `base_folder`, with `separator`.
    pub fn relative(base_folder: impl Into<String>, separator: char) -> PathStyle {
        PathStyle {
            base_folder: base_folder.into(),
            separator,
            absolute_prefix: None,
        }
    }

    /// How an entry's path is written.
    ///
    /// # Errors
    /// [`Error::InvalidName`](crate::Error::InvalidName) when the path is empty or holds a
    /// line break or NUL, which no playlist format can carry.
    pub fn spell(&self, path: &str) -> crate::Result<String> {
        if path.is_empty() || path.contains(['\n', '\r', '\0']) {
            return Err(crate::Error::InvalidName);
        }
        Ok(match &self.absolute_prefix {
            Some(prefix) => {
                let rel = super::paths::relative_to("", path, self.separator);
                format!("{prefix}{}{rel}", self.separator)
            }
            None => super::paths::relative_to(&self.base_folder, path, self.separator),
        })
    }
}

/// Decodes playlist bytes to text: a UTF-8 or UTF-16 BOM is honoured; text that is not UTF-8 is
/// read as Latin-1 (older `.m3u` files are in a Windows code page, and Latin-1 never fails).
///
/// # Errors
/// A [`PlaylistParseError`] when the bytes hold NUL characters (binary data) or a UTF-16 text
/// is cut in half.
pub(crate) fn decode_text(bytes: &[u8]) -> Result<String, PlaylistParseError> {
    let utf16 = |body: &[u8], le: bool| -> Result<String, PlaylistParseError> {
        if !body.len().is_multiple_of(2) {
            return Err(PlaylistParseError {
                position: bytes.len(),
                message: "UTF-16 text with an odd number of bytes".into(),
            });
        }
        let units = body.chunks_exact(2).map(|c| match c {
            [a, b] if le => u16::from_le_bytes([*a, *b]),
            [a, b] => u16::from_be_bytes([*a, *b]),
            _ => 0,
        });
        Ok(char::decode_utf16(units)
            .map(|r| r.unwrap_or('\u{FFFD}'))
            .collect())
    };
    let text = if let Some(body) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        String::from_utf8_lossy(body).into_owned()
    } else if let Some(body) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        utf16(body, true)?
    } else if let Some(body) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        utf16(body, false)?
    } else {
        match std::str::from_utf8(bytes) {
            Ok(s) => s.to_owned(),
            Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
        }
    };
    if let Some(at) = text.find('\0') {
        return Err(PlaylistParseError {
            position: at,
            message: "binary data (a NUL character): not a text playlist".into(),
        });
    }
    Ok(text)
}
