//! IWMPSyncDevice3::estimateSyncSize and cancelEstimation.

use super::event::SyncEvent;
use super::services::{Pending, SyncDevice};
use crate::error::{Error, Result};

impl SyncDevice {
    /// IWMPSyncDevice3::estimateSyncSize, for the current selection. Asynchronous: the engine
    /// moves to Estimating and the next [`SyncServices::poll`](super::SyncServices::poll) sends DeviceEstimation. A
    /// second call cancels the first (its event carries E_ABORT).
    ///
    /// # Errors
    /// [`Error::Unexpected`] while a sync runs or without a partnership; [`Error::NoPda`]
    /// when the device is away.
    pub fn estimate_sync_size(&self) -> Result<()> {
        self.connected_device()?;
        self.context_parts()?;
        let engine = self.engine();
        if engine.is_running() {
            return Err(Error::Unexpected);
        }
        if self.remove_pending_estimate() {
            self.abort_event();
        }
        engine.set_estimating(true);
        self.services
            .lock()
            .pending
            .push_back(Pending::Estimate(self.key.clone()));
        Ok(())
    }

    /// IWMPSyncDevice3::cancelEstimation: DeviceEstimation with E_ABORT when one was pending.
    pub fn cancel_estimation(&self) {
        if self.remove_pending_estimate() {
            self.engine().set_estimating(false);
            self.abort_event();
        }
    }

    fn remove_pending_estimate(&self) -> bool {
        let mut st = self.services.lock();
        let before = st.pending.len();
        st.pending
            .retain(|p| !matches!(p, Pending::Estimate(k) if *k == self.key));
        st.pending.len() != before
    }

    fn abort_event(&self) {
        self.services
            .inner
            .events
            .emit(SyncEvent::DeviceEstimation {
                device: self.key.clone(),
                result: Err(Error::Abort),
                estimated_used: 0,
                estimated_space: 0,
            });
    }
}
