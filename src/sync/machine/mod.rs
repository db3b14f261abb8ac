//! The sync core without I/O (the quinn-proto half of a quinn-proto / quinn split): one
//! device's sync as a state machine, from the first read of a start to the end of the run.
//! It owns everything a sync knows (the state files read and recovery's decision, the
//! listing, the statistics read, the plan and where it is, the ledger as it grows, the
//! journal, the open batch, the commit and intent records, what the session found out about
//! the device, the summary), asks for device operations ([`DeviceRequest`]) and is handed
//! their results ([`DeviceResponse`]). It has no locks, atomics, threads or clock: whoever
//! drives it ([`SyncEngine`](super::SyncEngine), the runtime's workers through it, or a test
//! with scripted answers) executes the requests, over the manager ([`ManagerIo`]) or directly
//! over a provider (`ProviderIo`), and gives it the library, the stats store and the time.
//!
//! ```text
//!  Idle ──prepare──► Preparing: Recovering ► Listing ► Statistics ► Planning ──┐
//!   ▲  ▲                 │ (a failure: Idle, error)       estimate: Idle ◄────┤ plan(library)
//!   │  └─────────────────┘                                                     ▼
//!   │                 Idle ◄── (write failed: error) ── Journaling ◄── start ──┘
//!   │                                                       │ journal durable
//!   │                                                       ▼
//!   │                                     step done ┌──► Applying ──step──► Step
//!   │                                               └───────────────────────┘ │ last step, stop
//!   └──────────── run ended (Stopped) ◄── Finishing ◄─────────────────────────┘ (disconnect or a
//!                                                                 failed barrier: ended at once)
//! ```
//!
//! docs/sync.md ("The core and its driver") lists the requests and who executes them.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use super::device::journal_file;
use super::engine::{SyncOptions, SyncSummary};
use super::event::{SyncEvent, SyncItem, SyncState};
use super::journal::{Journal, JournalOp};
use super::resume::journal_ops;
use crate::error::{Error, ErrorKind, Result};
use crate::library::Library;
use crate::maps::FastMap;

mod ahead;
mod apply;
mod commit;
mod finish;
mod flow;
mod io;
mod list_ahead;
mod object;
mod prepare;
pub(crate) mod request;
mod run;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_more;
#[cfg(test)]
mod tests_prepare;

use ahead::AheadJob;
use flow::{Flow, Then};
#[cfg(test)]
pub(crate) use io::ProviderIo;
pub(crate) use io::{DeviceIo, IoContext, ManagerIo};
pub(crate) use list_ahead::ListAhead;
pub(crate) use object::DeviceObject;
use prepare::Prep;
pub(crate) use prepare::{Prepare, Stage};
pub(crate) use request::{DeviceRequest, DeviceResponse};
pub(crate) use run::Start;
use run::{End, Pending, Run};

/// What the machine wants done next.
#[derive(Debug)]
pub(crate) enum Action {
    /// Execute this and hand the answer to [`SyncMachine::handle`].
    Request(DeviceRequest),
    /// Deliver this event.
    Event(SyncEvent),
}

/// Where the machine is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// No sync runs.
    Idle,
    /// A sync is being prepared (recovery, the listing, statistics, planning); the device is
    /// unchanged but for recovery's own work.
    Preparing(Stage),
    /// The journal is being made durable (J1); the device is unchanged so far.
    Journaling,
    /// Between steps: waiting for [`SyncMachine::step`].
    Applying,
    /// A step of the plan is being applied (with the group commit and checkpoint after it).
    Step,
    /// The run is ending: the open batch committed, the ledger written, the journal removed.
    Finishing {
        /// Whether the plan was applied to its end (not stopped).
        completed: bool,
    },
}

