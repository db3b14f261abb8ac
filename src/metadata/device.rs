//! Device property names (IMDSPDevice3::GetProperty / SetProperty) and their PROPVARIANT values.
//!
//! Device properties travel as `PROPVARIANT`s rather than as WMDM tag buffers; [`PropValue`]
//! models the few variant types they use (Microsoft's reference: <https://learn.microsoft.com/en-us/windows/win32/api/mswmdm/nf-mswmdm-imdspdevice3-getproperty>).

use uuid::Uuid;

/// `g_wszWMDMSupportedDeviceProperties` (`VT_BSTR | VT_ARRAY`): the names of the properties
/// the device supports.
pub const SUPPORTED_DEVICE_PROPERTIES: &str = "WMDM/SupportedDeviceProperties";
/// `g_wszWMDMDeviceFriendlyName` (`VT_BSTR`): the device's friendly name.
pub const DEVICE_FRIENDLY_NAME: &str = "WMDM/DeviceFriendlyName";
/// `g_wszWMDMFormatsSupported` (`VT_UI4 | VT_ARRAY`): the `WMDM_FORMATCODE`s the device takes.
pub const FORMATS_SUPPORTED: &str = "WMDM/FormatsSupported";
/// `g_wszWMDMFormatsSupportedAreOrdered` (`VT_BOOL`): true when [`FORMATS_SUPPORTED`] is in
/// the device's order of preference, so applications should prefer its first entries.
pub const FORMATS_SUPPORTED_ARE_ORDERED: &str = "WMDM/FormatsSupportedAreOrdered";
/// `g_wszWMDMSyncRelationshipID` (`VT_BSTR`): the sync relationship ID an application uses.
pub const SYNC_RELATIONSHIP_ID: &str = "WMDM/SyncRelationshipID";
/// `g_wszWMDMDeviceModelName` (`VT_BSTR`): the model name.
pub const DEVICE_MODEL_NAME: &str = "WMDM/DeviceModelName";
/// `g_wszWMDMDeviceFirmwareVersion` (`VT_UI4`): the firmware version.
pub const DEVICE_FIRMWARE_VERSION: &str = "WMDM/DeviceFirmwareVersion";
/// `g_wszWMDMDeviceVendorExtension` (`VT_BSTR`): the vendor extension the device supports.
pub const DEVICE_VENDOR_EXTENSION: &str = "WMDM/DeviceVendorExtension";
/// `g_wszWMDMDeviceProtocol` (`VT_CLSID`): how the host talks to the device, one of
/// [`DEVICE_PROTOCOL_MTP`], [`DEVICE_PROTOCOL_RAPI`] or [`DEVICE_PROTOCOL_MSC`].
pub const DEVICE_PROTOCOL: &str = "WMDM/DeviceProtocol";
/// `g_wszWMDMDeviceServiceProviderVendor` (`VT_CLSID`): who wrote the device's service
/// provider, for example [`SERVICE_PROVIDER_VENDOR_MICROSOFT`].
pub const DEVICE_SERVICE_PROVIDER_VENDOR: &str = "WMDM/DeviceServiceProviderVendor";
/// `g_wszWMDMDeviceRevocationInfo` (`VT_BSTR`): revocation information, such as the
/// revocation URL.
pub const DEVICE_REVOCATION_INFO: &str = "WMDM/DeviceRevocationInfo";
/// `g_wszWMDMCollectionID` (`VT_BSTR`): reserved. The documentation lists it among the device
/// properties; it is the same string as [`tags::COLLECTION_ID`](super::tags::COLLECTION_ID).
pub const COLLECTION_ID: &str = super::tags::COLLECTION_ID;

