//! Plain data types that cross the provider traits: formats, identifiers, rights, requests.

use std::fmt;

use crate::error::{Error, Result};
use crate::flags::{Attributes, Placement, PowerSource, Rights, RightsFlags};
use crate::metadata::{Metadata, PropValue};
use crate::time::WmdmDateTime;

/// `WAVEFORMATEX` (the SDK's `_WAVEFORMATEX` mirror): an audio format a device plays or an
/// object holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct WaveFormat {
    /// `wFormatTag`, for example 0x0001 PCM, 0x0055 MPEG layer 3, 0x0161 WMA.
    pub format_tag: u16,
    /// `nChannels`.
    pub channels: u16,
    /// `nSamplesPerSec`.
    pub samples_per_sec: u32,
    /// `nAvgBytesPerSec`.
    pub avg_bytes_per_sec: u32,
    /// `nBlockAlign`.
    pub block_align: u16,
    /// `wBitsPerSample`.
    pub bits_per_sample: u16,
    /// The extra bytes that follow the structure (`cbSize` of them).
    pub extra: Vec<u8>,
}

impl WaveFormat {
    /// `WAVE_FORMAT_PCM`.
    pub const TAG_PCM: u16 = 0x0001;
    /// `WAVE_FORMAT_MPEGLAYER3`.
    pub const TAG_MP3: u16 = 0x0055;
    /// `WAVE_FORMAT_WMAUDIO2`.
    pub const TAG_WMA: u16 = 0x0161;
    /// `WAVE_FORMAT_MPEG_HEAAC` (AAC).
    pub const TAG_AAC: u16 = 0x1610;
    /// `WAVE_FORMAT_FLAC`.
    pub const TAG_FLAC: u16 = 0xF1AC;

    /// A representative format for a file of `format`: stereo, 44.1 kHz, 16-bit, with the
    /// codec's format tag; `None` for formats that are not audio codecs this crate knows.
    pub fn typical_for(format: crate::metadata::FormatCode) -> Option<WaveFormat> {
        use crate::metadata::FormatCode;
        let tag = match format {
            FormatCode::MP3 => WaveFormat::TAG_MP3,
            FormatCode::WMA => WaveFormat::TAG_WMA,
            FormatCode::AAC | FormatCode::M4A => WaveFormat::TAG_AAC,
            FormatCode::FLAC => WaveFormat::TAG_FLAC,
            FormatCode::WAVE => WaveFormat::TAG_PCM,
            _ => return None,
        };
        Some(WaveFormat::new(tag, 2, 44_100, 16))
    }

    /// A format with the common fields filled in; `block_align` and `avg_bytes_per_sec` follow
    /// from PCM arithmetic.
    pub fn new(format_tag: u16, channels: u16, samples_per_sec: u32, bits_per_sample: u16) -> Self {
        let block_align = channels.saturating_mul(bits_per_sample / 8);
        WaveFormat {
            format_tag,
            channels,
            samples_per_sec,
            avg_bytes_per_sec: samples_per_sec.saturating_mul(u32::from(block_align)),
            block_align,
            bits_per_sample,
            extra: Vec::new(),
        }
    }
}

/// `RECT`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rect {
    /// `left`.
    pub left: i32,
    /// `top`.
    pub top: i32,
    /// `right`.
    pub right: i32,
    /// `bottom`.
    pub bottom: i32,
}

/// `BITMAPINFOHEADER` (the SDK's `_BITMAPINFOHEADER` mirror).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct BitmapInfoHeader {
    /// `biWidth`.
    pub width: i32,
    /// `biHeight`.
    pub height: i32,
    /// `biPlanes`.
    pub planes: u16,
    /// `biBitCount`.
    pub bit_count: u16,
    /// `biCompression` (a FOURCC for compressed video).
    pub compression: u32,
    /// `biSizeImage`.
    pub size_image: u32,
    /// `biXPelsPerMeter`.
    pub x_pels_per_meter: i32,
    /// `biYPelsPerMeter`.
    pub y_pels_per_meter: i32,
    /// `biClrUsed`.
    pub clr_used: u32,
    /// `biClrImportant`.
    pub clr_important: u32,
}

