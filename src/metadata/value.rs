//! One typed metadata value and its WMDM byte form.

use std::fmt;

use uuid::Uuid;

use crate::error::{Error, Result};
use crate::flags::TagDataType;
use crate::time::WmdmDateTime;

/// One metadata value, typed by `WMDM_TAG_DATATYPE`.
///
/// IWMDMMetaData carries every value as a type code plus a byte buffer; this enum is the parsed
/// form of that pair. [`TagValue::to_bytes`] and [`TagValue::from_bytes`] convert between the two.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TagValue {
    /// `WMDM_TYPE_DWORD`: a 32-bit unsigned integer.
    Dword(u32),
    /// `WMDM_TYPE_STRING`: text, carried as NUL-terminated UTF-16LE.
    ///
    /// The byte form ends at the first NUL, so a string that contains `'\0'` comes back cut
    /// short after a round trip through [`TagValue::to_bytes`] and [`TagValue::from_bytes`].
    String(String),
    /// `WMDM_TYPE_BINARY`: opaque bytes (album art, WPD pass-through blobs, ...).
    Binary(Vec<u8>),
    /// `WMDM_TYPE_BOOL`: a Win32 `BOOL`.
    Bool(bool),
    /// `WMDM_TYPE_QWORD`: a 64-bit unsigned integer (sizes, 100-ns durations).
    Qword(u64),
    /// `WMDM_TYPE_WORD`: a 16-bit unsigned integer.
    Word(u16),
    /// `WMDM_TYPE_GUID`: a GUID.
    Guid(Uuid),
    /// `WMDM_TYPE_DATE`: a `WMDMDATETIME`.
    Date(WmdmDateTime),
}

impl TagValue {
    /// The `WMDM_TAG_DATATYPE` of this value.
    pub fn data_type(&self) -> TagDataType {
        match self {
            TagValue::Dword(_) => TagDataType::DWORD,
            TagValue::String(_) => TagDataType::STRING,
            TagValue::Binary(_) => TagDataType::BINARY,
            TagValue::Bool(_) => TagDataType::BOOL,
            TagValue::Qword(_) => TagDataType::QWORD,
            TagValue::Word(_) => TagDataType::WORD,
            TagValue::Guid(_) => TagDataType::GUID,
            TagValue::Date(_) => TagDataType::DATE,
        }
    }

