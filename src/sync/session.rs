//! A partnership's sync session through [`SyncDevice`]: what it syncs (the selection or the
//! default rules, the skipped files, this session's SyncFilter), planning, start, steps, stop,
//! and what a session leaves in the partnership table.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use super::engine::{SyncContext, SyncSummary};
use super::filter::SyncFilter;
use super::item_info::BACKGROUND_TRANSCODE;
use super::machine::ListAhead;
use super::partnership::SyncDeviceStatus;
use super::plan::{PlanSettings, SyncPlan};
use super::selection::{estimate_selection, partnership_selection};
use super::services::{SyncDevice, SyncServices, apply_profile, root_of};
use super::stats::StatsStore;
use crate::error::{Error, Result};
use crate::library::{Library, Playlist, Selection, TrackId};
use crate::manager::WmdmStorage;
use crate::time::Clock;

/// What a partnership's session works from, read from the table in one go.
pub(super) struct SessionParts {
    pub(super) library_id: String,
    pub(super) index: u8,
    pub(super) settings: PlanSettings,
    pub(super) default_rules: bool,
    // PartnershipSettings::starter: the default selection until a playlist is selected.
    pub(super) starter: bool,
    pub(super) skipped: HashSet<TrackId>,
}

impl SessionParts {
    /// True when a library playlist is selected for this partnership.
    fn has_playlists(&self, library: &dyn Library) -> bool {
        library
            .playlists()
            .iter()
            .any(|p| p.sync.is_synced_to(self.index))
    }

    /// Whether the session syncs the default selection: AutoSyncDefaultRules, or a new
    /// partnership that no playlist has been selected for yet.
    fn uses_default(&self, library: &dyn Library) -> bool {
        self.default_rules || (self.starter && !self.has_playlists(library))
    }

    fn context<'a>(
        &'a self,
        selection: &'a [Selection],
        clock: &'a dyn Clock,
        stats: Option<&'a Mutex<StatsStore>>,
    ) -> SyncContext<'a> {
        SyncContext {
            library_id: &self.library_id,
            index: self.index,
            settings: &self.settings,
            clock,
            stats,
            selection: Some(selection),
            skipped: Some(&self.skipped),
            device: None,
        }
    }
}

/// What to plan: the partnership's own selection, or an estimate's.
#[derive(Clone, Copy)]
enum Scope<'a> {
    Sync,
    Estimate {
        non_rule: Option<&'a Playlist>,
        rules: Option<&'a Playlist>,
    },
}

impl SyncDevice {
    /// The partnership's parameters for a session.
    ///
    /// # Errors
    /// [`Error::NoPda`] for an unknown device; [`Error::Unexpected`] without a partnership.
    pub(super) fn session_parts(&self) -> Result<SessionParts> {
        let mut settings = self.settings();
        let st = self.services.lock();
        let k = st.known(&self.key)?;
        if k.status != SyncDeviceStatus::PartnershipExists {
            return Err(Error::Unexpected);
        }
        // Without settings of its own, the partnership follows the device's profile: the
        // formats it plays, and WPL playlists when it takes WPL but not M3U.
        if !st.settings.contains_key(&self.key)
            && let Some(d) = &k.device
        {
            apply_profile(d, &mut settings);
        }
        // Whatever the settings, the plan names only files the device takes.
        if let Some(d) = &k.device {
            settings.apply_device_names(d);
            if settings.convert.is_some() {
                settings.apply_device_caps(d);
            }
        }
        // BackgroundSyncState without bit 2: the host does not allow converting for this
        // device, so tracks it does not play are left out as with conversion off. Those are
        // judged by the formats the conversion would have used (the device's, when the
        // settings name none), or a FLAC would be copied to a device that cannot play it.
        let no_convert = st
            .background
            .get(&self.key)
            .is_some_and(|b| b & BACKGROUND_TRANSCODE == 0);
        if no_convert
            && settings.convert.take().is_some()
            && settings.formats.is_none()
            && !settings.device_caps.formats.is_empty()
        {
            settings.formats = Some(settings.device_caps.formats.clone());
        }
        let p = st.table.for_device(&self.key).ok_or(Error::Unexpected)?;
        Ok(SessionParts {
            library_id: st.table.library_id.clone(),
            index: p.index,
            settings,
            default_rules: p.settings.default_rules,
            starter: p.settings.starter,
            skipped: p.skipped.iter().copied().collect(),
        })
    }

    /// The connected device's storage root and the partnership's parameters.
    fn open_session(&self) -> Result<(WmdmStorage, SessionParts)> {
        let device = self.connected_device()?;
        let parts = self.session_parts()?;
        Ok((root_of(&device)?, parts))
    }