/// `VIDEOINFOHEADER` (the SDK's `_VIDEOINFOHEADER` mirror): a video format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct VideoFormat {
    /// `rcSource`.
    pub source: Rect,
    /// `rcTarget`.
    pub target: Rect,
    /// `dwBitRate`.
    pub bit_rate: u32,
    /// `dwBitErrorRate`.
    pub bit_error_rate: u32,
    /// `AvgTimePerFrame`, in 100-ns units.
    pub avg_time_per_frame: i64,
    /// `bmiHeader`.
    pub bmi_header: BitmapInfoHeader,
}

/// What a device plays: IMDSPDevice::GetFormatSupport and IMDSPDevice2::GetFormatSupport2.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormatSupport {
    /// Supported audio formats (`_WAVEFORMATEX` array).
    pub audio: Vec<WaveFormat>,
    /// Supported video formats (`_VIDEOINFOHEADER` array).
    pub video: Vec<VideoFormat>,
    /// Supported file types, as MIME types (`WMFILECAPABILITIES` / the MIME-type array).
    pub mime_types: Vec<String>,
}

/// The valid values of one property for one format (`WMDM_PROP_DESC`'s union).
#[derive(Clone, Debug, PartialEq)]
pub enum ValidValues {
    /// `WMDM_ENUM_PROP_VALID_VALUES_ANY`.
    Any,
    /// `WMDM_ENUM_PROP_VALID_VALUES_RANGE`.
    Range {
        /// `rangeMin`.
        min: PropValue,
        /// `rangeMax`.
        max: PropValue,
        /// `rangeStep`.
        step: PropValue,
    },
    /// `WMDM_ENUM_PROP_VALID_VALUES_ENUM`.
    Enum(Vec<PropValue>),
}

/// `WMDM_PROP_DESC`: one property and its valid values.
#[derive(Clone, Debug, PartialEq)]
pub struct PropDesc {
    /// `pwszPropName`, a `WMDM/*` tag name.
    pub name: String,
    /// The valid values.
    pub valid: ValidValues,
}

/// `WMDM_PROP_CONFIG`: one configuration of property values the device accepts.
#[derive(Clone, Debug, PartialEq)]
pub struct PropConfig {
    /// `nPreference`: lower is preferred.
    pub preference: u32,
    /// `pPropDesc`.
    pub descriptions: Vec<PropDesc>,
}

/// `WMDM_FORMAT_CAPABILITY` (IMDSPDevice3::GetFormatCapability).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FormatCapability {
    /// `pConfigs`.
    pub configs: Vec<PropConfig>,
}

/// `WMDMID`: a device or medium serial number (up to 128 bytes) and its vendor.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct WmdmId {
    vendor_id: u32,
    serial: Vec<u8>,
}

