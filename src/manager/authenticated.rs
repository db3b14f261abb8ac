//! The provider side of the channel: a provider together with its IComponentAuthenticate, and
//! handles that check authentication before every call.
//!
//! WMDM asks every provider method to start with `if (!fIsAuthenticated()) return
//! WMDM_E_NOTCERTIFIED;` (Microsoft's reference: <https://learn.microsoft.com/en-us/windows/win32/wmdm/component-authentication>). Here the provider author never writes that line:
//! the manager only ever reaches a provider through [`AuthenticatedProvider`] and the handles
//! it hands out, and each of their methods checks the channel first.

use std::fmt;
use std::sync::Arc;

use super::io::AuthenticatedIo;
use crate::error::{Error, Result, Status};
use crate::flags::{
    DeviceEnumPreference, DeviceStatus, DeviceType, FindScope, Mode, OpenMode, Placement,
    StorageCapabilities,
};
use crate::metadata::{FormatCode, Metadata, PropValue};
use crate::provider::{
    DeviceRef, FormatCapability, FormatSupport, GlobalsRef, Icon, ObjectAttributes, OpaqueCommand,
    PowerInfo, Progress, RightsRecord, ServiceProvider, StorageRef, TransferOptions,
    TransferSource, WmdmId,
};
use crate::sac::{AuthGate, ComponentAuthenticate, MAC_LEN, SecureChannelServer, Session};
use crate::time::WmdmDateTime;

pub(crate) struct Shared {
    provider: Arc<dyn ServiceProvider>,
    gate: AuthGate,
}

impl Shared {
    /// `fIsAuthenticated()` or `WMDM_E_NOTCERTIFIED`.
    pub(crate) fn check(&self) -> Result<()> {
        self.gate.check()
    }

    /// Runs `f` with the authenticated session.
    pub(crate) fn with_session<T>(&self, f: impl FnOnce(&mut Session) -> Result<T>) -> Result<T> {
        self.gate.with_session(f)
    }
}

/// The provider side of SendOpaqueCommand: check the caller's MAC, run the command, MAC the
/// reply.
fn opaque(
    shared: &Shared,
    command: &mut OpaqueCommand,
    run: impl FnOnce(&mut OpaqueCommand) -> Result<()>,
) -> Result<()> {
    shared.check()?;
    let guid = command.command.to_bytes_le();
    shared.with_session(|s| s.verify_opaque_mac(&guid, &command.data, &command.mac))?;
    run(command)?;
    let guid = command.command.to_bytes_le();
    command.mac = shared.with_session(|s| s.opaque_mac(&guid, &command.data))?;
    Ok(())
}

/// A service provider as the manager sees it: the provider's objects plus its
/// IComponentAuthenticate side (a [`SecureChannelServer`] holding the provider's certificate
/// and key).
///
/// Every method, and every method of the handles it returns, fails with
/// [`Error::NotCertified`] until a client has completed the handshake through
/// [`ComponentAuthenticate::sac_auth`].
#[derive(Clone)]
pub struct AuthenticatedProvider {
    shared: Arc<Shared>,
}

impl fmt::Debug for AuthenticatedProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticatedProvider")
            .field("provider", &self.shared.provider)
            .field("authenticated", &self.is_authenticated())
            .finish()
    }
}

impl AuthenticatedProvider {
    /// Wraps a provider with its secure-channel server.
    pub fn new(provider: Arc<dyn ServiceProvider>, channel: SecureChannelServer) -> Self {
        AuthenticatedProvider {
            shared: Arc::new(Shared {
                provider,
                gate: AuthGate::new(channel),
            }),
        }
    }

    /// fIsAuthenticated.
    pub fn is_authenticated(&self) -> bool {
        self.shared.check().is_ok()
    }

    /// Drops the session: every call fails with [`Error::NotCertified`] until the next
    /// handshake.
    pub fn reset_channel(&self) {
        self.shared.gate.reset();
    }

    /// IMDServiceProvider::GetDeviceCount.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors.
    pub fn device_count(&self) -> Result<u32> {
        self.shared.check()?;
        self.shared.provider.device_count()
    }

