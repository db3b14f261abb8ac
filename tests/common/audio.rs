//! Builders for small, valid audio files made at test time, and a tagger using lofty.

#![allow(dead_code)]

use std::path::Path;

use lofty::config::WriteOptions;
use lofty::prelude::*;
use lofty::tag::{ItemValue, Tag, TagItem, TagType};

/// A 0.1 s, 8 kHz, mono, 16-bit PCM WAV file.
pub fn wav() -> Vec<u8> {
    let data = vec![0u8; 1600];
    let mut v = Vec::new();
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes()); // PCM
    v.extend_from_slice(&1u16.to_le_bytes()); // mono
    v.extend_from_slice(&8000u32.to_le_bytes());
    v.extend_from_slice(&16000u32.to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&16u16.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend(data);
    v
}

/// Twenty MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz, mono) of silence: about 0.5 s.
pub fn mp3() -> Vec<u8> {
    let mut v = Vec::new();
    for _ in 0..20 {
        v.extend_from_slice(&[0xFF, 0xFB, 0x90, 0xC0]);
        v.extend_from_slice(&[0u8; 413]); // 144 * 128000 / 44100 = 417 bytes a frame
    }
    v
}

/// A FLAC stream: the marker, a STREAMINFO block for one second at 44.1 kHz, 16-bit mono, and
/// a PADDING block (lofty 0.22's writer needs one to be present).
pub fn flac() -> Vec<u8> {
    let mut v = b"fLaC".to_vec();
    v.push(0x00); // type 0 (STREAMINFO), not the last block
    v.extend_from_slice(&[0, 0, 34]);
    v.extend_from_slice(&4096u16.to_be_bytes());
    v.extend_from_slice(&4096u16.to_be_bytes());
    v.extend_from_slice(&[0; 6]); // min/max frame size unknown
    // sample rate (20 bits), channels - 1 = 0 (3 bits), bits - 1 = 15 (5 bits), samples (36 bits)
    let packed: u64 = (44_100u64 << 44) | (15 << 36) | 44_100;
    v.extend_from_slice(&packed.to_be_bytes());
    v.extend_from_slice(&[0; 16]); // MD5 unknown
    v.push(0x81); // last block, type 1 (PADDING)
    v.extend_from_slice(&[0, 0, 64]);
    v.extend_from_slice(&[0; 64]);
    // The start of a first frame, so the stream does not end at the metadata.
    v.extend_from_slice(&[0xFF, 0xF8, 0x69, 0x08, 0x00, 0x0F, 0xFF, 0x00]);
    v
}

