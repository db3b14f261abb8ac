//! The sync engine: one per device, shared by every handle. It plans, writes the journal, and
//! applies the plan one step at a time ([`SyncEngine::step`]) so a host loop or a worker
//! thread can drive it and tests stay deterministic.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

use super::device::{
    FolderCache, Renames, SYNC_FOLDER, delete_state, journal_file, ledger_file,
    read_device_contents, state_date, write_state_with,
};
use super::event::{EventBus, SyncEvent, SyncItem, SyncState};
use super::journal::{Journal, JournalOp, Ledger, OwnedKind};
use super::plan::{DeviceContents, PlanInput, SyncOp, SyncPlan, plan};
use super::recover::{Recovery, observe, perform, read_state, recover};
use super::resume::{find_adoptable, gather_hashes, journal_ops};
use super::stats::collect;
use crate::error::{Error, ErrorKind, Result};
use crate::library::{Library, selection_for};
use crate::manager::WmdmStorage;

#[path = "engine_types.rs"]
mod types;
pub use types::{SyncContext, SyncOptions, SyncSummary};
#[path = "engine_run.rs"]
mod run;
#[path = "engine_state.rs"]
mod state;
pub(super) use run::Run;

/// Flushes `device` (a durability barrier); without a device, every completed operation is
/// taken as durable already.
pub(super) fn flush(device: Option<&crate::manager::WmdmDevice>) -> Result<()> {
    device.map_or(Ok(()), crate::manager::WmdmDevice::flush)
}

#[derive(Default)]
struct Core {
    run: Option<Run>,
    last: SyncSummary,
    options: SyncOptions,
}

pub(super) struct Shared {
    pub(super) key: String,
    pub(super) events: Arc<EventBus>,
    pub(super) state: AtomicI32,
    pub(super) stop: AtomicBool,
    pub(super) done: AtomicU64,
    pub(super) total: AtomicU64,
    // Whether a sync ever started on this engine: get_progress is 0 before the first.
    started: AtomicBool,
    // A runtime runs this engine: DeviceProgress events are sent, the last value sent is
    // `sent` (-1 for none).
    progress_events: AtomicBool,
    sent: AtomicI32,
    core: Mutex<Core>,
    // A copy of the running (or last) summary, readable while a step holds `core`, so event
    // subscribers can read it.
    pub(super) summary: Mutex<SyncSummary>,
}

/// One device's sync engine. Clones share the engine (WMP: "one instance per device, shared
/// by WMP and every remoted control").
#[derive(Clone)]
pub struct SyncEngine {
    pub(super) shared: Arc<Shared>,
}

impl std::fmt::Debug for SyncEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncEngine")
            .field("device", &self.shared.key)
            .field("state", &self.state())
            .field("progress", &self.progress())
            .finish_non_exhaustive()
    }
}

fn lock(m: &Mutex<Core>) -> MutexGuard<'_, Core> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn is_disconnect(e: &Error) -> bool {
    e.kind() == ErrorKind::Disconnected
}

impl SyncEngine {
    /// An idle engine for the device with this key, reporting to `events`.
    pub fn new(device_key: impl Into<String>, events: Arc<EventBus>) -> SyncEngine {
        SyncEngine {
            shared: Arc::new(Shared {
                key: device_key.into(),
                events,
                state: AtomicI32::new(SyncState::Unknown as i32),
                stop: AtomicBool::new(false),
                done: AtomicU64::new(0),
                total: AtomicU64::new(0),
                started: AtomicBool::new(false),
                progress_events: AtomicBool::new(false),
                sent: AtomicI32::new(-1),
                core: Mutex::new(Core::default()),
                summary: Mutex::new(SyncSummary::default()),
            }),
        }
    }

    /// Sets the engine's tuning.
    pub fn set_options(&self, options: SyncOptions) {
        lock(&self.shared.core).options = options;
    }

    /// The device key.
    pub fn device_key(&self) -> &str {
        &self.shared.key
    }

