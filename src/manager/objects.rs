//! IWMDMDevice/2/3, IWMDMStorage/2/3/4 and IWMDMStorageGlobals: the application's handles.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use super::authenticated::{AuthenticatedDevice, AuthenticatedGlobals, AuthenticatedStorage};
use super::progress3::{EventProgress, Progress3};
use super::views::{EnumPreference, MetadataView, build_views, wants_views};
use crate::error::{Error, Result, Status};
use crate::flags::{
    DeviceStatus, DeviceType, FindScope, Mode, StorageCapabilities, StorageEnumMode,
};
use crate::metadata::{FormatCode, Metadata, PropValue};
use crate::provider::{
    FormatCapability, FormatSupport, Icon, ObjectAttributes, OpaqueCommand, PowerInfo, Progress,
    RightsRecord, WmdmId, run_with_progress,
};
use crate::sac::{AuthGate, Session};
use crate::time::WmdmDateTime;

/// What every application handle carries: the application gate and the manager's session
/// with the provider behind the handle.
#[derive(Clone)]
pub(crate) struct Link {
    gate: Arc<AuthGate>,
    session: Arc<Mutex<Session>>,
}

impl Link {
    pub(crate) fn new(gate: Arc<AuthGate>, session: Arc<Mutex<Session>>) -> Link {
        Link { gate, session }
    }

    pub(crate) fn check(&self) -> Result<()> {
        self.gate.check()
    }

    pub(crate) fn session(&self) -> Result<MutexGuard<'_, Session>> {
        self.session.lock().map_err(|_| Error::Fail)
    }

    /// SendOpaqueCommand through the channel: MAC the command with the manager's session, let
    /// the provider side check it and MAC its reply, then check the reply's MAC.
    pub(crate) fn opaque(
        &self,
        command: &mut OpaqueCommand,
        send: impl FnOnce(&mut OpaqueCommand) -> Result<()>,
    ) -> Result<()> {
        self.check()?;
        let guid = command.command.to_bytes_le();
        command.mac = self.session()?.opaque_mac(&guid, &command.data)?;
        send(command)?;
        let guid = command.command.to_bytes_le();
        self.session()?
            .verify_opaque_mac(&guid, &command.data, &command.mac)
    }
}

