//! A small reader for the ASF header of WMA/WMV/ASF files: the tags and properties a library
//! needs. `lofty` does not read ASF, and WMA is Windows Media's own format, so this is the
//! "whatever can be read" for it.
//!
//! Only the top-level header object is parsed: the File Properties object (duration, overall
//! bitrate), the first audio Stream Properties object (its `WAVEFORMATEX`: sample rate,
//! channels, average bitrate), the Content Description object (title, author) and the Extended
//! Content Description object (`WM/AlbumTitle`, `WM/AlbumArtist`, `WM/Genre`,
//! `WM/TrackNumber`, `WM/Year`, `WM/PartOfSet`, `WM/SharedUserRating`).

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use super::track::{Rating, Track};

/// The header object GUID 75B22630-668E-11CF-A6D9-00AA0062CE6C, as stored.
const HEADER: [u8; 16] = [
    0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11, 0xA6, 0xD9, 0x00, 0xAA, 0x00, 0x62, 0xCE, 0x6C,
];
/// Content Description object, 75B22633-668E-11CF-A6D9-00AA0062CE6C.
const CONTENT: [u8; 16] = [
    0x33, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11, 0xA6, 0xD9, 0x00, 0xAA, 0x00, 0x62, 0xCE, 0x6C,
];
/// Extended Content Description object, D2D0A440-E307-11D2-97F0-00A0C95EA850.
const EXTENDED: [u8; 16] = [
    0x40, 0xA4, 0xD0, 0xD2, 0x07, 0xE3, 0xD2, 0x11, 0x97, 0xF0, 0x00, 0xA0, 0xC9, 0x5E, 0xA8, 0x50,
];
/// File Properties object, 8CABDCA1-A947-11CF-8EE4-00C00C205365.
const FILE_PROPS: [u8; 16] = [
    0xA1, 0xDC, 0xAB, 0x8C, 0x47, 0xA9, 0xCF, 0x11, 0x8E, 0xE4, 0x00, 0xC0, 0x0C, 0x20, 0x53, 0x65,
];

/// Stream Properties object, B7DC0791-A9B7-11CF-8EE6-00C00C205365.
const STREAM_PROPS: [u8; 16] = [
    0x91, 0x07, 0xDC, 0xB7, 0xB7, 0xA9, 0xCF, 0x11, 0x8E, 0xE6, 0x00, 0xC0, 0x0C, 0x20, 0x53, 0x65,
];
/// The audio stream type, F8699E40-5B4D-11CF-A8FD-00805F5C442B.
const AUDIO_MEDIA: [u8; 16] = [
    0x40, 0x9E, 0x69, 0xF8, 0x4D, 0x5B, 0xCF, 0x11, 0xA8, 0xFD, 0x00, 0x80, 0x5F, 0x5C, 0x44, 0x2B,
];

/// The header of a real file is a few KiB (more with embedded pictures); refusing more bounds
/// memory on hostile input.
const MAX_HEADER: u64 = 16 * 1024 * 1024;

/// Reads an ASF file's header into `track`.
pub(crate) fn read_asf_file(path: &Path, track: &mut Track) -> Result<(), String> {
    let mut f = crate::sys::files::open_unchanged(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut head = [0u8; 30];
    f.read_exact(&mut head)
        .map_err(|_| "too short for an ASF header".to_owned())?;
    let size = head
        .get(16..24)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_le_bytes);
    if size > MAX_HEADER {
        return Err(format!("ASF header of {size} bytes is too large"));
    }
    let mut bytes = head.to_vec();
    f.take(size.saturating_sub(30))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    parse_asf_header(&bytes, track)
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (a, b) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = b;
        Some(a)
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2)?.try_into().ok().map(u16::from_le_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)?.try_into().ok().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8)?.try_into().ok().map(u64::from_le_bytes)
    }
}

fn utf16(b: &[u8]) -> String {
    let units = b.chunks_exact(2).map(|c| {
        u16::from_le_bytes([
            c.first().copied().unwrap_or(0),
            c.get(1).copied().unwrap_or(0),
        ])
    });
    char::decode_utf16(units)
        .map(|r| r.unwrap_or('\u{FFFD}'))
        .collect::<String>()
        .trim_end_matches('\0')
        .to_owned()
}

