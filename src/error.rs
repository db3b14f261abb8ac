//! Errors, success statuses and the one mapping to and from HRESULT.
//!
//! Every failure in the crate is an [`Error`]. Each variant maps to exactly one HRESULT
//! ([`Error::hresult`]) and back ([`Error::from_hresult`]); an HRESULT the crate does not name is
//! kept verbatim in [`ErrorCode::Other`], so nothing is lost on a round trip through COM.
//!
//! An [`Error`] is its code ([`ErrorCode`], one per HRESULT) plus, when the crate knows it, what
//! failed: the operation, the path, device or setting it concerned, and the underlying error
//! (an `io::Error`, a tag or XML parser's error) as [`std::error::Error::source`]. As with
//! `io::Error`, the common case stays small: an error without context is its code and one null
//! pointer. Two errors are equal when their codes are; the context is for people, not for
//! matching. Match on [`Error::code`] or [`Error::kind`], or compare with the constants
//! (`err == Error::NotSupported`).
//!
//! WMDM's two `WMDM_S_*` codes are successes, not failures: they are a [`Status`] returned next
//! to a successful result (for example by `Storage::set_metadata`).
//!
//! The values come from `mswmdm.h` (Microsoft's reference: <https://learn.microsoft.com/en-us/windows/win32/wmdm/error-codes>), `winerror.h` for the `E_*` codes, the WMP
//! reference pages for `NS_E_*`, and `HRESULT_FROM_WIN32` for the file-system failures, which the
//! WMDM documentation asks service providers to prefer over `E_FAIL`.

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::sync::Arc;

/// A raw COM `HRESULT`.
///
/// Negative values are failures, the rest are successes. The newtype keeps any value, including
/// ones this crate does not name.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hresult(pub i32);

impl Hresult {
    /// `S_OK`.
    pub const S_OK: Hresult = Hresult(0);
    /// `S_FALSE`: success, but fewer items than requested (enumerators).
    pub const S_FALSE: Hresult = Hresult(1);

    /// Builds an HRESULT from its unsigned 32-bit form, as headers print it (`0x80045005`).
    pub const fn from_u32(value: u32) -> Hresult {
        Hresult(value as i32)
    }

    /// The unsigned 32-bit form, as headers print it.
    pub const fn as_u32(self) -> u32 {
        self.0 as u32
    }

    /// `HRESULT_FROM_WIN32(code)`: `0x8007xxxx` for a non-zero Win32 error code.
    pub const fn from_win32(code: u32) -> Hresult {
        if code == 0 {
            Hresult::S_OK
        } else {
            Hresult::from_u32((code & 0xFFFF) | 0x8007_0000)
        }
    }

    /// True for success codes (`S_OK`, `S_FALSE`, `WMDM_S_*`).
    pub const fn is_success(self) -> bool {
        self.0 >= 0
    }

    /// Turns a success code into a [`Status`] and a failure into an [`Error`].
    pub fn into_result(self) -> Result<Status, Error> {
        if self.is_success() {
            Ok(Status::from_hresult(self))
        } else {
            Err(Error::from_hresult(self))
        }
    }
}

impl fmt::Debug for Hresult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hresult({:#010X})", self.as_u32())
    }
}

impl fmt::Display for Hresult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010X}", self.as_u32())
    }
}

/// A success that WMDM distinguishes from plain `S_OK`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// `S_OK`: everything was done.
    Ok,
    /// `WMDM_S_NOT_ALL_PROPERTIES_APPLIED` (0x00045001): a metadata write kept some properties
    /// and dropped others.
    NotAllPropertiesApplied,
    /// `WMDM_S_NOT_ALL_PROPERTIES_RETRIEVED` (0x00045002): a metadata query returned some of the
    /// requested properties.
    NotAllPropertiesRetrieved,
    /// Any other success code, kept verbatim (`S_FALSE` among them).
    Other(Hresult),
}

impl Status {
    /// The HRESULT of this status.
    pub const fn hresult(self) -> Hresult {
        match self {
            Status::Ok => Hresult::S_OK,
            Status::NotAllPropertiesApplied => Hresult::from_u32(0x0004_5001),
            Status::NotAllPropertiesRetrieved => Hresult::from_u32(0x0004_5002),
            Status::Other(hr) => hr,
        }
    }

