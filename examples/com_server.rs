//! A WMDM service provider DLL serving the in-memory provider.
//!
//! Build and register (under Wine, or on Windows from an elevated prompt):
//!
//! ```text
//! cargo build --features com --target x86_64-pc-windows-gnu --example com_server
//! regsvr32 target\x86_64-pc-windows-gnu\debug\examples\com_server.dll
//! ```
//!
//! The exports are thin shims over `wmdm::com::server`. The secure channel uses the
//! repository's *test* keys (tests/data/keys): the provider's certificate is issued at load
//! time by the test root, and only clients whose certificates chain to that root can
//! authenticate. A real provider would load its own certificate, key and trusted roots from
//! its configuration instead.

#![allow(unsafe_code)]

#[cfg(all(windows, feature = "com"))]
mod dll {
    use std::ffi::c_void;
    use std::sync::{Arc, OnceLock};

    use windows_core::{GUID, HRESULT};
    use wmdm::com::server::{self, MakeProvider, Registration};
    use wmdm::com::{ComChannel, ComServiceProvider};
    use wmdm::provider::ServiceProvider;
    use wmdm::providers::memory::{MemoryDevice, MemoryProvider};
    use wmdm::sac::{
        Certificate, CertificateRequest, ChannelConfig, Identity, Role, TrustStore,
        private_key_from_pem,
    };
    use wmdm::time::SystemClock;
    use wmdm::{Error, Result};

    /// The example provider's CLSID.
    pub(crate) const CLSID: GUID = GUID::from_u128(0x6b1c5a3e_2f0d_4c8b_9e7a_3d5f1a2b4c6d);

    const ROOT_PEM: &str = include_str!("../tests/data/keys/root.pem");
    const PROVIDER_PEM: &str = include_str!("../tests/data/keys/provider.pem");

    fn registration() -> Registration {
        Registration {
            clsid: CLSID,
            prog_id: "Wmdm.MemoryProvider.1".to_owned(),
            name: "WmdmRsMemory".to_owned(),
            description: "wmdm in-memory service provider (Rust)".to_owned(),
            pnp_aware: false,
        }
    }

    /// The provider's channel configuration, made once per process.
    fn config() -> Result<Arc<ChannelConfig>> {
        static CONFIG: OnceLock<std::result::Result<Arc<ChannelConfig>, Error>> = OnceLock::new();
        CONFIG
            .get_or_init(|| {
                let root = private_key_from_pem(ROOT_PEM)?;
                let key = private_key_from_pem(PROVIDER_PEM)?;
                let request = CertificateRequest {
                    subject: "wmdm memory provider".to_owned(),
                    role: Role::Provider,
                    app_sec: 1000,
                    serial: 1,
                    not_before: 0,
                    not_after: i64::MAX,
                    public_key: key.to_public_key(),
                };
                let cert = Certificate::issue(&request, "test root", &root)?;
                let trust = TrustStore::new(Arc::new(SystemClock))
                    .with_root("test root", root.to_public_key())?;
                let identity = Identity::new(cert, key)?;
                Ok(Arc::new(ChannelConfig::new(identity, trust, Role::Manager)))
            })
            .clone()
    }

    /// One in-memory player per process, shared by every instance, so data written through
    /// one instance is there for the next.
    fn core() -> Result<Arc<dyn ServiceProvider>> {
        static CORE: OnceLock<std::result::Result<Arc<MemoryProvider>, Error>> = OnceLock::new();
        let p = CORE
            .get_or_init(|| {
                let device = MemoryDevice::builder("wmdm Memory Player")
                    .serial("WMDM-RS-0001")
                    .build()?;
                Ok(Arc::new(MemoryProvider::new().with_device(device)))
            })
            .clone()?;
        Ok(p)
    }

    fn make() -> Arc<MakeProvider> {
        Arc::new(|| Ok(ComServiceProvider::new(core()?, ComChannel::new(config()?))))
    }

    /// # Safety
    /// As [`server::get_class_object`].
    pub(crate) unsafe fn get_class_object(
        rclsid: *const GUID,
        riid: *const GUID,
        ppv: *mut *mut c_void,
    ) -> HRESULT {
        // SAFETY: the caller (COM) passes null or valid pointers.
        unsafe { server::get_class_object(rclsid, riid, ppv, &CLSID, make()) }
    }

    pub(crate) fn can_unload_now() -> HRESULT {
        // S_OK when unloading is safe, S_FALSE otherwise.
        HRESULT(i32::from(!server::can_unload_now()))
    }

    pub(crate) fn register() -> HRESULT {
        server::hresult(server::module_path().and_then(|p| server::register(&registration(), &p)))
    }

    pub(crate) fn unregister() -> HRESULT {
        server::hresult(server::unregister(&registration()))
    }
}

/// DllGetClassObject.
///
/// # Safety
/// COM calls it with null or valid pointers, which `server::get_class_object` checks.
#[cfg(all(windows, feature = "com"))]
#[unsafe(no_mangle)]
pub unsafe extern "system" fn DllGetClassObject(
    rclsid: *const windows_core::GUID,
    riid: *const windows_core::GUID,
    ppv: *mut *mut std::ffi::c_void,
) -> windows_core::HRESULT {
    // SAFETY: forwarded unchanged; the caller upholds the contract.
    unsafe { dll::get_class_object(rclsid, riid, ppv) }
}

/// DllCanUnloadNow.
#[cfg(all(windows, feature = "com"))]
#[unsafe(no_mangle)]
pub extern "system" fn DllCanUnloadNow() -> windows_core::HRESULT {
    dll::can_unload_now()
}

/// DllRegisterServer.
#[cfg(all(windows, feature = "com"))]
#[unsafe(no_mangle)]
pub extern "system" fn DllRegisterServer() -> windows_core::HRESULT {
    dll::register()
}

/// DllUnregisterServer.
#[cfg(all(windows, feature = "com"))]
#[unsafe(no_mangle)]
pub extern "system" fn DllUnregisterServer() -> windows_core::HRESULT {
    dll::unregister()
}
