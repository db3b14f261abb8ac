//! IWMPSyncDevice::getItemInfo and IWMPSyncDevice2::setItemInfo, with the attribute names of
//! Microsoft's reference: <https://learn.microsoft.com/en-us/windows/win32/api/wmp/nf-wmp-iwmpsyncdevice-getiteminfo>.

use super::filter::{SyncFilter, parse_number};
use super::partnership::SyncDeviceStatus;
use super::services::{SyncDevice, root_of};
use crate::error::{Error, Result};
use crate::manager::WmdmDevice;
use crate::metadata::{FormatCode, PropValue, device as props};

fn bool_text(b: bool) -> String {
    if b { "True".into() } else { "False".into() }
}

/// The error for an attribute name getItemInfo/setItemInfo does not know.
fn unknown_attribute(name: &str) -> Error {
    Error::InvalidArg
        .context("unknown device attribute")
        .subject(format!("'{name}'"))
}

fn parse_bool(v: &str) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(Error::InvalidArg),
    }
}

/// Whether the device takes a format of a kind, from its `WMDM/FormatsSupported`; a device
/// that lists no formats takes music only (the sync treats an unknown format as music), so
/// `unlisted` answers for it.
fn supports(device: Option<&WmdmDevice>, kind: fn(FormatCode) -> bool, unlisted: bool) -> bool {
    match device.map(|d| d.property(props::FORMATS_SUPPORTED)) {
        Some(Ok(PropValue::U32Array(codes))) if !codes.is_empty() => {
            codes.into_iter().map(FormatCode).any(kind)
        }
        _ => unlisted,
    }
}

/// The storage WMP 12 prefers for a media type: with no per-type location hint from the
/// device, the largest storage, by its 0-based place among the device's storages.
fn preferred_storage(device: &WmdmDevice) -> Result<usize> {
    let mut best: Option<(usize, u64)> = None;
    for (i, storage) in device.storages()?.iter().enumerate() {
        let size = storage.globals()?.total_size()?;
        if best.is_none_or(|(_, b)| size > b) {
            best = Some((i, size));
        }
    }
    best.map(|(i, _)| i).ok_or(Error::NoPda)
}

/// BackgroundSyncState bit 1: the device may sync in the background (on connect).
pub(super) const BACKGROUND_SYNC: u8 = 0x01;

/// BackgroundSyncState bit 2: tracks may be converted while syncing to the device.
pub(super) const BACKGROUND_TRANSCODE: u8 = 0x02;

impl SyncDevice {
    /// IWMPSyncDevice::getItemInfo, with the attribute names of Microsoft's reference: <https://learn.microsoft.com/en-us/windows/win32/api/wmp/nf-wmp-iwmpsyncdevice-getiteminfo>: Connected,
    /// FriendlyName, Name, SerialNumber, FreeSpace, TotalSpace, LastSyncTime (seconds since the
    /// Unix epoch, empty before the first sync), LastSyncErrorCount, LastSyncNoFitCount,
    /// SyncItemCount, SyncIndex, SyncRelationship, SyncPercentComplete, PercentSpaceReserved,
    /// SyncOnConnect, SyncFilter (`0x` and two hex digits), AutoSyncDefaultRules,
    /// BackgroundSyncState (decimal, 255 unless set), SkippedFiles (`"1"` when the
    /// partnership has skipped files), SupportsAudio, SupportsVideo, SupportsPhoto (from the
    /// device's `WMDM/FormatsSupported`; a device that lists none takes music only), and
    /// PreferredAudio, PreferredVideo, PreferredPhoto (the 0-based place of the preferred
    /// storage among the device's storages: the largest, as no device gives per-type hints
    /// here).
    ///
    /// # Errors
    /// [`Error::InvalidArg`] for an unknown name; [`Error::PdaManualDevice`] on a manual
    /// device; [`Error::Unexpected`] for a partnership attribute without a partnership;
    /// [`Error::NoPda`] for a space attribute while the device is away.
    pub fn item_info(&self, name: &str) -> Result<String> {
        let (known_status, friendly, dev_name, serial, device) = self.with(|k, _| {
            (
                k.status,
                k.friendly.clone(),
                k.name.clone(),
                k.serial.clone(),
                k.device.clone(),
            )
        })?;
        if known_status == SyncDeviceStatus::ManualDevice {
            return Err(Error::PdaManualDevice);
        }
        let partnership = {
            let st = self.services.lock();
            st.table.for_device(&self.key).cloned()
        }
        .filter(|_| known_status == SyncDeviceStatus::PartnershipExists);
        let need_p = || partnership.clone().ok_or(Error::Unexpected);
        let space = |total: bool| -> Result<String> {
            let g = root_of(device.as_ref().ok_or(Error::NoPda)?)?.globals()?;
            Ok(if total {
                g.total_size()?
            } else {
                g.total_free()?
            }
            .to_string())
        };
        Ok(match name {
            "Connected" => bool_text(device.is_some()),
            "FriendlyName" => friendly,
            "Name" => dev_name,
            "SerialNumber" => serial,
            "FreeSpace" => space(false)?,
            "TotalSpace" => space(true)?,
            "SyncIndex" => self.partnership_index().to_string(),
            "SyncRelationship" => match known_status {
                SyncDeviceStatus::PartnershipExists => "2",
                SyncDeviceStatus::PartnershipAnother => "3",
                _ => "0",
            }
            .into(),
            "SyncPercentComplete" => self.progress().to_string(),
            "SupportsAudio" => bool_text(supports(device.as_ref(), FormatCode::is_audio, true)),
            "SupportsVideo" => bool_text(supports(device.as_ref(), FormatCode::is_video, false)),
            "SupportsPhoto" => bool_text(supports(device.as_ref(), FormatCode::is_image, false)),
            "PreferredAudio" | "PreferredVideo" | "PreferredPhoto" => {
                preferred_storage(device.as_ref().ok_or(Error::NoPda)?)?.to_string()
            }
            "LastSyncTime" => need_p()?
                .last
                .time
                .map(|t| t.to_string())
                .unwrap_or_default(),
            "LastSyncErrorCount" => need_p()?.last.errors.to_string(),
            "LastSyncNoFitCount" => need_p()?.last.no_fit.to_string(),
            "SyncItemCount" => need_p()?.last.items.to_string(),
            "PercentSpaceReserved" => need_p()?.settings.reserve_percent.to_string(),
            "SyncOnConnect" => bool_text(need_p()?.settings.sync_on_connect),
            "SyncFilter" => format!("0x{:02X}", need_p()?.settings.sync_filter),
            "AutoSyncDefaultRules" => bool_text(need_p()?.settings.default_rules),
            "SkippedFiles" => if need_p()?.skipped.is_empty() {
                "0"
            } else {
                "1"
            }
            .into(),
            "BackgroundSyncState" => {
                need_p()?;
                self.background_state().to_string()
            }
            _ => return Err(unknown_attribute(name)),
        })
    }

