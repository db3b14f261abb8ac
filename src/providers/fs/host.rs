//! Renaming a file inside the device folder, with the fix some case-insensitive hosts need.
//! Replacing and deleting files (and the Windows rules for files open elsewhere) live in
//! [`crate::sys::files`].

use std::fs;
use std::io;
use std::path::Path;

pub(crate) use crate::sys::files::{remove_file, remove_file_in_tree, replace};

/// Renames (or moves) `from` to `to`, where nothing is in the way.
///
/// A change of case alone is a rename too: some case-insensitive hosts (Wine, some file system
/// drivers on Windows) take the new name for the old file and leave the old spelling, so there
/// the object goes through an intermediate name (checked on every host: the listing that checks
/// costs only case-only renames, and a host that renamed properly skips the second step). That name is not a temporary file's, so an
/// interruption between the two steps leaves the object listed under it rather than removed.
///
/// # Errors
/// The I/O error of the rename.
pub(crate) fn rename(from: &Path, to: &Path) -> io::Result<()> {
    fs::rename(from, to)?;
    if let (Some(dir), Some(old), Some(new)) = (
        to.parent(),
        from.file_name().and_then(|n| n.to_str()),
        to.file_name().and_then(|n| n.to_str()),
    ) {
        let case_only =
            from.parent() == Some(dir) && old != new && old.to_lowercase() == new.to_lowercase();
        if case_only && super::shared::stored_name(dir, new).as_deref() != Some(new) {
            let step = dir.join(format!(
                ".wmdm-case-{:016x}",
                crate::sys::files::random_u64()
            ));
            fs::rename(to, &step)?;
            fs::rename(&step, to)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