/// This crate's own property (`VT_BSTR`, read-only), not one of Windows': the name rule the
/// device's medium follows, as [`NameRule::as_str`](crate::provider::names::NameRule::as_str)
/// spells it (`permissive`, `fat` or `fat-ascii`). The folder provider reports the rule of its
/// name policy (FAT's on FAT-like file systems, the ASCII-only variant on fusefat or once the
/// file system refused a name outside ASCII), the memory device FAT's. The sync planner names
/// files under the strictest of this rule and the partnership's, so a plan never names a file
/// the device refuses. A device without it is taken to follow whatever rule the partnership
/// says.
pub const NAME_RULE: &str = "wmdm-rs/NameRule";
/// This crate's own property (`VT_UI4`, read-only): the longest name one path component may
/// have on the device, in UTF-8 bytes (at most 255). The sync planner keeps every name it plans,
/// temporary names included, within it.
pub const NAME_MAX: &str = "wmdm-rs/NameMax";

/// `WMDM_DEVICE_PROTOCOL_MTP` {979E54E5-0AFC-4604-8D93-DC798A4BCF45}: Media Transfer Protocol.
pub const DEVICE_PROTOCOL_MTP: Uuid = Uuid::from_u128(0x979E54E5_0AFC_4604_8D93_DC798A4BCF45);
/// `WMDM_DEVICE_PROTOCOL_RAPI` {2A11ED91-8C8F-41E4-82D1-8386E003561C}: Windows CE remote API.
pub const DEVICE_PROTOCOL_RAPI: Uuid = Uuid::from_u128(0x2A11ED91_8C8F_41E4_82D1_8386E003561C);
/// `WMDM_DEVICE_PROTOCOL_MSC` {A4D2C26C-A881-44BB-BD5D-1F703C71F7A9}: USB mass storage.
pub const DEVICE_PROTOCOL_MSC: Uuid = Uuid::from_u128(0xA4D2C26C_A881_44BB_BD5D_1F703C71F7A9);
/// `WMDM_SERVICE_PROVIDER_VENDOR_MICROSOFT` {7DE8686D-78EE-43EA-A496-C625AC91CC5D}.
pub const SERVICE_PROVIDER_VENDOR_MICROSOFT: Uuid =
    Uuid::from_u128(0x7DE8686D_78EE_43EA_A496_C625AC91CC5D);

/// `VT_EMPTY`.
pub const VT_EMPTY: u16 = 0;
/// `VT_I4`.
pub const VT_I4: u16 = 3;
/// `VT_BSTR`.
pub const VT_BSTR: u16 = 8;
/// `VT_BOOL`.
pub const VT_BOOL: u16 = 11;
/// `VT_UI1`.
pub const VT_UI1: u16 = 17;
/// `VT_UI4`.
pub const VT_UI4: u16 = 19;
/// `VT_UI8`.
pub const VT_UI8: u16 = 21;
/// `VT_CLSID`.
pub const VT_CLSID: u16 = 72;
/// `VT_VECTOR`: a counted array flag, combined with an element type.
pub const VT_VECTOR: u16 = 0x1000;
/// `VT_ARRAY`: a SAFEARRAY flag, combined with an element type.
pub const VT_ARRAY: u16 = 0x2000;

/// Every device property name Windows documents, with its `VARTYPE` (this crate's own,
/// [`NAME_RULE`] and [`NAME_MAX`], are not among them).
pub const ALL: &[(&str, u16)] = &[
    (SUPPORTED_DEVICE_PROPERTIES, VT_ARRAY | VT_BSTR),
    (DEVICE_FRIENDLY_NAME, VT_BSTR),
    (FORMATS_SUPPORTED, VT_ARRAY | VT_UI4),
    (FORMATS_SUPPORTED_ARE_ORDERED, VT_BOOL),
    (SYNC_RELATIONSHIP_ID, VT_BSTR),
    (DEVICE_MODEL_NAME, VT_BSTR),
    (DEVICE_FIRMWARE_VERSION, VT_UI4),
    (DEVICE_VENDOR_EXTENSION, VT_BSTR),
    (DEVICE_PROTOCOL, VT_CLSID),
    (DEVICE_SERVICE_PROVIDER_VENDOR, VT_CLSID),
    (DEVICE_REVOCATION_INFO, VT_BSTR),
    (COLLECTION_ID, VT_BSTR),
];

