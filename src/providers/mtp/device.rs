//! An MTP device as a [`Device`], and its storages' [`StorageGlobals`].

use std::sync::{Arc, Weak};

use mtp_rs::StorageId;

use super::conn::Conn;
use super::object::MtpObject;
use super::{NAME_MAX, NAME_RULE};
use crate::error::{Error, Result};
use crate::flags::{DeviceStatus, DeviceType, FindScope, Mode, StorageCapabilities};
use crate::metadata::{PropValue, device as props};
use crate::provider::{
    Device, DeviceRef, FormatSupport, Icon, LockHolder, Progress, StorageGlobals, StorageRef,
    WaveFormat, WmdmId, WriterLock,
};

/// One MTP device (a phone, a player) reached through mtp-rs.
///
/// Made by [`MtpProvider`](super::MtpProvider); see the module documentation for which MTP
/// operation carries each method.
pub struct MtpDevice {
    pub(super) conn: Conn,
    me: Weak<MtpDevice>,
}

impl std::fmt::Debug for MtpDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MtpDevice")
            .field("conn", &self.conn)
            .finish_non_exhaustive()
    }
}

impl MtpDevice {
    pub(super) fn new(conn: Conn) -> Arc<MtpDevice> {
        Arc::new_cyclic(|me| MtpDevice {
            conn,
            me: me.clone(),
        })
    }

    fn arc(&self) -> Result<Arc<MtpDevice>> {
        self.me.upgrade().ok_or(Error::DeviceNotConnected)
    }

    /// The device's serial number (its DeviceInfo SerialNumber), its identity for the sync.
    pub fn serial(&self) -> &str {
        &self.conn.serial
    }

    /// The device's firmware version (DeviceInfo DeviceVersion), as the device spells it.
    pub fn firmware(&self) -> &str {
        &self.conn.version
    }

    /// True while the device is connected and answering.
    pub fn is_connected(&self) -> bool {
        self.conn.present()
    }

    /// True when the device renames objects (SetObjectPropValue of ObjectFileName). Without
    /// it, [`Storage::rename`](crate::provider::Storage::rename) returns [`Error::NotSupported`].
    pub fn supports_rename(&self) -> bool {
        self.conn.caps.can_rename
    }

    /// A storage's name: its description, or its id where the device gives none.
    pub(super) fn storage_name(&self, id: StorageId) -> Result<String> {
        let s = self.conn.storage(id)?;
        let d = s.info().description.trim();
        Ok(if d.is_empty() {
            format!("Storage {:08x}", id.0)
        } else {
            d.to_owned()
        })
    }

    fn roots(&self) -> Result<Vec<MtpObject>> {
        let me = self.arc()?;
        self.conn
            .storage_ids()?
            .into_iter()
            .map(|id| Ok(MtpObject::root(me.clone(), id, self.storage_name(id)?)))
            .collect()
    }

    /// The object at `path` (a storage name, then names down from its root).
    pub(super) fn resolve(&self, path: &[String]) -> Result<MtpObject> {
        let (first, rest) = path.split_first().ok_or(Error::InvalidArg)?;
        let root = self
            .roots()?
            .into_iter()
            .find(|r| r.lock().name == *first)
            .ok_or(Error::FileNotFound)?;
        let mut cur = root;
        for name in rest {
            cur = cur.named_child(name)?;
        }
        Ok(cur)
    }
}

impl Device for MtpDevice {
    /// The model of the DeviceInfo dataset (GetDeviceInfo).
    fn name(&self) -> Result<String> {
        self.conn.check()?;
        Ok(self.conn.model.clone())
    }

    /// The manufacturer of the DeviceInfo dataset.
    fn manufacturer(&self) -> Result<String> {
        self.conn.check()?;
        Ok(self.conn.manufacturer.clone())
    }

    fn device_type(&self) -> Result<DeviceType> {
        self.conn.check()?;
        Ok(DeviceType::STORAGE | DeviceType::PLAYBACK | DeviceType::NONSDMI)
    }

