//! Tracks: what the library knows about one audio file.

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::metadata::FormatCode;

/// A track's stable library id.
///
/// For a folder library it is derived from the file's path relative to the library root
/// ([`TrackId::from_relative_path`]), so it survives rescans, a lost cache and a restart. A file
/// that moves gets a new id; sync recognises the move by the content hash (its identity for a
/// track is library id plus [`ContentHash`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrackId(pub u64);

impl TrackId {
    /// The id for a path relative to the library root, `/`-separated.
    ///
    /// This is 64-bit FNV-1a of the UTF-8 path: a fixed, documented function (not `std`'s
    /// hasher, which may change between Rust releases), so the id is the same on every run and
    /// every machine. The folder library resolves the rare collision deterministically (see
    /// [`FolderLibrary`](super::FolderLibrary)).
    pub fn from_relative_path(path: &str) -> TrackId {
        TrackId(fnv1a64(path.as_bytes()))
    }
}

impl fmt::Debug for TrackId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrackId({:016x})", self.0)
    }
}

impl fmt::Display for TrackId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// 64-bit FNV-1a.
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The SHA-1 of a file's bytes, computed on demand by [`Library::content_hash`].
///
/// [`Library::content_hash`]: super::Library::content_hash
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentHash(pub [u8; 20]);

impl ContentHash {
    /// Hashes a byte slice.
    pub fn of_bytes(bytes: &[u8]) -> ContentHash {
        use sha1::Digest;
        ContentHash(sha1::Sha1::digest(bytes).into())
    }

    /// Hashes everything a reader yields, streaming in 64 KiB blocks.
    ///
    /// # Errors
    /// The reader's I/O error, mapped with `From<io::Error>` (for example
    /// [`Error::FileNotFound`](crate::Error::FileNotFound)).
    pub fn of_reader(mut r: impl std::io::Read) -> crate::Result<ContentHash> {
        use sha1::Digest;
        let mut h = sha1::Sha1::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            h.update(buf.get(..n).unwrap_or_default());
        }
        Ok(ContentHash(h.finalize().into()))
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHash({self})")
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// A user rating, 0-100, where 0 means "not rated".
///
/// This is WMP's `UserRating` scale. Conversions:
///
/// | stars | [`Rating::from_stars`] (what WMP writes) | read back as stars ([`Rating::stars`]) | ID3 POPM written | POPM read as stars |
/// | --- | --- | --- | --- | --- |
/// | 0 (unrated) | 0 | 0 | 0 | 0 |
/// | 1 | 1 | 1-12 | 1 | 1-31 |
/// | 2 | 25 | 13-37 | 64 | 32-95 |
/// | 3 | 50 | 38-62 | 128 | 96-159 |
/// | 4 | 75 | 63-86 | 196 | 160-223 |
/// | 5 | 99 | 87-100 | 255 | 224-255 |
///
/// The POPM column is the mapping Windows Explorer and WMP use for ID3v2 `POPM` frames.
///
/// ```
/// use wmdm::library::Rating;
///
/// assert_eq!(Rating::from_stars(4).value(), 75);
/// assert_eq!(Rating::new(80).stars(), 4);
/// assert_eq!(Rating::from_stars(5).to_popm(), 255);
/// assert_eq!(Rating::from_popm(128), Rating::from_stars(3));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rating(u8);

impl Rating {
    /// Not rated.
    pub const UNRATED: Rating = Rating(0);

    const WMP_STARS: [u8; 6] = [0, 1, 25, 50, 75, 99];
    const POPM_STARS: [u8; 6] = [0, 1, 64, 128, 196, 255];

    /// A rating; values above 100 are clamped to 100.
    pub const fn new(value: u8) -> Rating {
        Rating(if value > 100 { 100 } else { value })
    }

    /// The 0-100 value.
    pub const fn value(self) -> u8 {
        self.0
    }

    /// The rating WMP stores for a number of stars (0-5; more is clamped to 5).
    pub const fn from_stars(stars: u8) -> Rating {
        let s = if stars > 5 { 5 } else { stars };
        Rating(Self::WMP_STARS[s as usize])
    }

    /// Stars, 0-5, by WMP's bands (see the table above).
    pub const fn stars(self) -> u8 {
        match self.0 {
            0 => 0,
            1..=12 => 1,
            13..=37 => 2,
            38..=62 => 3,
            63..=86 => 4,
            _ => 5,
        }
    }

    /// The ID3v2 `POPM` rating byte for this rating.
    pub const fn to_popm(self) -> u8 {
        Self::POPM_STARS[self.stars() as usize]
    }