/// The documented `VARTYPE` of a device property, or `None` for a name not in [`ALL`].
/// Names compare exactly, case included.
pub fn expected_vt(name: &str) -> Option<u16> {
    ALL.iter().find(|(n, _)| *n == name).map(|&(_, vt)| vt)
}

/// A device property value: the subset of `PROPVARIANT` that device properties and format
/// capabilities use.
///
/// The default is [`PropValue::Empty`], as `PropVariantInit` leaves a variant.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum PropValue {
    /// `VT_EMPTY`: no value.
    #[default]
    Empty,
    /// `VT_BOOL`.
    Bool(bool),
    /// `VT_UI4`.
    U32(u32),
    /// `VT_I4`.
    I32(i32),
    /// `VT_UI8`.
    U64(u64),
    /// `VT_BSTR`.
    String(String),
    /// `VT_CLSID`.
    Guid(Uuid),
    /// `VT_ARRAY | VT_BSTR`: a SAFEARRAY of strings.
    StringArray(Vec<String>),
    /// `VT_ARRAY | VT_UI4`: a SAFEARRAY of 32-bit unsigned integers.
    U32Array(Vec<u32>),
    /// `VT_VECTOR | VT_UI1`: a counted byte array.
    Binary(Vec<u8>),
}

impl PropValue {
    /// The `VARTYPE` of this value.
    pub const fn vt(&self) -> u16 {
        match self {
            PropValue::Empty => VT_EMPTY,
            PropValue::Bool(_) => VT_BOOL,
            PropValue::U32(_) => VT_UI4,
            PropValue::I32(_) => VT_I4,
            PropValue::U64(_) => VT_UI8,
            PropValue::String(_) => VT_BSTR,
            PropValue::Guid(_) => VT_CLSID,
            PropValue::StringArray(_) => VT_ARRAY | VT_BSTR,
            PropValue::U32Array(_) => VT_ARRAY | VT_UI4,
            PropValue::Binary(_) => VT_VECTOR | VT_UI1,
        }
    }

    /// The text of a `VT_BSTR` value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            PropValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// A `VT_UI4` value.
    pub fn as_u32(&self) -> Option<u32> {
        match *self {
            PropValue::U32(v) => Some(v),
            _ => None,
        }
    }

    /// A `VT_BOOL` value.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            PropValue::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// A `VT_CLSID` value.
    pub fn as_guid(&self) -> Option<Uuid> {
        match *self {
            PropValue::Guid(g) => Some(g),
            _ => None,
        }
    }

    /// The elements of a `VT_ARRAY | VT_BSTR` value.
    pub fn as_string_array(&self) -> Option<&[String]> {
        match self {
            PropValue::StringArray(v) => Some(v),
            _ => None,
        }
    }

    /// The elements of a `VT_ARRAY | VT_UI4` value.
    pub fn as_u32_array(&self) -> Option<&[u32]> {
        match self {
            PropValue::U32Array(v) => Some(v),
            _ => None,
        }
    }

    /// True for `VT_EMPTY`.
    pub const fn is_empty(&self) -> bool {
        matches!(self, PropValue::Empty)
    }
}

impl From<bool> for PropValue {
    fn from(v: bool) -> Self {
        PropValue::Bool(v)
    }
}

impl From<u32> for PropValue {
    fn from(v: u32) -> Self {
        PropValue::U32(v)
    }
}

impl From<i32> for PropValue {
    fn from(v: i32) -> Self {
        PropValue::I32(v)
    }
}

impl From<u64> for PropValue {
    fn from(v: u64) -> Self {
        PropValue::U64(v)
    }
}

impl From<&str> for PropValue {
    fn from(v: &str) -> Self {
        PropValue::String(v.to_owned())
    }
}

impl From<String> for PropValue {
    fn from(v: String) -> Self {
        PropValue::String(v)
    }
}

