//! Making a whole file system durable at once: the folder provider's barrier
//! (`Durability::AtFlush`) syncs every file and folder written since the last barrier with one
//! call where the host has one, instead of one flush per file.

use std::io;
use std::path::Path;

/// True where [`sync_filesystem`] syncs a whole file system in one call.
pub(crate) const WHOLE_FILE_SYSTEM: bool = cfg!(target_os = "linux");

/// Syncs the file system holding `path` to its medium (`syncfs(2)` on Linux). `Ok(false)`
/// when the host has no such call, so the caller must sync what it wrote file by file.
///
/// # Errors
/// I/O errors opening `path` or syncing: on Linux, `syncfs` reports a writeback error of the
/// file system since the last call (Linux 5.8 and later).
pub(crate) fn sync_filesystem(path: &Path) -> io::Result<bool> {
    #[cfg(target_os = "linux")]
    {
        let dir = std::fs::File::open(path)?;
        rustix::fs::syncfs(&dir)?;
        Ok(true)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        Ok(false)
    }
}

/// Syncs one file's data and metadata to its medium. Windows flushes a file only through a
/// handle with write access; Unix through any handle, so a file this process may not write
/// is still synced there.
///
/// # Errors
/// I/O errors opening or syncing `path` (`NotFound` when it is gone).
pub(crate) fn sync_file(path: &Path) -> io::Result<()> {
    let file = match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied && cfg!(unix) => {
            std::fs::File::open(path)?
        }
        Err(e) => return Err(e),
    };
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_synced_through_a_handle_that_may_flush_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"data").unwrap();
        sync_file(&path).unwrap();
        assert_eq!(
            sync_file(&dir.path().join("missing")).map_err(|e| e.kind()),
            Err(io::ErrorKind::NotFound)
        );
    }

    #[test]
    fn syncing_a_file_system_needs_an_existing_path() {
        let dir = tempfile::tempdir().unwrap();
        let synced = sync_filesystem(dir.path()).unwrap();
        assert_eq!(synced, cfg!(target_os = "linux"));
        if synced {
            assert!(sync_filesystem(&dir.path().join("missing")).is_err());
        }
    }
}
