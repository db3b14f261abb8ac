//! A run's state: what it starts from, what it knows while it runs, and the files waiting
//! for their batch's commit.

use std::collections::{HashSet, VecDeque};

use super::request::ObjectId;
use crate::error::Error;
use crate::library::{ContentHash, TrackId};
use crate::maps::FastMap;
use crate::sync::engine::SyncSummary;
use crate::sync::event::{SyncEvent, SyncItem};
use crate::sync::intent::IntentRecord;
use crate::sync::journal::{Journal, Ledger};
use crate::sync::plan::{SyncOp, SyncPlan};
use crate::sync::recover::LeftAlone;
use crate::sync::stats::RatingConflict;

/// How a step ended the run (set by the step's work, acted on when it is done).
#[derive(Clone, Debug)]
pub(super) enum End {
    /// The plan is applied: finish.
    Complete,
    /// Stopped: finish, not completed.
    Stop,
    /// The device went away: end at once, the journal stays for the next start.
    Abandon,
    /// A durability barrier failed: report it, then as [`End::Abandon`].
    Halt(Error),
}

/// What a run starts from: the prepared plan and ledger (recovery, the listing, statistics
/// and planning happened before).
pub(crate) struct Start {
    /// The library's id (the ledger's owner).
    pub(crate) library_id: String,
    /// The partnership index.
    pub(crate) index: u8,
    /// This session's id (every temporary name carries it, J3).
    pub(crate) session: u64,
    /// The plan.
    pub(crate) plan: SyncPlan,
    /// The ledger after recovery (and statistics).
    pub(crate) ledger: Ledger,
    /// The ledger as read, so a sync that changed nothing writes nothing.
    pub(crate) initial: Ledger,
    /// The ledger on the device could not be read.
    pub(crate) ledger_unreadable: bool,
    /// Ratings changed on both sides.
    pub(crate) rating_conflicts: Vec<RatingConflict>,
    /// What recovery left alone.
    pub(crate) left_alone: Vec<LeftAlone>,
    /// Recovery found the device refusing renames.
    pub(crate) renames_refused: bool,
}

/// A temporary file written and closed, waiting for its batch's commit record.
pub(super) struct Pending {
    pub(super) op: SyncOp,
    pub(super) temp: String,
    // Written in place under its final name (a device that refuses renames).
    pub(super) direct: bool,
    pub(super) object: ObjectId,
    pub(super) replaces: Option<String>,
    pub(super) stored: u64,
    pub(super) unique_id: String,
    pub(super) fingerprint: [u8; 20],
    pub(super) source_size: u64,
    pub(super) rating: u8,
    pub(super) plays: u32,
    pub(super) dated: i64,
    // The hash the copy computed from the bytes it read (the ledger records it).
    pub(super) hash: Option<ContentHash>,
}

/// The sync in progress (from [`SyncMachine::start`] to its end).
pub(crate) struct Run {
    pub(super) key: String,
    pub(super) plan: SyncPlan,
    pub(super) cursor: usize,
    pub(super) ledger: Ledger,
    pub(super) initial: Ledger,
    pub(super) journal: Journal,
    pub(super) journaled: bool,
    // Each write's temporary path, by final path (from the journal).
    pub(super) temps: FastMap<String, String>,
    // Temporary files written and closed, waiting for their batch's commit record (J4).
    pub(super) batch: Vec<Pending>,
    pub(super) batch_bytes: u64,
    // Commit records written this session and not yet removed, and how many were written.
    pub(super) commits: Vec<String>,
    pub(super) commits_written: usize,
    pub(super) since_checkpoint: usize,
    pub(super) summary: SyncSummary,
    // The error of a failed barrier: nothing is known about what became durable, so the run
    // stops at once, keeping its journal for the next start (like a disconnect).
    pub(super) halted: Option<Error>,
    pub(super) batch_files: usize,
    pub(super) batch_bytes_max: u64,
    pub(super) checkpoint_every: usize,
    // The device refuses renames, as found this session (docs/sync.md, "Devices that
    // refuse renames").
    pub(super) renames_refused: bool,
    // Where renames are refused: the intent records written and not yet removed, how many
    // were written, and the final paths they announce.
    pub(super) intents: Vec<(String, IntentRecord)>,
    pub(super) intents_written: usize,
    pub(super) intended: HashSet<String>,
    // Tracks whose copy failed this run and that are not on the device: playlists written
    // later leave them out.
    pub(super) failed: HashSet<TrackId>,
    // A stop was asked for (a write cancelled by it is not an item error).
    pub(super) stop: bool,
    pub(super) end: Option<End>,
    // Bytes done and in all (each step counts at least 1).
    pub(super) done: u64,
    pub(super) total: u64,
    // Events to deliver, in order.
    pub(super) out: VecDeque<SyncEvent>,
}

impl Run {
    /// Brings what the session found out about the device into the summary.
    pub(super) fn note_quirks(&mut self) {
        self.summary.renames_refused = self.renames_refused;
    }

    /// Notes that the device refused a rename.
    pub(super) fn note_refusal(&mut self) {
        if !self.renames_refused {
            tracing::info!(
                "the device refuses renames: files are written whole in place for the rest of the session"
            );
        }
        self.renames_refused = true;
    }

    pub(super) fn emit(&mut self, item: SyncItem, error: Error) {
        self.out.push_back(SyncEvent::DeviceSyncError {
            device: self.key.clone(),
            item,
            error,
        });
    }
}
