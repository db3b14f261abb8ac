//! The service-provider side of WMDM as Rust traits.
//!
//! A WMDM service provider (SP) implements IMDServiceProvider, IMDSPDevice, IMDSPStorage,
//! IMDSPObject, IMDSPStorageGlobals and friends. Here they are four object-safe traits,
//! [`ServiceProvider`], [`Device`], [`Storage`] and [`StorageGlobals`], plus [`ObjectIo`] for an
//! open object's data, and the optional [`ObjectInfo`] and [`DirectTransfer`].
//!
//! * Versioned interfaces fold into one trait: IMDSPDevice, IMDSPDevice2 and IMDSPDevice3 are all
//!   [`Device`]; IMDSPStorage/2/3/4 and IMDSPObject/2 are all [`Storage`].
//! * Enumerators become vectors; [`Enumerator`] gives back the exact Next/Skip/Reset/Clone
//!   behaviour where it is needed.
//! * Methods that WMDM calls mandatory (Microsoft's reference: <https://learn.microsoft.com/en-us/windows/win32/wmdm/mandatory-and-optional-interfaces>, "Mandatory and Optional Interfaces")
//!   have no default. Optional ones default to [`Error::NotSupported`] or to an implementation
//!   built on the mandatory methods (for example [`Storage::child`] searches
//!   [`Storage::children`]).
//! * Three deliberate departures from §6.3, all towards what Windows Media Player needs:
//!   [`ObjectIo::read`] has no default (§6.3: "mandatory if WMP support is desired"),
//!   [`Storage::create`] has no default (mandatory for files), and [`Storage::unique_id`] is
//!   required although it has no vtable slot of its own: it is `WMDM/PersistentUniqueID`, and
//!   FindStorage, references and moves are built on it.
//! * Authentication, MACs and encryption are not the provider's business: the layer that talks
//!   to a provider (the device manager, or the `com` layer) checks the secure channel before it
//!   delegates, and [`ObjectIo`] moves plaintext.
//!
//! `docs/mapping.md` lists every method of every interface, in vtable order, with the Rust item
//! that carries it.

mod enumerator;
mod lock;
pub mod names;
pub(crate) mod progress;
mod types;

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

pub use enumerator::{Enumerator, Fetched};
pub use lock::{LockHolder, WriterLock};
pub use names::NameRule;
pub use progress::{CancelToken, NoProgress, Progress, ProgressEvent, run_with_progress};
pub use types::{
    BitmapInfoHeader, CreateRequest, FormatCapability, FormatSupport, Icon, ObjectAttributes,
    OpaqueCommand, PowerInfo, PropConfig, PropDesc, Rect, RightsRecord, ValidValues, VideoFormat,
    WaveFormat, WmdmId,
};

use crate::error::{Error, Result, Status};
use crate::flags::{
    DeviceEnumPreference, DeviceStatus, DeviceType, FindScope, Mode, OpenMode, Placement,
    SeekOrigin, StorageCapabilities,
};
use crate::metadata::{FormatCode, Metadata, PropValue};
use crate::time::WmdmDateTime;

/// A shared handle to a device.
pub type DeviceRef = Arc<dyn Device>;
/// A shared handle to a storage (a file, a folder, a playlist, or a medium's root).
pub type StorageRef = Arc<dyn Storage>;
/// A shared handle to a medium's globals.
pub type GlobalsRef = Arc<dyn StorageGlobals>;

/// IMDServiceProvider / IMDServiceProvider2 / IMDServiceProvider3, and IMDSPRevoked.
pub trait ServiceProvider: Send + Sync + fmt::Debug {
    /// IMDServiceProvider::GetDeviceCount: how many devices the provider exposes now.
    ///
    /// # Errors
    /// Provider-specific; the default implementations of this crate's providers do not fail.
    fn device_count(&self) -> Result<u32>;

    /// IMDServiceProvider::EnumDevices: the devices the provider exposes now.
    ///
    /// # Errors
    /// Provider-specific.
    fn devices(&self) -> Result<Vec<DeviceRef>>;