    /// IWMPSyncDevice2::setItemInfo, with the names of Microsoft's reference: <https://learn.microsoft.com/en-us/windows/win32/api/wmp/nf-wmp-iwmpsyncdevice-getiteminfo>. All need a
    /// partnership. Numbers are decimal or `0x` hexadecimal; booleans `true`/`false` in any
    /// case (or `1`/`0`).
    ///
    /// * PercentSpaceReserved: `0`..`95`.
    /// * SyncOnConnect: a boolean.
    /// * SyncFilter: a [`SyncFilter`] bit set up to `0xFF`, for the next sync session only.
    /// * AutoSyncDefaultRules: a boolean, saved with the partnership. When true the
    ///   partnership syncs [`default_selection`](super::default_selection) instead of its
    ///   playlists.
    /// * BackgroundSyncState: `0`..`255`; bit 1 lets a device with SyncOnConnect start
    ///   syncing by itself when it arrives; bit 2 allows transcoding during sync: cleared,
    ///   the device's sessions convert nothing whatever
    ///   [`PlanSettings::convert`](super::PlanSettings::convert) says, and a track the
    ///   device does not play is left out as
    ///   [`FormatNotSupported`](super::LeftOutReason::FormatNotSupported), as with
    ///   conversion off. Held in memory for the life of the
    ///   [`SyncServices`](super::SyncServices), never saved; 255 (everything allowed)
    ///   until set.
    /// * IncludeSkippedFiles: the empty string. The skipped files are forgotten, so the next
    ///   sync copies them again.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] for an unknown name or a bad value; [`Error::Unexpected`]
    /// without a partnership; I/O errors saving the table.
    pub fn set_item_info(&self, name: &str, value: &str) -> Result<()> {
        let mut st = self.services.lock();
        let p = st.partnership_mut(&self.key)?;
        let bad_value = |expected: &str| {
            Error::InvalidArg
                .context(format!("device setting {name}: expected {expected}, got"))
                .subject(format!("'{value}'"))
        };
        match name {
            "PercentSpaceReserved" => {
                let v = parse_number(value)
                    .ok()
                    .filter(|v| *v <= 95)
                    .and_then(|v| u8::try_from(v).ok())
                    .ok_or(())
                    .map_err(|_| bad_value("a number from 0 to 95"))?;
                p.settings.reserve_percent = v;
            }
            "SyncOnConnect" => {
                p.settings.sync_on_connect =
                    parse_bool(value).map_err(|_| bad_value("true or false"))?
            }
            "SyncFilter" => {
                p.settings.sync_filter = SyncFilter::parse(value)
                    .map_err(|_| bad_value("a number up to 0xFF"))?
                    .0
            }
            "AutoSyncDefaultRules" => {
                p.settings.default_rules =
                    parse_bool(value).map_err(|_| bad_value("true or false"))?;
                // An explicit choice of rules ends the starter selection.
                p.settings.starter = false;
            }
            "IncludeSkippedFiles" => {
                if !value.is_empty() {
                    return Err(bad_value("the empty string"));
                }
                p.skipped.clear();
            }
            "BackgroundSyncState" => {
                let v = parse_number(value)
                    .ok()
                    .and_then(|v| u8::try_from(v).ok())
                    .ok_or(())
                    .map_err(|_| bad_value("a number from 0 to 255"))?;
                // In memory only: nothing to save.
                st.background.insert(self.key.clone(), v);
                drop(st);
                self.services.settings_changed(&self.key);
                return Ok(());
            }
            _ => return Err(unknown_attribute(name)),
        }
        st.table.save(&self.services.inner.state_dir)?;
        drop(st);
        // WMP syncs an automatic partnership again when its settings change.
        self.services.settings_changed(&self.key);
        Ok(())
    }
}

impl SyncDevice {
    /// BackgroundSyncState as set in this process (255 until set).
    pub(super) fn background_state(&self) -> u8 {
        self.services
            .lock()
            .background
            .get(&self.key)
            .copied()
            .unwrap_or(0xFF)
    }
}
