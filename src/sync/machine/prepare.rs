//! A sync's preparation as requests: recovery (read the state files, observe what the
//! journal names, decide, carry the decision out with the same barriers as
//! `recover::perform`), the device's listing, statistics (only the objects that may have
//! changed) and planning. The decisions are the pure ones of `recover`, `stats` and `plan`.

use std::collections::{HashMap, HashSet, VecDeque};

use super::request::{DeviceRequest, DeviceResponse, Fingerprint, StatsRead};
use super::run::Start;
use super::{Phase, SyncMachine};
use crate::error::{Error, Result};
use crate::library::{ContentHash, Library, Selection, TrackId};
use crate::sync::device::{
    LEGACY_LEDGER_FILE, MARKER_FILE, commit_prefix, intent_prefix, journal_file, ledger_file,
};
use crate::sync::journal::{Journal, Ledger};
use crate::sync::legacy::{LEGACY_JOURNAL_FILE, LegacyJournal};
use crate::sync::plan::{Adoptable, DeviceContents, PlanInput, PlanSettings, SyncPlan, plan};
use crate::sync::recover::{
    Observed, Recovery, Seen, StateFiles, commits_from, first_write, intents_from, recover_ledger,
    to_observe,
};
use crate::sync::resume::gather_hashes;
use crate::sync::stats::{Marker, StatsReading, StatsStore, apply_stats, stats_to_read};

/// What a sync is prepared from besides the device and the library.
pub(crate) struct Prepare {
    /// The library's id.
    pub(crate) library_id: String,
    /// The partnership index.
    pub(crate) index: u8,
    /// This session's id.
    pub(crate) session: u64,
    /// Layout and limits.
    pub(crate) settings: PlanSettings,
    /// What to sync (resolved by the driver at the time it was given).
    pub(crate) selection: Vec<Selection>,
    /// The partnership's skipped files.
    pub(crate) skipped: HashSet<TrackId>,
    /// Statistics flow back (a store is given to [`SyncMachine::plan`](super::SyncMachine::plan)).
    pub(crate) stats: bool,
    /// The time now, in seconds since the Unix epoch (the stats store's).
    pub(crate) now: u64,
    /// Only plan (estimateSyncSize): recovery is decided but not carried out, the listing is
    /// taken as recovery would leave it, and nothing is written (J9).
    pub(crate) estimate: bool,
}

/// Where the preparation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Reading the state files, observing what the journal names, carrying recovery out.
    Recovering,
    /// Listing the device.
    Listing,
    /// Reading the statistics of objects that may have changed.
    Statistics,
    /// Waiting for the library (and the stats store) to plan, or checking collisions.
    Planning,
}

/// One piece of recovery's work.
enum Act {
    Ask(DeviceRequest),
    /// Looks a temporary file up, then deletes it when it is there.
    DeleteTemp(String),
}

/// What the preparation wants next.
pub(super) enum Next {
    /// This request's answer.
    Ask(DeviceRequest),
    /// The library, to plan ([`SyncMachine::plan`](super::SyncMachine::plan)).
    Plan,
    /// The run's start.
    Start(Box<Start>),
    /// The plan of an estimate.
    Planned(Box<SyncPlan>),
    /// The start failed (nothing of the plan was written).
    Failed(Error),
}

/// What is awaited.
enum Wait {
    OwnLedger,
    LegacyLedger,
    Journal,
    Commits,
    Intents,
    LegacyJournal,
    Observe(usize),
    Perform,
    TempFound,
    List,
    LedgerDate,
    Stats(usize),
    Adoptable,
    Nothing,
}

/// A preparation in progress.
pub(super) struct Prep {
    input: Prepare,
    pub(super) stage: Stage,
    wait: Wait,
    state: StateFiles,
    own_ledger: Option<Vec<u8>>,
    observe: Vec<(String, bool)>,
    observed: Observed,
    recovery: Option<Recovery>,
    acts: VecDeque<Act>,
    pub(super) renames_refused: bool,
    device: DeviceContents,
    ledger: Ledger,
    initial: Ledger,
    ledger_date: Option<i64>,
    to_read: Vec<(String, Marker)>,
    racy: bool,
    reads: Vec<StatsReading>,
    stats_applied: bool,
    conflicts: Vec<crate::sync::stats::RatingConflict>,
    hashes: HashMap<TrackId, ContentHash>,
    adoptable: Option<(HashMap<String, Adoptable>, HashMap<TrackId, ContentHash>)>,
    // The plan made before the collisions were checked.
    first: Option<SyncPlan>,
}

