//! WMDM's flag sets and small enumerations, with their exact values (Microsoft's reference: <https://learn.microsoft.com/en-us/windows/win32/wmdm/enumeration-types>, <https://learn.microsoft.com/en-us/windows/win32/api/wmp/nn-wmp-iwmpsyncdevice>).
//!
//! Flag sets are [`bitflags`](https://docs.rs/bitflags) types. **Unknown bits are kept**: build values from raw integers
//! with `from_bits_retain`, never `from_bits_truncate`, so a flag a newer device or provider sets
//! survives a round trip through this crate. Enumerations that WMDM defines as plain integers are
//! newtypes with named constants for the same reason: an unknown value is kept, not rejected.

use bitflags::bitflags;

use crate::error::{Error, Result};

bitflags! {
    /// `WMDM_DEVICE_TYPE_*`: what a device can do (IMDSPDevice::GetType).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct DeviceType: u32 {
        /// `WMDM_DEVICE_TYPE_PLAYBACK`: plays content.
        const PLAYBACK = 0x1;
        /// `WMDM_DEVICE_TYPE_RECORD`: records content.
        const RECORD = 0x2;
        /// `WMDM_DEVICE_TYPE_DECODE`: decodes content.
        const DECODE = 0x4;
        /// `WMDM_DEVICE_TYPE_ENCODE`: encodes content.
        const ENCODE = 0x8;
        /// `WMDM_DEVICE_TYPE_STORAGE`: stores content.
        const STORAGE = 0x10;
        /// `WMDM_DEVICE_TYPE_VIRTUAL`: a virtual device with no physical storage.
        const VIRTUAL = 0x20;
        /// `WMDM_DEVICE_TYPE_SDMI`: SDMI compliant.
        const SDMI = 0x40;
        /// `WMDM_DEVICE_TYPE_NONSDMI`: not SDMI compliant.
        const NONSDMI = 0x80;
        /// `WMDM_DEVICE_TYPE_NONREENTRANT`: one call at a time.
        const NONREENTRANT = 0x100;
        /// `WMDM_DEVICE_TYPE_FILELISTRESYNC`: the file list must be re-read after changes.
        const FILELISTRESYNC = 0x200;
        /// `WMDM_DEVICE_TYPE_VIEW_PREF_METADATAVIEW`: prefers metadata views.
        const VIEW_PREF_METADATAVIEW = 0x400;
    }
}

bitflags! {
    /// `WMDM_STATUS_*`: device, storage-globals and device-control status.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct DeviceStatus: u32 {
        /// `WMDM_STATUS_READY`.
        const READY = 0x1;
        /// `WMDM_STATUS_BUSY`.
        const BUSY = 0x2;
        /// `WMDM_STATUS_DEVICE_NOTPRESENT`: the device is disconnected.
        const DEVICE_NOTPRESENT = 0x4;
        /// `WMDM_STATUS_DEVICECONTROL_PLAYING`.
        const DEVICECONTROL_PLAYING = 0x8;
        /// `WMDM_STATUS_DEVICECONTROL_RECORDING`.
        const DEVICECONTROL_RECORDING = 0x10;
        /// `WMDM_STATUS_DEVICECONTROL_PAUSED`.
        const DEVICECONTROL_PAUSED = 0x20;
        /// `WMDM_STATUS_DEVICECONTROL_REMOTE`.
        const DEVICECONTROL_REMOTE = 0x40;
        /// `WMDM_STATUS_DEVICECONTROL_STREAM`.
        const DEVICECONTROL_STREAM = 0x80;
        /// `WMDM_STATUS_STORAGE_NOTPRESENT`: no medium.
        const STORAGE_NOTPRESENT = 0x100;
        /// `WMDM_STATUS_STORAGE_INITIALIZING`: the medium is being formatted.
        const STORAGE_INITIALIZING = 0x200;
        /// `WMDM_STATUS_STORAGE_BROKEN`.
        const STORAGE_BROKEN = 0x400;
        /// `WMDM_STATUS_STORAGE_NOTSUPPORTED`.
        const STORAGE_NOTSUPPORTED = 0x800;
        /// `WMDM_STATUS_STORAGE_UNFORMATTED`.
        const STORAGE_UNFORMATTED = 0x1000;
        /// `WMDM_STATUS_STORAGECONTROL_INSERTING`.
        const STORAGECONTROL_INSERTING = 0x2000;
        /// `WMDM_STATUS_STORAGECONTROL_DELETING`.
        const STORAGECONTROL_DELETING = 0x4000;
        /// `WMDM_STATUS_STORAGECONTROL_APPENDING`.
        const STORAGECONTROL_APPENDING = 0x8000;
        /// `WMDM_STATUS_STORAGECONTROL_MOVING`.
        const STORAGECONTROL_MOVING = 0x10000;
        /// `WMDM_STATUS_STORAGECONTROL_READING`.
        const STORAGECONTROL_READING = 0x20000;
    }
}

