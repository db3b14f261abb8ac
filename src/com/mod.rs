//! Real COM objects on Windows: a WMDM service provider over the core's provider traits.
//!
//! Enabled by the `com` feature on Windows only. Every vtable comes from the `windows` crate's
//! generated interface definitions (Microsoft's metadata); this module supplies
//! `#[implement]` objects:
//!
//! * [`ComServiceProvider`]: IMDServiceProvider/2/3, IMDSPRevoked and IComponentAuthenticate
//!   over a [`ServiceProvider`](crate::provider::ServiceProvider);
//! * devices (IMDSPDevice/2/3), enumerators (IMDSPEnumDevice, IMDSPEnumStorage), storages
//!   (IMDSPStorage/2/3/4 with IMDSPObject/2, IMDSPObjectInfo and IMDSPDirectTransfer on the
//!   same object) and globals (IMDSPStorageGlobals), created as the caller walks the tree;
//! * [`ComChannel`]: the one secure-channel gate all of them share;
//! * [`client`]: the other side of the handshake, over a provider's IComponentAuthenticate;
//! * [`server`]: the class factory, the module lock count and registration for a DLL.
//!
//! The rules every method follows (`docs/com.md` has the full mapping):
//!
//! * authentication first: [`Error::NotCertified`](crate::Error::NotCertified) until
//!   IComponentAuthenticate's handshake has succeeded;
//! * every failure is an [`Error`](crate::Error) and its HRESULT is
//!   [`Error::hresult`](crate::Error::hresult);
//! * out-parameters are null-checked (`E_POINTER`) and zeroed before anything can fail;
//! * caller buffers that are too short give `WMDM_E_BUFFERTOOSMALL`;
//! * callee-allocated arrays and strings come from `CoTaskMemAlloc`;
//! * a panic never crosses the boundary: it becomes `E_UNEXPECTED`;
//! * MACs and encryption as Microsoft's reference: <https://learn.microsoft.com/en-us/windows/win32/wmdm/message-authentication>: GetSerialNumber (device and globals) and
//!   GetRights are MAC'd, Read is MAC'd then encrypted, Write is decrypted then MAC-checked,
//!   SendOpaqueCommand's MAC is checked and renewed, and IMDSPDirectTransfer decrypts and
//!   checks each chunk it pulls from an IWMDMOperation.
//!
//! The Windows Media Player side is in [`wmp`]: IWMPSyncServices and IWMPSyncDevice/2/3 over
//! [`sync`](crate::sync)'s services, and IWMPEvents2/IWMPEvents4 sinks a caller registers
//! through the services object's connection points (IConnectionPointContainer) or with
//! [`wmp::advise`].

#![allow(unsafe_code)]

mod apartment;
mod bridge;
mod channel;
pub mod client;
mod convert;
mod cpoint;
mod device;
mod enums;
mod factory;
mod globals;
mod media;
mod object;
mod prop;
mod provider;
pub mod server;
mod storage;
mod transfer;
mod util;
pub mod wmp;

pub use channel::ComChannel;
pub use provider::ComServiceProvider;

use std::sync::Arc;

use windows::Win32::Media::DeviceManager::{IMDSPDevice, IMDSPStorage};

/// A core device as a COM object (IMDSPDevice/2/3) guarded by `channel`, for providers that
/// hand out devices of their own making.
pub fn device_object(core: crate::provider::DeviceRef, channel: Arc<ComChannel>) -> IMDSPDevice {
    device::device_object(core, channel)
}

/// A core storage as a COM object (IMDSPStorage/2/3/4, IMDSPObject/2, IMDSPObjectInfo,
/// IMDSPDirectTransfer) guarded by `channel`.
pub fn storage_object(core: crate::provider::StorageRef, channel: Arc<ComChannel>) -> IMDSPStorage {
    storage::storage_object(core, channel)
}
