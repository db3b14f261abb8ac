//! What the engine shows while it runs: its WMPSyncState, progress, the running summary,
//! and the events that announce them.

use std::sync::PoisonError;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::super::event::SyncState;
use super::{SyncEngine, SyncPlan, SyncSummary};

impl SyncEngine {
    /// IWMPSyncDevice::get_syncState.
    pub fn state(&self) -> SyncState {
        match self.shared.state.load(Ordering::Relaxed) {
            1 => SyncState::Synchronizing,
            2 => SyncState::Stopped,
            3 => SyncState::Estimating,
            _ => SyncState::Unknown,
        }
    }

    /// IWMPSyncDevice::get_progress: 0-100 for the whole device, by bytes; 0 before any
    /// sync has started, 100 after one that had nothing to do.
    pub fn progress(&self) -> u8 {
        super::super::machine::percent(
            self.shared.done.load(Ordering::Relaxed),
            self.shared.total.load(Ordering::Relaxed),
            self.shared.started.load(Ordering::Relaxed),
            self.state() == SyncState::Synchronizing,
        )
    }

    /// The summary of the sync running now, or of the last one.
    pub fn summary(&self) -> SyncSummary {
        self.shared
            .summary
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The plan the running sync applies, or the one the last run applied (`None` before the
    /// first run, or when the last start failed): what it copies, deletes and leaves out, and
    /// why, without planning again. Waits for a step in progress to end.
    pub fn last_plan(&self) -> Option<SyncPlan> {
        super::lock(&self.shared.core).machine.run_plan().cloned()
    }

    pub(super) fn publish(&self, summary: &SyncSummary) {
        *self
            .shared
            .summary
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = summary.clone();
    }

    /// Turns DeviceProgress events on (at most one per `every`, as
    /// [`handle_time`](Self::handle_time) is called, and one before a sync's
    /// DeviceSyncStateChange to Stopped) or off (`None`). A runtime turns them on while it
    /// runs.
    pub(crate) fn set_progress_events(&self, every: Option<Duration>) {
        super::lock(&self.shared.core)
            .machine
            .set_progress_events(every);
    }

    /// Gives the engine the time: a DeviceProgress event goes out when one is due.
    pub(crate) fn handle_time(&self, now: Instant) {
        let mut core = super::lock(&self.shared.core);
        core.machine.handle_time(now);
        let (base, _) = core.machine.progress_bytes();
        self.drive(&mut core, None, base);
    }

    /// The state mirror and its readers' view of the run, brought up to date before the
    /// DeviceSyncStateChange that announces `state` goes out.
    pub(super) fn mirror_state(&self, state: SyncState) {
        self.shared.state.store(state as i32, Ordering::Relaxed);
    }

    /// Moves to or from Estimating (estimateSyncSize), with its DeviceSyncStateChange; a
    /// running sync's Synchronizing stays.
    pub(crate) fn set_estimating(&self, on: bool) {
        let mut core = super::lock(&self.shared.core);
        if core.machine.set_estimating(on) {
            self.drive(&mut core, None, 0);
        }
    }

    /// True while a sync runs.
    pub fn is_running(&self) -> bool {
        self.state() == SyncState::Synchronizing
    }
}
