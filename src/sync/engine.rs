//! The sync engine: one per device, shared by every handle. It prepares a sync (recovery,
//! the device's listing, statistics, the plan) and drives the sans-IO core
//! ([`SyncMachine`](super::machine)) that journals and applies it one step at a time
//! ([`SyncEngine::step`]), executing the core's device requests over the manager, so a host
//! loop or a worker thread can drive it and tests stay deterministic.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

use super::device::{Renames, read_device_contents};
use super::event::{EventBus, SyncEvent, SyncItem, SyncState};
use super::journal::Ledger;
use super::machine::{
    Action, DeviceIo, DeviceResponse, IoContext, ManagerIo, Phase, Prepare, SyncMachine,
};
use super::plan::{DeviceContents, PlanInput, SyncOp, SyncPlan, plan};
use super::recover::{Recovery, observe, read_state, recover};
use super::resume::{find_adoptable, gather_hashes};
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
        let core = lock(&self.shared.core);
        if !core.machine.is_idle() {
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
        let adoptable = find_adoptable(
            root,
            ctx.library_id,
            library,
            &first.collisions,
            &mut compared,
            device,
        )?;
        if adoptable.is_empty() {
            return Ok(first);
        }
        Ok(plan(&input(&compared, Some(&adoptable))))
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
        let _span = tracing::info_span!("sync", device = %self.shared.key).entered();
        let mut core = lock(&self.shared.core);
        if !core.machine.is_idle() {
            return Err(Error::CallOutOfSequence);
        }
        let options = core.machine.options().clone();
        self.shared.stop.store(false, Ordering::Relaxed);
        let acquire = ctx.settings.collect_stats && ctx.settings.filter.acquires();
        let stats = ctx.stats.filter(|_| acquire);
        // The time is given to the core: the selection's auto playlists and the stats store.
        let selection = ctx.selection.map_or_else(
            || selection_for(library, ctx.index, ctx.clock),
            <[_]>::to_vec,
        );
        let now = ctx
            .clock
            .now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        core.machine.prepare(Prepare {
            library_id: ctx.library_id.to_owned(),
            index: ctx.index,
            session: new_session(),
            settings: ctx.settings.clone(),
            selection,
            skipped: ctx.skipped.cloned().unwrap_or_default(),
            stats: stats.is_some(),
            now,
        })?;
        core.io = Some(ManagerIo::new(
            root.clone(),
            ctx.device.cloned(),
            Renames::default(),
            options.transcoding,
        ));
        // Recovery, the listing, statistics, planning, then the journal (J1).
        loop {
            self.drive(&mut core, Some(library), 0);
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
        if let Some(e) = core.machine.take_start_error() {
            core.io = None;
            return Err(e);
        }
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