    /// True when both handles are the same engine.
    pub fn same_engine(&self, other: &SyncEngine) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Plans without applying and without writing anything (invariant J9): reads the ledger,
    /// works out in memory what recovery from an interrupted sync would do, reads the device,
    /// and plans from the recovered ledger. This is estimateSyncSize's work; the plan's totals
    /// are the estimate.
    ///
    /// # Errors
    /// [`Error::CallOutOfSequence`] while a sync runs; the manager's errors reading the device
    /// ([`Error::DeviceNotConnected`], ...).
    pub fn plan(
        &self,
        root: &WmdmStorage,
        library: &dyn Library,
        ctx: &SyncContext<'_>,
    ) -> Result<SyncPlan> {
        let _span = tracing::info_span!("sync", device = %self.shared.key).entered();
        let core = lock(&self.shared.core);
        if core.run.is_some() {
            return Err(Error::CallOutOfSequence);
        }
        let (recovery, _) = Self::recovery(root, ctx)?;
        let mut device = read_device_contents(root)?;
        recovery.apply_to(&mut device);
        Self::make_plan(root, library, ctx, &recovery.ledger, &device)
    }

    /// Reads the sync's state and decides recovery, without writing.
    fn recovery(
        root: &WmdmStorage,
        ctx: &SyncContext<'_>,
    ) -> Result<(Recovery, Option<super::text::StateParseError>)> {
        let state = read_state(root, ctx.library_id, ctx.index)?;
        let observed = observe(root, &state, ctx.library_id)?;
        let recovery = recover(&state, &observed, ctx.library_id);
        Ok((recovery, state.ledger_problem))
    }

    /// Plans, then checks the copies whose path a file the partnership does not own already
    /// holds, and plans again adopting the byte-identical ones (J8). Reads only.
    fn make_plan(
        root: &WmdmStorage,
        library: &dyn Library,
        ctx: &SyncContext<'_>,
        ledger: &Ledger,
        device: &DeviceContents,
    ) -> Result<SyncPlan> {
        let selection = ctx.selection.map_or_else(
            || Cow::Owned(selection_for(library, ctx.index, ctx.clock)),
            Cow::Borrowed,
        );
        let hashes = gather_hashes(library, &selection, ledger);
        let none = HashSet::new();
        let input = |hashes, adoptable| PlanInput {
            library,
            selection: &selection,
            hashes,
            device,
            ledger,
            settings: ctx.settings,
            skipped: ctx.skipped.unwrap_or(&none),
            adoptable,
        };
        let first = plan(&input(&hashes, None));
        if first.collisions.is_empty() {
            return Ok(first);
        }
        // Collisions are rare: the hashes computed for them join a copy of the map.
        let mut compared = hashes.clone();
        let adoptable =
            find_adoptable(root, ctx.library_id, library, &first, &mut compared, device)?;
        if adoptable.is_empty() {
            return Ok(first);
        }
        Ok(plan(&input(&compared, Some(&adoptable))))
    }