    fn plan_scope(&self, scope: Scope<'_>) -> Result<SyncPlan> {
        let (root, parts) = self.open_session()?;
        let inner = &self.services.inner;
        let library = inner.library.read().unwrap_or_else(PoisonError::into_inner);
        let clock = &*inner.clock;
        let default = parts.uses_default(&*library);
        let current = partnership_selection(&*library, parts.index, default, clock);
        let selection = match scope {
            Scope::Sync => current,
            Scope::Estimate { non_rule, rules } => {
                estimate_selection(&*library, current, non_rule, rules, clock)
            }
        };
        let ctx = parts.context(&selection, clock, None);
        self.engine().plan(&root, &*library, &ctx)
    }

    /// Plans a sync of this partnership now, without applying it: the selected playlists (or
    /// the default rules, with AutoSyncDefaultRules), less the skipped files, under the
    /// SyncFilter set for the next session.
    ///
    /// # Errors
    /// [`Error::NoPda`] when the device is away; [`Error::Unexpected`] without a partnership;
    /// [`Error::CallOutOfSequence`] while a sync runs; the manager's errors.
    pub fn plan(&self) -> Result<SyncPlan> {
        self.plan_scope(Scope::Sync)
    }

    /// Plans the sync estimateSyncSize describes: `rules` in place of the partnership's
    /// current selection, and `non_rule` added after it (see
    /// [`estimate_sync_size`](Self::estimate_sync_size)). Nothing changes.
    ///
    /// # Errors
    /// As [`plan`](Self::plan).
    pub fn plan_estimate(
        &self,
        non_rule: Option<&Playlist>,
        rules: Option<&Playlist>,
    ) -> Result<SyncPlan> {
        self.plan_scope(Scope::Estimate { non_rule, rules })
    }

    /// IWMPSyncDevice::start: starts the engine (plans, journals, Synchronizing). Drive it
    /// with [`step`](Self::step) or [`run`](Self::run). Starting a running sync does nothing.
    ///
    /// The session takes the SyncFilter set for it (the partnership's filter is back to
    /// 0xFF once the session has started), and tracks the user deleted from the device since
    /// the last sync join the partnership's skipped files.
    ///
    /// The session holds the device's writer lock from here to its end (the last step, a
    /// stop, or the device going away), so that one writer at a time changes the device.
    ///
    /// # Errors
    /// [`Error::NoPda`] when the device is away; [`Error::Unexpected`] without a partnership;
    /// [`Error::Busy`] while another writer holds the device ([`lock_holder`](Self::lock_holder)
    /// names it); the manager's errors.
    pub fn start(&self) -> Result<()> {
        self.start_after(|| Ok(()))
    }

    /// [`start`](Self::start), with the device's side under way while `ready` runs: the
    /// device's writer lock is taken and its listing starts on a thread, then `ready` is
    /// called, and only once it returns are the partnership's settings and the library read
    /// and the sync planned. An application that is still scanning its library (holding it)
    /// finishes that in `ready`, so that listing a large device overlaps the scan instead of
    /// following it; it may change the partnership's settings there too.
    ///
    /// `ready` must not change the device (the listing would not see the change; the writer
    /// lock keeps other programs and other libraries out meanwhile). It is called once, unless
    /// an error comes first (when a sync already runs, start does nothing but call it); an
    /// error it returns ends the start with nothing planned or written, the lock released.
    ///
    /// # Errors
    /// As [`start`](Self::start); `ready`'s error.
    pub fn start_after(&self, ready: impl FnOnce() -> Result<()>) -> Result<()> {
        let device = self.connected_device()?;
        let root = root_of(&device)?;
        // Without a partnership there is nothing to start: said before anything is taken.
        self.session_parts()?;
        let engine = self.engine();
        if engine.is_running() {
            return ready();
        }
        // One writer per device: the lock is held until the session ends (record_finish).
        let took = self.services.take_writer(&self.key, &device)?;
        let listing = ListAhead::start(&root);
        let parts = match ready().and_then(|()| self.session_parts()) {
            Ok(parts) => parts,
            Err(e) => {
                drop(listing);
                if took {
                    self.services.release_writer(&self.key);
                }
                return Err(e);
            }
        };
        let inner = &self.services.inner;
        let library = inner.library.read().unwrap_or_else(PoisonError::into_inner);
        let clock = &*inner.clock;
        let default = parts.uses_default(&*library);
        let selection = partnership_selection(&*library, parts.index, default, clock);
        let mut ctx = parts.context(&selection, clock, Some(&inner.stats));
        // The engine flushes the device at its durability barriers.
        ctx.device = Some(&device);
        if let Err(e) = engine.start_listed(&root, &*library, &ctx, Some(listing)) {
            // The lock is released only by the session that took it: a sync started on
            // another thread since the check above holds it.
            if took {
                self.services.release_writer(&self.key);
            }
            // The engine refuses a start while a sync runs (as it refuses a plan); for
            // IWMPSyncDevice::start that sync is the one asked for.
            return if e == Error::CallOutOfSequence {
                Ok(())
            } else {
                Err(e)
            };
        }
        if engine.is_running() {
            // A runtime steps it to its end.
            self.services.hand_to_worker(&self.key);
        } else {
            // Nothing to do: the session ended as it started.
            self.services.release_writer(&self.key);
        }
        let summary = engine.summary();
        let mut st = self.services.lock();
        let mut changed = false;
        if let Some(p) = st.table.for_device_mut(&self.key) {
            // The filter was for this session only. A filter set since this session read it
            // is for the next one and stays.
            if p.settings.sync_filter == parts.settings.filter.0 && !parts.settings.filter.is_none()
            {
                p.settings.sync_filter = SyncFilter::NONE.0;
                changed = true;
            }
            // The user chose playlists: the starter selection is over.
            if p.settings.starter && parts.has_playlists(&*library) {
                p.settings.starter = false;
                changed = true;
            }
            let before = p.skipped.len();
            p.skipped.extend(summary.newly_skipped.iter().copied());
            // A skipped track that left the library can never come back as itself.
            p.skipped.retain(|t| library.track(*t).is_some());
            changed |= p.skipped.len() != before || !summary.newly_skipped.is_empty();
        }
        // The table is written (and synced) only when the session changed it, so a no-op
        // resync costs no write on the library side either.
        if changed && let Err(e) = st.table.save(&inner.state_dir) {
            tracing::warn!(error = %e, "could not save the partnership table");
        }
        Ok(())
    }

