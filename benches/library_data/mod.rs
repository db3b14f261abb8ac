//! A ripped music library for the scan benches: `Artist/Album/NN Title.ext` with a `folder.jpg`
//! beside each album's tracks.
//!
//! * **Formats.** Seven albums in ten are MP3 (ID3v2.3 in UTF-16 as Windows Media Player and
//!   iTunes write it: title, artist, album artist, album, genre, track n/N, disc, year,
//!   composer, comment, encoder, two ReplayGain `TXXX` frames, a `POPM` rating on some, 2 KiB
//!   of padding, and an ID3v1 tag at the end on half of the albums), the rest FLAC (STREAMINFO,
//!   SEEKTABLE, Vorbis comments with the same fields plus MusicBrainz ids, 8 KiB of padding).
//!   One album in three embeds its cover (30-90 KiB, incompressible like a JPEG) in every track,
//!   as an `APIC` frame or a `PICTURE` block.
//! * **Sizes.** Apparent sizes are those of real rips of 2.5-7 minute tracks: MP3 at 256 kbit/s
//!   (5-13 MB, with a LAME-style `Info` header giving the frame count, so a reader knows the
//!   duration without scanning), FLAC at about 900 kbit/s (17-47 MB). Only what a tag reader
//!   touches is written: the tags, the first 16 KiB of audio frames and the last 16 KiB (where
//!   the ID3v1 and APE checks look). The middle is a hole in a sparse file, so the tree costs
//!   about 400 MB of disk instead of 150 GB. The scanner never reads the middle of a file.
//! * **Counts.** 250 artists x 4 albums x 10 tracks = 10,000 tracks, plus 1,000 `folder.jpg`
//!   files (20 KiB each) the scanner must list and skip.

use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub const ARTISTS: usize = 250;
pub const ALBUMS: usize = 4;
pub const TRACKS: usize = 10;

const GENRES: [&str; 8] = [
    "Jazz",
    "Rock",
    "Classical",
    "Pop",
    "Folk",
    "Electronic",
    "Blues",
    "Soundtrack",
];

/// Deterministic bytes (xorshift64), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            v.extend_from_slice(&self.next().to_le_bytes());
        }
        v.truncate(n);
        v
    }
}

/// One track's tags.
struct Meta {
    title: String,
    artist: String,
    album: String,
    genre: &'static str,
    track: usize,
    year: u32,
    stars: u8,
    seconds: u64,
    cover: Option<Vec<u8>>,
    id3v1: bool,
}

fn jpeg_like(rng: &mut Rng) -> Vec<u8> {
    let n = 30 * 1024 + rng.below(60 * 1024) as usize;
    let mut v = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ];
    v.extend(rng.bytes(n));
    v.extend_from_slice(&[0xFF, 0xD9]);
    v
}

// ---- MP3 ----------------------------------------------------------------------------------

fn utf16_bom(s: &str) -> Vec<u8> {
    let mut v = vec![0xFF, 0xFE];
    v.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
    v
}

fn id3_frame(out: &mut Vec<u8>, id: &[u8; 4], body: &[u8]) {
    out.extend_from_slice(id);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(body);
}

fn id3_text(out: &mut Vec<u8>, id: &[u8; 4], text: &str) {
    let mut body = vec![1u8]; // UTF-16 with a BOM
    body.extend(utf16_bom(text));
    id3_frame(out, id, &body);
}

fn id3_txxx(out: &mut Vec<u8>, desc: &str, text: &str) {
    let mut body = vec![1u8];
    body.extend(utf16_bom(desc));
    body.extend_from_slice(&[0, 0]);
    body.extend(utf16_bom(text));
    id3_frame(out, b"TXXX", &body);
}

fn syncsafe(n: usize) -> [u8; 4] {
    let n = n as u32;
    [
        ((n >> 21) & 0x7F) as u8,
        ((n >> 14) & 0x7F) as u8,
        ((n >> 7) & 0x7F) as u8,
        (n & 0x7F) as u8,
    ]
}

