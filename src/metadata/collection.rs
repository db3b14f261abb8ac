//! The metadata collection: an ordered set of named values (IWMDMMetaData).

use crate::error::{Error, Result};
use crate::flags::TagDataType;
use crate::time::WmdmDateTime;

use super::TagValue;

/// An ordered collection of named metadata values, with IWMDMMetaData's semantics.
///
/// Items keep the order in which they were first added, so [`Metadata::get_index`] behaves like
/// IWMDMMetaData::QueryByIndex. Names compare exactly, case included, as WMDM compares its
/// wide-string tag names.
///
/// **Adding a name that is already present replaces its value in place**: the item keeps its
/// position and the collection never holds two values under one name. The WMDM documentation
/// does not say what AddItem does with a duplicate; replacing is what a caller that sets a
/// property twice expects, and it keeps QueryByName unambiguous.
///
/// ```
/// use wmdm::metadata::{tags, Metadata};
///
/// let mut m = Metadata::new();
/// m.add(tags::TITLE, "Intro");
/// m.add(tags::TRACK, 1u32);
/// m.add(tags::TITLE, "Outro");
/// assert_eq!(m.get_str(tags::TITLE), Some("Outro"));
/// assert_eq!(m.get_index(0).map(|(name, _)| name), Some(tags::TITLE));
/// assert_eq!(m.len(), 2);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata {
    items: Vec<(String, TagValue)>,
}

impl Metadata {
    /// An empty collection.
    pub fn new() -> Metadata {
        Metadata::default()
    }

    /// IWMDMMetaData::AddItem with a typed value. An existing item of the same name gets the
    /// new value and keeps its position.
    pub fn add(&mut self, name: impl Into<String>, value: impl Into<TagValue>) {
        let name = name.into();
        let value = value.into();
        match self.position(&name) {
            Some(i) => {
                if let Some(slot) = self.items.get_mut(i) {
                    slot.1 = value;
                }
            }
            None => self.items.push((name, value)),
        }
    }

    /// IWMDMMetaData::AddItem with the raw type code and bytes a COM caller passes.
    ///
    /// # Errors
    /// * [`Error::InvalidArg`] when `name` is empty, or when the bytes are not a valid value of
    ///   type `ty` (see [`TagValue::from_bytes`]);
    /// * [`Error::InvalidType`] when `ty` is not a `WMDM_TAG_DATATYPE` value.
    ///
    /// On error the collection is unchanged.
    pub fn add_raw(
        &mut self,
        ty: TagDataType,
        name: impl Into<String>,
        bytes: &[u8],
    ) -> Result<()> {
        let name = name.into();
        if name.is_empty() {
            return Err(Error::InvalidArg);
        }
        let value = TagValue::from_bytes(ty, bytes)?;
        self.add(name, value);
        Ok(())
    }

    /// IWMDMMetaData::QueryByName.
    pub fn get(&self, name: &str) -> Option<&TagValue> {
        self.items.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// IWMDMMetaData::QueryByName in its raw form: the type code and the byte form.
    pub fn query_raw(&self, name: &str) -> Option<(TagDataType, Vec<u8>)> {
        self.get(name).map(|v| (v.data_type(), v.to_bytes()))
    }

    /// IWMDMMetaData::QueryByIndex: the item at position `i` in insertion order.
    pub fn get_index(&self, i: usize) -> Option<(&str, &TagValue)> {
        self.items.get(i).map(|(n, v)| (n.as_str(), v))
    }

    /// IWMDMMetaData::GetItemCount.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the collection holds no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The items in insertion order.
    pub fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = (&str, &TagValue)> + ExactSizeIterator + '_ {
        self.items.iter().map(|(n, v)| (n.as_str(), v))
    }

    /// The names in insertion order.
    pub fn names(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator + '_ {
        self.items.iter().map(|(n, _)| n.as_str())
    }

    /// Removes an item; the items after it move up one position.
    pub fn remove(&mut self, name: &str) -> Option<TagValue> {
        let i = self.position(name)?;
        Some(self.items.remove(i).1)
    }