    /// The DeviceInfo SerialNumber (MTP requires one, unique per model), vendor id 0.
    fn serial_number(&self) -> Result<WmdmId> {
        self.conn.check()?;
        if self.conn.serial.trim().is_empty() {
            return Err(Error::NotSupported);
        }
        WmdmId::new(0, self.conn.serial.as_bytes())
    }

    fn status(&self) -> Result<DeviceStatus> {
        Ok(if self.conn.present() {
            DeviceStatus::READY
        } else {
            DeviceStatus::DEVICE_NOTPRESENT
        })
    }

    fn icon(&self) -> Result<Icon> {
        self.conn.check()?;
        Ok(Icon::generic([0x20, 0x90, 0x60]))
    }

    /// One root per MTP storage (GetStorageIDs, GetStorageInfo).
    fn storages(&self) -> Result<Vec<StorageRef>> {
        Ok(self
            .roots()?
            .into_iter()
            .map(|r| Arc::new(r) as StorageRef)
            .collect())
    }

    /// The DeviceInfo PlaybackFormats, where the transport gave them (see the module docs).
    fn format_support(&self) -> Result<FormatSupport> {
        self.conn.check()?;
        let f = &self.conn.formats;
        Ok(FormatSupport {
            audio: f
                .iter()
                .filter_map(|&c| WaveFormat::typical_for(c))
                .collect(),
            video: Vec::new(),
            mime_types: f
                .iter()
                .filter_map(|c| c.mime_type().map(str::to_string))
                .collect(),
        })
    }

    /// `mtp:<serial>`, what the example's `--device` takes.
    fn canonical_name(&self) -> Result<String> {
        self.conn.check()?;
        Ok(format!("mtp:{}", self.conn.serial))
    }

    fn property(&self, name: &str) -> Result<PropValue> {
        self.conn.check()?;
        Ok(match name {
            props::DEVICE_FRIENDLY_NAME | props::DEVICE_MODEL_NAME => {
                PropValue::String(self.conn.model.clone())
            }
            props::DEVICE_PROTOCOL => PropValue::Guid(props::DEVICE_PROTOCOL_MTP),
            props::FORMATS_SUPPORTED if !self.conn.formats.is_empty() => {
                PropValue::U32Array(self.conn.formats.iter().map(|f| f.0).collect())
            }
            props::NAME_RULE => PropValue::String(NAME_RULE.as_str().to_owned()),
            props::NAME_MAX => PropValue::U32(NAME_MAX),
            props::SUPPORTED_DEVICE_PROPERTIES => {
                let mut names = vec![
                    props::DEVICE_FRIENDLY_NAME.to_owned(),
                    props::DEVICE_MODEL_NAME.to_owned(),
                    props::DEVICE_PROTOCOL.to_owned(),
                    props::NAME_RULE.to_owned(),
                    props::NAME_MAX.to_owned(),
                ];
                if !self.conn.formats.is_empty() {
                    names.push(props::FORMATS_SUPPORTED.to_owned());
                }
                PropValue::StringArray(names)
            }
            _ => return Err(Error::NotSupported),
        })
    }

    fn find_storage(&self, scope: FindScope, unique_id: &str) -> Result<StorageRef> {
        let _ = scope;
        // Only storage roots have persistent IDs (objects' handles last one session).
        for root in self.storages()? {
            if !unique_id.is_empty() && root.unique_id()? == unique_id {
                return Ok(root);
            }
        }
        Err(Error::FileNotFound)
    }

    /// Every MTP operation has completed on the device when its response arrives, so there is
    /// nothing to wait for (how durably the device's own file system keeps it is the device's
    /// business, and MTP cannot ask).
    fn flush(&self) -> Result<()> {
        self.conn.check()
    }

    fn lock_writer(&self, holder: &LockHolder) -> Result<WriterLock> {
        super::lock::lock(&self.arc()?, holder)
    }