    /// IMDServiceProvider2::CreateDevice: the device objects for a Plug and Play device path
    /// (usually one; possibly one per top-level storage).
    ///
    /// # Errors
    /// [`Error::NotSupported`] for providers that do not handle PnP devices (the default);
    /// [`Error::FileNotFound`] when no device lives at that path.
    fn create_device(&self, pnp_path: &str) -> Result<Vec<DeviceRef>> {
        let _ = pnp_path;
        Err(Error::NotSupported)
    }

    /// IMDServiceProvider3::SetDeviceEnumPreference.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] for unknown bits; [`Error::CallOutOfSequence`] once enumeration
    /// has started; [`Error::NotSupported`] by default.
    fn set_device_enum_preference(&self, preference: DeviceEnumPreference) -> Result<()> {
        let _ = preference;
        Err(Error::NotSupported)
    }

    /// IMDSPRevoked::GetRevocationURL: where an updated, non-revoked provider can be had.
    ///
    /// # Errors
    /// [`Error::NotSupported`] by default.
    fn revocation_url(&self) -> Result<String> {
        Err(Error::NotSupported)
    }
}

/// IMDSPDevice / IMDSPDevice2 / IMDSPDevice3: one device.
pub trait Device: Send + Sync + fmt::Debug {
    /// IMDSPDevice::GetName.
    ///
    /// # Errors
    /// [`Error::DeviceNotConnected`] when the device is gone; provider-specific otherwise.
    fn name(&self) -> Result<String>;

    /// IMDSPDevice::GetManufacturer.
    ///
    /// # Errors
    /// As [`Device::name`].
    fn manufacturer(&self) -> Result<String>;

    /// IMDSPDevice::GetVersion.
    ///
    /// # Errors
    /// [`Error::NotSupported`] by default.
    fn version(&self) -> Result<u32> {
        Err(Error::NotSupported)
    }

    /// IMDSPDevice::GetType.
    ///
    /// # Errors
    /// As [`Device::name`].
    fn device_type(&self) -> Result<DeviceType>;

    /// IMDSPDevice::GetSerialNumber. The MAC over the WMDMID is added by the channel layer.
    ///
    /// # Errors
    /// [`Error::NotSupported`] by default.
    fn serial_number(&self) -> Result<WmdmId> {
        Err(Error::NotSupported)
    }

    /// IMDSPDevice::GetPowerSource.
    ///
    /// # Errors
    /// [`Error::NotSupported`] by default.
    fn power_source(&self) -> Result<PowerInfo> {
        Err(Error::NotSupported)
    }

    /// IMDSPDevice::GetStatus.
    ///
    /// # Errors
    /// Provider-specific. A disconnected device reports `DEVICE_NOTPRESENT` rather than failing.
    fn status(&self) -> Result<DeviceStatus>;

    /// IMDSPDevice::GetDeviceIcon: the device's icon.
    ///
    /// # Errors
    /// As [`Device::name`].
    fn icon(&self) -> Result<Icon>;

    /// IMDSPDevice::EnumStorage: the top-level storages (media).
    ///
    /// # Errors
    /// As [`Device::name`].
    fn storages(&self) -> Result<Vec<StorageRef>>;

    /// IMDSPDevice::GetFormatSupport and IMDSPDevice2::GetFormatSupport2: the audio and video
    /// formats and file types the device plays.
    ///
    /// # Errors
    /// As [`Device::name`].
    fn format_support(&self) -> Result<FormatSupport>;

    /// IMDSPDevice::SendOpaqueCommand. The MAC of the command is checked and set by the
    /// channel layer.
    ///
    /// # Errors
    /// [`Error::NotSupported`] by default.
    fn send_opaque_command(&self, command: &mut OpaqueCommand) -> Result<()> {
        let _ = command;
        Err(Error::NotSupported)
    }

    /// IMDSPDevice2::GetStorage: a top-level storage by name.
    ///
    /// # Errors
    /// [`Error::FileNotFound`] when no storage has that name.
    fn storage(&self, name: &str) -> Result<StorageRef> {
        for s in self.storages()? {
            if s.name()? == name {
                return Ok(s);
            }
        }
        Err(Error::FileNotFound)
    }

