//! The planner's inputs and outputs: device contents, settings, the plan, its steps, totals and
//! reasons. The planner itself is in `plan`.

use std::collections::{HashMap, HashSet};

use super::filter::{MediaKind, SyncFilter};
use super::journal::{Ledger, OwnedKind};
use super::names::NameRule;
pub use super::playlist_bytes::PlaylistBytes;
use crate::library::{ContentHash, Library, PathTemplate, PlaylistId, Selection, TrackId};
use crate::metadata::FormatCode;
use crate::transcode::{ConvertReason, ConvertSettings, DeviceCaps, NoConvertReason, Target};

/// One file on the device, as the planner sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceFile {
    /// Size in bytes.
    pub size: u64,
    /// Persistent unique ID (empty when the device has none).
    pub unique_id: String,
    /// Last-modified time in nanoseconds since the Unix epoch, as precise as the device keeps
    /// it (whole seconds where it keeps nothing finer; 0 when it gave none). With the size, the
    /// change marker that lets stats flow-back skip unchanged objects.
    pub modified_ns: i64,
}

/// The device's files (every path from the storage root, except sync's own state folder) and
/// its space.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceContents {
    /// Files by `/`-separated path.
    pub files: HashMap<String, DeviceFile>,
    /// Total bytes of the storage.
    pub capacity: u64,
    /// Free bytes now.
    pub free: u64,
    /// Bytes of sync's own state folder (counted in the state room, not as others' data).
    pub state_bytes: u64,
}

pub use crate::playlist_file::PlaylistFormat;

/// The default path template: `{albumartist}/{album}/{track:02} {title}.{ext}`.
pub const DEFAULT_TEMPLATE: &str = "{albumartist}/{album}/{track:02} {title}.{ext}";

/// Bytes of the budget kept for sync's own state files, plus [`STATE_ROOM_PER_ITEM`] for each
/// selected track and playlist.
pub const STATE_ROOM_BASE: u64 = 4096;

/// Bytes of state room per selected track or playlist (or per entry of the ledger the plan
/// leaves, when that is larger): a ledger line twice (the old and the new ledger exist for a moment), a journal
/// line, a commit record line, and a playlist entry, each with a path of about 100 bytes
/// (docs/sync.md, invariant J2).
pub const STATE_ROOM_PER_ITEM: u64 = 1536;

/// How a partnership lays files out on its device.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanSettings {
    /// Where a new track goes, below `music_folder`.
    pub template: PathTemplate,
    /// The folder tracks go in (`""` for the root).
    pub music_folder: String,
    /// The folder playlists go in.
    pub playlist_folder: String,
    /// The playlist file format.
    pub playlist_format: PlaylistFormat,
    /// The separator written in playlist entries.
    pub playlist_separator: char,
    /// The name rules the plan spells names under. A session plans under the strictest of
    /// this and the device's own rule (see [`PlanSettings::apply_device_names`]).
    pub names: NameRule,
    /// The longest path component the device takes, in UTF-8 bytes (at most and by default
    /// [`MAX_COMPONENT`](crate::provider::names::MAX_COMPONENT)). A planned file's name leaves
    /// room for the temporary suffix it is first written under.
    pub name_max: usize,
    /// The formats the device plays; `None` takes everything.
    pub formats: Option<Vec<FormatCode>>,
    /// PercentSpaceReserved, 0-95 (larger values are taken as 95).
    pub reserve_percent: u8,
    /// True when the device stores metadata (IWMDMStorage3::SetMetadata): a tag edit is then a
    /// metadata update. Without it tag edits leave the device object alone.
    pub supports_metadata: bool,
    /// Read play counts and ratings back from the device before each sync (one metadata read
    /// per owned track; on a folder device that reads each file's tags). Not a planning input.
    pub collect_stats: bool,
    /// SyncFilter for this session: items of an excluded media type are neither copied nor
    /// deleted; without the write-only bit's acquisition, stats do not flow back.
    pub filter: SyncFilter,
    /// Convert tracks the device cannot play as they are ("Convert files as required by this
    /// device"); `None` (the default) never converts: such tracks are left out as
    /// [`LeftOutReason::FormatNotSupported`].
    pub convert: Option<ConvertSettings>,
    /// The device's limits for conversions (highest bitrate, sample rates, channels), from
    /// IMDSPDevice3::GetFormatCapability ([`PlanSettings::apply_device_caps`]); its `formats`
    /// are used when [`formats`](Self::formats) is `None`.
    pub device_caps: DeviceCaps,
}