/// Parses an ASF header object (the first bytes of the file) into `track`'s fields.
///
/// # Errors
/// A message when the bytes do not start with an ASF header or an object's size runs past the
/// end. Unknown objects and descriptors are skipped.
pub fn parse_asf_header(bytes: &[u8], track: &mut Track) -> Result<(), String> {
    let mut c = Cursor(bytes);
    if c.take(16) != Some(&HEADER[..]) {
        return Err("not an ASF file (no header object)".into());
    }
    let _size = c.u64().ok_or("truncated ASF header")?;
    let count = c.u32().ok_or("truncated ASF header")?;
    c.take(2).ok_or("truncated ASF header")?;
    let mut audio_bitrate = None;
    for _ in 0..count {
        if c.0.is_empty() {
            break;
        }
        let guid = c.take(16).ok_or("truncated ASF object")?;
        let size = c.u64().ok_or("truncated ASF object")?;
        let body_len = usize::try_from(
            size.checked_sub(24)
                .ok_or("ASF object smaller than its header")?,
        )
        .map_err(|_| "ASF object too large")?;
        let body = c
            .take(body_len)
            .ok_or("ASF object runs past the end of the header")?;
        if guid == FILE_PROPS {
            file_properties(body, track);
        } else if guid == STREAM_PROPS && audio_bitrate.is_none() {
            audio_bitrate = audio_stream(body, track);
        } else if guid == CONTENT {
            content_description(body, track);
        } else if guid == EXTENDED {
            extended_description(body, track);
        }
    }
    // The audio stream's own rate beats the file's maximum (which counts every stream and the
    // container), whichever object came first.
    if let Some(bps) = audio_bitrate.filter(|&b| b > 0) {
        track.bitrate = bps;
    }
    Ok(())
}

/// Reads an audio stream's `WAVEFORMATEX` (sample rate, channels) and returns its average
/// bitrate in bits per second; `None` for other streams or a truncated object.
fn audio_stream(body: &[u8], track: &mut Track) -> Option<u32> {
    let mut c = Cursor(body);
    if c.take(16)? != AUDIO_MEDIA {
        return None;
    }
    c.take(16 + 8)?; // error correction type, time offset
    let specific_len = usize::try_from(c.u32()?).ok()?;
    c.take(4 + 2 + 4)?; // error correction data length, flags, reserved
    let mut w = Cursor(c.take(specific_len)?);
    let _format_tag = w.u16()?;
    let channels = w.u16()?;
    let sample_rate = w.u32()?;
    let avg_bytes = w.u32()?;
    track.channels = u8::try_from(channels).unwrap_or(u8::MAX);
    track.sample_rate = sample_rate;
    Some(avg_bytes.saturating_mul(8))
}

fn file_properties(body: &[u8], track: &mut Track) -> Option<()> {
    let mut c = Cursor(body);
    c.take(16 + 8 + 8 + 8)?; // file id, file size, creation date, packet count
    let play = c.u64()?; // 100-ns units
    let _send = c.u64()?;
    let preroll_ms = c.u64()?;
    let _flags = c.u32()?;
    c.take(8)?; // min and max packet size
    let max_bitrate = c.u32()?;
    let nanos = play
        .saturating_mul(100)
        .saturating_sub(preroll_ms.saturating_mul(1_000_000));
    track.duration = Duration::from_nanos(nanos);
    track.bitrate = max_bitrate;
    Some(())
}

fn content_description(body: &[u8], track: &mut Track) -> Option<()> {
    let mut c = Cursor(body);
    let lens = [c.u16()?, c.u16()?, c.u16()?, c.u16()?, c.u16()?];
    let title = utf16(c.take(usize::from(lens[0]))?);
    let author = utf16(c.take(usize::from(lens[1]))?);
    if track.title.is_empty() {
        track.title = title;
    }
    if track.artist.is_empty() {
        track.artist = author;
    }
    Some(())
}

enum Value {
    Text(String),
    Number(u64),
}