fn ogg_crc(data: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04C1_1DB7
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn ogg_page(kind: u8, granule: u64, seq: u32, packet: &[u8]) -> Vec<u8> {
    assert!(packet.len() < 255 * 255);
    let mut segs = vec![255u8; packet.len() / 255];
    segs.push((packet.len() % 255) as u8);
    let mut p = b"OggS".to_vec();
    p.push(0);
    p.push(kind);
    p.extend_from_slice(&granule.to_le_bytes());
    p.extend_from_slice(&0x1234_5678u32.to_le_bytes());
    p.extend_from_slice(&seq.to_le_bytes());
    p.extend_from_slice(&[0; 4]);
    p.push(segs.len() as u8);
    p.extend(segs);
    p.extend_from_slice(packet);
    let crc = ogg_crc(&p);
    p[22..26].copy_from_slice(&crc.to_le_bytes());
    p
}

/// An Ogg Opus stream: OpusHead, OpusTags and one audio page ending at one second.
pub fn opus() -> Vec<u8> {
    let mut head = b"OpusHead".to_vec();
    head.push(1);
    head.push(1); // mono
    head.extend_from_slice(&312u16.to_le_bytes());
    head.extend_from_slice(&48_000u32.to_le_bytes());
    head.extend_from_slice(&0i16.to_le_bytes());
    head.push(0);
    let mut tags = b"OpusTags".to_vec();
    tags.extend_from_slice(&4u32.to_le_bytes());
    tags.extend_from_slice(b"test");
    tags.extend_from_slice(&0u32.to_le_bytes());
    let mut v = ogg_page(2, 0, 0, &head);
    v.extend(ogg_page(0, 0, 1, &tags));
    v.extend(ogg_page(4, 48_000 + 312, 2, &[0xF8, 0xFF, 0xFE]));
    v
}

fn atom(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    v.extend_from_slice(kind);
    v.extend_from_slice(body);
    v
}

/// An M4A file: `ftyp`, a `moov` with one sound track of two seconds, and a small `mdat`.
pub fn m4a() -> Vec<u8> {
    let ftyp = atom(b"ftyp", b"M4A \0\0\0\0M4A isom");
    let mut mdhd = vec![0u8; 4 + 8]; // version, flags, creation, modification
    mdhd.extend_from_slice(&1000u32.to_be_bytes()); // timescale
    mdhd.extend_from_slice(&2000u32.to_be_bytes()); // duration
    mdhd.extend_from_slice(&[0; 4]); // language, quality
    let mut hdlr = vec![0u8; 8];
    hdlr.extend_from_slice(b"soun");
    hdlr.extend_from_slice(&[0; 13]);
    // An AAC sample entry: 44.1 kHz, stereo, 16-bit.
    let mut mp4a = vec![0u8; 6];
    mp4a.extend_from_slice(&1u16.to_be_bytes()); // data reference index
    mp4a.extend_from_slice(&[0; 8]); // version, revision, vendor
    mp4a.extend_from_slice(&2u16.to_be_bytes()); // channels
    mp4a.extend_from_slice(&16u16.to_be_bytes()); // sample size
    mp4a.extend_from_slice(&[0; 4]); // compression id, packet size
    mp4a.extend_from_slice(&(44_100u32 << 16).to_be_bytes()); // 16.16 sample rate
    let mut stsd = vec![0u8; 4];
    stsd.extend_from_slice(&1u32.to_be_bytes());
    stsd.extend(atom(b"mp4a", &mp4a));
    let minf = atom(b"minf", &atom(b"stbl", &atom(b"stsd", &stsd)));
    let mdia = atom(
        b"mdia",
        &[atom(b"mdhd", &mdhd), atom(b"hdlr", &hdlr), minf].concat(),
    );
    let trak = atom(b"trak", &mdia);
    let mut mvhd = vec![0u8; 12];
    mvhd.extend_from_slice(&1000u32.to_be_bytes());
    mvhd.extend_from_slice(&2000u32.to_be_bytes());
    mvhd.extend_from_slice(&[0; 80]);
    let moov = atom(b"moov", &[atom(b"mvhd", &mvhd), trak].concat());
    [ftyp, moov, atom(b"mdat", &[0u8; 256])].concat()
}

fn utf16z(s: &str) -> Vec<u8> {
    s.encode_utf16()
        .chain([0])
        .flat_map(u16::to_le_bytes)
        .collect()
}

/// A WMA (ASF) header with a title, an author, an album and a track number.
pub fn wma(title: &str, artist: &str, album: &str, track: u32) -> Vec<u8> {
    const HEADER: [u8; 16] = [
        0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11, 0xA6, 0xD9, 0x00, 0xAA, 0x00, 0x62, 0xCE,
        0x6C,
    ];
    const CONTENT: [u8; 16] = [
        0x33, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11, 0xA6, 0xD9, 0x00, 0xAA, 0x00, 0x62, 0xCE,
        0x6C,
    ];
    const EXTENDED: [u8; 16] = [
        0x40, 0xA4, 0xD0, 0xD2, 0x07, 0xE3, 0xD2, 0x11, 0x97, 0xF0, 0x00, 0xA0, 0xC9, 0x5E, 0xA8,
        0x50,
    ];
    let obj = |guid: [u8; 16], body: &[u8]| {
        let mut v = guid.to_vec();
        v.extend_from_slice(&(body.len() as u64 + 24).to_le_bytes());
        v.extend_from_slice(body);
        v
    };
    let (t, a) = (utf16z(title), utf16z(artist));
    let mut cd = Vec::new();
    for l in [t.len(), a.len(), 0, 0, 0] {
        cd.extend_from_slice(&(l as u16).to_le_bytes());
    }
    cd.extend(t);
    cd.extend(a);
    let mut ext = 2u16.to_le_bytes().to_vec();
    for (name, ty, val) in [
        ("WM/AlbumTitle", 0u16, utf16z(album)),
        ("WM/TrackNumber", 3, track.to_le_bytes().to_vec()),
    ] {
        let n = utf16z(name);
        ext.extend_from_slice(&(n.len() as u16).to_le_bytes());
        ext.extend(n);
        ext.extend_from_slice(&ty.to_le_bytes());
        ext.extend_from_slice(&(val.len() as u16).to_le_bytes());
        ext.extend(val);
    }
    let body = [obj(CONTENT, &cd), obj(EXTENDED, &ext)].concat();
    let mut v = HEADER.to_vec();
    v.extend_from_slice(&(body.len() as u64 + 30).to_le_bytes());
    v.extend_from_slice(&2u32.to_le_bytes());
    v.extend_from_slice(&[1, 2]);
    v.extend(body);
    v
}

/// The tags a test writes and expects back.
#[derive(Clone, Debug)]
pub struct Tags<'a> {
    pub title: &'a str,
    pub artist: &'a str,
    pub album: &'a str,
    pub album_artist: &'a str,
    pub genre: &'a str,
    pub track: u32,
    pub disc: u32,
    pub year: u32,
    /// Stars, 1-5 (0 for none).
    pub stars: u8,
}

/// Writes `tags` into the file at `path` with lofty, in the file's primary tag format.
pub fn tag_file(path: &Path, tags: &Tags<'_>) {
    let mut file = lofty::read_from_path(path).expect("lofty reads the built file");
    let tag_type = file.primary_tag_type();
    let mut tag = Tag::new(tag_type);
    tag.set_title(tags.title.into());
    tag.set_artist(tags.artist.into());
    tag.set_album(tags.album.into());
    tag.set_genre(tags.genre.into());
    tag.set_track(tags.track);
    tag.set_disk(tags.disc);
    tag.set_year(tags.year);
    tag.insert_text(ItemKey::AlbumArtist, tags.album_artist.into());
    if tags.stars > 0 {
        if tag_type == TagType::Id3v2 {
            let popm = [0u8, 1, 64, 128, 196, 255][usize::from(tags.stars)];
            let mut body = b"test@example.com\0".to_vec();
            body.push(popm);
            body.extend_from_slice(&7u32.to_be_bytes());
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
        .expect("lofty writes the tag");
}
