//! The media library: tracks with real tags, playlists, auto playlists and playlist files.
//!
//! Sync copies a selection of a user's library to a device; this module is the library side.
//! It is read-only: nothing here writes to the user's music folder (the folder library keeps
//! its scan cache under a separate state folder the caller names).
//!
//! * [`Track`], [`TrackId`], [`Rating`], [`ContentHash`]: one audio file and what is known
//!   about it;
//! * [`Library`]: what sync reads; [`MemoryLibrary`] for tests, [`FolderLibrary`] for a real
//!   music folder scanned incrementally with real tag reading;
//! * [`Playlist`], [`SyncSettings`] (WMP's `Sync01`..`Sync16`, `SyncOnly`), [`selected_for`],
//!   [`selection_for`] (a partnership's playlists in sync order, resolved now);
//! * [`Rule`], [`AutoPlaylist`], [`parse_rule`], [`parse_auto_playlist`]: auto playlists as a
//!   typed tree and as text;
//! * [`PathTemplate`]: `{albumartist}/{album}/{track:02} {title}.{ext}` filled from a track;
//! * [`read_m3u`], [`write_m3u`], [`read_wpl`], [`write_wpl`]: playlist files.
//!
//! ```
//! use wmdm::library::{Library, MemoryLibrary, Playlist, AutoPlaylist, Track, TrackId, parse_rule};
//! use wmdm::time::ManualClock;
//!
//! let mut lib = MemoryLibrary::new();
//! let mut t = Track::new(TrackId(1), "Jazz/So What.mp3");
//! t.genre = "Jazz".into();
//! lib.add_track(t, b"audio".to_vec());
//! let mut jazz = Playlist::new_auto("Jazz", AutoPlaylist::new(parse_rule("genre = jazz").unwrap()));
//! jazz.sync.set_priority(1, 1).unwrap();
//! lib.add_playlist(jazz);
//! let p = &lib.playlists()[0];
//! assert_eq!(p.resolve(&lib, &ManualClock::default()), [TrackId(1)]);
//! ```

pub(crate) mod asf;
pub(crate) mod cache;
mod folder;
mod hashing;
mod lex;
mod memory;
mod parse;
mod playlist;
mod rule;
mod rule_text;
mod source;
pub(crate) mod state;
mod tags;
mod template;
mod track;
mod walk;

use std::fmt;
use std::io::Read;

pub use cache::CACHE_FILE_NAME;
pub use folder::{FolderLibrary, ScanOptions, ScanProblem, ScanReport};
pub use hashing::{CopySource, HashingReader};
pub use memory::MemoryLibrary;
pub use parse::{RuleParseError, parse_auto_playlist, parse_rule};
pub use playlist::{
    Playlist, PlaylistId, PlaylistKind, Selection, SyncSettings, selected_for, selection_for,
};
// Playlist files live below the providers (the folder provider keeps them valid); the library
// reads them too.
pub use crate::playlist_file::{
    MAX_LINE_BYTES, PathStyle, PlaylistEntry, PlaylistFile, PlaylistParseError, SkippedEntry,
    WriteEntry, read_m3u, read_wpl, write_m3u, write_wpl,
};
pub use rule::{
    AutoPlaylist, DateField, DateTest, Field, Limits, NumberField, NumberTest, Rule, SortKey,
    TextField, TextTest,
};
pub use state::PLAYLIST_STATE_FILE_NAME;
pub use template::{PathTemplate, TemplateError};
pub use track::{ContentHash, Rating, Track, TrackId};

/// A library as sync sees it: tracks, playlists, and each track's bytes.
///
/// Implementations never modify the user's files.
pub trait Library: Send + Sync + fmt::Debug {
    /// Every track, in the library's order (a folder library orders by relative path).
    fn tracks(&self) -> &[Track];

    /// The track with this id.
    fn track(&self, id: TrackId) -> Option<&Track>;

    /// Every playlist.
    fn playlists(&self) -> &[Playlist];

    /// The playlist with this id.
    fn playlist(&self, id: PlaylistId) -> Option<&Playlist> {
        self.playlists().iter().find(|p| p.id == id)
    }

    /// The SHA-1 of the track's current bytes, computed on demand (implementations may cache
    /// it while the file's size and modification time stay the same).
    ///
    /// # Errors
    /// [`Error::FileNotFound`](crate::Error::FileNotFound) for an unknown id or a file that is
    /// gone; an I/O error while reading.
    fn content_hash(&self, id: TrackId) -> crate::Result<ContentHash>;

    /// Opens the track's bytes for reading (to copy it to a device).
    ///
    /// # Errors
    /// [`Error::FileNotFound`](crate::Error::FileNotFound) for an unknown id or a file that is
    /// gone; another I/O error when the file cannot be opened.
    fn open(&self, id: TrackId) -> crate::Result<Box<dyn Read + Send + '_>>;

    /// Opens the track's bytes for a copy, hashed as they are read, so that a copy learns the
    /// track's content hash without a second read of the file: read it to the end, then call
    /// [`finish_hashing`](Self::finish_hashing). The default wraps [`open`](Self::open).
    ///
    /// # Errors
    /// As [`open`](Self::open); a library that knows the file's size and date may also fail
    /// with [`Error::ProcessFailed`](crate::Error::ProcessFailed) when the file changed since
    /// it was scanned.
    fn open_hashing(&self, id: TrackId) -> crate::Result<HashingReader<'_>> {
        Ok(HashingReader::new(self.open(id)?))
    }

    /// Ends a read begun with [`open_hashing`](Self::open_hashing): the content hash of the
    /// whole track, which the library may remember (as [`content_hash`](Self::content_hash)
    /// remembers what it computes) so that [`known_hash`](Self::known_hash) has it.
    ///
    /// # Errors
    /// [`Error::ProcessFailed`](crate::Error::ProcessFailed) when the reader was not read to
    /// the end or the file changed while it was read; an I/O error.
    fn finish_hashing(&self, id: TrackId, reader: HashingReader<'_>) -> crate::Result<ContentHash> {
        let _ = id;
        reader.finish().map(|(hash, _)| hash)
    }

    /// The track as a host file a copy may open on another thread, ahead of its turn
    /// ([`CopySource::open`], which checks what [`open_hashing`](Self::open_hashing) checks);
    /// the copy ends with [`finish_hashing`](Self::finish_hashing) as usual. `None` (the
    /// default) where the track's bytes are reached only through the library: its copy then
    /// opens it when its turn comes.
    fn copy_source(&self, id: TrackId) -> Option<CopySource> {
        let _ = id;
        None
    }

    /// The track's content hash when it is known without reading the file (remembered from
    /// an earlier read, and the file still has the size and date it had then); `None`
    /// otherwise. Nothing is read: a planner can ask it for every track and hash only those
    /// it must compare, leaving the others to be hashed by their copy.
    fn known_hash(&self, id: TrackId) -> Option<ContentHash> {
        let _ = id;
        None
    }

    /// Sets every playlist's priority for partnership `index` (1-16) to 0 (WMP's `SyncNN`),
    /// as WMP does when that partnership is deleted or released, so the next device given
    /// the slot does not inherit these playlists. Sync calls it; nothing else changes.
    ///
    /// # Errors
    /// [`Error::NotSupported`](crate::Error::NotSupported) from a library whose playlists
    /// cannot be changed (the default); an I/O error when the change cannot be saved.
    fn clear_sync_slot(&mut self, index: u8) -> crate::Result<()> {
        let _ = index;
        Err(crate::Error::NotSupported)
    }
}
