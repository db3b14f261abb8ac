//! How a memory device is described: [`MemoryDeviceBuilder`] for the device, [`StorageConfig`]
//! for each of its media.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::flags::{DeviceType, PowerSource};
use crate::metadata::{FormatCode, PropValue, tags};
use crate::provider::{FormatCapability, PowerInfo, PropConfig, PropDesc, ValidValues, WmdmId};
use crate::time::{Clock, ManualClock};

use super::MemoryDevice;
use super::fault::FaultPlan;

/// 64 MiB, the capacity of the default storage.
pub const DEFAULT_CAPACITY: u64 = 64 * 1024 * 1024;

/// Serials handed to devices that were not given one, so two default devices never share
/// unique IDs (a move between them must be told apart from a move within one).
static NEXT_SERIAL: AtomicU64 = AtomicU64::new(1);

/// Content a storage starts with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Seed {
    File(String, Vec<u8>),
    Folder(String),
}

/// One medium of a memory device: its name, size and starting content.
///
/// ```
/// use wmdm::providers::memory::StorageConfig;
///
/// let card = StorageConfig::new("SD card", 8 << 20)
///     .removable()
///     .bad_bytes(4096)
///     .folder("Podcasts")
///     .file("Music/Artist/song.mp3", vec![0u8; 1000]);
/// # let _ = card;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageConfig {
    pub(super) name: String,
    pub(super) capacity: u64,
    pub(super) bad: u64,
    pub(super) read_only: bool,
    pub(super) no_rename: bool,
    pub(super) initializable: bool,
    pub(super) removable: bool,
    pub(super) serial: Option<String>,
    pub(super) seeds: Vec<Seed>,
}

impl StorageConfig {
    /// A writable, non-removable, initialisable medium of `capacity` bytes, with no bad bytes
    /// and nothing on it.
    pub fn new(name: impl Into<String>, capacity: u64) -> StorageConfig {
        StorageConfig {
            name: name.into(),
            capacity,
            bad: 0,
            read_only: false,
            no_rename: false,
            initializable: true,
            removable: false,
            serial: None,
            seeds: Vec::new(),
        }
    }

    /// Bytes of the capacity that are unusable (IMDSPStorageGlobals::GetTotalBad).
    pub fn bad_bytes(mut self, bytes: u64) -> StorageConfig {
        self.bad = bytes;
        self
    }

    /// Makes the medium write-protected: every change fails with
    /// [`Error::WriteProtected`]. Starting content given with [`StorageConfig::file`] is
    /// still put on it.
    pub fn read_only(mut self) -> StorageConfig {
        self.read_only = true;
        self
    }

    /// The medium refuses renames and moves ([`Error::NotSupported`]), as MTP players mounted
    /// through FUSE do (jmtpfs, gvfs-mtp, simple-mtpfs): a property of the medium, so it
    /// holds across a reboot ([`MemoryDevice::restart_from`]), which the crash simulation of
    /// a sync on such a device needs.
    ///
    /// [`MemoryDevice::restart_from`]: super::MemoryDevice::restart_from
    pub fn no_rename(mut self) -> StorageConfig {
        self.no_rename = true;
        self
    }

    /// The medium cannot be formatted: its capabilities include `NOT_INITIALIZABLE` and
    /// `initialize` fails with [`Error::NotSupported`].
    pub fn not_initializable(mut self) -> StorageConfig {
        self.initializable = false;
        self
    }

    /// Marks the medium removable (`WMDM_STORAGE_ATTR_REMOVABLE`), like a memory card.
    pub fn removable(mut self) -> StorageConfig {
        self.removable = true;
        self
    }

    /// The medium's own serial number (IMDSPStorageGlobals::GetSerialNumber). Without one it
    /// is the device serial followed by `-` and the storage's index.
    pub fn serial(mut self, serial: impl Into<String>) -> StorageConfig {
        self.serial = Some(serial.into());
        self
    }

    /// A file the medium starts with, at a `/`-separated path; missing folders are created.
    pub fn file(mut self, path: impl Into<String>, data: impl Into<Vec<u8>>) -> StorageConfig {
        self.seeds.push(Seed::File(path.into(), data.into()));
        self
    }

    /// A folder the medium starts with (and any missing parents).
    pub fn folder(mut self, path: impl Into<String>) -> StorageConfig {
        self.seeds.push(Seed::Folder(path.into()));
        self
    }
}

