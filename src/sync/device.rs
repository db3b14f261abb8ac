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

/// The suffix of the temporary names copies are written under before the rename that
/// commits them.
pub(crate) const TEMP_SUFFIX: &str = ".wmdm-sync-part";

pub(crate) const MARKER_FILE: &str = "partnership.txt";
pub(crate) const LEDGER_FILE: &str = "ledger.txt";
pub(crate) const JOURNAL_FILE: &str = "journal.txt";

pub(crate) fn is_not_found(e: &Error) -> bool {
    e.kind() == ErrorKind::NotFound
}

/// Reads every file below `root` (except [`SYNC_FOLDER`] and sync's temporary files) and the
/// storage's space.
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
            } else if !name.ends_with(TEMP_SUFFIX) {
                let size = child.size()?;
                let unique_id = child.unique_id().unwrap_or_default();
                files.insert(path, DeviceFile { size, unique_id });
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
/// that far); one that finds both takes `name` (the new one may be incomplete).
pub(crate) fn write_file_atomic(folder: &WmdmStorage, name: &str, bytes: &[u8]) -> Result<()> {
    let new_name = format!("{name}.new");
    if let Ok(stale) = folder.child(&new_name) {
        stale.delete(false, &mut NoProgress)?;
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
    match folder.child(name) {
        Ok(old) => old.delete(false, &mut NoProgress)?,
        Err(e) if is_not_found(&e) => {}
        Err(e) => return Err(e),
    }
    created.rename(name, &mut NoProgress)
}

/// Reads sync's state file `name`, honouring [`write_file_atomic`]'s protocol.
pub(crate) fn read_state(root: &WmdmStorage, name: &str) -> Result<Option<Vec<u8>>> {
    let Some(folder) = resolve(root, SYNC_FOLDER)? else {
        return Ok(None);
    };
    for candidate in [name.to_owned(), format!("{name}.new")] {
        match folder.child(&candidate) {
            Ok(f) => return read_all(&f).map(Some),
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
