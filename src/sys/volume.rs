//! Volumes: free space, mount points, and the host's hidden-file attribute, for the folder
//! provider's storage globals and its discovery of devices under a folder.

use std::fs;
use std::path::Path;

/// The file system's (total, available) bytes at `path`; `None` when it cannot say (zero
/// total, or no way to ask on this host).
pub(crate) fn space(path: &Path) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        let st = rustix::fs::statvfs(path).ok()?;
        let unit = if st.f_frsize > 0 {
            st.f_frsize
        } else {
            st.f_bsize
        };
        let total = st.f_blocks.saturating_mul(unit);
        if total == 0 {
            return None;
        }
        Some((total, st.f_bavail.saturating_mul(unit)))
    }
    #[cfg(windows)]
    {
        // GetDiskFreeSpaceExW through fs4: the caller's quota-free bytes and the volume's
        // total.
        let st = fs4::statvfs(path).ok()?;
        if st.total_space() == 0 {
            return None;
        }
        Some((st.total_space(), st.available_space()))
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = path;
        None
    }
}

/// True when `path` is the root of another volume than `parent`'s (a mounted medium).
pub(crate) fn is_mount_point(path: &Path, parent: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (fs::metadata(path), fs::metadata(parent)) {
            (Ok(a), Ok(b)) => a.dev() != b.dev(),
            _ => false,
        }
    }
    #[cfg(windows)]
    {
        // The final path of a volume mount point is the root of the volume it opens
        // (`\\?\E:\` or `\\?\Volume{...}\`); a plain folder's, or a junction's to a folder, has
        // components below a root. A link back to the parent's own volume root is no device.
        match (fs::canonicalize(path), fs::canonicalize(parent)) {
            (Ok(p), Ok(up)) => p.parent().is_none() && p != up,
            _ => false,
        }
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = (path, parent);
        true
    }
}

/// True when the host marks the entry hidden or system (Windows' attributes, such as
/// `System Volume Information` and `$RECYCLE.BIN` carry); false where no such mark exists.
pub(crate) fn is_hidden_or_system(entry: &fs::DirEntry) -> bool {
    #[cfg(windows)]
    {
        use std::os::windows::fs::MetadataExt;
        const HIDDEN: u32 = 0x2;
        const SYSTEM: u32 = 0x4;
        if let Ok(md) = entry.metadata() {
            return md.file_attributes() & (HIDDEN | SYSTEM) != 0;
        }
    }
    let _ = entry;
    false
}
