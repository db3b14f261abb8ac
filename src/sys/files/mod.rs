//! Writing, replacing and deleting host files the same way on every host: the one home of the
//! atomic write (a synced temporary file renamed into place) that the folder provider, the
//! library cache and the partnership table share.
//!
//! On Windows a file that some handle still has open (a read session, a media player, a virus
//! scanner) keeps its name until the last handle closes: renaming another file over it fails
//! with an access error, and deleting it only marks it for deletion, so the name stays taken
//! and the entry stays listed. Volumes with POSIX rename and delete semantics (recent NTFS)
//! hide this, but FAT and exFAT, the file systems of most players and memory cards, do not.
//! Renaming an open file is allowed, though, as long as every handle shares delete access
//! (the standard library opens files that way), so the file in the way is first moved aside to
//! a temporary name, which listings never show, and deleted there: it vanishes when its last
//! handle closes (`windows.rs`). Elsewhere the plain `std::fs` calls already behave so.

use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(windows)]
mod windows;

/// The prefix of every temporary name this crate makes beside a file; listings of a device
/// folder never show such names (with [`TEMP_SUFFIX`]).
pub(crate) const TEMP_PREFIX: &str = ".wmdm-tmp-";

/// The suffix of every temporary name, with [`TEMP_PREFIX`].
pub(crate) const TEMP_SUFFIX: &str = ".part";

/// Opens a library file to read it without changing it: where the host allows (Linux's
/// `O_NOATIME`, for the file's owner or a privileged process), not even its access time, so
/// that a scan or a copy of the library leaves every inode as it was (and costs no inode
/// write per file on the first read after a copy of the library). Where the host refuses the
/// flag (a file of another owner: `EPERM`), the file is opened plainly (see
/// [`without_access_time`]).
///
/// # Errors
/// The I/O error of the open.
pub(crate) fn open_unchanged(path: &Path) -> io::Result<fs::File> {
    without_access_time(|noatime| {
        #[cfg(target_os = "linux")]
        if noatime {
            use std::os::unix::fs::OpenOptionsExt;
            let flag = rustix::fs::OFlags::NOATIME.bits();
            return fs::OpenOptions::new()
                .read(true)
                .custom_flags(i32::try_from(flag).unwrap_or(0))
                .open(path);
        }
        let _ = noatime;
        fs::File::open(path)
    })
}

/// The one home of opening something to read it without moving its access time: calls
/// `open(true)`, which should ask the host for that (`O_NOATIME` on Linux), and where the
/// host refuses the request (`EPERM`: only an inode's owner or a privileged process may make
/// it) calls `open(false)`, a plain open, and this process stops asking. Elsewhere than Linux
/// `open(false)` is the only call.
///
/// Besides leaving a library as it was, this spares the host an inode write per folder or
/// file read: a folder whose entries changed since it was last listed (every device folder
/// after a sync) gets its access time written on its next listing under `relatime`: 843
/// inode writes, and a larger journal commit, in the first resync after a first sync of
/// 10,000 demo tracks, which ran some 15 ms longer than the next for it.
///
/// # Errors
/// The I/O error of the open.
pub(crate) fn without_access_time<T>(mut open: impl FnMut(bool) -> io::Result<T>) -> io::Result<T> {
    #[cfg(target_os = "linux")]
    {
        use std::sync::atomic::AtomicBool;
        static REFUSED: AtomicBool = AtomicBool::new(false);
        if !REFUSED.load(Ordering::Relaxed) {
            match open(true) {
                Err(e) if e.raw_os_error() == Some(rustix::io::Errno::PERM.raw_os_error()) => {
                    REFUSED.store(true, Ordering::Relaxed);
                }
                opened => return opened,
            }
        }
    }
    open(false)
}

/// A number no other call of this process, or of another process started at the same time,
/// gets: for temporary names and fresh identities (not a secret).
pub(crate) fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.write_u128(nanos);
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    // The process ID separates processes started in the same nanosecond; it never changes,
    // so it is asked for once (a copied file's temporary name used to cost a getpid each).
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    h.write_u32(*PID.get_or_init(std::process::id));
    h.finish()
}

/// A fresh temporary file name: [`TEMP_PREFIX`], 16 hex digits, [`TEMP_SUFFIX`].
pub(crate) fn temp_name() -> String {
    format!("{TEMP_PREFIX}{:016x}{TEMP_SUFFIX}", random_u64())
}

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
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            windows::replace_in_use(from, to, aside, e)
        }
        Err(e) => {
            let _ = aside;
            Err(e)
        }
    }
}

