//! Playlists as M3U8 or WPL files holding references, read and written with the crate's
//! playlist readers and writers ([`crate::playlist_file`]).
//!
//! A playlist's references are object IDs; the file is their rendering as paths relative to the
//! playlist's folder. When an object a playlist lists is moved, renamed or deleted through the
//! provider (or a folder holding it is), the playlist file is rewritten from the IDs, so its
//! entries keep resolving to the same objects, and a deleted object drops out of it.

use std::collections::HashSet;
use std::fs;
use std::sync::Arc;
use std::time::SystemTime;

use crate::error::{Error, Result};
use crate::flags::OpenMode;
use crate::maps::{FastMap, FastSet};
use crate::metadata::FormatCode;
use crate::playlist_file::{
    PathStyle, PlaylistFile, PlaylistFormat, WriteEntry, read_m3u, read_wpl, write_m3u, write_wpl,
};
use crate::provider::{Storage, StorageRef};

use super::idmap::ROOT;
use super::shared::Shared;
use super::storage::FsStorage;

/// The playlist format a file name asks for: `.m3u8` and `.m3u` are M3U8 (written as UTF-8),
/// `.wpl` is WPL; `None` for anything else.
pub(crate) fn format_of_name(name: &str) -> Option<PlaylistFormat> {
    let (stem, ext) = name.rsplit_once('.')?;
    if stem.is_empty() {
        return None;
    }
    match ext.to_ascii_lowercase().as_str() {
        "m3u8" | "m3u" => Some(PlaylistFormat::M3u8),
        "wpl" => Some(PlaylistFormat::Wpl),
        _ => None,
    }
}

/// True for names the provider treats as playlists.
pub(crate) fn is_playlist_name(name: &str) -> bool {
    format_of_name(name).is_some()
}

/// The file format a created object with format code `code` gets: the code's own for M3U and
/// WPL, the profile's for the abstract playlist; `None` for codes that are not these.
pub(crate) fn format_for_code(
    code: FormatCode,
    profile_format: PlaylistFormat,
) -> Option<PlaylistFormat> {
    match code {
        FormatCode::ABSTRACT_AUDIO_VIDEO_PLAYLIST => Some(profile_format),
        FormatCode::M3U_PLAYLIST => Some(PlaylistFormat::M3u8),
        FormatCode::WPL_PLAYLIST => Some(PlaylistFormat::Wpl),
        _ => None,
    }
}

/// What a playlist file resolved to when last read, valid while its size and date stay the same.
#[derive(Clone, Debug)]
pub(crate) struct CachedRefs {
    stamp: (u64, Option<SystemTime>),
    ids: Vec<u64>,
}

/// What the text check ([`may_reference`]) needs of a playlist's entries, for a subject's
/// first component: the entries' first components (root-relative) in lower case, and whether
/// any holds characters beyond ASCII. Valid while the file's size and date stay the same.
#[derive(Clone, Debug)]
struct Heads {
    stamp: (u64, Option<SystemTime>),
    lower: HashSet<String>,
    beyond_ascii: bool,
}

impl Heads {
    fn of(stamp: (u64, Option<SystemTime>), base: &str, list: &PlaylistFile) -> Heads {
        let mut heads = Heads {
            stamp,
            lower: HashSet::new(),
            beyond_ascii: false,
        };
        for first in list
            .entries
            .iter()
            .filter_map(|e| entry_components(base, &e.path)?.into_iter().next())
        {
            heads.beyond_ascii |= !first.is_ascii();
            heads.lower.insert(first.to_lowercase());
        }
        heads
    }

    /// False only when no entry's first component may be `first` ([`may_be_same_name`]): no
    /// entry can then name anything at or below a subject that starts with it.
    fn may_start_with(&self, first: &str) -> bool {
        self.lower.contains(&first.to_lowercase()) || (!first.is_ascii() && self.beyond_ascii)
    }
}

/// Playlists by object ID: what each resolved to, and the first components of its entries.
#[derive(Debug, Default)]
pub(crate) struct RefCache {
    resolved: FastMap<u64, CachedRefs>,
    heads: FastMap<u64, Heads>,
}

