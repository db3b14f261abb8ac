//! What the engine shows while it runs: its WMPSyncState, progress, the running summary,
//! and the events that announce them.

use std::sync::PoisonError;
use std::sync::atomic::Ordering;

use super::super::event::{SyncEvent, SyncState};
use super::{SyncEngine, SyncSummary};

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
        let total = self.shared.total.load(Ordering::Relaxed);
        let done = self.shared.done.load(Ordering::Relaxed);
        if total == 0 {
            let idle_after_sync = self.shared.started.load(Ordering::Relaxed)
                && self.state() != SyncState::Synchronizing;
            return if idle_after_sync { 100 } else { 0 };
        }
        u8::try_from((u128::from(done.min(total)) * 100 / u128::from(total)).min(100))
            .unwrap_or(100)
    }

    /// The summary of the sync running now, or of the last one.
    pub fn summary(&self) -> SyncSummary {
        self.shared
            .summary
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(super) fn publish(&self, summary: &SyncSummary) {
        *self
            .shared
            .summary
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = summary.clone();
    }

    /// Turns DeviceProgress events on or off (a runtime turns them on while it runs).
    pub(crate) fn set_progress_events(&self, on: bool) {
        self.shared.progress_events.store(on, Ordering::Relaxed);
    }

    /// Sends DeviceProgress when progress events are on and the value changed since the
    /// last one sent. The runtime calls it (rate-limited) after steps; the engine calls it
    /// before a sync's DeviceSyncStateChange to Stopped, so the final value comes first.
    pub(crate) fn send_progress(&self) {
        if !self.shared.progress_events.load(Ordering::Relaxed) {
            return;
        }
        let percent = self.progress();
        if self.shared.sent.swap(i32::from(percent), Ordering::Relaxed) != i32::from(percent) {
            self.shared.events.emit(SyncEvent::DeviceProgress {
                device: self.shared.key.clone(),
                percent,
            });
        }
    }

    pub(super) fn set_state(&self, state: SyncState) {
        let old = self.shared.state.swap(state as i32, Ordering::Relaxed);
        if old != state as i32 {
            self.shared.events.emit(SyncEvent::DeviceSyncStateChange {
                device: self.shared.key.clone(),
                state,
            });
        }
    }

    /// Moves to or from Estimating (estimateSyncSize), with its DeviceSyncStateChange; a
    /// running sync's Synchronizing stays.
    pub(crate) fn set_estimating(&self, on: bool) {
        let mut core = super::lock(&self.shared.core);
        if core.machine.set_estimating(on) {
            self.set_state(core.machine.state());
        }
    }

    /// True while a sync runs.
    pub fn is_running(&self) -> bool {
        self.state() == SyncState::Synchronizing
    }
}