/// Everything fixed about a device once it is built.
#[derive(Clone, Debug)]
pub(super) struct DeviceConfig {
    pub(super) name: String,
    pub(super) manufacturer: String,
    pub(super) serial: String,
    pub(super) vendor_id: u32,
    pub(super) version: u32,
    pub(super) device_type: DeviceType,
    pub(super) formats: Vec<FormatCode>,
    pub(super) power: PowerInfo,
    pub(super) max_open_files: usize,
    pub(super) can_sync: bool,
    pub(super) icon_rgb: [u8; 3],
    pub(super) capabilities: BTreeMap<FormatCode, FormatCapability>,
    pub(super) clock: Arc<dyn Clock>,
}

impl DeviceConfig {
    /// The serial as a WMDMID; the builder checked it fits.
    pub(super) fn wmdm_id(&self) -> Result<WmdmId> {
        WmdmId::new(self.vendor_id, self.serial.as_bytes())
    }
}

/// Builds a [`MemoryDevice`]. Start with [`MemoryDevice::builder`].
///
/// Every setting has a default: manufacturer `"wmdm"`, type `STORAGE | PLAYBACK`, the formats
/// of [`FormatCode::COMMON_AUDIO`] and [`FormatCode::COMMON_PLAYLISTS`], one storage
/// `"Internal"` of 64 MiB, one open file at a time, external power, a
/// [`ManualClock`] at its default time, and no faults.
///
/// ```
/// use wmdm::flags::DeviceType;
/// use wmdm::metadata::{device, FormatCode, PropValue};
/// use wmdm::providers::memory::{FaultPlan, MemoryDevice, StorageConfig};
/// use wmdm::time::ManualClock;
///
/// let clock = ManualClock::default();
/// let player = MemoryDevice::builder("Zune")
///     .manufacturer("Contoso")
///     .serial("ZN-0001")
///     .device_type(DeviceType::STORAGE | DeviceType::PLAYBACK | DeviceType::VIEW_PREF_METADATAVIEW)
///     .formats(&[FormatCode::MP3, FormatCode::WMA, FormatCode::ABSTRACT_AUDIO_VIDEO_PLAYLIST])
///     .friendly_name("Kitchen player")
///     .property(device::DEVICE_MODEL_NAME, PropValue::String("ZN-1".into()))
///     .storage(StorageConfig::new("Internal", 32 << 20).file("Music/old.mp3", vec![1, 2, 3]))
///     .storage(StorageConfig::new("Card", 8 << 20).removable())
///     .clock(clock.clone())
///     .fault_plan(FaultPlan::new())
///     .build()?;
/// assert_eq!(player.storage_count(), 2);
/// # Ok::<(), wmdm::Error>(())
/// ```
pub struct MemoryDeviceBuilder {
    name: String,
    manufacturer: String,
    serial: Option<String>,
    vendor_id: u32,
    version: u32,
    device_type: DeviceType,
    formats: Vec<FormatCode>,
    friendly_name: Option<String>,
    properties: BTreeMap<String, PropValue>,
    storages: Vec<StorageConfig>,
    clock: Arc<dyn Clock>,
    fault_plan: FaultPlan,
    max_open_files: usize,
    power: PowerInfo,
    can_sync: bool,
    icon_rgb: [u8; 3],
    capabilities: BTreeMap<FormatCode, FormatCapability>,
}

impl fmt::Debug for MemoryDeviceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryDeviceBuilder")
            .field("name", &self.name)
            .field("serial", &self.serial)
            .field("storages", &self.storages.len())
            .field("fault_plan", &self.fault_plan)
            .finish_non_exhaustive()
    }
}

impl MemoryDeviceBuilder {
    pub(super) fn new(name: impl Into<String>) -> MemoryDeviceBuilder {
        let mut formats = FormatCode::COMMON_AUDIO.to_vec();
        formats.extend_from_slice(FormatCode::COMMON_PLAYLISTS);
        MemoryDeviceBuilder {
            name: name.into(),
            manufacturer: "wmdm".to_owned(),
            serial: None,
            vendor_id: 0,
            version: 1,
            device_type: DeviceType::STORAGE | DeviceType::PLAYBACK,
            formats,
            friendly_name: None,
            properties: BTreeMap::new(),
            storages: Vec::new(),
            clock: Arc::new(ManualClock::default()),
            fault_plan: FaultPlan::new(),
            max_open_files: 1,
            power: PowerInfo {
                source: PowerSource::CAP_BATTERY
                    | PowerSource::CAP_EXTERNAL
                    | PowerSource::IS_EXTERNAL
                    | PowerSource::PERCENT_AVAILABLE,
                percent_remaining: 100,
            },
            can_sync: true,
            icon_rgb: [0x30, 0x60, 0xC0],
            capabilities: BTreeMap::new(),
        }
    }

    /// IMDSPDevice::GetManufacturer.
    pub fn manufacturer(mut self, manufacturer: impl Into<String>) -> Self {
        self.manufacturer = manufacturer.into();
        self
    }