    /// Applies one step of the running sync; `false` once it has ended (or when none runs).
    /// When it ends the partnership's LastSyncTime, LastSyncErrorCount, LastSyncNoFitCount
    /// and SyncItemCount are recorded, the stats store is saved and the device's writer lock
    /// is released. It cannot fail, as [`SyncEngine::step`](super::SyncEngine::step): item
    /// failures are DeviceSyncError events, and what ended a sync early is in the
    /// [`summary`](super::SyncEngine::summary).
    pub fn step(&self) -> bool {
        let engine = self.engine();
        let was_running = engine.is_running();
        let more = {
            let library = self
                .services
                .inner
                .library
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            engine.step(&*library)
        };
        if was_running && !more {
            self.services.record_finish(&self.key, &engine.summary());
        }
        more
    }

    /// Runs the sync to its end (starting it when none runs), calling `progress` with 0-100.
    ///
    /// # Errors
    /// As [`start`](Self::start).
    pub fn run(&self, progress: &mut dyn FnMut(u8)) -> Result<SyncSummary> {
        if !self.engine().is_running() {
            self.start()?;
        }
        while self.step() {
            progress(self.progress());
        }
        progress(self.progress());
        Ok(self.engine().summary())
    }

    /// Test hook, not a WMP method: forgets the running session as a killed process would.
    /// Nothing more is written (no ledger; the journal stays for the next start) and the
    /// writer lock is released, as the kernel releases a dead holder's. Tests use it to model
    /// a crash and a new process in one test process.
    #[doc(hidden)]
    pub fn abandon(&self) {
        self.engine().abandon_if_running();
        self.services.release_writer(&self.key);
    }

    /// IWMPSyncDevice::stop. What was copied stays.
    pub fn stop(&self) {
        let engine = self.engine();
        let was_running = engine.is_running();
        engine.stop();
        if was_running && !engine.is_running() {
            self.services.record_finish(&self.key, &engine.summary());
        }
    }
}

impl SyncServices {
    /// Records what a finished session leaves in the table, saves the stats store, and
    /// releases the device's writer lock.
    pub(super) fn record_finish(&self, key: &str, summary: &SyncSummary) {
        self.release_writer(key);
        let now = self
            .inner
            .clock
            .now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut st = self.lock();
        if let Some(p) = st.table.for_device_mut(key) {
            p.last.time = Some(now);
            p.last.errors = summary.errors;
            p.last.no_fit = summary.no_fit;
            p.last.items = summary.items_on_device;
        }
        if let Err(e) = st.table.save_counters(&self.inner.state_dir) {
            tracing::warn!(error = %e, "could not save the partnership table");
        }
        drop(st);
        let stats = self.stats();
        let mut saved = self
            .inner
            .stats_saved
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if *saved != stats {
            match stats.save(&self.inner.state_dir) {
                Ok(()) => *saved = stats,
                Err(e) => tracing::warn!(error = %e, "could not save the stats store"),
            }
        }
    }
}