/// One device's sync, as a state machine (see the module docs).
pub(crate) struct SyncMachine {
    key: String,
    phase: Phase,
    prep: Option<Box<Prep>>,
    // The preparation waits for the library to plan.
    to_plan: bool,
    // The plan of the last estimate, until taken.
    planned: Option<Box<super::plan::SyncPlan>>,
    run: Option<Box<Run>>,
    // The request handed out and what to do with its answer.
    outgoing: Option<DeviceRequest>,
    waiting: Option<Then>,
    events: VecDeque<SyncEvent>,
    options: SyncOptions,
    // The state while no sync runs: Unknown before the first, Estimating, or Stopped.
    idle_state: SyncState,
    started: bool,
    last: SyncSummary,
    // The plan the last run applied (its left-out items and reasons, for a report).
    last_plan: Option<super::plan::SyncPlan>,
    // The error that kept the last start from running (J1: the journal was not written).
    start_error: Option<Error>,
    // Bytes done and in all, for get_progress, kept after the run.
    done: u64,
    total: u64,
    // The state the last DeviceSyncStateChange announced.
    reported: SyncState,
    // DeviceProgress events: at most one per interval (none without one), the last time
    // one was considered and the last value sent.
    progress_every: Option<Duration>,
    progress_at: Option<Instant>,
    progress_sent: Option<u8>,
}

/// get_progress: 0-100 by bytes; 0 before any sync has started, 100 after one that had
/// nothing to do.
pub(crate) fn percent(done: u64, total: u64, started: bool, synchronizing: bool) -> u8 {
    if total == 0 {
        return if started && !synchronizing { 100 } else { 0 };
    }
    u8::try_from((u128::from(done.min(total)) * 100 / u128::from(total)).min(100)).unwrap_or(100)
}

fn is_disconnect(e: &Error) -> bool {
    e.kind() == ErrorKind::Disconnected
}

impl SyncMachine {
    /// An idle machine for the device with this key.
    pub(crate) fn new(key: &str) -> SyncMachine {
        SyncMachine {
            key: key.to_owned(),
            phase: Phase::Idle,
            prep: None,
            to_plan: false,
            planned: None,
            run: None,
            outgoing: None,
            waiting: None,
            events: VecDeque::new(),
            options: SyncOptions::default(),
            idle_state: SyncState::Unknown,
            started: false,
            last: SyncSummary::default(),
            last_plan: None,
            start_error: None,
            done: 0,
            total: 0,
            reported: SyncState::Unknown,
            progress_every: None,
            progress_at: None,
            progress_sent: None,
        }
    }

    /// Sends DeviceProgress events at most once per `every` (as [`handle_time`] is called)
    /// and before a run's end; `None` for none (the host polls get_progress).
    ///
    /// [`handle_time`]: Self::handle_time
    pub(crate) fn set_progress_events(&mut self, every: Option<Duration>) {
        self.progress_every = every;
    }

    /// The time now: a DeviceProgress event when one is due (progress events on, a sync
    /// running, the interval passed since the last, and the value changed).
    pub(crate) fn handle_time(&mut self, now: Instant) {
        let Some(every) = self.progress_every else {
            return;
        };
        if self.is_idle()
            || self
                .progress_at
                .is_some_and(|t| now.duration_since(t) < every)
        {
            return;
        }
        self.progress_at = Some(now);
        self.queue_progress();
    }

    /// 0-100 of the running (or last) sync.
    pub(crate) fn percent(&self) -> u8 {
        let (done, total) = self.progress_bytes();
        percent(
            done,
            total,
            self.started,
            self.state() == SyncState::Synchronizing,
        )
    }

    fn queue_progress(&mut self) {
        if self.progress_every.is_none() {
            return;
        }
        let percent = self.percent();
        if self.progress_sent != Some(percent) {
            self.progress_sent = Some(percent);
            self.events.push_back(SyncEvent::DeviceProgress {
                device: self.key.clone(),
                percent,
            });
        }
    }

    /// Announces a change of state (DeviceSyncStateChange).
    fn note_state(&mut self) {
        let state = self.state();
        if state != self.reported {
            self.reported = state;
            self.events.push_back(SyncEvent::DeviceSyncStateChange {
                device: self.key.clone(),
                state,
            });
        }
    }