impl Prep {
    /// A preparation, and its first request.
    pub(super) fn new(input: Prepare) -> (Prep, DeviceRequest) {
        let first = DeviceRequest::ReadState {
            name: ledger_file(&input.library_id),
        };
        let prep = Prep {
            input,
            stage: Stage::Recovering,
            wait: Wait::OwnLedger,
            state: StateFiles::default(),
            own_ledger: None,
            observe: Vec::new(),
            observed: Observed::new(),
            recovery: None,
            acts: VecDeque::new(),
            renames_refused: false,
            device: DeviceContents::default(),
            ledger: Ledger::default(),
            initial: Ledger::default(),
            ledger_date: None,
            to_read: Vec::new(),
            racy: false,
            reads: Vec::new(),
            stats_applied: false,
            conflicts: Vec::new(),
            hashes: HashMap::new(),
            adoptable: None,
            first: None,
        };
        (prep, first)
    }

    fn ask(&mut self, wait: Wait, request: DeviceRequest) -> Next {
        self.wait = wait;
        Next::Ask(request)
    }

    /// The answer to the last request.
    pub(super) fn handle(&mut self, response: DeviceResponse) -> Next {
        match self.take(response) {
            Ok(next) => next,
            Err(e) => Next::Failed(e),
        }
    }

