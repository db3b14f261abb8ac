//! File operations whose plain `std::fs` form behaves differently on Windows, wrapped so the
//! provider gets the same results on every host.
//!
//! On Windows a file that some handle still has open (a read session, a media player, a virus
//! scanner) keeps its name until the last handle closes: renaming another file over it fails
//! with an access error, and deleting it only marks it for deletion, so the name stays taken
//! and the entry stays listed. Volumes with POSIX rename and delete semantics (recent NTFS)
//! hide this, but FAT and exFAT, the file systems of most players and memory cards, do not.
//! Renaming an open file is allowed, though, as long as every handle shares delete access
//! (the standard library opens files that way), so the file in the way is first moved aside to
//! a temporary name, which listings never show, and deleted there: it vanishes when its last
//! handle closes. The aside folder is the device's state folder where possible, so that a
//! folder whose files are still open elsewhere can be emptied and removed at once.

use std::fs;
use std::io;
use std::path::Path;

#[cfg(windows)]
use super::io::temp_name;

/// Renames `from` to `to`, replacing the file at `to` if there is one; on Windows a file in
/// the way that is still open elsewhere goes to `aside` (a folder on the same volume) first.
///
/// # Errors
/// The I/O error of the rename; on Windows a file in the way that cannot be moved aside (one
/// opened without shared delete access, or a read-only one) gives the original access error.
pub(crate) fn replace(from: &Path, to: &Path, aside: &Path) -> io::Result<()> {
    match fs::rename(from, to) {
        Ok(()) => Ok(()),
        #[cfg(windows)]
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => replace_in_use(from, to, aside, e),
        Err(e) => {
            let _ = aside;
            Err(e)
        }
    }
}

/// Moves the file at `path` to a fresh temporary name in `aside`, or failing that (another
/// volume, no state folder) beside itself; the new path, or `None` when it cannot be moved.
#[cfg(windows)]
fn move_aside(path: &Path, aside: &Path) -> Option<std::path::PathBuf> {
    let beside = path.parent()?;
    [aside, beside].into_iter().find_map(|dir| {
        let to = dir.join(temp_name());
        fs::rename(path, &to).ok().map(|()| to)
    })
}

/// The second try of [`replace`] on Windows: move the old file aside, put the new one in its
/// place, then delete the old one (which vanishes once its last handle closes).
#[cfg(windows)]
fn replace_in_use(from: &Path, to: &Path, aside: &Path, first: io::Error) -> io::Result<()> {
    match fs::symlink_metadata(to) {
        // A read-only file refuses replacement on Windows, and that is a refusal to keep.
        Ok(md) if md.is_file() && !md.permissions().readonly() => {}
        _ => return Err(first),
    }
    let Some(old) = move_aside(to, aside) else {
        return Err(first);
    };
    if let Err(e) = fs::rename(from, to) {
        // Put the old data back where it was rather than leave the object missing.
        let _ = fs::rename(&old, to);
        return Err(e);
    }
    if let Err(e) = fs::remove_file(&old) {
        tracing::debug!(?old, ?e, "replaced file left for the next clean-up");
    }
    Ok(())
}

/// Renames (or moves) `from` to `to`, where nothing is in the way.
///
/// A change of case alone is a rename too: some case-insensitive hosts (Wine, some file system
/// drivers on Windows) take the new name for the old file and leave the old spelling, so there
/// the object goes through an intermediate name. That name is not a temporary file's, so an
/// interruption between the two steps leaves the object listed under it rather than removed.
///
/// # Errors
/// The I/O error of the rename.
pub(crate) fn rename(from: &Path, to: &Path) -> io::Result<()> {
    fs::rename(from, to)?;
    #[cfg(windows)]
    if let (Some(dir), Some(old), Some(new)) = (
        to.parent(),
        from.file_name().and_then(|n| n.to_str()),
        to.file_name().and_then(|n| n.to_str()),
    ) {
        let case_only =
            from.parent() == Some(dir) && old != new && old.to_lowercase() == new.to_lowercase();
        if case_only && super::shared::stored_name(dir, new).as_deref() != Some(new) {
            let step = dir.join(format!(".wmdm-case-{:016x}", super::identity::random_u64()));
            fs::rename(to, &step)?;
            fs::rename(&step, to)?;
        }
    }
    Ok(())
}

/// Deletes the file at `path`, freeing its name at once; on Windows a file still open
/// elsewhere is moved to `aside` (a folder on the same volume) and deleted there.
///
/// # Errors
/// The I/O error of the delete; on Windows the file is left under its own name when it cannot
/// be deleted (read-only, or opened without shared delete access).
pub(crate) fn remove_file(path: &Path, aside: &Path) -> io::Result<()> {
    #[cfg(windows)]
    {
        // Deleting a file that is still open elsewhere would otherwise leave it listed, its
        // name taken and its folder not empty, until that handle closes.
        if let Some(moved) = move_aside(path, aside) {
            return match fs::remove_file(&moved) {
                Ok(()) => Ok(()),
                Err(e) => {
                    let _ = fs::rename(&moved, path);
                    Err(e)
                }
            };
        }
    }
    let _ = aside;
    fs::remove_file(path)
}

/// Deletes a file inside a folder that is being deleted as a whole. On Unix only the folder's
/// permissions decide that; on Windows the file's read-only attribute would refuse it, so it is
/// cleared, and the folder deletion means the same on both.
///
/// # Errors
/// As [`remove_file`], and I/O errors clearing the attribute.
pub(crate) fn remove_file_in_tree(path: &Path, aside: &Path) -> io::Result<()> {
    match remove_file(path, aside) {
        #[cfg(windows)]
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            let mut perms = fs::symlink_metadata(path)?.permissions();
            if !perms.readonly() {
                return Err(e);
            }
            // On Windows this clears only the read-only attribute; no permission bits exist.
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            fs::set_permissions(path, perms)?;
            remove_file(path, aside)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn replace_and_remove_work_with_a_reader_open() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("song.mp3");
        let new = dir.path().join("new.part");
        fs::write(&target, b"old").unwrap();
        fs::write(&new, b"new").unwrap();
        let mut reader = fs::File::open(&target).unwrap();
        replace(&new, &target, dir.path()).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        // The open handle still reads the data it opened.
        let mut held = Vec::new();
        reader.read_to_end(&mut held).unwrap();
        assert_eq!(held, b"old");
        let _second = fs::File::open(&target).unwrap();
        remove_file(&target, dir.path()).unwrap();
        assert!(!target.exists());
        fs::write(&target, b"again").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"again");
        // A folder whose file is open elsewhere can still be emptied and removed.
        let sub = dir.path().join("sub");
        fs::create_dir(&sub).unwrap();
        fs::write(sub.join("held"), b"held").unwrap();
        let _third = fs::File::open(sub.join("held")).unwrap();
        remove_file(&sub.join("held"), dir.path()).unwrap();
        fs::remove_dir(&sub).unwrap();
    }

    #[test]
    fn rename_changes_case() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("Song.mp3"), b"x").unwrap();
        rename(&dir.path().join("Song.mp3"), &dir.path().join("SONG.mp3")).unwrap();
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["SONG.mp3"]);
    }

    #[test]
    fn replace_without_a_source_fails() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("kept");
        fs::write(&target, b"kept").unwrap();
        assert!(replace(&dir.path().join("missing"), &target, dir.path()).is_err());
        assert_eq!(fs::read(&target).unwrap(), b"kept");
        assert!(remove_file(&dir.path().join("missing"), dir.path()).is_err());
    }
}
