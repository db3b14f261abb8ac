//! The device side of the example: checking the folder before anything else, and the
//! partnership.

use std::path::Path;
use std::sync::mpsc;

use wmdm::Error;
use wmdm::sync::{SyncDevice, SyncDeviceStatus, SyncEvent, SyncServices};

use super::report::Failure;

/// Exit 4 unless the device folder exists, is a folder, and (unless `read_only`: a dry run
/// writes nothing, not even a probe) takes a new file.
pub fn check_device(device: &Path, read_only: bool) -> Result<(), Failure> {
    match std::fs::metadata(device) {
        Ok(md) if md.is_dir() => {}
        Ok(_) => {
            return Err(Failure::device(format!(
                "the device {} is not a folder (give the folder the player is mounted at)",
                device.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Failure::device(format!(
                "the device folder {} does not exist (is the player mounted?)",
                device.display()
            )));
        }
        Err(e) => {
            return Err(Failure::device(format!(
                "the device folder {} cannot be read: {e}",
                device.display()
            )));
        }
    }
    if read_only {
        return Ok(());
    }
    tempfile::Builder::new()
        .prefix(".wmdm-probe")
        .tempfile_in(device)
        .map(drop)
        .map_err(|e| {
            let why = match e.kind() {
                std::io::ErrorKind::ReadOnlyFilesystem => "it is mounted read-only".to_owned(),
                std::io::ErrorKind::PermissionDenied => "it is read-only for this user".to_owned(),
                _ => e.to_string(),
            };
            Failure::device(format!(
                "the device folder {} is not writable: {why}",
                device.display()
            ))
        })
}

/// True when the device folder refuses 64 KiB more for want of space (a probe file, removed
/// at once): the sync's own state could not be written because the device is full.
pub fn is_full(device: &Path) -> bool {
    use std::io::Write;
    let mut probe = match tempfile::Builder::new()
        .prefix(".wmdm-probe")
        .tempfile_in(device)
    {
        Ok(p) => p,
        // No room even for a new file's entry (a medium out of inodes or directory entries).
        Err(e) => return e.kind() == std::io::ErrorKind::StorageFull,
    };
    let written = probe
        .write_all(&[0u8; 64 * 1024])
        .and_then(|()| probe.as_file().sync_all());
    matches!(written, Err(e) if e.kind() == std::io::ErrorKind::StorageFull)
}

/// Makes sure this library has a partnership with the device (createPartnership, then poll
/// for its completion).
pub fn partner(
    path: &Path,
    services: &SyncServices,
    device: &SyncDevice,
    events: &mpsc::Receiver<SyncEvent>,
    say: &dyn Fn(String),
) -> Result<(), Failure> {
    if device.status() == SyncDeviceStatus::PartnershipExists {
        say(format!(
            "device {}: partnership {} (existing)",
            device.device_name(),
            device.partnership_index()
        ));
        return Ok(());
    }
    if device.status() == SyncDeviceStatus::PartnershipAnother {
        say("the device is partnered with another library; this library takes it over".into());
    }
    device
        .create_partnership()
        .map_err(|e| Failure::other("creating the partnership", e))?;
    services
        .poll()
        .map_err(|e| Failure::other("creating the partnership", e))?;
    for event in events.try_iter() {
        if let SyncEvent::CreatePartnershipComplete { result: Err(e), .. } = event {
            if e == Error::Busy {
                return Err(Failure::busy(path, device.lock_holder()));
            }
            return Err(Failure::other("creating the partnership", e));
        }
    }
    if device.status() != SyncDeviceStatus::PartnershipExists {
        return Err(Failure::other(
            "creating the partnership",
            Error::Unexpected,
        ));
    }
    say(format!(
        "device {}: partnership {} (new)",
        device.device_name(),
        device.partnership_index()
    ));
    Ok(())
}