    /// The status for a success HRESULT. Failure codes are kept in [`Status::Other`]; use
    /// [`Hresult::into_result`] to split successes from failures.
    pub fn from_hresult(hr: Hresult) -> Status {
        match hr.as_u32() {
            0 => Status::Ok,
            0x0004_5001 => Status::NotAllPropertiesApplied,
            0x0004_5002 => Status::NotAllPropertiesRetrieved,
            _ => Status::Other(hr),
        }
    }

    /// True when everything asked for was done.
    pub const fn is_complete(self) -> bool {
        matches!(self, Status::Ok)
    }
}

/// A portable category for an [`Error`], for callers that do not care about the exact code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The caller has not authenticated, or authentication failed (certificates, revocation,
    /// MACs, application security level).
    Authentication,
    /// Content rights or licences forbid the operation (SDMI, DRM).
    Rights,
    /// An argument, name or message is malformed.
    InvalidInput,
    /// The call came in the wrong state or order.
    Sequence,
    /// The object, file or folder does not exist (or no longer exists).
    NotFound,
    /// Something with that name already exists.
    AlreadyExists,
    /// The operation or interface is not supported by this object.
    Unsupported,
    /// The medium or file system refused access, or is read-only.
    PermissionDenied,
    /// No space left on the medium.
    StorageFull,
    /// The device is gone, not ready, or not connected.
    Disconnected,
    /// The device or a resource is busy; try again later.
    Busy,
    /// The user or a callback cancelled the operation.
    Cancelled,
    /// A caller-supplied buffer is too small, or more data is waiting.
    Buffer,
    /// Resources are exhausted (memory, handles, sessions).
    ResourceExhausted,
    /// Anything else: an internal or unexpected failure, or an unknown code.
    Other,
}

