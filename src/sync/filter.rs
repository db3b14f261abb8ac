//! SyncFilter (Microsoft's reference: <https://learn.microsoft.com/en-us/windows/win32/api/wmp/nf-wmp-iwmpsyncdevice-getiteminfo>): which media types the next sync session moves, and whether
//! it reads anything back from the device.

use crate::error::{Error, Result};
use crate::metadata::FormatCode;

/// The media type a [`SyncFilter`] bit stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum MediaKind {
    /// Audio, and anything that is neither video nor a picture (the library is a music
    /// library, so an unknown format is taken as music).
    Music,
    /// Video formats ([`FormatCode::is_video`]).
    Video,
    /// Pictures ([`FormatCode::is_image`]).
    Picture,
}

impl MediaKind {
    /// The kind of a format.
    pub fn of(format: FormatCode) -> MediaKind {
        if format.is_video() {
            MediaKind::Video
        } else if format.is_image() {
            MediaKind::Picture
        } else {
            MediaKind::Music
        }
    }

    /// The kind of a file, from its name's extension.
    pub fn of_file_name(name: &str) -> MediaKind {
        MediaKind::of(FormatCode::from_file_name(name))
    }

    fn bit(self) -> u32 {
        match self {
            MediaKind::Music => SyncFilter::MUSIC.0,
            MediaKind::Video => SyncFilter::VIDEO.0,
            MediaKind::Picture => SyncFilter::PICTURES.0,
        }
    }
}

/// WMP 12's SyncFilter: a bit set that applies to the next sync session only (1 music,
/// 2 video, 4 pictures, 8 write-only), or [`SyncFilter::NONE`] (`0xFF`) for no filter.
///
/// Items of an excluded type are neither copied nor deleted in that session; write-only means
/// nothing is acquired from the device, so play counts and ratings do not flow back.
///
/// ```
/// use wmdm::sync::{MediaKind, SyncFilter};
///
/// let f = SyncFilter::parse("0x0A").unwrap(); // video, write-only
/// assert!(f.includes(MediaKind::Video) && !f.includes(MediaKind::Music));
/// assert!(!f.acquires());
/// assert!(SyncFilter::parse("255").unwrap().is_none());
/// assert!(SyncFilter::parse("0x100").is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SyncFilter(pub u32);

impl SyncFilter {
    /// Music.
    pub const MUSIC: SyncFilter = SyncFilter(0x01);
    /// Video.
    pub const VIDEO: SyncFilter = SyncFilter(0x02);
    /// Pictures.
    pub const PICTURES: SyncFilter = SyncFilter(0x04);
    /// Write-only: no acquisition from the device.
    pub const WRITE_ONLY: SyncFilter = SyncFilter(0x08);
    /// Every media type, with acquisition (`0x07`).
    pub const ALL_TYPES: SyncFilter = SyncFilter(0x07);
    /// No filter (`0xFF`), the value between sessions.
    pub const NONE: SyncFilter = SyncFilter(0xFF);

    /// Reads a setItemInfo value: decimal or `0x` hexadecimal, at most `0xFF`.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] for text that is not such a number.
    pub fn parse(value: &str) -> Result<SyncFilter> {
        let v = parse_number(value)?;
        if v > 0xFF {
            return Err(Error::InvalidArg);
        }
        Ok(SyncFilter(v))
    }

    /// True for [`SyncFilter::NONE`].
    pub fn is_none(self) -> bool {
        self == SyncFilter::NONE
    }

    /// True when items of this kind move in the session.
    pub fn includes(self, kind: MediaKind) -> bool {
        self.is_none() || self.0 & kind.bit() != 0
    }

    /// True when the session may read play counts and ratings back from the device (the
    /// write-only bit is clear).
    pub fn acquires(self) -> bool {
        self.is_none() || self.0 & SyncFilter::WRITE_ONLY.0 == 0
    }
}

impl Default for SyncFilter {
    fn default() -> Self {
        SyncFilter::NONE
    }
}

/// A setItemInfo number: decimal, or hexadecimal after `0x`.
pub(super) fn parse_number(v: &str) -> Result<u32> {
    let v = v.trim();
    match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).map_err(|_| Error::InvalidArg),
        None => v.parse().map_err(|_| Error::InvalidArg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_and_kinds() {
        assert_eq!(SyncFilter::parse("7"), Ok(SyncFilter::ALL_TYPES));
        assert_eq!(SyncFilter::parse("0xff"), Ok(SyncFilter::NONE));
        assert!(SyncFilter::parse("music").is_err());
        assert!(SyncFilter::parse("-1").is_err());
        let music = SyncFilter::MUSIC;
        assert!(music.includes(MediaKind::Music) && music.acquires());
        assert!(!music.includes(MediaKind::Picture));
        assert!(!SyncFilter(0).includes(MediaKind::Music));
        assert!(!SyncFilter(0x09).acquires());
        assert_eq!(MediaKind::of_file_name("a/b.mp3"), MediaKind::Music);
        assert_eq!(MediaKind::of_file_name("a/b.wmv"), MediaKind::Video);
        assert_eq!(MediaKind::of_file_name("b.jpg"), MediaKind::Picture);
        assert_eq!(MediaKind::of_file_name("b"), MediaKind::Music);
    }
}
