//! Playlist files: M3U/M3U8 and WPL, read tolerantly and written with paths relative to the
//! playlist's own folder.
//!
//! They sit low in the crate (beside `metadata`), because two layers need them: the folder
//! provider keeps the playlists on a device valid across moves and deletes, and the library
//! reads the playlists in a music folder. [`crate::library`] re-exports the readers and
//! writers.
//!
//! * [`read_m3u`], [`write_m3u`], [`read_wpl`], [`write_wpl`]: the codecs;
//! * [`PlaylistFile`], [`PlaylistEntry`], [`WriteEntry`], [`PathStyle`]: what they read and
//!   write;
//! * [`PlaylistFormat`]: which of the two a device gets.

mod file;
mod m3u;
pub(crate) mod paths;
mod wpl;

pub use file::{
    PathStyle, PlaylistEntry, PlaylistFile, PlaylistParseError, SkippedEntry, WriteEntry,
};
pub use m3u::{MAX_LINE_BYTES, read_m3u, write_m3u};
pub use wpl::{read_wpl, write_wpl};

/// The playlist file format written on a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum PlaylistFormat {
    /// UTF-8 M3U (`.m3u8`), the default.
    #[default]
    M3u8,
    /// Windows Media Player's WPL (`.wpl`), for devices whose profile asks for it.
    Wpl,
}

impl PlaylistFormat {
    /// The file name extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            PlaylistFormat::M3u8 => "m3u8",
            PlaylistFormat::Wpl => "wpl",
        }
    }
}