    /// True when an item of that name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// The text of a STRING item.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(TagValue::as_str)
    }

    /// A DWORD, WORD or BOOL item as a `u32` (see [`TagValue::as_u32`]).
    pub fn get_u32(&self, name: &str) -> Option<u32> {
        self.get(name).and_then(TagValue::as_u32)
    }

    /// A QWORD, DWORD or WORD item as a `u64` (see [`TagValue::as_u64`]).
    pub fn get_u64(&self, name: &str) -> Option<u64> {
        self.get(name).and_then(TagValue::as_u64)
    }

    /// The flag of a BOOL item.
    pub fn get_bool(&self, name: &str) -> Option<bool> {
        self.get(name).and_then(TagValue::as_bool)
    }

    /// The date of a DATE item.
    pub fn get_date(&self, name: &str) -> Option<WmdmDateTime> {
        self.get(name).and_then(TagValue::as_date)
    }

    /// The items named in `names`, in the order of `names`, and whether every one was present.
    ///
    /// This is IWMDMStorage4::GetSpecifiedMetadata: a `false` second value is the
    /// `WMDM_S_NOT_ALL_PROPERTIES_RETRIEVED` case. A name repeated in `names` is returned once.
    pub fn retain_names(&self, names: &[&str]) -> (Metadata, bool) {
        let mut subset = Metadata::new();
        let mut all = true;
        for &name in names {
            match self.get(name) {
                Some(v) => subset.add(name, v.clone()),
                None => all = false,
            }
        }
        (subset, all)
    }

    /// Adds every item of `other`, in its order; items already present take `other`'s value.
    pub fn merge(&mut self, other: &Metadata) {
        for (name, value) in other.iter() {
            self.add(name, value.clone());
        }
    }

    /// Serialises the whole collection, for providers that store metadata next to content.
    ///
    /// The format, all integers little-endian:
    ///
    /// ```text
    /// count         u32            number of items
    /// then, per item, in collection order:
    ///   name_len    u16            length of the name in UTF-16 code units;
    ///                              0xFFFF means a u32 length follows instead
    ///   [name_len32 u32]           only after 0xFFFF, and then always >= 0xFFFF
    ///   name        UTF-16LE       name_len code units, no terminator
    ///   type        u32            WMDM_TAG_DATATYPE
    ///   value_len   u32            length of the value in bytes
    ///   value       bytes          TagValue::to_bytes (a STRING includes its NUL)
    /// ```
    ///
    /// The escape for long names exists so that every collection can be written; WMDM itself
    /// never uses names that long. A value longer than `u32::MAX` bytes cannot be passed through
    /// IWMDMMetaData (its lengths are 32-bit) and is written truncated to `u32::MAX` bytes, so
    /// [`Metadata::from_bytes`] will not read it back as it was.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&saturate_u32(self.items.len()).to_le_bytes());
        for (name, value) in &self.items {
            let units: Vec<u16> = name.encode_utf16().collect();
            match u16::try_from(units.len()) {
                Ok(n) if n != LONG_NAME => out.extend_from_slice(&n.to_le_bytes()),
                _ => {
                    out.extend_from_slice(&LONG_NAME.to_le_bytes());
                    out.extend_from_slice(&saturate_u32(units.len()).to_le_bytes());
                }
            }
            for unit in units {
                out.extend_from_slice(&unit.to_le_bytes());
            }
            let bytes = value.to_bytes();
            let len = saturate_u32(bytes.len());
            out.extend_from_slice(&value.data_type().0.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(bytes.get(..len as usize).unwrap_or(&bytes));
        }
        out
    }

    /// Parses the form written by [`Metadata::to_bytes`].
    ///
    /// # Errors
    /// * [`Error::InvalidArg`] when the input is truncated, declares more items or longer
    ///   fields than it holds, has bytes after the last item, uses the long-name escape for a
    ///   short name, repeats a name, holds a name that is not valid UTF-16, or holds a value
    ///   that is not valid for its type;
    /// * [`Error::InvalidType`] when an item's type code is not a `WMDM_TAG_DATATYPE` value.
    pub fn from_bytes(bytes: &[u8]) -> Result<Metadata> {
        let mut r = Reader(bytes);
        let count = r.u32()? as usize;
        // Each item needs at least a name length, a type and a value length; a count that
        // could not fit is rejected before anything is allocated for it.
        if count > r.0.len() / MIN_ITEM_LEN {
            return Err(Error::InvalidArg);
        }
        let mut items: Vec<(String, TagValue)> = Vec::with_capacity(count);
        for _ in 0..count {
            let short = r.u16()?;
            let name_len = if short == LONG_NAME {
                let long = r.u32()?;
                if long < u32::from(LONG_NAME) {
                    return Err(Error::InvalidArg);
                }
                long as usize
            } else {
                usize::from(short)
            };
            let name_bytes = r.take(name_len.checked_mul(2).ok_or(Error::InvalidArg)?)?;
            let units = name_bytes
                .chunks_exact(2)
                .map(|pair| u16::from_le_bytes([pair[0], pair[1]]));
            let name = char::decode_utf16(units)
                .collect::<std::result::Result<String, _>>()
                .map_err(|_| Error::InvalidArg)?;
            let ty = TagDataType(r.u32()?);
            let value_len = r.u32()? as usize;
            let value = TagValue::from_bytes(ty, r.take(value_len)?)?;
            if items.iter().any(|(n, _)| *n == name) {
                return Err(Error::InvalidArg);
            }
            items.push((name, value));
        }
        if !r.0.is_empty() {
            return Err(Error::InvalidArg);
        }
        Ok(Metadata { items })
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.items.iter().position(|(n, _)| n == name)
    }
}

