//! The demo library: small but real audio files (MP3 frames, PCM WAV, FLAC) built byte by byte,
//! tagged with lofty like any ripped album, plus playlist files (M3U8 and WPL) beside them.
//! Everything is deterministic, so two builds give the same library.

use std::fs;
use std::path::{Path, PathBuf};

use lofty::config::WriteOptions;
use lofty::prelude::*;
use lofty::tag::{ItemValue, Tag, TagItem, TagType};
use wmdm::library::{PathStyle, WriteEntry, write_m3u, write_wpl};

/// The auto playlist the demo syncs when none is given.
pub const DEMO_AUTO: &str = "genre = Jazz and rating >= 60";

const ARTISTS: &[(&str, &str)] = &[
    ("Nightjar Quartet", "Jazz"),
    ("Velvet Static", "Rock"),
    ("Ana Sól", "Folk"),
    ("Kōbō Ensemble", "Classical"),
    ("Marrow & Moss", "Electronic"),
    ("Who? What: Why", "Rock"),
    ("Duo Ostinato", "Jazz"),
    ("Ferris Wheel", "Pop"),
];
const ALBUMS: &[&str] = &[
    "First Light",
    "Harbour Songs",
    "Late Trains",
    "Paper Moons",
    "Small Hours",
    "Glass Garden",
    "North Road",
    "Weathervane",
    "Slow Rivers",
    "Open Windows",
    "Copper Sky",
    "Salt & Smoke",
];
const WORDS: &[&str] = &[
    "Blue", "Quiet", "Falling", "Silver", "Hidden", "Golden", "Broken", "Distant", "Winter",
    "Electric", "Amber", "Hollow",
];
const NOUNS: &[&str] = &[
    "Lanterns", "Rain", "Horizon", "Letters", "Streets", "Tide", "Echoes", "Fields", "Signals",
    "Mirrors", "Orchard", "Bridges", "Sparrows",
];

/// What [`build`] made.
#[derive(Debug, Default)]
pub struct DemoLibrary {
    pub tracks: usize,
    pub bytes: u64,
    pub playlists: Vec<String>,
}

struct Made {
    path: String,
    title: String,
    genre: &'static str,
    stars: u8,
}

/// A small deterministic generator (SplitMix64), so the demo needs no random crate.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Builds a library of `tracks` tracks under `dir` (emptied first). Tracks are about 100 kB;
/// for big libraries they shrink so the whole stays near 60 MB.
pub fn build(dir: &Path, tracks: usize) -> wmdm::Result<DemoLibrary> {
    if dir.exists() {
        fs::remove_dir_all(dir)?;
    }
    fs::create_dir_all(dir)?;
    // About 100 kB a track (a few seconds of audio), less when there are many tracks.
    let avg = (60_000_000 / tracks.max(1)).clamp(4_000, 100_000);
    let mut rng = Mix(0x5EED);
    let mut made = Vec::with_capacity(tracks);
    let mut out = DemoLibrary::default();
    let per_album = 12;
    let mut n = 0;
    'outer: for album_no in 0.. {
        let (artist, genre) = ARTISTS[album_no % ARTISTS.len()];
        // Each artist's albums in turn; big libraries number the repeats ("Late Trains 2").
        let nth = album_no / ARTISTS.len();
        let album = match nth / ALBUMS.len() {
            0 => ALBUMS[nth % ALBUMS.len()].to_owned(),
            round => format!("{} {}", ALBUMS[nth % ALBUMS.len()], round + 1),
        };
        let year = 1995 + (album_no * 7 % 30) as u32;
        let folder = format!("{}/{}", host_name(artist), host_name(&album));
        fs::create_dir_all(dir.join(&folder))?;
        for t in 1..=per_album {
            if n == tracks {
                break 'outer;
            }
            n += 1;
            let title = format!(
                "{} {}",
                WORDS[rng.below(WORDS.len())],
                NOUNS[rng.below(NOUNS.len())]
            );
            let (ext, bytes) = match rng.below(10) {
                0 => ("flac", flac()),
                1 | 2 => ("wav", wav(avg / 4 + rng.below(avg / 2))),
                _ => ("mp3", mp3(avg / 834 + rng.below(avg / 417))),
            };
            let rel = format!("{folder}/{t:02} {}.{ext}", host_name(&title));
            let path = dir.join(&rel);
            fs::write(&path, &bytes)?;
            let stars = [0, 1, 2, 3, 3, 4, 4, 5][rng.below(8)];
            let tags = Tags {
                title: &title,
                artist,
                album: &album,
                genre,
                track: t,
                year,
                stars,
            };
            tag_file(&path, &tags)?;
            out.bytes += fs::metadata(&path)?.len();
            made.push(Made {
                path: rel,
                title,
                genre,
                stars,
            });
        }
    }
    out.tracks = made.len();
    let pick = |f: &dyn Fn(&Made) -> bool, step: usize, max: usize| -> Vec<&Made> {
        made.iter()
            .filter(|m| f(m))
            .step_by(step)
            .take(max)
            .collect()
    };
    let lists: Vec<(&str, Vec<&Made>)> = vec![
        (
            "Road Trip.m3u8",
            pick(&|m| matches!(m.genre, "Rock" | "Pop" | "Electronic"), 2, 60),
        ),
        (
            "Quiet Evenings.wpl",
            pick(&|m| matches!(m.genre, "Jazz" | "Classical" | "Folk"), 3, 40),
        ),
        ("Five Stars.m3u8", pick(&|m| m.stars == 5, 1, 50)),
    ];
    for (file, entries) in lists {
        let write: Vec<WriteEntry<'_>> = entries
            .iter()
            .map(|m| WriteEntry {
                path: &m.path,
                title: Some(&m.title),
                duration: None,
            })
            .collect();
        let style = PathStyle::relative("", '/');
        let name = file.rsplit_once('.').map_or(file, |(n, _)| n);
        let text = if file.ends_with(".wpl") {
            write_wpl(name, &write, &style)?
        } else {
            write_m3u(Some(name), &write, &style)?
        };
        fs::write(dir.join(file), text)?;
        out.playlists.push(name.to_owned());
    }
    Ok(out)
}

