//! Listing folders fast on Linux, shared by the folder library's scan and the fs provider:
//! `getdents64` into a buffer the caller reuses, and `statx` relative to the folder's
//! descriptor: the work `find` does, with no allocation and no path building per entry.

use std::ffi::CStr;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, RawDir};

/// Opens the folder `path` (relative to `at`, or absolute) for listing. A symbolic link is not
/// followed: the open fails.
pub(crate) fn open_folder(at: impl AsFd, path: impl rustix::path::Arg) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
    Ok(rustix::fs::openat(at, path, flags, Mode::empty())?)
}

/// Lists folders into one reused buffer.
#[derive(Debug)]
pub(crate) struct Lister {
    buf: Vec<u8>,
}

impl Lister {
    pub(crate) fn new() -> Lister {
        // Names are at most 255 bytes, so any entry fits many times over; larger buffers mean
        // fewer getdents calls per folder.
        Lister {
            buf: Vec::with_capacity(32 * 1024),
        }
    }

    /// Calls `f` with the name and type of every entry of the folder open as `dir` but `.` and
    /// `..`. The type is [`FileType::Unknown`] on file systems that do not report it; callers
    /// then stat the entry. `dir` must be freshly opened (listing starts at its position).
    ///
    /// # Errors
    /// The I/O error of a failed `getdents64` (the folder was removed, a network file system
    /// failed); entries before it have been passed to `f`.
    pub(crate) fn for_each(
        &mut self,
        dir: &OwnedFd,
        mut f: impl FnMut(&CStr, FileType),
    ) -> io::Result<()> {
        let spare: &mut [MaybeUninit<u8>] = self.buf.spare_capacity_mut();
        let mut entries = RawDir::new(dir, spare);
        while let Some(entry) = entries.next() {
            let entry = entry?;
            let name = entry.file_name();
            if matches!(name.to_bytes(), b"." | b"..") {
                continue;
            }
            f(name, entry.file_type());
        }
        Ok(())
    }
}

/// What a scan needs to know about a folder entry.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Meta {
    pub(crate) kind: FileType,
    pub(crate) size: u64,
    /// The modification time to the nanosecond; `None` when `SystemTime` cannot hold it.
    pub(crate) modified: Option<SystemTime>,
    /// The permission bits.
    pub(crate) mode: u32,
}

/// `statx` of `name` in the folder `dir`, asking only for type, mode, size and modification
/// time, and following a final symbolic link when `follow`. Kernels older than 4.11 lack
/// `statx`; there it is `fstatat`.
pub(crate) fn stat_at(dir: &OwnedFd, name: &CStr, follow: bool) -> io::Result<Meta> {
    use rustix::fs::StatxFlags;
    let flags = if follow {
        AtFlags::empty()
    } else {
        AtFlags::SYMLINK_NOFOLLOW
    };
    let want = StatxFlags::TYPE | StatxFlags::MODE | StatxFlags::SIZE | StatxFlags::MTIME;
    match rustix::fs::statx(dir, name, flags, want) {
        Ok(x) => {
            let mode = u32::from(x.stx_mode);
            Ok(Meta {
                kind: FileType::from_raw_mode(mode as _),
                size: x.stx_size,
                modified: time(x.stx_mtime.tv_sec, u64::from(x.stx_mtime.tv_nsec)),
                mode,
            })
        }
        Err(rustix::io::Errno::NOSYS) => {
            let st = rustix::fs::statat(dir, name, flags)?;
            // The field types differ between architectures.
            #[allow(clippy::unnecessary_cast)]
            let (size, secs, nanos, mode) = (
                st.st_size as i64,
                st.st_mtime as i64,
                st.st_mtime_nsec as u64,
                st.st_mode as u32,
            );
            Ok(Meta {
                kind: FileType::from_raw_mode(st.st_mode),
                size: u64::try_from(size).unwrap_or(0),
                modified: time(secs, nanos),
                mode,
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// A time from seconds and nanoseconds around the epoch; `None` when `SystemTime` cannot
/// hold it.
fn time(secs: i64, nanos: u64) -> Option<SystemTime> {
    let nanos = u32::try_from(nanos.min(999_999_999)).unwrap_or(0);
    if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::new(secs.unsigned_abs(), nanos))
    } else {
        // Before the epoch the nanoseconds count forwards from the earlier whole second.
        UNIX_EPOCH
            .checked_sub(Duration::new(secs.unsigned_abs(), 0))
            .and_then(|t| t.checked_add(Duration::new(0, nanos)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn lists_names_and_types_and_stats_them() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.mp3"), b"12345").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::os::unix::fs::symlink("a.mp3", dir.path().join("link")).unwrap();
        let fd = open_folder(rustix::fs::CWD, dir.path()).unwrap();
        let mut seen = BTreeMap::new();
        Lister::new()
            .for_each(&fd, |name, kind| {
                seen.insert(name.to_str().unwrap().to_owned(), kind);
            })
            .unwrap();
        let names: Vec<&str> = seen.keys().map(String::as_str).collect();
        assert_eq!(names, ["a.mp3", "link", "sub"]);
        let st = stat_at(&fd, c"a.mp3", false).unwrap();
        assert_eq!((st.kind, st.size), (FileType::RegularFile, 5));
        let std_meta = std::fs::metadata(dir.path().join("a.mp3")).unwrap();
        assert_eq!(st.modified, Some(std_meta.modified().unwrap()));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(st.mode & 0o7777, std_meta.permissions().mode() & 0o7777);
        assert_eq!(
            stat_at(&fd, c"link", false).unwrap().kind,
            FileType::Symlink
        );
        assert_eq!(
            stat_at(&fd, c"link", true).unwrap().kind,
            FileType::RegularFile
        );
        assert!(stat_at(&fd, c"missing", false).is_err());
        assert!(open_folder(&fd, c"link").is_err());
        assert!(open_folder(&fd, c"sub").is_ok());
    }

    #[test]
    fn times_around_the_epoch() {
        assert_eq!(time(0, 0), Some(UNIX_EPOCH));
        assert_eq!(
            time(-1, 500_000_000),
            UNIX_EPOCH.checked_sub(Duration::from_millis(500))
        );
        assert_eq!(
            time(5, 2_000_000_000),
            UNIX_EPOCH.checked_add(Duration::new(5, 999_999_999))
        );
    }

    #[test]
    fn a_large_folder_is_listed_whole() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..600 {
            std::fs::write(dir.path().join(format!("{i:0>200}")), b"").unwrap();
        }
        let fd = open_folder(rustix::fs::CWD, dir.path()).unwrap();
        let mut n = 0;
        Lister::new().for_each(&fd, |_, _| n += 1).unwrap();
        assert_eq!(n, 600);
    }
}
