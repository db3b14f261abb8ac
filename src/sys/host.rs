//! Facts about the host platform that other layers decide by: how the host's file systems
//! treat names, and which error code a raw OS error is.

use crate::error::{ErrorCode, Hresult};

/// Whether the host's file systems ignore case in names. Windows' do (NTFS, FAT and exFAT
/// alike); treating a case-sensitive one as case-insensitive only refuses a few names, while
/// the reverse would let one file silently replace another.
pub(crate) const FOLDS_CASE: bool = cfg!(windows);

/// Whether the host refuses (or silently alters) the names FAT forbids whatever the medium:
/// Win32 rejects the reserved characters, opens a device for CON or NUL, and drops trailing
/// dots and spaces.
pub(crate) const HAS_FAT_RULES: bool = cfg!(windows);

/// Whether `\` and `:` separate path parts (or streams) on the host, so that a name holding
/// one is not a single component.
pub(crate) const BACKSLASH_AND_COLON_SEPARATE: bool = cfg!(windows);

/// The Win32 `ERROR_*` codes that mean the disk is full.
const WIN32_DISK_FULL: [i32; 2] = [39, 112]; // ERROR_HANDLE_DISK_FULL, ERROR_DISK_FULL

/// The code for a raw OS error where `io::ErrorKind` is too coarse; `None` to let the kind
/// decide.
pub(crate) fn os_error_code(code: i32) -> Option<ErrorCode> {
    if cfg!(target_os = "windows") {
        // On Windows the raw code is a Win32 error: keep it exactly when we name it, so the
        // HRESULT is the one Windows itself would give.
        if WIN32_DISK_FULL.contains(&code) {
            return Some(ErrorCode::DiskFull);
        }
        let hr = Hresult::from_win32(code as u32);
        return match ErrorCode::from_hresult(hr) {
            ErrorCode::Other(_) => None,
            named => Some(named),
        };
    }
    // POSIX errno values shared by Linux, the BSDs and macOS.
    match code {
        2 => Some(ErrorCode::FileNotFound),           // ENOENT
        4 => Some(ErrorCode::ProcessFailed),          // EINTR
        5 => Some(ErrorCode::ProcessFailed),          // EIO
        6 => Some(ErrorCode::NotReady),               // ENXIO
        19 => Some(ErrorCode::DeviceNotConnected),    // ENODEV
        20 => Some(ErrorCode::PathNotFound),          // ENOTDIR
        21 => Some(ErrorCode::InvalidType),           // EISDIR
        23 | 24 => Some(ErrorCode::TooManyOpenFiles), // ENFILE, EMFILE
        28 => Some(ErrorCode::DiskFull),              // ENOSPC
        30 => Some(ErrorCode::WriteProtected),        // EROFS
        36 | 63 => Some(ErrorCode::InvalidName),      // ENAMETOOLONG (Linux 36, BSD/macOS 63)
        122 if cfg!(target_os = "linux") => Some(ErrorCode::DiskFull), // EDQUOT
        _ => None,
    }
}
