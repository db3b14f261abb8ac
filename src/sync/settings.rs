//! A partnership's settings as Rust types: the reserve, sync on connect, the filter, the
//! default rules and the last sync. The WMP attribute strings of
//! [`SyncDevice::item_info`]/[`SyncDevice::set_item_info`] stay for COM; both read and write
//! the same partnership row.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::filter::SyncFilter;
use super::partnership::Partnership;
use super::partnership::{LastSync, SyncDeviceStatus};
use super::services::{State, SyncDevice};
use crate::error::{Error, Result};

/// The most of a device a partnership may keep free (PercentSpaceReserved's range is 0-95).
pub const MAX_RESERVE_PERCENT: u8 = 95;

/// What a partnership keeps about how it syncs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceSettings {
    /// Space to leave free on the device, in percent, 0 to [`MAX_RESERVE_PERCENT`]
    /// (PercentSpaceReserved).
    pub reserve_percent: u8,
    /// Sync when the device arrives (SyncOnConnect); it starts by itself only where the
    /// host allows background sync (BackgroundSyncState).
    pub sync_on_connect: bool,
    /// The media the next sync session may touch (SyncFilter); it applies to one session,
    /// after which it is [`SyncFilter::NONE`] again.
    pub filter: SyncFilter,
    /// Sync the library's default selection instead of the partnership's playlists
    /// (AutoSyncDefaultRules).
    pub default_rules: bool,
}

impl SyncDevice {
    /// The partnership's settings.
    ///
    /// # Errors
    /// [`Error::Unexpected`] without a partnership; [`Error::PdaManualDevice`] for a manual
    /// device.
    pub fn sync_settings(&self) -> Result<DeviceSettings> {
        let p = self.partnership_row()?;
        Ok(DeviceSettings {
            reserve_percent: p.0.reserve_percent,
            sync_on_connect: p.0.sync_on_connect,
            filter: SyncFilter(p.0.sync_filter),
            default_rules: p.0.default_rules,
        })
    }

    /// Sets the partnership's settings and saves the partnership table.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] naming `reserve_percent` when it is over
    /// [`MAX_RESERVE_PERCENT`], or `filter` when it has bits above `0xFF`;
    /// [`Error::Unexpected`] without a partnership; I/O errors saving the table.
    pub fn set_sync_settings(&self, settings: &DeviceSettings) -> Result<()> {
        if settings.reserve_percent > MAX_RESERVE_PERCENT {
            return Err(Error::InvalidArg
                .context(format!(
                    "device setting reserve_percent: expected 0 to {MAX_RESERVE_PERCENT}, got"
                ))
                .subject(settings.reserve_percent));
        }
        if settings.filter.0 > 0xFF {
            return Err(Error::InvalidArg
                .context("device setting filter: expected bits up to 0xFF, got")
                .subject(format!("{:#x}", settings.filter.0)));
        }
        let mut st = self.services.lock();
        let p = st.partnership_mut(&self.key)?;
        p.settings.reserve_percent = settings.reserve_percent;
        p.settings.sync_on_connect = settings.sync_on_connect;
        p.settings.sync_filter = settings.filter.0;
        p.settings.default_rules = settings.default_rules;
        st.table.save(&self.services.inner.state_dir)
    }

    /// When the partnership's last sync ended (LastSyncTime); `None` before the first.
    ///
    /// # Errors
    /// As [`sync_settings`](Self::sync_settings).
    pub fn last_sync_time(&self) -> Result<Option<SystemTime>> {
        let (_, last) = self.partnership_row()?;
        Ok(last
            .time
            .and_then(|t| UNIX_EPOCH.checked_add(Duration::from_secs(t))))
    }

    fn partnership_row(&self) -> Result<(super::PartnershipSettings, LastSync)> {
        let status = self.status();
        if status == SyncDeviceStatus::ManualDevice {
            return Err(Error::PdaManualDevice);
        }
        let st = self.services.lock();
        st.table
            .for_device(&self.key)
            .filter(|_| status == SyncDeviceStatus::PartnershipExists)
            .map(|p| (p.settings.clone(), p.last))
            .ok_or(Error::Unexpected)
    }
}

impl State {
    /// The partnership row of the device `key`, while it has a partnership with this library
    /// (the one lookup setItemInfo and the typed settings share).
    ///
    /// # Errors
    /// [`Error::Unexpected`] without a partnership.
    pub(super) fn partnership_mut(&mut self, key: &str) -> Result<&mut Partnership> {
        let exists = self
            .devices
            .iter()
            .any(|k| k.key == key && k.status == SyncDeviceStatus::PartnershipExists);
        self.table
            .for_device_mut(key)
            .filter(|_| exists)
            .ok_or(Error::Unexpected)
    }
}
