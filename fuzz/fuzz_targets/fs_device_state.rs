//! The folder provider over whatever bytes it finds in its state files (`.wmdm/device.id`, the
//! ID log `.wmdm/ids`) and in an M3U8 and a WPL playlist: opening the device, listing it,
//! reading each object's unique ID and each playlist's references must not panic; every
//! object listed with a unique ID is found again by that ID; and the device opens again over
//! the state it wrote (its own ID log is readable).
//!
//! One folder serves every input (on /dev/shm when there is one): it is reset to the input's
//! files before each run instead of a new temporary folder being made, so the fuzzer spends its
//! time in the provider. Input: the four files' bytes separated by 0xFF bytes.
#![no_main]

use std::fs;
use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wmdm::provider::walk;
use wmdm::providers::fs::{DeviceOptions, FsDevice};

fn folder() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("wmdm-fuzz-fs-")
            .tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .expect("a temporary folder")
    })
    .path()
}

/// Puts the folder back to the input's files: the state folder and the media folder are
/// removed and written again, so nothing an earlier input made is left.
fn reset(root: &Path, files: &[&[u8]]) -> std::io::Result<()> {
    for sub in [".wmdm", "a"] {
        match fs::remove_dir_all(root.join(sub)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    let part = |i: usize| files.get(i).copied().unwrap_or_default();
    fs::create_dir(root.join(".wmdm"))?;
    fs::write(root.join(".wmdm/device.id"), part(0))?;
    fs::write(root.join(".wmdm/ids"), part(1))?;
    fs::create_dir(root.join("a"))?;
    fs::write(root.join("a/b.mp3"), b"x")?;
    fs::write(root.join("a/c d.wma"), b"y")?;
    fs::write(root.join("a/list.m3u8"), part(2))?;
    fs::write(root.join("a/list.wpl"), part(3))?;
    Ok(())
}

fn list(dev: &FsDevice) {
    let Ok(all) = walk(dev.root().as_ref()) else {
        return;
    };
    for s in all {
        if let Ok(id) = s.unique_id()
            && !id.is_empty()
        {
            let again = dev.object(&id);
            assert!(
                again.is_ok(),
                "object {id:?} listed but not found by its ID: {again:?}"
            );
        }
        let _ = s.references();
    }
}

fuzz_target!(|data: &[u8]| {
    let files: Vec<&[u8]> = data.splitn(4, |&b| b == 0xFF).collect();
    let root = folder();
    if reset(root, &files).is_err() {
        return;
    }
    let options = || DeviceOptions::default().durable(false);
    let Ok(dev) = FsDevice::open(root, options()) else {
        return;
    };
    list(&dev);
    drop(dev);
    // What the provider wrote over the damaged state, it reads again.
    let dev = FsDevice::open(root, options()).expect("the device does not open over its own state");
    list(&dev);
});
