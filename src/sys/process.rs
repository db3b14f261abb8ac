//! The host and its processes: the host name, whether a process is alive, and advisory file
//! locks (the writer lock's OS half).

use std::fs::File;
use std::io;

/// This host's name, as a writer lock record names it; `"unknown host"` when the host does
/// not say.
pub(crate) fn host_name() -> String {
    #[cfg(target_os = "linux")]
    {
        if let Ok(s) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
            let s = s.trim();
            if !s.is_empty() {
                return s.to_owned();
            }
        }
    }
    #[cfg(all(unix, not(target_os = "linux")))]
    {
        if let Ok(s) = std::fs::read_to_string("/etc/hostname") {
            let s = s.trim();
            if !s.is_empty() {
                return s.to_owned();
            }
        }
    }
    for var in ["HOSTNAME", "COMPUTERNAME"] {
        if let Ok(s) = std::env::var(var)
            && !s.trim().is_empty()
        {
            return s.trim().to_owned();
        }
    }
    "unknown host".to_owned()
}

/// Whether process `pid` of this host is alive: `Some(false)` only when the host says it is
/// gone, `None` when this host cannot tell.
pub(crate) fn pid_alive(pid: u32) -> Option<bool> {
    if pid == std::process::id() {
        return Some(true);
    }
    #[cfg(target_os = "linux")]
    {
        if pid == 0 {
            return None;
        }
        match std::fs::metadata(format!("/proc/{pid}")) {
            Ok(_) => Some(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Some(false),
            Err(_) => None,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// What trying an advisory lock on a file gave.
#[derive(Debug, PartialEq, Eq)]
#[cfg_attr(not(unix), allow(dead_code))]
pub(crate) enum TryLock {
    /// Taken: held until the file is closed (or [`unlock`]), and by the kernel released
    /// when the process ends, however it ends.
    Locked,
    /// Another open file (this process's or another's) holds it.
    Held,
    /// This host or file system has no advisory locks.
    Unsupported,
}

/// Tries an exclusive (or, with `shared`, a shared) advisory lock on `file` without waiting.
///
/// The standard library's file locks: `flock` on Unix, `LockFileEx` on Windows. Either way
/// the operating system releases the lock when the holder's process ends, however it ends,
/// which is what lets a writer lock outlive nothing but its holder.
///
/// # Errors
/// I/O errors other than "held" and "not supported".
pub(crate) fn try_lock(file: &File, shared: bool) -> io::Result<TryLock> {
    let taken = if shared {
        file.try_lock_shared()
    } else {
        file.try_lock()
    };
    match taken {
        Ok(()) => Ok(TryLock::Locked),
        Err(std::fs::TryLockError::WouldBlock) => Ok(TryLock::Held),
        // A file system without advisory locks (some network and FUSE mounts).
        Err(std::fs::TryLockError::Error(e))
            if e.kind() == io::ErrorKind::Unsupported
                || matches!(e.raw_os_error(), Some(code) if is_no_lock_code(code)) =>
        {
            Ok(TryLock::Unsupported)
        }
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// The raw error codes that mean "this file system has no locks" rather than a failure.
fn is_no_lock_code(code: i32) -> bool {
    #[cfg(unix)]
    {
        code == rustix::io::Errno::NOLCK.raw_os_error()
            || code == rustix::io::Errno::OPNOTSUPP.raw_os_error()
    }
    #[cfg(not(unix))]
    {
        let _ = code;
        false
    }
}

/// Releases a lock [`try_lock`] took (closing the file does it too).
pub(crate) fn unlock(file: &File) {
    let _ = file.unlock();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_open_file_cannot_take_a_held_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let a = File::create(&path).unwrap();
        let b = File::open(&path).unwrap();
        let first = try_lock(&a, false).unwrap();
        if first == TryLock::Unsupported {
            return; // nothing to test on a host without advisory locks
        }
        assert_eq!(first, TryLock::Locked);
        assert_eq!(try_lock(&b, false).unwrap(), TryLock::Held);
        assert_eq!(try_lock(&b, true).unwrap(), TryLock::Held);
        drop(a);
        assert_eq!(try_lock(&b, false).unwrap(), TryLock::Locked);
        assert!(!host_name().is_empty());
        assert_eq!(pid_alive(std::process::id()), Some(true));
    }
}
