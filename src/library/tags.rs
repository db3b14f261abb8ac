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

use super::source::BlockFile;
use super::track::{Rating, Track};
use crate::metadata::FormatCode;

/// Fills `track`'s tag and property fields from the file at `path`, whose size the folder walk
/// found and left in `track.size` (the file is read up to that size).
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
    // Probe::open would read through a BufReader that every seek empties (see `source`).
    // The walk that found the file gave its size: no fstat.
    let mut file =
        BlockFile::open_walked(path, track.size).map_err(|e| format!("cannot open: {e}"))?;
    read_tags_from(&mut file, path, track)
}

/// [`read_tags_inner`] on an open file (`path` only gives the type its extension suggests).
fn read_tags_from(file: &mut BlockFile, path: &Path, track: &mut Track) -> Result<(), String> {
    let options = ParseOptions::new().read_cover_art(false);
    let mut probe = Probe::new(file).options(options);
    if let Some(ty) = FileType::from_path(path) {
        probe = probe.set_file_type(ty);
    }
    let probe = probe
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
        if track.album_artist.is_empty()
            && let Some(s) = tag.get_string(&ItemKey::AlbumArtist)
        {
            track.album_artist = s.trim_end_matches('\0').to_owned();
        }
        track.track_number = track.track_number.or(tag.track());
        track.disc = track.disc.or(tag.disk());
        track.year = track.year.or(tag.year());
        if track.rating == Rating::UNRATED
            && let Some(item) = tag.get(&ItemKey::Popularimeter)
        {
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
    if slot.is_empty()
        && let Some(v) = value
    {
        // ID3v2.3 writers sometimes leave a terminating NUL in the value.
        *slot = v.trim_end_matches('\0').to_owned();
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

    /// An MP3 as taggers write it: ID3v2 at the front, `frames` silent frames, ID3v1 at the end.
    fn tagged_mp3(frames: usize) -> Vec<u8> {
        let title = b"Blue Letters";
        let mut frame = b"TIT2".to_vec();
        frame.extend_from_slice(&(title.len() as u32 + 1).to_be_bytes());
        frame.extend_from_slice(&[0, 0, 3]);
        frame.extend_from_slice(title);
        let mut v = b"ID3\x04\0\0".to_vec();
        // Syncsafe size of the frames.
        let n = frame.len() as u32;
        v.extend_from_slice(&[
            (n >> 21) as u8 & 0x7F,
            (n >> 14) as u8 & 0x7F,
            (n >> 7) as u8 & 0x7F,
            n as u8 & 0x7F,
        ]);
        v.extend_from_slice(&frame);
        for _ in 0..frames {
            v.extend_from_slice(&[0xFF, 0xFB, 0x90, 0xC0]);
            v.extend_from_slice(&[0u8; 413]);
        }
        let mut v1 = [0u8; 128];
        v1[..3].copy_from_slice(b"TAG");
        v1[33..40].copy_from_slice(b"Someone");
        v.extend_from_slice(&v1);
        v
    }

    fn read_counting(bytes: &[u8]) -> (Track, u32) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.mp3");
        std::fs::write(&path, bytes).unwrap();
        let mut track = Track::new(super::super::TrackId(1), String::from("t.mp3"));
        track.format = FormatCode::MP3;
        let mut file = BlockFile::open(&path).unwrap();
        read_tags_from(&mut file, &path, &mut track).unwrap();
        (track, file.loads())
    }

    #[test]
    fn a_small_file_is_read_once_and_a_large_one_in_a_few_blocks() {
        // 17 kB: was ~15 reads and ~20 seeks through lofty's BufReader.
        let (small, loads) = read_counting(&tagged_mp3(40));
        assert_eq!(
            (small.title.as_str(), small.artist.as_str()),
            ("Blue Letters", "Someone")
        );
        assert_eq!(loads, 1);
        // 4 MB: the head, the tail, and little else.
        let (large, loads) = read_counting(&tagged_mp3(10_000));
        assert_eq!(large.title, "Blue Letters");
        assert!(large.duration > std::time::Duration::from_secs(200));
        assert!(loads <= 4, "{loads} blocks read");
    }

    #[test]
    fn text_ratings() {
        assert_eq!(text_rating("4"), Some(Rating::from_stars(4)));
        assert_eq!(text_rating("80"), Some(Rating::new(80)));
        assert_eq!(text_rating("255"), None);
        assert_eq!(text_rating("x"), None);
    }
}
