//! A DLL that hands out the crate's IWMPSyncDevice, for checking its vtable from C against
//! mingw-w64's own `wmp.h` (`tests/c/wmp_vtable.c`, run by `.ci/wmp-vtable-check.sh`).
//!
//! ```text
//! cargo build --features com --target x86_64-pc-windows-gnu --example wmp_server
//! ```
//!
//! It exports one function, `WmdmWmpSyncDevice(IWMPSyncDevice **out)`, which builds a small
//! world (an authenticated device manager over an in-memory player, a library of three tracks
//! with one playlist selected for sync, sync services in a fresh temporary folder, and a
//! partnership with the player) and returns the player's IWMPSyncDevice. Application, manager
//! and provider all live in the DLL, so the secure channels use in-process credentials
//! ([`DeviceManager::in_process`](wmdm::manager::DeviceManager::in_process)): no key is in it.

#![allow(unsafe_code)]

#[cfg(all(windows, feature = "com"))]
mod dll {
    use std::sync::{Arc, RwLock};

    use windows::Win32::Media::MediaPlayer::IWMPSyncDevice;
    use wmdm::Result;
    use wmdm::library::{Library, MemoryLibrary, Playlist, Track, TrackId};
    use wmdm::manager::DeviceManager;
    use wmdm::providers::memory::{MemoryDevice, MemoryProvider};
    use wmdm::sync::SyncServices;
    use wmdm::time::SystemClock;

    fn library() -> Result<MemoryLibrary> {
        let mut lib = MemoryLibrary::new();
        let mut ids = Vec::new();
        for i in 1..=3u64 {
            let mut t = Track::new(TrackId(i), format!("Artist/Album/{i:02}.mp3"));
            t.title = format!("Song {i}");
            t.artist = "Artist".into();
            t.album = "Album".into();
            t.track_number = Some(i as u32);
            lib.add_track(t, vec![i as u8; 4096]);
            ids.push(TrackId(i));
        }
        let mut mix = Playlist::new_static("Mix", ids);
        mix.sync.set_priority(1, 1)?;
        lib.add_playlist(mix);
        Ok(lib)
    }

    pub(crate) fn sync_device() -> Result<IWMPSyncDevice> {
        let player = MemoryDevice::builder("wmdm Memory Player")
            .serial("WMP-CHECK-1")
            .build()?;
        let provider = Arc::new(MemoryProvider::new().with_device(player));
        // Application, manager and provider all live in this DLL: in-process credentials.
        let manager = DeviceManager::in_process(vec![provider], Arc::new(SystemClock))?;
        let lib: Arc<RwLock<dyn Library>> = Arc::new(RwLock::new(library()?));
        let state = std::env::temp_dir().join(format!("wmdm-wmp-check-{}", std::process::id()));
        // A stale folder from an earlier run with the same id would hold its partnership.
        let _ = std::fs::remove_dir_all(&state);
        std::fs::create_dir_all(&state)?;
        let services =
            SyncServices::open(manager, lib, &state, "WMP check", Arc::new(SystemClock))?;
        let device = services.device(0)?;
        device.create_partnership()?;
        services.poll()?;
        Ok(wmdm::com::wmp::sync_device_object(device))
    }
}

/// Builds the example world and writes its player's IWMPSyncDevice (one reference, which the
/// caller releases) to `*out`. Returns S_OK, E_POINTER for a null `out`, or the failure's
/// HRESULT (then `*out` is null).
///
/// # Safety
/// `out` is null or points at writable storage for one pointer.
#[cfg(all(windows, feature = "com"))]
#[unsafe(no_mangle)]
pub unsafe extern "system" fn WmdmWmpSyncDevice(
    out: *mut *mut std::ffi::c_void,
) -> windows_core::HRESULT {
    use windows_core::Interface;
    if out.is_null() {
        return windows_core::HRESULT(0x8000_4003_u32 as i32);
    }
    // SAFETY: non-null, and the caller provides room for one pointer.
    unsafe { out.write(std::ptr::null_mut()) };
    match std::panic::catch_unwind(dll::sync_device) {
        Ok(Ok(device)) => {
            // SAFETY: as above; the reference moves to the caller.
            unsafe { out.write(device.into_raw()) };
            windows_core::HRESULT(0)
        }
        Ok(Err(e)) => windows_core::HRESULT(e.hresult().0),
        Err(_) => windows_core::HRESULT(0x8000_FFFF_u32 as i32),
    }
}
