//! Persistent unique IDs: an append-only log in the device's hidden folder.
//!
//! Every object gets a 64-bit number that names it for as long as it exists. The map records each
//! object's parent and name, not its path, so renaming or moving a folder through the provider
//! changes one entry, and everything below keeps its ID.
//!
//! The file `.wmdm/ids` is UTF-8 text, one record per line:
//!
//! ```text
//! wmdm-ids 1                     header (first line)
//! next <hex>                     the next number to hand out (header, second line)
//! + <id hex> <parent hex> <name> the object <id> is called <name> inside <parent>
//! - <id hex>                     the object <id> is gone
//! ```
//!
//! The root is object 0 and has no record. Names are escaped as every line-based state file of
//! the crate escapes its values (`\` as `\\`, a tab as `\t`, a line feed as `\n`, a carriage
//! return as `\r`; a log written before tabs were escaped reads the same). Later records win.
//! A line that does not parse is skipped (a torn last line after a crash is the usual case),
//! and an entry whose parent chain does not reach the root is dropped on load. When the log
//! holds many more records than objects it is rewritten whole,
//! through a temporary file and a rename.
//!
//! While this process holds the device's writer lock, the log's append handle stays open from
//! one save to the next (a sync saves once per file it renames into place); it is closed before
//! a rewrite, after any error and once the lock is gone (`FsIo::append`).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::escape::{Escaped, unescape};
use crate::maps::{FastMap, FastSet};

use super::playlist::is_playlist_name;
use super::quirks::FsIo;

/// `base` with `parts` pushed onto it, made at its final size (a path pushed component by
/// component grows, and is copied, several times).
pub(crate) fn joined<'a>(base: &Path, parts: impl IntoIterator<Item = &'a str> + Clone) -> PathBuf {
    let len = base.as_os_str().len()
        + parts
            .clone()
            .into_iter()
            .map(|c| c.len() + 1)
            .sum::<usize>();
    let mut p = PathBuf::with_capacity(len);
    p.push(base);
    for c in parts {
        p.push(c);
    }
    p
}

/// The root folder's ID.
pub(crate) const ROOT: u64 = 0;

const HEADER: &str = "wmdm-ids 1";
const MAX_DEPTH: usize = 4096;
/// The shortest `+` record of the log, `+ 1 0 a` (the last line may lack its newline).
const SHORTEST_RECORD: usize = 7;

#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    parent: u64,
    name: Arc<str>,
}

/// The in-memory map and its log file.
#[derive(Debug)]
pub(crate) struct IdMap {
    next: u64,
    entries: FastMap<u64, Entry>,
    children: FastMap<u64, FastMap<Arc<str>, u64>>,
    /// The objects whose names make them playlists, kept as entries come and go: a rename or
    /// delete asks which playlists may reference the object, and scanning every name for it
    /// made each rename cost one look at every object on the device.
    playlists: FastSet<u64>,
    file: Option<PathBuf>,
    /// The log's append handle, kept between saves while [`FsIo::append`] allows it; dropped
    /// before the log is rewritten whole, so that it never writes to a replaced file.
    log: Option<fs::File>,
    pending_log: String,
    log_records: usize,
}

impl IdMap {
    /// An empty map that is not saved anywhere (read-only media).
    pub(crate) fn in_memory(first: u64) -> IdMap {
        IdMap {
            next: first.max(1),
            entries: FastMap::default(),
            children: FastMap::default(),
            playlists: FastSet::default(),
            file: None,
            log: None,
            pending_log: String::new(),
            log_records: 0,
        }
    }