fn id3v2(m: &Meta) -> Vec<u8> {
    let mut f = Vec::new();
    id3_text(&mut f, b"TIT2", &m.title);
    id3_text(&mut f, b"TPE1", &m.artist);
    id3_text(&mut f, b"TPE2", &m.artist);
    id3_text(&mut f, b"TALB", &m.album);
    id3_text(&mut f, b"TCON", m.genre);
    id3_text(&mut f, b"TRCK", &format!("{}/{TRACKS}", m.track));
    id3_text(&mut f, b"TPOS", "1/1");
    id3_text(&mut f, b"TYER", &m.year.to_string());
    id3_text(&mut f, b"TCOM", &format!("{} & co.", m.artist));
    id3_text(&mut f, b"TSSE", "LAME 3.100 -b 256");
    let mut comm = vec![1u8];
    comm.extend_from_slice(b"eng");
    comm.extend(utf16_bom(""));
    comm.extend_from_slice(&[0, 0]);
    comm.extend(utf16_bom("Ripped from the original CD"));
    id3_frame(&mut f, b"COMM", &comm);
    id3_txxx(&mut f, "replaygain_track_gain", "-7.32 dB");
    id3_txxx(&mut f, "replaygain_track_peak", "0.988525");
    if m.stars > 0 {
        let mut popm = b"Windows Media Player 9 Series\0".to_vec();
        popm.push([0u8, 1, 64, 128, 196, 255][usize::from(m.stars)]);
        id3_frame(&mut f, b"POPM", &popm);
    }
    if let Some(cover) = &m.cover {
        let mut apic = vec![0u8];
        apic.extend_from_slice(b"image/jpeg\0");
        apic.push(3); // front cover
        apic.push(0); // empty description
        apic.extend_from_slice(cover);
        id3_frame(&mut f, b"APIC", &apic);
    }
    f.extend(std::iter::repeat_n(0u8, 2048));
    let mut out = b"ID3\x03\x00\x00".to_vec();
    out.extend_from_slice(&syncsafe(f.len()));
    out.extend(f);
    out
}

fn id3v1(m: &Meta) -> Vec<u8> {
    let field = |s: &str, n: usize| {
        let mut v: Vec<u8> = s.bytes().filter(u8::is_ascii).take(n).collect();
        v.resize(n, 0);
        v
    };
    let mut v = b"TAG".to_vec();
    v.extend(field(&m.title, 30));
    v.extend(field(&m.artist, 30));
    v.extend(field(&m.album, 30));
    v.extend(field(&m.year.to_string(), 4));
    v.extend(field("", 28));
    v.push(0);
    v.push(m.track as u8);
    v.push(8); // Jazz
    v
}

/// 256 kbit/s, 44.1 kHz, joint stereo MPEG-1 Layer III: 835 bytes a frame, 1152 samples.
const MP3_HEADER: [u8; 4] = [0xFF, 0xFB, 0xD0, 0x44];
const MP3_FRAME: usize = 835;

fn mp3_frames(rng: &mut Rng, n: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n * MP3_FRAME);
    for _ in 0..n {
        v.extend_from_slice(&MP3_HEADER);
        v.extend(rng.bytes(MP3_FRAME - 4));
    }
    v
}