    /// The device serial (IMDSPDevice::GetSerialNumber), at most 128 bytes of UTF-8. It also
    /// makes the canonical name (`memory:<serial>`) and prefixes every persistent unique ID.
    /// Without one the device gets `MEM-<n>`, with `n` counting devices built in this process.
    pub fn serial(mut self, serial: impl Into<String>) -> Self {
        self.serial = Some(serial.into());
        self
    }

    /// The WMDMID vendor ID that goes with the serial (0 by default).
    pub fn vendor_id(mut self, vendor_id: u32) -> Self {
        self.vendor_id = vendor_id;
        self
    }

    /// IMDSPDevice::GetVersion (1 by default).
    pub fn version(mut self, version: u32) -> Self {
        self.version = version;
        self
    }

    /// IMDSPDevice::GetType.
    pub fn device_type(mut self, device_type: DeviceType) -> Self {
        self.device_type = device_type;
        self
    }

    /// The formats the device plays, in its order of preference (`WMDM/FormatsSupported`).
    pub fn formats(mut self, formats: &[FormatCode]) -> Self {
        self.formats = formats.to_vec();
        self
    }

    /// `WMDM/DeviceFriendlyName` (the device name by default); settable through
    /// `Device::set_property`.
    pub fn friendly_name(mut self, name: impl Into<String>) -> Self {
        self.friendly_name = Some(name.into());
        self
    }

    /// A device property returned by `Device::property`. `Device::set_property` may change it
    /// later, to a value of the same type.
    pub fn property(mut self, name: impl Into<String>, value: PropValue) -> Self {
        self.properties.insert(name.into(), value);
        self
    }

    /// Adds a medium. The first call replaces the default 64 MiB `"Internal"` storage.
    pub fn storage(mut self, storage: StorageConfig) -> Self {
        self.storages.push(storage);
        self
    }

    /// The clock for dates and slow operations; clones of a [`ManualClock`] share one time,
    /// so keep a clone to read or advance it.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The clock, already shared.
    pub fn shared_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The faults to inject from the start.
    pub fn fault_plan(mut self, plan: FaultPlan) -> Self {
        self.fault_plan = plan;
        self
    }

    /// How many files may be open at once across the device (1 by default, like most
    /// players). Values below 1 are taken as 1.
    pub fn max_open_files(mut self, n: usize) -> Self {
        self.max_open_files = n.max(1);
        self
    }

    /// IMDSPDevice::GetPowerSource.
    pub fn power(mut self, power: PowerInfo) -> Self {
        self.power = power;
        self
    }

    /// Running on battery with `percent` charge left.
    pub fn battery(mut self, percent: u32) -> Self {
        self.power = PowerInfo {
            source: PowerSource::CAP_BATTERY
                | PowerSource::CAP_EXTERNAL
                | PowerSource::IS_BATTERY
                | PowerSource::PERCENT_AVAILABLE,
            percent_remaining: percent.min(100),
        };
        self
    }

    /// The answer to `IOCTL_WMP_DEVICE_CAN_SYNC` (true by default).
    pub fn can_sync(mut self, can_sync: bool) -> Self {
        self.can_sync = can_sync;
        self
    }

    /// The colour of the generic device icon.
    pub fn icon_color(mut self, rgb: [u8; 3]) -> Self {
        self.icon_rgb = rgb;
        self
    }

    /// What `Device::format_capability` reports for `format`, replacing the built-in
    /// description. The format is added to the supported formats if it is not there.
    pub fn format_capability(mut self, format: FormatCode, capability: FormatCapability) -> Self {
        if !self.formats.contains(&format) {
            self.formats.push(format);
        }
        self.capabilities.insert(format, capability);
        self
    }

    /// Builds the device, connected and with its starting content.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] when the serial is longer than 128 bytes, when two storages
    /// share a name (in any case) or a storage's name is empty, or when bad bytes exceed a
    /// storage's capacity; [`Error::InvalidName`] or [`Error::InvalidType`] for a bad
    /// starting path; [`Error::DiskFull`] when the starting files do not fit.
    pub fn build(self) -> Result<MemoryDevice> {
        let parts = self.into_parts();
        WmdmId::new(parts.config.vendor_id, parts.config.serial.as_bytes())?;
        for (i, s) in parts.storages.iter().enumerate() {
            let clash = parts.storages[..i]
                .iter()
                .any(|o| super::node::same_name(&o.name, &s.name));
            if s.name.is_empty() || clash || s.bad > s.capacity {
                return Err(Error::InvalidArg);
            }
        }
        MemoryDevice::from_parts(parts)
    }