/// Declares the error codes from one table: variant, HRESULT, kind and message.
macro_rules! error_table {
    ($(
        $(#[$meta:meta])*
        $variant:ident = $value:expr, $kind:ident, $msg:literal;
    )*) => {
        /// Every failure code the crate reports; each variant is exactly one HRESULT.
        ///
        /// The `WMDM_E_*` values are those of `mswmdm.h`; `WMDM_E_TOO_MANY_SESSIONS` and
        /// `WMDM_E_CANTOPEN_PMSN_SERVICE_PIPE` share the value 0x80045013 in every header, so they
        /// are one variant, [`ErrorCode::TooManySessions`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $(
                $(#[$meta])*
                #[error($msg)]
                $variant,
            )*
            /// Any other failure HRESULT, kept verbatim.
            #[error("unrecognised failure HRESULT {0}")]
            Other(Hresult),
        }

        impl ErrorCode {
            /// Every named code, in table order (not [`ErrorCode::Other`]).
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The HRESULT this code stands for.
            pub const fn hresult(self) -> Hresult {
                match self {
                    $(ErrorCode::$variant => Hresult::from_u32($value),)*
                    ErrorCode::Other(hr) => hr,
                }
            }

            /// The code for a failure HRESULT. A value the crate does not name becomes
            /// [`ErrorCode::Other`], so `ErrorCode::from_hresult(hr).hresult() == hr` for every
            /// failure code.
            pub const fn from_hresult(hr: Hresult) -> ErrorCode {
                match hr.as_u32() {
                    $(v if v == $value => ErrorCode::$variant,)*
                    _ => ErrorCode::Other(hr),
                }
            }

            /// The portable category of this code.
            pub const fn kind(self) -> ErrorKind {
                match self {
                    $(ErrorCode::$variant => ErrorKind::$kind,)*
                    ErrorCode::Other(_) => ErrorKind::Other,
                }
            }
        }

        /// One constant per code, without context: `Err(Error::NotSupported)` builds one, and
        /// `err == Error::NotSupported` tests for one whatever its context.
        #[allow(non_upper_case_globals)]
        impl Error {
            $(
                $(#[$meta])*
                pub const $variant: Error = Error::from_code(ErrorCode::$variant);
            )*
        }
    };
}

error_table! {
    /// `WMDM_E_BUSY`: the device or service is busy.
    Busy = 0x8004_5000, Busy, "the device is busy (WMDM_E_BUSY)";
    /// `WMDM_E_INTERFACEDEAD`: the object no longer exists (deleted, or its device is gone).
    InterfaceDead = 0x8004_5001, NotFound, "the object no longer exists (WMDM_E_INTERFACEDEAD)";
    /// `WMDM_E_INVALIDTYPE`: the object is of the wrong type for this call (a folder where a
    /// file is needed, or the other way round).
    InvalidType = 0x8004_5002, InvalidInput, "the object is of the wrong type for this operation (WMDM_E_INVALIDTYPE)";
    /// `WMDM_E_PROCESSFAILED`: the operation failed on the device.
    ProcessFailed = 0x8004_5003, Other, "the operation failed on the device (WMDM_E_PROCESSFAILED)";
    /// `WMDM_E_NOTSUPPORTED`: this object does not support the operation.
    NotSupported = 0x8004_5004, Unsupported, "the operation is not supported (WMDM_E_NOTSUPPORTED)";
    /// `WMDM_E_NOTCERTIFIED`: the caller has not authenticated through the secure channel.
    NotCertified = 0x8004_5005, Authentication, "the caller is not authenticated (WMDM_E_NOTCERTIFIED)";
    /// `WMDM_E_NORIGHTS`: the content's rights forbid the operation.
    NoRights = 0x8004_5006, Rights, "no rights to perform the operation (WMDM_E_NORIGHTS)";
    /// `WMDM_E_CALL_OUT_OF_SEQUENCE`: the call is not valid in the current state.
    CallOutOfSequence = 0x8004_5007, Sequence, "the call is out of sequence (WMDM_E_CALL_OUT_OF_SEQUENCE)";
    /// `WMDM_E_BUFFERTOOSMALL`: the caller's buffer is too small.
    BufferTooSmall = 0x8004_5008, Buffer, "the buffer is too small (WMDM_E_BUFFERTOOSMALL)";
    /// `WMDM_E_MOREDATA`: more data is available than was returned.
    MoreData = 0x8004_5009, Buffer, "more data is available (WMDM_E_MOREDATA)";
    /// `WMDM_E_MAC_CHECK_FAILED`: a message authentication code did not match.
    MacCheckFailed = 0x8004_500A, Authentication, "the message authentication code does not match (WMDM_E_MAC_CHECK_FAILED)";
    /// `WMDM_E_USER_CANCELLED`: the user or a progress callback cancelled the operation.
    UserCancelled = 0x8004_500B, Cancelled, "the operation was cancelled (WMDM_E_USER_CANCELLED)";
    /// `WMDM_E_SDMI_TRIGGER`: SDMI content detected.
    SdmiTrigger = 0x8004_500C, Rights, "SDMI content detected (WMDM_E_SDMI_TRIGGER)";
    /// `WMDM_E_SDMI_NOMORECOPIES`: no more copies are allowed.
    SdmiNoMoreCopies = 0x8004_500D, Rights, "no more copies are allowed (WMDM_E_SDMI_NOMORECOPIES)";
    /// `WMDM_E_REVOKED`: a certificate in the chain has been revoked.
    Revoked = 0x8004_500E, Authentication, "the component's certificate has been revoked (WMDM_E_REVOKED)";
    /// `WMDM_E_LICENSE_NOTEXIST`: no licence exists for the content.
    LicenseNotExist = 0x8004_500F, Rights, "no licence exists for the content (WMDM_E_LICENSE_NOTEXIST)";
    /// `WMDM_E_INCORRECT_APPSEC`: the application's security level is too low.
    IncorrectAppSec = 0x8004_5010, Authentication, "the application security level is too low (WMDM_E_INCORRECT_APPSEC)";
    /// `WMDM_E_INCORRECT_RIGHTS`: the rights are not the expected ones.
    IncorrectRights = 0x8004_5011, Rights, "incorrect rights (WMDM_E_INCORRECT_RIGHTS)";
    /// `WMDM_E_LICENSE_EXPIRED`: the content's licence has expired.
    LicenseExpired = 0x8004_5012, Rights, "the licence has expired (WMDM_E_LICENSE_EXPIRED)";
    /// `WMDM_E_TOO_MANY_SESSIONS`, which has the same value as
    /// `WMDM_E_CANTOPEN_PMSN_SERVICE_PIPE`.
    TooManySessions = 0x8004_5013, ResourceExhausted, "too many sessions (WMDM_E_TOO_MANY_SESSIONS)";
    /// `E_INVALIDARG`: an argument is not valid.
    InvalidArg = 0x8007_0057, InvalidInput, "an argument is not valid (E_INVALIDARG)";
    /// `E_NOTIMPL`: the method is not implemented.
    NotImplemented = 0x8000_4001, Unsupported, "not implemented (E_NOTIMPL)";
    /// `E_OUTOFMEMORY`: memory is exhausted.
    OutOfMemory = 0x8007_000E, ResourceExhausted, "out of memory (E_OUTOFMEMORY)";
    /// `E_ABORT`: the operation was aborted (for example, a cancelled estimate).
    Abort = 0x8000_4004, Cancelled, "the operation was aborted (E_ABORT)";
    /// `E_UNEXPECTED`: an unexpected failure, such as a call while a sync is running.
    Unexpected = 0x8000_FFFF, Sequence, "unexpected failure (E_UNEXPECTED)";
    /// `E_FAIL`: an unspecified failure.
    Fail = 0x8000_4005, Other, "unspecified failure (E_FAIL)";
    /// `E_NOINTERFACE`: the object does not implement the interface.
    NoInterface = 0x8000_4002, Unsupported, "no such interface (E_NOINTERFACE)";
    /// `E_POINTER`: a required pointer argument was null (COM layer).
    NullPointer = 0x8000_4003, InvalidInput, "a required pointer is null (E_POINTER)";
    /// `NS_E_PDA_INITIALIZINGDEVICES`: the player is still initialising its devices.
    PdaInitializingDevices = 0xC00D_118D, Busy, "devices are still being initialised (NS_E_PDA_INITIALIZINGDEVICES)";
    /// `NS_E_PDA_PARTNERSHIPNOTEXIST`: the device has no partnership with this library (it is
    /// partnered with another one).
    PdaPartnershipNotExist = 0xC00D_1184, NotFound, "the device has no partnership with this library (NS_E_PDA_PARTNERSHIPNOTEXIST)";
    /// `NS_E_PDA_CANNOT_CREATE_ADDITIONAL_SYNC_RELATIONSHIP`: the library already has sixteen
    /// partnerships.
    PdaCannotCreateAdditionalSyncRelationship = 0xC00D_1185, ResourceExhausted, "no more partnerships can be made: sixteen devices are already partnered (NS_E_PDA_CANNOT_CREATE_ADDITIONAL_SYNC_RELATIONSHIP)";
    /// `NS_E_NO_PDA`: no device is connected.
    NoPda = 0xC00D_1179, Disconnected, "no device is connected (NS_E_NO_PDA)";
    /// `NS_E_PDA_MANUALDEVICE`: the device is a manual-transfer device and cannot be partnered.
    PdaManualDevice = 0xC00D_1183, Unsupported, "the device supports manual transfer only and cannot be partnered (NS_E_PDA_MANUALDEVICE)";
    /// `HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)`.
    FileNotFound = 0x8007_0002, NotFound, "the file was not found (ERROR_FILE_NOT_FOUND)";
    /// `HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND)`.
    PathNotFound = 0x8007_0003, NotFound, "the path was not found (ERROR_PATH_NOT_FOUND)";
    /// `HRESULT_FROM_WIN32(ERROR_TOO_MANY_OPEN_FILES)`: also what a device that allows one open
    /// file at a time returns from a second `Open`.
    TooManyOpenFiles = 0x8007_0004, ResourceExhausted, "too many open files (ERROR_TOO_MANY_OPEN_FILES)";
    /// `HRESULT_FROM_WIN32(ERROR_ACCESS_DENIED)`.
    AccessDenied = 0x8007_0005, PermissionDenied, "access is denied (ERROR_ACCESS_DENIED)";
    /// `HRESULT_FROM_WIN32(ERROR_WRITE_PROTECT)`: the medium is read-only.
    WriteProtected = 0x8007_0013, PermissionDenied, "the medium is write-protected (ERROR_WRITE_PROTECT)";
    /// `HRESULT_FROM_WIN32(ERROR_NOT_READY)`.
    NotReady = 0x8007_0015, Disconnected, "the device is not ready (ERROR_NOT_READY)";
    /// `HRESULT_FROM_WIN32(ERROR_NOT_SAME_DEVICE)`: a move across devices or storages.
    NotSameDevice = 0x8007_0011, InvalidInput, "cannot move to a different device (ERROR_NOT_SAME_DEVICE)";
    /// `HRESULT_FROM_WIN32(ERROR_HANDLE_EOF)`: a read or seek past the end of the object.
    EndOfFile = 0x8007_0026, InvalidInput, "reached the end of the file (ERROR_HANDLE_EOF)";
    /// `HRESULT_FROM_WIN32(ERROR_DISK_FULL)`.
    DiskFull = 0x8007_0070, StorageFull, "there is not enough space on the device (ERROR_DISK_FULL)";
    /// `HRESULT_FROM_WIN32(ERROR_INVALID_NAME)`: a file or folder name is not valid.
    InvalidName = 0x8007_007B, InvalidInput, "the file or folder name is not valid (ERROR_INVALID_NAME)";
    /// `HRESULT_FROM_WIN32(ERROR_DIR_NOT_EMPTY)`: a non-recursive delete of a non-empty folder.
    DirectoryNotEmpty = 0x8007_0091, InvalidInput, "the folder is not empty (ERROR_DIR_NOT_EMPTY)";
    /// `HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS)`.
    AlreadyExists = 0x8007_00B7, AlreadyExists, "an object with that name already exists (ERROR_ALREADY_EXISTS)";
    /// `HRESULT_FROM_WIN32(ERROR_DEVICE_NOT_CONNECTED)`: the device was disconnected.
    DeviceNotConnected = 0x8007_048F, Disconnected, "the device is not connected (ERROR_DEVICE_NOT_CONNECTED)";
}

/// A failure: its [`ErrorCode`] (one HRESULT) and, when known, what failed.
///
/// Build one from a constant (`Error::NotSupported`), a code, an `io::Error` (kept as the
/// source) or a failure HRESULT, and add what failed with [`Error::context`] and
/// [`Error::subject`] (or the [`ResultExt`] methods on a `Result`). Equality and hashing look at
/// the code only.
#[derive(Clone)]
pub struct Error {
    code: ErrorCode,
    context: Option<Arc<Context>>,
}

/// What failed, kept out of line so that an error without it is two words.
#[derive(Default)]
struct Context {
    /// What was being done, outermost first ("syncing: reading the ledger").
    operation: Option<Cow<'static, str>>,
    /// The path, device, object or setting concerned.
    subject: Option<String>,
    /// The underlying failure.
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// A copy for an error whose context is shared with a clone and is about to change: what can
/// be copied is; the source stays with the other clone and is kept here as its text.
impl Clone for Context {
    fn clone(&self) -> Context {
        Context {
            operation: self.operation.clone(),
            subject: self.subject.clone(),
            source: self
                .source
                .as_ref()
                .map(|s| Box::<dyn std::error::Error + Send + Sync>::from(s.to_string())),
        }
    }
}

impl Error {
    /// An error with this code and no context.
    pub const fn from_code(code: ErrorCode) -> Error {
        Error {
            code,
            context: None,
        }
    }

    /// The error for a failure HRESULT. A value the crate does not name keeps it in
    /// [`ErrorCode::Other`], so `Error::from_hresult(hr).hresult() == hr` for every failure
    /// code. A success code is not an error: it is kept too, but callers should use
    /// [`Hresult::into_result`] instead.
    pub const fn from_hresult(hr: Hresult) -> Error {
        Error::from_code(ErrorCode::from_hresult(hr))
    }

    /// An error with this code whose cause is `source` (kept as [`std::error::Error::source`]).
    pub fn with_source(
        code: ErrorCode,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Error {
        let mut e = Error::from_code(code);
        e.context_mut().source = Some(source.into());
        e
    }

    /// The code: one HRESULT.
    pub const fn code(&self) -> ErrorCode {
        self.code
    }

    /// The HRESULT this error stands for.
    pub const fn hresult(&self) -> Hresult {
        self.code.hresult()
    }

    /// The portable category of this error.
    pub const fn kind(&self) -> ErrorKind {
        self.code.kind()
    }

    /// True when retrying later may succeed (busy, not ready, disconnected).
    pub const fn is_transient(&self) -> bool {
        matches!(
            self.kind(),
            ErrorKind::Busy | ErrorKind::Disconnected | ErrorKind::ResourceExhausted
        )
    }

    /// Adds what was being done when it failed ("reading the ledger"). An operation added
    /// later is the outer one: it comes first in the message.
    pub fn context(mut self, operation: impl Into<Cow<'static, str>>) -> Error {
        let operation = operation.into();
        let ctx = self.context_mut();
        ctx.operation = Some(match ctx.operation.take() {
            None => operation,
            Some(inner) => Cow::Owned(format!("{operation}: {inner}")),
        });
        self
    }

    /// Names what the failure concerned: a path, a device, an object or a setting. The first
    /// subject given (the most precise one) is kept.
    pub fn subject(mut self, subject: impl fmt::Display) -> Error {
        let ctx = self.context_mut();
        if ctx.subject.is_none() {
            ctx.subject = Some(subject.to_string());
        }
        self
    }

    /// [`Error::subject`] for a host path, shown quoted.
    pub fn path(self, path: impl AsRef<std::path::Path>) -> Error {
        let shown = format!("'{}'", path.as_ref().display());
        self.subject(shown)
    }

    /// What was being done, if the error says.
    pub fn operation(&self) -> Option<&str> {
        self.context.as_ref()?.operation.as_deref()
    }

    /// What the failure concerned (path, device, object or setting), if the error says.
    pub fn subject_text(&self) -> Option<&str> {
        self.context.as_ref()?.subject.as_deref()
    }

    /// One line for people: this error, then each underlying cause after a colon (`reading
    /// the ledger '.wmdm-sync/ledger.txt': the operation failed on the device
    /// (WMDM_E_PROCESSFAILED): Input/output error (os error 5)`).
    pub fn report(&self) -> String {
        let mut line = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            let text = c.to_string();
            if !text.is_empty() && !line.contains(&text) {
                line.push_str(": ");
                line.push_str(&text);
            }
            cause = c.source();
        }
        line
    }

    /// The same code without any context, for places that keep only the code.
    pub const fn bare(&self) -> Error {
        Error::from_code(self.code)
    }

    fn context_mut(&mut self) -> &mut Context {
        // Shared with a clone: changed on a copy (see `Clone for Context`).
        Arc::make_mut(self.context.get_or_insert_with(Default::default))
    }
}

impl From<ErrorCode> for Error {
    fn from(code: ErrorCode) -> Error {
        Error::from_code(code)
    }
}

impl PartialEq for Error {
    fn eq(&self, other: &Error) -> bool {
        self.code == other.code
    }
}

impl Eq for Error {}

impl PartialEq<ErrorCode> for Error {
    fn eq(&self, other: &ErrorCode) -> bool {
        self.code == *other
    }
}

impl std::hash::Hash for Error {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.code.hash(state);
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(ctx) = &self.context else {
            return write!(f, "{:?}", self.code);
        };
        let mut d = f.debug_struct("Error");
        d.field("code", &self.code);
        if let Some(op) = &ctx.operation {
            d.field("operation", op);
        }
        if let Some(subject) = &ctx.subject {
            d.field("subject", subject);
        }
        if let Some(source) = &ctx.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    /// `operation subject: message`, for example
    /// `reading the library folder '/music': the path was not found (ERROR_PATH_NOT_FOUND)`.
    /// The source is not repeated here; walk [`std::error::Error::source`] for it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(ctx) = &self.context {
            match (&ctx.operation, &ctx.subject) {
                (Some(op), Some(subject)) => write!(f, "{op} {subject}: ")?,
                (Some(op), None) => write!(f, "{op}: ")?,
                (None, Some(subject)) => write!(f, "{subject}: ")?,
                (None, None) => {}
            }
        }
        write!(f, "{}", self.code)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let source = self.context.as_ref()?.source.as_ref()?;
        Some(&**source as &(dyn std::error::Error + 'static))
    }
}

/// Adds context to the error of a `Result`, as [`Error::context`] and [`Error::subject`] do.
pub trait ResultExt<T> {
    /// On failure, adds what was being done.
    fn context(self, operation: impl Into<Cow<'static, str>>) -> Result<T>;
    /// On failure, adds what was being done, computed only then.
    fn with_context<S: Into<Cow<'static, str>>>(self, operation: impl FnOnce() -> S) -> Result<T>;
    /// On failure, names the host path concerned.
    fn path(self, path: impl AsRef<std::path::Path>) -> Result<T>;
    /// On failure, names the device, object or setting concerned.
    fn subject(self, subject: impl fmt::Display) -> Result<T>;
}

impl<T, E: Into<Error>> ResultExt<T> for std::result::Result<T, E> {
    fn context(self, operation: impl Into<Cow<'static, str>>) -> Result<T> {
        self.map_err(|e| e.into().context(operation))
    }
    fn with_context<S: Into<Cow<'static, str>>>(self, operation: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| e.into().context(operation()))
    }
    fn path(self, path: impl AsRef<std::path::Path>) -> Result<T> {
        self.map_err(|e| e.into().path(path))
    }
    fn subject(self, subject: impl fmt::Display) -> Result<T> {
        self.map_err(|e| e.into().subject(subject))
    }
}

impl From<Error> for Hresult {
    fn from(e: Error) -> Hresult {
        e.hresult()
    }
}

impl From<&Error> for Hresult {
    fn from(e: &Error) -> Hresult {
        e.hresult()
    }
}

impl From<io::Error> for Error {
    /// Maps an I/O failure to the `HRESULT_FROM_WIN32` form WMDM expects, and keeps the
    /// `io::Error` as the source.
    ///
    /// The raw OS code decides first where it is more precise than `io::ErrorKind` (disk full, too
    /// many open files, no such device). An I/O failure with no better mapping becomes
    /// [`Error::ProcessFailed`]: the operation failed on the device. An interrupted call
    /// (`EINTR`) is a failure of the operation, not a cancellation by the user.
    fn from(e: io::Error) -> Error {
        let code = io_error_code(&e);
        Error::with_source(code, e)
    }
}

/// The code for an I/O failure (see `From<io::Error> for Error`).
fn io_error_code(e: &io::Error) -> ErrorCode {
    if let Some(mapped) = e.raw_os_error().and_then(crate::sys::host::os_error_code) {
        return mapped;
    }
    match e.kind() {
        io::ErrorKind::NotFound => ErrorCode::FileNotFound,
        io::ErrorKind::PermissionDenied => ErrorCode::AccessDenied,
        io::ErrorKind::AlreadyExists => ErrorCode::AlreadyExists,
        io::ErrorKind::InvalidInput => ErrorCode::InvalidArg,
        io::ErrorKind::InvalidData => ErrorCode::ProcessFailed,
        io::ErrorKind::UnexpectedEof => ErrorCode::EndOfFile,
        io::ErrorKind::OutOfMemory => ErrorCode::OutOfMemory,
        io::ErrorKind::Interrupted => ErrorCode::ProcessFailed,
        io::ErrorKind::Unsupported => ErrorCode::NotSupported,
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ErrorCode::Busy,
        io::ErrorKind::NotConnected | io::ErrorKind::BrokenPipe => ErrorCode::DeviceNotConnected,
        io::ErrorKind::StorageFull => ErrorCode::DiskFull,
        io::ErrorKind::ReadOnlyFilesystem => ErrorCode::WriteProtected,
        io::ErrorKind::DirectoryNotEmpty => ErrorCode::DirectoryNotEmpty,
        io::ErrorKind::NotADirectory => ErrorCode::PathNotFound,
        io::ErrorKind::IsADirectory => ErrorCode::InvalidType,
        io::ErrorKind::InvalidFilename => ErrorCode::InvalidName,
        io::ErrorKind::CrossesDevices => ErrorCode::NotSameDevice,
        _ => ErrorCode::ProcessFailed,
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn values_match_the_headers() {
        assert_eq!(Error::Busy.hresult().as_u32(), 0x8004_5000);
        assert_eq!(Error::NotCertified.hresult().as_u32(), 0x8004_5005);
        assert_eq!(Error::MacCheckFailed.hresult().as_u32(), 0x8004_500A);
        assert_eq!(Error::TooManySessions.hresult().as_u32(), 0x8004_5013);
        assert_eq!(Error::InvalidArg.hresult().as_u32(), 0x8007_0057);
        assert_eq!(Error::Unexpected.hresult().as_u32(), 0x8000_FFFF);
        assert_eq!(Error::PdaManualDevice.hresult().as_u32(), 0xC00D_1183);
        assert_eq!(
            Error::DiskFull.hresult(),
            Hresult::from_win32(112),
            "ERROR_DISK_FULL"
        );
        assert_eq!(
            Error::DeviceNotConnected.hresult(),
            Hresult::from_win32(1167)
        );
        assert_eq!(
            Status::NotAllPropertiesApplied.hresult().as_u32(),
            0x0004_5001
        );
        assert_eq!(
            Status::NotAllPropertiesRetrieved.hresult().as_u32(),
            0x0004_5002
        );
    }

    #[test]
    fn every_named_code_is_distinct_and_a_failure() {
        let mut seen = std::collections::HashSet::new();
        for e in ErrorCode::ALL {
            assert!(!e.hresult().is_success(), "{e:?} must be a failure");
            assert!(seen.insert(e.hresult()), "{e:?} shares its HRESULT");
            assert_eq!(ErrorCode::from_hresult(e.hresult()), *e);
            assert_eq!(Error::from_hresult(e.hresult()).code(), *e);
        }
    }

    #[test]
    fn success_codes_are_statuses() {
        assert_eq!(
            Hresult::from_u32(0x0004_5001).into_result(),
            Ok(Status::NotAllPropertiesApplied)
        );
        assert_eq!(
            Hresult::S_FALSE.into_result(),
            Ok(Status::Other(Hresult::S_FALSE))
        );
        assert_eq!(
            Hresult::from_u32(0x8004_5005).into_result(),
            Err(Error::NotCertified)
        );
    }

    #[test]
    fn io_errors_map_to_win32_forms() {
        let e: Error = io::Error::from(io::ErrorKind::NotFound).into();
        assert_eq!(e, Error::FileNotFound);
        let e: Error = io::Error::from(io::ErrorKind::PermissionDenied).into();
        assert_eq!(e, Error::AccessDenied);
        let e: Error = io::Error::from(io::ErrorKind::StorageFull).into();
        assert_eq!(e, Error::DiskFull);
        let e: Error = io::Error::from(io::ErrorKind::AlreadyExists).into();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        #[cfg(unix)]
        {
            let e: Error = io::Error::from_raw_os_error(28).into();
            assert_eq!(e, Error::DiskFull);
            let e: Error = io::Error::from_raw_os_error(24).into();
            assert_eq!(e, Error::TooManyOpenFiles);
        }
    }

    #[test]
    fn context_names_what_failed_and_keeps_the_source() {
        let io = io::Error::from_raw_os_error(2);
        let e = Error::from(io)
            .path("/music/a.flac")
            .context("reading the track")
            .context("scanning the library");
        assert_eq!(e, Error::FileNotFound, "equality looks at the code only");
        assert_eq!(e.hresult(), Error::FileNotFound.hresult());
        assert_eq!(
            e.to_string(),
            "scanning the library: reading the track '/music/a.flac': the file was not found \
             (ERROR_FILE_NOT_FOUND)"
        );
        let source = std::error::Error::source(&e).expect("the io::Error is the source");
        assert!(source.downcast_ref::<io::Error>().is_some());
        // A clone shares the context; adding to the clone leaves the original alone.
        let more = e
            .clone()
            .subject("ignored: the first subject stays")
            .context("syncing");
        assert_eq!(
            e.operation(),
            Some("scanning the library: reading the track")
        );
        assert!(more.to_string().starts_with("syncing: scanning"));
        assert_eq!(more.subject_text(), Some("'/music/a.flac'"));
        assert!(std::error::Error::source(&more).is_some());
        assert!(
            e.report()
                .ends_with("(ERROR_FILE_NOT_FOUND): No such file or directory (os error 2)")
                || cfg!(not(target_os = "linux")),
            "{}",
            e.report()
        );
    }

    #[test]
    fn an_error_without_context_is_small_and_prints_its_code() {
        assert!(std::mem::size_of::<Error>() <= 16);
        assert_eq!(
            Error::NotSupported.to_string(),
            "the operation is not supported (WMDM_E_NOTSUPPORTED)"
        );
        assert_eq!(format!("{:?}", Error::Busy), "Busy");
    }

    #[test]
    fn eintr_is_not_a_cancellation() {
        let e: Error = io::Error::from(io::ErrorKind::Interrupted).into();
        assert_ne!(e.kind(), ErrorKind::Cancelled);
        #[cfg(unix)]
        {
            let e: Error = io::Error::from_raw_os_error(4).into();
            assert_ne!(e.kind(), ErrorKind::Cancelled);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn any_failure_hresult_round_trips(raw in proptest::num::i32::ANY) {
            let hr = Hresult(raw);
            match hr.into_result() {
                Ok(status) => prop_assert_eq!(status.hresult(), hr),
                Err(err) => prop_assert_eq!(err.hresult(), hr),
            }
        }

        #[test]
        fn every_named_error_round_trips(idx in 0..ErrorCode::ALL.len()) {
            let e = Error::from_code(ErrorCode::ALL[idx]);
            prop_assert_eq!(Error::from_hresult(e.hresult()), e.clone());
            prop_assert_eq!(e.hresult().into_result(), Err(e.clone()));
        }
    }
}