    /// Loads the map from `path`, or starts a new one numbering from `first` when the file does
    /// not exist.
    ///
    /// # Errors
    /// I/O errors other than "not found" reading the file.
    pub(crate) fn load(path: &Path, first: u64, io: &FsIo) -> Result<IdMap> {
        let mut map = IdMap::in_memory(first);
        map.file = Some(path.to_path_buf());
        let text = match fs::read(path) {
            // Not copied when it is UTF-8, as the map writes it (a device's map is a megabyte).
            Ok(bytes) => String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                map.rewrite(io)?;
                return Ok(map);
            }
            Err(e) => return Err(e.into()),
        };
        let recognised = map.parse(&text, path);
        // A log that is mostly history, or one that did not parse, is compacted now; otherwise
        // opening a device writes nothing.
        if !recognised || map.log_records > 2 * map.entries.len() + 1024 || !text.ends_with('\n') {
            map.rewrite(io)?;
        }
        Ok(map)
    }

    /// Loads the map from `path` for a read-only device: the records are read when the file
    /// exists and parses, but the map is never saved (IDs handed out later last as long as the
    /// map).
    pub(crate) fn load_read_only(path: &Path, first: u64) -> IdMap {
        let Ok(bytes) = fs::read(path) else {
            return IdMap::in_memory(first);
        };
        let mut map = IdMap::in_memory(first);
        map.parse(&String::from_utf8_lossy(&bytes), path);
        map
    }

    /// Reads the records of the log's `text` into this (empty) map; false when the header is
    /// not recognised (the map then stays empty).
    fn parse(&mut self, text: &str, path: &Path) -> bool {
        // At its size from the start (a device's map of 10,000 files would otherwise grow and
        // rehash a dozen times): one record a line, nearly all of them `+` records, and no
        // more of those than the text's bytes over the shortest one's, so that a damaged or
        // hostile log of empty lines reserves nothing like an entry per byte.
        let lines = text.bytes().filter(|&b| b == b'\n').count();
        let records = lines.min(text.len() / SHORTEST_RECORD);
        let mut raw: FastMap<u64, Entry> =
            FastMap::with_capacity_and_hasher(records, Default::default());
        let mut next = self.next;
        let mut lines = text.lines();
        let recognised = lines.next() == Some(HEADER);
        if !recognised {
            tracing::warn!(?path, "unrecognised id map; starting a new one");
        } else {
            for line in lines {
                self.log_records += 1;
                if let Some(hex) = line.strip_prefix("next ") {
                    if let Ok(n) = u64::from_str_radix(hex, 16) {
                        next = next.max(n);
                    }
                } else if let Some(rest) = line.strip_prefix("+ ") {
                    let mut parts = rest.splitn(3, ' ');
                    let id = parts.next().and_then(|s| u64::from_str_radix(s, 16).ok());
                    let parent = parts.next().and_then(|s| u64::from_str_radix(s, 16).ok());
                    let name = parts.next().and_then(unescape);
                    if let (Some(id), Some(parent), Some(name)) = (id, parent, name)
                        && id != ROOT
                        && !name.is_empty()
                    {
                        raw.insert(
                            id,
                            Entry {
                                parent,
                                name: name.into(),
                            },
                        );
                    }
                } else if let Some(hex) = line.strip_prefix("- ")
                    && let Ok(id) = u64::from_str_radix(hex, 16)
                {
                    raw.remove(&id);
                }
            }
        }
        let orphans: Vec<u64> = raw
            .keys()
            .copied()
            .filter(|&id| !reaches_root(&raw, id))
            .collect();
        if let Some(&max) = raw.keys().max() {
            next = next.max(max.saturating_add(1));
        }
        for id in orphans {
            raw.remove(&id);
        }
        self.entries = raw;
        self.next = next;
        // Two records may claim one (parent, name) if the log was damaged: the larger ID wins,
        // deterministically, and the other is forgotten.
        let mut displaced = Vec::new();
        for (&id, e) in &self.entries {
            let slot = self.children.entry(e.parent).or_default();
            match slot.get_mut(&*e.name) {
                Some(held) if *held > id => displaced.push(id),
                Some(held) => displaced.push(std::mem::replace(held, id)),
                None => {
                    slot.insert(e.name.clone(), id);
                }
            }
        }
        for old in displaced {
            self.entries.remove(&old);
        }
        self.playlists = self
            .entries
            .iter()
            .filter(|(_, e)| is_playlist_name(&e.name))
            .map(|(&id, _)| id)
            .collect();
        recognised
    }

    /// The ID of `name` inside `parent`, if known.
    pub(crate) fn lookup(&self, parent: u64, name: &str) -> Option<u64> {
        self.children.get(&parent)?.get(name).copied()
    }

    /// True when `id` is the root or a known object.
    pub(crate) fn contains(&self, id: u64) -> bool {
        id == ROOT || self.entries.contains_key(&id)
    }

    /// The parent and name of `id`.
    pub(crate) fn entry(&self, id: u64) -> Option<(u64, &str)> {
        self.entries.get(&id).map(|e| (e.parent, &*e.name))
    }

    /// How many children of `parent` the map knows.
    pub(crate) fn child_count(&self, parent: u64) -> usize {
        self.children.get(&parent).map_or(0, |m| m.len())
    }

    /// The known children of `parent`: name and ID.
    pub(crate) fn children_of(&self, parent: u64) -> Vec<(String, u64)> {
        self.children
            .get(&parent)
            .map(|m| m.iter().map(|(n, &id)| (n.to_string(), id)).collect())
            .unwrap_or_default()
    }

    /// The path components of `id`, root first; empty for the root.
    ///
    /// # Errors
    /// [`Error::InterfaceDead`] when `id` is unknown; [`Error::ProcessFailed`] for a cycle.
    pub(crate) fn components(&self, id: u64) -> Result<Vec<&str>> {
        let mut out = Vec::new();
        let mut cur = id;
        while cur != ROOT {
            let e = self.entries.get(&cur).ok_or(Error::InterfaceDead)?;
            out.push(&*e.name);
            cur = e.parent;
            if out.len() > MAX_DEPTH {
                return Err(Error::ProcessFailed);
            }
        }
        out.reverse();
        Ok(out)
    }

    /// The IDs and names from the root's child down to `id` itself; empty for the root.
    ///
    /// # Errors
    /// As [`IdMap::components`].
    pub(crate) fn chain(&self, id: u64) -> Result<Vec<(u64, &str)>> {
        let mut out = Vec::new();
        let mut cur = id;
        while cur != ROOT {
            let e = self.entries.get(&cur).ok_or(Error::InterfaceDead)?;
            out.push((cur, &*e.name));
            cur = e.parent;
            if out.len() > MAX_DEPTH {
                return Err(Error::ProcessFailed);
            }
        }
        out.reverse();
        Ok(out)
    }

    /// The path of `id` relative to the root.
    ///
    /// # Errors
    /// As [`IdMap::components`].
    pub(crate) fn rel_path(&self, id: u64) -> Result<PathBuf> {
        Ok(joined(Path::new(""), self.components(id)?))
    }

    /// True when `ancestor` is `id` or one of its ancestors.
    pub(crate) fn is_within(&self, id: u64, ancestor: u64) -> bool {
        let mut cur = id;
        for _ in 0..=MAX_DEPTH {
            if cur == ancestor {
                return true;
            }
            match self.entries.get(&cur) {
                Some(e) => cur = e.parent,
                None => return false,
            }
        }
        false
    }

    /// Hands out a new ID for `name` inside `parent` and records it.
    pub(crate) fn insert(&mut self, parent: u64, name: &str) -> u64 {
        let id = self.next;
        self.next = self.next.saturating_add(1);
        self.set(id, parent, name);
        id
    }

    /// Records that `id` is now `name` inside `parent` (a rename or a move).
    pub(crate) fn set(&mut self, id: u64, parent: u64, name: &str) {
        if let Some(old) = self.entries.remove(&id)
            && let Some(m) = self.children.get_mut(&old.parent)
        {
            m.remove(&old.name);
        }
        let name: Arc<str> = name.into();
        let slot = self.children.entry(parent).or_default();
        if let Some(displaced) = slot.insert(name.clone(), id)
            && displaced != id
        {
            self.forget(displaced);
        }
        if is_playlist_name(&name) {
            self.playlists.insert(id);
        } else {
            self.playlists.remove(&id);
        }
        self.entries.insert(
            id,
            Entry {
                parent,
                name: name.clone(),
            },
        );
        // Writing into a string cannot fail.
        let _ = writeln!(self.pending_log, "+ {id:x} {parent:x} {}", Escaped(&name));
        self.log_records += 1;
    }

    /// Every known object whose name makes it a playlist ([`is_playlist_name`]).
    pub(crate) fn playlists(&self) -> &FastSet<u64> {
        &self.playlists
    }

    /// Forgets `id` and everything below it.
    pub(crate) fn remove(&mut self, id: u64) {
        self.forget(id);
    }

    fn forget(&mut self, id: u64) {
        let mut stack = vec![id];
        let mut seen = HashSet::new();
        while let Some(cur) = stack.pop() {
            if !seen.insert(cur) {
                continue;
            }
            if let Some(kids) = self.children.remove(&cur) {
                stack.extend(kids.into_values());
            }
            self.playlists.remove(&cur);
            if let Some(e) = self.entries.remove(&cur) {
                if let Some(m) = self.children.get_mut(&e.parent)
                    && m.get(&e.name) == Some(&cur)
                {
                    m.remove(&e.name);
                }
                self.pending_log.push_str(&format!("- {cur:x}\n"));
                self.log_records += 1;
            }
        }
    }

    /// Writes the records made since the last save; `durable` also syncs them to the medium.
    /// Where the file system refuses appends, the log is rewritten whole.
    ///
    /// # Errors
    /// I/O errors writing the log.
    pub(crate) fn save(&mut self, durable: bool, io: &FsIo) -> Result<()> {
        if self.pending_log.is_empty() {
            return Ok(());
        }
        let Some(path) = self.file.clone() else {
            self.pending_log.clear();
            return Ok(());
        };
        if self.log_records > 2 * self.entries.len() + 1024
            || !io.append(&path, &mut self.log, self.pending_log.as_bytes(), durable)?
        {
            return self.rewrite(io);
        }
        self.pending_log.clear();
        Ok(())
    }

    /// Rewrites the whole log ([`FsIo::write_state`]).
    fn rewrite(&mut self, io: &FsIo) -> Result<()> {
        self.pending_log.clear();
        // The handle is on the file about to be replaced.
        self.log = None;
        let Some(path) = self.file.clone() else {
            return Ok(());
        };
        let mut text = format!("{HEADER}\nnext {:x}\n", self.next);
        let mut ids: Vec<&u64> = self.entries.keys().collect();
        ids.sort_unstable();
        for id in ids {
            if let Some(e) = self.entries.get(id) {
                let _ = writeln!(text, "+ {id:x} {:x} {}", e.parent, Escaped(&e.name));
            }
        }
        io.write_state(&path, text.as_bytes())?;
        self.log_records = self.entries.len() + 1;
        Ok(())
    }
}

