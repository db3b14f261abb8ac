//! Windows: replacing and deleting a file that is still open elsewhere (see the parent
//! module), and clearing the read-only attribute of a file in a folder being deleted.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::temp_name;

/// Moves the file at `path` to a fresh temporary name in `aside`, or failing that (another
/// volume, no state folder) beside itself; the new path, or `None` when it cannot be moved.
fn move_aside(path: &Path, aside: &Path) -> Option<PathBuf> {
    let beside = path.parent()?;
    [aside, beside].into_iter().find_map(|dir| {
        let to = dir.join(temp_name());
        fs::rename(path, &to).ok().map(|()| to)
    })
}

/// The second try of [`replace`](super::replace): move the old file aside, put the new one in
/// its place, then delete the old one (which vanishes once its last handle closes).
pub(super) fn replace_in_use(
    from: &Path,
    to: &Path,
    aside: &Path,
    first: io::Error,
) -> io::Result<()> {
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

/// Deletes `path` by moving it aside first, so its name is free at once even while it is
/// open elsewhere; `None` when it cannot be moved (the caller deletes it in place).
pub(super) fn remove_aside(path: &Path, aside: &Path) -> Option<io::Result<()>> {
    let moved = move_aside(path, aside)?;
    Some(match fs::remove_file(&moved) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = fs::rename(&moved, path);
            Err(e)
        }
    })
}

/// Clears the read-only attribute of `path` after `e` refused its deletion; `e` again when
/// the file was not read-only (something else refused).
pub(super) fn clear_read_only(path: &Path, e: io::Error) -> io::Result<()> {
    let mut perms = fs::symlink_metadata(path)?.permissions();
    if !perms.readonly() {
        return Err(e);
    }
    // On Windows this clears only the read-only attribute; no permission bits exist.
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    fs::set_permissions(path, perms)
}
