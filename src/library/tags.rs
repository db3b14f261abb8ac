//! Reading real tags and audio properties with `lofty` (MP3/ID3v2, FLAC, Ogg Vorbis/Opus,
//! MP4/M4A, WAV, AIFF, ...), and with [`asf`](super::asf) for WMA/ASF, which lofty does not read.

use std::path::Path;

use lofty::config::ParseOptions;
use lofty::file::{FileType, TaggedFile};
use lofty::id3::v2::{Frame, Id3v2Tag};
use lofty::iff::aiff::AiffFile;
use lofty::iff::wav::WavFile;
use lofty::mpeg::MpegFile;
use lofty::prelude::*;
use lofty::probe::Probe;
use lofty::tag::{ItemValue, Tag};

use super::track::{Rating, Track};
use crate::metadata::FormatCode;

/// Fills `track`'s tag and property fields from the file at `path`.
///
/// Every tag in the file is consulted, the primary one first; a field missing from it is taken
/// from the next tag that has it (an MP3 with both ID3v2 and ID3v1, say).
///
/// Ratings: an ID3v2 `POPM` frame maps with [`Rating::from_popm`] (its play counter becomes the
/// play count); a text rating (Vorbis `RATING`, MP4 `rate`) of 0-5 is stars, 6-100 is the
/// 0-100 scale, anything else is ignored.
///
/// # Errors
/// A message naming what the tag reader could not read (a corrupt or truncated file, or a
/// format it does not know).
pub(crate) fn read_tags(path: &Path, track: &mut Track) -> Result<(), String> {
    // A tag reader bug on one hostile file must not end the scan of the whole folder: a panic
    // becomes this file's problem. On failure the track is discarded, so a half-filled one
    // never escapes.
    let mut scratch = track.clone();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_tags_inner(path, &mut scratch)
    })) {
        Ok(Ok(())) => {
            *track = scratch;
            Ok(())
        }
        Ok(Err(e)) => Err(e),
        Err(_) => Err("the tag reader failed on this file (internal error)".into()),
    }
}

fn read_tags_inner(path: &Path, track: &mut Track) -> Result<(), String> {
    if matches!(
        track.format,
        FormatCode::WMA | FormatCode::ASF | FormatCode::WMV
    ) {
        return super::asf::read_asf_file(path, track);
    }
    let options = ParseOptions::new().read_cover_art(false);
    let probe = Probe::open(path)
        .map_err(|e| format!("cannot open: {e}"))?
        .options(options)
        .guess_file_type()
        .map_err(|e| format!("cannot read: {e}"))?;
    let unreadable = |e: lofty::error::LoftyError| format!("unreadable audio file: {e}");
    // lofty keeps ID3v2 POPM frames out of its generic tag, so the formats that carry ID3v2 are
    // read through their own types to reach the frame, in the same single parse.
    let (file, popm): (TaggedFile, Option<(u8, u64)>) = match probe.file_type() {
        Some(FileType::Mpeg) => {
            let mut r = rewound(probe.into_inner())?;
            let f = MpegFile::read_from(&mut r, options).map_err(unreadable)?;
            let popm = f.id3v2().and_then(popm_of);
            (f.into(), popm)
        }
        Some(FileType::Wav) => {
            let mut r = rewound(probe.into_inner())?;
            let f = WavFile::read_from(&mut r, options).map_err(unreadable)?;
            let popm = f.id3v2().and_then(popm_of);
            (f.into(), popm)
        }
        Some(FileType::Aiff) => {
            let mut r = rewound(probe.into_inner())?;
            let f = AiffFile::read_from(&mut r, options).map_err(unreadable)?;
            let popm = f.id3v2().and_then(popm_of);
            (f.into(), popm)
        }
        _ => (probe.read().map_err(unreadable)?, None),
    };
    if let Some((rating, count)) = popm {
        track.rating = Rating::from_popm(rating);
        track.play_count = u32::try_from(count).unwrap_or(u32::MAX);
    }
    let props = file.properties();
    track.duration = props.duration();
    track.bitrate = props
        .audio_bitrate()
        .or(props.overall_bitrate())
        .unwrap_or(0)
        .saturating_mul(1000);
    track.sample_rate = props.sample_rate().unwrap_or(0);
    track.channels = props.channels().unwrap_or(0);
    let mut tags: Vec<&Tag> = Vec::new();
    if let Some(t) = file.primary_tag() {
        tags.push(t);
    }
    for t in file.tags() {
        if !tags.iter().any(|k| k.tag_type() == t.tag_type()) {
            tags.push(t);
        }
    }
    for tag in tags {
        fill_text(&mut track.title, tag.title());
        fill_text(&mut track.artist, tag.artist());
        fill_text(&mut track.album, tag.album());
        fill_text(&mut track.genre, tag.genre());
        if track.album_artist.is_empty() {
            if let Some(s) = tag.get_string(&ItemKey::AlbumArtist) {
                track.album_artist = s.trim_end_matches('\0').to_owned();
            }
        }
        track.track_number = track.track_number.or(tag.track());
        track.disc = track.disc.or(tag.disk());
        track.year = track.year.or(tag.year());
        if track.rating == Rating::UNRATED {
            if let Some(item) = tag.get(&ItemKey::Popularimeter) {
                match item.value() {
                    ItemValue::Binary(b) => {
                        if let Some((rating, count)) = parse_popm(b) {
                            track.rating = Rating::from_popm(rating);
                            if track.play_count == 0 {
                                track.play_count = u32::try_from(count).unwrap_or(u32::MAX);
                            }
                        }
                    }
                    ItemValue::Text(s) => {
                        if let Some(r) = text_rating(s) {
                            track.rating = r;
                        }
                    }
                    ItemValue::Locator(_) => {}
                }
            }
        }
    }
    Ok(())
}

