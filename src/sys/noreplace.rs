//! Renaming a file only where its new name is free, in one step: Linux's
//! `renameat2(RENAME_NOREPLACE)`. A check that the name is free followed by a rename costs a
//! system call more and leaves a moment in which another file can take the name and be
//! replaced; the flag makes the kernel refuse the rename instead (EEXIST).

use std::io;
use std::path::Path;

/// What [`rename_noreplace`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
// Elsewhere than on Linux every rename is `Unsupported`.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) enum NoReplace {
    /// The file has its new name.
    Renamed,
    /// Something is called the new name (nothing changed). On a file system that ignores
    /// case the entry may be the file itself under another spelling, or another file.
    Taken,
    /// The host or the file system cannot rename this way (no `renameat2`, or a file system
    /// that does not take the flag: FUSE, some older drivers; EINVAL, ENOSYS or EOPNOTSUPP):
    /// nothing changed.
    Unsupported,
}

/// Renames the file `from` to `to` unless an entry called `to` exists.
///
/// # Errors
/// Other I/O errors of the rename (nothing changed).
pub(crate) fn rename_noreplace(from: &Path, to: &Path) -> io::Result<NoReplace> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        use rustix::io::Errno;
        match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
            Ok(()) => Ok(NoReplace::Renamed),
            Err(Errno::EXIST) => Ok(NoReplace::Taken),
            Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => Ok(NoReplace::Unsupported),
            Err(e) => Err(e.into()),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (from, to);
        Ok(NoReplace::Unsupported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn a_taken_name_is_refused_and_a_free_one_taken() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("c"),
        );
        fs::write(&a, b"a").unwrap();
        fs::write(&b, b"b").unwrap();
        match rename_noreplace(&a, &b).unwrap() {
            NoReplace::Unsupported => return,
            got => assert_eq!(got, NoReplace::Taken),
        }
        assert_eq!(fs::read(&a).unwrap(), b"a");
        assert_eq!(fs::read(&b).unwrap(), b"b");
        assert_eq!(rename_noreplace(&a, &c).unwrap(), NoReplace::Renamed);
        assert!(!a.exists());
        assert_eq!(fs::read(&c).unwrap(), b"a");
        // A link in the way is an entry too, even one pointing nowhere.
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("nowhere"), &a).unwrap();
            assert_eq!(rename_noreplace(&c, &a).unwrap(), NoReplace::Taken);
            assert!(c.exists());
        }
        assert!(rename_noreplace(&dir.path().join("missing"), &b).is_err());
    }
}
