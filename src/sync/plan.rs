//! The planner: a pure, deterministic function from (library, selection, device contents,
//! ledger, settings) to a [`SyncPlan`].
//!
//! Rules (docs/sync.md has the reasoning):
//!
//! * **Identity** is the library's [`TrackId`] plus the [`ContentHash`] of the bytes. An owned
//!   object whose track still has the same hash stays where it is; when only the tags changed
//!   (the metadata hash differs) the plan updates the device's metadata, never re-copies. When
//!   the bytes changed the object is replaced. A track whose id is gone but whose hash matches
//!   an owned object (the file moved in the library) is re-keyed, not re-copied.
//! * **Priorities**: the selection is walked in sync order (lower priority numbers first, then
//!   playlist order); each track takes the priority of its first playlist. Tracks are admitted
//!   while they fit in the budget; one that does not fit is left out with
//!   [`LeftOutReason::NoFit`] and smaller later ones may still fit.
//! * **Budget**: capacity times `(100 - PercentSpaceReserved) / 100`, minus what the partnership
//!   does not own (user files, other data).
//! * **Stability**: a file already on the device that is still selected and unchanged is
//!   kept while the admitted total stays within the budget plus 1% (free space drifts down as
//!   file-system and provider bookkeeping grow); new copies must fit the budget itself.
//! * **Eviction and ownership**: an owned object that is not admitted is deleted
//!   (`Unselected` or `Evicted`). Only ledger entries that still match the device (same path,
//!   size and unique ID) can be deleted; anything else is the user's and is never touched.
//! * **SyncFilter**: owned objects of a media type the session's filter excludes stay as they
//!   are (their changes are [`SyncPlan::held_back`]) and keep their space; selected tracks of
//!   such a type are not copied ([`LeftOutReason::Filtered`]).
//! * **Skipped files**: an owned track whose object is gone from the device was deleted by the
//!   user; it is reported in [`SyncPlan::newly_skipped`] and, like every track in
//!   [`PlanInput::skipped`], not copied again ([`LeftOutReason::Skipped`]).

use super::journal::LedgerEntry;
use super::plan_names::FastMap;
use crate::library::{ContentHash, Library, Track, TrackId};
use crate::metadata::{FormatCode, Metadata, tags};
use crate::transcode::{Codec, ConvertSettings, DeviceCaps, converted_identity};

pub use super::plan_types::*;

#[path = "plan_phases.rs"]
mod phases;

/// A kept file may overrun the budget by `budget / KEEP_TOLERANCE_DIVISOR` (1%).
const KEEP_TOLERANCE_DIVISOR: u64 = 100;

