//! Metadata: tag names, typed tag values, the metadata collection, format codes and device
//! properties.
//!
//! WMDM describes content with name/value pairs (IWMDMMetaData). Names are wide strings such
//! as `"WMDM/Title"` ([`tags`]); values carry a `WMDM_TAG_DATATYPE` and a byte buffer, which
//! this module parses once into a [`TagValue`]. A [`Metadata`] is the ordered collection that
//! IWMDMMetaData models, and [`FormatCode`] is the `WMDM_FORMATCODE` stored under
//! `WMDM/FormatCode`. Device-wide properties (IMDSPDevice3::GetProperty) are `PROPVARIANT`s
//! rather than tag buffers; [`device`] names them and [`PropValue`] holds their values.
//!
//! ```
//! use wmdm::flags::TagDataType;
//! use wmdm::metadata::{tags, FormatCode, Metadata, TagValue};
//!
//! let mut m = Metadata::new();
//! m.add(tags::TITLE, "Blue in Green");
//! m.add(tags::FORMAT_CODE, FormatCode::from_extension("mp3"));
//! m.add_raw(TagDataType::DWORD, tags::TRACK, &3u32.to_le_bytes())?;
//!
//! assert_eq!(m.get_u32(tags::FORMAT_CODE), Some(FormatCode::MP3.0));
//! assert_eq!(m.get(tags::TRACK), Some(&TagValue::Dword(3)));
//! let stored = m.to_bytes();
//! assert_eq!(Metadata::from_bytes(&stored)?, m);
//! # Ok::<(), wmdm::Error>(())
//! ```

pub mod device;
pub mod format;
pub mod tags;

mod collection;
mod value;

pub use collection::Metadata;
pub use device::PropValue;
pub use format::FormatCode;
pub use value::TagValue;
