//! Whatever bytes the provider finds in its state files and in a playlist, opening the device,
//! listing it and reading the playlist's references must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wmdm::provider::walk;
use wmdm::providers::fs::{DeviceOptions, FsDevice};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == 0xFF);
    let id_file = parts.next().unwrap_or_default();
    let ids = parts.next().unwrap_or_default();
    let playlist = parts.next().unwrap_or_default();
    let Ok(dir) = tempfile::tempdir() else { return };
    let state = dir.path().join(".wmdm");
    if std::fs::create_dir(&state).is_err()
        || std::fs::write(state.join("device.id"), id_file).is_err()
        || std::fs::write(state.join("ids"), ids).is_err()
        || std::fs::create_dir(dir.path().join("a")).is_err()
        || std::fs::write(dir.path().join("a/b.mp3"), b"x").is_err()
        || std::fs::write(dir.path().join("a/list.m3u8"), playlist).is_err()
    {
        return;
    }
    let Ok(dev) = FsDevice::open(dir.path(), DeviceOptions::default().durable(false)) else {
        return;
    };
    if let Ok(all) = walk(dev.root().as_ref()) {
        for s in all {
            let _ = s.unique_id();
            let _ = s.references();
        }
    }
});