    /// IMDServiceProvider::EnumDevices.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors.
    pub fn devices(&self) -> Result<Vec<AuthenticatedDevice>> {
        self.shared.check()?;
        Ok(self
            .shared
            .provider
            .devices()?
            .into_iter()
            .map(|device| AuthenticatedDevice {
                shared: self.shared.clone(),
                device,
            })
            .collect())
    }

    /// IMDServiceProvider3::SetDeviceEnumPreference.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors.
    pub fn set_device_enum_preference(&self, preference: DeviceEnumPreference) -> Result<()> {
        self.shared.check()?;
        self.shared.provider.set_device_enum_preference(preference)
    }

    /// IMDSPRevoked::GetRevocationURL.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors.
    pub fn revocation_url(&self) -> Result<String> {
        self.shared.check()?;
        self.shared.provider.revocation_url()
    }
}

impl ComponentAuthenticate for AuthenticatedProvider {
    fn sac_get_protocols(&self) -> Vec<u32> {
        self.shared.gate.protocols()
    }

    fn sac_auth(&mut self, protocol: u32, pass: u32, data: &[u8]) -> Result<Vec<u8>> {
        self.shared.gate.sac_auth(protocol, pass, data)
    }
}

/// A device reached through an authenticated provider.
#[derive(Clone)]
pub struct AuthenticatedDevice {
    shared: Arc<Shared>,
    device: DeviceRef,
}

impl fmt::Debug for AuthenticatedDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticatedDevice")
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

