//! Listing folders for the folder library's scan, behind one portable interface. On Linux:
//! `getdents64` into a buffer the caller reuses, and `statx` relative to the folder's
//! descriptor (the work `find` does, with no allocation and no path building per entry);
//! elsewhere `std::fs`, whose folder entries carry their metadata on Windows.

use std::time::SystemTime;

/// What a folder entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    Folder,
    Symlink,
    Other,
    /// The listing did not say (some file systems do not): stat the entry.
    Unknown,
}

/// What a scan needs to know about a folder entry.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Meta {
    pub(crate) kind: Kind,
    pub(crate) size: u64,
    /// The modification time to the nanosecond; `None` when `SystemTime` cannot hold it.
    pub(crate) modified: Option<SystemTime>,
    /// True when no one may write it (no write bit at all; the read-only attribute on
    /// Windows).
    pub(crate) readonly: bool,
}

pub(crate) use imp::{Entry, Folder, Lister};

#[cfg(target_os = "linux")]
mod imp {
    use std::ffi::CStr;
    use std::io;
    use std::mem::MaybeUninit;
    use std::os::fd::{AsFd, OwnedFd};
    use std::path::Path;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use rustix::fs::{AtFlags, FileType, Mode, OFlags, RawDir};

    use super::{Kind, Meta};

    /// A folder open for listing.
    #[derive(Debug)]
    pub(crate) struct Folder(OwnedFd);