/// Declares methods that check the application gate, then delegate to the authenticated
/// handle's method of the same name.
macro_rules! gated {
    ($field:ident; $( $(#[$m:meta])* fn $name:ident(&self $(, $arg:ident : $ty:ty)*) -> $ret:ty; )*) => {
        $(
            $(#[$m])*
            ///
            /// # Errors
            /// [`Error::NotCertified`] before the application has authenticated (or when the
            /// provider's channel is not authenticated); otherwise the provider's errors.
            pub fn $name(&self $(, $arg: $ty)*) -> Result<$ret> {
                self.link.check()?;
                self.$field.$name($($arg),*)
            }
        )*
    };
}

/// IWMDMDevice, IWMDMDevice2, IWMDMDevice3: a device, as the application sees it.
#[derive(Clone)]
pub struct WmdmDevice {
    link: Link,
    device: AuthenticatedDevice,
    provider: usize,
}

impl fmt::Debug for WmdmDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WmdmDevice")
            .field("device", &self.device)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

impl WmdmDevice {
    pub(crate) fn new(link: Link, device: AuthenticatedDevice, provider: usize) -> WmdmDevice {
        WmdmDevice {
            link,
            device,
            provider,
        }
    }

    /// The index of the provider this device comes from (as returned by
    /// [`DeviceManager::add_provider`](super::DeviceManager::add_provider)).
    pub fn provider_index(&self) -> usize {
        self.provider
    }

    device_methods!(gated, device, "IWMDM");

    /// IWMDMDevice::SendOpaqueCommand. The command travels with a MAC over its GUID, length
    /// and data, checked on the provider side; the reply comes back with the provider's MAC,
    /// checked here. On return `command.mac` holds the provider's MAC.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; [`Error::MacCheckFailed`] when either
    /// MAC does not match; [`Error::InvalidArg`] for data over 4 GiB; the provider's errors.
    pub fn send_opaque_command(&self, command: &mut OpaqueCommand) -> Result<()> {
        self.link
            .opaque(command, |c| self.device.send_opaque_command(c))
    }

    fn wrap(&self, storage: AuthenticatedStorage) -> WmdmStorage {
        WmdmStorage {
            link: self.link.clone(),
            storage,
            preference: Arc::default(),
        }
    }

    /// IWMDMDevice::GetSerialNumber. The manager checks the provider's MAC over the WMDMID
    /// before handing the serial on.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; [`Error::MacCheckFailed`] when the
    /// provider's MAC does not match; the provider's errors.
    pub fn serial_number(&self) -> Result<WmdmId> {
        self.link.check()?;
        let (id, mac) = self.device.serial_number()?;
        self.link
            .session()?
            .verify_mac(&[&id.to_struct_bytes()], &mac)?;
        Ok(id)
    }

    /// IWMDMDevice::EnumStorage.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors.
    pub fn storages(&self) -> Result<Vec<WmdmStorage>> {
        self.link.check()?;
        Ok(self
            .device
            .storages()?
            .into_iter()
            .map(|s| self.wrap(s))
            .collect())
    }

    /// IWMDMDevice2::GetStorage.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors.
    pub fn storage(&self, name: &str) -> Result<WmdmStorage> {
        self.link.check()?;
        Ok(self.wrap(self.device.storage(name)?))
    }

    /// IWMDMDevice3::FindStorage.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors.
    pub fn find_storage(&self, scope: FindScope, unique_id: &str) -> Result<WmdmStorage> {
        self.link.check()?;
        Ok(self.wrap(self.device.find_storage(scope, unique_id)?))
    }
}

/// IWMDMStorage, IWMDMStorage2/3/4 and IWMDMStorageControl/2/3: an object on a device, as the
/// application sees it. The storage-control methods (insert, delete, rename, move, read) are
/// in the `control` part of this module.
#[derive(Clone)]
pub struct WmdmStorage {
    pub(crate) link: Link,
    pub(crate) storage: AuthenticatedStorage,
    /// SetEnumPreference's choice, shared by clones of this handle only.
    preference: Arc<Mutex<EnumPreference>>,
}

impl fmt::Debug for WmdmStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WmdmStorage")
            .field("storage", &self.storage)
            .finish_non_exhaustive()
    }
}

impl WmdmStorage {
    storage_methods!(gated, storage, "IWMDM");

    /// IWMDMStorage::SendOpaqueCommand, with the same MACs as
    /// [`WmdmDevice::send_opaque_command`].
    ///
    /// # Errors
    /// As [`WmdmDevice::send_opaque_command`].
    pub fn send_opaque_command(&self, command: &mut OpaqueCommand) -> Result<()> {
        self.link
            .opaque(command, |c| self.storage.send_opaque_command(c))
    }

    pub(crate) fn wrap(&self, storage: AuthenticatedStorage) -> WmdmStorage {
        WmdmStorage {
            link: self.link.clone(),
            storage,
            preference: Arc::default(),
        }
    }

    /// IWMDMStorage::GetRights. The manager checks the provider's MAC over the rights and
    /// their count.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; [`Error::MacCheckFailed`]; the
    /// provider's errors.
    pub fn rights(&self) -> Result<Vec<RightsRecord>> {
        self.link.check()?;
        let (rights, mac) = self.storage.rights()?;
        let mut bytes = Vec::with_capacity(rights.len() * RightsRecord::STRUCT_SIZE);
        for r in &rights {
            bytes.extend_from_slice(&r.to_struct_bytes());
        }
        let count = u32::try_from(rights.len()).map_err(|_| Error::InvalidArg)?;
        self.link
            .session()?
            .verify_mac(&[&bytes, &count.to_le_bytes()], &mac)?;
        Ok(rights)
    }

    /// IWMDMStorage4::GetRightsWithProgress: the same rights as [`rights`](WmdmStorage::rights)
    /// (with the same MAC check), reported between `begin(.., 1, ..)` and `end` as
    /// [`EVENT_WMDM_CONTENT_TRANSFER`](super::EVENT_WMDM_CONTENT_TRANSFER) with an empty
    /// context, with one `progress(.., 1, ..)` once the rights are in.
    ///
    /// # Errors
    /// As [`rights`](WmdmStorage::rights); [`Error::UserCancelled`] (or the callback's own
    /// error) when `begin` or `progress` fails; `end` then gets that error.
    pub fn rights_with_progress(&self, progress: &mut dyn Progress3) -> Result<Vec<RightsRecord>> {
        let mut events = EventProgress::transfer(progress);
        run_with_progress(&mut events, 1, |p| {
            let rights = self.rights()?;
            p.progress(1)?;
            Ok(rights)
        })
    }

    /// IWMDMStorage::GetStorageGlobals.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors.
    pub fn globals(&self) -> Result<WmdmStorageGlobals> {
        self.link.check()?;
        Ok(WmdmStorageGlobals {
            link: self.link.clone(),
            globals: self.storage.globals()?,
        })
    }

    /// IWMDMStorage::EnumStorage, laid out as this handle's
    /// [`set_enum_preference`](WmdmStorage::set_enum_preference) asks: the file-system layout
    /// (the default), or the virtual folders of metadata views (see
    /// [`MetadataView`]).
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors (for views, those
    /// of walking the tree and reading each file's metadata; a file whose provider does not
    /// support metadata counts as having none).
    pub fn children(&self) -> Result<Vec<WmdmStorage>> {
        self.link.check()?;
        let preference = self.preference.lock().map_err(|_| Error::Fail)?.clone();
        let raw = if wants_views(&preference, || self.storage.device_type())? {
            self.storage.check()?;
            build_views(self.storage.raw(), &preference.views)?
                .into_iter()
                .map(|s| self.storage.wrap(s))
                .collect()
        } else {
            self.storage.children()?
        };
        Ok(raw.into_iter().map(|s| self.wrap(s)).collect())
    }

    /// IWMDMStorage3::SetEnumPreference: how [`children`](WmdmStorage::children) lists this
    /// object's content from now on. [`StorageEnumMode::RAW`] is the file-system layout;
    /// [`StorageEnumMode::METADATA_VIEWS`] lists one virtual folder per view (`views`);
    /// [`StorageEnumMode::USE_DEVICE_PREF`] uses the views when the device's type has
    /// [`DeviceType::VIEW_PREF_METADATAVIEW`] (and views were given), else the raw layout.
    ///
    /// As in WMDM, the preference belongs to this storage object: it applies to this handle
    /// and its clones, not to other handles of the same object, nor to the handles
    /// `children()` returns (each starts raw).
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; [`Error::InvalidArg`] for an unknown
    /// mode, for `METADATA_VIEWS` without views, or for a view without tags.
    pub fn set_enum_preference(&self, mode: StorageEnumMode, views: &[MetadataView]) -> Result<()> {
        self.link.check()?;
        let preference = EnumPreference::new(mode, views)?;
        *self.preference.lock().map_err(|_| Error::Fail)? = preference;
        Ok(())
    }

    /// IWMDMStorage2::GetStorage.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors.
    pub fn child(&self, name: &str) -> Result<WmdmStorage> {
        self.link.check()?;
        Ok(self.wrap(self.storage.child(name)?))
    }

    /// IWMDMStorage4::SetReferences.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; [`Error::NotSameDevice`] for an object
    /// from another provider; the provider's errors.
    pub fn set_references(&self, references: &[WmdmStorage]) -> Result<()> {
        self.link.check()?;
        let refs: Vec<AuthenticatedStorage> =
            references.iter().map(|r| r.storage.clone()).collect();
        self.storage.set_references(&refs)
    }

    /// IWMDMStorage4::GetReferences.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors.
    pub fn references(&self) -> Result<Vec<WmdmStorage>> {
        self.link.check()?;
        Ok(self
            .storage
            .references()?
            .into_iter()
            .map(|s| self.wrap(s))
            .collect())
    }

    /// IWMDMStorage4::FindStorage.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors.
    pub fn find_storage(&self, scope: FindScope, unique_id: &str) -> Result<WmdmStorage> {
        self.link.check()?;
        Ok(self.wrap(self.storage.find_storage(scope, unique_id)?))
    }

    /// IWMDMStorage4::GetParent; `None` for a root.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors.
    pub fn parent(&self) -> Result<Option<WmdmStorage>> {
        self.link.check()?;
        Ok(self.storage.parent()?.map(|s| self.wrap(s)))
    }
}

/// IWMDMStorageGlobals.
#[derive(Clone)]
pub struct WmdmStorageGlobals {
    link: Link,
    globals: AuthenticatedGlobals,
}

impl fmt::Debug for WmdmStorageGlobals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WmdmStorageGlobals")
            .field("globals", &self.globals)
            .finish_non_exhaustive()
    }
}

impl WmdmStorageGlobals {
    globals_methods!(gated, globals, "IWMDM");

    /// IWMDMStorageGlobals::GetSerialNumber, after checking the provider's MAC.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; [`Error::MacCheckFailed`]; the
    /// provider's errors.
    pub fn serial_number(&self) -> Result<WmdmId> {
        self.link.check()?;
        let (id, mac) = self.globals.serial_number()?;
        self.link
            .session()?
            .verify_mac(&[&id.to_struct_bytes()], &mac)?;
        Ok(id)
    }
}