/// Declares checked delegating methods: `name(args) -> T` calls the inner object's method of
/// the same name after the authentication check.
macro_rules! checked {
    ($field:ident; $( $(#[$m:meta])* fn $name:ident(&self $(, $arg:ident : $ty:ty)*) -> $ret:ty; )*) => {
        $(
            $(#[$m])*
            ///
            /// # Errors
            /// [`Error::NotCertified`] before authentication; otherwise the provider's errors.
            pub fn $name(&self $(, $arg: $ty)*) -> Result<$ret> {
                self.shared.check()?;
                self.$field.$name($($arg),*)
            }
        )*
    };
}

impl AuthenticatedDevice {
    device_methods!(checked, device, "IMDSP");

    /// IMDSPDevice::SendOpaqueCommand: the caller's MAC over the command is checked before the
    /// provider sees it, and the reply is MAC'd (see [`OpaqueCommand::mac`]).
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; [`Error::MacCheckFailed`] when the
    /// command's MAC does not match; the provider's errors.
    pub fn send_opaque_command(&self, command: &mut OpaqueCommand) -> Result<()> {
        opaque(&self.shared, command, |c| {
            self.device.send_opaque_command(c)
        })
    }

    fn storage_handle(&self, storage: StorageRef) -> AuthenticatedStorage {
        AuthenticatedStorage {
            shared: self.shared.clone(),
            storage,
        }
    }

    /// IMDSPDevice::GetSerialNumber: the serial and the provider's MAC over the WMDMID
    /// structure (§4.3).
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors.
    pub fn serial_number(&self) -> Result<(WmdmId, [u8; MAC_LEN])> {
        self.shared.check()?;
        let id = self.device.serial_number()?;
        let mac = self
            .shared
            .with_session(|s| Ok(s.mac(&[&id.to_struct_bytes()])))?;
        Ok((id, mac))
    }

    /// IMDSPDevice::EnumStorage.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors.
    pub fn storages(&self) -> Result<Vec<AuthenticatedStorage>> {
        self.shared.check()?;
        Ok(self
            .device
            .storages()?
            .into_iter()
            .map(|s| self.storage_handle(s))
            .collect())
    }

    /// IMDSPDevice2::GetStorage.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors.
    pub fn storage(&self, name: &str) -> Result<AuthenticatedStorage> {
        self.shared.check()?;
        Ok(self.storage_handle(self.device.storage(name)?))
    }

    /// IMDSPDevice3::FindStorage.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors.
    pub fn find_storage(&self, scope: FindScope, unique_id: &str) -> Result<AuthenticatedStorage> {
        self.shared.check()?;
        Ok(self.storage_handle(self.device.find_storage(scope, unique_id)?))
    }
}

/// A storage reached through an authenticated provider.
#[derive(Clone)]
pub struct AuthenticatedStorage {
    shared: Arc<Shared>,
    storage: StorageRef,
}

impl fmt::Debug for AuthenticatedStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticatedStorage")
            .field("storage", &self.storage)
            .finish_non_exhaustive()
    }
}

impl AuthenticatedStorage {
    storage_methods!(checked, storage, "IMDSP");

    checked! { storage;
        /// IMDSPObject::Delete.
        fn delete(&self, recursive: bool, progress: &mut dyn Progress) -> ();
        /// IMDSPObject::Rename.
        fn rename(&self, new_name: &str, progress: &mut dyn Progress) -> ();
    }

    /// IMDSPStorage::SendOpaqueCommand, with the same MAC checks as the device's.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; [`Error::MacCheckFailed`]; the
    /// provider's errors.
    pub fn send_opaque_command(&self, command: &mut OpaqueCommand) -> Result<()> {
        opaque(&self.shared, command, |c| {
            self.storage.send_opaque_command(c)
        })
    }

    pub(crate) fn wrap(&self, storage: StorageRef) -> AuthenticatedStorage {
        AuthenticatedStorage {
            shared: self.shared.clone(),
            storage,
        }
    }

    /// `fIsAuthenticated()` or `WMDM_E_NOTCERTIFIED`.
    pub(crate) fn check(&self) -> Result<()> {
        self.shared.check()
    }

    /// The provider's object behind the handle.
    pub(crate) fn raw(&self) -> &StorageRef {
        &self.storage
    }

    /// The type flags of the device this object lives on.
    pub(crate) fn device_type(&self) -> Result<DeviceType> {
        self.shared.check()?;
        self.storage.globals()?.device()?.device_type()
    }

    /// True when both handles go through the same provider wrapper.
    pub(crate) fn same_provider(&self, other: &AuthenticatedStorage) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Whether the object offers IMDSPDirectTransfer.
    pub fn supports_direct_transfer(&self) -> bool {
        self.storage.direct_transfer().is_some()
    }

    /// IMDSPDirectTransfer::TransferToDevice: the provider copies the content itself, into
    /// this folder. Object data does not cross the channel's Read/Write then (WMDM hands the
    /// provider raw control), but the call is still refused without authentication.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; [`Error::NotSupported`] when the object
    /// has no direct transfer; the provider's errors.
    pub fn transfer_to_device(
        &self,
        source: TransferSource<'_>,
        options: &TransferOptions,
        progress: &mut dyn Progress,
    ) -> Result<AuthenticatedStorage> {
        self.shared.check()?;
        let direct = self.storage.direct_transfer().ok_or(Error::NotSupported)?;
        Ok(self.wrap(direct.transfer_to_device(source, options, progress)?))
    }

    /// Whether the object offers IMDSPObject2 (the clear channel).
    pub fn supports_clear_channel(&self) -> bool {
        self.storage.supports_clear_channel()
    }

    /// IMDSPStorage::GetRights, with the provider's MAC over the rights array and the count.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors.
    pub fn rights(&self) -> Result<(Vec<RightsRecord>, [u8; MAC_LEN])> {
        self.shared.check()?;
        let rights = self.storage.rights()?;
        let mut bytes = Vec::with_capacity(rights.len() * RightsRecord::STRUCT_SIZE);
        for r in &rights {
            bytes.extend_from_slice(&r.to_struct_bytes());
        }
        let count = u32::try_from(rights.len()).map_err(|_| Error::InvalidArg)?;
        let mac = self
            .shared
            .with_session(|s| Ok(s.mac(&[&bytes, &count.to_le_bytes()])))?;
        Ok((rights, mac))
    }

    /// IMDSPStorage::GetStorageGlobals.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors.
    pub fn globals(&self) -> Result<AuthenticatedGlobals> {
        self.shared.check()?;
        Ok(AuthenticatedGlobals {
            shared: self.shared.clone(),
            globals: self.storage.globals()?,
        })
    }

    /// IMDSPStorage::CreateStorage (and its later forms).
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors.
    pub fn create(&self, request: &crate::provider::CreateRequest) -> Result<AuthenticatedStorage> {
        self.shared.check()?;
        Ok(self.wrap(self.storage.create(request)?))
    }

    /// IMDSPStorage::EnumStorage.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors.
    pub fn children(&self) -> Result<Vec<AuthenticatedStorage>> {
        self.shared.check()?;
        Ok(self
            .storage
            .children()?
            .into_iter()
            .map(|s| self.wrap(s))
            .collect())
    }

    /// IMDSPStorage2::GetStorage.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors.
    pub fn child(&self, name: &str) -> Result<AuthenticatedStorage> {
        self.shared.check()?;
        Ok(self.wrap(self.storage.child(name)?))
    }

    /// IMDSPStorage4::SetReferences.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; [`Error::NotSameDevice`] for a reference
    /// from another provider; the provider's errors.
    pub fn set_references(&self, references: &[AuthenticatedStorage]) -> Result<()> {
        self.shared.check()?;
        if references.iter().any(|r| !self.same_provider(r)) {
            return Err(Error::NotSameDevice);
        }
        let raw: Vec<StorageRef> = references.iter().map(|r| r.storage.clone()).collect();
        self.storage.set_references(&raw)
    }

    /// IMDSPStorage4::GetReferences.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors.
    pub fn references(&self) -> Result<Vec<AuthenticatedStorage>> {
        self.shared.check()?;
        Ok(self
            .storage
            .references()?
            .into_iter()
            .map(|s| self.wrap(s))
            .collect())
    }

    /// IMDSPStorage4::FindStorage.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors.
    pub fn find_storage(&self, scope: FindScope, unique_id: &str) -> Result<AuthenticatedStorage> {
        self.shared.check()?;
        Ok(self.wrap(self.storage.find_storage(scope, unique_id)?))
    }

    /// IMDSPStorage4::GetParent.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors.
    pub fn parent(&self) -> Result<Option<AuthenticatedStorage>> {
        self.shared.check()?;
        Ok(self.storage.parent()?.map(|s| self.wrap(s)))
    }

    /// IMDSPObject::Move.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; [`Error::NotSameDevice`] for a target
    /// behind another provider; the provider's errors.
    pub fn move_to(
        &self,
        placement: Placement,
        target: &AuthenticatedStorage,
        progress: &mut dyn Progress,
    ) -> Result<()> {
        self.shared.check()?;
        if !self.same_provider(target) {
            return Err(Error::NotSameDevice);
        }
        self.storage
            .move_to(placement, target.storage.as_ref(), progress)
    }

    /// IMDSPObject::Open.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors.
    pub fn open(&self, mode: OpenMode) -> Result<AuthenticatedIo> {
        self.shared.check()?;
        Ok(AuthenticatedIo::new(
            self.shared.clone(),
            self.storage.open(mode)?,
            self.storage.supports_clear_channel(),
        ))
    }
}

/// A medium's globals reached through an authenticated provider.
#[derive(Clone)]
pub struct AuthenticatedGlobals {
    shared: Arc<Shared>,
    globals: GlobalsRef,
}

impl fmt::Debug for AuthenticatedGlobals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticatedGlobals")
            .field("globals", &self.globals)
            .finish_non_exhaustive()
    }
}

impl AuthenticatedGlobals {
    globals_methods!(checked, globals, "IMDSP");

    /// IMDSPStorageGlobals::GetSerialNumber, with the provider's MAC over the WMDMID.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors.
    pub fn serial_number(&self) -> Result<(WmdmId, [u8; MAC_LEN])> {
        self.shared.check()?;
        let id = self.globals.serial_number()?;
        let mac = self
            .shared
            .with_session(|s| Ok(s.mac(&[&id.to_struct_bytes()])))?;
        Ok((id, mac))
    }
}