    /// Starts a sync: recovers from an interrupted one, plans, makes the journal durable on
    /// the device, and moves to Synchronizing (a DeviceSyncStateChange event). Returns at once
    /// when a sync is already running. Apply the plan with [`step`](Self::step) or
    /// [`run`](Self::run).
    ///
    /// # Errors
    /// The manager's errors reading or writing the device; the engine stays stopped. When the
    /// journal cannot be written ([`Error::DiskFull`], ...), nothing of the plan has changed on
    /// the device, and a DeviceSyncError event names the journal file (invariant J1).
    pub fn start(
        &self,
        root: &WmdmStorage,
        library: &dyn Library,
        ctx: &SyncContext<'_>,
    ) -> Result<()> {
        let _span = tracing::info_span!("sync", device = %self.shared.key).entered();
        let mut core = lock(&self.shared.core);
        if core.run.is_some() {
            return Ok(());
        }
        let options = core.options.clone();
        self.shared.stop.store(false, Ordering::Relaxed);
        let (recovery, problem) = Self::recovery(root, ctx)?;
        let renames = Renames::default();
        perform(root, ctx.library_id, &recovery, ctx.device, &renames)?;
        let mut ledger = recovery.ledger;
        let initial = ledger.clone();
        let mut conflicts = Vec::new();
        // One listing serves both the stats' change markers and the plan.
        let device = read_device_contents(root)?;
        let acquire = ctx.settings.collect_stats && ctx.settings.filter.acquires();
        if let Some(store) = ctx.stats.filter(|_| acquire) {
            let now = ctx
                .clock
                .now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let mut store = store.lock().unwrap_or_else(PoisonError::into_inner);
            let ledger_date = state_date(root, &ledger_file(ctx.library_id))?;
            conflicts = collect(
                root,
                &device,
                ledger_date,
                &mut ledger,
                library,
                &mut store,
                now,
            )?;
        }
        let plan = Self::make_plan(root, library, ctx, &ledger, &device)?;
        let session = new_session();
        let journal = Journal {
            library_id: ctx.library_id.to_owned(),
            index: ctx.index,
            session,
            ops: journal_ops(&plan, &ledger, session),
        };
        // J1: the journal is durable before the first step that changes the device, deletes
        // included, whatever the quota; if it cannot be written, the sync does not start.
        let journaled = !journal.ops.is_empty();
        if journaled {
            let written = write_state_with(
                root,
                &journal_file(ctx.library_id),
                &journal.encode(),
                &renames,
            )
            .and_then(|()| flush(ctx.device));
            if let Err(e) = written {
                tracing::warn!(error = %e, "could not write the sync journal; nothing was changed");
                // Recovery above removed any older journal, so what the failed write left
                // (a `.new` whose rename was refused, a partial file) describes no step that
                // ran: remove it, so the device is as it was (J1). Best effort: the write's
                // error is the one to report.
                let _ = delete_state(root, &journal_file(ctx.library_id));
                self.shared.events.emit(SyncEvent::DeviceSyncError {
                    device: self.shared.key.clone(),
                    item: SyncItem::DeviceObject(format!(
                        "{SYNC_FOLDER}/{}",
                        journal_file(ctx.library_id)
                    )),
                    error: e.clone(),
                });
                return Err(e);
            }
        }
        let temps = journal
            .ops
            .iter()
            .filter_map(|op| match op {
                JournalOp::Put { temp, entry, .. } => Some((entry.path.clone(), temp.clone())),
                _ => None,
            })
            .collect();
        let total: u64 = plan.ops.iter().map(|o| o.bytes().max(1)).sum();
        let total_ops = plan.ops.len();
        self.shared.total.store(total, Ordering::Relaxed);
        self.shared.done.store(0, Ordering::Relaxed);
        self.shared.started.store(true, Ordering::Relaxed);
        self.shared.sent.store(-1, Ordering::Relaxed);
        let left = u32::try_from(plan.left_out.len()).unwrap_or(u32::MAX);
        let no_fit = u32::try_from(plan.totals.no_fit).unwrap_or(u32::MAX);
        let summary = SyncSummary {
            no_fit,
            skipped: left - no_fit.min(left),
            ledger_unreadable: problem.is_some(),
            rating_conflicts: conflicts,
            newly_skipped: plan.newly_skipped.clone(),
            held_back: u32::try_from(plan.held_back.len()).unwrap_or(u32::MAX),
            left_alone: recovery.left_alone,
            flushes: u64::from(journaled),
            renames_refused: renames.refused(),
            transcode: plan.transcode_stats(),
            ..SyncSummary::default()
        };
        self.publish(&summary);
        core.run = Some(Run {
            root: root.clone(),
            plan,
            cursor: 0,
            initial,
            ledger,
            journal,
            journaled,
            temps,
            batch: Vec::new(),
            batch_bytes: 0,
            commits: Vec::new(),
            commits_written: 0,
            folders: FolderCache::default(),
            since_checkpoint: 0,
            summary,
            device: ctx.device.cloned(),
            halted: None,
            batch_files: options.batch_files.max(1),
            batch_bytes_max: options.batch_bytes.max(1),
            renames,
            intents: Vec::new(),
            intents_written: 0,
            intended: HashSet::new(),
            failed: HashSet::new(),
            transcoding: options.transcoding.clone(),
            encodes: None,
        });
        drop(core);
        tracing::info!(operations = total_ops, bytes = total, "sync started");
        self.set_state(SyncState::Synchronizing);
        Ok(())
    }

