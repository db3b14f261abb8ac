//! A DLL that serves the crate's Windows Media Player sync services as a creatable COM class
//! (`Wmdm.SyncServices`), so that a program in any language syncs a music folder to folder
//! devices with no Rust in its loop: it creates the object, advises an IWMPEvents2 sink,
//! calls `createPartnership` and `start`, and the object's own threads do the rest.
//!
//! Real Windows Media Player hands out IWMPSyncServices from its remoted control
//! (QueryInterface on the player object); this class stands in for that object. It is what
//! `tests/c/wmp_sync.c` drives, under Wine, in `.ci/wmp-sync-check.sh`.
//!
//! Configuration, read when an object is created (environment variables of the process):
//!
//! * `WMDM_LIBRARY`: the music folder (required);
//! * `WMDM_DEVICES`: the device folders (mounted players), separated by `;`;
//! * `WMDM_STATE`: the state folder (partnerships, caches); by default the one the `sync`
//!   example uses for that music folder.
//!
//! Each object authenticates in process with credentials made when it is created (the
//! channel protects nothing inside one process, docs/security.md), opens the library and
//! the partnership table, and starts the sync runtime: device discovery, createPartnership
//! and estimates completing by themselves, sync on connect, one worker per device. Releasing
//! the object stops the runtime cleanly. Events follow COM's apartment rules: a sink advised
//! from an STA is called on its own thread through its message loop.
//!
//! ```text
//! cargo build --features com --target x86_64-pc-windows-gnu --example wmp_services
//! regsvr32 target\x86_64-pc-windows-gnu\debug\examples\wmp_services.dll
//! ```

#![allow(unsafe_code)]

#[cfg(all(windows, feature = "com"))]
mod dll {
    use std::ffi::c_void;
    use std::path::PathBuf;
    use std::sync::{Arc, RwLock};

    use windows_core::{GUID, HRESULT, IUnknown};
    use wmdm::com::server::{self, MakeObject};
    use wmdm::com::wmp::sync_services_with_runtime;
    use wmdm::library::{FolderLibrary, Library, ScanOptions};
    use wmdm::manager::DeviceManager;
    use wmdm::provider::ServiceProvider;
    use wmdm::providers::fs::{FsConfig, FsProvider};
    use wmdm::sync::{RuntimeOptions, SyncServices};
    use wmdm::time::{Clock, SystemClock};
    use wmdm::{Error, Result, ResultExt};

    /// The class's CLSID.
    pub(crate) const CLSID: GUID = GUID::from_u128(0x3f6e_9a41_7c2d_4b58_a1e3_5d9c_0b7f_2e64);
    const PROG_ID: &str = "Wmdm.SyncServices";
    const DESCRIPTION: &str = "wmdm Windows Media Player sync services (Rust)";

    fn env_path(name: &str) -> Option<PathBuf> {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    }

    /// A fresh services object over the configured library and devices, with its runtime.
    fn make_services() -> Result<IUnknown> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let library = env_path("WMDM_LIBRARY").ok_or_else(|| {
            Error::InvalidArg
                .context("creating the sync services: the music folder is not set")
                .subject("WMDM_LIBRARY")
        })?;
        let state = match env_path("WMDM_STATE") {
            Some(s) => s,
            None => wmdm::easy::default_state_dir(&library)?,
        };
        let devices = std::env::var("WMDM_DEVICES")
            .map(|v| server::split_folder_list(&v))
            .unwrap_or_default();
        let providers: Vec<Arc<FsProvider>> = devices
            .iter()
            .map(|d| Arc::new(FsProvider::new(FsConfig::root(d))))
            .collect();
        let (lib, _scan) = FolderLibrary::open(
            &library,
            state.join("library"),
            clock.clone(),
            ScanOptions::default(),
        )
        .context("opening the music library")
        .path(&library)?;
        let lib: Arc<RwLock<dyn Library>> = Arc::new(RwLock::new(lib));
        let manager = DeviceManager::in_process(
            providers
                .iter()
                .map(|p| p.clone() as Arc<dyn ServiceProvider>)
                .collect(),
            clock.clone(),
        )?;
        let services = SyncServices::open(
            manager,
            lib,
            &state.join("sync"),
            "wmdm sync services",
            clock,
        )?;
        // The folder provider notices a device folder appearing only when asked.
        let rescan = move || {
            for p in &providers {
                let _ = p.poll();
            }
        };
        let runtime = services.start_runtime(RuntimeOptions::default().rescan(rescan))?;
        Ok(sync_services_with_runtime(runtime).into())
    }

    fn make() -> Arc<MakeObject> {
        Arc::new(make_services)
    }

    /// # Safety
    /// As [`server::get_object_class`].
    pub(crate) unsafe fn get_class_object(
        rclsid: *const GUID,
        riid: *const GUID,
        ppv: *mut *mut c_void,
    ) -> HRESULT {
        // SAFETY: the caller (COM) passes null or valid pointers.
        unsafe { server::get_object_class(rclsid, riid, ppv, &CLSID, make()) }
    }

    pub(crate) fn can_unload_now() -> HRESULT {
        // S_OK when unloading is safe, S_FALSE otherwise.
        HRESULT(i32::from(!server::can_unload_now()))
    }

    pub(crate) fn register() -> HRESULT {
        server::hresult(
            server::module_path()
                .and_then(|p| server::register_class(&CLSID, PROG_ID, DESCRIPTION, &p)),
        )
    }

    pub(crate) fn unregister() -> HRESULT {
        server::hresult(server::unregister_class(&CLSID, PROG_ID))
    }
}

// The DLL's four exports, over `dll` above.
#[cfg(all(windows, feature = "com"))]
wmdm::dll_exports!(dll);
