//! Creating a file below a device's root without following a symbolic link anywhere on the
//! way: Linux's `openat2` with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`. The kernel refuses a
//! link in any component (ELOOP) and a path that leaves the root (EXDEV) in the same step as
//! the create, so no look at the folders beforehand (an `lstat`, and the moment between it
//! and the create) is needed to keep a folder swapped for a link from leading outside.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// A device's root folder, held open for creates below it ([`Root::create_new`]).
#[derive(Debug)]
pub(crate) struct Root {
    #[cfg(target_os = "linux")]
    dir: Option<File>,
    /// False once the host refused `openat2` (a kernel before 5.6, a sandbox filtering it).
    supported: AtomicBool,
}

impl Root {
    /// Holds `root` open; on a host without the call, or when the folder cannot be opened, a
    /// root whose creates are all [`None`].
    pub(crate) fn open(root: &Path) -> Root {
        #[cfg(target_os = "linux")]
        {
            let dir = File::open(root).ok();
            Root {
                supported: AtomicBool::new(dir.is_some()),
                dir,
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = root;
            Root {
                supported: AtomicBool::new(false),
            }
        }
    }

    /// Tests: creates go the ordinary way from now on, as on a host that refused the call.
    #[cfg(all(test, unix))]
    pub(crate) fn refuse(&self) {
        self.supported.store(false, Ordering::Release);
    }

    /// True while creates below the root are made by the kernel's checked resolution (the
    /// host has not refused it so far).
    pub(crate) fn supported(&self) -> bool {
        self.supported.load(Ordering::Acquire)
    }

    /// Creates the new file `rel` (relative to the root) for reading and writing, failing if
    /// anything has that name, and refusing a symbolic link in any component (an
    /// [`io::ErrorKind::FilesystemLoop`] or cross-device error): `None` when the host cannot
    /// create that way (then remembered; the caller checks the folders and creates the
    /// ordinary way).
    pub(crate) fn create_new(&self, rel: &Path) -> Option<io::Result<File>> {
        if !self.supported() {
            return None;
        }
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{Mode, OFlags, ResolveFlags, openat2};
            use rustix::io::Errno;
            let dir = self.dir.as_ref()?;
            let flags = OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC;
            let mode = Mode::from_raw_mode(0o666);
            let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS;
            match openat2(dir, rel, flags, mode, resolve) {
                Ok(fd) => Some(Ok(File::from(fd))),
                // No such call, or a kernel that does not know a flag: EINVAL is also what a
                // file system answers for a name it cannot store, so the ordinary create
                // that follows meets that error again if it was one.
                Err(Errno::NOSYS | Errno::INVAL | Errno::PERM | Errno::TOOBIG) => {
                    self.supported.store(false, Ordering::Release);
                    None
                }
                Err(e) => Some(Err(e.into())),
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = rel;
            None
        }
    }
}

/// True when `e`, from [`Root::create_new`], is the kernel refusing a symbolic link on the
/// way or a path out of the root.
pub(crate) fn is_link_refusal(e: &io::Error) -> bool {
    #[cfg(target_os = "linux")]
    {
        use rustix::io::Errno;
        matches!(
            e.raw_os_error().map(Errno::from_raw_os_error),
            Some(Errno::LOOP | Errno::XDEV)
        )
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = e;
        false
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn creates_below_the_root_and_refuses_links_on_the_way() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("F")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("L")).unwrap();
        let root = Root::open(dir.path());
        let Some(made) = root.create_new(Path::new("F/a")) else {
            return; // A host without openat2: nothing more to check here.
        };
        made.unwrap();
        assert!(dir.path().join("F/a").is_file());
        let taken = root.create_new(Path::new("F/a")).unwrap().unwrap_err();
        assert_eq!(taken.kind(), io::ErrorKind::AlreadyExists);
        assert!(is_link_refusal(
            &root.create_new(Path::new("L/b")).unwrap().unwrap_err()
        ));
        assert!(is_link_refusal(
            &root.create_new(Path::new("../x")).unwrap().unwrap_err()
        ));
        assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
        assert!(root.supported());
    }
}