    /// The rating for an ID3v2 `POPM` rating byte.
    pub const fn from_popm(popm: u8) -> Rating {
        let stars = match popm {
            0 => 0,
            1..=31 => 1,
            32..=95 => 2,
            96..=159 => 3,
            160..=223 => 4,
            _ => 5,
        };
        Rating::from_stars(stars)
    }
}

/// One track of a library. Text fields are empty when unknown; numbers are `None` or zero.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Track {
    /// The stable id (see [`TrackId`]).
    pub id: TrackId,
    /// Where the file is: an absolute path for a folder library; for an in-memory library, any
    /// path the test chose.
    pub path: std::path::PathBuf,
    /// The path relative to the library root, with `/` separators.
    pub relative_path: String,
    /// File size in bytes.
    pub size: u64,
    /// The file's modification time.
    pub modified: SystemTime,
    /// The format, from the file's extension (and the tag reader's view of it).
    pub format: FormatCode,
    /// Title.
    pub title: String,
    /// Track artist.
    pub artist: String,
    /// Album title.
    pub album: String,
    /// Album artist.
    pub album_artist: String,
    /// Genre.
    pub genre: String,
    /// Track number on its disc.
    pub track_number: Option<u32>,
    /// Disc number.
    pub disc: Option<u32>,
    /// Release year.
    pub year: Option<u32>,
    /// Playing time.
    pub duration: Duration,
    /// Audio bitrate in bits per second (0 when unknown).
    pub bitrate: u32,
    /// Sample rate in hertz (0 when unknown).
    pub sample_rate: u32,
    /// Audio channels (0 when unknown).
    pub channels: u8,
    /// User rating.
    pub rating: Rating,
    /// How often the track was played.
    pub play_count: u32,
    /// When it was last played.
    pub last_played: Option<SystemTime>,
    /// When the library first saw it.
    pub date_added: SystemTime,
}

impl Track {
    /// A track with the given id and relative path and every other field empty; the size is 0,
    /// and both times are the Unix epoch.
    pub fn new(id: TrackId, relative_path: impl Into<String>) -> Track {
        let relative_path = relative_path.into();
        let format = FormatCode::from_file_name(&relative_path);
        Track {
            id,
            path: std::path::PathBuf::from(&relative_path),
            relative_path,
            size: 0,
            modified: SystemTime::UNIX_EPOCH,
            format,
            title: String::new(),
            artist: String::new(),
            album: String::new(),
            album_artist: String::new(),
            genre: String::new(),
            track_number: None,
            disc: None,
            year: None,
            duration: Duration::ZERO,
            bitrate: 0,
            sample_rate: 0,
            channels: 0,
            rating: Rating::UNRATED,
            play_count: 0,
            last_played: None,
            date_added: SystemTime::UNIX_EPOCH,
        }
    }

    /// The file name extension, lower case, without the dot (empty when there is none).
    pub fn extension(&self) -> String {
        let name = self.relative_path.rsplit('/').next().unwrap_or_default();
        match name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
            _ => String::new(),
        }
    }

    /// The album artist, or the track artist when there is no album artist: what sync's path
    /// templates and WMP's album views use for `{albumartist}`.
    pub fn effective_album_artist(&self) -> &str {
        if self.album_artist.is_empty() {
            &self.artist
        } else {
            &self.album_artist
        }
    }

    /// The value of a path-template placeholder: `title`, `artist`, `album`, `albumartist`,
    /// `genre`, `track`, `disc`, `year`, `ext`, `filename` (the file name without extension).
    /// Numbers are unpadded; `None` for an unknown placeholder. Unknown values are empty
    /// strings, so a template never fails on a sparsely tagged file.
    pub fn template_field(&self, name: &str) -> Option<String> {
        let num = |n: Option<u32>| n.map(|v| v.to_string()).unwrap_or_default();
        Some(match name {
            "title" => self.title.clone(),
            "artist" => self.artist.clone(),
            "album" => self.album.clone(),
            "albumartist" => self.effective_album_artist().to_owned(),
            "genre" => self.genre.clone(),
            "track" => num(self.track_number),
            "disc" => num(self.disc),
            "year" => num(self.year),
            "ext" => self.extension(),
            "filename" => {
                let name = self.relative_path.rsplit('/').next().unwrap_or_default();
                match name.rsplit_once('.') {
                    Some((stem, _)) if !stem.is_empty() => stem.to_owned(),
                    _ => name.to_owned(),
                }
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fnv_is_the_published_function() {
        // Test vectors from the FNV reference page.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn sha1_of_abc() {
        assert_eq!(
            ContentHash::of_bytes(b"abc").to_string(),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            ContentHash::of_reader(&b"abc"[..]).unwrap(),
            ContentHash::of_bytes(b"abc")
        );
    }

    #[test]
    fn star_tables() {
        for s in 0..=5u8 {
            assert_eq!(Rating::from_stars(s).stars(), s);
            assert_eq!(
                Rating::from_popm(Rating::from_stars(s).to_popm()).stars(),
                s
            );
        }
        assert_eq!(Rating::new(200).value(), 100);
        assert_eq!(Rating::from_popm(196).value(), 75);
    }

    #[test]
    fn template_fields() {
        let mut t = Track::new(TrackId(1), "A/B/01 Song.MP3");
        t.artist = "Art".into();
        t.track_number = Some(3);
        assert_eq!(t.template_field("albumartist").unwrap(), "Art");
        assert_eq!(t.template_field("ext").unwrap(), "mp3");
        assert_eq!(t.template_field("filename").unwrap(), "01 Song");
        assert_eq!(t.template_field("track").unwrap(), "3");
        assert_eq!(t.template_field("year").unwrap(), "");
        assert_eq!(t.template_field("nope"), None);
    }

    proptest! {
        #[test]
        fn stars_are_monotonic(a in 0u8..=100, b in 0u8..=100) {
            if a <= b {
                prop_assert!(Rating::new(a).stars() <= Rating::new(b).stars());
            }
            prop_assert!(Rating::from_popm(a).stars() <= 5);
        }
    }
}