impl fmt::Debug for WmdmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WmdmId(vendor {:#X}, ", self.vendor_id)?;
        for b in &self.serial {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

impl WmdmId {
    /// `WMDMID_LENGTH`: the most serial bytes a WMDMID holds.
    pub const MAX_LEN: usize = 128;
    /// `sizeof(WMDMID)`: cbSize, dwVendorID, pID\[128\], SerialNumberLength.
    pub const STRUCT_SIZE: usize = 4 + 4 + Self::MAX_LEN + 4;

    /// A serial number.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] when `serial` is longer than 128 bytes.
    pub fn new(vendor_id: u32, serial: impl Into<Vec<u8>>) -> Result<WmdmId> {
        let serial = serial.into();
        if serial.len() > Self::MAX_LEN {
            return Err(Error::InvalidArg);
        }
        Ok(WmdmId { vendor_id, serial })
    }

    /// `dwVendorID`.
    pub fn vendor_id(&self) -> u32 {
        self.vendor_id
    }

    /// The serial bytes (`pID[..SerialNumberLength]`).
    pub fn serial(&self) -> &[u8] {
        &self.serial
    }

    /// The structure's memory layout, which is what WMDM MACs for GetSerialNumber.
    pub fn to_struct_bytes(&self) -> [u8; Self::STRUCT_SIZE] {
        let mut out = [0u8; Self::STRUCT_SIZE];
        out[0..4].copy_from_slice(&(Self::STRUCT_SIZE as u32).to_le_bytes());
        out[4..8].copy_from_slice(&self.vendor_id.to_le_bytes());
        out[8..8 + self.serial.len()].copy_from_slice(&self.serial);
        let len = self.serial.len() as u32;
        out[8 + Self::MAX_LEN..].copy_from_slice(&len.to_le_bytes());
        out
    }

    /// Parses the structure's memory layout.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] when the length is wrong or `SerialNumberLength` exceeds 128.
    pub fn from_struct_bytes(bytes: &[u8]) -> Result<WmdmId> {
        if bytes.len() != Self::STRUCT_SIZE {
            return Err(Error::InvalidArg);
        }
        let word = |at: usize| -> Result<u32> {
            let b = bytes.get(at..at + 4).ok_or(Error::InvalidArg)?;
            let arr: [u8; 4] = b.try_into().map_err(|_| Error::InvalidArg)?;
            Ok(u32::from_le_bytes(arr))
        };
        let vendor_id = word(4)?;
        let len = word(8 + Self::MAX_LEN)? as usize;
        let serial = bytes.get(8..8 + len).ok_or(Error::InvalidArg)?;
        if len > Self::MAX_LEN {
            return Err(Error::InvalidArg);
        }
        WmdmId::new(vendor_id, serial)
    }
}

/// IMDSPDevice::GetPowerSource.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PowerInfo {
    /// `WMDM_POWER_*` flags.
    pub source: PowerSource,
    /// Percent of charge left (meaningful with `PERCENT_AVAILABLE`).
    pub percent_remaining: u32,
}

/// `WMDMRIGHTS`: one rights record (IMDSPStorage::GetRights).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RightsRecord {
    /// `dwContentType`.
    pub content_type: u32,
    /// `fuFlags`: which fields are meaningful.
    pub flags: RightsFlags,
    /// `fuRights`.
    pub rights: Rights,
    /// `dwAppSec`: the application security level needed.
    pub app_sec: u32,
    /// `dwPlaybackCount`.
    pub playback_count: u32,
    /// `ExpirationDate`.
    pub expiration: WmdmDateTime,
}

impl RightsRecord {
    /// `sizeof(WMDMRIGHTS)`.
    pub const STRUCT_SIZE: usize = 6 * 4 + 12;

    /// The structure's memory layout, which is what WMDM MACs for GetRights.
    pub fn to_struct_bytes(&self) -> [u8; Self::STRUCT_SIZE] {
        let mut out = [0u8; Self::STRUCT_SIZE];
        let words = [
            Self::STRUCT_SIZE as u32,
            self.content_type,
            self.flags.bits(),
            self.rights.bits(),
            self.app_sec,
            self.playback_count,
        ];
        for (chunk, w) in out.chunks_exact_mut(4).zip(words) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        out[24..].copy_from_slice(&self.expiration.to_bytes());
        out
    }
}

/// `OPAQUECOMMAND`: a pass-through command with its own 20-byte MAC field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpaqueCommand {
    /// `guidCommand`.
    pub command: uuid::Uuid,
    /// `pData` (`dwDataLen` bytes); the provider may replace it with a reply.
    pub data: Vec<u8>,
    /// `abMAC[20]`.
    pub mac: [u8; 20],
}

/// An object's attributes and formats: IMDSPStorage::GetAttributes and
/// IMDSPStorage2::GetAttributes2 (and their Set counterparts).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectAttributes {
    /// `WMDM_FILE_ATTR_*` / `WMDM_STORAGE_ATTR_*` flags.
    pub attributes: Attributes,
    /// `dwAttributesEx` (undocumented bits; kept as they are).
    pub attributes_ex: u32,
    /// The audio format, for audio objects.
    pub audio: Option<WaveFormat>,
    /// The video format, for video objects.
    pub video: Option<VideoFormat>,
}