/// A name the host file system takes (the tags keep the real one).
fn host_name(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .filter(|c| !matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|'))
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// PCM WAV, 8 kHz mono 16-bit: `samples` samples of a soft 440 Hz tone.
fn wav(samples: usize) -> Vec<u8> {
    let samples = u32::try_from(samples.max(1)).unwrap_or(u32::MAX / 4);
    let mut v = Vec::with_capacity(44 + 2 * samples as usize);
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + 2 * samples).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes()); // PCM
    v.extend_from_slice(&1u16.to_le_bytes()); // mono
    v.extend_from_slice(&8000u32.to_le_bytes());
    v.extend_from_slice(&16000u32.to_le_bytes()); // bytes per second
    v.extend_from_slice(&2u16.to_le_bytes()); // block align
    v.extend_from_slice(&16u16.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&(2 * samples).to_le_bytes());
    for i in 0..samples {
        let s = (f64::from(i) * 440.0 * std::f64::consts::TAU / 8000.0).sin() * 3000.0;
        v.extend_from_slice(&(s as i16).to_le_bytes());
    }
    v
}

/// `frames` MPEG-1 Layer III frames of silence (128 kbit/s, 44.1 kHz, mono; 26 ms each).
fn mp3(frames: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(frames * 417);
    for _ in 0..frames.max(1) {
        v.extend_from_slice(&[0xFF, 0xFB, 0x90, 0xC0]);
        v.extend_from_slice(&[0u8; 413]); // 144 * 128000 / 44100 = 417 bytes a frame
    }
    v
}

/// A FLAC stream: marker, STREAMINFO (one second, 44.1 kHz, 16-bit mono), a PADDING block (room
/// for tags), and the start of a first frame.
fn flac() -> Vec<u8> {
    let mut v = b"fLaC".to_vec();
    v.extend_from_slice(&[0x00, 0, 0, 34]); // STREAMINFO, not last, 34 bytes
    v.extend_from_slice(&4096u16.to_be_bytes());
    v.extend_from_slice(&4096u16.to_be_bytes());
    v.extend_from_slice(&[0; 6]);
    // sample rate (20 bits), channels - 1 (3), bits - 1 (5), total samples (36)
    let packed: u64 = (44_100u64 << 44) | (15 << 36) | 44_100;
    v.extend_from_slice(&packed.to_be_bytes());
    v.extend_from_slice(&[0; 16]); // MD5 unknown
    v.extend_from_slice(&[0x81, 0, 0, 64]); // PADDING, last, 64 bytes
    v.extend_from_slice(&[0; 64]);
    v.extend_from_slice(&[0xFF, 0xF8, 0x69, 0x08, 0x00, 0x0F, 0xFF, 0x00]);
    v
}

struct Tags<'a> {
    title: &'a str,
    artist: &'a str,
    album: &'a str,
    genre: &'a str,
    track: u32,
    year: u32,
    stars: u8,
}

fn tag_file(path: &Path, tags: &Tags<'_>) -> wmdm::Result<()> {
    let bad = |e: lofty::error::LoftyError| {
        std::io::Error::other(format!("{}: {e}", PathBuf::from(path).display()))
    };
    let mut file = lofty::read_from_path(path).map_err(bad)?;
    let kind = file.primary_tag_type();
    let mut tag = Tag::new(kind);
    tag.set_title(tags.title.into());
    tag.set_artist(tags.artist.into());
    tag.set_album(tags.album.into());
    tag.set_genre(tags.genre.into());
    tag.set_track(tags.track);
    tag.set_year(tags.year);
    tag.insert_text(ItemKey::AlbumArtist, tags.artist.into());
    if tags.stars > 0 {
        if kind == TagType::Id3v2 {
            // POPM: e-mail, rating byte (WMP's 1/64/128/196/255 scale), play counter.
            let mut body = b"demo@example.com\0".to_vec();
            body.push([0u8, 1, 64, 128, 196, 255][usize::from(tags.stars.min(5))]);
            body.extend_from_slice(&0u32.to_be_bytes());
            tag.insert(TagItem::new(
                ItemKey::Popularimeter,
                ItemValue::Binary(body),
            ));
        } else {
            tag.insert_text(ItemKey::Popularimeter, tags.stars.to_string());
        }
    }
    file.insert_tag(tag);
    file.save_to_path(path, WriteOptions::default())
        .map_err(bad)?;
    Ok(())
}