/// Writes an MP3: the tag, an `Info` frame with the frame count, real frames at both ends, and
/// a hole between them.
fn write_mp3(path: &Path, m: &Meta, rng: &mut Rng) -> std::io::Result<()> {
    let frames = (m.seconds * 44_100 / 1152) as usize;
    let audio_len = frames * MP3_FRAME;
    let mut info = MP3_HEADER.to_vec();
    info.extend_from_slice(&[0; 32]); // side information
    info.extend_from_slice(b"Info");
    info.extend_from_slice(&[0, 0, 0, 0x0F]);
    info.extend_from_slice(&(frames as u32).to_be_bytes());
    info.extend_from_slice(&(audio_len as u32).to_be_bytes());
    info.extend(std::iter::repeat_n(0u8, MP3_FRAME - info.len()));
    let head_frames = 16 * 1024 / MP3_FRAME;
    let mut head = id3v2(m);
    let audio_start = head.len();
    head.extend(info);
    head.extend(mp3_frames(rng, head_frames));
    let mut tail = mp3_frames(rng, 16 * 1024 / MP3_FRAME);
    let mut total = audio_start + audio_len;
    if m.id3v1 {
        tail.extend(id3v1(m));
        total += 128;
    }
    write_sparse(path, &head, &tail, total as u64)
}

// ---- FLAC ---------------------------------------------------------------------------------

fn flac_block(out: &mut Vec<u8>, kind: u8, last: bool, body: &[u8]) {
    out.push(kind | if last { 0x80 } else { 0 });
    out.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(body);
}

fn write_flac(path: &Path, m: &Meta, rng: &mut Rng) -> std::io::Result<()> {
    let samples = m.seconds * 44_100;
    let mut out = b"fLaC".to_vec();
    let mut si = Vec::new();
    si.extend_from_slice(&4096u16.to_be_bytes());
    si.extend_from_slice(&4096u16.to_be_bytes());
    si.extend_from_slice(&[0x00, 0x10, 0x00, 0x00, 0x3A, 0x00]); // frame sizes
    let packed: u64 = (44_100u64 << 44) | (1 << 41) | (15 << 36) | samples;
    si.extend_from_slice(&packed.to_be_bytes());
    si.extend(rng.bytes(16)); // MD5
    flac_block(&mut out, 0, false, &si);
    let mut seek = Vec::new();
    for p in 0..m.seconds / 10 {
        seek.extend_from_slice(&(p * 441_000).to_be_bytes());
        seek.extend_from_slice(&(p * 1_100_000).to_be_bytes());
        seek.extend_from_slice(&4096u16.to_be_bytes());
    }
    flac_block(&mut out, 3, false, &seek);
    let mut vc = Vec::new();
    let vendor = b"reference libFLAC 1.4.3 20230623";
    vc.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    vc.extend_from_slice(vendor);
    let mut fields = vec![
        format!("TITLE={}", m.title),
        format!("ARTIST={}", m.artist),
        format!("ALBUMARTIST={}", m.artist),
        format!("ALBUM={}", m.album),
        format!("GENRE={}", m.genre),
        format!("DATE={}", m.year),
        format!("TRACKNUMBER={}", m.track),
        format!("TRACKTOTAL={TRACKS}"),
        "DISCNUMBER=1".into(),
        "DISCTOTAL=1".into(),
        format!("COMPOSER={} & co.", m.artist),
        "COMMENT=Ripped from the original CD".into(),
        "REPLAYGAIN_TRACK_GAIN=-7.32 dB".into(),
        "REPLAYGAIN_TRACK_PEAK=0.98852539".into(),
        format!("MUSICBRAINZ_TRACKID={:016x}{:016x}", rng.next(), rng.next()),
        format!("MUSICBRAINZ_ALBUMID={:016x}{:016x}", rng.next(), rng.next()),
    ];
    if m.stars > 0 {
        fields.push(format!("RATING={}", m.stars));
    }
    vc.extend_from_slice(&(fields.len() as u32).to_le_bytes());
    for f in &fields {
        vc.extend_from_slice(&(f.len() as u32).to_le_bytes());
        vc.extend_from_slice(f.as_bytes());
    }
    flac_block(&mut out, 4, false, &vc);
    if let Some(cover) = &m.cover {
        let mut pic = 3u32.to_be_bytes().to_vec();
        pic.extend_from_slice(&10u32.to_be_bytes());
        pic.extend_from_slice(b"image/jpeg");
        pic.extend_from_slice(&0u32.to_be_bytes());
        for v in [500u32, 500, 24, 0] {
            pic.extend_from_slice(&v.to_be_bytes());
        }
        pic.extend_from_slice(&(cover.len() as u32).to_be_bytes());
        pic.extend_from_slice(cover);
        flac_block(&mut out, 6, false, &pic);
    }
    flac_block(&mut out, 1, true, &[0; 8192]);
    // Frames start with the sync code; the bytes after it stand in for compressed audio.
    out.extend_from_slice(&[0xFF, 0xF8, 0x69, 0x18, 0x00, 0x00]);
    out.extend(rng.bytes(16 * 1024));
    let audio = m.seconds * 900_000 / 8;
    let tail = rng.bytes(16 * 1024);
    write_sparse(path, &out, &tail, out.len() as u64 + audio)
}