    fn take(&mut self, response: DeviceResponse) -> Result<Next> {
        let wrong = || Error::Fail.context("an answer of the wrong kind");
        if let DeviceResponse::Failed(e) = response {
            return Err(e);
        }
        let id = self.input.library_id.clone();
        match std::mem::replace(&mut self.wait, Wait::Nothing) {
            Wait::OwnLedger => {
                let DeviceResponse::State(read) = response else {
                    return Err(wrong());
                };
                let own = first_write(
                    read,
                    &ledger_file(&id),
                    |b| Ledger::parse(b).is_ok(),
                    &mut self.state.stale,
                );
                if own.is_some() {
                    self.own_ledger = own;
                    return Ok(self.read_journal());
                }
                let name = LEGACY_LEDGER_FILE.to_owned();
                Ok(self.ask(Wait::LegacyLedger, DeviceRequest::ReadState { name }))
            }
            Wait::LegacyLedger => {
                let DeviceResponse::State(read) = response else {
                    return Err(wrong());
                };
                self.own_ledger = read.map(|(b, _)| b).filter(|b| !b.is_empty());
                Ok(self.read_journal())
            }
            Wait::Journal => {
                let DeviceResponse::State(read) = response else {
                    return Err(wrong());
                };
                self.state.journal = first_write(
                    read,
                    &journal_file(&id),
                    |b| Journal::parse(b).is_ok(),
                    &mut self.state.stale,
                )
                .map(|b| Journal::parse(&b));
                let prefix = commit_prefix(&id);
                Ok(self.ask(Wait::Commits, DeviceRequest::ReadStates { prefix }))
            }
            Wait::Commits => {
                let DeviceResponse::States(files) = response else {
                    return Err(wrong());
                };
                self.state.commits = commits_from(files);
                let prefix = intent_prefix(&id);
                Ok(self.ask(Wait::Intents, DeviceRequest::ReadStates { prefix }))
            }
            Wait::Intents => {
                let DeviceResponse::States(files) = response else {
                    return Err(wrong());
                };
                self.state.intents = intents_from(files);
                let name = LEGACY_JOURNAL_FILE.to_owned();
                Ok(self.ask(Wait::LegacyJournal, DeviceRequest::ReadState { name }))
            }
            Wait::LegacyJournal => {
                let DeviceResponse::State(read) = response else {
                    return Err(wrong());
                };
                self.state.legacy_journal = read
                    .map(|(b, _)| b)
                    .filter(|b| !b.is_empty())
                    .map(|b| LegacyJournal::parse(&b));
                self.observe = to_observe(&self.state, &id);
                Ok(self.next_observe(0))
            }
            Wait::Observe(i) => {
                let DeviceResponse::Object(found) = response else {
                    return Err(wrong());
                };
                if let Some((path, _)) = self.observe.get(i) {
                    let seen = found.map(|o| Seen {
                        size: o.size,
                        unique_id: o.unique_id,
                        fingerprint: o.fingerprint,
                    });
                    self.observed.insert(path.clone(), seen);
                }
                Ok(self.next_observe(i + 1))
            }
            Wait::Perform => {
                response.done()?;
                Ok(self.next_act())
            }
            Wait::TempFound => {
                let DeviceResponse::Object(found) = response else {
                    return Err(wrong());
                };
                match found {
                    Some(o) => {
                        Ok(self.ask(Wait::Perform, DeviceRequest::Delete { object: o.object }))
                    }
                    None => Ok(self.next_act()),
                }
            }
            Wait::List => {
                let DeviceResponse::Contents(device) = response else {
                    return Err(wrong());
                };
                self.device = *device;
                if self.input.estimate
                    && let Some(r) = &self.recovery
                {
                    r.apply_to(&mut self.device);
                }
                if !self.input.stats || self.input.estimate {
                    self.stage = Stage::Planning;
                    return Ok(Next::Plan);
                }
                self.stage = Stage::Statistics;
                let name = ledger_file(&id);
                Ok(self.ask(Wait::LedgerDate, DeviceRequest::StateDate { name }))
            }
            Wait::LedgerDate => {
                let DeviceResponse::Date(date) = response else {
                    return Err(wrong());
                };
                self.ledger_date = date;
                (self.to_read, self.racy) = stats_to_read(&self.ledger, &self.device, date);
                tracing::debug!(
                    objects = self.to_read.len(),
                    ledger_date = ?date,
                    "statistics: objects that may have changed"
                );
                Ok(self.next_stats(0))
            }
            Wait::Stats(i) => {
                let DeviceResponse::Stats(read) = response else {
                    return Err(wrong());
                };
                if let Some((path, marker)) = self.to_read.get(i) {
                    self.reads.push(StatsReading {
                        path: path.clone(),
                        marker: *marker,
                        found: match read {
                            StatsRead::Absent => None,
                            StatsRead::Unsupported => Some(None),
                            StatsRead::Read { plays, rating } => Some(Some((plays, rating))),
                        },
                    });
                }
                Ok(self.next_stats(i + 1))
            }
            Wait::Adoptable => {
                let DeviceResponse::Adoptable(found, hashes) = response else {
                    return Err(wrong());
                };
                self.adoptable = Some((found, hashes));
                Ok(Next::Plan)
            }
            Wait::Nothing => Err(Error::Fail.context("an answer with no request waiting")),
        }
    }

    fn read_journal(&mut self) -> Next {
        let (ledger, problem) = Ledger::parse_or_empty(
            self.own_ledger.as_deref(),
            &self.input.library_id,
            self.input.index,
        );
        if let Some(p) = &problem {
            tracing::warn!(error = %p, "the sync ledger is unreadable; treating it as empty");
        }
        self.state.ledger = ledger;
        self.state.ledger_problem = problem;
        let name = journal_file(&self.input.library_id);
        self.ask(Wait::Journal, DeviceRequest::ReadState { name })
    }

    fn next_observe(&mut self, i: usize) -> Next {
        if let Some((path, fp)) = self.observe.get(i) {
            let request = DeviceRequest::Lookup {
                path: path.clone(),
                fingerprint: if *fp {
                    Fingerprint::Always
                } else {
                    Fingerprint::WithoutUniqueId
                },
            };
            return self.ask(Wait::Observe(i), request);
        }
        let ledger = std::mem::take(&mut self.state.ledger);
        let mut recovery =
            recover_ledger(&self.state, ledger, &self.observed, &self.input.library_id);
        if !self.input.estimate {
            self.acts = perform_acts(&recovery, &self.input.library_id, self.renames_refused);
        }
        // The state files read are spent (the ledger moves on; the rest is in the decision).
        self.state = StateFiles {
            ledger_problem: self.state.ledger_problem.take(),
            ..StateFiles::default()
        };
        self.ledger = std::mem::take(&mut recovery.ledger);
        self.initial = self.ledger.clone();
        self.recovery = Some(recovery);
        self.next_act()
    }

