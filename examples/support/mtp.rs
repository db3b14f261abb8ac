//! `--device mtp:SERIAL` (an MTP device by serial number), `mtp:` (the only MTP device
//! connected) and, built with the `mtp-virtual` feature, `mtp-virtual:DIR` (mtp-rs's virtual
//! device backed by the folder DIR, which speaks the MTP protocol: for trying the sync and
//! measuring it without a phone).

use std::path::Path;
use std::sync::Arc;

use wmdm::provider::ServiceProvider;

use super::report::Failure;

/// True when `device` names an MTP device (`mtp:...` or `mtp-virtual:...`), not a folder.
pub fn is_mtp(device: &Path) -> bool {
    device
        .to_str()
        .is_some_and(|t| t.starts_with("mtp:") || t.starts_with("mtp-virtual:"))
}

/// The provider for an MTP `--device`, or `None` when `device` is a folder.
pub fn provider(
    device: &Path,
    read_only: bool,
    capacity: Option<u64>,
) -> Option<Result<Arc<dyn ServiceProvider>, Failure>> {
    if !is_mtp(device) {
        return None;
    }
    let text = device.to_str()?;
    if let Some(serial) = text.strip_prefix("mtp:") {
        return Some(usb(serial, read_only));
    }
    let dir = text.strip_prefix("mtp-virtual:")?;
    Some(virtual_device(Path::new(dir), read_only, capacity))
}

#[cfg(feature = "mtp")]
fn usb(serial: &str, read_only: bool) -> Result<Arc<dyn ServiceProvider>, Failure> {
    use wmdm::providers::mtp::{MtpOptions, MtpProvider};
    let mut options = MtpOptions::new().read_only(read_only);
    if !serial.is_empty() {
        options = options.serial(serial);
    }
    let provider = MtpProvider::new(options);
    let found = provider
        .mtp_devices()
        .map_err(|e| Failure::other("listing MTP devices", e))?;
    match found.len() {
        0 if serial.is_empty() => Err(Failure::device("no MTP device is connected".into())),
        0 => Err(Failure::device(format!(
            "no MTP device with serial {serial} is connected"
        ))),
        1 => Ok(Arc::new(provider)),
        _ => Err(Failure::usage(format!(
            "several MTP devices are connected; name one: {}",
            found
                .iter()
                .map(|d| format!("mtp:{}", d.serial()))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

#[cfg(not(feature = "mtp"))]
fn usb(_serial: &str, _read_only: bool) -> Result<Arc<dyn ServiceProvider>, Failure> {
    Err(Failure::usage(
        "MTP devices need the `mtp` feature: cargo run --features mtp --example sync".into(),
    ))
}

#[cfg(feature = "mtp-virtual")]
fn virtual_device(
    dir: &Path,
    read_only: bool,
    capacity: Option<u64>,
) -> Result<Arc<dyn ServiceProvider>, Failure> {
    use mtp_rs::virtual_device::{VirtualDeviceConfig, VirtualStorageConfig};
    use wmdm::providers::mtp::{MtpOptions, MtpProvider};
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::other("creating the virtual device", e.into()))?;
    let dir = dir
        .canonicalize()
        .map_err(|e| Failure::other("opening the virtual device", e.into()))?;
    // The serial is the device's identity for the partnership: the same folder is the same
    // device on every run.
    let serial = format!(
        "mtp-virtual-{:08x}",
        crc32fast::hash(dir.to_string_lossy().as_bytes())
    );
    let config = VirtualDeviceConfig {
        serial,
        storages: vec![VirtualStorageConfig {
            description: "Internal storage".into(),
            capacity: capacity.unwrap_or(64 << 30),
            backing_dir: dir,
            read_only: false,
        }],
        event_poll_interval: std::time::Duration::ZERO,
        watch_backing_dirs: false,
        ..Default::default()
    };
    let device = futures::executor::block_on(mtp_rs::MtpDevice::builder().open_virtual(config))
        .map_err(|e| Failure::device(format!("the virtual MTP device did not open: {e}")))?;
    Ok(Arc::new(MtpProvider::with_device(
        device,
        Vec::new(),
        MtpOptions::new().read_only(read_only),
    )))
}

#[cfg(not(feature = "mtp-virtual"))]
fn virtual_device(
    _dir: &Path,
    _read_only: bool,
    _capacity: Option<u64>,
) -> Result<Arc<dyn ServiceProvider>, Failure> {
    Err(Failure::usage(
        "the virtual MTP device needs the `mtp-virtual` feature: cargo run --features mtp-virtual --example sync"
            .into(),
    ))
}