impl RefCache {
    pub(crate) fn new() -> RefCache {
        RefCache::default()
    }

    /// Forgets the playlists that are not in `known`.
    fn retain(&mut self, known: &FastSet<u64>) {
        self.resolved.retain(|id, _| known.contains(id));
        self.heads.retain(|id, _| known.contains(id));
    }
}

fn check_playlist(storage: &FsStorage) -> Result<PlaylistFormat> {
    let name = storage.name()?;
    if storage.snap()?.is_dir {
        return Err(Error::InvalidType);
    }
    format_of_name(&name).ok_or(Error::InvalidType)
}

/// The playlist's folder, root-relative and `/`-separated.
fn base_folder(shared: &Shared, playlist: u64) -> Result<String> {
    let inner = shared.lock();
    let (parent, _) = inner.ids.entry(playlist).ok_or(Error::InterfaceDead)?;
    Ok(inner.ids.components(parent)?.join("/"))
}

fn stamp_of(md: &fs::Metadata) -> (u64, Option<SystemTime>) {
    (md.len(), md.modified().ok())
}

/// True for entries that name something off the device: absolute paths, drive letters, URLs.
fn is_foreign(entry: &str) -> bool {
    entry.starts_with(['/', '\\']) || entry.get(1..2) == Some(":") || entry.contains("://")
}

/// The IDs a playlist file's entries resolve to, in order, skipping entries that leave the
/// device or name nothing on it.
fn resolve(shared: &Shared, base: &str, list: &PlaylistFile) -> Vec<u64> {
    let mut out = Vec::with_capacity(list.entries.len());
    for entry in &list.entries {
        let Some(comps) = entry_components(base, &entry.path) else {
            continue;
        };
        if let Ok(id) = shared.id_under(ROOT, &comps) {
            out.push(id);
        }
    }
    out
}

/// The root-relative components an entry of a playlist in folder `base` names, `None` for an
/// entry that leaves the device or names nothing.
fn entry_components<'a>(base: &'a str, entry: &'a str) -> Option<Vec<&'a str>> {
    if is_foreign(entry) {
        return None;
    }
    let mut comps: Vec<&str> = base.split('/').filter(|c| !c.is_empty()).collect();
    let mut escaped = false;
    for part in entry.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => escaped |= comps.pop().is_none(),
            p => comps.push(p),
        }
    }
    (!escaped && !comps.is_empty()).then_some(comps)
}

/// False only when no host could open the same entry for names `a` and `b`: they differ, and
/// not merely in case (FAT and Windows ignore case), nor both hold characters beyond ASCII
/// (hosts that fold case or normalise Unicode their own way may take them as one).
fn may_be_same_name(a: &str, b: &str) -> bool {
    a == b || a.to_lowercase() == b.to_lowercase() || (!a.is_ascii() && !b.is_ascii())
}

/// False only when no entry of `list` (a playlist in folder `base`) can name the object at the
/// root-relative `subject`, or anything inside it: what [`resolve`] finds for the list then
/// holds nothing within `subject`, which is found without resolving a single entry (an
/// `lstat` per component of each).
fn may_reference(base: &str, list: &PlaylistFile, subject: &[String]) -> bool {
    list.entries.iter().any(|entry| {
        entry_components(base, &entry.path).is_some_and(|comps| {
            comps.len() >= subject.len()
                && subject
                    .iter()
                    .zip(&comps)
                    .all(|(s, c)| may_be_same_name(s, c))
        })
    })
}

/// Playlist `storage`'s file as read now: its stamp (taken before the read), the folder its
/// entries are relative to, and its entries.
///
/// # Errors
/// As [`read_ids`].
fn read_list(storage: &FsStorage) -> Result<((u64, Option<SystemTime>), String, PlaylistFile)> {
    let format = check_playlist(storage)?;
    let path = storage.path()?;
    let stamp = stamp_of(&fs::symlink_metadata(&path)?);
    let (base, list) = parse_list(storage, format, &path)?;
    Ok((stamp, base, list))
}