fn rewound<R: std::io::Seek>(mut r: R) -> Result<R, String> {
    r.rewind().map_err(|e| format!("cannot read: {e}"))?;
    Ok(r)
}

/// The first POPM frame's rating and counter.
fn popm_of(tag: &Id3v2Tag) -> Option<(u8, u64)> {
    tag.into_iter().find_map(|f| match f {
        Frame::Popularimeter(p) => Some((p.rating, p.counter)),
        _ => None,
    })
}

fn fill_text(slot: &mut String, value: Option<std::borrow::Cow<'_, str>>) {
    if slot.is_empty() {
        if let Some(v) = value {
            // ID3v2.3 writers sometimes leave a terminating NUL in the value.
            *slot = v.trim_end_matches('\0').to_owned();
        }
    }
}

/// A text rating: 0-5 is stars, 6-100 the 0-100 scale.
fn text_rating(s: &str) -> Option<Rating> {
    let n: u32 = s.trim().parse().ok()?;
    match n {
        0..=5 => Some(Rating::from_stars(n as u8)),
        6..=100 => Some(Rating::new(n as u8)),
        _ => None,
    }
}

/// A `POPM` frame body: e-mail (NUL-terminated), rating byte, then an optional big-endian play
/// counter of any length (at least 4 bytes by the spec; longer values saturate).
fn parse_popm(b: &[u8]) -> Option<(u8, u64)> {
    let nul = b.iter().position(|&c| c == 0)?;
    let rest = b.get(nul + 1..)?;
    let (&rating, counter) = rest.split_first()?;
    let count = counter.iter().fold(0u64, |acc, &d| {
        acc.checked_mul(256).map_or(u64::MAX, |v| v | u64::from(d))
    });
    Some((rating, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn popm_bodies() {
        assert_eq!(parse_popm(b"a@b\0\xC4\0\0\0\x07"), Some((196, 7)));
        assert_eq!(parse_popm(b"\0\x01"), Some((1, 0)));
        assert_eq!(parse_popm(b"no nul"), None);
        assert_eq!(parse_popm(b"x\0"), None);
        assert_eq!(
            parse_popm(&[0, 5, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            Some((5, u64::MAX))
        );
    }

    #[test]
    fn text_ratings() {
        assert_eq!(text_rating("4"), Some(Rating::from_stars(4)));
        assert_eq!(text_rating("80"), Some(Rating::new(80)));
        assert_eq!(text_rating("255"), None);
        assert_eq!(text_rating("x"), None);
    }
}
