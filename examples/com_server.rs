//! A WMDM service provider DLL serving the folder provider (`wmdm::providers::fs`): every
//! configured folder is a device.
//!
//! The folders come from, in this order:
//!
//! 1. the `Folders` value under the SP key
//!    `HKLM\SOFTWARE\Microsoft\Windows Media Device Manager\Plugins\SP\WmdmRsFolders`, a
//!    `REG_MULTI_SZ` with one folder per string (a `REG_SZ` with `;` between folders works too).
//!    DllRegisterServer writes it from `WMDM_SP_FOLDERS` when that variable is set at
//!    registration time;
//! 2. the environment variable `WMDM_SP_FOLDERS` of the process loading the DLL, folders
//!    separated by `;`;
//! 3. nothing: the provider then lists no devices.
//!
//! They are read once per process, when the first provider object is created.
//!
//! Build and register (under Wine, or on Windows from an elevated prompt):
//!
//! ```text
//! cargo build --features com --target x86_64-pc-windows-gnu --example com_server
//! regsvr32 target\x86_64-pc-windows-gnu\debug\examples\com_server.dll
//! ```
//!
//! The exports are thin shims over `wmdm::com::server`. The secure channel is set up the way a
//! provider author ships one: the DLL holds its own certificate, issued ahead of time by a root
//! (`examples/certs/com_provider.cert`, made with `examples/issue_cert.rs`), its own private
//! key, and the root's *public* key to check its clients against. The root's private key is
//! not in the DLL: whoever holds the DLL can read everything in it, and with the root's private
//! key they could mint certificates every component trusts (`docs/security.md`). Here the key
//! and the root are the repository's *test* ones (tests/data/keys), so only clients whose
//! certificates chain to the test root can authenticate; a real provider ships its own.

#![allow(unsafe_code)]

#[cfg(all(windows, feature = "com"))]
mod dll {
    use std::ffi::c_void;
    use std::sync::{Arc, OnceLock};

    use windows_core::{GUID, HRESULT};
    use wmdm::com::server::{self, MakeProvider, Registration};
    use wmdm::com::{ComChannel, ComServiceProvider};
    use wmdm::provider::ServiceProvider;
    use wmdm::providers::fs::{FsConfig, FsProvider};
    use wmdm::sac::{
        Certificate, ChannelConfig, Identity, Role, TrustStore, private_key_from_pem,
        public_key_from_pem,
    };
    use wmdm::time::SystemClock;
    use wmdm::{Error, Result};

    /// The example provider's CLSID.
    pub(crate) const CLSID: GUID = GUID::from_u128(0x6b1c5a3e_2f0d_4c8b_9e7a_3d5f1a2b4c6d);

    /// The SP name: the subkey under `server::SP_PLUGINS_KEY`.
    const NAME: &str = "WmdmRsFolders";

    /// The environment variable listing folders, `;`-separated.
    const FOLDERS_ENV: &str = "WMDM_SP_FOLDERS";

    /// The provider's certificate, issued ahead of time by the root (`examples/issue_cert.rs`).
    const CERTIFICATE: &[u8] = include_bytes!("certs/com_provider.cert");
    /// The provider's own private key: the one secret a provider ships.
    const PROVIDER_PEM: &str = include_str!("../tests/data/keys/provider.pem");
    /// The root's public key and name: whom the provider trusts to vouch for its clients.
    const ROOT_PUBLIC_PEM: &str = include_str!("certs/root.pub.pem");
    const ROOT_NAME: &str = "test root";

    fn registration() -> Registration {
        Registration {
            clsid: CLSID,
            prog_id: "Wmdm.FolderProvider.1".to_owned(),
            name: NAME.to_owned(),
            description: "wmdm folder service provider (Rust)".to_owned(),
            pnp_aware: false,
            folders: env_folders().unwrap_or_default(),
        }
    }

    fn env_folders() -> Option<Vec<String>> {
        std::env::var(FOLDERS_ENV)
            .ok()
            .map(|v| server::split_folder_list(&v))
    }

    /// The registry's folder list, else the environment's, else none.
    fn folders() -> Result<Vec<String>> {
        Ok(match server::read_folders(NAME)? {
            Some(list) => list,
            None => env_folders().unwrap_or_default(),
        })
    }

    /// The provider's channel configuration, made once per process.
    fn config() -> Result<Arc<ChannelConfig>> {
        static CONFIG: OnceLock<std::result::Result<Arc<ChannelConfig>, Error>> = OnceLock::new();
        CONFIG
            .get_or_init(|| {
                let cert = Certificate::from_bytes(CERTIFICATE)?;
                let key = private_key_from_pem(PROVIDER_PEM)?;
                let trust = TrustStore::new(Arc::new(SystemClock))
                    .with_root(ROOT_NAME, public_key_from_pem(ROOT_PUBLIC_PEM)?)?;
                let identity = Identity::new(cert, key)?;
                Ok(Arc::new(ChannelConfig::new(identity, trust, Role::Manager)))
            })
            .clone()
    }

    /// One folder provider per process, shared by every instance: a folder is served by one
    /// provider at a time (its ID map lives in the provider).
    fn core() -> Result<Arc<dyn ServiceProvider>> {
        static CORE: OnceLock<std::result::Result<Arc<FsProvider>, Error>> = OnceLock::new();
        let p = CORE
            .get_or_init(|| {
                let config = FsConfig {
                    roots: folders()?.into_iter().map(Into::into).collect(),
                    ..FsConfig::default()
                };
                Ok(Arc::new(FsProvider::new(config)))
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

// The DLL's four exports, over `dll` above.
#[cfg(all(windows, feature = "com"))]
wmdm::dll_exports!(dll);