/// The hash of the tags sync writes as device metadata.
pub fn metadata_hash(t: &Track) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |s: &str| {
        for b in s.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    feed(&t.title);
    feed(&t.artist);
    feed(&t.album);
    feed(&t.album_artist);
    feed(&t.genre);
    for n in [t.track_number, t.disc, t.year] {
        let v = n.map_or(u64::MAX, u64::from);
        h = (h ^ v).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The device metadata for a track (the round-trip set of Microsoft's reference: <https://learn.microsoft.com/en-us/windows/win32/wmdm/enabling-synchronization-with-windows-media-player>).
pub fn device_metadata(t: &Track) -> Metadata {
    let mut m = Metadata::new();
    m.add(tags::TITLE, t.title.as_str());
    m.add(tags::AUTHOR, t.artist.as_str());
    m.add(tags::ALBUM_TITLE, t.album.as_str());
    m.add(tags::ALBUM_ARTIST, t.album_artist.as_str());
    m.add(tags::GENRE, t.genre.as_str());
    if let Some(n) = t.track_number {
        m.add(tags::TRACK, n);
    }
    m.add(
        tags::YEAR,
        t.year.map(|y| y.to_string()).unwrap_or_default(),
    );
    m
}

/// A library file's modification time in ns since the epoch (0 before it).
pub fn mtime_ns(t: &Track) -> u64 {
    t.modified
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Plans a sync. Pure and deterministic: the same input gives the same plan.
///
/// In phases, each a method of the planner (`plan_phases.rs`): what the partnership owns (and what the user
/// deleted), the budget, one decision per selected track in sync order, eviction of owned
/// tracks not admitted, the playlists, then the order of the operations.
pub fn plan(input: &PlanInput<'_>) -> SyncPlan {
    let _span = tracing::debug_span!("plan").entered();
    let mut p = phases::Planner::new(input);
    p.pin_filtered();
    for sel in input.selection {
        for &id in &sel.tracks {
            if p.seen.insert(id) {
                let decision = p.decide(sel, id);
                p.apply(sel, id, decision);
            }
        }
    }
    p.evict();
    p.playlists();
    p.finish()
}

/// What the conversion decision sees, worked out once per plan.
struct ConvertView<'l> {
    /// The device: its formats are the settings' when they name them, all formats when
    /// nothing names them.
    caps: DeviceCaps,
    /// The settings without the encoders' availability: an owned conversion that is up to
    /// date needs no encoder.
    any: ConvertSettings,
    /// The encoders this host has (`None`: any).
    available: Option<&'l [Codec]>,
    /// Whether a path's extension is the track's own (`{ext}` at the end of the template, as
    /// in the default): then an owned file's extension is checked without rendering its path.
    ext_from_track: bool,
}

impl<'l> ConvertView<'l> {
    /// `None` when the settings do not convert.
    fn new(s: &'l PlanSettings) -> Option<ConvertView<'l>> {
        let cs = s.convert.as_ref()?;
        let mut caps = s.device_caps.clone();
        if let Some(f) = &s.formats {
            caps.formats.clone_from(f);
        } else if caps.formats.is_empty() {
            caps.formats = FormatCode::ALL.to_vec();
        }
        let any = ConvertSettings {
            available: None,
            ..cs.clone()
        };
        let probe = Track::new(TrackId(0), "x.wmdmprobe");
        Some(ConvertView {
            caps,
            any,
            available: cs.available.as_deref(),
            ext_from_track: s.template.render(&probe).ends_with(".wmdmprobe"),
        })
    }
}

/// What the ledger records for a track's file on the device: the library file's hash for a
/// copy, that hash bound to the target for a conversion (so a changed profile converts again,
/// and an unchanged one is up to date).
fn identity(hash: Option<ContentHash>, conversion: Option<Conversion>) -> Option<ContentHash> {
    match conversion {
        Some(c) => hash.map(|h| converted_identity(h, &c.target)),
        None => hash,
    }
}

/// `track` as if its file had extension `ext`: what a converted copy is named by.
fn with_extension(track: &Track, ext: &str) -> Track {
    let mut t = track.clone();
    let (dir, name) = match t.relative_path.rsplit_once('/') {
        Some((d, n)) => (format!("{d}/"), n),
        None => (String::new(), t.relative_path.as_str()),
    };
    let stem = match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => name,
    };
    t.relative_path = format!("{dir}{stem}.{ext}");
    t.format = FormatCode::from_extension(ext);
    t
}

/// The lower-case extension of a device path (empty when none).
fn extension_of(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => String::new(),
    }
}

fn find_orphans<'a>(
    library: &dyn Library,
    owned: &FastMap<TrackId, &'a LedgerEntry>,
) -> FastMap<[u8; 20], Vec<&'a LedgerEntry>> {
    let mut m: FastMap<[u8; 20], Vec<&'a LedgerEntry>> = FastMap::default();
    for (id, e) in owned {
        if library.track(*id).is_none() {
            m.entry(e.hash).or_default().push(*e);
        }
    }
    for v in m.values_mut() {
        v.sort_by(|a, b| a.path.cmp(&b.path));
    }
    m
}

fn op_path(op: &SyncOp) -> &str {
    match op {
        SyncOp::Forget { path }
        | SyncOp::Adopt { path, .. }
        | SyncOp::Rekey { path, .. }
        | SyncOp::UpdateMetadata { path, .. }
        | SyncOp::Delete { path, .. }
        | SyncOp::Copy { path, .. }
        | SyncOp::WritePlaylist { path, .. } => path,
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
pub(crate) mod tests;

#[cfg(test)]
#[path = "plan_convert_tests.rs"]
mod convert_tests;
