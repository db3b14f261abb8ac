//! Device discovery for [`SyncServices`]: arrivals, removals, status from the partnership
//! table and the device's marker, and sync on connect.

use super::device::{MARKER_FILE, read_state};
use super::engine::SyncEngine;
use super::event::SyncEvent;
use super::partnership::{PartnershipMarker, PartnershipTable, SyncDeviceStatus, device_key};
use super::services::{Known, SyncServices, root_of, serial_text};
use crate::error::Result;
use crate::manager::WmdmDevice;

/// IOCTL_WMP_DEVICE_CAN_SYNC ('WMP2', Microsoft's reference: <https://learn.microsoft.com/en-us/windows/win32/api/wmpdevices/>).
const IOCTL_CAN_SYNC: u32 = 0x3250_4D57;

/// True for a device that answers IOCTL_WMP_DEVICE_CAN_SYNC with 0: manual transfer only,
/// no partnership (wmpdsManualDevice).
pub(super) fn is_manual(device: &WmdmDevice) -> bool {
    device
        .io_control(IOCTL_CAN_SYNC, &[], 4)
        .is_ok_and(|out| out.get(..4) == Some(&[0, 0, 0, 0][..]))
}

impl SyncServices {
    pub(super) fn status_of(
        &self,
        table: &PartnershipTable,
        key: &str,
        path: &str,
        device: &WmdmDevice,
        marker: Option<PartnershipMarker>,
    ) -> SyncDeviceStatus {
        if is_manual(device) {
            return SyncDeviceStatus::ManualDevice;
        }
        let ours = table.for_device(key);
        match (ours, marker) {
            (Some(p), Some(m)) if m.library_id == table.library_id && m.index == p.index => {
                SyncDeviceStatus::PartnershipExists
            }
            (Some(_), None) => SyncDeviceStatus::PartnershipExists,
            (_, Some(m)) if m.library_id != table.library_id => {
                SyncDeviceStatus::PartnershipAnother
            }
            // A table from before serials declined devices by their path.
            _ if table.is_declined(key) || table.is_declined(path) => {
                SyncDeviceStatus::PartnershipDeclined
            }
            _ => SyncDeviceStatus::NewDevice,
        }
    }

    pub(super) fn refresh(&self, emit: bool) -> Result<()> {
        let devices = self.inner.manager.devices()?;
        let mut events = Vec::new();
        let mut auto = Vec::new();
        let mut abandoned: Vec<SyncEngine> = Vec::new();
        let mut released = Vec::new();
        {
            let mut st = self.lock();
            // Each device by its identity first: its serial, and its marker.
            let mut seen: Vec<(String, String, String, WmdmDevice)> = Vec::new();
            for d in devices {
                let path = match d.canonical_name() {
                    Ok(path) => path,
                    Err(e) => {
                        // A device without a canonical name cannot be keyed: say why it is
                        // left out instead of leaving it out silently.
                        tracing::warn!(
                            error = %e,
                            "a device without a canonical name cannot be synced; it is ignored"
                        );
                        continue;
                    }
                };
                let serial = serial_text(&d);
                let key = device_key(&serial, &path).to_owned();
                if let Some(first) = seen.iter().find(|s| s.0 == key) {
                    // Two devices with one serial (a copied identity file): only the first
                    // is this key, or both would share one partnership and one engine.
                    tracing::warn!(
                        serial = %key,
                        first = %first.1,
                        ignored = %path,
                        "two devices report the same serial number; the second is ignored"
                    );
                    continue;
                }
                seen.push((key, path, serial, d));
            }
            let keys: Vec<String> = seen.iter().map(|s| s.0.clone()).collect();
            let mut table_changed = false;
            let mut present = Vec::new();
            for (key, path, serial, d) in seen {
                present.push(key.clone());
                let marker = root_of(&d)
                    .and_then(|r| read_state(&r, MARKER_FILE))
                    .ok()
                    .flatten()
                    .and_then(|b| PartnershipMarker::parse(&b).ok());
                let others = |k: &str| k != key && keys.iter().any(|x| x == k);
                // A device whose partnership was deleted stays declined: the marker a delete
                // could not remove (the device was away) does not lead it back to its old
                // slot, which may be another device's by now.
                let declined = st.table.is_declined(&key) || st.table.is_declined(&path);
                let by_marker = marker.as_ref().filter(|_| !declined);
                if let Some((_, changed)) = st.table.locate(&serial, &path, by_marker, &others) {
                    table_changed |= changed;
                }
                let status = self.status_of(&st.table, &key, &path, &d, marker);
                // Taken over by another library (another computer): our slot is free. Its
                // playlists stay until another device takes the slot, so the device keeps
                // them if it comes back.
                if status == SyncDeviceStatus::PartnershipAnother
                    && let Some(index) = st.table.release(&key)
                {
                    tracing::info!(device = %key, index, "partnered with another library now; slot released");
                    table_changed = true;
                }
                let name = d.name().unwrap_or_default();
                let partnered = st.table.for_device(&key).cloned();
                match st.devices.iter_mut().find(|k| k.key == key) {
                    Some(k) if k.device.is_some() => {
                        k.device = Some(d);
                        k.path = path;
                        if k.status != status {
                            k.status = status;
                            events.push(SyncEvent::DeviceStatusChange {
                                device: key.clone(),
                                status,
                            });
                        }
                    }
                    found => {
                        let friendly = partnered
                            .as_ref()
                            .map_or_else(|| name.clone(), |p| p.friendly_name.clone());
                        let known = Known {
                            key: key.clone(),
                            path,
                            device: Some(d),
                            serial,
                            name,
                            friendly,
                            status,
                        };
                        match found {
                            Some(k) => *k = known,
                            None => st.devices.push(known),
                        }
                        events.push(SyncEvent::DeviceConnect {
                            device: key.clone(),
                        });
                        // BackgroundSyncState without bit 1: the user syncs it by hand.
                        if st.automatic(&key) {
                            auto.push(key.clone());
                        }
                    }
                }
            }
            let table = st.table.clone();
            let mut gone = Vec::new();
            for k in st.devices.iter_mut() {
                if k.device.is_some() && !present.contains(&k.key) {
                    k.device = None;
                    events.push(SyncEvent::DeviceDisconnect {
                        device: k.key.clone(),
                    });
                    gone.push(k.key.clone());
                }
            }
            for key in gone {
                if let Some(e) = st.engines.get(&key) {
                    abandoned.push(e.clone());
                }
                // The device went away: whatever it holds of ours is void.
                released.extend(st.writers.remove(&key));
            }
            // Partnered devices that are away are still listed, as WMP lists them.
            for p in table.partnerships() {
                if !st.devices.iter().any(|k| k.key == p.key()) {
                    st.devices.push(Known {
                        key: p.key().to_owned(),
                        path: p.device.clone(),
                        device: None,
                        serial: p.serial.clone(),
                        name: p.friendly_name.clone(),
                        friendly: p.friendly_name.clone(),
                        status: SyncDeviceStatus::PartnershipExists,
                    });
                }
            }
            st.devices
                .retain(|k| k.device.is_some() || table.for_device(&k.key).is_some());
            if table_changed && let Err(e) = st.table.save(&self.inner.state_dir) {
                tracing::warn!(error = %e, "could not save the partnership table");
            }
        }
        drop(released);
        // Outside the lock: stopping an engine sends events, and subscribers may call back.
        for e in abandoned {
            e.abandon_if_running();
        }
        if emit {
            for e in events {
                self.inner.events.emit(e);
            }
            for key in auto {
                self.begin_sync(&key);
            }
        }
        Ok(())
    }
}