impl Default for PlanSettings {
    fn default() -> Self {
        PlanSettings {
            template: PathTemplate::parse(DEFAULT_TEMPLATE)
                .expect("the default template is a valid constant"),
            music_folder: "Music".into(),
            playlist_folder: "Playlists".into(),
            playlist_format: PlaylistFormat::M3u8,
            playlist_separator: '/',
            names: NameRule::Fat,
            name_max: crate::provider::names::MAX_COMPONENT,
            formats: None,
            reserve_percent: 0,
            supports_metadata: true,
            collect_stats: true,
            filter: SyncFilter::NONE,
            convert: None,
            device_caps: DeviceCaps::default(),
        }
    }
}

/// Why an object is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum DeleteReason {
    /// Its track or playlist is no longer selected (or no longer in the library).
    Unselected,
    /// Still selected, but higher-priority items need the space.
    Evicted,
}

/// Why a selected track is not on the device after the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum LeftOutReason {
    /// It did not fit at its priority.
    NoFit {
        /// The priority it was selected at.
        priority: u32,
        /// Its size.
        needed: u64,
        /// Budget bytes left when it came up.
        available: u64,
    },
    /// The device does not play its format.
    FormatNotSupported,
    /// The library has no such track, or its file cannot be read.
    SourceMissing,
    /// This session's SyncFilter excludes its media type.
    Filtered {
        /// The track's media type.
        kind: MediaKind,
    },
    /// A skipped file (WMP 12): this partnership copied it before and the user deleted it
    /// from the device, so it is not copied again until IncludeSkippedFiles.
    Skipped,
    /// The device does not play it as it is, and it cannot be converted.
    CannotConvert {
        /// Why it needed converting.
        needed: ConvertReason,
        /// Why it cannot be.
        reason: NoConvertReason,
    },
}

/// A conversion planned for a copy: what is written and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Conversion {
    /// Codec, bitrate, sample rate, channels.
    pub target: Target,
    /// Why the track is converted.
    pub reason: ConvertReason,
}

/// A change to an owned object that the plan holds back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum HeldChange {
    /// Replacing it with the track's new bytes.
    Replace,
    /// Writing the track's new tags.
    UpdateMetadata,
    /// Deleting it (unselected or evicted).
    Delete,
}

/// Why a change to an owned object is held back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum HoldReason {
    /// This session's SyncFilter excludes the object's media type.
    Filtered {
        /// The object's media type.
        kind: MediaKind,
    },
}

/// An owned object that stays as it is although the plan would otherwise change it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct HeldBack {
    /// The object's path on the device.
    pub path: String,
    /// The track it holds (by the ledger).
    #[cfg_attr(feature = "serde", serde(serialize_with = "super::serde_impl::track"))]
    pub track: TrackId,
    /// The change held back.
    pub change: HeldChange,
    /// Why.
    pub reason: HoldReason,
}

/// A selected track left out, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct LeftOut {
    /// The track.
    #[cfg_attr(feature = "serde", serde(serialize_with = "super::serde_impl::track"))]
    pub track: TrackId,
    /// The first playlist that selected it.
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "super::serde_impl::playlist")
    )]
    pub playlist: PlaylistId,
    /// Why.
    pub reason: LeftOutReason,
}