impl ObjectAttributes {
    /// Attributes with no formats.
    pub fn new(attributes: Attributes) -> ObjectAttributes {
        ObjectAttributes {
            attributes,
            ..ObjectAttributes::default()
        }
    }
}

/// What to create: IMDSPStorage::CreateStorage, IMDSPStorage2::CreateStorage2 and
/// IMDSPStorage4::CreateStorageWithMetadata all become one [`Storage::create`] call.
///
/// [`Storage::create`]: crate::provider::Storage::create
#[derive(Clone, Debug, PartialEq)]
pub struct CreateRequest {
    /// The new object's name (one path component).
    pub name: String,
    /// Attributes: FILE or FOLDER (FOLDER wins if both are set), plus READONLY, HIDDEN, ...
    /// `CREATE_OVERWRITE` replaces an existing object of the same name.
    pub attributes: Attributes,
    /// `dwAttributesEx`.
    pub attributes_ex: u32,
    /// Where the object goes relative to the storage `create` is called on.
    pub placement: Placement,
    /// Audio format (`pAudioFormat`).
    pub audio: Option<WaveFormat>,
    /// Video format (`pVideoFormat`).
    pub video: Option<VideoFormat>,
    /// The expected size in bytes (`qwFileSize`), if known; providers may reserve space.
    pub size_hint: Option<u64>,
    /// Metadata to set on the new object (`CreateStorageWithMetadata`), including its
    /// `WMDM/FormatCode`.
    pub metadata: Option<Metadata>,
}

impl CreateRequest {
    /// A file called `name`, placed into the storage `create` is called on.
    pub fn file(name: impl Into<String>) -> CreateRequest {
        CreateRequest::with_attributes(name, Attributes::FILE)
    }

    /// A folder called `name`, placed into the storage `create` is called on.
    pub fn folder(name: impl Into<String>) -> CreateRequest {
        CreateRequest::with_attributes(name, Attributes::FOLDER)
    }

    /// An object with explicit attributes.
    pub fn with_attributes(name: impl Into<String>, attributes: Attributes) -> CreateRequest {
        CreateRequest {
            name: name.into(),
            attributes,
            attributes_ex: 0,
            placement: Placement::Into,
            audio: None,
            video: None,
            size_hint: None,
            metadata: None,
        }
    }

    /// Sets the placement.
    pub fn placement(mut self, placement: Placement) -> CreateRequest {
        self.placement = placement;
        self
    }

    /// Replaces an existing object of the same name (`WMDM_FILE_CREATE_OVERWRITE`).
    pub fn overwrite(mut self) -> CreateRequest {
        self.attributes |= Attributes::CREATE_OVERWRITE;
        self
    }

    /// Sets the metadata.
    pub fn metadata(mut self, metadata: Metadata) -> CreateRequest {
        self.metadata = Some(metadata);
        self
    }

    /// Sets the expected size.
    pub fn size_hint(mut self, bytes: u64) -> CreateRequest {
        self.size_hint = Some(bytes);
        self
    }

    /// Sets the audio format.
    pub fn audio(mut self, format: WaveFormat) -> CreateRequest {
        self.audio = Some(format);
        self
    }

    /// True when this creates a folder.
    pub fn is_folder(&self) -> bool {
        self.attributes.is_folder()
    }

    /// True when an existing object of the same name may be replaced.
    pub fn is_overwrite(&self) -> bool {
        self.attributes.contains(Attributes::CREATE_OVERWRITE)
    }
}

/// A device icon, as the bytes of a Windows `.ico` file.
///
/// IMDSPDevice::GetDeviceIcon hands out an `HICON`, which only exists on Windows; the core
/// carries the icon's image and the `com` layer turns it into an `HICON`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Icon {
    ico: Vec<u8>,
}

impl fmt::Debug for Icon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Icon({} bytes)", self.ico.len())
    }
}

