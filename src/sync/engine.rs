//! The sync engine: one per device, shared by every handle. It drives the sans-IO core
//! ([`SyncMachine`](super::machine)), which prepares a sync (recovery, the device's listing,
//! statistics, the plan), journals it and applies it one step at a time
//! ([`SyncEngine::step`]): the engine executes the core's device requests over the manager and
//! gives it the library, the stats store and the time, so a host loop or a worker thread can
//! drive it and tests stay deterministic.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

use super::device::Renames;
use super::event::{EventBus, SyncEvent, SyncItem, SyncState};
use super::machine::{
    Action, DeviceIo, DeviceResponse, IoContext, ListAhead, ManagerIo, Phase, Prepare, SyncMachine,
};
use super::plan::{SyncOp, SyncPlan};
use crate::error::{Error, Result};
use crate::library::{Library, selection_for};
use crate::manager::WmdmStorage;

#[path = "engine_types.rs"]
mod types;
pub use types::{SyncContext, SyncOptions, SyncSummary};
#[path = "engine_state.rs"]
mod state;

/// The engine's lock: the core and the executor of its requests.
struct Core {
    machine: SyncMachine,
    // The running sync's executor (over the manager).
    io: Option<ManagerIo>,
}

pub(super) struct Shared {
    pub(super) key: String,
    pub(super) events: Arc<EventBus>,
    // Mirrors of the machine's state and progress, readable without the lock (an event
    // subscriber reads them while a step holds it). Only the driver writes them, from the
    // machine, before it lets the lock go.
    pub(super) state: AtomicI32,
    pub(super) done: AtomicU64,
    pub(super) total: AtomicU64,
    started: AtomicBool,
    // Set by `stop` from any thread: a write in progress checks it.
    pub(super) stop: AtomicBool,
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

impl SyncEngine {
    /// An idle engine for the device with this key, reporting to `events`.
    pub fn new(device_key: impl Into<String>, events: Arc<EventBus>) -> SyncEngine {
        let key = device_key.into();
        SyncEngine {
            shared: Arc::new(Shared {
                key: key.clone(),
                events,
                state: AtomicI32::new(SyncState::Unknown as i32),
                stop: AtomicBool::new(false),
                done: AtomicU64::new(0),
                total: AtomicU64::new(0),
                started: AtomicBool::new(false),
                core: Mutex::new(Core {
                    machine: SyncMachine::new(&key),
                    io: None,
                }),
                summary: Mutex::new(SyncSummary::default()),
            }),
        }
    }

    /// Sets the engine's tuning.
    pub fn set_options(&self, options: SyncOptions) {
        lock(&self.shared.core).machine.set_options(options);
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
        let mut core = lock(&self.shared.core);
        if !core.machine.is_idle() {
            return Err(Error::CallOutOfSequence);
        }
        core.machine
            .prepare(Self::prepare(library, ctx, false, true))?;
        self.prepare_with(&mut core, root, ctx, library, None, None)?;
        core.machine
            .take_plan()
            .ok_or_else(|| Error::Fail.context("an estimate that ended without a plan"))
    }

    /// What the core prepares a sync (or an estimate) from: the selection resolved and the
    /// time read now (the core has no clock).
    fn prepare(
        library: &dyn Library,
        ctx: &SyncContext<'_>,
        stats: bool,
        estimate: bool,
    ) -> Prepare {
        let selection = ctx.selection.map_or_else(
            || selection_for(library, ctx.index, ctx.clock),
            <[_]>::to_vec,
        );
        let now = ctx
            .clock
            .now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Prepare {
            library_id: ctx.library_id.to_owned(),
            index: ctx.index,
            session: new_session(),
            settings: ctx.settings.clone(),
            selection,
            skipped: ctx.skipped.cloned().unwrap_or_default(),
            stats,
            now,
            estimate,
        }
    }