impl From<Uuid> for PropValue {
    fn from(v: Uuid) -> Self {
        PropValue::Guid(v)
    }
}

impl From<Vec<String>> for PropValue {
    fn from(v: Vec<String>) -> Self {
        PropValue::StringArray(v)
    }
}

impl From<Vec<u32>> for PropValue {
    fn from(v: Vec<u32>) -> Self {
        PropValue::U32Array(v)
    }
}

impl From<Vec<u8>> for PropValue {
    fn from(v: Vec<u8>) -> Self {
        PropValue::Binary(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_match_the_header() {
        let parse = |s: &str| Uuid::parse_str(s).unwrap();
        assert_eq!(
            DEVICE_PROTOCOL_MTP,
            parse("979E54E5-0AFC-4604-8D93-DC798A4BCF45")
        );
        assert_eq!(
            DEVICE_PROTOCOL_RAPI,
            parse("2A11ED91-8C8F-41E4-82D1-8386E003561C")
        );
        assert_eq!(
            DEVICE_PROTOCOL_MSC,
            parse("A4D2C26C-A881-44BB-BD5D-1F703C71F7A9")
        );
        assert_eq!(
            SERVICE_PROVIDER_VENDOR_MICROSOFT,
            parse("7DE8686D-78EE-43EA-A496-C625AC91CC5D")
        );
    }

    #[test]
    fn vartypes() {
        assert_eq!(PropValue::Empty.vt(), 0);
        assert_eq!(PropValue::Bool(true).vt(), 11);
        assert_eq!(PropValue::U32(0).vt(), 19);
        assert_eq!(PropValue::I32(0).vt(), 3);
        assert_eq!(PropValue::U64(0).vt(), 21);
        assert_eq!(PropValue::from("x").vt(), 8);
        assert_eq!(PropValue::Guid(Uuid::nil()).vt(), 72);
        assert_eq!(PropValue::StringArray(vec![]).vt(), 0x2008);
        assert_eq!(PropValue::U32Array(vec![]).vt(), 0x2013);
        assert_eq!(PropValue::Binary(vec![]).vt(), 0x1011);
    }

    #[test]
    fn expected_vartypes() {
        assert_eq!(expected_vt(DEVICE_FRIENDLY_NAME), Some(VT_BSTR));
        assert_eq!(expected_vt(FORMATS_SUPPORTED), Some(0x2013));
        assert_eq!(expected_vt(SUPPORTED_DEVICE_PROPERTIES), Some(0x2008));
        assert_eq!(expected_vt(FORMATS_SUPPORTED_ARE_ORDERED), Some(VT_BOOL));
        assert_eq!(expected_vt(DEVICE_FIRMWARE_VERSION), Some(VT_UI4));
        assert_eq!(expected_vt(DEVICE_PROTOCOL), Some(VT_CLSID));
        assert_eq!(expected_vt("WMDM/Title"), None);
        let mut names: Vec<&str> = ALL.iter().map(|&(n, _)| n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        assert!(names.iter().all(|n| n.starts_with("WMDM/")));
    }

    #[test]
    fn accessors() {
        assert_eq!(PropValue::from("Zune").as_str(), Some("Zune"));
        assert_eq!(PropValue::from(7u32).as_u32(), Some(7));
        assert_eq!(PropValue::from(7i32).as_u32(), None);
        assert_eq!(PropValue::from(true).as_bool(), Some(true));
        assert_eq!(
            PropValue::from(DEVICE_PROTOCOL_MSC).as_guid(),
            Some(DEVICE_PROTOCOL_MSC)
        );
        assert_eq!(
            PropValue::from(vec![0x3009u32]).as_u32_array(),
            Some(&[0x3009u32][..])
        );
        assert_eq!(
            PropValue::from(vec!["a".to_owned()]).as_string_array(),
            Some(&["a".to_owned()][..])
        );
        assert!(PropValue::default().is_empty());
    }
}
