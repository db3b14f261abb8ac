//! Reading a device's folders: one folder's entries for a listing, the state folder's stale
//! temporary files, and the bytes used under the root.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::Result;

use super::names::{is_internal, is_temp};
use super::shared::Snap;

/// A folder's visible entries with their `lstat`, the temporary files found in it, and
/// whether it holds an entry the listing leaves out that [`tree_size`] would count (a state
/// folder's name anywhere but as a folder at the root: see `Shared::used_bytes`).
type Listing = (Vec<(String, Snap)>, Vec<PathBuf>, bool);

/// The visible entries of a folder with their `lstat`, and the temporary files in it.
///
/// Names the provider keeps for itself, symbolic links and names that are not valid Unicode
/// are left out.
///
/// `at_root` says `dir` is the device's root, where the state folder lives.
pub(super) fn read_folder(dir: &Path, at_root: bool) -> std::io::Result<Listing> {
    use crate::sys::entries::{self, Kind};
    let mut found = Vec::new();
    let mut stale = Vec::new();
    let mut unlisted = false;
    entries::for_each(dir, |name, kind, stat| {
        if kind == Kind::Symlink {
            return;
        }
        let Some(name) = name else {
            unlisted = true;
            return;
        };
        if is_internal(name) {
            if is_temp(name) {
                stale.push(dir.join(name));
            } else {
                unlisted |= !(at_root && kind == Kind::Dir);
            }
            return;
        }
        let Ok(st) = stat() else {
            return;
        };
        if st.kind == Kind::Symlink {
            return;
        }
        let is_dir = st.kind == Kind::Dir;
        found.push((
            name.to_string(),
            Snap {
                is_dir,
                size: if is_dir { 0 } else { st.size },
                modified: st.modified,
                readonly: st.readonly,
            },
        ));
    })?;
    Ok((found, stale, unlisted))
}

/// Removes temporary files from the state folder: interrupted state writes, and files moved
/// aside on Windows to be deleted (see the `host` module) by a run that ended before they were.
/// Files younger than `min_age_secs` are left alone: they may belong to a write in progress
/// by another handle on the same folder (an open waits a minute; the writer lock's holder,
/// the one writer, waits for nothing).
pub(super) fn remove_stale_temps(state_dir: &Path, min_age_secs: u64) {
    let Ok(rd) = fs::read_dir(state_dir) else {
        return;
    };
    for entry in rd.flatten() {
        if !entry.file_name().to_str().is_some_and(is_temp) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() >= min_age_secs);
        if old {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Sum of apparent file sizes under `dir`, not following symbolic links, leaving out the
/// hidden folders directly in `dir`.
pub(super) fn tree_size(dir: &Path) -> Result<u64> {
    let mut total = 0u64;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        // The hidden folders at the root hold software's own state, which the quota neither
        // limits nor counts (see `Shared::is_unmetered`).
        let at_root = d == dir;
        let rd = match fs::read_dir(&d) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e.into()),
        };
        for entry in rd.flatten() {
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                if at_root
                    && entry
                        .file_name()
                        .to_str()
                        .is_some_and(|n| n.starts_with('.'))
                {
                    continue;
                }
                stack.push(entry.path());
            } else if ft.is_file()
                && let Ok(md) = entry.metadata()
            {
                total = total.saturating_add(md.len());
            }
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    #[test]
    fn only_stale_state_temps_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        let old = dir.path().join(".wmdm-tmp-0000000000000001.part");
        let fresh = dir.path().join(".wmdm-tmp-0000000000000002.part");
        let journal = dir.path().join("journal");
        for p in [&old, &fresh, &journal] {
            fs::write(p, b"x").unwrap();
        }
        for p in [&old, &journal] {
            let f = fs::OpenOptions::new().write(true).open(p).unwrap();
            f.set_modified(hour_ago).unwrap();
        }
        remove_stale_temps(dir.path(), 60);
        assert!(!old.exists());
        assert!(fresh.exists() && journal.exists());
    }
}