    fn next_act(&mut self) -> Next {
        match self.acts.pop_front() {
            Some(Act::Ask(mut r)) => {
                if let DeviceRequest::WriteState { in_place, .. } = &mut r {
                    *in_place = self.renames_refused;
                }
                self.ask(Wait::Perform, r)
            }
            Some(Act::DeleteTemp(path)) => self.ask(
                Wait::TempFound,
                DeviceRequest::Lookup {
                    path,
                    fingerprint: Fingerprint::Never,
                },
            ),
            None => {
                self.stage = Stage::Listing;
                self.ask(Wait::List, DeviceRequest::List)
            }
        }
    }

    fn next_stats(&mut self, i: usize) -> Next {
        match self.to_read.get(i) {
            Some((path, _)) => {
                let path = path.clone();
                self.ask(Wait::Stats(i), DeviceRequest::ReadStats { path })
            }
            None => {
                self.stage = Stage::Planning;
                Next::Plan
            }
        }
    }

    /// Plans (statistics first, once): the run's start, or a check of the plan's collisions.
    pub(super) fn plan(&mut self, library: &dyn Library, store: Option<&mut StatsStore>) -> Next {
        if !self.stats_applied {
            self.stats_applied = true;
            if let Some(store) = store.filter(|_| self.input.stats && !self.input.estimate) {
                self.conflicts = apply_stats(
                    &mut self.ledger,
                    std::mem::take(&mut self.reads),
                    self.racy,
                    self.ledger_date,
                    library,
                    store,
                    self.input.now,
                );
            }
            self.hashes = gather_hashes(library, &self.input.selection, &self.ledger);
        }
        let none = HashSet::new();
        let skipped = if self.input.skipped.is_empty() {
            &none
        } else {
            &self.input.skipped
        };
        let input = |hashes, adoptable| PlanInput {
            library,
            selection: &self.input.selection,
            hashes,
            device: &self.device,
            ledger: &self.ledger,
            settings: &self.input.settings,
            skipped,
            adoptable,
        };
        let planned: SyncPlan = match &self.adoptable {
            None => {
                let first = plan(&input(&self.hashes, None));
                if !first.collisions.is_empty() {
                    // Collisions are rare: the device is asked which are byte-identical.
                    let request = DeviceRequest::FindAdoptable {
                        library_id: self.input.library_id.clone(),
                        collisions: first.collisions.clone(),
                        hashes: self.hashes.clone(),
                        device: Box::new(self.device.clone()),
                    };
                    self.first = Some(first);
                    return self.ask(Wait::Adoptable, request);
                }
                first
            }
            Some((found, _)) if found.is_empty() => match self.first.take() {
                Some(first) => first,
                None => plan(&input(&self.hashes, None)),
            },
            Some((found, compared)) => plan(&input(compared, Some(found))),
        };
        if self.input.estimate {
            return Next::Planned(Box::new(planned));
        }
        let recovery = self.recovery.take().unwrap_or_default();
        Next::Start(Box::new(Start {
            library_id: self.input.library_id.clone(),
            index: self.input.index,
            session: self.input.session,
            plan: planned,
            ledger: std::mem::take(&mut self.ledger),
            initial: std::mem::take(&mut self.initial),
            ledger_unreadable: self.state.ledger_problem.is_some(),
            rating_conflicts: std::mem::take(&mut self.conflicts),
            left_alone: recovery.left_alone,
            renames_refused: self.renames_refused,
        }))
    }
}