    /// Applies the next step. Returns `true` while steps remain, `false` when the sync has
    /// ended (completed, stopped, halted, or the device went away) or none is running. It
    /// cannot fail: a failed item is a DeviceSyncError event and the sync goes on; the device
    /// going away, or its sync state becoming unwritable (a DeviceSyncError event for the
    /// whole sync), ends the sync cleanly with the journal left for the next start to resume
    /// from, and the [`summary`](Self::summary)'s `completed` false.
    pub fn step(&self, library: &dyn Library) -> bool {
        let _span = tracing::info_span!("sync", device = %self.shared.key).entered();
        let mut core = lock(&self.shared.core);
        let options = core.options.clone();
        let Some(run) = core.run.as_mut() else {
            return false;
        };
        if self.shared.stop.load(Ordering::Relaxed) {
            self.finish(&mut core, false);
            return false;
        }
        let Some(op) = run.plan.ops.get(run.cursor).cloned() else {
            self.finish(&mut core, true);
            return false;
        };
        let base = self.shared.done.load(Ordering::Relaxed);
        let mut result = self.apply(run, library, &op, base);
        // Group commit (J4): the batch's temporary files are committed together when it is
        // full, or when the next step is not a write (so deletes, playlists and the end see
        // every earlier copy in place).
        let next_is_write = matches!(
            run.plan.ops.get(run.cursor + 1),
            Some(SyncOp::Copy { .. } | SyncOp::WritePlaylist { .. })
        );
        let full = run.batch.len() >= run.batch_files || run.batch_bytes >= run.batch_bytes_max;
        if !run.batch.is_empty() && (full || !next_is_write) {
            // commit_batch reports its items' failures itself and returns only a disconnect,
            // which outranks this step's own error.
            if let Err(e) = self.commit_batch(run) {
                result = Err(e);
            }
        }
        if let Some(e) = run.halted.clone() {
            self.halt(&mut core, e);
            return false;
        }
        match result {
            Ok(()) => {}
            Err(e) if is_disconnect(&e) => {
                self.abandon(&mut core);
                return false;
            }
            Err(err) if err == Error::UserCancelled && self.shared.stop.load(Ordering::Relaxed) => {
                self.finish(&mut core, false);
                return false;
            }
            Err(e) => self.item_error(run, &op, e),
        }
        self.shared
            .done
            .store(base + op.bytes().max(1), Ordering::Relaxed);
        run.note_quirks();
        self.publish(&run.summary);
        run.cursor += 1;
        run.since_checkpoint += 1;
        // A write that went into the open batch, with no batch committed since the last
        // checkpoint, changed nothing a checkpoint would record: it waits for the next step
        // that did (a commit, a delete...), which saves a ledger write and two flushes.
        // The last step's checkpoint is the end's ledger write.
        let idle = (run.commits.is_empty()
            && matches!(op, SyncOp::Copy { .. } | SyncOp::WritePlaylist { .. }))
            || run.cursor >= run.plan.ops.len();
        if !idle
            && run.since_checkpoint >= options.checkpoint_every.max(run.ledger.entries.len() / 4)
        {
            run.since_checkpoint = 0;
            let name = ledger_file(&run.journal.library_id);
            // Once the ledger holds the committed batches, their records are spent: removing
            // them keeps the state folder within its room (J2).
            // The renames and deletes it records are durable before the ledger claims them,
            // and the ledger before the records it replaces go.
            let result = run
                .barrier()
                .and_then(|()| run.write_state(&name, &run.ledger.encode()))
                .and_then(|()| run.barrier())
                .and_then(|()| run.remove_spent_records());
            if let Err(e) = result {
                if let Some(h) = run.halted.clone() {
                    self.halt(&mut core, h);
                    return false;
                }
                if is_disconnect(&e) {
                    self.abandon(&mut core);
                    return false;
                }
            }
        }
        if run.cursor >= run.plan.ops.len() {
            self.finish(&mut core, true);
            return false;
        }
        true
    }

    /// Runs the sync to its end, calling `progress` with 0-100 after every step, and returns
    /// its summary. Like [`step`](Self::step) it cannot fail: what went wrong is in the
    /// summary and the events.
    pub fn run(&self, library: &dyn Library, progress: &mut dyn FnMut(u8)) -> SyncSummary {
        while self.step(library) {
            progress(self.progress());
        }
        progress(self.progress());
        self.summary()
    }