/// The folder playlist `storage`'s entries are relative to, and the entries of its file at
/// `path` in `format`.
fn parse_list(
    storage: &FsStorage,
    format: PlaylistFormat,
    path: &std::path::Path,
) -> Result<(String, PlaylistFile)> {
    let bytes = fs::read(path)?;
    let list = match format {
        PlaylistFormat::M3u8 => read_m3u(&bytes)?,
        PlaylistFormat::Wpl => read_wpl(&bytes)?,
    };
    Ok((base_folder(storage.shared(), storage.id())?, list))
}

/// Resolves `list` (playlist `storage`'s file as [`read_list`] read it) and caches the IDs
/// under its stamp.
fn cache_ids(
    storage: &FsStorage,
    stamp: (u64, Option<SystemTime>),
    base: &str,
    list: &PlaylistFile,
) -> Vec<u64> {
    let shared = storage.shared();
    let ids = resolve(shared, base, list);
    shared.lock().playlists.resolved.insert(
        storage.id(),
        CachedRefs {
            stamp,
            ids: ids.clone(),
        },
    );
    ids
}

/// The object IDs the playlist references, from the cache while the file is unchanged.
///
/// # Errors
/// [`Error::InvalidType`] when the object is not a playlist; [`Error::InvalidArg`] when the file
/// does not parse as its format; I/O errors.
fn read_ids(storage: &FsStorage) -> Result<Vec<u64>> {
    let format = check_playlist(storage)?;
    if storage.is_pending() {
        return Ok(Vec::new());
    }
    let path = storage.path()?;
    let stamp = stamp_of(&fs::symlink_metadata(&path)?);
    if let Some(c) = storage
        .shared()
        .lock()
        .playlists
        .resolved
        .get(&storage.id())
        && c.stamp == stamp
    {
        return Ok(c.ids.clone());
    }
    let (base, list) = parse_list(storage, format, &path)?;
    Ok(cache_ids(storage, stamp, &base, &list))
}

/// IMDSPStorage4::GetReferences: the playlist's entries that resolve to objects on the device.
pub(crate) fn read_references(storage: &FsStorage) -> Result<Vec<Arc<FsStorage>>> {
    let shared = storage.shared();
    let ids = read_ids(storage)?;
    let inner = shared.lock();
    Ok(ids
        .into_iter()
        .filter(|id| inner.ids.contains(*id))
        .map(|id| FsStorage::new(shared.clone(), id, None))
        .collect())
}

/// IMDSPStorage4::SetReferences: rewrites the playlist file with paths relative to it.
pub(crate) fn write_references(storage: &FsStorage, refs: &[StorageRef]) -> Result<()> {
    storage.shared().check_write()?;
    check_playlist(storage)?;
    let shared = storage.shared();
    let ids = refs
        .iter()
        .map(|r| shared.parse_unique_id(&r.unique_id()?))
        .collect::<Result<Vec<u64>>>()?;
    write_ids(storage, &ids)
}

/// Writes the playlist file from object IDs, in the format its name says, with the device
/// profile's separator.
///
/// # Errors
/// [`Error::InterfaceDead`] for an ID that names no object; [`Error::InvalidType`] when the
/// object is not a playlist; errors of the write.
fn write_ids(storage: &FsStorage, ids: &[u64]) -> Result<()> {
    let format = check_playlist(storage)?;
    let shared = storage.shared();
    let base = base_folder(shared, storage.id())?;
    let paths = {
        let inner = shared.lock();
        ids.iter()
            .map(|&id| {
                if id == ROOT {
                    return Err(Error::InvalidArg);
                }
                Ok(inner.ids.components(id)?.join("/"))
            })
            .collect::<Result<Vec<String>>>()?
    };
    let profile = &shared.options.profile;
    let separator = profile.playlist_separator.unwrap_or(match format {
        PlaylistFormat::M3u8 => '/',
        PlaylistFormat::Wpl => '\\',
    });
    let style = PathStyle::relative(base, separator);
    let entries: Vec<WriteEntry<'_>> = paths
        .iter()
        .map(|p| WriteEntry {
            path: p,
            title: None,
            duration: None,
        })
        .collect();
    let text = match format {
        PlaylistFormat::M3u8 => write_m3u(None, &entries, &style)?,
        PlaylistFormat::Wpl => {
            let name = storage.name()?;
            let title = name
                .rsplit_once('.')
                .map_or(name.as_str(), |(stem, _)| stem);
            write_wpl(title, &entries, &style)?
        }
    };
    let mut io = storage.open(OpenMode::WRITE)?;
    io.write(text.as_bytes())?;
    io.close()?;
    let stamp = stamp_of(&fs::symlink_metadata(storage.path()?)?);
    shared.lock().playlists.resolved.insert(
        storage.id(),
        CachedRefs {
            stamp,
            ids: ids.to_vec(),
        },
    );
    Ok(())
}

