//! The audio fingerprint the transcode cache is keyed by: the SHA-1 of a file's audio data
//! without its tags, so a tag edit (which rewrites a FLAC's metadata blocks, an MP3's ID3
//! tag, a WAV's LIST chunk) finds the encode it made before and only the tags are written
//! again. Formats whose tags are interleaved with the audio (Ogg, MP4) are hashed whole.
//!
//! The file is hostile input: every length is checked against the file's size, and anything
//! that does not parse falls back to hashing the whole file.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::Result;
use crate::library::ContentHash;

/// The SHA-1 of `path`'s audio data (see the module's docs).
///
/// # Errors
/// I/O errors reading the file.
pub fn audio_fingerprint(path: &Path) -> Result<ContentHash> {
    use sha1::Digest;
    let mut file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    let (start, end) = audio_range(&mut file, size).unwrap_or((0, size));
    let (start, end) = if start <= end && end <= size {
        (start, end)
    } else {
        (0, size)
    };
    file.seek(SeekFrom::Start(start))?;
    let mut h = sha1::Sha1::new();
    h.update(b"wmdm-audio\0");
    let mut left = end - start;
    let mut buf = vec![0u8; 64 * 1024];
    while left > 0 {
        let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        let n = file.read(buf.get_mut(..want).unwrap_or_default())?;
        if n == 0 {
            break;
        }
        h.update(buf.get(..n).unwrap_or_default());
        left -= n as u64;
    }
    Ok(ContentHash(h.finalize().into()))
}

fn read_at<const N: usize>(f: &mut std::fs::File, at: u64) -> Option<[u8; N]> {
    let mut b = [0u8; N];
    f.seek(SeekFrom::Start(at)).ok()?;
    f.read_exact(&mut b).ok()?;
    Some(b)
}

/// Where the audio is: `None` when the file does not parse (then it is hashed whole).
fn audio_range(f: &mut std::fs::File, size: u64) -> Option<(u64, u64)> {
    let head: [u8; 12] = read_at(f, 0)?;
    match &head {
        [b'f', b'L', b'a', b'C', ..] => flac_start(f, 4, size).map(|s| (s, size)),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'A', b'V', b'E'] => {
            chunk(f, size, *b"data", u32::from_le_bytes)
        }
        [b'F', b'O', b'R', b'M', _, _, _, _, b'A', b'I', b'F', _] => {
            chunk(f, size, *b"SSND", u32::from_be_bytes)
        }
        [b'I', b'D', b'3', ..] => {
            // ID3v2: a 10-byte header, a synchsafe size, and a 10-byte footer when flagged.
            let s = head.get(6..10)?;
            let len = s
                .iter()
                .try_fold(0u64, |a, &b| (b < 0x80).then_some((a << 7) | u64::from(b)))?;
            let footer = if head.get(5)? & 0x10 != 0 { 10 } else { 0 };
            let start = 10 + len + footer;
            if start > size {
                return None;
            }
            // A FLAC behind an ID3 tag (some taggers write one).
            if read_at::<4>(f, start) == Some(*b"fLaC") {
                return flac_start(f, start + 4, size).map(|s| (s, size));
            }
            Some((start, mp3_end(f, start, size)))
        }
        _ => Some((0, mp3_end(f, 0, size))),
    }
}

/// The first FLAC frame: after the last metadata block.
fn flac_start(f: &mut std::fs::File, mut at: u64, size: u64) -> Option<u64> {
    // At most 128 blocks: a longer chain is not a FLAC file (or not one worth parsing).
    for _ in 0..128 {
        let h: [u8; 4] = read_at(f, at)?;
        let len = u64::from(u32::from_be_bytes([0, h[1], h[2], h[3]]));
        at = at.checked_add(4 + len)?;
        if at > size {
            return None;
        }
        if h[0] & 0x80 != 0 {
            return Some(at);
        }
    }
    None
}

/// The range of the first chunk named `id` of a RIFF or IFF file (12-byte header, then
/// chunks of id, 4-byte size, data padded to even).
fn chunk(
    f: &mut std::fs::File,
    size: u64,
    id: [u8; 4],
    len: fn([u8; 4]) -> u32,
) -> Option<(u64, u64)> {
    let mut at = 12u64;
    for _ in 0..1024 {
        let h: [u8; 8] = read_at(f, at)?;
        let n = u64::from(len([h[4], h[5], h[6], h[7]]));
        let body = at + 8;
        if h[..4] == id {
            return Some((body, body.checked_add(n)?.min(size)));
        }
        at = body.checked_add(n + (n & 1))?;
        if at >= size {
            return None;
        }
    }
    None
}

