//! Renaming a file inside the device folder, with the fix some case-insensitive hosts need.
//! Replacing and deleting files (and the Windows rules for files open elsewhere) live in
//! [`crate::sys::files`].

use std::fs;
use std::io;
use std::path::Path;
use std::sync::atomic::Ordering;

use crate::sys::noreplace::{NoReplace, rename_noreplace};

use super::quirks::{FsIo, FsQuirks};

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

impl FsIo {
    /// Renames the file `from` to `to` in one step that fails if an entry called `to` exists
    /// ([`rename_noreplace`]): true once renamed; false when nothing changed and the caller
    /// must decide the ordinary way, checking the name then renaming with [`FsIo::rename`]:
    /// something is called `to` (maybe the file itself, spelt otherwise on a file system that
    /// ignores case), or the file system does not rename this way (then remembered for the
    /// session), or a quirk of the device, detected or simulated, changes how renames are
    /// made, or the rename failed (the ordinary way meets the same error and learns from it
    /// what it must).
    ///
    /// For files only: folders may need to be moved entry by entry (see `quirks`).
    pub(crate) fn rename_if_free(&self, from: &Path, to: &Path) -> bool {
        let quirky = self.has(FsQuirks::NO_RENAME)
            || self
                .simulated
                .intersects(FsQuirks::NO_RENAME | FsQuirks::NO_FOLDER_RENAME)
            || (self.simulated.contains(FsQuirks::ASCII_NAMES)
                && to.file_name().is_some_and(|n| !n.is_ascii()));
        if quirky || !self.noreplace.load(Ordering::Acquire) {
            return false;
        }
        #[cfg(test)]
        let outcome = if self.refuse_noreplace.load(Ordering::Acquire) {
            Ok(NoReplace::Unsupported)
        } else {
            rename_noreplace(from, to)
        };
        #[cfg(not(test))]
        let outcome = rename_noreplace(from, to);
        match outcome {
            Ok(NoReplace::Renamed) => {
                #[cfg(test)]
                self.noreplace_renames.fetch_add(1, Ordering::Relaxed);
                self.renamed();
                true
            }
            Ok(NoReplace::Taken) => false,
            Ok(NoReplace::Unsupported) => {
                if self.noreplace.swap(false, Ordering::AcqRel) {
                    tracing::debug!(
                        dir = ?to.parent(),
                        "renames that do not replace are refused; checking names first"
                    );
                }
                false
            }
            Err(e) => {
                tracing::debug!(error = %e, "rename without replacing failed");
                false
            }
        }
    }
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
