//! The engine's public inputs and outputs: what a sync needs besides the device and the
//! library, its tuning, and what it did.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::library::{Selection, TrackId};
use crate::sync::plan::PlanSettings;
use crate::sync::recover::LeftAlone;
use crate::sync::stats::{RatingConflict, StatsStore};
use crate::time::Clock;

/// What one sync did: the counts a command-line tool prints.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncSummary {
    /// Durability barriers (device flushes) the sync made: one after the journal, two per
    /// batch of copies (group commit), a few per ledger checkpoint and at the end; none for a
    /// sync that changed nothing.
    pub flushes: u64,
    /// Tracks copied new.
    pub copied: u32,
    /// Tracks replaced or given new metadata.
    pub updated: u32,
    /// Objects deleted.
    pub deleted: u32,
    /// Selected tracks left out for a reason other than space.
    pub skipped: u32,
    /// Selected tracks that did not fit (LastSyncNoFitCount).
    pub no_fit: u32,
    /// Items that failed (LastSyncErrorCount).
    pub errors: u32,
    /// Playlist files written.
    pub playlists_written: u32,
    /// Bytes copied to the device.
    pub bytes_copied: u64,
    /// Tracks of the partnership on the device afterwards (SyncItemCount).
    pub items_on_device: u32,
    /// True when the ledger on the device could not be read and was treated as empty (so
    /// nothing was deleted).
    pub ledger_unreadable: bool,
    /// True when the sync ran to the end (false after stop or disconnect).
    pub completed: bool,
    /// Ratings changed both in the library and on the device (the device's won).
    pub rating_conflicts: Vec<RatingConflict>,
    /// Tracks the user deleted from the device since the last sync: skipped files from now on
    /// ([`SyncPlan::newly_skipped`](crate::sync::SyncPlan::newly_skipped)).
    pub newly_skipped: Vec<TrackId>,
    /// Owned objects the session's SyncFilter kept as they were ([`SyncPlan::held_back`](crate::sync::SyncPlan::held_back)).
    pub held_back: u32,
    /// Files already on the device adopted instead of copied ([`SyncOp::Adopt`](crate::sync::SyncOp::Adopt)).
    pub adopted: u32,
    /// What recovery from an interrupted sync neither deleted nor adopted, because nothing
    /// proved it the sync's own (docs/sync.md, invariant J4).
    pub left_alone: Vec<LeftAlone>,
    /// The device refused a rename this session (MTP players mounted through FUSE): state
    /// files were written whole in place and copies under their final names, each announced
    /// by an intent record first (docs/sync.md, "Devices that refuse renames").
    pub renames_refused: bool,
    /// Conversions: files converted, encodes reused from the cache, time spent encoding.
    pub transcode: crate::transcode::TranscodeStats,
}

/// What a partnership's sync needs besides the device and the library.
#[derive(Clone, Copy, Debug)]
pub struct SyncContext<'a> {
    /// The library's id (the ledger's owner).
    pub library_id: &'a str,
    /// The partnership index, 1-16.
    pub index: u8,
    /// Layout and limits.
    pub settings: &'a PlanSettings,
    /// Time, for auto playlists and the stats store.
    pub clock: &'a dyn Clock,
    /// Where play counts and ratings read from the device go, when they should flow back
    /// (never when the settings' SyncFilter is write-only).
    pub stats: Option<&'a Mutex<StatsStore>>,
    /// What to sync; `None` for the playlists selected for partnership `index`
    /// ([`selection_for`](crate::library::selection_for)). See
    /// [`partnership_selection`](crate::sync::partnership_selection).
    pub selection: Option<&'a [Selection]>,
    /// The partnership's skipped files (not copied again); `None` for none.
    pub skipped: Option<&'a HashSet<TrackId>>,
    /// The device `root` belongs to, whose [`flush`](crate::manager::WmdmDevice::flush) the
    /// engine calls at its durability barriers (docs/sync.md, "Durability barriers"). `None`
    /// only for a device whose every completed operation is durable when it returns: a device
    /// that defers its syncs (the folder provider with `Durability::AtFlush`) needs it.
    pub device: Option<&'a crate::manager::WmdmDevice>,
}

/// Engine tuning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncOptions {
    /// Rewrite the ledger after at least this many finished steps (and at least as many as the
    /// ledger has entries, so checkpoints cost O(n) overall).
    pub checkpoint_every: usize,
    /// Commit a batch of copies (group commit, J4) after at most this many files ...
    pub batch_files: usize,
    /// ... or this many bytes, whichever comes first. Each batch costs two flushes (its
    /// temporary files, then its commit record), so small files go in large batches.
    pub batch_bytes: u64,
    /// What converts tracks the plan converts ([`SyncOp::Copy`](crate::sync::SyncOp::Copy)'s
    /// `convert`); without it each such copy is an item error.
    pub transcoding: Option<crate::transcode::Transcoding>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            checkpoint_every: 64,
            batch_files: 1024,
            batch_bytes: 64 << 20,
            transcoding: None,
        }
    }
}
