//! The application side of WMDM: IWMDeviceManager/2/3, IWMDMDevice/2/3, IWMDMStorage/2/3/4,
//! IWMDMStorageGlobals, IWMDMStorageControl/2/3, with IWMDMProgress and IWMDMNotification.
//!
//! Two hops, both authenticated (Microsoft's reference: <https://learn.microsoft.com/en-us/windows/win32/wmdm/component-authentication>):
//!
//! ```text
//!  application ──SAC──► DeviceManager ──SAC──► AuthenticatedProvider ──► provider traits
//!   (client)            (server | client)      (server, checks every call)
//! ```
//!
//! * The application authenticates to the [`DeviceManager`] first
//!   ([`DeviceManager::authenticate`], or by driving [`ComponentAuthenticate`] itself); until
//!   then every entry point, and every handle obtained earlier, returns
//!   [`Error::NotCertified`](crate::Error::NotCertified).
//! * Providers are registered as [`AuthenticatedProvider`]s (the provider plus its
//!   [`SecureChannelServer`](crate::sac::SecureChannelServer)); the manager performs the
//!   handshake with each before its first call, and the wrapper refuses every call without it.
//! * Object data crossing to a provider is MAC'd and encrypted per §4.3, unless the object
//!   offers the clear channel ([`Storage::supports_clear_channel`]).
//!
//! * A storage handle lists its content in the file-system layout, or, after
//!   [`WmdmStorage::set_enum_preference`], as metadata views: read-only virtual folders
//!   grouping the real files by tag values (see [`MetadataView`]).
//!
//! [`ComponentAuthenticate`]: crate::sac::ComponentAuthenticate
//! [`Storage::supports_clear_channel`]: crate::provider::Storage::supports_clear_channel

#[macro_use]
mod delegate;
mod authenticated;
mod control;
mod device_manager;
mod io;
mod objects;
mod progress3;
mod views;

pub use authenticated::{
    AuthenticatedDevice, AuthenticatedGlobals, AuthenticatedProvider, AuthenticatedStorage,
};
pub use control::{InsertOptions, InsertSource, ReadTarget, TRANSFER_CHUNK};
pub use device_manager::{DeviceManager, MANAGER_REVISION, Notification, SubscriptionId};
pub use io::AuthenticatedIo;
pub use objects::{WmdmDevice, WmdmStorage, WmdmStorageGlobals};
pub use progress3::{EVENT_WMDM_CONTENT_TRANSFER, EventProgress, Progress3};
pub use views::{MetadataView, UNKNOWN_VALUE_FOLDER};