    /// IMDSPDevice2::GetCanonicalName: the name that tells this device from every other one
    /// of the host (Windows uses the Plug and Play name; the folder provider the folder's
    /// path). The device manager finds devices by it and sync discovery lists only devices
    /// that have one.
    ///
    /// The default is `manufacturer/name`, with `#` and the serial number in hex when
    /// [`serial_number`](Self::serial_number) gives one: unique as long as the provider's
    /// devices differ in name or serial. Override it when the host has a better name.
    ///
    /// # Errors
    /// The errors of [`name`](Self::name) (the manufacturer and serial are optional).
    fn canonical_name(&self) -> Result<String> {
        let mut out = format!(
            "{}/{}",
            self.manufacturer().unwrap_or_default(),
            self.name()?
        );
        if let Ok(id) = self.serial_number()
            && !id.serial().is_empty()
        {
            out.push('#');
            out.push_str(&hex::encode_upper(id.serial()));
        }
        Ok(out)
    }

    /// IMDSPDevice3::GetProperty: a device property by name (`metadata::device::*`).
    ///
    /// # Errors
    /// [`Error::NotSupported`] for an unknown property (and by default).
    fn property(&self, name: &str) -> Result<PropValue> {
        let _ = name;
        Err(Error::NotSupported)
    }

    /// IMDSPDevice3::SetProperty.
    ///
    /// # Errors
    /// [`Error::NotSupported`] for a read-only or unknown property (and by default);
    /// [`Error::InvalidArg`] for a value of the wrong type.
    fn set_property(&self, name: &str, value: &PropValue) -> Result<()> {
        let _ = (name, value);
        Err(Error::NotSupported)
    }

    /// IMDSPDevice3::GetFormatCapability: what property values the device accepts for a format.
    ///
    /// # Errors
    /// [`Error::NotSupported`] for formats the device does not play (and by default).
    fn format_capability(&self, format: FormatCode) -> Result<FormatCapability> {
        let _ = format;
        Err(Error::NotSupported)
    }

    /// IMDSPDevice3::DeviceIoControl: a private control channel; returns at most `max_output`
    /// bytes.
    ///
    /// # Errors
    /// [`Error::NotSupported`] for unknown codes (and by default);
    /// [`Error::BufferTooSmall`] when the reply does not fit in `max_output`.
    fn io_control(&self, code: u32, input: &[u8], max_output: usize) -> Result<Vec<u8>> {
        let _ = (code, input, max_output);
        Err(Error::NotSupported)
    }

