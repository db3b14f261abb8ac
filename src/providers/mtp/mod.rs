//! MTP devices (phones, portable players) over the pure-Rust [`mtp-rs`](https://docs.rs/mtp-rs)
//! stack: feature `mtp` (Rust 1.91 or newer, mtp-rs's floor).
//!
//! [`MtpProvider`] finds devices by USB enumeration (mtp-rs's `MtpDevice::list_devices`; on
//! Windows mtp-rs goes through Windows Portable Devices instead) and serves each as an
//! [`MtpDevice`]; [`MtpProvider::with_device`] serves one device the caller opened itself, for
//! example mtp-rs's folder-backed virtual device (feature `mtp-virtual`). Each call runs one or
//! a few MTP operations to completion on the calling thread (`futures::executor::block_on`):
//! no async runtime is started.
//!
//! | method | MTP operation |
//! | --- | --- |
//! | `ServiceProvider::devices` | USB enumeration, then OpenSession + GetDeviceInfo per new device |
//! | `Device::name`, `manufacturer`, `serial_number` | the DeviceInfo dataset (Model, Manufacturer, SerialNumber) |
//! | `Device::format_support`, `WMDM/FormatsSupported` | DeviceInfo PlaybackFormats (a sessionless GetDeviceInfo over USB) |
//! | `Device::storages`, `StorageGlobals::total_size` / `total_free` | GetStorageIDs, GetStorageInfo (MaxCapacity, FreeSpaceInBytes; the capacity as last read, the free space afresh) |
//! | `Storage::children`, `child` | GetObjectHandles, then GetObjectPropList or GetObjectInfo |
//! | `Storage::name`, `size`, `date`, `metadata` | the ObjectInfo properties (ObjectFileName, ObjectSize, ObjectFormat, DateModified) |
//! | `Storage::open` + `ObjectIo::read` / `seek` | GetPartialObject64 (1 MiB windows), or GetObject where partial reads are refused; none for the ends a handle just wrote (see Limits) |
//! | `Storage::create` (file) + `ObjectIo::write` / `close` | SendObjectInfo + SendObject of the whole object at close |
//! | `Storage::direct_transfer` (folders) | SendObjectInfo + SendObject, the source read straight into the buffer sent |
//! | `Storage::create` (folder) | SendObjectInfo with the Association format |
//! | `Storage::delete` | DeleteObject (a folder's content first, one object per progress tick) |
//! | `Storage::rename` | SetObjectPropValue(ObjectFileName), where the device lists it |
//! | `Storage::move_to` | MoveObject, where the device lists it |
//! | `Storage::parent` | GetObjectInfo (ParentObject) |
//! | `Device::lock_writer` / `writer_holder` | a lock object at the first storage's root ([`lock`](self#the-writer-lock)) |
//!
//! # Limits
//!
//! * **No partial writes.** MTP creates an object with its data; a write session keeps its
//!   content on the host (in memory) and sends it whole at `close`. A new file appears on the
//!   device only then. Rewriting an existing object sends a new one under a temporary name,
//!   deletes the old one and renames the new one into place where the device renames;
//!   otherwise it deletes the old one first (a crash in between loses it).
//! * **The read-back after a write is the bytes sent.** The handle a write was closed on keeps
//!   the first and last 8 KiB it sent, and its first read session within 5 seconds (the
//!   lifetime of a kept listing) reads them from there: the device acknowledged those
//!   bytes, MTP stores an object's data as sent, and the provider writes nothing into files
//!   itself. This is the sync's fingerprint of each file it wrote; any other read, and every
//!   handle from a listing, asks the device.
//! * **Renames only where the device has them** (`MtpDevice::supports_rename`); otherwise
//!   [`Storage::rename`](crate::provider::Storage::rename) is `NotSupported`.
//! * **No persistent object IDs.** MTP object handles last one session (mtp-rs: "don't
//!   persist it across sessions"), and the high-level mtp-rs API does not carry MTP's
//!   PersistentUniqueObjectIdentifier property, so objects report an empty unique ID: the sync
//!   recognises its files by size and content fingerprint, and `find_storage` finds only
//!   storage roots (`mtp:<serial>:<storage id>`).
//! * **Object metadata** is the ObjectInfo dataset only (name, size, format, dates); track
//!   properties (Artist, Album, Duration...) and `set_metadata` need the object-property
//!   operations mtp-rs keeps below its portable API, so tags live in the files themselves.
//! * **Playlists** are written as files (M3U8 by the sync). MTP abstract playlists
//!   (SetObjectReferences) are not offered: `references`/`set_references` are `NotSupported`.
//! * **Formats**: PlaybackFormats come from a sessionless GetDeviceInfo on the USB transport.
//!   Through WPD (Windows) and on the virtual device there is no such transport: then the
//!   device reports no format list and the sync sends every format.
//! * **Names** follow FAT's rule (most MTP devices store on FAT, exFAT or Android's
//!   case-insensitive storage) and at most 254 bytes (MTP strings hold 254 UTF-16 units).
//! * **Arrival and removal** are seen at each `devices()` call (enumeration); mtp-rs's hotplug
//!   watcher needs an async runtime's stream, which this crate does not run.
//!
//! # The writer lock
//!
//! MTP has no lock: see the [`lock`] module for what the lock object and the in-process
//! table guarantee, and their limits.

