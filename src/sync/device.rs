//! Device access for sync, all through the authenticated manager: reading the device's
//! contents, resolving and creating folders, and sync's own state files in [`SYNC_FOLDER`].

use std::collections::HashMap;
use std::io::Cursor;

use super::plan::{DeviceContents, DeviceFile};
use crate::error::{Error, ErrorKind, Result};
use crate::flags::{Attributes, Placement};
use crate::manager::{InsertOptions, InsertSource, ReadTarget, WmdmStorage};
use crate::provider::NoProgress;

/// The hidden folder at the storage root where sync keeps the partnership marker, the
/// ownership ledger and the journal. It is never content: the planner does not see it.
pub const SYNC_FOLDER: &str = ".wmdm-sync";

pub(crate) const MARKER_FILE: &str = "partnership.txt";
/// The ledger file of the one partnership a device held before ledgers were per library;
/// read (migration) when it belongs to the library asking and its own file is absent.
pub(crate) const LEGACY_LEDGER_FILE: &str = "ledger.txt";

/// A library id as a file-name component: kept when it is short and plain (the ids the crate
/// makes are 32 hex digits), otherwise a hash of it. The file's content still names its
/// library, so a collision only makes a ledger read as another library's (empty).
fn state_key(library_id: &str) -> String {
    if !library_id.is_empty()
        && library_id.len() <= 40
        && library_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return library_id.to_owned();
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in library_id.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("h{h:016x}")
}

/// The library's ledger file in [`SYNC_FOLDER`]: one per library, so a library that takes
/// the device over leaves the first one's ledger alone (invariant J8).
pub(crate) fn ledger_file(library_id: &str) -> String {
    format!("ledger-{}.txt", state_key(library_id))
}

/// The library's journal file.
pub(crate) fn journal_file(library_id: &str) -> String {
    format!("journal-{}.txt", state_key(library_id))
}

/// The prefix of the library's commit records (`commit-<library>-<n>.txt`).
pub(crate) fn commit_prefix(library_id: &str) -> String {
    format!("commit-{}-", state_key(library_id))
}

/// The bytes of each end of an object that its fingerprint covers.
const FINGERPRINT_EDGE: u64 = 4096;

/// The content fingerprint of a device object: SHA-1 over its size (8 bytes, little-endian),
/// its first 4 KiB and its last 4 KiB, read back through the manager (the whole object when
/// it is at most 8 KiB). It is recorded when the sync writes an object and compared before
/// recovery adopts or the sync deletes one on a device without unique IDs (docs/sync.md,
/// "Why this fingerprint").
///
/// # Errors
/// The manager's errors reading the object.
pub fn fingerprint_of(obj: &WmdmStorage) -> Result<[u8; 20]> {
    use sha1::Digest;
    let size = obj.size()?;
    let mut h = sha1::Sha1::new();
    h.update(size.to_le_bytes());
    if size <= 2 * FINGERPRINT_EDGE {
        h.update(read_all(obj)?);
    } else {
        let edge = usize::try_from(FINGERPRINT_EDGE).unwrap_or(4096);
        for part in obj.read_ranges(&[(0, edge), (size - FINGERPRINT_EDGE, edge)])? {
            h.update(part);
        }
    }
    Ok(h.finalize().into())
}

pub(crate) fn is_not_found(e: &Error) -> bool {
    e.kind() == ErrorKind::NotFound
}

/// Reads every file below `root` (except [`SYNC_FOLDER`]) and the storage's space. Nothing is
/// hidden by its name: a file named like a temporary file is a user's file until a journal
/// says otherwise (invariant J3; recovery takes out the temporary files it will delete).
///
/// # Errors
/// The manager's errors ([`Error::NotCertified`], [`Error::DeviceNotConnected`], ...).
pub fn read_device_contents(root: &WmdmStorage) -> Result<DeviceContents> {
    let globals = root.globals()?;
    let mut files = HashMap::new();
    let mut state_bytes = 0;
    let mut stack: Vec<(String, WmdmStorage)> = vec![(String::new(), root.clone())];
    while let Some((prefix, folder)) = stack.pop() {
        for child in folder.children()? {
            let name = child.name()?;
            if prefix.is_empty() && name == SYNC_FOLDER {
                for f in child.children()? {
                    state_bytes += f.size().unwrap_or(0);
                }
                continue;
            }
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            if child.attributes()?.attributes.contains(Attributes::FOLDER) {
                stack.push((path, child));
            } else {
                let size = child.size()?;
                let unique_id = child.unique_id().unwrap_or_default();
                let modified = child
                    .date()
                    .ok()
                    .and_then(|d| d.to_unix().ok())
                    .unwrap_or(0);
                files.insert(
                    path,
                    DeviceFile {
                        size,
                        unique_id,
                        modified,
                    },
                );
            }
        }
    }
    Ok(DeviceContents {
        files,
        capacity: globals.total_size()?,
        free: globals.total_free()?,
        state_bytes,
    })
}