bitflags! {
    /// The shared 32-bit attribute space of `WMDM_FILE_ATTR_*` and `WMDM_STORAGE_ATTR_*`
    /// (IMDSPStorage::GetAttributes / SetAttributes / CreateStorage).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct Attributes: u32 {
        /// `WMDM_STORAGE_ATTR_FILESYSTEM`: the storage is a file system.
        const STORAGE_FILESYSTEM = 0x0000_0001;
        /// `WMDM_STORAGE_ATTR_REMOVABLE`.
        const STORAGE_REMOVABLE = 0x0000_0002;
        /// `WMDM_STORAGE_ATTR_NONREMOVABLE`.
        const STORAGE_NONREMOVABLE = 0x0000_0004;
        /// `WMDM_FILE_ATTR_FOLDER`: a folder (wins over FILE when both are set).
        const FOLDER = 0x0000_0008;
        /// `WMDM_FILE_ATTR_LINK`.
        const LINK = 0x0000_0010;
        /// `WMDM_FILE_ATTR_FILE`: a file.
        const FILE = 0x0000_0020;
        /// `WMDM_FILE_ATTR_VIDEO`.
        const VIDEO = 0x0000_0040;
        /// `WMDM_STORAGE_ATTR_CANEDITMETADATA`.
        const STORAGE_CANEDITMETADATA = 0x0000_0080;
        /// `WMDM_STORAGE_ATTR_FOLDERS`: the storage supports folders.
        const STORAGE_FOLDERS = 0x0000_0100;
        /// `WMDM_FILE_ATTR_AUDIO`.
        const AUDIO = 0x0000_1000;
        /// `WMDM_FILE_ATTR_DATA`.
        const DATA = 0x0000_2000;
        /// `WMDM_FILE_ATTR_CANPLAY`.
        const CANPLAY = 0x0000_4000;
        /// `WMDM_FILE_ATTR_CANDELETE`.
        const CANDELETE = 0x0000_8000;
        /// `WMDM_FILE_ATTR_CANMOVE`.
        const CANMOVE = 0x0001_0000;
        /// `WMDM_FILE_ATTR_CANRENAME`.
        const CANRENAME = 0x0002_0000;
        /// `WMDM_FILE_ATTR_CANREAD`.
        const CANREAD = 0x0004_0000;
        /// `WMDM_FILE_ATTR_MUSIC`.
        const MUSIC = 0x0008_0000;
        /// `WMDM_FILE_CREATE_OVERWRITE`: replace an existing object of the same name.
        const CREATE_OVERWRITE = 0x0010_0000;
        /// `WMDM_FILE_ATTR_AUDIOBOOK`.
        const AUDIOBOOK = 0x0020_0000;
        /// `WMDM_FILE_ATTR_HIDDEN`.
        const HIDDEN = 0x0040_0000;
        /// `WMDM_FILE_ATTR_SYSTEM`.
        const SYSTEM = 0x0080_0000;
        /// `WMDM_FILE_ATTR_READONLY`.
        const READONLY = 0x0100_0000;
        /// `WMDM_STORAGE_ATTR_HAS_FOLDERS`.
        const STORAGE_HAS_FOLDERS = 0x0200_0000;
        /// `WMDM_STORAGE_ATTR_HAS_FILES`.
        const STORAGE_HAS_FILES = 0x0400_0000;
        /// `WMDM_STORAGE_IS_DEFAULT`.
        const STORAGE_IS_DEFAULT = 0x0800_0000;
        /// `WMDM_STORAGE_CONTAINS_DEFAULT`.
        const STORAGE_CONTAINS_DEFAULT = 0x1000_0000;
        /// `WMDM_STORAGE_ATTR_VIRTUAL`.
        const STORAGE_VIRTUAL = 0x2000_0000;
    }
}