fn reaches_root(raw: &FastMap<u64, Entry>, id: u64) -> bool {
    let mut cur = id;
    for _ in 0..=MAX_DEPTH {
        if cur == ROOT {
            return true;
        }
        match raw.get(&cur) {
            Some(e) => cur = e.parent,
            None => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch folder, the ID map's path in it, and I/O without flushes.
    fn scratch() -> (tempfile::TempDir, PathBuf, FsIo) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ids");
        let io = FsIo::new(
            dir.path(),
            crate::providers::fs::Durability::Off,
            Default::default(),
        );
        (dir, path, io)
    }

    #[test]
    fn what_a_load_reserves_is_bounded_by_the_records_the_log_can_hold() {
        let path = Path::new("ids");
        // The shortest record the parse takes is as long as the bound says.
        let mut m = IdMap::in_memory(100);
        assert!(m.parse(&format!("{HEADER}\n+ 1 0 a"), path));
        assert_eq!(m.lookup(ROOT, "a"), Some(1));
        assert_eq!("+ 1 0 a".len(), SHORTEST_RECORD);
        // A log of 10,000 records: room for them all from the start.
        let mut text = format!("{HEADER}\n");
        for id in 1..=10_000u64 {
            text.push_str(&format!("+ {id:x} 0 f{id}.mp3\n"));
        }
        let mut m = IdMap::in_memory(100);
        assert!(m.parse(&text, path));
        assert_eq!(m.entries.len(), 10_000);
        // A header and a million empty lines: an empty map, with room reserved for no more
        // records than those bytes could hold.
        let hostile = format!("{HEADER}{}", "\n".repeat(1_000_000));
        let mut m = IdMap::in_memory(100);
        assert!(m.parse(&hostile, path));
        assert!(m.entries.is_empty());
        assert!(m.entries.capacity() < 2 * hostile.len() / SHORTEST_RECORD);
        assert!(m.entries.capacity() < 300_000, "{}", m.entries.capacity());
    }

    #[test]
    fn survives_reload_and_moves() {
        let (_dir, path, io) = scratch();
        let mut m = IdMap::load(&path, 100, &io).unwrap();
        let a = m.insert(ROOT, "Music");
        let b = m.insert(a, "x\ny\\z.mp3");
        let c = m.insert(ROOT, "Other");
        m.save(true, &io).unwrap();
        m.set(b, c, "renamed.mp3");
        m.save(false, &io).unwrap();
        let m2 = IdMap::load(&path, 1, &io).unwrap();
        assert_eq!(m2.lookup(c, "renamed.mp3"), Some(b));
        assert_eq!(m2.lookup(a, "x\ny\\z.mp3"), None);
        assert_eq!(m2.rel_path(b).unwrap(), PathBuf::from("Other/renamed.mp3"));
        let mut m3 = IdMap::load(&path, 1, &io).unwrap();
        let d = m3.insert(ROOT, "new");
        assert!(d > c, "numbers are never reused");
        m3.remove(c);
        m3.save(false, &io).unwrap();
        let m4 = IdMap::load(&path, 1, &io).unwrap();
        assert!(!m4.contains(b) && !m4.contains(c) && m4.contains(a));
    }

    /// The playlist index follows every way a name comes and goes: insert, rename to and from a
    /// playlist name, removal of the object or of a folder above it, and a reload.
    #[test]
    fn the_playlist_index_follows_names() {
        let (_dir, path, io) = scratch();
        let mut m = IdMap::load(&path, 1, &io).unwrap();
        let folder = m.insert(ROOT, "Playlists");
        let a = m.insert(folder, "Mix.m3u8");
        let b = m.insert(folder, "notes.txt");
        let c = m.insert(ROOT, "Top.WPL");
        let want = |ids: &[u64]| ids.iter().copied().collect::<FastSet<u64>>();
        assert_eq!(m.playlists(), &want(&[a, c]));
        m.set(b, folder, "Other.m3u");
        m.set(c, ROOT, "Top.txt");
        assert_eq!(m.playlists(), &want(&[a, b]));
        m.save(false, &io).unwrap();
        assert_eq!(
            IdMap::load(&path, 1, &io).unwrap().playlists(),
            &want(&[a, b])
        );
        m.remove(folder);
        assert!(m.playlists().is_empty());
    }

    /// While the device's writer lock is held, saves append through one handle kept open; it
    /// is reopened after the log is rewritten whole (so records land in the new file, never
    /// in the replaced one) and after an error, and without the lock each save opens the file.
    #[test]
    fn the_log_handle_is_kept_while_the_writer_lock_is_held() {
        use std::sync::atomic::Ordering;
        let (_dir, path, io) = scratch();
        let opens = || io.append_opens.load(Ordering::Relaxed);
        let mut m = IdMap::load(&path, 1, &io).unwrap();
        io.writers.fetch_add(1, Ordering::AcqRel);
        let a = m.insert(ROOT, "a");
        m.save(false, &io).unwrap();
        let b = m.insert(ROOT, "b");
        m.save(true, &io).unwrap();
        let c = m.insert(ROOT, "c");
        m.save(false, &io).unwrap();
        assert_eq!(opens(), 1, "one open for three saves");
        // A rewrite replaces the file: the next save opens the new one.
        m.rewrite(&io).unwrap();
        let d = m.insert(ROOT, "d");
        m.save(false, &io).unwrap();
        assert_eq!(opens(), 2);
        let reloaded = IdMap::load(&path, 1, &io).unwrap();
        for (id, name) in [(a, "a"), (b, "b"), (c, "c"), (d, "d")] {
            assert_eq!(reloaded.lookup(ROOT, name), Some(id), "{name}");
        }
        // Without the lock another process may rewrite the log: every save opens it.
        io.writers.fetch_sub(1, Ordering::AcqRel);
        for name in ["f", "g"] {
            m.insert(ROOT, name);
            m.save(false, &io).unwrap();
            assert!(m.log.is_none());
        }
        assert_eq!(opens(), 4);
        // A handle that fails is dropped: the save fails (and the next one writes the records
        // through a fresh handle), or, where the host calls the failure a refusal (Windows),
        // the log is rewritten whole at once.
        io.writers.fetch_add(1, Ordering::AcqRel);
        m.log = Some(fs::File::open(&path).unwrap());
        let e = m.insert(ROOT, "e");
        let first = m.save(false, &io);
        assert!(m.log.is_none());
        if first.is_err() {
            m.save(false, &io).unwrap();
        }
        assert_eq!(
            IdMap::load(&path, 1, &io).unwrap().lookup(ROOT, "e"),
            Some(e)
        );
    }

    #[test]
    fn garbage_lines_are_skipped() {
        let (_dir, path, io) = scratch();
        fs::write(
            &path,
            "wmdm-ids 1\nnext 10\n+ 5 0 ok\n+ zz 0 bad\n+ 6 99 orphan\n+ 7 0 bad\\q\n- \n+ 8 0",
        )
        .unwrap();
        let m = IdMap::load(&path, 1, &io).unwrap();
        assert_eq!(m.lookup(ROOT, "ok"), Some(5));
        assert!(!m.contains(6) && !m.contains(7) && !m.contains(8));
        assert!(m.next >= 10);
    }

    #[test]
    fn a_doubly_claimed_name_goes_to_the_larger_id() {
        let (_dir, path, io) = scratch();
        fs::write(&path, "wmdm-ids 1\nnext 1\n+ 9 0 x\n+ 5 0 x\n+ 7 0 x\n").unwrap();
        let m = IdMap::load(&path, 1, &io).unwrap();
        assert_eq!(m.lookup(ROOT, "x"), Some(9));
        assert!(!m.contains(5) && !m.contains(7));
    }
}
