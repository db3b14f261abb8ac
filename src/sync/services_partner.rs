//! Making and ending partnerships: createPartnership and its completion, deletePartnership,
//! and clearing a freed slot's playlist priorities.

use std::sync::PoisonError;

use super::super::device::{MARKER_FILE, delete_state, read_state, write_state};
use super::super::discovery::is_manual;
use super::super::event::SyncEvent;
use super::super::partnership::{PartnershipMarker, SyncDeviceStatus};
use super::{Pending, SyncDevice, SyncServices, root_of};
use crate::error::{Error, Result};

impl SyncServices {
    pub(super) fn complete_partnership(&self, key: &str) {
        let result = (|| -> Result<()> {
            let (device, serial, path, friendly) = {
                let st = self.lock();
                let k = st
                    .devices
                    .iter()
                    .find(|k| k.key == key)
                    .ok_or(Error::NoPda)?;
                (
                    k.device.clone().ok_or(Error::NoPda)?,
                    k.serial.clone(),
                    k.path.clone(),
                    k.friendly.clone(),
                )
            };
            let root = root_of(&device)?;
            let _writer = self.writer_for(key, &device)?;
            // Asked of the device again under its writer lock: a device that became a manual
            // one (or was replaced by one at this key) since the call is refused here too.
            if is_manual(&device) {
                return Err(Error::PdaManualDevice);
            }
            // The slot's playlists belong to the device that held it last: cleared before
            // another device takes it (its own device coming back keeps them). The library
            // first, so a crash between the two leaves the record that asks for it again.
            let inherited = {
                let st = self.lock();
                st.table
                    .next_slot(key)
                    .and_then(|(i, last)| last.filter(|k| *k != key).map(|_| i))
            };
            if let Some(index) = inherited {
                self.clear_slot(index);
            }
            let mut st = self.lock();
            if st.known(key)?.status == SyncDeviceStatus::ManualDevice {
                return Err(Error::PdaManualDevice);
            }
            let (index, last) = st.table.add_slot(&path, &serial, &friendly)?;
            let missed = last
                .filter(|k| k != key && inherited != Some(index))
                .map(|_| index);
            let marker = PartnershipMarker {
                library_id: st.table.library_id.clone(),
                index,
                library_name: st.table.library_name.clone(),
            };
            if let Err(e) = write_state(&root, MARKER_FILE, &marker.encode()) {
                st.table.release(key);
                return Err(e);
            }
            st.table.save(&self.inner.state_dir)?;
            drop(st);
            // Another completion took the slot peeked above in the meantime.
            if let Some(index) = missed {
                self.clear_slot(index);
            }
            Ok(())
        })();
        if result.is_ok() {
            self.set_status(key, SyncDeviceStatus::PartnershipExists);
        }
        self.inner
            .events
            .emit(SyncEvent::CreatePartnershipComplete {
                device: key.to_owned(),
                result,
            });
    }

    /// Clears every library playlist's priority for partnership `index` (its `SyncNN`), as
    /// WMP does when the slot is freed, so the next device given the slot starts from the
    /// default selection rather than another device's playlists. A library whose playlists
    /// cannot change ([`Library::clear_sync_slot`] answers [`Error::NotSupported`]) keeps
    /// them; that is logged.
    ///
    /// [`Library::clear_sync_slot`]: crate::library::Library::clear_sync_slot
    pub(super) fn clear_slot(&self, index: u8) {
        let result = self
            .inner
            .library
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear_sync_slot(index);
        if let Err(e) = result {
            tracing::warn!(error = %e, index, "the freed partnership's playlist priorities stay");
        }
        // What automatic partnerships sync may have changed.
        self.selection_changed();
    }
}

impl SyncDevice {
    /// IWMPSyncDevice::createPartnership. Asynchronous: returns at once, and the next
    /// [`SyncServices::poll`] sends CreatePartnershipComplete (and DeviceStatusChange). When a
    /// partnership exists already it returns `Ok` and sends nothing. A partnership this
    /// creates replaces any other library's marker on the device. WMP's `vbShowUI` has no
    /// counterpart: there is no dialog to show, and the new partnership starts with the
    /// default selection either way (see [`PartnershipSettings`](crate::sync::PartnershipSettings)).
    ///
    /// # Errors
    /// [`Error::NoPda`] when the device is not connected; [`Error::PdaManualDevice`] for a
    /// manual device. A full table (sixteen partnerships) is reported by the completion event
    /// as [`Error::PdaCannotCreateAdditionalSyncRelationship`].
    pub fn create_partnership(&self) -> Result<()> {
        let (connected, status) = self.with(|k, _| (k.device.is_some(), k.status))?;
        if !connected {
            return Err(Error::NoPda);
        }
        match status {
            SyncDeviceStatus::ManualDevice => Err(Error::PdaManualDevice),
            SyncDeviceStatus::PartnershipExists => Ok(()),
            _ => {
                self.services
                    .lock()
                    .pending
                    .push_back(Pending::Partnership(self.key.clone()));
                self.services.wake();
                Ok(())
            }
        }
    }

    /// IWMPSyncDevice::deletePartnership: frees the slot, removes the marker when the device
    /// is here, clears every playlist's priority for the freed slot (WMP's `SyncNN`; see
    /// [`Library::clear_sync_slot`](crate::library::Library::clear_sync_slot)), and the status becomes PartnershipDeclined, which it
    /// stays across discovery until a new partnership is made. What was copied stays.
    ///
    /// Returns `true` when a partnership was deleted, `false` (WMP's S_FALSE) when there was
    /// none to delete (the status is PartnershipDeclined or NewDevice).
    ///
    /// # Errors
    /// [`Error::PdaManualDevice`] on a manual device; [`Error::PdaPartnershipNotExist`] when
    /// the device is partnered with another library (PartnershipAnother); [`Error::Busy`]
    /// while another writer holds the device; I/O errors saving the table; the manager's
    /// errors removing the marker.
    pub fn delete_partnership(&self) -> Result<bool> {
        match self.with(|k, _| k.status)? {
            SyncDeviceStatus::ManualDevice => return Err(Error::PdaManualDevice),
            SyncDeviceStatus::PartnershipAnother => return Err(Error::PdaPartnershipNotExist),
            SyncDeviceStatus::PartnershipExists => {}
            _ => return Ok(false),
        }
        self.stop();
        let device = self.with(|k, _| k.device.clone())?;
        let _writer = match &device {
            Some(d) => Some(self.services.writer_for(&self.key, d)?),
            None => None,
        };
        let freed = {
            let mut st = self.services.lock();
            let freed = st.table.remove(&self.key);
            st.background.remove(&self.key);
            st.table.save(&self.services.inner.state_dir)?;
            freed
        };
        if let Some(index) = freed {
            self.services.clear_slot(index);
        }
        if let Some(d) = device {
            let root = root_of(&d)?;
            let ours = read_state(&root, MARKER_FILE)?
                .and_then(|b| PartnershipMarker::parse(&b).ok())
                .is_some_and(|m| m.library_id == self.services.library_id());
            if ours {
                delete_state(&root, MARKER_FILE)?;
            }
        }
        self.services
            .set_status(&self.key, SyncDeviceStatus::PartnershipDeclined);
        Ok(true)
    }
}
