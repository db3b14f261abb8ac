//! IWMPSyncDevice3::estimateSyncSize and cancelEstimation.

use super::event::SyncEvent;
use super::services::{Pending, SyncDevice};
use crate::error::{Error, Result};
use crate::library::Playlist;

impl SyncDevice {
    /// IWMPSyncDevice3::estimateSyncSize (Microsoft's reference: <https://learn.microsoft.com/en-us/windows/win32/api/wmp/nn-wmp-iwmpsyncdevice>, slot 20): the sync as if
    /// `non_rule` were added to the partnership's selection (after it, at the lowest
    /// priority), and with `rules` in place of the current selection when given. The
    /// partnership's selection does not change. The playlists need not be in the library;
    /// their tracks are resolved against it when the estimate runs.
    ///
    /// Asynchronous: the engine moves to Estimating and the next
    /// [`SyncServices::poll`](super::SyncServices::poll) sends DeviceEstimation with the
    /// bytes the partnership would use afterwards and the bytes it may use. A second call
    /// cancels the first (its event carries E_ABORT). [`plan_estimate`](Self::plan_estimate)
    /// gives the same plan at once.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] when both playlists are `None`; [`Error::Unexpected`] while a
    /// sync runs or without a partnership; [`Error::NoPda`] when the device is away.
    pub fn estimate_sync_size(
        &self,
        non_rule: Option<&Playlist>,
        rules: Option<&Playlist>,
    ) -> Result<()> {
        if non_rule.is_none() && rules.is_none() {
            return Err(Error::InvalidArg);
        }
        self.connected_device()?;
        self.session_parts()?;
        let engine = self.engine();
        if engine.is_running() {
            return Err(Error::Unexpected);
        }
        if self.remove_pending_estimate() {
            self.abort_event();
        }
        engine.set_estimating(true);
        self.services.lock().pending.push_back(Pending::Estimate {
            key: self.key.clone(),
            non_rule: non_rule.map(|p| Box::new(p.clone())),
            rules: rules.map(|p| Box::new(p.clone())),
        });
        self.services.wake();
        Ok(())
    }

    /// IWMPSyncDevice3::cancelEstimation: DeviceEstimation with E_ABORT when one was pending.
    pub fn cancel_estimation(&self) {
        if self.remove_pending_estimate() {
            self.engine().set_estimating(false);
            self.abort_event();
        }
    }

    /// The library's playlist with this name (for callers that only have a name, as the COM
    /// layer has for an IWMPPlaylist).
    #[cfg_attr(not(all(windows, feature = "com")), allow(dead_code))]
    pub(crate) fn library_playlist_named(&self, name: &str) -> Option<Playlist> {
        let library = self
            .services
            .inner
            .library
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        library.playlists().iter().find(|p| p.name == name).cloned()
    }

    fn remove_pending_estimate(&self) -> bool {
        let mut st = self.services.lock();
        let before = st.pending.len();
        st.pending
            .retain(|p| !matches!(p, Pending::Estimate { key, .. } if *key == self.key));
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
