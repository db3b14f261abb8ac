//! Playlists as M3U8 files holding references.
//!
//! The reader and writer here are the minimum the provider needs; they should move to the
//! library's playlist module once that exists, so that one parser serves both.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::flags::OpenMode;
use crate::provider::{Storage, StorageRef};

use super::idmap::ROOT;
use super::storage::FsStorage;

/// True for names the provider treats as playlists.
pub(crate) fn is_playlist_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    (lower.ends_with(".m3u8") && lower.len() > 5) || (lower.ends_with(".m3u") && lower.len() > 4)
}

/// The entries of an M3U or M3U8 playlist: every line that is not blank or a `#` directive.
fn parse_m3u(text: &str) -> Vec<String> {
    text.trim_start_matches('\u{feff}')
        .lines()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// An M3U8 playlist of `entries`.
fn render_m3u(entries: &[String]) -> String {
    let mut out = String::from("#EXTM3U\n");
    for e in entries {
        out.push_str(e);
        out.push('\n');
    }
    out
}

fn check_playlist(storage: &FsStorage) -> Result<String> {
    let name = storage.name()?;
    if storage.snap()?.is_dir || !is_playlist_name(&name) {
        return Err(Error::InvalidType);
    }
    Ok(name)
}

fn folder_components(storage: &FsStorage) -> Result<Vec<String>> {
    let parent = storage.parent_id()?.ok_or(Error::InvalidType)?;
    let inner = storage.shared().lock();
    Ok(inner
        .ids
        .components(parent)?
        .into_iter()
        .map(str::to_string)
        .collect())
}

/// IMDSPStorage4::GetReferences: the playlist's entries that resolve to objects on the device.
pub(crate) fn read_references(storage: &FsStorage) -> Result<Vec<Arc<FsStorage>>> {
    check_playlist(storage)?;
    if storage.is_pending() {
        return Ok(Vec::new());
    }
    let bytes = std::fs::read(storage.path()?)?;
    let text = String::from_utf8_lossy(&bytes);
    let base = folder_components(storage)?;
    let mut out = Vec::new();
    for entry in parse_m3u(&text) {
        if entry.contains("://") || entry.starts_with(['/', '\\']) || entry.get(1..2) == Some(":") {
            continue;
        }
        let mut comps: Vec<&str> = base.iter().map(String::as_str).collect();
        let mut escaped = false;
        for part in entry.split(['/', '\\']) {
            match part {
                "" | "." => {}
                ".." => escaped |= comps.pop().is_none(),
                p => comps.push(p),
            }
        }
        if escaped || comps.is_empty() {
            continue;
        }
        if let Ok(id) = storage.shared().id_under(ROOT, &comps) {
            out.push(FsStorage::new(storage.shared().clone(), id, None));
        }
    }
    Ok(out)
}

/// IMDSPStorage4::SetReferences: rewrites the playlist file with paths relative to it.
pub(crate) fn write_references(storage: &FsStorage, refs: &[StorageRef]) -> Result<()> {
    check_playlist(storage)?;
    let base = folder_components(storage)?;
    let shared = storage.shared();
    let mut entries = Vec::with_capacity(refs.len());
    for r in refs {
        let id = shared.parse_unique_id(&r.unique_id()?)?;
        let inner = shared.lock();
        let target = inner.ids.components(id)?;
        let common = base
            .iter()
            .zip(&target)
            .take_while(|(a, b)| a.as_str() == **b)
            .count();
        let mut parts: Vec<&str> = vec![".."; base.len() - common];
        parts.extend(target.iter().skip(common).copied());
        entries.push(parts.join("/"));
    }
    let text = render_m3u(&entries);
    let mut io = storage.open(OpenMode::WRITE)?;
    io.write(text.as_bytes())?;
    io.close()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn m3u_round_trip() {
        let entries = vec!["a/b.mp3".to_string(), "../c d.flac".to_string()];
        assert_eq!(parse_m3u(&render_m3u(&entries)), entries);
        assert_eq!(
            parse_m3u("\u{feff}#EXTM3U\r\n#EXTINF:1,x\r\n  song.mp3 \r\n\r\n"),
            vec!["song.mp3".to_string()]
        );
        assert!(is_playlist_name("x.M3U8") && is_playlist_name("y.m3u"));
        assert!(!is_playlist_name(".m3u") && !is_playlist_name("a.mp3"));
    }
}