mod conn;
mod create;
mod device;
mod io;
pub mod lock;
mod moves;
mod object;

use std::sync::{Arc, Mutex, PoisonError};

pub use device::MtpDevice;

use crate::error::{Error, Result};
use crate::metadata::FormatCode;
use crate::provider::{DeviceRef, NameRule, ServiceProvider};

/// The name of the writer lock object at the root of a device's first storage (hidden from
/// listings).
pub const LOCK_NAME: &str = ".wmdm-mtp-writer.lock";

/// The name rule MTP devices get (see the module docs).
const NAME_RULE: NameRule = NameRule::Fat;
/// The longest name, in UTF-8 bytes: MTP strings hold 254 UTF-16 units, and a UTF-8 name of
/// at most 254 bytes never has more.
const NAME_MAX: u32 = 254;

/// How an [`MtpProvider`] opens devices.
#[derive(Clone, Debug, Default)]
pub struct MtpOptions {
    serial: Option<String>,
    read_only: bool,
}

impl MtpOptions {
    /// Every MTP device found, writable.
    pub fn new() -> MtpOptions {
        MtpOptions::default()
    }

    /// Only the device with this serial number.
    pub fn serial(mut self, serial: impl Into<String>) -> MtpOptions {
        self.serial = Some(serial.into());
        self
    }

    /// Refuse every change ([`Error::WriteProtected`]), for dry runs.
    pub fn read_only(mut self, read_only: bool) -> MtpOptions {
        self.read_only = read_only;
        self
    }
}

/// The MTP service provider: the devices mtp-rs finds, or one device given to it.
#[derive(Debug)]
pub struct MtpProvider {
    options: MtpOptions,
    /// A device the caller opened ([`MtpProvider::with_device`]): never enumerated.
    fixed: bool,
    devices: Mutex<Vec<Arc<MtpDevice>>>,
}

impl MtpProvider {
    /// A provider over the MTP devices USB enumeration finds (filtered by
    /// [`MtpOptions::serial`]). Nothing is opened before [`ServiceProvider::devices`].
    pub fn new(options: MtpOptions) -> MtpProvider {
        MtpProvider {
            options,
            fixed: false,
            devices: Mutex::new(Vec::new()),
        }
    }

