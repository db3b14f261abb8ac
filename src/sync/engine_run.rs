//! One running sync's state: the plan and where it is, the ledger as it grows, the journal,
//! the open batch, what the session found out about the device, and its summary.

use std::collections::{HashMap, HashSet};

use super::super::apply::Pending;
use super::super::device::{FolderCache, Renames, delete_state, write_state_with};
use super::super::intent::IntentRecord;
use super::super::journal::{Journal, Ledger};
use super::super::plan::SyncPlan;
use super::{SyncSummary, flush};
use crate::error::{Error, Result};
use crate::manager::WmdmStorage;

/// The sync in progress ([`SyncEngine::start`](super::SyncEngine::start) to its end).
pub(in crate::sync) struct Run {
    pub(in crate::sync) root: WmdmStorage,
    pub(in crate::sync) plan: SyncPlan,
    pub(in crate::sync) cursor: usize,
    pub(in crate::sync) ledger: Ledger,
    // The ledger as read, so a sync that changed nothing writes nothing.
    pub(in crate::sync) initial: Ledger,
    // Written by `start`, before the first step that changes the device (J1).
    pub(in crate::sync) journal: Journal,
    pub(in crate::sync) journaled: bool,
    // Each write's temporary path, by final path (from the journal).
    pub(in crate::sync) temps: HashMap<String, String>,
    // Temporary files written and closed, waiting for their batch's commit record (J4).
    pub(in crate::sync) batch: Vec<Pending>,
    pub(in crate::sync) batch_bytes: u64,
    // Commit records written this session and not yet removed (they go once the ledger
    // holding their batches is durable), and how many were written.
    pub(in crate::sync) commits: Vec<String>,
    pub(in crate::sync) commits_written: usize,
    pub(in crate::sync) folders: FolderCache,
    pub(in crate::sync) since_checkpoint: usize,
    pub(in crate::sync) summary: SyncSummary,
    // The device whose flush is the durability barrier (see `barrier`).
    pub(in crate::sync) device: Option<crate::manager::WmdmDevice>,
    // The error of a failed barrier: nothing is known about what became durable, so the run
    // stops at once, keeping its journal for the next start (like a disconnect).
    pub(in crate::sync) halted: Option<Error>,
    pub(in crate::sync) batch_files: usize,
    pub(in crate::sync) batch_bytes_max: u64,
    // Whether the device takes renames, as found this session (docs/sync.md, "Devices that
    // refuse renames").
    pub(in crate::sync) renames: Renames,
    // Where renames are refused: the intent records written and not yet removed, how many
    // were written, and the final paths they announce.
    pub(in crate::sync) intents: Vec<(String, IntentRecord)>,
    pub(in crate::sync) intents_written: usize,
    pub(in crate::sync) intended: HashSet<String>,
    // Tracks whose copy failed this run and that are not on the device: playlists written
    // later leave them out.
    pub(in crate::sync) failed: HashSet<crate::library::TrackId>,
}

impl Run {
    /// A durability barrier: every change completed before it is durable when it returns
    /// (docs/sync.md, "Durability barriers"). A failure halts the run.
    pub(in crate::sync) fn barrier(&mut self) -> Result<()> {
        if let Some(e) = &self.halted {
            return Err(e.clone());
        }
        self.summary.flushes += 1;
        let result = flush(self.device.as_ref());
        if let Err(e) = &result {
            tracing::warn!(error = %e, "the device's flush failed; the sync stops, its journal stays");
            self.halted = Some(e.clone());
        }
        result
    }

    /// Writes sync's state file `name`, in place where the device refuses renames.
    pub(in crate::sync) fn write_state(&self, name: &str, bytes: &[u8]) -> Result<()> {
        write_state_with(&self.root, name, bytes, &self.renames)
    }

    /// Brings what the session found out about the device into the summary.
    pub(in crate::sync) fn note_quirks(&mut self) {
        self.summary.renames_refused = self.renames.refused();
    }

    /// Removes the spent commit and intent records once the ledger that holds their batches
    /// is durable. An intent record stays while a batch it announces is still open.
    pub(in crate::sync) fn remove_spent_records(&mut self) -> Result<()> {
        while let Some(c) = self.commits.last() {
            delete_state(&self.root, c)?;
            self.commits.pop();
        }
        if self.batch.is_empty() {
            while let Some((c, _)) = self.intents.last() {
                delete_state(&self.root, c)?;
                self.intents.pop();
            }
            self.intended.clear();
        }
        Ok(())
    }
}