/// The end of MP3-style audio: before an ID3v1 tag (`TAG`, the last 128 bytes) and an APEv2
/// tag (its `APETAGEX` footer, the last 32 bytes before that).
fn mp3_end(f: &mut std::fs::File, start: u64, size: u64) -> u64 {
    let mut end = size;
    if end >= start + 128 && read_at::<3>(f, end - 128) == Some(*b"TAG") {
        end -= 128;
    }
    if end >= start + 32
        && let Some(footer) = read_at::<32>(f, end - 32)
        && footer.starts_with(b"APETAGEX")
    {
        let tag = u64::from(u32::from_le_bytes([
            footer[12], footer[13], footer[14], footer[15],
        ]));
        let header = if footer[23] & 0x80 != 0 { 32 } else { 0 };
        if let Some(e) = end.checked_sub(tag + header)
            && e >= start
        {
            end = e;
        }
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fp(bytes: &[u8]) -> ContentHash {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, bytes).unwrap();
        audio_fingerprint(&p).unwrap()
    }

    fn flac(meta: &[u8], audio: &[u8]) -> Vec<u8> {
        let mut v = b"fLaC".to_vec();
        v.extend_from_slice(&[0x00, 0, 0, 2, 9, 9]); // STREAMINFO-ish, 2 bytes
        let n = meta.len() as u32;
        v.extend_from_slice(&[0x84, (n >> 16) as u8, (n >> 8) as u8, n as u8]); // VORBIS_COMMENT, last
        v.extend_from_slice(meta);
        v.extend_from_slice(audio);
        v
    }

    fn wav(list: &[u8], audio: &[u8]) -> Vec<u8> {
        let mut v = b"RIFF\0\0\0\0WAVE".to_vec();
        v.extend_from_slice(b"LIST");
        v.extend_from_slice(&(list.len() as u32).to_le_bytes());
        v.extend_from_slice(list);
        if list.len() % 2 == 1 {
            v.push(0);
        }
        v.extend_from_slice(b"data");
        v.extend_from_slice(&(audio.len() as u32).to_le_bytes());
        v.extend_from_slice(audio);
        v
    }

    fn mp3(id3: &[u8], audio: &[u8], v1: bool) -> Vec<u8> {
        let n = id3.len() as u32;
        let mut v = b"ID3\x03\x00\x00".to_vec();
        v.extend_from_slice(&[
            (n >> 21) as u8 & 0x7f,
            (n >> 14) as u8 & 0x7f,
            (n >> 7) as u8 & 0x7f,
            n as u8 & 0x7f,
        ]);
        v.extend_from_slice(id3);
        v.extend_from_slice(audio);
        if v1 {
            let mut t = b"TAG".to_vec();
            t.resize(128, b'x');
            v.extend_from_slice(&t);
        }
        v
    }

    #[test]
    fn tags_do_not_change_the_fingerprint_but_audio_does() {
        let audio = [7u8; 3000];
        assert_eq!(
            fp(&flac(b"title=a", &audio)),
            fp(&flac(b"title=longer one", &audio))
        );
        assert_ne!(fp(&flac(b"t", &audio)), fp(&flac(b"t", &[8u8; 3000])));
        assert_eq!(fp(&wav(b"INFOabc", &audio)), fp(&wav(b"INFOab", &audio)));
        assert_ne!(fp(&wav(b"x", &audio)), fp(&wav(b"x", &audio[1..])));
        assert_eq!(
            fp(&mp3(b"TIT2 a", &audio, false)),
            fp(&mp3(b"TIT2 bbbb", &audio, true))
        );
        assert_ne!(
            fp(&mp3(b"a", &audio, false)),
            fp(&mp3(b"a", &[1u8; 3000], false))
        );
        // Other formats are hashed whole.
        assert_ne!(fp(b"OggS one"), fp(b"OggS two"));
    }

    proptest! {
        #[test]
        fn any_bytes_fingerprint_without_panicking(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            let _ = fp(&bytes);
            let mut f = b"fLaC".to_vec();
            f.extend_from_slice(&bytes);
            let _ = fp(&f);
            let mut r = b"RIFF\0\0\0\0WAVE".to_vec();
            r.extend_from_slice(&bytes);
            let _ = fp(&r);
            let mut i = b"ID3".to_vec();
            i.extend_from_slice(&bytes);
            let _ = fp(&i);
        }
    }
}
