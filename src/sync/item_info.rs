//! IWMPSyncDevice::getItemInfo and IWMPSyncDevice2::setItemInfo, with the attribute names of
//! wmdm-facts §5.4.

use super::partnership::SyncDeviceStatus;
use super::services::{SyncDevice, root_of};
use crate::error::{Error, Result};

fn bool_text(b: bool) -> String {
    if b { "True".into() } else { "False".into() }
}

fn parse_bool(v: &str) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(Error::InvalidArg),
    }
}

fn parse_number(v: &str) -> Result<u32> {
    let v = v.trim();
    match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).map_err(|_| Error::InvalidArg),
        None => v.parse().map_err(|_| Error::InvalidArg),
    }
}

impl SyncDevice {
    /// IWMPSyncDevice::getItemInfo, with the attribute names of wmdm-facts §5.4: Connected,
    /// FriendlyName, Name, SerialNumber, FreeSpace, TotalSpace, LastSyncTime (seconds since the
    /// Unix epoch, empty before the first sync), LastSyncErrorCount, LastSyncNoFitCount,
    /// SyncItemCount, SyncIndex, SyncRelationship, SyncPercentComplete, PercentSpaceReserved,
    /// SyncOnConnect, SyncFilter, SupportsAudio, SupportsVideo, SupportsPhoto.
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
            "SupportsAudio" => bool_text(true),
            "SupportsVideo" | "SupportsPhoto" => bool_text(false),
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
            _ => return Err(Error::InvalidArg),
        })
    }

    /// IWMPSyncDevice2::setItemInfo: PercentSpaceReserved ("0".."95"), SyncOnConnect
    /// ("true"/"false"), SyncFilter (a number, decimal or `0x` hex). All need a partnership.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] for an unknown name or a bad value; [`Error::Unexpected`]
    /// without a partnership; I/O errors saving the table.
    pub fn set_item_info(&self, name: &str, value: &str) -> Result<()> {
        let mut st = self.services.lock();
        let exists = st
            .devices
            .iter()
            .any(|k| k.key == self.key && k.status == SyncDeviceStatus::PartnershipExists);
        let p = st
            .table
            .for_device_mut(&self.key)
            .filter(|_| exists)
            .ok_or(Error::Unexpected)?;
        match name {
            "PercentSpaceReserved" => {
                let v = parse_number(value)?;
                if v > 95 {
                    return Err(Error::InvalidArg);
                }
                p.settings.reserve_percent = u8::try_from(v).map_err(|_| Error::InvalidArg)?;
            }
            "SyncOnConnect" => p.settings.sync_on_connect = parse_bool(value)?,
            "SyncFilter" => p.settings.sync_filter = parse_number(value)?,
            _ => return Err(Error::InvalidArg),
        }
        st.table.save(&self.services.inner.state_dir)
    }
}