    /// IMDSPDevice3::FindStorage: a storage by persistent unique ID.
    ///
    /// The default searches every storage tree with [`Storage::find_storage`].
    ///
    /// # Errors
    /// [`Error::FileNotFound`] when nothing has that ID.
    fn find_storage(&self, scope: FindScope, unique_id: &str) -> Result<StorageRef> {
        for root in self.storages()? {
            if root.unique_id()? == unique_id {
                return Ok(root);
            }
            if scope == FindScope::GLOBAL {
                match root.find_storage(scope, unique_id) {
                    Ok(found) => return Ok(found),
                    Err(err) if err == Error::FileNotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Err(Error::FileNotFound)
    }
    /// Crate extension, not a WMDM method: the durability barrier. Every change this device
    /// completed before the call is durable (survives a power cut or a crash of the device)
    /// when it returns. A caller that orders its own writes (a journal: data, then the record
    /// that commits it) calls it between the steps whose order must survive a crash.
    ///
    /// The default returns `Ok(())`, which is the correct answer for a provider whose every
    /// completed operation is already durable when it returns (as WMDM expects of a device,
    /// and as a device that commits each call does). A provider that defers its syncs (the
    /// folder provider with [`Durability::AtFlush`](crate::providers::fs::Durability::AtFlush))
    /// makes them here.
    ///
    /// # Errors
    /// [`Error::DeviceNotConnected`]; I/O errors of the syncs (then nothing is known about
    /// what became durable).
    fn flush(&self) -> Result<()> {
        Ok(())
    }

    /// Crate extension, not a WMDM method: takes the device's writer lock for `holder`, held
    /// until the returned guard is dropped (see the [`lock`](self::WriterLock) docs). A sync
    /// session and the creation of a partnership hold it, so that one writer at a time changes
    /// the device. A provider releases the lock of a holder that died without dropping it.
    ///
    /// The default returns [`Error::NotSupported`]: a provider that cannot model the lock
    /// says so, and the sync then runs without one.
    ///
    /// # Errors
    /// [`Error::Busy`] while another holder has it (then [`writer_holder`](Self::writer_holder)
    /// names it); [`Error::WriteProtected`] for a device opened read-only; I/O errors.
    fn lock_writer(&self, holder: &LockHolder) -> Result<WriterLock> {
        let _ = holder;
        Err(Error::NotSupported)
    }

    /// Crate extension, not a WMDM method: who holds the writer lock now, if anyone.
    ///
    /// # Errors
    /// [`Error::NotSupported`] by default (see [`lock_writer`](Self::lock_writer)); I/O errors.
    fn writer_holder(&self) -> Result<Option<LockHolder>> {
        Err(Error::NotSupported)
    }
}

/// IMDSPStorage / 2 / 3 / 4 together with IMDSPObject / IMDSPObject2: a file, folder, abstract
/// object (playlist, album) or the root of a medium.
///
/// A handle stays valid across renames and moves. Once the object is deleted, or its device is
/// gone, calls fail with [`Error::InterfaceDead`] or [`Error::DeviceNotConnected`].
pub trait Storage: Send + Sync + fmt::Debug {
    /// The object's persistent unique ID (`WMDM/PersistentUniqueID`): stable for the life of
    /// the object, across renames, moves and runs. FindStorage, references and moves use it.
    ///
    /// # Errors
    /// [`Error::InterfaceDead`] for a deleted object.
    fn unique_id(&self) -> Result<String>;

    /// IMDSPStorage::GetStorageGlobals: the medium this object lives on.
    ///
    /// # Errors
    /// [`Error::InterfaceDead`] for a deleted object.
    fn globals(&self) -> Result<GlobalsRef>;

    /// IMDSPStorage::GetAttributes and IMDSPStorage2::GetAttributes2.
    ///
    /// # Errors
    /// [`Error::InterfaceDead`] for a deleted object.
    fn attributes(&self) -> Result<ObjectAttributes>;

    /// IMDSPStorage::SetAttributes and IMDSPStorage2::SetAttributes2.
    ///
    /// # Errors
    /// [`Error::NotSupported`] by default; [`Error::InvalidArg`] for attributes that cannot be
    /// changed (turning a file into a folder).
    fn set_attributes(&self, attributes: &ObjectAttributes) -> Result<()> {
        let _ = attributes;
        Err(Error::NotSupported)
    }

    /// IMDSPStorage::GetName.
    ///
    /// # Errors
    /// [`Error::InterfaceDead`] for a deleted object.
    fn name(&self) -> Result<String>;

    /// IMDSPStorage::GetDate: last modified, UTC.
    ///
    /// # Errors
    /// [`Error::InterfaceDead`] for a deleted object.
    fn date(&self) -> Result<WmdmDateTime>;

    /// Crate extension, not a WMDM method: the last-modified time with the full precision the
    /// medium keeps (GetDate's has whole seconds), or `None` where it keeps no finer time than
    /// [`date`](Self::date) (the default). The sync takes it as a change marker, so an object
    /// changed again within the second of its last sync is still told apart.
    ///
    /// # Errors
    /// As [`date`](Self::date).
    fn modified_precise(&self) -> Result<Option<std::time::SystemTime>> {
        Ok(None)
    }

    /// IMDSPStorage::GetSize: the size in bytes (of the data, for a file; providers define it
    /// for folders, usually 0).
    ///
    /// # Errors
    /// [`Error::InterfaceDead`] for a deleted object.
    fn size(&self) -> Result<u64>;

    /// IMDSPStorage::GetRights. The MAC over the rights is added by the channel layer.
    ///
    /// # Errors
    /// [`Error::NotSupported`] by default.
    fn rights(&self) -> Result<Vec<RightsRecord>> {
        Err(Error::NotSupported)
    }

    /// IMDSPStorage::CreateStorage, IMDSPStorage2::CreateStorage2 and
    /// IMDSPStorage4::CreateStorageWithMetadata: creates a file or folder relative to this
    /// object ([`Placement::Into`] a folder, or `Before` / `After` this object as a sibling).
    ///
    /// A created file is empty until written through [`Storage::open`]. Providers that write
    /// through temporary files may keep a new file out of listings until its first write is
    /// closed.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`] when the name is taken (without `CREATE_OVERWRITE`);
    /// [`Error::InvalidName`] for a bad name; [`Error::InvalidType`] for `Into` a file;
    /// [`Error::DiskFull`]; [`Error::WriteProtected`].
    fn create(&self, request: &CreateRequest) -> Result<StorageRef>;

    /// IMDSPStorage::EnumStorage: the children of a folder, in the provider's stable order.
    ///
    /// # Errors
    /// [`Error::InvalidType`] for a file; [`Error::InterfaceDead`] for a deleted object.
    fn children(&self) -> Result<Vec<StorageRef>>;

    /// IMDSPStorage::SendOpaqueCommand.
    ///
    /// # Errors
    /// [`Error::NotSupported`] by default.
    fn send_opaque_command(&self, command: &mut OpaqueCommand) -> Result<()> {
        let _ = command;
        Err(Error::NotSupported)
    }

    /// IMDSPStorage2::GetStorage: a child by name.
    ///
    /// # Errors
    /// [`Error::FileNotFound`] when no child has that name.
    fn child(&self, name: &str) -> Result<StorageRef> {
        for c in self.children()? {
            if c.name()? == name {
                return Ok(c);
            }
        }
        Err(Error::FileNotFound)
    }

    /// IMDSPStorage3::GetMetadata: every property the provider has for this object.
    ///
    /// # Errors
    /// [`Error::NotSupported`] by default.
    fn metadata(&self) -> Result<Metadata> {
        Err(Error::NotSupported)
    }

    /// IMDSPStorage3::SetMetadata. Returns [`Status::NotAllPropertiesApplied`] when some
    /// properties were kept and others dropped.
    ///
    /// # Errors
    /// [`Error::NotSupported`] by default, or when no property could be applied.
    fn set_metadata(&self, metadata: &Metadata) -> Result<Status> {
        let _ = metadata;
        Err(Error::NotSupported)
    }

    /// IMDSPStorage4::SetReferences: the objects an abstract object (playlist, album) points
    /// to, in order; an empty slice clears them.
    ///
    /// # Errors
    /// [`Error::NotSupported`] by default; [`Error::InvalidType`] when this object cannot hold
    /// references.
    fn set_references(&self, references: &[StorageRef]) -> Result<()> {
        let _ = references;
        Err(Error::NotSupported)
    }

    /// IMDSPStorage4::GetReferences.
    ///
    /// # Errors
    /// [`Error::NotSupported`] by default.
    fn references(&self) -> Result<Vec<StorageRef>> {
        Err(Error::NotSupported)
    }

    /// IMDSPStorage4::GetSpecifiedMetadata: only the named properties.
    ///
    /// The default filters [`Storage::metadata`]: some missing gives
    /// [`Status::NotAllPropertiesRetrieved`], all missing gives [`Error::NotSupported`].
    ///
    /// # Errors
    /// [`Error::NotSupported`] when none of the properties can be returned.
    fn specified_metadata(&self, names: &[&str]) -> Result<(Metadata, Status)> {
        let all = self.metadata()?;
        let (subset, complete) = all.retain_names(names);
        if subset.is_empty() && !names.is_empty() {
            Err(Error::NotSupported)
        } else if complete {
            Ok((subset, Status::Ok))
        } else {
            Ok((subset, Status::NotAllPropertiesRetrieved))
        }
    }

    /// IMDSPStorage4::FindStorage: an object under this one by persistent unique ID, among the
    /// immediate children or anywhere below.
    ///
    /// The default walks [`Storage::children`] breadth-first.
    ///
    /// # Errors
    /// [`Error::FileNotFound`] when nothing has that ID.
    fn find_storage(&self, scope: FindScope, unique_id: &str) -> Result<StorageRef> {
        if !self.attributes()?.attributes.is_folder() {
            return Err(Error::FileNotFound);
        }
        let mut queue: std::collections::VecDeque<StorageRef> = self.children()?.into();
        while let Some(s) = queue.pop_front() {
            if s.unique_id()? == unique_id {
                return Ok(s);
            }
            if scope == FindScope::GLOBAL && s.attributes()?.attributes.is_folder() {
                queue.extend(s.children()?);
            }
        }
        Err(Error::FileNotFound)
    }

    /// IMDSPStorage4::GetParent: the folder that holds this object; `None` for a root.
    ///
    /// # Errors
    /// [`Error::NotSupported`] by default.
    fn parent(&self) -> Result<Option<StorageRef>> {
        Err(Error::NotSupported)
    }

    /// IMDSPObject::Open: opens a file's data for reading or writing.
    ///
    /// Providers that allow only one open file at a time return
    /// [`Error::TooManyOpenFiles`] for a second open.
    ///
    /// # Errors
    /// [`Error::InvalidType`] for a folder; [`Error::InvalidArg`] for a bad mode;
    /// [`Error::TooManyOpenFiles`]; [`Error::WriteProtected`] or [`Error::AccessDenied`] for
    /// writes to read-only objects or media.
    fn open(&self, mode: OpenMode) -> Result<Box<dyn ObjectIo>>;

    /// IMDSPObject::Delete: deletes this object; a non-empty folder needs `recursive`
    /// (`WMDM_MODE_RECURSIVE`). Progress ticks are objects deleted.
    ///
    /// # Errors
    /// [`Error::DirectoryNotEmpty`] for a non-empty folder without `recursive`;
    /// [`Error::AccessDenied`] for read-only objects; an error from `progress` cancels.
    fn delete(&self, recursive: bool, progress: &mut dyn Progress) -> Result<()>;

    /// IMDSPObject::Rename.
    ///
    /// # Errors
    /// [`Error::NotSupported`] by default; [`Error::AlreadyExists`]; [`Error::InvalidName`].
    fn rename(&self, new_name: &str, progress: &mut dyn Progress) -> Result<()> {
        let _ = (new_name, progress);
        Err(Error::NotSupported)
    }

    /// True when [`rename`](Self::rename) to a name another object of the folder holds (as
    /// [`child`](Self::child) would find it, under the medium's name rules) fails with
    /// [`Error::AlreadyExists`] and changes nothing, so that a caller need not look the name
    /// up before renaming. `false` by default: the caller looks first.
    fn refuses_taken_names(&self) -> bool {
        false
    }

    /// True when a file named `name` holding exactly `content`, created in this folder with
    /// `metadata` (as [`DirectTransfer::transfer_to_device`]'s
    /// [`TransferOptions::metadata`]), would store nothing of the metadata beyond what
    /// `content` already holds: the same file is then made with no metadata given. A device
    /// that reads tags from a file's bytes answers from `content` alone, so a caller may ask on
    /// another thread, ahead of the write (a sync asks while it reads the next files).
    /// `false` by default: the metadata is always given.
    fn content_holds_metadata(&self, name: &str, content: &[u8], metadata: &Metadata) -> bool {
        let _ = (name, content, metadata);
        false
    }

    /// IMDSPObject::Move: moves this object before, after or into `target` (on the same
    /// medium).
    ///
    /// # Errors
    /// [`Error::NotSupported`] by default; [`Error::NotSameDevice`] for a target elsewhere;
    /// [`Error::InvalidArg`] for a move into its own subtree; [`Error::AlreadyExists`].
    fn move_to(
        &self,
        placement: Placement,
        target: &dyn Storage,
        progress: &mut dyn Progress,
    ) -> Result<()> {
        let _ = (placement, target, progress);
        Err(Error::NotSupported)
    }

    /// True when this object implements IMDSPObject2 (ReadOnClearChannel /
    /// WriteOnClearChannel), so that the channel layer may skip encryption and MACs for its
    /// data.
    fn supports_clear_channel(&self) -> bool {
        false
    }

    /// IMDSPObjectInfo, when the object has one.
    fn object_info(&self) -> Option<&dyn ObjectInfo> {
        None
    }

    /// IMDSPDirectTransfer, when the provider copies content itself.
    fn direct_transfer(&self) -> Option<&dyn DirectTransfer> {
        None
    }
}

/// An open object's data: IMDSPObject::Read, Write, Seek and Close (and their IMDSPObject2
/// clear-channel forms, which move the same plaintext).
///
/// Dropping an `ObjectIo` without [`close`](ObjectIo::close) abandons it: a write session is
/// discarded and leaves the object as it was before `open`.
pub trait ObjectIo: Send + fmt::Debug {
    /// IMDSPObject::Read: reads up to `buf.len()` bytes at the current position; 0 at the end.
    ///
    /// # Errors
    /// [`Error::AccessDenied`] when not opened for reading; [`Error::DeviceNotConnected`].
    fn read(&mut self, buf: &mut [u8]) -> Result<usize>;

    /// IMDSPObject::Write: writes `data` at the current position; returns bytes written.
    ///
    /// # Errors
    /// [`Error::AccessDenied`] when not opened for writing; [`Error::DiskFull`];
    /// [`Error::DeviceNotConnected`].
    fn write(&mut self, data: &[u8]) -> Result<usize>;

    /// IMDSPObject::Seek: moves the position; `SeekOrigin::EOF` counts backwards from the end.
    /// Returns the new position.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] for an unknown origin or a position before the start or past the
    /// end; [`Error::NotSupported`] by default (Seek is optional in §6.3).
    fn seek(&mut self, origin: SeekOrigin, offset: u64) -> Result<u64> {
        let _ = (origin, offset);
        Err(Error::NotSupported)
    }

    /// IMDSPObject::Close: ends the session and, for a write session, makes the data visible.
    ///
    /// # Errors
    /// [`Error::DiskFull`], [`Error::DeviceNotConnected`] or an I/O error when committing.
    fn close(self: Box<Self>) -> Result<()>;
}

/// IMDSPStorageGlobals: a medium's totals, status, capabilities and format.
pub trait StorageGlobals: Send + Sync + fmt::Debug {
    /// IMDSPStorageGlobals::GetCapabilities. Must include `NOT_INITIALIZABLE` when
    /// [`StorageGlobals::initialize`] is not implemented.
    ///
    /// # Errors
    /// [`Error::DeviceNotConnected`] when the medium is gone.
    fn capabilities(&self) -> Result<StorageCapabilities>;

    /// IMDSPStorageGlobals::GetSerialNumber: the medium's serial (not the device's).
    ///
    /// # Errors
    /// [`Error::NotSupported`] by default.
    fn serial_number(&self) -> Result<WmdmId> {
        Err(Error::NotSupported)
    }

    /// IMDSPStorageGlobals::GetTotalSize, in bytes.
    ///
    /// # Errors
    /// As [`StorageGlobals::capabilities`].
    fn total_size(&self) -> Result<u64>;

    /// IMDSPStorageGlobals::GetTotalFree, in bytes.
    ///
    /// # Errors
    /// As [`StorageGlobals::capabilities`].
    fn total_free(&self) -> Result<u64>;

    /// IMDSPStorageGlobals::GetTotalBad, in bytes.
    ///
    /// # Errors
    /// As [`StorageGlobals::capabilities`].
    fn total_bad(&self) -> Result<u64>;

    /// IMDSPStorageGlobals::GetStatus.
    ///
    /// # Errors
    /// As [`StorageGlobals::capabilities`].
    fn status(&self) -> Result<DeviceStatus>;

    /// IMDSPStorageGlobals::Initialize: formats the medium (everything on it is deleted).
    /// Progress ticks are objects removed.
    ///
    /// # Errors
    /// [`Error::NotSupported`] by default; [`Error::WriteProtected`]; an error from
    /// `progress` cancels before anything is removed.
    fn initialize(&self, mode: Mode, progress: &mut dyn Progress) -> Result<()> {
        let _ = (mode, progress);
        Err(Error::NotSupported)
    }

    /// IMDSPStorageGlobals::GetDevice.
    ///
    /// # Errors
    /// [`Error::DeviceNotConnected`] when the device is gone.
    fn device(&self) -> Result<DeviceRef>;

    /// IMDSPStorageGlobals::GetRootStorage.
    ///
    /// # Errors
    /// As [`StorageGlobals::device`].
    fn root_storage(&self) -> Result<StorageRef>;
}

/// IMDSPObjectInfo: playback positions of an object. The whole interface is optional; each
/// method defaults to [`Error::NotSupported`]. Units are the provider's (WMDM leaves them
/// undocumented); this crate's providers use milliseconds.
pub trait ObjectInfo: Send + Sync + fmt::Debug {
    /// IMDSPObjectInfo::GetPlayLength.
    ///
    /// # Errors
    /// [`Error::NotSupported`] by default.
    fn play_length(&self) -> Result<u32> {
        Err(Error::NotSupported)
    }

    /// IMDSPObjectInfo::SetPlayLength.
    ///
    /// # Errors
    /// [`Error::NotSupported`] by default.
    fn set_play_length(&self, length: u32) -> Result<()> {
        let _ = length;
        Err(Error::NotSupported)
    }

    /// IMDSPObjectInfo::GetPlayOffset.
    ///
    /// # Errors
    /// [`Error::NotSupported`] by default.
    fn play_offset(&self) -> Result<u32> {
        Err(Error::NotSupported)
    }

    /// IMDSPObjectInfo::SetPlayOffset.
    ///
    /// # Errors
    /// [`Error::NotSupported`] by default.
    fn set_play_offset(&self, offset: u32) -> Result<()> {
        let _ = offset;
        Err(Error::NotSupported)
    }

    /// IMDSPObjectInfo::GetTotalLength.
    ///
    /// # Errors
    /// [`Error::NotSupported`] by default.
    fn total_length(&self) -> Result<u32> {
        Err(Error::NotSupported)
    }

    /// IMDSPObjectInfo::GetLastPlayPosition.
    ///
    /// # Errors
    /// [`Error::NotSupported`] by default.
    fn last_play_position(&self) -> Result<u32> {
        Err(Error::NotSupported)
    }

    /// IMDSPObjectInfo::GetLongestPlayPosition.
    ///
    /// # Errors
    /// [`Error::NotSupported`] by default.
    fn longest_play_position(&self) -> Result<u32> {
        Err(Error::NotSupported)
    }
}

/// Where a direct transfer's content comes from (`pwszSourceFilePath` or
/// `pSourceOperation`; giving both is `E_INVALIDARG`, which this type rules out).
pub enum TransferSource<'a> {
    /// A file on the host.
    File(&'a Path),
    /// A stream of known length (the role IWMDMOperation plays).
    Reader {
        /// The data.
        reader: &'a mut (dyn Read + Send),
        /// The total number of bytes the reader yields.
        size: u64,
    },
}

impl fmt::Debug for TransferSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransferSource::File(p) => f.debug_tuple("File").field(p).finish(),
            TransferSource::Reader { size, .. } => f
                .debug_struct("Reader")
                .field("size", size)
                .finish_non_exhaustive(),
        }
    }
}