impl Attributes {
    /// True when these attributes describe a folder (FOLDER wins over FILE, per CreateStorage).
    pub const fn is_folder(self) -> bool {
        self.contains(Attributes::FOLDER)
    }
}

bitflags! {
    /// `WMDM_STORAGECAP_*` (IMDSPStorageGlobals::GetCapabilities).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct StorageCapabilities: u32 {
        /// `WMDM_STORAGECAP_FOLDERSINROOT`.
        const FOLDERSINROOT = 0x1;
        /// `WMDM_STORAGECAP_FILESINROOT`.
        const FILESINROOT = 0x2;
        /// `WMDM_STORAGECAP_FOLDERSINFOLDERS`.
        const FOLDERSINFOLDERS = 0x4;
        /// `WMDM_STORAGECAP_FILESINFOLDERS`.
        const FILESINFOLDERS = 0x8;
        /// `WMDM_STORAGECAP_FOLDERLIMITEXISTS`.
        const FOLDERLIMITEXISTS = 0x10;
        /// `WMDM_STORAGECAP_FILELIMITEXISTS`.
        const FILELIMITEXISTS = 0x20;
        /// `WMDM_STORAGECAP_NOT_INITIALIZABLE`: `Initialize` (format) is not implemented.
        const NOT_INITIALIZABLE = 0x40;
    }
}

bitflags! {
    /// `WMDM_POWER_*` (IMDSPDevice::GetPowerSource).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct PowerSource: u32 {
        /// `WMDM_POWER_CAP_BATTERY`: can run on battery.
        const CAP_BATTERY = 0x1;
        /// `WMDM_POWER_CAP_EXTERNAL`: can run on external power.
        const CAP_EXTERNAL = 0x2;
        /// `WMDM_POWER_IS_BATTERY`: running on battery now.
        const IS_BATTERY = 0x4;
        /// `WMDM_POWER_IS_EXTERNAL`: running on external power now.
        const IS_EXTERNAL = 0x8;
        /// `WMDM_POWER_PERCENT_AVAILABLE`: the percentage is meaningful.
        const PERCENT_AVAILABLE = 0x10;
    }
}

bitflags! {
    /// `WMDM_DEVICECAP_*` (IMDSPDeviceControl::GetCapabilities).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct DeviceCapabilities: u32 {
        /// `WMDM_DEVICECAP_CANPLAY`.
        const CANPLAY = 0x1;
        /// `WMDM_DEVICECAP_CANSTREAMPLAY`.
        const CANSTREAMPLAY = 0x2;
        /// `WMDM_DEVICECAP_CANRECORD`.
        const CANRECORD = 0x4;
        /// `WMDM_DEVICECAP_CANSTREAMRECORD`.
        const CANSTREAMRECORD = 0x8;
        /// `WMDM_DEVICECAP_CANPAUSE`.
        const CANPAUSE = 0x10;
        /// `WMDM_DEVICECAP_CANRESUME`.
        const CANRESUME = 0x20;
        /// `WMDM_DEVICECAP_CANSTOP`.
        const CANSTOP = 0x40;
        /// `WMDM_DEVICECAP_CANSEEK`.
        const CANSEEK = 0x80;
        /// `WMDM_DEVICECAP_HASSECURECLOCK`.
        const HASSECURECLOCK = 0x100;
    }
}

bitflags! {
    /// The shared "WMDM Mode Flags" namespace: `WMDM_MODE_*`, `WMDM_CONTENT_*` and
    /// `WMDM_STORAGECONTROL_*` (Insert, Delete, Move, Initialize, ...).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct Mode: u32 {
        /// `WMDM_MODE_BLOCK`: the call returns when the operation is done.
        const BLOCK = 0x1;
        /// `WMDM_MODE_THREAD`: the operation runs on another thread.
        const THREAD = 0x2;
        /// `WMDM_CONTENT_FILE`: the content is a file.
        const CONTENT_FILE = 0x4;
        /// `WMDM_CONTENT_FOLDER`: the content is a folder.
        const CONTENT_FOLDER = 0x8;
        /// `WMDM_CONTENT_OPERATIONINTERFACE`: data comes through IWMDMOperation.
        const CONTENT_OPERATIONINTERFACE = 0x10;
        /// `WMDM_MODE_QUERY`: only check whether the operation would succeed.
        const QUERY = 0x20;
        /// `WMDM_MODE_PROGRESS`: report progress.
        const PROGRESS = 0x40;
        /// `WMDM_MODE_TRANSFER_PROTECTED`.
        const TRANSFER_PROTECTED = 0x80;
        /// `WMDM_MODE_TRANSFER_UNPROTECTED`.
        const TRANSFER_UNPROTECTED = 0x100;
        /// `WMDM_STORAGECONTROL_INSERTBEFORE`: place before the target, as a sibling.
        const INSERTBEFORE = 0x200;
        /// `WMDM_STORAGECONTROL_INSERTAFTER`: place after the target, as a sibling.
        const INSERTAFTER = 0x400;
        /// `WMDM_STORAGECONTROL_INSERTINTO`: place inside the target folder.
        const INSERTINTO = 0x800;
        /// `WMDM_MODE_RECURSIVE`: act on a folder and everything under it.
        const RECURSIVE = 0x1000;
    }
}