    /// Opens a folder without moving its access time where the host allows (see
    /// [`crate::sys::files::without_access_time`]).
    fn open_at(at: impl AsFd, path: impl rustix::path::Arg + Copy) -> io::Result<Folder> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
        crate::sys::files::without_access_time(|noatime| {
            let flags = if noatime {
                flags | OFlags::NOATIME
            } else {
                flags
            };
            Ok(Folder(rustix::fs::openat(&at, path, flags, Mode::empty())?))
        })
    }

    impl Folder {
        /// Opens the folder `path`. A symbolic link is not followed: the open fails.
        pub(crate) fn open(path: &Path) -> io::Result<Folder> {
            open_at(rustix::fs::CWD, path)
        }

        /// Opens the folder `rel` (`/`-separated) below this one, or this one again for "".
        /// A symbolic link as the last component is not followed: the open fails.
        pub(crate) fn open_sub(&self, rel: &str) -> io::Result<Folder> {
            if rel.is_empty() {
                open_at(&self.0, c".")
            } else {
                open_at(&self.0, rel)
            }
        }

        /// `statx` of the entry `name`, asking only for type, mode, size and modification time,
        /// following a final symbolic link when `follow`. Kernels older than 4.11 lack
        /// `statx`; there it is `fstatat`.
        fn stat(&self, name: &CStr, follow: bool) -> io::Result<Meta> {
            use rustix::fs::StatxFlags;
            let flags = if follow {
                AtFlags::empty()
            } else {
                AtFlags::SYMLINK_NOFOLLOW
            };
            let want = StatxFlags::TYPE | StatxFlags::MODE | StatxFlags::SIZE | StatxFlags::MTIME;
            match rustix::fs::statx(&self.0, name, flags, want) {
                Ok(x) => Ok(Meta {
                    kind: kind(FileType::from_raw_mode(u32::from(x.stx_mode) as _)),
                    size: x.stx_size,
                    modified: time(x.stx_mtime.tv_sec, u64::from(x.stx_mtime.tv_nsec)),
                    readonly: u32::from(x.stx_mode) & 0o222 == 0,
                }),
                Err(rustix::io::Errno::NOSYS) => {
                    let st = rustix::fs::statat(&self.0, name, flags)?;
                    // The field types differ between architectures.
                    #[allow(clippy::unnecessary_cast)]
                    let (size, secs, nanos, mode) = (
                        st.st_size as i64,
                        st.st_mtime as i64,
                        st.st_mtime_nsec as u64,
                        st.st_mode as u32,
                    );
                    Ok(Meta {
                        kind: kind(FileType::from_raw_mode(st.st_mode)),
                        size: u64::try_from(size).unwrap_or(0),
                        modified: time(secs, nanos),
                        readonly: mode & 0o222 == 0,
                    })
                }
                Err(e) => Err(e.into()),
            }
        }
    }

    fn kind(t: FileType) -> Kind {
        match t {
            FileType::RegularFile => Kind::File,
            FileType::Directory => Kind::Folder,
            FileType::Symlink => Kind::Symlink,
            FileType::Unknown => Kind::Unknown,
            _ => Kind::Other,
        }
    }

    /// One entry of a folder being listed.
    pub(crate) struct Entry<'a> {
        name: &'a CStr,
        kind: Kind,
    }

    impl Entry<'_> {
        /// The name, when it is valid Unicode.
        pub(crate) fn name(&self) -> Option<&str> {
            self.name.to_str().ok()
        }

        /// The name as the file system has it (for a message about a name that is not
        /// Unicode).
        pub(crate) fn raw_name(&self) -> &std::ffi::OsStr {
            use std::os::unix::ffi::OsStrExt;
            std::ffi::OsStr::from_bytes(self.name.to_bytes())
        }

        /// What the listing said the entry is.
        pub(crate) fn kind(&self) -> Kind {
            self.kind
        }

        /// The entry's metadata (of the link's target when `follow`); `folder` is the one
        /// being listed.
        pub(crate) fn stat(&self, folder: &Folder, follow: bool) -> io::Result<Meta> {
            folder.stat(self.name, follow)
        }
    }

    /// Lists folders into one reused buffer.
    #[derive(Debug)]
    pub(crate) struct Lister {
        buf: Vec<u8>,
    }

    impl Lister {
        pub(crate) fn new() -> Lister {
            // Names are at most 255 bytes, so any entry fits many times over; larger buffers
            // mean fewer getdents calls per folder.
            Lister {
                buf: Vec::with_capacity(32 * 1024),
            }
        }

        /// Calls `f` with every entry of `folder` but `.` and `..`. `folder` must be freshly
        /// opened (listing starts at its position).
        ///
        /// # Errors
        /// The I/O error of a failed `getdents64` (the folder was removed, a network file
        /// system failed); entries before it have been passed to `f`.
        pub(crate) fn for_each(
            &mut self,
            folder: &Folder,
            mut f: impl FnMut(&Entry<'_>),
        ) -> io::Result<()> {
            let spare: &mut [MaybeUninit<u8>] = self.buf.spare_capacity_mut();
            let mut entries = RawDir::new(&folder.0, spare);
            while let Some(entry) = entries.next() {
                let entry = entry?;
                let name = entry.file_name();
                if matches!(name.to_bytes(), b"." | b"..") {
                    continue;
                }
                f(&Entry {
                    name,
                    kind: kind(entry.file_type()),
                });
            }
            Ok(())
        }
    }

    /// A time from seconds and nanoseconds around the epoch; `None` when `SystemTime` cannot
    /// hold it.
    pub(super) fn time(secs: i64, nanos: u64) -> Option<SystemTime> {
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
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::fs;
    use std::io;
    use std::path::{Path, PathBuf};

    use super::{Kind, Meta};

    /// A folder to list (its path: `std::fs` lists by path).
    #[derive(Debug)]
    pub(crate) struct Folder(PathBuf);

    impl Folder {
        /// The folder `path`, when it is one. A symbolic link is not followed: this fails.
        pub(crate) fn open(path: &Path) -> io::Result<Folder> {
            if fs::symlink_metadata(path)?.is_dir() {
                Ok(Folder(path.to_path_buf()))
            } else {
                Err(io::Error::new(io::ErrorKind::NotADirectory, "not a folder"))
            }
        }

        /// The folder `rel` (`/`-separated) below this one, or this one for "". A symbolic
        /// link as the last component is not followed: this fails.
        pub(crate) fn open_sub(&self, rel: &str) -> io::Result<Folder> {
            if rel.is_empty() {
                return Ok(Folder(self.0.clone()));
            }
            Folder::open(&self.0.join(rel))
        }
    }

    fn kind(t: fs::FileType) -> Kind {
        if t.is_file() {
            Kind::File
        } else if t.is_dir() {
            Kind::Folder
        } else if t.is_symlink() {
            Kind::Symlink
        } else {
            Kind::Other
        }
    }

    fn meta(m: &fs::Metadata) -> Meta {
        Meta {
            kind: kind(m.file_type()),
            size: m.len(),
            modified: m.modified().ok(),
            readonly: m.permissions().readonly(),
        }
    }

    /// One entry of a folder being listed.
    pub(crate) struct Entry<'a> {
        entry: &'a fs::DirEntry,
        name: std::ffi::OsString,
        kind: Kind,
    }

    impl Entry<'_> {
        /// The name, when it is valid Unicode.
        pub(crate) fn name(&self) -> Option<&str> {
            self.name.to_str()
        }

        /// The name as the file system has it.
        pub(crate) fn raw_name(&self) -> &std::ffi::OsStr {
            &self.name
        }

        /// What the listing said the entry is.
        pub(crate) fn kind(&self) -> Kind {
            self.kind
        }

        /// The entry's metadata (of the link's target when `follow`). Without `follow` it
        /// comes with the listing on Windows.
        pub(crate) fn stat(&self, _folder: &Folder, follow: bool) -> io::Result<Meta> {
            if follow {
                fs::metadata(self.entry.path()).map(|m| meta(&m))
            } else {
                self.entry.metadata().map(|m| meta(&m))
            }
        }
    }

    /// Lists folders.
    #[derive(Debug)]
    pub(crate) struct Lister;

    impl Lister {
        pub(crate) fn new() -> Lister {
            Lister
        }

        /// Calls `f` with every entry of `folder`.
        ///
        /// # Errors
        /// The I/O error of a failed listing; entries before it have been passed to `f`.
        pub(crate) fn for_each(
            &mut self,
            folder: &Folder,
            mut f: impl FnMut(&Entry<'_>),
        ) -> io::Result<()> {
            for entry in fs::read_dir(&folder.0)? {
                let entry = entry?;
                let kind = entry.file_type().map_or(Kind::Unknown, kind);
                f(&Entry {
                    name: entry.file_name(),
                    entry: &entry,
                    kind,
                });
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn lists_names_and_kinds_and_stats_them() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.mp3"), b"12345").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        // Links only where the host makes them for anyone (Windows may refuse an unprivileged
        // user, and Wine reports success without listing one).
        #[cfg(unix)]
        let links = {
            std::os::unix::fs::symlink("a.mp3", dir.path().join("link")).unwrap();
            true
        };
        #[cfg(not(unix))]
        let links = false;
        let folder = Folder::open(dir.path()).unwrap();
        let mut seen = BTreeMap::new();
        let mut stats = BTreeMap::new();
        Lister::new()
            .for_each(&folder, |e| {
                let name = e.name().unwrap().to_owned();
                stats.insert(
                    name.clone(),
                    (
                        e.stat(&folder, false).unwrap(),
                        e.stat(&folder, true).unwrap(),
                    ),
                );
                seen.insert(name, e.kind());
            })
            .unwrap();
        let mut names: Vec<&str> = vec!["a.mp3", "sub"];
        if links {
            names.insert(1, "link");
        }
        assert_eq!(seen.keys().map(String::as_str).collect::<Vec<_>>(), names);
        let (st, _) = stats["a.mp3"];
        assert_eq!((st.kind, st.size), (Kind::File, 5));
        let std_meta = std::fs::metadata(dir.path().join("a.mp3")).unwrap();
        assert_eq!(st.modified, Some(std_meta.modified().unwrap()));
        assert_eq!(stats["sub"].0.kind, Kind::Folder);
        if links {
            assert_eq!(stats["link"].0.kind, Kind::Symlink);
            assert_eq!(stats["link"].1.kind, Kind::File);
            assert!(folder.open_sub("link").is_err());
        }
        assert!(folder.open_sub("sub").is_ok());
        assert!(folder.open_sub("missing").is_err());
        assert!(Folder::open(&dir.path().join("a.mp3")).is_err());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn times_around_the_epoch() {
        use imp::time;
        use std::time::{Duration, UNIX_EPOCH};
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
        let folder = Folder::open(dir.path()).unwrap();
        let mut n = 0;
        Lister::new().for_each(&folder, |_| n += 1).unwrap();
        assert_eq!(n, 600);
    }
}