/// `head` at the start, `tail` ending at `total`, and a hole between.
fn write_sparse(path: &Path, head: &[u8], tail: &[u8], total: u64) -> std::io::Result<()> {
    let mut f = fs::File::create(path)?;
    f.write_all(head)?;
    let at = total
        .saturating_sub(tail.len() as u64)
        .max(head.len() as u64);
    f.seek(SeekFrom::Start(at))?;
    f.write_all(tail)?;
    Ok(())
}

// ---- The tree -----------------------------------------------------------------------------

/// Makes the library under `root` and returns every file's path (tracks and pictures), so the
/// bench can drop them from the page cache.
pub fn make_library(root: &Path) -> Vec<PathBuf> {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut files = Vec::new();
    for a in 0..ARTISTS {
        let artist = format!(
            "Artist {a:03} {}",
            ["Quartet", "Band", "Ensemble", "Trio"][a % 4]
        );
        for b in 0..ALBUMS {
            let album = format!("Album {b} of {artist}");
            let dir = root
                .join(&artist)
                .join(format!("{} ({})", album, 1960 + a % 60));
            fs::create_dir_all(&dir).unwrap();
            let n = a * ALBUMS + b;
            let flac = n % 10 >= 7;
            let cover = n.is_multiple_of(3).then(|| jpeg_like(&mut rng));
            let genre = GENRES[n % GENRES.len()];
            for t in 1..=TRACKS {
                let m = Meta {
                    title: format!("Song number {t} from {album}"),
                    artist: artist.clone(),
                    album: album.clone(),
                    genre,
                    track: t,
                    year: 1960 + (a % 60) as u32,
                    stars: (rng.below(6)) as u8,
                    seconds: 150 + rng.below(270),
                    cover: cover.clone(),
                    id3v1: n.is_multiple_of(2),
                };
                let ext = if flac { "flac" } else { "mp3" };
                let path = dir.join(format!("{t:02} {}.{ext}", m.title));
                if flac {
                    write_flac(&path, &m, &mut rng).unwrap();
                } else {
                    write_mp3(&path, &m, &mut rng).unwrap();
                }
                files.push(path);
            }
            let jpg = dir.join("folder.jpg");
            fs::write(&jpg, rng.bytes(20 * 1024)).unwrap();
            files.push(jpg);
        }
    }
    files
}

/// Drops the files' pages from the OS page cache, so the next read comes from the disk as in
/// a library's first scan. Dirty pages cannot be dropped, so the caller syncs once after
/// making the tree. `false` where the OS offers no way (then the "cold" figure is page-cache
/// warm).
pub fn evict(files: &[PathBuf]) -> bool {
    #[cfg(target_os = "linux")]
    {
        for p in files {
            let f = fs::File::open(p).unwrap();
            rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed).unwrap();
        }
        true
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = files;
        false
    }
}

/// Writes every dirty page of the file system out, so [`evict`] can drop them.
pub fn sync_all(files: &[PathBuf]) {
    for p in files {
        fs::File::open(p).unwrap().sync_all().unwrap();
    }
}
