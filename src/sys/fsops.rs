//! How the host reports that a file system refuses an operation (rather than failing it for an
//! ordinary reason such as a missing file or a full disk).
//!
//! FUSE file systems refuse what they do not implement: fusefat answers EPERM to appends and to
//! writes that grow a file it did not just create, MTP mounts (jmtpfs, simple-mtpfs, gvfs)
//! answer EPERM, EOPNOTSUPP, ENOSYS or EXDEV to renames, and `copy_file_range` between
//! different file systems gives EXDEV.

use std::io;

/// True when `e` says the file system does not do this operation at all (as opposed to "not
/// here, not now"): EPERM, EACCES, EOPNOTSUPP/ENOTSUP, ENOSYS, EXDEV or EINVAL on Unix; the
/// corresponding error kinds elsewhere.
pub(crate) fn is_refusal(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        use rustix::io::Errno;
        if let Some(errno) = e.raw_os_error().map(Errno::from_raw_os_error) {
            return [
                Errno::PERM,
                Errno::ACCESS,
                Errno::OPNOTSUPP,
                Errno::NOTSUP,
                Errno::NOSYS,
                Errno::XDEV,
                Errno::INVAL,
            ]
            .contains(&errno);
        }
    }
    matches!(
        e.kind(),
        io::ErrorKind::PermissionDenied
            | io::ErrorKind::Unsupported
            | io::ErrorKind::CrossesDevices
            | io::ErrorKind::InvalidInput
    )
}

/// The error a file system that refuses an operation gives (EPERM on Unix): what the
/// provider's simulation of a restricted file system returns.
pub(crate) fn refusal() -> io::Error {
    #[cfg(unix)]
    {
        io::Error::from_raw_os_error(rustix::io::Errno::PERM.raw_os_error())
    }
    #[cfg(not(unix))]
    {
        io::Error::from(io::ErrorKind::PermissionDenied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_told_from_ordinary_failures() {
        assert!(is_refusal(&refusal()));
        assert!(!is_refusal(&io::Error::from(io::ErrorKind::NotFound)));
        #[cfg(unix)]
        {
            use rustix::io::Errno;
            for e in [Errno::XDEV, Errno::OPNOTSUPP, Errno::NOSYS] {
                assert!(is_refusal(&io::Error::from_raw_os_error(e.raw_os_error())));
            }
            for e in [Errno::NOSPC, Errno::NOENT, Errno::IO] {
                assert!(!is_refusal(&io::Error::from_raw_os_error(e.raw_os_error())));
            }
        }
    }
}