    /// The byte form IWMDMMetaData::AddItem takes and QueryByName returns.
    ///
    /// Integers are little-endian (DWORD 4 bytes, QWORD 8, WORD 2); a BOOL is a 4-byte Win32
    /// `BOOL` holding 0 or 1; a STRING is UTF-16LE followed by a 2-byte NUL; a GUID is in the
    /// Windows memory layout (`Data1`, `Data2`, `Data3` little-endian, then `Data4`); a DATE is
    /// the 12-byte `WMDMDATETIME`.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            TagValue::Dword(v) => v.to_le_bytes().to_vec(),
            TagValue::String(s) => {
                let mut out = Vec::with_capacity(s.len() * 2 + 2);
                for unit in s.encode_utf16().chain(std::iter::once(0)) {
                    out.extend_from_slice(&unit.to_le_bytes());
                }
                out
            }
            TagValue::Binary(b) => b.clone(),
            TagValue::Bool(b) => u32::from(*b).to_le_bytes().to_vec(),
            TagValue::Qword(v) => v.to_le_bytes().to_vec(),
            TagValue::Word(v) => v.to_le_bytes().to_vec(),
            TagValue::Guid(g) => g.to_bytes_le().to_vec(),
            TagValue::Date(d) => d.to_bytes().to_vec(),
        }
    }

    /// Parses the byte form of a value of type `ty`.
    ///
    /// A BOOL is true when any of its four bytes is non-zero, as Win32 reads a `BOOL`. A STRING
    /// ends at its first NUL; a buffer with no terminator at all is accepted too, because some
    /// callers pass the length without it.
    ///
    /// # Errors
    /// * [`Error::InvalidType`] when `ty` is not a `WMDM_TAG_DATATYPE` value;
    /// * [`Error::InvalidArg`] when the length is wrong for the type (DWORD 4, BOOL 4, QWORD 8,
    ///   WORD 2, GUID 16, DATE 12), when a STRING has an odd length, or when a STRING holds an
    ///   unpaired UTF-16 surrogate.
    pub fn from_bytes(ty: TagDataType, bytes: &[u8]) -> Result<TagValue> {
        match ty {
            TagDataType::DWORD => Ok(TagValue::Dword(u32::from_le_bytes(exact(bytes)?))),
            TagDataType::STRING => decode_wide(bytes).map(TagValue::String),
            TagDataType::BINARY => Ok(TagValue::Binary(bytes.to_vec())),
            TagDataType::BOOL => Ok(TagValue::Bool(u32::from_le_bytes(exact(bytes)?) != 0)),
            TagDataType::QWORD => Ok(TagValue::Qword(u64::from_le_bytes(exact(bytes)?))),
            TagDataType::WORD => Ok(TagValue::Word(u16::from_le_bytes(exact(bytes)?))),
            TagDataType::GUID => Ok(TagValue::Guid(Uuid::from_bytes_le(exact(bytes)?))),
            TagDataType::DATE => WmdmDateTime::from_bytes(bytes).map(TagValue::Date),
            _ => Err(Error::InvalidType),
        }
    }

    /// The text of a STRING value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            TagValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// A DWORD, a WORD (widened) or a BOOL (0 or 1) as a `u32`.
    pub fn as_u32(&self) -> Option<u32> {
        match *self {
            TagValue::Dword(v) => Some(v),
            TagValue::Word(v) => Some(u32::from(v)),
            TagValue::Bool(b) => Some(u32::from(b)),
            _ => None,
        }
    }

    /// A QWORD, a DWORD or a WORD as a `u64`.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            TagValue::Qword(v) => Some(v),
            TagValue::Dword(v) => Some(u64::from(v)),
            TagValue::Word(v) => Some(u64::from(v)),
            _ => None,
        }
    }

    /// The flag of a BOOL value.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            TagValue::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The date of a DATE value.
    pub fn as_date(&self) -> Option<WmdmDateTime> {
        match *self {
            TagValue::Date(d) => Some(d),
            _ => None,
        }
    }

    /// The GUID of a GUID value.
    pub fn as_guid(&self) -> Option<Uuid> {
        match *self {
            TagValue::Guid(g) => Some(g),
            _ => None,
        }
    }

    /// The bytes of a BINARY value.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            TagValue::Binary(b) => Some(b),
            _ => None,
        }
    }
}

/// The fixed-size array a fixed-size type needs, or `InvalidArg` for any other length.
fn exact<const N: usize>(bytes: &[u8]) -> Result<[u8; N]> {
    bytes.try_into().map_err(|_| Error::InvalidArg)
}

/// Decodes NUL-terminated (or unterminated) UTF-16LE.
fn decode_wide(bytes: &[u8]) -> Result<String> {
    if !bytes.len().is_multiple_of(2) {
        return Err(Error::InvalidArg);
    }
    let units = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .take_while(|&unit| unit != 0);
    char::decode_utf16(units)
        .collect::<std::result::Result<String, _>>()
        .map_err(|_| Error::InvalidArg)
}

impl fmt::Display for TagValue {
    /// A human-readable form: numbers in decimal, text as is, GUIDs in registry form
    /// (`{979E54E5-0AFC-4604-8D93-DC798A4BCF45}`), dates in ISO 8601, binary as its length.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagValue::Dword(v) => write!(f, "{v}"),
            TagValue::String(s) => f.write_str(s),
            TagValue::Binary(b) => write!(f, "<{} bytes>", b.len()),
            TagValue::Bool(b) => write!(f, "{b}"),
            TagValue::Qword(v) => write!(f, "{v}"),
            TagValue::Word(v) => write!(f, "{v}"),
            TagValue::Guid(g) => write!(
                f,
                "{{{}}}",
                g.hyphenated().encode_upper(&mut Uuid::encode_buffer())
            ),
            TagValue::Date(d) => write!(f, "{d}"),
        }
    }
}

impl From<u32> for TagValue {
    fn from(v: u32) -> Self {
        TagValue::Dword(v)
    }
}

impl From<u64> for TagValue {
    fn from(v: u64) -> Self {
        TagValue::Qword(v)
    }
}

impl From<u16> for TagValue {
    fn from(v: u16) -> Self {
        TagValue::Word(v)
    }
}

impl From<bool> for TagValue {
    fn from(v: bool) -> Self {
        TagValue::Bool(v)
    }
}

impl From<&str> for TagValue {
    fn from(v: &str) -> Self {
        TagValue::String(v.to_owned())
    }
}

impl From<String> for TagValue {
    fn from(v: String) -> Self {
        TagValue::String(v)
    }
}

