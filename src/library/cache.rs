//! The folder library's scan cache: a versioned binary file under the caller's state folder.
//!
//! Layout (all integers little-endian):
//!
//! ```text
//! file    := magic "WMDMLIBC" | u32 version (= 2) | u32 count | record{count} | u32 crc
//! record  := str relative_path | u64 id | u64 size | i64 mtime_ns | i64 added_s
//!            | u32 format | str title | str artist | str album | str album_artist | str genre
//!            | u8 present | u32 track | u32 disc | u32 year | u64 duration_ns | u32 bitrate
//!            | u32 sample_rate | u8 channels | u8 rating | u32 play_count | i64 last_played_s
//!            | [u8; 20] sha1
//! str     := u32 byte length | UTF-8 bytes
//! present := bit 0 track, bit 1 disc, bit 2 year, bit 3 last_played, bit 4 sha1
//! ```
//!
//! `crc` is the CRC-32 (IEEE) of every byte before it, so a truncated or damaged file is
//! detected and discarded as a whole. (Version 1 used FNV-1a, which at one byte per step cost a
//! warm start more time than stat-ing the whole folder; CRC-32 runs at memory speed.) Times are relative to the Unix epoch (`mtime_ns` in
//! nanoseconds, the others in seconds); absent values are stored as zero.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::track::{ContentHash, Rating, Track, TrackId};
use crate::metadata::FormatCode;
use crate::{Error, Result};

/// The cache file's name inside the state folder.
pub const CACHE_FILE_NAME: &str = "library-scan.cache";

/// The cache format version this build reads and writes. A file with another version is
/// discarded and rebuilt.
pub const CACHE_VERSION: u32 = 2;

const MAGIC: &[u8; 8] = b"WMDMLIBC";

/// One cached track: everything scanned from the file, plus its content hash when one was
/// computed for the same size and modification time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedTrack {
    /// The track (its `path` is not stored; the reader sets it to the relative path).
    pub track: Track,
    /// The SHA-1 of the file's bytes, if known.
    pub hash: Option<ContentHash>,
}

pub(crate) fn to_nanos(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_nanos()).map_or(i64::MIN, |n| -n),
    }
}

/// The time `n` nanoseconds from the epoch; `None` when the platform's time type cannot hold it.
pub(crate) fn from_nanos(n: i64) -> Option<SystemTime> {
    let d = Duration::from_nanos(n.unsigned_abs());
    if n >= 0 {
        UNIX_EPOCH.checked_add(d)
    } else {
        UNIX_EPOCH.checked_sub(d)
    }
}

/// Whole seconds, rounded towards the past.
fn to_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let back = e.duration();
            let whole = i64::try_from(back.as_secs()).unwrap_or(i64::MAX);
            -whole - i64::from(back.subsec_nanos() > 0)
        }
    }
}