    /// Sets the tuning of the runs started from now on.
    pub(crate) fn set_options(&mut self, options: SyncOptions) {
        self.options = options;
    }

    /// The tuning.
    pub(crate) fn options(&self) -> &SyncOptions {
        &self.options
    }

    /// Where the machine is.
    pub(crate) fn phase(&self) -> Phase {
        self.phase
    }

    /// True when no sync runs (nor is starting).
    pub(crate) fn is_idle(&self) -> bool {
        self.phase == Phase::Idle
    }

    /// WMPSyncState: Synchronizing from the journal being durable to the end of the run,
    /// and never after it.
    pub(crate) fn state(&self) -> SyncState {
        match self.phase {
            Phase::Idle | Phase::Preparing(_) | Phase::Journaling => self.idle_state,
            Phase::Applying | Phase::Step | Phase::Finishing { .. } => SyncState::Synchronizing,
        }
    }

    /// Moves to or from Estimating while no sync runs; false (and nothing changes) while
    /// one runs.
    pub(crate) fn set_estimating(&mut self, on: bool) -> bool {
        if !self.is_idle() {
            return false;
        }
        self.idle_state = if on {
            SyncState::Estimating
        } else {
            SyncState::Stopped
        };
        self.note_state();
        true
    }

    /// Whether a sync ever started.
    pub(crate) fn started(&self) -> bool {
        self.started
    }

    /// Bytes done and bytes in all of the running (or last) sync.
    pub(crate) fn progress_bytes(&self) -> (u64, u64) {
        match &self.run {
            Some(r) => (r.done, r.total),
            None => (self.done, self.total),
        }
    }

    /// The summary of the running sync, or of the last one.
    pub(crate) fn summary(&self) -> &SyncSummary {
        self.run.as_ref().map_or(&self.last, |r| &r.summary)
    }

    /// The plan the running sync applies, or the one the last run applied.
    pub(crate) fn run_plan(&self) -> Option<&super::plan::SyncPlan> {
        self.run
            .as_ref()
            .map(|r| &r.plan)
            .or(self.last_plan.as_ref())
    }

    /// The copies of the plan's steps not applied yet whose sources a worker may read
    /// ahead, in order (see `ahead`).
    pub(crate) fn ahead_jobs(&self, library: &dyn Library) -> Vec<AheadJob> {
        // A copy is written under its journaled temporary name, or under its final one where
        // the device refuses renames (`apply::write_temp`).
        fn name<'a>(run: Option<&'a Run>, op: &'a super::plan::SyncOp) -> Option<&'a str> {
            let run = run?;
            let path = commit::op_path(op)?;
            let written = if run.renames_refused {
                path
            } else {
                run.temps.get(path)?.as_str()
            };
            Some(crate::sync::device::split(written).1)
        }
        let run = self.run.as_deref();
        self.remaining_ops()
            .iter()
            .filter_map(|op| apply::ahead_job(library, op, name(run, op)))
            .collect()
    }

    /// The plan's steps not applied yet (the encoder starts on their conversions).
    pub(crate) fn remaining_ops(&self) -> &[super::plan::SyncOp] {
        self.run
            .as_ref()
            .and_then(|r| r.plan.ops.get(r.cursor..))
            .unwrap_or_default()
    }