    /// A provider serving one device the caller opened with mtp-rs (for example
    /// `MtpDevice::builder().open_virtual(..)`); its playback formats are `formats`.
    pub fn with_device(
        device: mtp_rs::MtpDevice,
        formats: Vec<FormatCode>,
        options: MtpOptions,
    ) -> MtpProvider {
        let conn = conn::Conn::new(device, formats, options.read_only);
        MtpProvider {
            options,
            fixed: true,
            devices: Mutex::new(vec![MtpDevice::new(conn)]),
        }
    }

    /// The devices as concrete types (enumerating first, as [`ServiceProvider::devices`]).
    ///
    /// # Errors
    /// As [`ServiceProvider::devices`].
    pub fn mtp_devices(&self) -> Result<Vec<Arc<MtpDevice>>> {
        if !self.fixed {
            self.enumerate()?;
        }
        let list = self.devices.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(list.iter().filter(|d| d.is_connected()).cloned().collect())
    }

    /// Brings the device list up to date: devices no longer enumerated are gone (their
    /// handles answer `DeviceNotConnected`), new ones are opened.
    fn enumerate(&self) -> Result<()> {
        let found = match mtp_rs::MtpDevice::list_devices() {
            Ok(found) => found,
            // A host without a USB subsystem (no /sys/bus/usb) has no MTP device either.
            Err(mtp_rs::Error::Io { message }) => {
                tracing::warn!(%message, "USB enumeration failed: no MTP devices");
                Vec::new()
            }
            Err(e) => return Err(conn::map_err(&e)),
        };
        let found: Vec<mtp_rs::MtpDeviceInfo> = found
            .into_iter()
            .filter(|d| match &self.options.serial {
                Some(s) => d.serial_number.as_deref() == Some(s.as_str()),
                None => true,
            })
            .collect();
        let mut list = self.devices.lock().unwrap_or_else(PoisonError::into_inner);
        for d in list.iter() {
            let listed = found
                .iter()
                .any(|f| f.serial_number.as_deref() == Some(d.serial()));
            if !listed {
                d.conn.set_gone();
            }
        }
        list.retain(|d| d.is_connected());
        for info in found {
            let known = list
                .iter()
                .any(|d| info.serial_number.as_deref() == Some(d.serial()));
            if known {
                continue;
            }
            match open(&info) {
                Ok((device, formats)) => list.push(MtpDevice::new(conn::Conn::new(
                    device,
                    formats,
                    self.options.read_only,
                ))),
                Err(e) => {
                    tracing::warn!(device = %info.display(), error = %e, "cannot open the MTP device");
                }
            }
        }
        Ok(())
    }
}

/// Opens an enumerated device: its playback formats first (a sessionless GetDeviceInfo over
/// USB, before the session claims the interface), then the session.
fn open(
    info: &mtp_rs::MtpDeviceInfo,
) -> std::result::Result<(mtp_rs::MtpDevice, Vec<FormatCode>), mtp_rs::Error> {
    use futures::executor::block_on as block;
    let formats = match &info.serial_number {
        Some(serial) => block(async {
            let ptp = mtp_rs::ptp::PtpDevice::open_by_serial(serial).await?;
            ptp.get_device_info().await
        })
        .map(|d| {
            d.playback_formats
                .into_iter()
                .map(|f| FormatCode(u32::from(u16::from(f))))
                .collect()
        })
        .unwrap_or_default(),
        None => Vec::new(),
    };
    let device = match &info.serial_number {
        Some(serial) => block(mtp_rs::MtpDevice::open_by_serial(serial))?,
        None => block(mtp_rs::MtpDevice::open_by_location(info.location_id))?,
    };
    Ok((device, formats))
}

impl ServiceProvider for MtpProvider {
    fn device_count(&self) -> Result<u32> {
        u32::try_from(self.mtp_devices()?.len()).map_err(|_| Error::Unexpected)
    }

    fn devices(&self) -> Result<Vec<DeviceRef>> {
        Ok(self
            .mtp_devices()?
            .into_iter()
            .map(|d| d as DeviceRef)
            .collect())
    }
}