/// The time `s` seconds from the epoch; `None` when the platform's time type cannot hold it.
fn from_secs(s: i64) -> Option<SystemTime> {
    let d = Duration::from_secs(s.unsigned_abs());
    if s >= 0 {
        UNIX_EPOCH.checked_add(d)
    } else {
        UNIX_EPOCH.checked_sub(d)
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(
        s.as_bytes()
            .get(..u32::MAX as usize)
            .unwrap_or(s.as_bytes()),
    );
}

/// Encodes cache records. Times are kept to the nanosecond for the modification time and to
/// the second for the others, which is what [`decode_cache`] gives back.
pub fn encode_cache(records: &[CachedTrack]) -> Vec<u8> {
    encode_cache_of(records.iter().map(|r| (&r.track, r.hash)))
}

/// [`encode_cache`] of tracks and their hashes held elsewhere (the library's own tracks: no
/// copy of each is made to write them).
pub(crate) fn encode_cache_of<'a>(
    records: impl ExactSizeIterator<Item = (&'a Track, Option<ContentHash>)>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + records.len() * 160);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&CACHE_VERSION.to_le_bytes());
    out.extend_from_slice(
        &u32::try_from(records.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    for (t, hash) in records.take(u32::MAX as usize) {
        put_str(&mut out, &t.relative_path);
        out.extend_from_slice(&t.id.0.to_le_bytes());
        out.extend_from_slice(&t.size.to_le_bytes());
        out.extend_from_slice(&to_nanos(t.modified).to_le_bytes());
        out.extend_from_slice(&to_secs(t.date_added).to_le_bytes());
        out.extend_from_slice(&t.format.0.to_le_bytes());
        for s in [&t.title, &t.artist, &t.album, &t.album_artist, &t.genre] {
            put_str(&mut out, s);
        }
        let present = u8::from(t.track_number.is_some())
            | u8::from(t.disc.is_some()) << 1
            | u8::from(t.year.is_some()) << 2
            | u8::from(t.last_played.is_some()) << 3
            | u8::from(hash.is_some()) << 4;
        out.push(present);
        for v in [t.track_number, t.disc, t.year] {
            out.extend_from_slice(&v.unwrap_or(0).to_le_bytes());
        }
        let dur = u64::try_from(t.duration.as_nanos()).unwrap_or(u64::MAX);
        out.extend_from_slice(&dur.to_le_bytes());
        out.extend_from_slice(&t.bitrate.to_le_bytes());
        out.extend_from_slice(&t.sample_rate.to_le_bytes());
        out.push(t.channels);
        out.push(t.rating.value());
        out.extend_from_slice(&t.play_count.to_le_bytes());
        out.extend_from_slice(&t.last_played.map_or(0, to_secs).to_le_bytes());
        out.extend_from_slice(&hash.map_or([0; 20], |h| h.0));
    }
    let sum = crc32fast::hash(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let (a, b) = (self.bytes.get(..n), self.bytes.get(n..));
        match (a, b) {
            (Some(a), Some(b)) => {
                self.bytes = b;
                Ok(a)
            }
            _ => Err(Error::InvalidArg),
        }
    }
    fn arr<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.take(N)?.try_into().map_err(|_| Error::InvalidArg)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.arr::<1>()?[0])
    }
    fn u32(&mut self) -> Result<u32> {
        self.arr().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Result<u64> {
        self.arr().map(u64::from_le_bytes)
    }
    fn i64(&mut self) -> Result<i64> {
        self.arr().map(i64::from_le_bytes)
    }
    fn str(&mut self) -> Result<String> {
        let n = usize::try_from(self.u32()?).map_err(|_| Error::InvalidArg)?;
        let b = self.take(n)?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| Error::InvalidArg)
    }
}

/// Decodes a cache file.
///
/// # Errors
/// [`Error::InvalidArg`] when the bytes are not a version-[`CACHE_VERSION`] cache: a wrong
/// magic or version, a checksum mismatch, a truncated record, invalid UTF-8, a rating over 100,
/// a time the platform cannot represent, a non-zero value stored for an absent field, or bytes
/// left over. The folder library then discards the cache and rescans everything.
pub fn decode_cache(bytes: &[u8]) -> Result<Vec<CachedTrack>> {
    let split = bytes.len().checked_sub(4).ok_or(Error::InvalidArg)?;
    let (body, sum) = (
        bytes.get(..split).ok_or(Error::InvalidArg)?,
        bytes.get(split..).ok_or(Error::InvalidArg)?,
    );
    let sum: [u8; 4] = sum.try_into().map_err(|_| Error::InvalidArg)?;
    if crc32fast::hash(body) != u32::from_le_bytes(sum) {
        return Err(Error::InvalidArg);
    }
    let mut r = Reader { bytes: body };
    if r.take(8)? != MAGIC || r.u32()? != CACHE_VERSION {
        return Err(Error::InvalidArg);
    }
    let count = r.u32()?;
    // Each record is at least 110 bytes; never trust the count for an allocation.
    let mut out = Vec::with_capacity((count as usize).min(body.len() / 110));
    for _ in 0..count {
        let relative_path = r.str()?;
        let id = TrackId(r.u64()?);
        let mut t = Track::new(id, relative_path);
        t.size = r.u64()?;
        t.modified = from_nanos(r.i64()?).ok_or(Error::InvalidArg)?;
        t.date_added = from_secs(r.i64()?).ok_or(Error::InvalidArg)?;
        t.format = FormatCode(r.u32()?);
        t.title = r.str()?;
        t.artist = r.str()?;
        t.album = r.str()?;
        t.album_artist = r.str()?;
        t.genre = r.str()?;
        let present = r.u8()?;
        if present & !0x1F != 0 {
            return Err(Error::InvalidArg);
        }
        let (track, disc, year) = (r.u32()?, r.u32()?, r.u32()?);
        t.track_number = (present & 1 != 0).then_some(track);
        t.disc = (present & 2 != 0).then_some(disc);
        t.year = (present & 4 != 0).then_some(year);
        t.duration = Duration::from_nanos(r.u64()?);
        t.bitrate = r.u32()?;
        t.sample_rate = r.u32()?;
        t.channels = r.u8()?;
        let rating = r.u8()?;
        if rating > 100 {
            return Err(Error::InvalidArg);
        }
        t.rating = Rating::new(rating);
        t.play_count = r.u32()?;
        let last = r.i64()?;
        t.last_played = match present & 8 != 0 {
            true => Some(from_secs(last).ok_or(Error::InvalidArg)?),
            false => None,
        };
        let raw_hash = r.arr::<20>()?;
        let hash = (present & 16 != 0).then_some(ContentHash(raw_hash));
        // Absent values are stored as zero; anything else is not a file this code wrote, and
        // refusing it keeps the encoding canonical (decode then encode gives the same bytes).
        let absent_nonzero = (present & 1 == 0 && track != 0)
            || (present & 2 == 0 && disc != 0)
            || (present & 4 == 0 && year != 0)
            || (present & 8 == 0 && last != 0)
            || (present & 16 == 0 && raw_hash != [0; 20]);
        if absent_nonzero {
            return Err(Error::InvalidArg);
        }
        out.push(CachedTrack { track: t, hash });
    }
    if !r.bytes.is_empty() {
        return Err(Error::InvalidArg);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_track() -> impl Strategy<Value = CachedTrack> {
        (
            (
                "[a-zA-Z0-9 /éü]{1,20}",
                any::<u64>(),
                any::<u64>(),
                any::<i64>(),
            ),
            (
                -11_644_473_600i64..900_000_000_000,
                "\\PC{0,8}",
                "\\PC{0,8}",
                any::<Option<u32>>(),
            ),
            (
                any::<Option<u32>>(),
                0u8..=100,
                any::<u32>(),
                proptest::option::of(-11_644_473_600i64..900_000_000_000),
            ),
            (
                any::<Option<[u8; 20]>>(),
                any::<u64>(),
                any::<u32>(),
                any::<u8>(),
            ),
        )
            .prop_map(
                |(
                    (path, id, size, mtime),
                    (added, title, genre, year),
                    (disc, rating, plays, last),
                    (hash, dur, fmt, channels),
                )| {
                    let mut t = Track::new(TrackId(id), path);
                    t.size = size;
                    t.modified = from_nanos(mtime).unwrap();
                    t.date_added = from_secs(added).unwrap();
                    t.title = title;
                    t.genre = genre;
                    t.year = year;
                    t.disc = disc;
                    t.rating = Rating::new(rating);
                    t.play_count = plays;
                    t.last_played = last.map(|s| from_secs(s).unwrap());
                    t.duration = Duration::from_nanos(dur);
                    t.format = FormatCode(fmt);
                    t.channels = channels;
                    CachedTrack {
                        track: t,
                        hash: hash.map(ContentHash),
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn round_trip(records in proptest::collection::vec(arb_track(), 0..8)) {
            let bytes = encode_cache(&records);
            prop_assert_eq!(decode_cache(&bytes).unwrap(), records);
        }

        #[test]
        fn checksummed_garbage_never_panics(body in proptest::collection::vec(any::<u8>(), 0..400), count in 0u32..4) {
            let mut bytes = MAGIC.to_vec();
            bytes.extend_from_slice(&CACHE_VERSION.to_le_bytes());
            bytes.extend_from_slice(&count.to_le_bytes());
            bytes.extend(body);
            let sum = crc32fast::hash(&bytes);
            bytes.extend_from_slice(&sum.to_le_bytes());
            if let Ok(records) = decode_cache(&bytes) {
                prop_assert_eq!(encode_cache(&records), bytes);
            }
        }

        #[test]
        fn any_damage_is_detected(records in proptest::collection::vec(arb_track(), 1..4), at in any::<prop::sample::Index>(), bit in 0u8..8) {
            let mut bytes = encode_cache(&records);
            let i = at.index(bytes.len());
            bytes[i] ^= 1 << bit;
            prop_assert!(decode_cache(&bytes).is_err());
            prop_assert!(decode_cache(&bytes[..i]).is_err());
        }
    }
}