    /// Drives a preparation to its end (the run started, the estimate planned, or failed),
    /// giving the core the library (and the stats store) when it plans.
    fn prepare_with(
        &self,
        core: &mut Core,
        root: &WmdmStorage,
        ctx: &SyncContext<'_>,
        library: &dyn Library,
        stats: Option<&std::sync::Mutex<super::stats::StatsStore>>,
        listing: Option<ListAhead>,
    ) -> Result<()> {
        let transcoding = core.machine.options().transcoding.clone();
        let mut io = ManagerIo::new(
            root.clone(),
            ctx.device.cloned(),
            Renames::default(),
            transcoding,
        );
        // The listing overlaps reading the state files and recovery (kept only if nothing
        // changes the device before the core asks for it); one started earlier, under the
        // same writer lock, is taken as it is.
        match listing {
            Some(listing) => io.adopt_listing(listing),
            None => io.list_ahead(),
        }
        core.io = Some(io);
        loop {
            self.drive(core, Some(library), 0);
            if !core.machine.wants_plan() {
                break;
            }
            match stats {
                Some(store) => {
                    let mut store = store.lock().unwrap_or_else(PoisonError::into_inner);
                    core.machine.plan(library, Some(&mut store));
                }
                None => core.machine.plan(library, None),
            }
        }
        if core.machine.is_idle() {
            core.io = None;
        }
        match core.machine.take_start_error() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Starts a sync: recovers from an interrupted one, plans, makes the journal durable on
    /// the device, and moves to Synchronizing (a DeviceSyncStateChange event). Apply the
    /// plan with [`step`](Self::step) or [`run`](Self::run).
    ///
    /// # Errors
    /// [`Error::CallOutOfSequence`] while a sync runs (as [`plan`](Self::plan)); the
    /// manager's errors reading or writing the device; the engine stays stopped. When the
    /// journal cannot be written ([`Error::DiskFull`], ...), nothing of the plan has changed
    /// on the device, and a DeviceSyncError event names the journal file (invariant J1).
    pub fn start(
        &self,
        root: &WmdmStorage,
        library: &dyn Library,
        ctx: &SyncContext<'_>,
    ) -> Result<()> {
        self.start_listed(root, library, ctx, None)
    }

    /// [`start`](Self::start), taking the listing from `listing` when one was started
    /// earlier, under the same writer lock ([`ListAhead::start`]).
    pub(crate) fn start_listed(
        &self,
        root: &WmdmStorage,
        library: &dyn Library,
        ctx: &SyncContext<'_>,
        listing: Option<ListAhead>,
    ) -> Result<()> {
        let _span = tracing::info_span!("sync", device = %self.shared.key).entered();
        let mut core = lock(&self.shared.core);
        if !core.machine.is_idle() {
            return Err(Error::CallOutOfSequence);
        }
        self.shared.stop.store(false, Ordering::Relaxed);
        let acquire = ctx.settings.collect_stats && ctx.settings.filter.acquires();
        let stats = ctx.stats.filter(|_| acquire);
        core.machine
            .prepare(Self::prepare(library, ctx, stats.is_some(), false))?;
        // Recovery, the listing, statistics, planning, then the journal (J1).
        self.prepare_with(&mut core, root, ctx, library, stats, listing)?;
        self.settle(&core.machine);
        let total = self.shared.total.load(Ordering::Relaxed);
        let total_ops = core.machine.remaining_ops().len();
        tracing::info!(operations = total_ops, bytes = total, "sync started");
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
        if core.machine.phase() != Phase::Applying {
            return false;
        }
        // A write reports its bytes on top of what the steps before it did.
        let (base, _) = core.machine.progress_bytes();
        if self.shared.stop.load(Ordering::Relaxed) {
            core.machine.stop();
        } else {
            let Core { machine, io } = &mut *core;
            if let Some(io) = io.as_mut() {
                io.start_encodes(machine.remaining_ops(), library);
                if io.wants_ahead() {
                    io.start_ahead(machine.ahead_jobs(library));
                }
            }
            machine.step(library);
        }
        self.drive(&mut core, Some(library), base);
        self.settle(&core.machine);
        core.machine.phase() == Phase::Applying
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
    /// running on another thread, the stop completes when it returns (or at the next step).
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        let mut core = match self.shared.core.try_lock() {
            Ok(c) => c,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        if core.machine.is_idle() {
            return;
        }
        core.machine.stop();
        let (base, _) = core.machine.progress_bytes();
        self.drive(&mut core, None, base);
        self.settle(&core.machine);
    }

    /// Forgets the running sync after a disconnect: the journal stays on the device for the
    /// next start.
    pub(crate) fn abandon_if_running(&self) {
        let mut core = lock(&self.shared.core);
        core.machine.abandon();
        self.drive(&mut core, None, 0);
        self.settle(&core.machine);
    }

    /// Executes the machine's requests until it waits for a step (or a start): each request
    /// over the executor, each event to the bus, in the order the machine asks.
    fn drive(&self, core: &mut Core, library: Option<&dyn Library>, base: u64) {
        let shared = &self.shared;
        let progress = |done: u64| shared.done.store(base + done, Ordering::Relaxed);
        let cx = IoContext {
            library,
            stop: &shared.stop,
            progress: &progress,
        };
        let Core { machine, io } = core;
        while let Some(action) = machine.poll() {
            match action {
                Action::Event(e) => {
                    // A subscriber called with the change reads the new state, progress and
                    // summary.
                    if let SyncEvent::DeviceSyncStateChange { state, .. } = &e {
                        self.settle(machine);
                        self.mirror_state(*state);
                    }
                    shared.events.emit(e);
                }
                Action::Request(request) => {
                    let response = match io.as_mut() {
                        Some(io) => {
                            let r = io.execute(request, &cx);
                            if io.renames_refused() {
                                machine.note_renames_refused();
                            }
                            r
                        }
                        None => DeviceResponse::Failed(
                            Error::Fail.context("a sync request with no device to execute it"),
                        ),
                    };
                    if shared.stop.load(Ordering::Relaxed) {
                        machine.stop();
                    }
                    machine.handle(response);
                }
            }
        }
        if machine.is_idle() {
            // The run is over: its handles and encoder go.
            *io = None;
        }
    }

    /// Brings the progress and summary mirrors up to date with the machine.
    fn settle(&self, machine: &SyncMachine) {
        let (done, total) = machine.progress_bytes();
        self.shared.total.store(total, Ordering::Relaxed);
        self.shared.done.store(done, Ordering::Relaxed);
        if machine.started() {
            self.shared.started.store(true, Ordering::Relaxed);
        }
        self.publish(machine.summary());
        if machine.is_idle() {
            self.shared.stop.store(false, Ordering::Relaxed);
        }
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