    /// Stops the sync: the step in progress is cancelled (its temporary file removed), what
    /// was copied stays, the ledger is written, and the state becomes Stopped. When a step is
    /// running on another thread, the stop completes when it returns.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        let core = match self.shared.core.try_lock() {
            Ok(c) => c,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        let mut core = core;
        if core.run.is_some() {
            self.finish(&mut core, false);
        } else if self.state() == SyncState::Synchronizing {
            self.set_state(SyncState::Stopped);
        }
    }

    /// Forgets the running sync after a disconnect: the journal stays on the device for the
    /// next start.
    pub(crate) fn abandon_if_running(&self) {
        let mut core = lock(&self.shared.core);
        if core.run.is_some() {
            self.abandon(&mut core);
        }
    }

    /// Stops the run after a failed durability barrier: a device error, reported as one,
    /// with the journal kept for the next start (as after a disconnect).
    fn halt(&self, core: &mut Core, error: Error) {
        if let Some(run) = core.run.as_mut() {
            self.report_halt(&mut run.summary, error);
        }
        self.abandon(core);
    }

    /// The DeviceSyncError of a failed durability barrier (the device as a whole).
    fn report_halt(&self, summary: &mut SyncSummary, error: Error) {
        summary.errors += 1;
        self.shared.events.emit(SyncEvent::DeviceSyncError {
            device: self.shared.key.clone(),
            item: SyncItem::DeviceObject(String::new()),
            error,
        });
    }

    fn abandon(&self, core: &mut Core) {
        if let Some(mut run) = core.run.take() {
            run.note_quirks();
            self.publish(&run.summary);
            core.last = run.summary;
        }
        self.send_progress();
        self.set_state(SyncState::Stopped);
    }

    fn finish(&self, core: &mut Core, completed: bool) {
        let Some(mut run) = core.run.take() else {
            return;
        };
        // What was written completely stays: a stop commits the batch in progress.
        if let Err(e) = self.commit_batch(&mut run) {
            if let Some(h) = run.halted.clone() {
                self.report_halt(&mut run.summary, h);
            }
            if is_disconnect(&e) || run.halted.is_some() {
                run.note_quirks();
                self.publish(&run.summary);
                core.last = run.summary;
                self.send_progress();
                self.set_state(SyncState::Stopped);
                return;
            }
        }
        let unchanged = run.ledger == run.initial;
        let lib = run.journal.library_id.clone();
        // Barriers: what the steps did is durable before the ledger records it, the ledger
        // before the journal goes, and the end of the sync is durable when it ends.
        let changed =
            !unchanged || run.journaled || !run.commits.is_empty() || !run.intents.is_empty();
        let result = if unchanged {
            Ok(())
        } else {
            run.barrier()
                .and_then(|()| run.write_state(&ledger_file(&lib), &run.ledger.encode()))
        }
        .and_then(|()| if changed { run.barrier() } else { Ok(()) })
        .and_then(|()| {
            // The ledger is durable: the commit and intent records and the journal have done
            // their work (the batch is committed, so no intent record is still open).
            run.remove_spent_records()?;
            if run.journaled {
                delete_state(&run.root, &journal_file(&lib))?;
            }
            if changed { run.barrier() } else { Ok(()) }
        });
        if let Err(e) = &result {
            tracing::warn!(error = %e, "could not write the sync ledger; the journal stays");
        }
        run.summary.completed = completed && result.is_ok();
        run.note_quirks();
        run.summary.items_on_device = u32::try_from(
            run.ledger
                .entries
                .values()
                .filter(|e| e.kind == OwnedKind::Track)
                .count(),
        )
        .unwrap_or(u32::MAX);
        if completed {
            // A sync with nothing to do is complete too: 100, not 0.
            let total = self.shared.total.load(Ordering::Relaxed).max(1);
            self.shared.total.store(total, Ordering::Relaxed);
            self.shared.done.store(total, Ordering::Relaxed);
        }
        let s = &run.summary;
        tracing::info!(
            completed = s.completed,
            copied = s.copied,
            updated = s.updated,
            deleted = s.deleted,
            playlists = s.playlists_written,
            skipped = s.skipped,
            no_fit = s.no_fit,
            errors = s.errors,
            bytes = s.bytes_copied,
            on_device = s.items_on_device,
            "sync finished"
        );
        self.publish(&run.summary);
        core.last = run.summary;
        self.shared.stop.store(false, Ordering::Relaxed);
        self.send_progress();
        self.set_state(SyncState::Stopped);
    }
}

/// A fresh session id: every temporary name of the session carries it (J3).
fn new_session() -> u64 {
    use rand_core::{OsRng, RngCore};
    OsRng.next_u64()
}

pub(super) fn item_of(op: &SyncOp) -> SyncItem {
    match op {
        SyncOp::Copy { track, .. } | SyncOp::UpdateMetadata { track, .. } => {
            SyncItem::Track(*track)
        }
        SyncOp::WritePlaylist { name, .. } => SyncItem::Playlist(name.clone()),
        SyncOp::Forget { path }
        | SyncOp::Adopt { path, .. }
        | SyncOp::Rekey { path, .. }
        | SyncOp::Delete { path, .. } => SyncItem::DeviceObject(path.clone()),
    }
}