/// One step of a plan.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum SyncOp {
    /// Drop a ledger entry that no longer matches the device (the user deleted or replaced the
    /// object); nothing on the device changes.
    Forget {
        /// The entry's path.
        path: String,
    },
    /// The track's file moved in the library (new id, same bytes): re-key the owned object.
    Rekey {
        /// The object's path.
        path: String,
        /// The track's new id.
        #[cfg_attr(feature = "serde", serde(serialize_with = "super::serde_impl::track"))]
        track: TrackId,
        /// The library file's size.
        source_size: u64,
        /// The library file's modification time, in ns since the epoch.
        source_mtime: u64,
    },
    /// Take a file already on the device, byte-identical to the track and at the path the
    /// track would be copied to, into the ledger instead of copying a duplicate beside it
    /// (another library's file after a takeover, or one copied by hand). Nothing on the device
    /// changes.
    Adopt {
        /// The track.
        #[cfg_attr(feature = "serde", serde(serialize_with = "super::serde_impl::track"))]
        track: TrackId,
        /// The object's path.
        path: String,
        /// The object's size.
        size: u64,
        /// The object's unique ID (empty when the device gives none).
        unique_id: String,
        /// The track's content hash (the object's, as proven).
        #[cfg_attr(feature = "serde", serde(serialize_with = "super::serde_impl::hash"))]
        hash: ContentHash,
        /// The metadata hash of the tags the object carries, when known.
        meta: u64,
        /// The library file's size.
        source_size: u64,
        /// The library file's modification time, in ns since the epoch.
        source_mtime: u64,
    },
    /// Write the track's tags as device metadata (a tag edit).
    UpdateMetadata {
        /// The track.
        #[cfg_attr(feature = "serde", serde(serialize_with = "super::serde_impl::track"))]
        track: TrackId,
        /// The object's path.
        path: String,
        /// The new metadata hash.
        meta: u64,
    },
    /// Delete an owned object.
    Delete {
        /// Its path.
        path: String,
        /// Track or playlist.
        kind: OwnedKind,
        /// Its size.
        size: u64,
        /// Why.
        reason: DeleteReason,
    },
    /// Copy a track (or replace the owned object at `path` when `replaces` is set).
    Copy {
        /// The track.
        #[cfg_attr(feature = "serde", serde(serialize_with = "super::serde_impl::track"))]
        track: TrackId,
        /// Where it goes.
        path: String,
        /// Bytes.
        size: u64,
        /// The bytes' SHA-1, when known at planning time (the copy is then checked against
        /// it); `None` for a track new to the device whose hash the library did not know: the
        /// copy computes it while it reads the file, so each source is read once.
        #[cfg_attr(
            feature = "serde",
            serde(serialize_with = "super::serde_impl::opt_hash")
        )]
        hash: Option<ContentHash>,
        /// The metadata hash.
        meta: u64,
        /// The library file's modification time, in ns since the epoch.
        source_mtime: u64,
        /// The priority it was admitted at.
        priority: u32,
        /// The unique ID of the owned object this replaces.
        replaces: Option<String>,
        /// `Some` when the track is converted on the way (`size` is then the estimated
        /// encoded size, `hash` the library file's); `None` for a copy of the file as it is.
        convert: Option<Conversion>,
    },
    /// Write a playlist file.
    WritePlaylist {
        /// The playlist.
        #[cfg_attr(
            feature = "serde",
            serde(serialize_with = "super::serde_impl::playlist")
        )]
        playlist: PlaylistId,
        /// Its name.
        name: String,
        /// Where the file goes.
        path: String,
        /// The hash of what the file is made of (entries, titles, format), kept in the ledger.
        meta: u64,
        /// The file's bytes (their `Debug` shows the length and a short hash, not the bytes).
        content: PlaylistBytes,
        /// The unique ID of the owned file this replaces.
        replaces: Option<String>,
        /// The tracks it lists, in order (their device paths are in [`SyncPlan::placed`]):
        /// the engine writes the file again without any whose copy failed in the same run, so
        /// a playlist on the device never lists a track that is not there.
        #[cfg_attr(feature = "serde", serde(serialize_with = "super::serde_impl::tracks"))]
        tracks: Vec<TrackId>,
    },
}

