//! The folder device's writer lock (a crate extension, see
//! [`Device::lock_writer`](crate::provider::Device::lock_writer)): `.wmdm/lock`.
//!
//! The lock is an OS lock on that file (`flock` on Unix, `LockFileEx` on Windows, through the
//! standard library), so the kernel releases it when its holder ends, however it ends
//! (`kill -9`, a crash): a lock is never left behind by a dead process on this host, and no
//! clock decides staleness. The file also holds the holder's record ([`LockHolder::encode`])
//! while the lock is held, so a refused writer can name it; the record is emptied on release,
//! and is only ever information, never the lock itself. (Windows' lock also keeps other
//! processes from reading the file, so there a refused writer learns that the device is busy
//! but not who holds it.)
//!
//! Where the host or file system has no advisory locks (some network and FUSE file systems,
//! hosts without `flock`), the record decides alone: a record names a live holder unless it
//! is this host's and its process is known to be gone. Two writers starting at the same
//! instant can then both get in; and a record of a holder that died on another host stays
//! until the user removes `.wmdm/lock` (the busy message names the holder and the file).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::scan::remove_stale_temps;
use crate::error::{Error, Result};
use crate::provider::{LockHolder, WriterLock};
use crate::sys::process::{TryLock, try_lock, unlock};

use super::shared::Shared;

/// The lock file's name in the device's state folder.
pub(crate) const LOCK_FILE: &str = "lock";

/// Holds the lock file open (and locked); on drop empties the record and unlocks.
struct Held {
    file: File,
    /// The device's count of writer locks held by this process (`FsIo::writers`).
    writers: Arc<AtomicUsize>,
}

impl Drop for Held {
    fn drop(&mut self) {
        // Appends stop keeping their handle before another process may write.
        self.writers.fetch_sub(1, Ordering::AcqRel);
        // The record first, while the lock still keeps other writers out.
        let _ = self.file.set_len(0);
        unlock(&self.file);
    }
}

fn lock_path(shared: &Shared) -> PathBuf {
    shared.state_dir().join(LOCK_FILE)
}

/// The record in `file`, read from its start; `None` when empty or damaged.
fn read_record(mut file: &File) -> Option<LockHolder> {
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    // A record is a few lines: a longer file is not one of ours, and is not read whole.
    file.take(4096).read_to_end(&mut bytes).ok()?;
    LockHolder::parse(&bytes)
}

/// A holder whose record cannot be read (it is being written, or was damaged).
fn unknown_holder() -> LockHolder {
    LockHolder {
        host: String::new(),
        pid: 0,
        program: String::new(),
        since: 0,
        session: String::new(),
    }
}

/// Takes the writer lock of the folder device for `holder`.
///
/// # Errors
/// [`Error::Busy`] while another holder has it; [`Error::WriteProtected`] when the device
/// cannot keep state (a read-only medium or open); [`Error::DeviceNotConnected`]; I/O errors.
pub(crate) fn lock_writer(shared: &Shared, holder: &LockHolder) -> Result<WriterLock> {
    shared.check()?;
    if !shared.writable_state {
        return Err(Error::WriteProtected);
    }
    let path = lock_path(shared);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)?;
    match try_lock(&file, false)? {
        TryLock::Locked => {}
        TryLock::Held => return Err(Error::Busy),
        TryLock::Unsupported => {
            if let Some(h) = read_record(&file) {
                if !h.is_dead_here() {
                    return Err(Error::Busy);
                }
                tracing::warn!(holder = %h, "taking over the writer lock of a dead process");
            }
        }
    }
    // The record is information for a refused writer: the lock holds without it. It is not
    // synced: the lock does not outlive a power cut either.
    let write = |file: &mut File| -> std::io::Result<()> {
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&holder.encode())
    };
    if let Err(e) = write(&mut file) {
        tracing::warn!(error = %e, ?path, "could not write the writer lock's record");
    }
    // The only writer now: a temporary file in the state folder is what an earlier writer
    // left when it died, whatever its age (an open without the lock waits a minute).
    if let Some(state_dir) = path.parent() {
        remove_stale_temps(state_dir, 0);
        remove_stale_temps(&state_dir.join("meta"), 0);
    }
    let writers = shared.io.writers.clone();
    writers.fetch_add(1, Ordering::AcqRel);
    Ok(WriterLock::new(holder.clone(), Held { file, writers }))
}

/// Who holds the folder device's writer lock now.
///
/// # Errors
/// [`Error::DeviceNotConnected`]; I/O errors other than a missing lock file.
pub(crate) fn writer_holder(shared: &Shared) -> Result<Option<LockHolder>> {
    shared.check()?;
    let file = match File::open(lock_path(shared)) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    match try_lock(&file, true)? {
        TryLock::Locked => {
            unlock(&file);
            Ok(None)
        }
        TryLock::Held => Ok(Some(read_record(&file).unwrap_or_else(unknown_holder))),
        TryLock::Unsupported => Ok(read_record(&file).filter(|h| !h.is_dead_here())),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use crate::provider::{CreateRequest, Device, LockHolder, Storage};
    use crate::providers::fs::{DeviceOptions, FsDevice};

    /// The ID log keeps one append handle for as long as the writer lock is held, and opens
    /// the log for each save again once the lock is released.
    #[test]
    fn the_id_log_stays_open_only_under_the_writer_lock() {
        let dir = tempfile::tempdir().unwrap();
        let d = FsDevice::open(dir.path(), DeviceOptions::default()).unwrap();
        let io = &d.shared.io;
        let opens = || io.append_opens.load(Ordering::Relaxed);
        let lock = d.lock_writer(&LockHolder::this_process()).unwrap();
        assert_eq!(io.writers.load(Ordering::Acquire), 1);
        let before = opens();
        for name in ["a", "b", "c"] {
            d.root().create(&CreateRequest::folder(name)).unwrap();
        }
        assert_eq!(opens(), before + 1);
        drop(lock);
        assert_eq!(io.writers.load(Ordering::Acquire), 0);
        for name in ["d", "e"] {
            d.root().create(&CreateRequest::folder(name)).unwrap();
        }
        assert_eq!(opens(), before + 3);
        let names: Vec<String> = d
            .root()
            .children()
            .unwrap()
            .iter()
            .map(|c| c.name().unwrap())
            .collect();
        assert_eq!(names, ["a", "b", "c", "d", "e"]);
    }
}
