//! The folder library's playlist state: the playlists the application added (static and auto)
//! and the sync settings of every playlist, kept beside the scan cache.
//!
//! A UTF-8 text file, one record per line, fields separated by tabs:
//!
//! ```text
//! wmdm-library-playlists 1
//! <kind> TAB <id> TAB <name> TAB <sync> TAB <sync-only> TAB <payload>
//! ```
//!
//! * `kind`: `static` (payload: track ids in hex, comma-separated), `auto` (payload: the auto
//!   playlist's text form, see [`parse_auto_playlist`](super::parse_auto_playlist)) or `file`
//!   (payload: the playlist file's path; only the sync settings are kept, the entries come from
//!   the file);
//! * `id`: the playlist id, 16 hex digits;
//! * `sync`: `Sync01`..`Sync16` as sixteen comma-separated decimal numbers;
//! * `sync-only`: `1` or `0`.
//!
//! In `name` and `payload`, `\\`, `\t`, `\n` and `\r` stand for a backslash, a tab, a line feed
//! and a carriage return.

use std::path::PathBuf;

use super::parse::parse_auto_playlist;
use super::playlist::{Playlist, PlaylistId, PlaylistKind, SyncSettings};
use super::track::TrackId;
use crate::escape::escape;
use crate::{Error, Result};

fn unescape(s: &str) -> Result<String> {
    crate::escape::unescape(s).ok_or(Error::InvalidArg)
}

/// The playlist state file's name inside the state folder.
pub const PLAYLIST_STATE_FILE_NAME: &str = "library-playlists.txt";

const HEADER: &str = "wmdm-library-playlists 1";

/// Encodes playlists: a playlist with a `source` is a `file` record, others are `static` or
/// `auto` records.
pub fn encode_playlist_state(playlists: &[Playlist]) -> String {
    let mut out = String::from(HEADER);
    out.push('\n');
    for p in playlists {
        let (kind, payload) = match (&p.source, &p.kind) {
            (Some(path), _) => ("file", path.to_string_lossy().into_owned()),
            (None, PlaylistKind::Static(ids)) => (
                "static",
                ids.iter()
                    .map(|i| format!("{:x}", i.0))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            (None, PlaylistKind::Auto(a)) => ("auto", a.to_string()),
        };
        let sync: Vec<String> = (1..=16u8).map(|i| p.sync.priority(i).to_string()).collect();
        out.push_str(&format!(
            "{kind}\t{:016x}\t{}\t{}\t{}\t{}\n",
            p.id.0,
            escape(&p.name),
            sync.join(","),
            u8::from(p.sync.sync_only),
            escape(&payload)
        ));
    }
    out
}

/// Decodes the playlist state. A `file` record comes back with `source` set and an empty
/// static list.
///
/// # Errors
/// [`Error::InvalidArg`] for a wrong header, a line without six fields, an unknown kind, a bad
/// id, priority, flag or escape, or an auto playlist that does not parse.
pub fn decode_playlist_state(text: &str) -> Result<Vec<Playlist>> {
    let mut lines = text.split('\n');
    if lines.next() != Some(HEADER) {
        return Err(Error::InvalidArg);
    }
    let mut out = Vec::new();
    for line in lines {
        if line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let [kind, id, name, sync, only, payload] = f.as_slice() else {
            return Err(Error::InvalidArg);
        };
        if id.len() != 16 {
            return Err(Error::InvalidArg);
        }
        let id = PlaylistId(u64::from_str_radix(id, 16).map_err(|_| Error::InvalidArg)?);
        let mut settings = SyncSettings::default();
        let prios: Vec<&str> = sync.split(',').collect();
        if prios.len() != 16 {
            return Err(Error::InvalidArg);
        }
        for (i, v) in (1..=16u8).zip(prios) {
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Error::InvalidArg);
            }
            settings.set_priority(i, v.parse().map_err(|_| Error::InvalidArg)?)?;
        }
        settings.sync_only = match *only {
            "1" => true,
            "0" => false,
            _ => return Err(Error::InvalidArg),
        };
        let payload = unescape(payload)?;
        let (kind, source) = match *kind {
            "file" => (
                PlaylistKind::Static(Vec::new()),
                Some(PathBuf::from(payload)),
            ),
            "static" => {
                let mut ids = Vec::new();
                for h in payload.split(',').filter(|h| !h.is_empty()) {
                    if h.len() > 16 || !h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                        return Err(Error::InvalidArg);
                    }
                    ids.push(TrackId(
                        u64::from_str_radix(h, 16).map_err(|_| Error::InvalidArg)?,
                    ));
                }
                (PlaylistKind::Static(ids), None)
            }
            "auto" => (PlaylistKind::Auto(parse_auto_playlist(&payload)?), None),
            _ => return Err(Error::InvalidArg),
        };
        out.push(Playlist {
            id,
            name: unescape(name)?,
            kind,
            sync: settings,
            source,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::parse::parse_rule;
    use crate::library::rule::AutoPlaylist;
    use proptest::prelude::*;

    fn sample() -> Vec<Playlist> {
        let mut a = Playlist::new_static("Road\ttrip\\n", vec![TrackId(1), TrackId(u64::MAX)]);
        a.sync.set_priority(1, 3).unwrap();
        a.sync.set_priority(16, u32::MAX).unwrap();
        let mut b = Playlist::new_auto(
            "Recent jazz",
            AutoPlaylist::new(parse_rule("genre = \"Ja\\\\zz\" and added < 30d").unwrap()),
        );
        b.sync.sync_only = true;
        let mut c = Playlist::new_static("From a file", vec![]);
        c.source = Some(PathBuf::from("/music/Playlists/x\ty.m3u8"));
        vec![a, b, c, Playlist::new_static("", vec![])]
    }

    #[test]
    fn round_trip() {
        let s = sample();
        assert_eq!(
            decode_playlist_state(&encode_playlist_state(&s)).unwrap(),
            s
        );
    }

    #[test]
    fn bad_state_is_an_error() {
        let good = encode_playlist_state(&sample());
        assert!(decode_playlist_state("").is_err());
        assert!(decode_playlist_state(&good.replace("static\t", "stat\t")).is_err());
        assert!(decode_playlist_state(&good.replace(",0,", ",x,")).is_err());
        assert!(decode_playlist_state(&good.replacen("\t1\t", "\t2\t", 1)).is_err());
        assert!(
            decode_playlist_state(&format!(
                "{good}auto\t0000000000000001\tn\t0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0\t0\tgenre <\n"
            ))
            .is_err()
        );
        assert!(decode_playlist_state(&format!("{good}x\n")).is_err());
    }

    proptest! {
        #[test]
        fn garbage_never_panics(s in "\\PC{0,200}") {
            let _ = decode_playlist_state(&format!("{HEADER}\n{s}"));
        }
    }
}