impl SyncOp {
    /// Bytes this step writes to the device.
    pub fn bytes(&self) -> u64 {
        match self {
            SyncOp::Copy { size, .. } => *size,
            SyncOp::WritePlaylist { content, .. } => content.len() as u64,
            _ => 0,
        }
    }
}

/// A plan's totals: what estimateSyncSize reports, and more.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PlanTotals {
    /// Bytes to copy (tracks and playlists).
    pub bytes_to_copy: u64,
    /// Bytes freed by deletes.
    pub bytes_to_delete: u64,
    /// Bytes the partnership will own on the device afterwards.
    pub bytes_owned_after: u64,
    /// Bytes the partnership may use (capacity after the reserve, minus what others use).
    pub budget: u64,
    /// Tracks copied new.
    pub copies: usize,
    /// Copies (new or replacing) that convert the track ([`SyncOp::Copy::convert`]).
    pub conversions: usize,
    /// Tracks replaced.
    pub replaces: usize,
    /// Metadata updates.
    pub metadata_updates: usize,
    /// Files on the device adopted instead of copied ([`SyncOp::Adopt`]).
    pub adoptions: usize,
    /// Deletes.
    pub deletes: usize,
    /// Playlist files written.
    pub playlists: usize,
    /// Selected tracks that did not fit.
    pub no_fit: usize,
    /// Tracks that will be on the device.
    pub tracks_on_device: usize,
}

/// The plan: ordered steps, totals, and a reason for every selected track left out. With the
/// `serde` feature it serialises (ids as numbers, hashes as hex).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SyncPlan {
    /// The steps, in order: forget and re-key, metadata, deletes, copies by priority,
    /// playlists.
    pub ops: Vec<SyncOp>,
    /// Totals.
    pub totals: PlanTotals,
    /// Selected tracks left out.
    pub left_out: Vec<LeftOut>,
    /// Where each admitted track is (or will be) on the device.
    #[cfg_attr(feature = "serde", serde(serialize_with = "super::serde_impl::placed"))]
    pub placed: HashMap<TrackId, String>,
    /// Owned objects the SyncFilter keeps as they are, with the change held back.
    pub held_back: Vec<HeldBack>,
    /// Tracks this partnership had copied that are gone from the device (the user deleted
    /// them): the caller remembers them as skipped files. Sorted.
    #[cfg_attr(feature = "serde", serde(serialize_with = "super::serde_impl::tracks"))]
    pub newly_skipped: Vec<TrackId>,
    /// New copies whose path was taken by a file the partnership does not own, with that
    /// path: the files to check for byte identity ([`PlanInput::adoptable`]).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub collisions: Vec<(TrackId, String)>,
    /// How the plan spells its playlist files (`None` when it writes none): what the engine
    /// needs to write one again without a track whose copy failed.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub playlist_layout: Option<PlaylistLayout>,
}

/// How a plan's playlist files are written: their format, and how they spell the paths of
/// their entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlaylistLayout {
    /// M3U8 or WPL.
    pub format: PlaylistFormat,
    /// Entries relative to the playlist folder, with the partnership's separator.
    pub style: crate::library::PathStyle,
}

impl PlaylistLayout {
    /// A playlist file named `name` listing `entries`, in this layout.
    ///
    /// # Errors
    /// The writers' errors (an entry path that cannot be spelled in a playlist file).
    pub fn render(
        &self,
        name: &str,
        entries: &[crate::library::WriteEntry<'_>],
    ) -> crate::Result<Vec<u8>> {
        let text = match self.format {
            PlaylistFormat::M3u8 => crate::library::write_m3u(Some(name), entries, &self.style),
            PlaylistFormat::Wpl => crate::library::write_wpl(name, entries, &self.style),
        };
        text.map(String::into_bytes)
    }
}

impl SyncPlan {
    /// True when applying the plan changes nothing on the device.
    pub fn is_noop(&self) -> bool {
        self.ops.is_empty()
    }