/// Recovery's decision as device operations, in `recover::perform`'s order and with its
/// barriers: the twins of interrupted state writes, the temporary files, a barrier, the
/// ledger (or its lone `.new` put in place), the marker's, a barrier, then the journal and
/// records go, and a last barrier.
fn perform_acts(recovery: &Recovery, library_id: &str, in_place: bool) -> VecDeque<Act> {
    let mut acts = VecDeque::new();
    acts.push_back(Act::Ask(DeviceRequest::CleanStateTwins));
    for name in &recovery.stale_twins {
        acts.push_back(Act::Ask(DeviceRequest::RemoveStaleTwin {
            name: name.clone(),
        }));
    }
    for (temp, _) in &recovery.delete_temps {
        acts.push_back(Act::DeleteTemp(temp.clone()));
    }
    let acted = !recovery.stale_twins.is_empty() || !recovery.delete_temps.is_empty();
    if recovery.ledger_changed {
        if acted {
            acts.push_back(Act::Ask(DeviceRequest::Flush));
        }
        acts.push_back(Act::Ask(DeviceRequest::WriteState {
            name: ledger_file(library_id),
            bytes: recovery.ledger.encode(),
            in_place,
        }));
    } else {
        acts.push_back(Act::Ask(DeviceRequest::SettleState {
            name: ledger_file(library_id),
        }));
    }
    acts.push_back(Act::Ask(DeviceRequest::SettleState {
        name: MARKER_FILE.to_owned(),
    }));
    if acted || recovery.ledger_changed || !recovery.clear_state.is_empty() {
        acts.push_back(Act::Ask(DeviceRequest::Flush));
    }
    if !recovery.clear_state.is_empty() {
        for name in &recovery.clear_state {
            acts.push_back(Act::Ask(DeviceRequest::DeleteState { name: name.clone() }));
        }
        acts.push_back(Act::Ask(DeviceRequest::Flush));
    }
    acts
}

impl SyncMachine {
    /// Starts preparing a sync: recovery, the listing, statistics, then planning (when
    /// [`wants_plan`](Self::wants_plan), [`plan`](Self::plan) with the library), then the run
    /// starts as [`start`](Self::start). Drive it with [`poll`](Self::poll) and
    /// [`handle`](Self::handle); a failure ends it idle, [`take_start_error`](Self::take_start_error)
    /// saying why.
    ///
    /// # Errors
    /// [`Error::CallOutOfSequence`] while a sync runs.
    pub(crate) fn prepare(&mut self, input: Prepare) -> Result<()> {
        if !self.is_idle() {
            return Err(Error::CallOutOfSequence);
        }
        self.start_error = None;
        self.planned = None;
        let (prep, first) = Prep::new(input);
        self.phase = Phase::Preparing(prep.stage);
        self.prep = Some(Box::new(prep));
        self.outgoing = Some(first);
        Ok(())
    }

    /// The plan of the last estimate ([`Prepare::estimate`]), once.
    pub(crate) fn take_plan(&mut self) -> Option<SyncPlan> {
        self.planned.take().map(|p| *p)
    }

    /// True when the preparation waits for [`plan`](Self::plan).
    pub(crate) fn wants_plan(&self) -> bool {
        self.to_plan
    }

    /// Plans the prepared sync with the library (statistics go into `store`, when they flow
    /// back); the run starts, or the device is asked about the plan's collisions first.
    pub(crate) fn plan(&mut self, library: &dyn Library, store: Option<&mut StatsStore>) {
        if !self.to_plan {
            return;
        }
        self.to_plan = false;
        let Some(prep) = self.prep.as_mut() else {
            return;
        };
        let next = prep.plan(library, store);
        self.prep_next(next);
    }

    pub(super) fn prep_next(&mut self, next: Next) {
        if let Some(prep) = &self.prep {
            self.phase = Phase::Preparing(prep.stage);
        }
        match next {
            Next::Ask(request) => self.outgoing = Some(request),
            Next::Plan => self.to_plan = true,
            Next::Failed(e) => {
                self.prep = None;
                self.phase = Phase::Idle;
                self.start_error = Some(e);
            }
            Next::Planned(plan) => {
                self.prep = None;
                self.phase = Phase::Idle;
                self.planned = Some(plan);
            }
            Next::Start(start) => {
                self.prep = None;
                self.phase = Phase::Idle;
                // Idle just now: a start cannot be out of sequence.
                if let Err(e) = self.start(*start) {
                    self.start_error = Some(e);
                }
            }
        }
    }
}