    /// Starts a run: builds the journal and, when the plan changes anything, asks for it to
    /// be made durable (J1) before the first step. Drive it with [`poll`](Self::poll) and
    /// [`handle`](Self::handle) until [`Phase::Applying`] (or back to idle, with
    /// [`take_start_error`](Self::take_start_error) saying why).
    ///
    /// # Errors
    /// [`Error::CallOutOfSequence`] while a sync runs (as for planning).
    pub(crate) fn start(&mut self, start: Start) -> Result<()> {
        if !self.is_idle() {
            return Err(Error::CallOutOfSequence);
        }
        let Start {
            library_id,
            index,
            session,
            plan,
            ledger,
            initial,
            ledger_unreadable,
            rating_conflicts,
            left_alone,
            renames_refused,
        } = start;
        let journal = Journal {
            library_id,
            index,
            session,
            ops: journal_ops(&plan, &ledger, session),
        };
        let journaled = !journal.ops.is_empty();
        let mut temps = FastMap::with_capacity_and_hasher(journal.ops.len(), Default::default());
        temps.extend(journal.ops.iter().filter_map(|op| match op {
            JournalOp::Put { temp, entry, .. } => Some((entry.path.clone(), temp.clone())),
            _ => None,
        }));
        let total: u64 = plan.ops.iter().map(|o| o.bytes().max(1)).sum();
        let left = u32::try_from(plan.left_out.len()).unwrap_or(u32::MAX);
        let no_fit = u32::try_from(plan.totals.no_fit).unwrap_or(u32::MAX);
        let summary = SyncSummary {
            no_fit,
            skipped: left - no_fit.min(left),
            ledger_unreadable,
            rating_conflicts,
            newly_skipped: plan.newly_skipped.clone(),
            held_back: u32::try_from(plan.held_back.len()).unwrap_or(u32::MAX),
            left_alone,
            // The journal's barrier counts itself.
            renames_refused,
            transcode: plan.transcode_stats(),
            ..SyncSummary::default()
        };
        let options = &self.options;
        let mut run = Box::new(Run {
            key: self.key.clone(),
            plan,
            cursor: 0,
            ledger,
            initial,
            journal,
            journaled,
            temps,
            batch: Vec::new(),
            batch_bytes: 0,
            commits: Vec::new(),
            commits_written: 0,
            since_checkpoint: 0,
            summary,
            halted: None,
            batch_files: options.batch_files.max(1),
            batch_bytes_max: options.batch_bytes.max(1),
            checkpoint_every: options.checkpoint_every,
            renames_refused,
            intents: Vec::new(),
            intents_written: 0,
            intended: HashSet::new(),
            failed: HashSet::new(),
            stop: false,
            end: None,
            done: 0,
            total,
            out: VecDeque::new(),
        });
        self.start_error = None;
        let flow = if journaled {
            finish::write_journal(&mut run)
        } else {
            Flow::OK
        };
        self.run = Some(run);
        self.phase = Phase::Journaling;
        self.proceed(flow);
        Ok(())
    }

    /// Why the last start ended idle (the journal could not be written), once.
    pub(crate) fn take_start_error(&mut self) -> Option<Error> {
        self.start_error.take()
    }

    /// Applies the next step of the plan (one [`SyncOp`](super::plan::SyncOp), with the
    /// group commit and checkpoint that follow it), or ends the run when the plan is done or
    /// a stop was asked for. Does nothing unless the machine is between steps. The library
    /// is read for the step's tracks (tags, the bytes to copy: the executor streams those).
    pub(crate) fn step(&mut self, library: &dyn Library) {
        if self.phase != Phase::Applying {
            return;
        }
        let Some(run) = self.run.as_mut() else {
            return;
        };
        if run.stop {
            self.begin_finish(false);
            return;
        }
        let Some(op) = run.plan.ops.get(run.cursor).cloned() else {
            self.begin_finish(true);
            return;
        };
        self.phase = Phase::Step;
        let flow = apply::step(run, library, op);
        self.proceed(flow);
    }

    /// Asks the run to stop: between steps it starts ending at once; during a step, a write
    /// that the executor cancelled for it is not an item error, and the run ends after it.
    pub(crate) fn stop(&mut self) {
        if let Some(run) = self.run.as_mut() {
            run.stop = true;
        }
        if self.phase == Phase::Applying {
            self.begin_finish(false);
        }
    }

    /// Ends the run without another request (after a disconnect, or as a killed process
    /// would): the journal stays for the next start. Only between requests.
    pub(crate) fn abandon(&mut self) {
        if self.waiting.is_none() && self.run.is_some() {
            self.end_run();
            self.note_state();
        }
    }