/// The object at a `/`-separated path, or `None` when it is not there.
pub(crate) fn resolve(root: &WmdmStorage, path: &str) -> Result<Option<WmdmStorage>> {
    let mut cur = root.clone();
    for c in path.split('/').filter(|c| !c.is_empty()) {
        match cur.child(c) {
            Ok(s) => cur = s,
            Err(e) if is_not_found(&e) || e == Error::InvalidType => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    Ok(Some(cur))
}

/// Folders created or found during one sync, by path.
#[derive(Debug, Default)]
pub(crate) struct FolderCache {
    folders: HashMap<String, WmdmStorage>,
}

impl FolderCache {
    /// The folder at `path`, created (with its parents) when missing.
    pub(crate) fn ensure(&mut self, root: &WmdmStorage, path: &str) -> Result<WmdmStorage> {
        if path.is_empty() {
            return Ok(root.clone());
        }
        if let Some(f) = self.folders.get(path) {
            return Ok(f.clone());
        }
        let (parent_path, name) = path.rsplit_once('/').unwrap_or(("", path));
        let parent = self.ensure(root, parent_path)?;
        let folder = match parent.child(name) {
            Ok(f) => f,
            Err(e) if is_not_found(&e) => parent.create_folder(name, Placement::Into)?,
            Err(e) => return Err(e),
        };
        self.folders.insert(path.to_owned(), folder.clone());
        Ok(folder)
    }
}

/// Splits `a/b/c` into (`a/b`, `c`).
pub(crate) fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

/// Reads a whole file through the manager.
pub(crate) fn read_all(file: &WmdmStorage) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    file.read_to(ReadTarget::Writer(&mut out), &mut NoProgress)?;
    Ok(out)
}

/// Writes `bytes` as `folder/name`: first as `name.new`, then the old file is deleted and the
/// new one renamed into place. A reader that finds only `name.new` takes it (the write got
/// that far, or it is the first write: see [`read_state_from`]); one that finds both takes
/// `name` (the new one may be incomplete).
///
/// A `name.new` found alone before writing is the committed copy of an interrupted write: it
/// is renamed into place first, never deleted (deleting it would lose the only copy if the
/// write were interrupted again).
pub(crate) fn write_file_atomic(folder: &WmdmStorage, name: &str, bytes: &[u8]) -> Result<()> {
    let new_name = format!("{name}.new");
    let existing = match folder.child(name) {
        Ok(f) => Some(f),
        Err(e) if is_not_found(&e) => None,
        Err(e) => return Err(e),
    };
    match folder.child(&new_name) {
        Ok(stale) if existing.is_some() => stale.delete(false, &mut NoProgress)?,
        Ok(only) => {
            only.rename(name, &mut NoProgress)?;
            return write_file_atomic(folder, name, bytes);
        }
        Err(e) if is_not_found(&e) => {}
        Err(e) => return Err(e),
    }
    let mut reader = Cursor::new(bytes);
    let created = folder.insert(
        InsertSource::Reader {
            reader: &mut reader,
            name: new_name,
            size: bytes.len() as u64,
        },
        &InsertOptions::default(),
        &mut NoProgress,
    )?;
    if let Some(old) = existing {
        old.delete(false, &mut NoProgress)?;
    }
    created.rename(name, &mut NoProgress)
}

/// Renames a lone `name.new` into place (the write protocol's committed copy when `name` is
/// absent), so it is not left for ever when `name` is not written again. The caller has
/// removed a lone `.new` that does not parse (an interrupted first write) before this.
pub(crate) fn settle_state(root: &WmdmStorage, name: &str) -> Result<()> {
    let Some(folder) = resolve(root, SYNC_FOLDER)? else {
        return Ok(());
    };
    match folder.child(name) {
        Ok(_) => return Ok(()),
        Err(e) if is_not_found(&e) => {}
        Err(e) => return Err(e),
    }
    match folder.child(&format!("{name}.new")) {
        Ok(only) => only.rename(name, &mut NoProgress),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Deletes every `X.new` in the sync folder whose `X` is there too: by the write protocol the
/// reader takes `X`, so the twin is an interrupted write's leftover.
pub(crate) fn clean_state_twins(root: &WmdmStorage) -> Result<()> {
    let Some(folder) = resolve(root, SYNC_FOLDER)? else {
        return Ok(());
    };
    let children = folder.children()?;
    let mut names = std::collections::HashSet::new();
    for c in &children {
        names.insert(c.name()?);
    }
    for c in children {
        let name = c.name()?;
        if name
            .strip_suffix(".new")
            .is_some_and(|base| names.contains(base))
        {
            c.delete(false, &mut NoProgress)?;
        }
    }
    Ok(())
}

/// Reads sync's state file `name`, honouring [`write_file_atomic`]'s protocol.
pub(crate) fn read_state(root: &WmdmStorage, name: &str) -> Result<Option<Vec<u8>>> {
    Ok(read_state_from(root, name)?.map(|(b, _)| b))
}

/// As [`read_state`], also saying whether the bytes came from the `.new` twin. A caller whose
/// bytes came from a lone `.new` and do not parse may take the file as absent: a complete
/// `.new` is alone only after the old file was deleted, so an incomplete one alone is the
/// very first write of the file, interrupted.
pub(crate) fn read_state_from(root: &WmdmStorage, name: &str) -> Result<Option<(Vec<u8>, bool)>> {
    let Some(folder) = resolve(root, SYNC_FOLDER)? else {
        return Ok(None);
    };
    for (candidate, twin) in [(name.to_owned(), false), (format!("{name}.new"), true)] {
        match folder.child(&candidate) {
            Ok(f) => return read_all(&f).map(|b| Some((b, twin))),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// The last-modified date of sync's state file `name` on the device, in seconds since the
/// Unix epoch (`None` when it is absent or undated).
///
/// # Errors
/// The manager's errors reading the device.
pub(crate) fn state_date(root: &WmdmStorage, name: &str) -> Result<Option<i64>> {
    let Some(folder) = resolve(root, SYNC_FOLDER)? else {
        return Ok(None);
    };
    for candidate in [name.to_owned(), format!("{name}.new")] {
        match folder.child(&candidate) {
            Ok(f) => return Ok(f.date()?.to_unix().ok().filter(|&d| d != 0)),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// Writes sync's state file `name` atomically.
pub(crate) fn write_state(root: &WmdmStorage, name: &str, bytes: &[u8]) -> Result<()> {
    let folder = match root.child(SYNC_FOLDER) {
        Ok(f) => f,
        Err(e) if is_not_found(&e) => root.create_folder(SYNC_FOLDER, Placement::Into)?,
        Err(e) => return Err(e),
    };
    write_file_atomic(&folder, name, bytes)
}

/// Every state file whose name starts with `prefix`, with its bytes and whether they came
/// from a lone `.new` twin, sorted by name (as [`read_state_from`] reads them).
pub(crate) fn read_states_with_prefix(
    root: &WmdmStorage,
    prefix: &str,
) -> Result<Vec<(String, Vec<u8>, bool)>> {
    let Some(folder) = resolve(root, SYNC_FOLDER)? else {
        return Ok(Vec::new());
    };
    let mut names: Vec<String> = Vec::new();
    for child in folder.children()? {
        let name = child.name()?;
        if name.starts_with(prefix) {
            names.push(name.strip_suffix(".new").unwrap_or(&name).to_owned());
        }
    }
    names.sort();
    names.dedup();
    let mut out = Vec::new();
    for name in names {
        if let Some((bytes, twin)) = read_state_from(root, &name)? {
            out.push((name, bytes, twin));
        }
    }
    Ok(out)
}

/// Deletes sync's state file `name` (and any `.new` twin); absent files are fine.
pub(crate) fn delete_state(root: &WmdmStorage, name: &str) -> Result<()> {
    let Some(folder) = resolve(root, SYNC_FOLDER)? else {
        return Ok(());
    };
    for candidate in [format!("{name}.new"), name.to_owned()] {
        match folder.child(&candidate) {
            Ok(f) => f.delete(false, &mut NoProgress)?,
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