/// The `name_len` value that announces a 32-bit name length.
const LONG_NAME: u16 = 0xFFFF;

/// The smallest serialised item: empty name, type, empty value.
const MIN_ITEM_LEN: usize = 2 + 4 + 4;

fn saturate_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A cursor over untrusted bytes; every read checks the remaining length.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n).ok_or(Error::InvalidArg)?;
        self.0 = rest;
        Ok(head)
    }

    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes(
            b.try_into().map_err(|_| Error::InvalidArg)?,
        ))
    }

    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes(
            b.try_into().map_err(|_| Error::InvalidArg)?,
        ))
    }
}

impl<N: Into<String>, V: Into<TagValue>> FromIterator<(N, V)> for Metadata {
    /// Collects items with [`Metadata::add`]'s semantics: a repeated name keeps its first
    /// position and its last value.
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        let mut m = Metadata::new();
        m.extend(iter);
        m
    }
}

impl<N: Into<String>, V: Into<TagValue>> Extend<(N, V)> for Metadata {
    /// Adds each item with [`Metadata::add`].
    fn extend<I: IntoIterator<Item = (N, V)>>(&mut self, iter: I) {
        for (name, value) in iter {
            self.add(name, value);
        }
    }
}

impl IntoIterator for Metadata {
    type Item = (String, TagValue);
    type IntoIter = std::vec::IntoIter<(String, TagValue)>;

    /// The items in insertion order, by value.
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::tags;
    use crate::metadata::value::tests::any_tag_value;
    use proptest::prelude::*;

    fn sample() -> Metadata {
        let mut m = Metadata::new();
        m.add(tags::TITLE, "Intro");
        m.add(tags::TRACK, 1u32);
        m.add(tags::FILE_SIZE, 1234u64);
        m.add(tags::IS_PROTECTED, false);
        m
    }

    fn any_metadata() -> impl Strategy<Value = Metadata> {
        proptest::collection::vec((any::<String>(), any_tag_value()), 0..12)
            .prop_map(|items| items.into_iter().collect())
    }

    #[test]
    fn adding_an_existing_name_replaces_in_place() {
        let mut m = sample();
        m.add(tags::TRACK, 7u32);
        assert_eq!(m.len(), 4);
        assert_eq!(m.get_index(1), Some((tags::TRACK, &TagValue::Dword(7))));
        // Replacing may change the type too.
        m.add(tags::TRACK, "seven");
        assert_eq!(
            m.get_index(1),
            Some((tags::TRACK, &TagValue::from("seven")))
        );
        assert_eq!(m.get_u32(tags::TRACK), None);
    }

    #[test]
    fn names_are_case_sensitive() {
        let mut m = Metadata::new();
        m.add("WMDM/Title", "a");
        m.add("wmdm/title", "b");
        assert_eq!(m.len(), 2);
        assert_eq!(m.get_str("WMDM/Title"), Some("a"));
        assert!(!m.contains("WMDM/TITLE"));
    }