impl From<Uuid> for TagValue {
    fn from(v: Uuid) -> Self {
        TagValue::Guid(v)
    }
}

impl From<WmdmDateTime> for TagValue {
    fn from(v: WmdmDateTime) -> Self {
        TagValue::Date(v)
    }
}

impl From<Vec<u8>> for TagValue {
    fn from(v: Vec<u8>) -> Self {
        TagValue::Binary(v)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Any value whose byte form round-trips exactly: strings have no NUL in them.
    pub(crate) fn any_tag_value() -> impl Strategy<Value = TagValue> {
        prop_oneof![
            any::<u32>().prop_map(TagValue::Dword),
            any::<String>().prop_map(|s| TagValue::String(s.replace('\0', ""))),
            proptest::collection::vec(any::<u8>(), 0..64).prop_map(TagValue::Binary),
            any::<bool>().prop_map(TagValue::Bool),
            any::<u64>().prop_map(TagValue::Qword),
            any::<u16>().prop_map(TagValue::Word),
            any::<u128>().prop_map(|v| TagValue::Guid(Uuid::from_u128(v))),
            proptest::array::uniform6(any::<u16>()).prop_map(|f| TagValue::Date(WmdmDateTime {
                year: f[0],
                month: f[1],
                day: f[2],
                hour: f[3],
                minute: f[4],
                second: f[5],
            })),
        ]
    }

    fn type_code() -> impl Strategy<Value = TagDataType> {
        prop_oneof![0u32..10, any::<u32>()].prop_map(TagDataType)
    }

    #[test]
    fn byte_forms_match_wmdm() {
        assert_eq!(TagValue::Dword(0x0102_0304).to_bytes(), [4, 3, 2, 1]);
        assert_eq!(TagValue::Word(0x0102).to_bytes(), [2, 1]);
        assert_eq!(TagValue::Qword(1).to_bytes(), [1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(TagValue::Bool(true).to_bytes(), [1, 0, 0, 0]);
        assert_eq!(TagValue::Bool(false).to_bytes(), [0, 0, 0, 0]);
        assert_eq!(TagValue::from("Hé").to_bytes(), [b'H', 0, 0xE9, 0, 0, 0]);
        assert_eq!(TagValue::from("").to_bytes(), [0, 0]);
        let g = Uuid::parse_str("979E54E5-0AFC-4604-8D93-DC798A4BCF45").unwrap();
        assert_eq!(
            TagValue::Guid(g).to_bytes(),
            [
                0xE5, 0x54, 0x9E, 0x97, 0xFC, 0x0A, 0x04, 0x46, 0x8D, 0x93, 0xDC, 0x79, 0x8A, 0x4B,
                0xCF, 0x45
            ]
        );
        let d = WmdmDateTime::new(2026, 3, 4, 5, 6, 7).unwrap();
        assert_eq!(TagValue::Date(d).to_bytes(), d.to_bytes());
    }

    #[test]
    fn bool_is_any_nonzero_dword() {
        assert_eq!(
            TagValue::from_bytes(TagDataType::BOOL, &[0, 0, 0, 0x80]),
            Ok(TagValue::Bool(true))
        );
        assert_eq!(
            TagValue::from_bytes(TagDataType::BOOL, &[0xFF; 4]),
            Ok(TagValue::Bool(true)),
            "TRUE as -1"
        );
        assert_eq!(
            TagValue::from_bytes(TagDataType::BOOL, &[0; 4]),
            Ok(TagValue::Bool(false))
        );
    }

    #[test]
    fn wrong_lengths_are_invalid_arg() {
        let cases: &[(TagDataType, usize)] = &[
            (TagDataType::DWORD, 4),
            (TagDataType::BOOL, 4),
            (TagDataType::QWORD, 8),
            (TagDataType::WORD, 2),
            (TagDataType::GUID, 16),
            (TagDataType::DATE, 12),
        ];
        for &(ty, good) in cases {
            assert!(TagValue::from_bytes(ty, &vec![0; good]).is_ok(), "{ty:?}");
            for bad in [0, good - 1, good + 1, good * 2] {
                assert_eq!(
                    TagValue::from_bytes(ty, &vec![0; bad]),
                    Err(Error::InvalidArg),
                    "{ty:?} with {bad} bytes"
                );
            }
        }
    }

    #[test]
    fn odd_length_string_is_rejected() {
        assert_eq!(
            TagValue::from_bytes(TagDataType::STRING, &[b'A', 0, 0]),
            Err(Error::InvalidArg)
        );
    }

    #[test]
    fn string_without_terminator_is_accepted() {
        assert_eq!(
            TagValue::from_bytes(TagDataType::STRING, &[b'A', 0, b'B', 0]),
            Ok(TagValue::from("AB"))
        );
        assert_eq!(
            TagValue::from_bytes(TagDataType::STRING, &[]),
            Ok(TagValue::from(""))
        );
    }

    #[test]
    fn string_ends_at_first_nul() {
        let bytes = [b'A', 0, 0, 0, b'B', 0, 0, 0];
        assert_eq!(
            TagValue::from_bytes(TagDataType::STRING, &bytes),
            Ok(TagValue::from("A"))
        );
    }

    #[test]
    fn unpaired_surrogates_are_rejected() {
        // A lone high surrogate, then a lone low surrogate.
        for unit in [0xD800u16, 0xDC00] {
            let mut bytes = unit.to_le_bytes().to_vec();
            bytes.extend_from_slice(&[b'x', 0, 0, 0]);
            assert_eq!(
                TagValue::from_bytes(TagDataType::STRING, &bytes),
                Err(Error::InvalidArg)
            );
        }
        // A surrogate pair is fine: U+1F600.
        let pair = [0x3D, 0xD8, 0x00, 0xDE, 0, 0];
        assert_eq!(
            TagValue::from_bytes(TagDataType::STRING, &pair),
            Ok(TagValue::from("\u{1F600}"))
        );
    }

    #[test]
    fn unknown_type_is_invalid_type() {
        assert_eq!(
            TagValue::from_bytes(TagDataType(8), &[0; 4]),
            Err(Error::InvalidType)
        );
        assert_eq!(
            TagValue::from_bytes(TagDataType(u32::MAX), &[]),
            Err(Error::InvalidType)
        );
    }

    #[test]
    fn accessors_widen_where_lossless() {
        assert_eq!(TagValue::Word(7).as_u32(), Some(7));
        assert_eq!(TagValue::Bool(true).as_u32(), Some(1));
        assert_eq!(TagValue::Qword(7).as_u32(), None);
        assert_eq!(TagValue::Dword(7).as_u64(), Some(7));
        assert_eq!(TagValue::Bool(true).as_u64(), None);
        assert_eq!(TagValue::from("x").as_str(), Some("x"));
        assert_eq!(TagValue::Dword(1).as_bool(), None);
        assert_eq!(TagValue::from(vec![1u8]).as_bytes(), Some(&[1u8][..]));
        let d = WmdmDateTime::default();
        assert_eq!(TagValue::from(d).as_date(), Some(d));
        assert_eq!(TagValue::from(Uuid::nil()).as_guid(), Some(Uuid::nil()));
    }

    #[test]
    fn display_is_human() {
        let g = Uuid::parse_str("7de8686d-78ee-43ea-a496-c625ac91cc5d").unwrap();
        assert_eq!(
            TagValue::Guid(g).to_string(),
            "{7DE8686D-78EE-43EA-A496-C625AC91CC5D}"
        );
        assert_eq!(TagValue::Dword(42).to_string(), "42");
        assert_eq!(TagValue::from("Song").to_string(), "Song");
        assert_eq!(TagValue::Binary(vec![0; 3]).to_string(), "<3 bytes>");
        assert_eq!(
            TagValue::Date(WmdmDateTime::new(2026, 1, 2, 3, 4, 5).unwrap()).to_string(),
            "2026-01-02T03:04:05Z"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn every_type_round_trips(v in any_tag_value()) {
            let bytes = v.to_bytes();
            prop_assert_eq!(TagValue::from_bytes(v.data_type(), &bytes), Ok(v));
        }

        #[test]
        fn strings_round_trip(s in any::<String>().prop_map(|s| s.replace('\0', ""))) {
            let v = TagValue::String(s);
            prop_assert_eq!(TagValue::from_bytes(TagDataType::STRING, &v.to_bytes()), Ok(v));
        }

        #[test]
        fn from_bytes_never_panics(
            ty in type_code(),
            bytes in proptest::collection::vec(any::<u8>(), 0..48),
        ) {
            match TagValue::from_bytes(ty, &bytes) {
                Ok(v) => prop_assert_eq!(v.data_type(), ty),
                Err(e) => prop_assert!(matches!(e.code(), crate::error::ErrorCode::InvalidArg | crate::error::ErrorCode::InvalidType)),
            }
        }
    }
}