impl Mode {
    /// The placement these flags ask for, if exactly one of INSERTBEFORE / INSERTAFTER /
    /// INSERTINTO is set.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] when none or more than one is set.
    pub fn placement(self) -> Result<Placement> {
        let chosen = self & (Mode::INSERTBEFORE | Mode::INSERTAFTER | Mode::INSERTINTO);
        if chosen == Mode::INSERTBEFORE {
            Ok(Placement::Before)
        } else if chosen == Mode::INSERTAFTER {
            Ok(Placement::After)
        } else if chosen == Mode::INSERTINTO {
            Ok(Placement::Into)
        } else {
            Err(Error::InvalidArg)
        }
    }
}

/// Where a created or moved object goes relative to a target object
/// (`WMDM_STORAGECONTROL_INSERTBEFORE` / `INSERTAFTER` / `INSERTINTO`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Placement {
    /// A sibling placed just before the target.
    Before,
    /// A sibling placed just after the target.
    After,
    /// A child of the target folder (placed last).
    #[default]
    Into,
}

impl Placement {
    /// The mode flag for this placement.
    pub const fn mode(self) -> Mode {
        match self {
            Placement::Before => Mode::INSERTBEFORE,
            Placement::After => Mode::INSERTAFTER,
            Placement::Into => Mode::INSERTINTO,
        }
    }
}

bitflags! {
    /// Device enumeration preference (IMDServiceProvider3 / IWMDeviceManager3
    /// ::SetDeviceEnumPreference).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct DeviceEnumPreference: u32 {
        /// `DO_NOT_VIRTUALIZE_STORAGES_AS_DEVICES`.
        const DO_NOT_VIRTUALIZE_STORAGES_AS_DEVICES = 0x1;
        /// `ALLOW_OUTOFBAND_NOTIFICATION`.
        const ALLOW_OUTOFBAND_NOTIFICATION = 0x2;
    }
}

bitflags! {
    /// `WMDMRIGHTS.fuRights`: what the content may be used for.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct Rights: u32 {
        /// `WMDM_RIGHTS_PLAY_ON_PC`.
        const PLAY_ON_PC = 0x1;
        /// `WMDM_RIGHTS_COPY_TO_NON_SDMI_DEVICE`.
        const COPY_TO_NON_SDMI_DEVICE = 0x2;
        /// `WMDM_RIGHTS_COPY_TO_CD`.
        const COPY_TO_CD = 0x8;
        /// `WMDM_RIGHTS_COPY_TO_SDMI_DEVICE`.
        const COPY_TO_SDMI_DEVICE = 0x10;
    }
}

bitflags! {
    /// `WMDMRIGHTS.fuFlags`: which fields of a rights record are meaningful.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct RightsFlags: u32 {
        /// `WMDM_RIGHTS_PLAYBACKCOUNT`.
        const PLAYBACKCOUNT = 0x1;
        /// `WMDM_RIGHTS_EXPIRATIONDATE`.
        const EXPIRATIONDATE = 0x2;
        /// `WMDM_RIGHTS_GROUPID`.
        const GROUPID = 0x4;
        /// `WMDM_RIGHTS_FREESERIALIDS`.
        const FREESERIALIDS = 0x8;
        /// `WMDM_RIGHTS_NAMEDSERIALIDS`.
        const NAMEDSERIALIDS = 0x10;
    }
}

bitflags! {
    /// Revocation bits (IWMDMRevoked::GetRevocationURL): which component was revoked.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct RevokedFlags: u32 {
        /// `WMDM_WMDM_REVOKED`.
        const WMDM = 0x1;
        /// `WMDM_APP_REVOKED`.
        const APP = 0x2;
        /// `WMDM_SP_REVOKED`.
        const SP = 0x4;
        /// `WMDM_SCP_REVOKED`.
        const SCP = 0x8;
    }
}