    #[test]
    fn query_by_index_follows_insertion_order() {
        let m = sample();
        let names: Vec<&str> = m.iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                tags::TITLE,
                tags::TRACK,
                tags::FILE_SIZE,
                tags::IS_PROTECTED
            ]
        );
        assert_eq!(
            m.get_index(0),
            Some((tags::TITLE, &TagValue::from("Intro")))
        );
        assert_eq!(m.get_index(4), None);
        assert_eq!(m.names().last(), Some(tags::IS_PROTECTED));
    }

    #[test]
    fn remove_shifts_later_items_up() {
        let mut m = sample();
        assert_eq!(m.remove(tags::TRACK), Some(TagValue::Dword(1)));
        assert_eq!(m.remove(tags::TRACK), None);
        assert_eq!(m.get_index(1).map(|(n, _)| n), Some(tags::FILE_SIZE));
        assert!(!m.contains(tags::TRACK));
    }

    #[test]
    fn typed_getters() {
        let mut m = sample();
        let d = WmdmDateTime::new(2026, 2, 3, 4, 5, 6).unwrap();
        m.add(tags::SYNC_TIME, d);
        assert_eq!(m.get_str(tags::TITLE), Some("Intro"));
        assert_eq!(m.get_u32(tags::TRACK), Some(1));
        assert_eq!(m.get_u64(tags::FILE_SIZE), Some(1234));
        assert_eq!(m.get_u64(tags::TRACK), Some(1));
        assert_eq!(m.get_bool(tags::IS_PROTECTED), Some(false));
        assert_eq!(m.get_date(tags::SYNC_TIME), Some(d));
        assert_eq!(m.get_str(tags::TRACK), None);
        assert_eq!(m.get_str(tags::GENRE), None);
    }

    #[test]
    fn add_raw_validates() {
        let mut m = Metadata::new();
        assert_eq!(
            m.add_raw(TagDataType::DWORD, tags::TRACK, &[3, 0, 0, 0]),
            Ok(())
        );
        assert_eq!(m.get_u32(tags::TRACK), Some(3));
        assert_eq!(
            m.add_raw(TagDataType::DWORD, tags::TRACK, &[3, 0, 0]),
            Err(Error::InvalidArg)
        );
        assert_eq!(m.get_u32(tags::TRACK), Some(3), "unchanged after an error");
        assert_eq!(
            m.add_raw(TagDataType::STRING, "", &[0, 0]),
            Err(Error::InvalidArg)
        );
        assert_eq!(
            m.add_raw(TagDataType(42), tags::TITLE, &[]),
            Err(Error::InvalidType)
        );
        assert_eq!(m.len(), 1);
        assert_eq!(
            m.query_raw(tags::TRACK),
            Some((TagDataType::DWORD, vec![3, 0, 0, 0]))
        );
        assert_eq!(m.query_raw(tags::TITLE), None);
    }

    #[test]
    fn specified_metadata_reports_missing_names() {
        let m = sample();
        let (sub, all) = m.retain_names(&[tags::TRACK, tags::TITLE]);
        assert!(all);
        assert_eq!(sub.names().collect::<Vec<_>>(), [tags::TRACK, tags::TITLE]);
        let (sub, all) = m.retain_names(&[tags::TITLE, tags::GENRE, tags::TITLE]);
        assert!(!all);
        assert_eq!(sub.len(), 1);
        let (sub, all) = m.retain_names(&[]);
        assert!(all && sub.is_empty());
    }

    #[test]
    fn merge_overrides_and_appends() {
        let mut m = sample();
        let other: Metadata = [
            (tags::TITLE, TagValue::from("New")),
            (tags::GENRE, "Jazz".into()),
        ]
        .into_iter()
        .collect();
        m.merge(&other);
        assert_eq!(m.len(), 5);
        assert_eq!(m.get_index(0), Some((tags::TITLE, &TagValue::from("New"))));
        assert_eq!(m.get_index(4), Some((tags::GENRE, &TagValue::from("Jazz"))));
    }

    #[test]
    fn collect_and_extend_use_add_semantics() {
        let mut m: Metadata = vec![
            ("a".to_owned(), TagValue::Dword(1)),
            ("b".to_owned(), TagValue::Dword(2)),
            ("a".to_owned(), TagValue::Dword(3)),
        ]
        .into_iter()
        .collect();
        assert_eq!(m.names().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(m.get_u32("a"), Some(3));
        m.extend([("c", 4u32)]);
        assert_eq!(m.len(), 3);
        let owned: Vec<(String, TagValue)> = m.into_iter().collect();
        assert_eq!(owned.len(), 3);
    }

    #[test]
    fn serialised_form_is_as_documented() {
        let mut m = Metadata::new();
        m.add("ab", 5u16);
        assert_eq!(
            m.to_bytes(),
            [
                1, 0, 0, 0, // count
                2, 0, b'a', 0, b'b', 0, // name
                5, 0, 0, 0, // WMDM_TYPE_WORD
                2, 0, 0, 0, // value length
                5, 0, // value
            ]
        );
        assert_eq!(Metadata::new().to_bytes(), [0, 0, 0, 0]);
    }

    #[test]
    fn long_names_use_the_escape() {
        let mut m = Metadata::new();
        let long = "x".repeat(70_000);
        m.add(long.as_str(), 1u32);
        m.add("y".repeat(0xFFFF), 2u32);
        m.add("z".repeat(0xFFFE), 3u32);
        let bytes = m.to_bytes();
        assert_eq!(bytes.get(4..6), Some(&[0xFF, 0xFF][..]));
        assert_eq!(Metadata::from_bytes(&bytes), Ok(m));
    }

    #[test]
    fn malformed_blobs_are_rejected() {
        let good = sample().to_bytes();
        // Every truncation fails.
        for cut in 0..good.len() {
            assert_eq!(
                Metadata::from_bytes(&good[..cut]),
                Err(Error::InvalidArg),
                "cut at {cut}"
            );
        }
        // Trailing bytes.
        let mut long = good.clone();
        long.push(0);
        assert_eq!(Metadata::from_bytes(&long), Err(Error::InvalidArg));
        // An absurd count.
        assert_eq!(
            Metadata::from_bytes(&[0xFF, 0xFF, 0xFF, 0xFF]),
            Err(Error::InvalidArg)
        );
        // An absurd value length.
        let mut absurd = vec![1, 0, 0, 0, 1, 0, b'a', 0, 2, 0, 0, 0];
        absurd.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(Metadata::from_bytes(&absurd), Err(Error::InvalidArg));
        // The long-name escape used for a short name.
        let escaped = [
            1, 0, 0, 0, 0xFF, 0xFF, 1, 0, 0, 0, b'a', 0, 2, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(Metadata::from_bytes(&escaped), Err(Error::InvalidArg));
        // A repeated name.
        let item = [1, 0, b'a', 0, 2, 0, 0, 0, 0, 0, 0, 0];
        let mut twice = vec![2, 0, 0, 0];
        twice.extend_from_slice(&item);
        twice.extend_from_slice(&item);
        assert_eq!(Metadata::from_bytes(&twice), Err(Error::InvalidArg));
        // An unknown type code.
        let unknown = [1, 0, 0, 0, 1, 0, b'a', 0, 9, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(Metadata::from_bytes(&unknown), Err(Error::InvalidType));
        // A name with a lone surrogate.
        let lone = [1, 0, 0, 0, 1, 0, 0x00, 0xD8, 2, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(Metadata::from_bytes(&lone), Err(Error::InvalidArg));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn collection_round_trips(m in any_metadata()) {
            prop_assert_eq!(Metadata::from_bytes(&m.to_bytes()), Ok(m));
        }

        #[test]
        fn from_bytes_never_panics_on_noise(
            count in prop_oneof![0u32..4, any::<u32>()],
            noise in proptest::collection::vec(any::<u8>(), 0..128),
        ) {
            // A small count gets the parser past the first check and into the items.
            let mut bytes = count.to_le_bytes().to_vec();
            bytes.extend_from_slice(&noise);
            if let Err(e) = Metadata::from_bytes(&bytes) {
                prop_assert!(matches!(e.code(), crate::error::ErrorCode::InvalidArg | crate::error::ErrorCode::InvalidType));
            }
        }

        #[test]
        fn from_bytes_never_panics_on_damaged_blobs(
            m in any_metadata(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = m.to_bytes();
            for (at, byte) in edits {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            let keep = cut.index(bytes.len() + 1);
            bytes.truncate(keep);
            match Metadata::from_bytes(&bytes) {
                // What parses must be stable: its own serialisation parses to itself.
                Ok(parsed) => prop_assert_eq!(Metadata::from_bytes(&parsed.to_bytes()), Ok(parsed)),
                Err(e) => prop_assert!(matches!(e.code(), crate::error::ErrorCode::InvalidArg | crate::error::ErrorCode::InvalidType)),
            }
        }
    }
}
