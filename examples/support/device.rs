//! The device side of the example: checking the folder before anything else, and the
//! partnership.

use std::path::Path;
use std::sync::mpsc;

use wmdm::Error;
use wmdm::sync::{SyncDevice, SyncDeviceStatus, SyncEvent, SyncServices};

use super::report::Failure;

/// Exit 4 unless the device folder exists and takes a new file.
pub fn check_device(device: &Path) -> Result<(), Failure> {
    if !device.is_dir() {
        return Err(Failure::device(format!(
            "the device folder {} does not exist (is the player mounted?)",
            device.display()
        )));
    }
    tempfile::Builder::new()
        .prefix(".wmdm-probe")
        .tempfile_in(device)
        .map(drop)
        .map_err(|e| {
            Failure::device(format!(
                "the device folder {} is not writable: {e}",
                device.display()
            ))
        })
}

/// Makes sure this library has a partnership with the device (createPartnership, then poll
/// for its completion).
pub fn partner(
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
        .create_partnership(false)
        .map_err(|e| Failure::other("creating the partnership", e))?;
    services
        .poll()
        .map_err(|e| Failure::other("creating the partnership", e))?;
    for event in events.try_iter() {
        if let SyncEvent::CreatePartnershipComplete { result: Err(e), .. } = event {
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