/// Options of IMDSPDirectTransfer::TransferToDevice.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TransferOptions {
    /// `pwszDestinationName` (required).
    pub destination_name: String,
    /// `WMDM_FILE_CREATE_OVERWRITE`.
    pub overwrite: bool,
    /// `pSourceMetaData`.
    pub metadata: Option<Metadata>,
    /// Not part of WMDM: the destination name is already the caller's own temporary name,
    /// unique to it and recorded by it before the call (a sync's journaled temporary file,
    /// which it renames into place or deletes itself). A provider may then write the data
    /// under that name directly, with no temporary file of its own; one that does refuses a
    /// taken name with [`Error::AlreadyExists`] whatever its name policy. A provider may
    /// ignore it: the result is the same file, written the provider's usual way.
    pub temporary: bool,
}

/// IMDSPDirectTransfer: the provider copies content to the device itself, into the folder it
/// is obtained from.
pub trait DirectTransfer: Send + Sync + fmt::Debug {
    /// IMDSPDirectTransfer::TransferToDevice. Progress ticks are bytes; cancelling leaves no
    /// partial object.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] for an empty destination name; [`Error::AlreadyExists`] without
    /// `overwrite`; [`Error::DiskFull`]; [`Error::UserCancelled`] (or the progress sink's
    /// error) when cancelled; I/O errors reading the source.
    fn transfer_to_device(
        &self,
        source: TransferSource<'_>,
        options: &TransferOptions,
        progress: &mut dyn Progress,
    ) -> Result<StorageRef>;
}

/// Collects every object under `root` (not `root` itself), depth-first, in each folder's
/// listing order.
///
/// # Errors
/// The first error a storage returns.
pub fn walk(root: &dyn Storage) -> Result<Vec<StorageRef>> {
    let mut out = Vec::new();
    let mut stack: Vec<StorageRef> = root.children()?.into_iter().rev().collect();
    while let Some(s) = stack.pop() {
        if s.attributes()?.attributes.is_folder() {
            stack.extend(s.children()?.into_iter().rev());
        }
        out.push(s);
    }
    Ok(out)
}