    /// The conversion counts known before the sync runs: the tracks left out for want of an
    /// encoder.
    pub fn transcode_stats(&self) -> crate::transcode::TranscodeStats {
        let missing = self
            .left_out
            .iter()
            .filter(|l| {
                matches!(
                    l.reason,
                    LeftOutReason::CannotConvert {
                        reason: crate::transcode::NoConvertReason::EncoderMissing(_),
                        ..
                    }
                )
            })
            .count();
        crate::transcode::TranscodeStats {
            missing_encoder: u32::try_from(missing).unwrap_or(u32::MAX),
            ..Default::default()
        }
    }
}

/// What the planner reads.
#[derive(Clone, Copy, Debug)]
pub struct PlanInput<'a> {
    /// The library (tracks and playlist names).
    pub library: &'a dyn Library,
    /// The partnership's playlists in sync order, resolved ([`selection_for`]).
    ///
    /// [`selection_for`]: crate::library::selection_for
    pub selection: &'a [Selection],
    /// The content hashes the planner compares: every selected track the partnership owns
    /// (one without a hash is left out as [`LeftOutReason::SourceMissing`]) and any other whose
    /// hash is known. A track new to the device without one is copied with its hash unknown
    /// (`SyncOp::Copy::hash` is `None`); it is then neither re-keyed nor adopted.
    pub hashes: &'a HashMap<TrackId, ContentHash>,
    /// The device now.
    pub device: &'a DeviceContents,
    /// What the partnership owns.
    pub ledger: &'a Ledger,
    /// Layout and limits.
    pub settings: &'a PlanSettings,
    /// The partnership's skipped files: selected tracks here are left out as
    /// [`LeftOutReason::Skipped`] unless they are on the device.
    pub skipped: &'a HashSet<TrackId>,
    /// Files on the device proven byte-identical to a track, by path: a new copy of that
    /// track to that path becomes a [`SyncOp::Adopt`]. `None` for none.
    pub adoptable: Option<&'a HashMap<String, Adoptable>>,
}

/// A file on the device proven byte-identical to a track (another library's ledger vouches for
/// it, or its SHA-1 read through the manager is the track's hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Adoptable {
    /// The track.
    pub track: TrackId,
    /// The track's hash.
    pub hash: ContentHash,
    /// The object's size.
    pub size: u64,
    /// The object's unique ID.
    pub unique_id: String,
    /// The metadata hash of the tags the object carries, when known (from the other
    /// library's ledger); the plan retags it otherwise.
    pub meta: Option<u64>,
}

impl PlanSettings {
    /// Takes the device's limits for conversions: its formats (`WMDM/FormatsSupported`) and,
    /// for each audio format it plays, IMDSPDevice3::GetFormatCapability's bitrates, sample
    /// rates and channels ([`DeviceCaps::from_capability`]; the strictest over its formats).
    /// A device that answers neither leaves the limits as they are.
    pub fn apply_device_caps(&mut self, device: &crate::manager::WmdmDevice) {
        use crate::metadata::{PropValue, device as props};
        let formats: Vec<FormatCode> = match device.property(props::FORMATS_SUPPORTED) {
            Ok(PropValue::U32Array(codes)) => codes.into_iter().map(FormatCode).collect(),
            _ => self.device_caps.formats.clone(),
        };
        let mut caps = DeviceCaps {
            formats,
            ..self.device_caps.clone()
        };
        for f in caps.formats.clone() {
            if let Ok(c) = device.format_capability(f) {
                caps = caps.from_capability(&c);
            }
        }
        self.device_caps = caps;
    }
}