bitflags! {
    /// `WMDM_GET_FORMAT_SUPPORT_*` (IMDSPDevice2::GetFormatSupport2).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct FormatSupportFlags: u32 {
        /// `WMDM_GET_FORMAT_SUPPORT_AUDIO`.
        const AUDIO = 0x1;
        /// `WMDM_GET_FORMAT_SUPPORT_VIDEO`.
        const VIDEO = 0x2;
        /// `WMDM_GET_FORMAT_SUPPORT_FILE`.
        const FILE = 0x4;
    }
}

bitflags! {
    /// `WMDM_SESSION_TYPE` (IWMDMDeviceSession). A bit set: a session may combine types.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct SessionType: u32 {
        /// `WMDM_SESSION_TRANSFER_TO_DEVICE`.
        const TRANSFER_TO_DEVICE = 0x1;
        /// `WMDM_SESSION_TRANSFER_FROM_DEVICE`.
        const TRANSFER_FROM_DEVICE = 0x10;
        /// `WMDM_SESSION_DELETE`.
        const DELETE = 0x100;
        /// `WMDM_SESSION_CUSTOM`.
        const CUSTOM = 0x1000;
    }
}

impl SessionType {
    /// `WMDM_SESSION_NONE`.
    pub const NONE: SessionType = SessionType::empty();
}

/// Declares a `u32` newtype with named constants; unknown values are kept.
macro_rules! value_newtype {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$cmeta:meta])* $cname:ident = $cval:expr, )* }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub u32);

        impl $name {
            $( $(#[$cmeta])* pub const $cname: $name = $name($cval); )*

            /// Every named value.
            pub const ALL: &'static [$name] = &[$($name::$cname),*];

            /// The WMDM name of this value, if it has one.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( v if v == $cval => Some(stringify!($cname)), )*
                    _ => None,
                }
            }

            /// True when this value has a name in WMDM.
            pub const fn is_known(self) -> bool {
                self.name().is_some()
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self.name() {
                    Some(n) => write!(f, "{}::{}", stringify!($name), n),
                    None => write!(f, "{}({:#X})", stringify!($name), self.0),
                }
            }
        }

        impl From<u32> for $name {
            fn from(v: u32) -> Self {
                $name(v)
            }
        }

        impl From<$name> for u32 {
            fn from(v: $name) -> u32 {
                v.0
            }
        }
    };
}

value_newtype! {
    /// `MDSP_SEEK_*`: the origin of IMDSPObject::Seek. EOF counts backwards from the end.
    SeekOrigin {
        /// `MDSP_SEEK_BOF`: from the beginning.
        BOF = 0x1,
        /// `MDSP_SEEK_CUR`: from the current position.
        CUR = 0x2,
        /// `MDSP_SEEK_EOF`: backwards from the end.
        EOF = 0x4,
    }
}

value_newtype! {
    /// `WMDM_SEEK_*` (the "WMDM Seek Flags" of the header).
    SeekFlags {
        /// `WMDM_SEEK_BEGIN`.
        BEGIN = 0x1,
        /// `WMDM_SEEK_CURRENT`.
        CURRENT = 0x2,
        /// `WMDM_SEEK_END`.
        END = 0x8,
    }
}

value_newtype! {
    /// Device-control seek modes (IMDSPDeviceControl::Seek).
    DeviceSeekMode {
        /// `WMDM_SEEK_REMOTECONTROL`.
        REMOTECONTROL = 0x1,
        /// `WMDM_SEEK_STREAMINGAUDIO`.
        STREAMINGAUDIO = 0x2,
    }
}

value_newtype! {
    /// `MDSP_READ` / `MDSP_WRITE`: the mode of IMDSPObject::Open.
    OpenMode {
        /// `MDSP_READ`.
        READ = 0x1,
        /// `MDSP_WRITE`.
        WRITE = 0x2,
    }
}

impl OpenMode {
    /// True when the mode allows reading.
    pub const fn can_read(self) -> bool {
        self.0 & OpenMode::READ.0 != 0
    }

    /// True when the mode allows writing.
    pub const fn can_write(self) -> bool {
        self.0 & OpenMode::WRITE.0 != 0
    }