    /// The configuration with every default filled in, not yet checked.
    pub(super) fn into_parts(self) -> DeviceParts {
        let serial = match self.serial {
            Some(s) => s,
            None => format!("MEM-{}", NEXT_SERIAL.fetch_add(1, Ordering::Relaxed)),
        };
        let mut storages = self.storages;
        if storages.is_empty() {
            storages.push(StorageConfig::new("Internal", DEFAULT_CAPACITY));
        }
        let mut properties = self.properties;
        properties.insert(
            crate::metadata::device::DEVICE_FRIENDLY_NAME.to_owned(),
            PropValue::String(self.friendly_name.unwrap_or_else(|| self.name.clone())),
        );
        let config = DeviceConfig {
            name: self.name,
            manufacturer: self.manufacturer,
            serial,
            vendor_id: self.vendor_id,
            version: self.version,
            device_type: self.device_type,
            formats: self.formats,
            power: self.power,
            max_open_files: self.max_open_files,
            can_sync: self.can_sync,
            icon_rgb: self.icon_rgb,
            capabilities: self.capabilities,
            clock: self.clock,
        };
        DeviceParts {
            config,
            storages,
            properties,
            plan: self.fault_plan,
        }
    }
}

/// A builder's settings with the defaults applied.
#[derive(Debug)]
pub(super) struct DeviceParts {
    pub(super) config: DeviceConfig,
    pub(super) storages: Vec<StorageConfig>,
    pub(super) properties: BTreeMap<String, PropValue>,
    pub(super) plan: FaultPlan,
}

/// The built-in answer of `Device::format_capability` for an audio format: the sample rates,
/// channel counts and bit rates a typical portable player accepts.
pub(super) fn default_audio_capability(format: FormatCode) -> FormatCapability {
    let rates = [22_050u32, 32_000, 44_100, 48_000];
    let lossless = matches!(
        format,
        FormatCode::WAVE | FormatCode::FLAC | FormatCode::AIFF
    );
    let mut descriptions = vec![
        PropDesc {
            name: tags::SAMPLE_RATE.to_owned(),
            valid: ValidValues::Enum(rates.iter().map(|&r| PropValue::U32(r)).collect()),
        },
        PropDesc {
            name: tags::NUM_CHANNELS.to_owned(),
            valid: ValidValues::Enum(vec![PropValue::U32(1), PropValue::U32(2)]),
        },
    ];
    if lossless {
        descriptions.push(PropDesc {
            name: tags::AUDIO_BIT_DEPTH.to_owned(),
            valid: ValidValues::Enum(vec![PropValue::U32(16), PropValue::U32(24)]),
        });
    } else {
        descriptions.push(PropDesc {
            name: tags::BITRATE.to_owned(),
            valid: ValidValues::Range {
                min: PropValue::U32(32_000),
                max: PropValue::U32(320_000),
                step: PropValue::U32(1),
            },
        });
    }
    FormatCapability {
        configs: vec![PropConfig {
            preference: 0,
            descriptions,
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_configurations_are_rejected() {
        let long = MemoryDevice::builder("x").serial("s".repeat(129)).build();
        assert_eq!(long.err(), Some(Error::InvalidArg));
        let twins = MemoryDevice::builder("x")
            .storage(StorageConfig::new("Card", 10))
            .storage(StorageConfig::new("CARD", 10))
            .build();
        assert_eq!(twins.err(), Some(Error::InvalidArg));
        let bad = MemoryDevice::builder("x")
            .storage(StorageConfig::new("Card", 10).bad_bytes(11))
            .build();
        assert_eq!(bad.err(), Some(Error::InvalidArg));
        let full = MemoryDevice::builder("x")
            .storage(StorageConfig::new("Card", 10).file("a", vec![0; 11]))
            .build();
        assert_eq!(full.err(), Some(Error::DiskFull));
        let path = MemoryDevice::builder("x")
            .storage(StorageConfig::new("Card", 10).file("a/../b", vec![]))
            .build();
        assert_eq!(path.err(), Some(Error::InvalidName));
    }

    #[test]
    fn default_serials_differ() {
        let a = MemoryDevice::builder("x").build().map(|d| d.serial());
        let b = MemoryDevice::builder("x").build().map(|d| d.serial());
        assert!(a.is_ok() && b.is_ok() && a != b);
    }

    #[test]
    fn audio_capabilities_describe_rates() {
        let cap = default_audio_capability(FormatCode::MP3);
        let names: Vec<&str> = cap
            .configs
            .iter()
            .flat_map(|c| c.descriptions.iter().map(|d| d.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [tags::SAMPLE_RATE, tags::NUM_CHANNELS, tags::BITRATE]
        );
        assert!(crate::provider::WaveFormat::typical_for(FormatCode::M3U_PLAYLIST).is_none());
    }
}
