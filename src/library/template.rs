//! Path templates such as `{albumartist}/{album}/{track:02} {title}.{ext}`, filled from a
//! track's tags (sync uses them to name files on a device).

use std::fmt;

use super::track::Track;

/// Why a path template is malformed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError {
    /// Byte offset in the template.
    pub position: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "template error at byte {}: {}",
            self.position, self.message
        )
    }
}

impl std::error::Error for TemplateError {}

impl From<TemplateError> for crate::Error {
    /// A malformed template is an invalid argument.
    fn from(_: TemplateError) -> crate::Error {
        crate::Error::InvalidArg
    }
}

/// One piece of a parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Field { name: String, width: usize },
}

/// A parsed path template.
///
/// `{name}` is replaced by [`Track::template_field`]; `{name:0N}` pads a number with zeros to
/// `N` digits (`{track:02}` gives `03`); `{{` and `}}` are literal braces. `/` in the template
/// separates folders. A value that itself holds `/` or `\` has them replaced by `_`, so a tag
/// such as `AC/DC` can never add a folder level; making names legal on a given device is the
/// caller's naming policy.
///
/// ```
/// use wmdm::library::{PathTemplate, Track, TrackId};
///
/// let t = PathTemplate::parse("{albumartist}/{album}/{track:02} {title}.{ext}").unwrap();
/// let mut track = Track::new(TrackId(1), "x/y.flac");
/// track.artist = "AC/DC".into();
/// track.album = "Back in Black".into();
/// track.title = "Hells Bells".into();
/// track.track_number = Some(1);
/// assert_eq!(t.render(&track), "AC_DC/Back in Black/01 Hells Bells.flac");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathTemplate {
    pieces: Vec<Piece>,
}

/// Padding wider than this is surely a typo, and would allocate without bound.
const MAX_WIDTH: usize = 32;

impl PathTemplate {
    /// Parses a template.
    ///
    /// # Errors
    /// A [`TemplateError`] for an unknown placeholder, an unclosed `{`, a lone `}`, or a width
    /// that is not `0` followed by 1-2 digits.
    pub fn parse(template: &str) -> Result<PathTemplate, TemplateError> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut it = template.char_indices().peekable();
        while let Some((at, c)) = it.next() {
            match c {
                '{' if it.peek().map(|&(_, c)| c) == Some('{') => {
                    it.next();
                    text.push('{');
                }
                '}' if it.peek().map(|&(_, c)| c) == Some('}') => {
                    it.next();
                    text.push('}');
                }
                '}' => {
                    return Err(TemplateError {
                        position: at,
                        message: "a lone '}' (write '}}' for a brace)".into(),
                    });
                }
                '{' => {
                    let mut inner = String::new();
                    let mut closed = false;
                    for (_, c) in it.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        inner.push(c);
                    }
                    if !closed {
                        return Err(TemplateError {
                            position: at,
                            message: "'{' is never closed".into(),
                        });
                    }
                    let (name, width) = match inner.split_once(':') {
                        Some((name, spec)) => {
                            let width = spec
                                .strip_prefix('0')
                                .filter(|d| (1..=2).contains(&d.len()))
                                .and_then(|d| d.parse::<usize>().ok())
                                .filter(|w| *w <= MAX_WIDTH)
                                .ok_or_else(|| TemplateError {
                                    position: at,
                                    message: format!("bad width '{spec}' (use 02, 03, ...)"),
                                })?;
                            (name.to_owned(), width)
                        }
                        None => (inner, 0),
                    };
                    if Track::new(super::TrackId(0), "")
                        .template_field(&name)
                        .is_none()
                    {
                        return Err(TemplateError {
                            position: at,
                            message: format!(
                                "unknown field '{name}' (title, artist, album, albumartist, genre, track, disc, year, ext, filename)"
                            ),
                        });
                    }
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Field { name, width });
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(PathTemplate { pieces })
    }

    /// The path for a track, `/`-separated. A track without a title is named by its file's
    /// own name (as WMP shows it), and the spaces the template puts around a value that is
    /// empty do not stay at either end of a path component (no `" Song.mp3"` for a track
    /// without a number).
    pub fn render(&self, track: &Track) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Field { name, width } => {
                    let mut v = track.template_field(name).unwrap_or_default();
                    if name == "title" && v.trim().is_empty() {
                        v = track.template_field("filename").unwrap_or_default();
                    }
                    let v = v.replace(['/', '\\'], "_");
                    let digits = !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
                    if digits && v.len() < *width {
                        out.extend(std::iter::repeat_n('0', width - v.len()));
                    }
                    out.push_str(&v);
                }
            }
        }
        if out.split('/').any(|c| c != c.trim()) {
            out = out.split('/').map(str::trim).collect::<Vec<_>>().join("/");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::TrackId;
    use proptest::prelude::*;

    #[test]
    fn errors() {
        let e = |s: &str| PathTemplate::parse(s).unwrap_err();
        assert_eq!(e("{album").position, 0);
        assert_eq!(e("a}b").position, 1);
        assert_eq!(e("x/{colour}").position, 2);
        assert!(e("{track:2}").message.contains("width"));
        assert!(e("{track:099}").message.contains("width"));
        let t = PathTemplate::parse("{{{disc:03}}}-{year}").unwrap();
        let mut tr = Track::new(TrackId(0), "a.mp3");
        tr.disc = Some(7);
        assert_eq!(t.render(&tr), "{007}-");
    }

    #[test]
    fn a_track_without_a_number_or_title_gets_no_stray_space() {
        let t = PathTemplate::parse(crate::sync::DEFAULT_TEMPLATE).unwrap();
        let mut tr = Track::new(TrackId(0), "Some Band/dawn.wav");
        tr.artist = "Band".into();
        tr.album = "Album".into();
        // No track number: not " Song.mp3".
        tr.title = "Song".into();
        assert_eq!(t.render(&tr), "Band/Album/Song.wav");
        // No title either: the file's own name, as WMP shows it.
        tr.title.clear();
        assert_eq!(t.render(&tr), "Band/Album/dawn.wav");
        tr.track_number = Some(3);
        assert_eq!(t.render(&tr), "Band/Album/03 dawn.wav");
        // Spaces a template puts around an empty value go with it, inside every component.
        let spaced = PathTemplate::parse("{genre} - {album}/{track} {title}").unwrap();
        tr.album.clear();
        assert_eq!(spaced.render(&tr), "-/3 dawn");
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            if let Ok(t) = PathTemplate::parse(&s) {
                let _ = t.render(&Track::new(TrackId(0), "a/b.mp3"));
            }
        }
    }
}