    /// The next thing to do: an event to deliver, or a request to execute (whose answer goes
    /// to [`handle`](Self::handle)). `None` when the machine waits for a step, a start, or
    /// the answer to the request it handed out.
    pub(crate) fn poll(&mut self) -> Option<Action> {
        if let Some(run) = self.run.as_mut() {
            self.events.extend(run.out.drain(..));
        }
        if let Some(e) = self.events.pop_front() {
            return Some(Action::Event(e));
        }
        self.outgoing.take().map(Action::Request)
    }

    /// The answer to the last request [`poll`](Self::poll) handed out.
    pub(crate) fn handle(&mut self, response: DeviceResponse) {
        if let Some(prep) = self.prep.as_mut() {
            let next = prep.handle(response);
            self.prep_next(next);
            return;
        }
        let (Some(then), Some(run)) = (self.waiting.take(), self.run.as_mut()) else {
            tracing::warn!("a device response with no request waiting for it");
            return;
        };
        let flow = then(run, response);
        self.proceed(flow);
    }

    /// The executor noted that the device refuses renames (on a request that may have
    /// failed, so it could not say so in the answer).
    pub(crate) fn note_renames_refused(&mut self) {
        if let Some(prep) = self.prep.as_mut() {
            prep.renames_refused = true;
        }
        if let Some(run) = self.run.as_mut()
            && !run.renames_refused
        {
            run.note_refusal();
        }
    }

    fn proceed(&mut self, flow: Flow) {
        match flow {
            Flow::Ask(request, then) => {
                self.outgoing = Some(request);
                self.waiting = Some(then);
            }
            Flow::Done(result) => self.done_with(result),
        }
        self.note_state();
    }

    /// The phase's work is done: move on.
    fn done_with(&mut self, result: Result<()>) {
        match self.phase {
            Phase::Journaling => match result {
                Ok(()) => {
                    self.started = true;
                    self.phase = Phase::Applying;
                    self.progress_at = None;
                    self.progress_sent = None;
                }
                Err(e) => {
                    // Nothing of the plan happened: no run, the state as it was (J1).
                    if let Some(mut run) = self.run.take() {
                        self.events.extend(run.out.drain(..));
                    }
                    self.last_plan = None;
                    self.start_error = Some(e);
                    self.phase = Phase::Idle;
                }
            },
            Phase::Step => {
                let end = self.run.as_mut().and_then(|r| r.end.take());
                match end {
                    None => self.phase = Phase::Applying,
                    Some(End::Complete) => self.begin_finish(true),
                    Some(End::Stop) => self.begin_finish(false),
                    Some(End::Abandon) => self.end_run(),
                    Some(End::Halt(e)) => {
                        if let Some(run) = self.run.as_mut() {
                            finish::report_halt(run, e);
                        }
                        self.end_run();
                    }
                }
            }
            Phase::Finishing { .. } => self.end_run(),
            Phase::Idle | Phase::Preparing(_) | Phase::Applying => {}
        }
    }

    fn begin_finish(&mut self, completed: bool) {
        let Some(run) = self.run.as_mut() else {
            return;
        };
        self.phase = Phase::Finishing { completed };
        let flow = finish::finish(run, completed);
        self.proceed(flow);
    }

    /// The run is over: its summary is the last one, the state Stopped.
    fn end_run(&mut self) {
        if let Some(mut run) = self.run.take() {
            run.note_quirks();
            self.events.extend(run.out.drain(..));
            self.done = run.done;
            self.total = run.total;
            self.last = run.summary;
            self.last_plan = Some(std::mem::take(&mut run.plan));
        }
        self.outgoing = None;
        self.waiting = None;
        self.idle_state = SyncState::Stopped;
        self.phase = Phase::Idle;
        // The final value comes before the change to Stopped.
        self.queue_progress();
    }
}

/// The journal file of a run, as a device object (the item of its DeviceSyncError).
fn journal_item(library_id: &str) -> SyncItem {
    SyncItem::DeviceObject(format!(
        "{}/{}",
        super::SYNC_FOLDER,
        journal_file(library_id)
    ))
}