/// The playlists a change to `subject` (and everything below it) touches, with the IDs each
/// references now: every playlist on the device the provider knows that lists something at or
/// below `subject`, and, unless `deleting`, every playlist at or below `subject` itself (its
/// relative paths change when it moves). Playlists whose file cannot be read are left out.
pub(crate) fn affected(shared: &Arc<Shared>, subject: u64, deleting: bool) -> Vec<(u64, Vec<u64>)> {
    let candidates = {
        let mut inner = shared.lock();
        let known = inner.ids.playlists().clone();
        // Forget what the cache holds for playlists that are gone.
        inner.playlists.retain(&known);
        known
            .into_iter()
            .filter(|id| !inner.pending.contains(id))
            .collect::<Vec<u64>>()
    };
    let subject_path: Option<Vec<String>> = shared
        .lock()
        .ids
        .components(subject)
        .ok()
        .map(|c| c.into_iter().map(str::to_owned).collect());
    let mut out = Vec::new();
    for p in candidates {
        let inside = shared.lock().ids.is_within(p, subject);
        if inside && deleting {
            continue;
        }
        let handle = FsStorage::new(shared.clone(), p, None);
        let cached = shared.lock().playlists.resolved.contains_key(&p);
        let ids = if !inside && !cached {
            // A playlist none of whose entries starts where the subject does is not read at
            // all while its file is unchanged (a sync that deletes its records one by one
            // read every playlist of the device for each: a tenth of a second at the end of
            // a 10,000-track first sync).
            if let Some(first) = subject_path.as_ref().and_then(|s| s.first())
                && let Ok(path) = handle.path()
                && let Ok(md) = fs::symlink_metadata(&path)
                && let Some(h) = shared.lock().playlists.heads.get(&p)
                && h.stamp == stamp_of(&md)
                && !h.may_start_with(first)
            {
                continue;
            }
            let Ok((stamp, base, list)) = read_list(&handle) else {
                continue;
            };
            shared
                .lock()
                .playlists
                .heads
                .insert(p, Heads::of(stamp, &base, &list));
            // A playlist none of whose entries can name the subject is not touched: a check
            // of its text spares resolving every entry (a sync that rewrites its state files
            // once resolved every playlist of the device, entry by entry, for each).
            if let Some(subject_path) = &subject_path
                && !may_reference(&base, &list, subject_path)
            {
                continue;
            }
            // The file just read is resolved as it is, not read a second time.
            cache_ids(&handle, stamp, &base, &list)
        } else {
            let Ok(ids) = read_ids(&handle) else {
                continue;
            };
            ids
        };
        let touched = inside || {
            let inner = shared.lock();
            ids.iter().any(|&id| inner.ids.is_within(id, subject))
        };
        if touched {
            out.push((p, ids));
        }
    }
    out
}

