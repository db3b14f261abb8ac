//! Copying between host files in the kernel, and handing written data to writeback early:
//! `copy_file_range` and `posix_fadvise` on Linux; elsewhere the caller copies through a
//! buffer and writeback happens when it happens.

use std::fs::File;
use std::io;

/// Whether [`copy_range`] can work on this host at all (a given pair of file systems may
/// still refuse it).
pub(crate) const KERNEL_COPY: bool = cfg!(target_os = "linux");

/// Copies up to `len` bytes from `src`'s position to `dst`'s in the kernel; `Ok(0)` at the
/// end of `src`.
///
/// # Errors
/// The host's error; [`io::ErrorKind::Unsupported`] where [`KERNEL_COPY`] is false.
pub(crate) fn copy_range(src: &File, dst: &File, len: usize) -> io::Result<usize> {
    #[cfg(target_os = "linux")]
    {
        rustix::fs::copy_file_range(src, None, dst, None, len).map_err(io::Error::from)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (src, dst, len);
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

/// Starts writeback of `len` bytes of `file` from `offset` and drops them from the cache
/// (they will not be read again); nothing where the host has no such call. Only a hint: the
/// sync at close still makes everything durable.
pub(crate) fn start_writeback(file: &File, offset: u64, len: u64) {
    #[cfg(target_os = "linux")]
    {
        let _ = rustix::fs::fadvise(
            file,
            offset,
            std::num::NonZeroU64::new(len),
            rustix::fs::Advice::DontNeed,
        );
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, offset, len);
}