/// Deletes the file at `path`, freeing its name at once; on Windows a file still open
/// elsewhere is moved to `aside` (a folder on the same volume) and deleted there.
///
/// # Errors
/// The I/O error of the delete; on Windows the file is left under its own name when it cannot
/// be deleted (read-only, or opened without shared delete access).
pub(crate) fn remove_file(path: &Path, aside: &Path) -> io::Result<()> {
    #[cfg(windows)]
    if let Some(done) = windows::remove_aside(path, aside) {
        return done;
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
            windows::clear_read_only(path, e)?;
            remove_file(path, aside)
        }
        other => other,
    }
}

/// Syncs a folder so a rename inside it survives a power cut (a no-op where folders cannot be
/// opened, as on Windows).
pub(crate) fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(f) = fs::File::open(dir) {
        let _ = f.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// The folder `path` is in (`.` for a bare name).
fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Reads exactly `len` bytes from `src` into a buffer of that size (one read where the source
/// allows: a small file read whole). A source that ends sooner fails with `short`; other
/// failures are the read's.
///
/// # Errors
/// `short` for a source shorter than `len`; the read's I/O error.
pub(crate) fn read_exactly(
    src: &mut (impl io::Read + ?Sized),
    len: usize,
    short: crate::Error,
) -> crate::Result<Vec<u8>> {
    let mut bytes = vec![0; len];
    src.read_exact(&mut bytes).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            short
        } else {
            crate::Error::from(e)
        }
    })?;
    Ok(bytes)
}

/// Writes `path` whole: `fill` writes a temporary file beside it, which is synced, then put in
/// place by `publish(temp, path)`; the temporary file is removed when anything fails (`fill`
/// included, a cancelled copy say). A reader sees the old file or the new one, never half of
/// one. The one implementation of the atomic host write; the functions below choose `fill`
/// and `publish`.
///
/// # Errors
/// `fill`'s errors; I/O errors creating or syncing the temporary file, and `publish`'s.
pub(crate) fn write_via<T, E: From<io::Error>>(
    path: &Path,
    fill: impl FnOnce(&mut fs::File) -> Result<T, E>,
    publish: impl FnOnce(&Path, &Path) -> io::Result<()>,
) -> Result<T, E> {
    let tmp: PathBuf = folder_of(path).join(temp_name());
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        let out = fill(&mut f)?;
        f.sync_all()?;
        drop(f);
        publish(&tmp, path)?;
        Ok(out)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// [`write_via`] with `bytes` for the content.
///
/// # Errors
/// As [`write_via`].
pub(crate) fn write_whole_with(
    path: &Path,
    bytes: &[u8],
    publish: impl FnOnce(&Path, &Path) -> io::Result<()>,
) -> io::Result<()> {
    write_via(path, |f| f.write_all(bytes), publish)
}

/// [`write_via`], publishing with [`replace`] (a file in the way that is open elsewhere is
/// handled on Windows too): for a host file whose content is streamed, such as an object
/// read from a device.
///
/// # Errors
/// As [`write_via`].
pub(crate) fn write_streamed<T, E: From<io::Error>>(
    path: &Path,
    fill: impl FnOnce(&mut fs::File) -> Result<T, E>,
) -> Result<T, E> {
    let dir = folder_of(path);
    write_via(path, fill, |tmp, to| replace(tmp, to, dir))
}

/// Writes a host file atomically: its folder made when missing, then [`write_whole_with`]
/// and [`replace`] (a file in the way that is open elsewhere is handled on Windows too), then
/// the folder synced so the rename survives a power cut.
///
/// # Errors
/// I/O errors; nothing is left behind on failure.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = folder_of(path);
    fs::create_dir_all(dir)?;
    write_streamed(path, |f| f.write_all(bytes))?;
    sync_dir(dir);
    Ok(())
}