/// Rewrites the playlists [`affected`] returned, after the change: their references keep the
/// same objects, less those that no longer exist. A playlist that cannot be rewritten is logged
/// and left as it was: the change itself has already happened.
pub(crate) fn rewrite(shared: &Arc<Shared>, playlists: Vec<(u64, Vec<u64>)>) {
    for (p, ids) in playlists {
        let handle = FsStorage::new(shared.clone(), p, None);
        let kept: Vec<u64> = {
            let inner = shared.lock();
            ids.into_iter()
                .filter(|&id| inner.ids.contains(id))
                .collect()
        };
        if let Err(e) = write_ids(&handle, &kept) {
            tracing::warn!(?e, playlist = p, "a playlist could not be updated");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first components kept of a playlist let through every subject the text check
    /// may find in it, and only those whose first component may match an entry's.
    #[test]
    fn a_playlists_first_components_let_through_every_subject_it_may_name() {
        let list = read_m3u(
            "../Music/Ana Sól/x.mp3\n..\\music\\b.mp3\nhttp://a/b.mp3\n../Ñandú/c.mp3\n/abs/d.mp3\n"
                .as_bytes(),
        )
        .unwrap();
        let base = "Playlists";
        let heads = Heads::of((1, None), base, &list);
        let path = |p: &str| p.split('/').map(str::to_owned).collect::<Vec<_>>();
        for subject in [
            "Music/Ana Sól/x.mp3",
            "MUSIC/b.mp3",
            "music",
            "Ñandu/c.mp3",
            "Ñandú",
            ".wmdm-sync/commit-1.txt",
            "abs/d.mp3",
            "http:",
            "Playlists/x.m3u8",
        ] {
            let subject = path(subject);
            if may_reference(base, &list, &subject) {
                assert!(heads.may_start_with(&subject[0]), "{subject:?}");
            }
        }
        assert!(heads.may_start_with("Music") && heads.may_start_with("MUSIC"));
        // Beyond ASCII on both sides: a host may take them as one name.
        assert!(heads.may_start_with("Ñandu"));
        assert!(!heads.may_start_with(".wmdm-sync"));
        assert!(
            !heads.may_start_with("abs"),
            "an absolute entry names nothing on the device"
        );
    }

    /// The text check that spares resolving a playlist says "maybe" for every entry a host
    /// could resolve to the subject or inside it: same names, names differing in case, names
    /// beyond ASCII on both sides, paths through `.` and `..` and either separator.
    #[test]
    fn the_text_check_never_misses_an_entry_that_may_name_the_subject() {
        let list = read_m3u(
            "../Music/Ana Sól/x.mp3\n..\\music\\marrow & moss\\.\\b.mp3\nhttp://a/b.mp3\n"
                .as_bytes(),
        )
        .unwrap();
        let path = |p: &str| p.split('/').map(str::to_owned).collect::<Vec<_>>();
        let base = "Playlists";
        assert!(may_reference(
            base,
            &list,
            &path("Music/Marrow & Moss/b.mp3")
        ));
        assert!(may_reference(base, &list, &path("Music/Marrow & Moss")));
        assert!(may_reference(base, &list, &path("Music")));
        assert!(may_reference(base, &list, &path("Music/Ana Sól/x.mp3")));
        // Another non-ASCII spelling may be the same name on a host that normalises.
        assert!(may_reference(
            base,
            &list,
            &path("Music/Ana So\u{301}l/x.mp3")
        ));
        assert!(!may_reference(
            base,
            &list,
            &path("Music/Marrow & Moss/c.mp3")
        ));
        assert!(!may_reference(base, &list, &path(".wmdm-sync/ledger.txt")));
        assert!(!may_reference(
            base,
            &list,
            &path("Music/Ana Sól/x.mp3/deeper")
        ));
        assert_eq!(entry_components(base, "../../x.mp3"), None);
        assert_eq!(entry_components(base, "/abs/x.mp3"), None);
    }

    #[test]
    fn playlist_names_and_codes() {
        assert!(is_playlist_name("x.M3U8") && is_playlist_name("y.m3u"));
        assert_eq!(format_of_name("Mix.WPL"), Some(PlaylistFormat::Wpl));
        assert!(!is_playlist_name(".m3u") && !is_playlist_name("a.mp3"));
        assert!(!is_playlist_name("wpl"));
        let wpl = PlaylistFormat::Wpl;
        assert_eq!(
            format_for_code(FormatCode::ABSTRACT_AUDIO_VIDEO_PLAYLIST, wpl),
            Some(wpl)
        );
        assert_eq!(
            format_for_code(FormatCode::M3U_PLAYLIST, wpl),
            Some(PlaylistFormat::M3u8)
        );
        assert_eq!(format_for_code(FormatCode::MP3, wpl), None);
        assert!(is_foreign("C:\\a.mp3") && is_foreign("http://x/a") && is_foreign("/a"));
        assert!(!is_foreign("../a.mp3"));
    }
}