fn extended_description(body: &[u8], track: &mut Track) -> Option<()> {
    let mut c = Cursor(body);
    let count = c.u16()?;
    for _ in 0..count {
        let name_len = c.u16()?;
        let name = utf16(c.take(usize::from(name_len))?);
        let ty = c.u16()?;
        let len = c.u16()?;
        let raw = c.take(usize::from(len))?;
        let num = |n: usize| {
            raw.get(..n)
                .map(|b| b.iter().rev().fold(0u64, |a, &d| (a << 8) | u64::from(d)))
        };
        let value = match ty {
            0 => Value::Text(utf16(raw)),
            2 | 3 => Value::Number(num(4)?),
            4 => Value::Number(num(8)?),
            5 => Value::Number(num(2)?),
            _ => continue,
        };
        let as_text = |v: &Value| match v {
            Value::Text(s) => s.clone(),
            Value::Number(n) => n.to_string(),
        };
        let as_num = |v: &Value| match v {
            Value::Text(s) => s
                .split('/')
                .next()
                .and_then(|p| p.trim().parse::<u32>().ok()),
            Value::Number(n) => u32::try_from(*n).ok(),
        };
        match name.as_str() {
            "WM/AlbumTitle" => track.album = as_text(&value),
            "WM/AlbumArtist" => track.album_artist = as_text(&value),
            "WM/Genre" => track.genre = as_text(&value),
            "WM/TrackNumber" => track.track_number = as_num(&value),
            "WM/Track" if track.track_number.is_none() => {
                // WM/Track is zero-based.
                track.track_number = as_num(&value).map(|n| n.saturating_add(1));
            }
            "WM/Year" => track.year = as_num(&value),
            "WM/PartOfSet" => track.disc = as_num(&value),
            "WM/SharedUserRating" => {
                if let Some(r) = as_num(&value) {
                    track.rating = Rating::new(u8::try_from(r.min(100)).unwrap_or(100));
                }
            }
            _ => {}
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::track::TrackId;

    fn utf16z(s: &str) -> Vec<u8> {
        s.encode_utf16()
            .chain([0])
            .flat_map(u16::to_le_bytes)
            .collect()
    }

    fn object(guid: [u8; 16], body: &[u8]) -> Vec<u8> {
        let mut v = guid.to_vec();
        v.extend_from_slice(&(body.len() as u64 + 24).to_le_bytes());
        v.extend_from_slice(body);
        v
    }

    /// A WMA header with a title, an author, an album, a track number and a rating.
    pub(crate) fn sample_header() -> Vec<u8> {
        let (t, a) = (utf16z("Title"), utf16z("Artist"));
        let mut cd = Vec::new();
        for l in [t.len(), a.len(), 0, 0, 0] {
            cd.extend_from_slice(&(l as u16).to_le_bytes());
        }
        cd.extend(&t);
        cd.extend(&a);
        let mut ext = 3u16.to_le_bytes().to_vec();
        for (name, ty, val) in [
            ("WM/AlbumTitle", 0u16, utf16z("Album")),
            ("WM/TrackNumber", 3, 7u32.to_le_bytes().to_vec()),
            ("WM/SharedUserRating", 3, 75u32.to_le_bytes().to_vec()),
        ] {
            let n = utf16z(name);
            ext.extend_from_slice(&(n.len() as u16).to_le_bytes());
            ext.extend(n);
            ext.extend_from_slice(&ty.to_le_bytes());
            ext.extend_from_slice(&(val.len() as u16).to_le_bytes());
            ext.extend(val);
        }
        // WAVEFORMATEX: WMA 2, stereo, 44.1 kHz, 8000 bytes/s (64 kbit/s), align, bits, cb.
        let mut wfx = Vec::new();
        for v in [0x0161u16, 2] {
            wfx.extend_from_slice(&v.to_le_bytes());
        }
        wfx.extend_from_slice(&44_100u32.to_le_bytes());
        wfx.extend_from_slice(&8_000u32.to_le_bytes());
        for v in [2973u16, 16, 0] {
            wfx.extend_from_slice(&v.to_le_bytes());
        }
        let mut sp = AUDIO_MEDIA.to_vec();
        sp.extend_from_slice(&[0; 16 + 8]);
        sp.extend_from_slice(&(wfx.len() as u32).to_le_bytes());
        sp.extend_from_slice(&[0; 4 + 2 + 4]);
        sp.extend(wfx);
        let mut fp = vec![0u8; 40];
        fp.extend_from_slice(&(30_000_000u64 + 30_000_000).to_le_bytes()); // 6 s incl. preroll
        fp.extend_from_slice(&0u64.to_le_bytes());
        fp.extend_from_slice(&3000u64.to_le_bytes()); // 3 s preroll
        fp.extend_from_slice(&[0; 12]);
        fp.extend_from_slice(&128_000u32.to_le_bytes());
        let objects = [
            object(STREAM_PROPS, &sp),
            object(CONTENT, &cd),
            object(EXTENDED, &ext),
            object(FILE_PROPS, &fp),
        ];
        let body: Vec<u8> = objects.concat();
        let mut v = HEADER.to_vec();
        v.extend_from_slice(&(body.len() as u64 + 30).to_le_bytes());
        v.extend_from_slice(&4u32.to_le_bytes());
        v.extend_from_slice(&[1, 2]);
        v.extend(body);
        v
    }

    #[test]
    fn reads_a_built_header() {
        let mut t = Track::new(TrackId(1), "a.wma");
        parse_asf_header(&sample_header(), &mut t).unwrap();
        assert_eq!(
            (t.title.as_str(), t.artist.as_str(), t.album.as_str()),
            ("Title", "Artist", "Album")
        );
        assert_eq!(t.track_number, Some(7));
        assert_eq!(t.rating, Rating::new(75));
        assert_eq!(t.duration, Duration::from_secs(3));
        assert_eq!((t.bitrate, t.sample_rate, t.channels), (64_000, 44_100, 2));
    }

    #[test]
    fn without_a_stream_the_file_bitrate_stays() {
        let mut h = sample_header();
        // Turn the stream object into an unknown one: its GUID's first byte changes.
        let at = HEADER.len() + 14;
        h[at] ^= 0xFF;
        let mut t = Track::new(TrackId(1), "a.wma");
        parse_asf_header(&h, &mut t).unwrap();
        assert_eq!((t.bitrate, t.sample_rate, t.channels), (128_000, 0, 0));
    }

    #[test]
    fn truncations_are_errors_not_panics() {
        let h = sample_header();
        for n in 0..h.len() {
            let mut t = Track::new(TrackId(1), "a.wma");
            let _ = parse_asf_header(&h[..n], &mut t);
        }
        let mut t = Track::new(TrackId(1), "a.wma");
        assert!(parse_asf_header(b"RIFF....", &mut t).is_err());
    }
}