    fn writer_holder(&self) -> Result<Option<LockHolder>> {
        super::lock::holder(self)
    }
}

/// A storage's totals (GetStorageInfo: MaxCapacity, FreeSpaceInBytes).
#[derive(Debug)]
pub(super) struct MtpGlobals {
    pub(super) device: Arc<MtpDevice>,
    pub(super) storage: StorageId,
}

impl StorageGlobals for MtpGlobals {
    fn capabilities(&self) -> Result<StorageCapabilities> {
        self.device.conn.check()?;
        Ok(StorageCapabilities::FOLDERSINROOT
            | StorageCapabilities::FILESINROOT
            | StorageCapabilities::FOLDERSINFOLDERS
            | StorageCapabilities::FILESINFOLDERS
            | StorageCapabilities::NOT_INITIALIZABLE)
    }

    /// The capacity last read: a storage's MaxCapacity does not change (a card swapped for
    /// another is another storage ID), so it costs no round trip once the storage is listed.
    fn total_size(&self) -> Result<u64> {
        Ok(self
            .device
            .conn
            .storage(self.storage)?
            .info()
            .total_capacity)
    }

    fn total_free(&self) -> Result<u64> {
        Ok(self
            .device
            .conn
            .refresh_storage(self.storage)?
            .info()
            .free_space)
    }

    fn total_bad(&self) -> Result<u64> {
        self.device.conn.check()?;
        Ok(0)
    }

    fn status(&self) -> Result<DeviceStatus> {
        Ok(if self.device.conn.present() {
            DeviceStatus::READY
        } else {
            DeviceStatus::STORAGE_NOTPRESENT
        })
    }

    fn initialize(&self, mode: Mode, progress: &mut dyn Progress) -> Result<()> {
        let _ = (mode, progress);
        Err(Error::NotSupported)
    }

    fn device(&self) -> Result<DeviceRef> {
        self.device.conn.check()?;
        Ok(self.device.clone())
    }

    fn root_storage(&self) -> Result<StorageRef> {
        Ok(Arc::new(MtpObject::root(
            self.device.clone(),
            self.storage,
            self.device.storage_name(self.storage)?,
        )))
    }
}

#[cfg(all(test, feature = "mtp-virtual"))]
mod tests {
    use super::super::{MtpOptions, MtpProvider};
    use crate::error::Error;
    use crate::provider::{CreateRequest, Device};

    /// A storage's capacity is fixed (MaxCapacity), so the capacity of a storage already
    /// listed costs no round trip: on a real device each GetStorageInfo is a USB exchange,
    /// and the sync asks for it at its start and end. The free space is read afresh.
    #[test]
    fn the_capacity_of_a_listed_storage_costs_no_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let serial = "device-capacity";
        let device = super::super::conn::tests::open_virtual(serial, 3 << 20, dir.path());
        let provider = MtpProvider::with_device(device, Vec::new(), MtpOptions::new());
        let d = provider.mtp_devices().unwrap().remove(0);
        let root = d.storages().unwrap().remove(0);
        let globals = root.globals().unwrap();
        // Listed, so that creating a folder in it asks the device nothing but the creation.
        assert!(root.children().unwrap().is_empty());
        // The next operation the device sees fails once (a wedged session).
        assert!(mtp_rs::virtual_device::force_operation_wedge(serial));
        assert_eq!(globals.total_size().unwrap(), 3 << 20);
        // The capacity did not meet the wedge: the next change does (and is not repeated).
        assert_eq!(
            root.create(&CreateRequest::folder("F")).err(),
            Some(Error::NotReady)
        );
        // The free space is asked for (the wedged read is run again), and is the device's.
        assert!(mtp_rs::virtual_device::force_operation_wedge(serial));
        assert!(globals.total_free().unwrap() <= 3 << 20);
        root.create(&CreateRequest::folder("F")).unwrap();
    }
}