    /// Checks the mode is READ, WRITE or both, and nothing else.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] for zero or unknown bits.
    pub fn validate(self) -> Result<OpenMode> {
        if self.0 == 0 || self.0 & !(OpenMode::READ.0 | OpenMode::WRITE.0) != 0 {
            Err(Error::InvalidArg)
        } else {
            Ok(self)
        }
    }
}

value_newtype! {
    /// `WMDM_FIND_SCOPE` (FindStorage).
    FindScope {
        /// `WMDM_FIND_SCOPE_GLOBAL`: anywhere on the device.
        GLOBAL = 0,
        /// `WMDM_FIND_SCOPE_IMMEDIATE_CHILDREN`: only among the immediate children.
        IMMEDIATE_CHILDREN = 1,
    }
}

value_newtype! {
    /// `WMDM_TAG_DATATYPE`: the type of a metadata value.
    TagDataType {
        /// `WMDM_TYPE_DWORD`: 4 bytes, little-endian.
        DWORD = 0,
        /// `WMDM_TYPE_STRING`: NUL-terminated UTF-16LE.
        STRING = 1,
        /// `WMDM_TYPE_BINARY`: raw bytes.
        BINARY = 2,
        /// `WMDM_TYPE_BOOL`: 4 bytes (a Win32 BOOL).
        BOOL = 3,
        /// `WMDM_TYPE_QWORD`: 8 bytes, little-endian.
        QWORD = 4,
        /// `WMDM_TYPE_WORD`: 2 bytes, little-endian.
        WORD = 5,
        /// `WMDM_TYPE_GUID`: 16 bytes in GUID memory layout.
        GUID = 6,
        /// `WMDM_TYPE_DATE`: a WMDMDATETIME (six WORDs).
        DATE = 7,
    }
}

value_newtype! {
    /// `WMDM_STORAGE_ENUM_MODE` (IWMDMStorage3::SetEnumPreference).
    StorageEnumMode {
        /// `ENUM_MODE_RAW`: the file-system layout.
        RAW = 0,
        /// `ENUM_MODE_USE_DEVICE_PREF`: follow the device's UseMetadataViews parameter.
        USE_DEVICE_PREF = 1,
        /// `ENUM_MODE_METADATA_VIEWS`: metadata views.
        METADATA_VIEWS = 2,
    }
}

value_newtype! {
    /// `WMDMMessage` (IWMDMNotification::WMDMMessage).
    WmdmMessage {
        /// `WMDM_MSG_DEVICE_ARRIVAL`.
        DEVICE_ARRIVAL = 0,
        /// `WMDM_MSG_DEVICE_REMOVAL`.
        DEVICE_REMOVAL = 1,
        /// `WMDM_MSG_MEDIA_ARRIVAL`.
        MEDIA_ARRIVAL = 2,
        /// `WMDM_MSG_MEDIA_REMOVAL`.
        MEDIA_REMOVAL = 3,
    }
}

value_newtype! {
    /// `WMDM_ENUM_PROP_VALID_VALUES_FORM`: how a property's valid values are described.
    ValidValuesForm {
        /// `WMDM_ENUM_PROP_VALID_VALUES_ANY`.
        ANY = 0,
        /// `WMDM_ENUM_PROP_VALID_VALUES_RANGE`.
        RANGE = 1,
        /// `WMDM_ENUM_PROP_VALID_VALUES_ENUM`.
        ENUM = 2,
    }
}

/// `WMPDeviceStatus`: a device's partnership status as Windows Media Player sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[repr(i32)]
pub enum SyncDeviceStatus {
    /// `wmpdsUnknown` (0): not a valid status.
    #[default]
    Unknown = 0,
    /// `wmpdsPartnershipExists` (1): partnered with this library.
    PartnershipExists = 1,
    /// `wmpdsPartnershipDeclined` (2): the user declined, or the partnership was deleted.
    PartnershipDeclined = 2,
    /// `wmpdsPartnershipAnother` (3): partnered with another library or computer.
    PartnershipAnother = 3,
    /// `wmpdsManualDevice` (4): manual transfer only; cannot be partnered.
    ManualDevice = 4,
    /// `wmpdsNewDevice` (5): a device this library has not seen.
    NewDevice = 5,
}

impl SyncDeviceStatus {
    /// `wmpdsLast`: the sentinel after the last value.
    pub const LAST: i32 = 6;