/// [`write_atomic`] without the folder's sync: after a power cut the file holds the new bytes
/// or the old ones, each whole (the new bytes are synced before the rename), but the change
/// itself may be lost. For records whose loss costs nothing more than the update: the
/// partnership table when only a session's counters changed (a no-op resync writes nothing
/// else, and the folder's sync is most of what the write costs).
///
/// # Errors
/// As [`write_atomic`].
pub(crate) fn write_atomic_unflushed_rename(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = folder_of(path);
    fs::create_dir_all(dir)?;
    write_streamed(path, |f| f.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn an_atomic_write_replaces_whole_and_makes_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state").join("table");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(names(&dir.path().join("state")), ["table"]);
    }

    /// The access time of `path`, after setting it to `at` seconds since the epoch when given.
    #[cfg(target_os = "linux")]
    fn atime(path: &Path, at: Option<i64>) -> i64 {
        use rustix::fs::{AtFlags, CWD, Timespec, Timestamps, UTIME_OMIT, utimensat};
        if let Some(at) = at {
            let times = Timestamps {
                last_access: Timespec {
                    tv_sec: at,
                    tv_nsec: 0,
                },
                last_modification: Timespec {
                    tv_sec: 0,
                    tv_nsec: UTIME_OMIT,
                },
            };
            utimensat(CWD, path, &times, AtFlags::empty()).unwrap();
        }
        rustix::fs::stat(path).unwrap().st_atime
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reading_a_library_file_leaves_its_access_time_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("track.mp3");
        fs::write(&path, b"bytes").unwrap();
        // The control: a plain read of a file last read long ago moves its access time,
        // unless the folder is mounted without access times (then there is nothing to see).
        atime(&path, Some(1_000));
        io::Read::read_to_end(&mut fs::File::open(&path).unwrap(), &mut Vec::new()).unwrap();
        if atime(&path, None) == 1_000 {
            return;
        }
        atime(&path, Some(1_000));
        let mut bytes = Vec::new();
        io::Read::read_to_end(&mut open_unchanged(&path).unwrap(), &mut bytes).unwrap();
        assert_eq!(bytes, b"bytes");
        assert_eq!(atime(&path, None), 1_000);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn listing_a_folder_leaves_its_access_time_alone() {
        use crate::sys::listing::{Folder, Lister};
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("Album");
        fs::create_dir(&folder).unwrap();
        fs::write(folder.join("track.mp3"), b"bytes").unwrap();
        // The control, as for a file: a plain listing moves an old access time.
        atime(&folder, Some(1_000));
        assert_eq!(fs::read_dir(&folder).unwrap().count(), 1);
        if atime(&folder, None) == 1_000 {
            return;
        }
        atime(&folder, Some(1_000));
        let mut names = Vec::new();
        let opened = Folder::open(&folder).unwrap();
        Lister::new()
            .for_each(&opened, |e| names.push(e.name().unwrap().to_owned()))
            .unwrap();
        let sub = Folder::open(dir.path()).unwrap().open_sub("Album").unwrap();
        Lister::new().for_each(&sub, |_| {}).unwrap();
        assert_eq!(names, ["track.mp3"]);
        assert_eq!(atime(&folder, None), 1_000);
    }

    #[test]
    fn a_write_without_the_folders_sync_still_replaces_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state").join("table");
        write_atomic(&path, b"one").unwrap();
        write_atomic_unflushed_rename(&path, b"two, longer").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two, longer");
        assert_eq!(names(&dir.path().join("state")), ["table"]);
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("table");
        fs::write(&path, b"old").unwrap();
        let failed = write_whole_with(&path, b"new", |_, _| Err(io::Error::other("refused")));
        assert!(failed.is_err());
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(
            names(dir.path()),
            ["table"],
            "the temporary file is removed"
        );
    }

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
        write_atomic(&target, b"newer").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"newer");
        let _third = fs::File::open(&target).unwrap();
        remove_file(&target, dir.path()).unwrap();
        assert!(!target.exists());
        fs::write(&target, b"again").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"again");
        // A folder whose file is open elsewhere can still be emptied and removed.
        let sub = dir.path().join("sub");
        fs::create_dir(&sub).unwrap();
        fs::write(sub.join("held"), b"held").unwrap();
        let _fourth = fs::File::open(sub.join("held")).unwrap();
        remove_file(&sub.join("held"), dir.path()).unwrap();
        fs::remove_dir(&sub).unwrap();
    }

    #[test]
    fn replace_without_a_source_fails_and_keeps_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("kept");
        fs::write(&target, b"kept").unwrap();
        assert!(replace(&dir.path().join("missing"), &target, dir.path()).is_err());
        assert_eq!(fs::read(&target).unwrap(), b"kept");
    }
}