impl Icon {
    /// An icon from `.ico` file bytes.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] unless the bytes start with an ICO header (reserved 0, type 1)
    /// holding at least one image whose directory entry lies inside the data.
    pub fn from_ico(ico: Vec<u8>) -> Result<Icon> {
        let header = ico.get(0..6).ok_or(Error::InvalidArg)?;
        let count = u16::from_le_bytes([header[4], header[5]]) as usize;
        if header[0..4] != [0, 0, 1, 0] || count == 0 || ico.len() < 6 + 16 * count {
            return Err(Error::InvalidArg);
        }
        Ok(Icon { ico })
    }

    /// A generic 16x16 32-bit icon: a filled rounded square, the shape of a media player.
    pub fn generic(rgb: [u8; 3]) -> Icon {
        const W: usize = 16;
        // BITMAPINFOHEADER (40) + BGRA pixels + a 1-bpp AND mask padded to 32-bit rows.
        let mask_row = 4;
        let image_len = 40 + W * W * 4 + mask_row * W;
        let mut ico = Vec::with_capacity(6 + 16 + image_len);
        ico.extend_from_slice(&[0, 0, 1, 0, 1, 0]);
        ico.extend_from_slice(&[W as u8, W as u8, 0, 0, 1, 0, 32, 0]);
        ico.extend_from_slice(&(image_len as u32).to_le_bytes());
        ico.extend_from_slice(&22u32.to_le_bytes());
        ico.extend_from_slice(&40u32.to_le_bytes());
        ico.extend_from_slice(&(W as i32).to_le_bytes());
        ico.extend_from_slice(&(2 * W as i32).to_le_bytes()); // colour + mask
        ico.extend_from_slice(&1u16.to_le_bytes());
        ico.extend_from_slice(&32u16.to_le_bytes());
        ico.extend_from_slice(&[0u8; 24]);
        for y in 0..W {
            for x in 0..W {
                let corner = (x == 0 || x == W - 1) && (y == 0 || y == W - 1);
                let alpha = if corner { 0 } else { 255 };
                ico.extend_from_slice(&[rgb[2], rgb[1], rgb[0], alpha]);
            }
        }
        ico.extend(std::iter::repeat_n(0u8, mask_row * W));
        Icon { ico }
    }

    /// The `.ico` file bytes.
    pub fn ico_bytes(&self) -> &[u8] {
        &self.ico
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wmdmid_layout_round_trips() {
        let id = WmdmId::new(0x1234, b"SERIAL-1".to_vec()).unwrap();
        let bytes = id.to_struct_bytes();
        assert_eq!(bytes.len(), 140);
        assert_eq!(&bytes[0..4], &140u32.to_le_bytes());
        assert_eq!(WmdmId::from_struct_bytes(&bytes).unwrap(), id);
        assert!(WmdmId::new(0, vec![0; 129]).is_err());
        let mut bad = bytes;
        bad[136..140].copy_from_slice(&200u32.to_le_bytes());
        assert_eq!(WmdmId::from_struct_bytes(&bad), Err(Error::InvalidArg));
        assert_eq!(
            WmdmId::from_struct_bytes(&bytes[..10]),
            Err(Error::InvalidArg)
        );
    }

    #[test]
    fn generic_icon_is_a_valid_ico() {
        let icon = Icon::generic([10, 20, 30]);
        assert!(Icon::from_ico(icon.ico_bytes().to_vec()).is_ok());
        assert!(Icon::from_ico(vec![0, 0, 1]).is_err());
        assert!(Icon::from_ico(vec![0, 0, 1, 0, 5, 0]).is_err());
    }

    #[test]
    fn create_request_builders() {
        let r = CreateRequest::file("a.mp3").overwrite().size_hint(10);
        assert!(!r.is_folder());
        assert!(r.is_overwrite());
        let f = CreateRequest::with_attributes("x", Attributes::FILE | Attributes::FOLDER);
        assert!(f.is_folder(), "FOLDER wins over FILE");
    }
}