    /// The status for a raw value; values outside 0..=5 give `None`.
    pub const fn from_i32(v: i32) -> Option<SyncDeviceStatus> {
        Some(match v {
            0 => SyncDeviceStatus::Unknown,
            1 => SyncDeviceStatus::PartnershipExists,
            2 => SyncDeviceStatus::PartnershipDeclined,
            3 => SyncDeviceStatus::PartnershipAnother,
            4 => SyncDeviceStatus::ManualDevice,
            5 => SyncDeviceStatus::NewDevice,
            _ => return None,
        })
    }
}

/// `WMPSyncState`: the state of a device's sync engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[repr(i32)]
pub enum SyncState {
    /// `wmpssUnknown` (0).
    #[default]
    Unknown = 0,
    /// `wmpssSynchronizing` (1).
    Synchronizing = 1,
    /// `wmpssStopped` (2).
    Stopped = 2,
    /// `wmpssEstimating` (3): a size estimate is running (WMP 12).
    Estimating = 3,
}

impl SyncState {
    /// `wmpssLast`: the sentinel after the last value.
    pub const LAST: i32 = 4;

    /// The state for a raw value; values outside 0..=3 give `None`.
    pub const fn from_i32(v: i32) -> Option<SyncState> {
        Some(match v {
            0 => SyncState::Unknown,
            1 => SyncState::Synchronizing,
            2 => SyncState::Stopped,
            3 => SyncState::Estimating,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_values_match_the_header() {
        assert_eq!(Attributes::FOLDER.bits(), 0x8);
        assert_eq!(Attributes::FILE.bits(), 0x20);
        assert_eq!(Attributes::MUSIC.bits(), 0x0008_0000);
        assert_eq!(Attributes::READONLY.bits(), 0x0100_0000);
        assert_eq!(Attributes::STORAGE_VIRTUAL.bits(), 0x2000_0000);
        assert_eq!(DeviceStatus::STORAGECONTROL_READING.bits(), 0x20000);
        assert_eq!(Mode::RECURSIVE.bits(), 0x1000);
        assert_eq!(StorageCapabilities::NOT_INITIALIZABLE.bits(), 0x40);
        assert_eq!(DeviceType::VIEW_PREF_METADATAVIEW.bits(), 0x400);
        assert_eq!(SeekOrigin::EOF.0, 4);
        assert_eq!(SeekFlags::END.0, 8);
        assert_eq!(WmdmMessage::MEDIA_REMOVAL.0, 3);
        assert_eq!(SyncDeviceStatus::NewDevice as i32, 5);
        assert_eq!(SyncState::Estimating as i32, 3);
    }

    #[test]
    fn unknown_bits_survive() {
        let raw = 0x8000_0000 | Attributes::FILE.bits();
        let a = Attributes::from_bits_retain(raw);
        assert_eq!(a.bits(), raw);
        assert!(a.contains(Attributes::FILE));
        let t = TagDataType(99);
        assert_eq!(u32::from(t), 99);
        assert!(!t.is_known());
        assert_eq!(format!("{t:?}"), "TagDataType(0x63)");
        assert_eq!(format!("{:?}", TagDataType::GUID), "TagDataType::GUID");
    }

    #[test]
    fn placement_needs_exactly_one_flag() {
        assert_eq!(
            (Mode::BLOCK | Mode::INSERTINTO).placement(),
            Ok(Placement::Into)
        );
        assert_eq!(Mode::BLOCK.placement(), Err(Error::InvalidArg));
        assert_eq!(
            (Mode::INSERTBEFORE | Mode::INSERTAFTER).placement(),
            Err(Error::InvalidArg)
        );
    }

    #[test]
    fn open_mode_validation() {
        assert!(OpenMode::READ.validate().is_ok());
        assert!(OpenMode(3).validate().is_ok());
        assert_eq!(OpenMode(0).validate(), Err(Error::InvalidArg));
        assert_eq!(OpenMode(8).validate(), Err(Error::InvalidArg));
    }

    #[test]
    fn enums_round_trip() {
        for v in 0..SyncDeviceStatus::LAST {
            assert_eq!(SyncDeviceStatus::from_i32(v).map(|s| s as i32), Some(v));
        }
        assert_eq!(SyncDeviceStatus::from_i32(6), None);
        for v in 0..SyncState::LAST {
            assert_eq!(SyncState::from_i32(v).map(|s| s as i32), Some(v));
        }
        assert_eq!(SyncState::from_i32(-1), None);
    }
}
