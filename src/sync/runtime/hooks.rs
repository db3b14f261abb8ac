//! Where the services meet their runtime: the calls that hand work to it when one runs, and
//! do it on the caller's thread (the host-driven way) when none does.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, MutexGuard, PoisonError};

use super::super::engine::SyncEngine;
use super::super::item_info::BACKGROUND_SYNC;
use super::super::partnership::SyncDeviceStatus;
use super::super::services::{State, SyncDevice, SyncServices};
use super::Hub;
use super::worker::Request;
use crate::library::{Library, PlaylistKind};

impl State {
    /// True for a connected device whose partnership syncs by itself: SyncOnConnect on, and
    /// BackgroundSyncState's bit 1 not cleared.
    pub(in crate::sync) fn automatic(&self, key: &str) -> bool {
        let connected = self.devices.iter().any(|k| {
            k.key == key && k.device.is_some() && k.status == SyncDeviceStatus::PartnershipExists
        });
        let background = self
            .background
            .get(key)
            .is_none_or(|b| b & BACKGROUND_SYNC != 0);
        connected
            && background
            && self
                .table
                .for_device(key)
                .is_some_and(|p| p.settings.sync_on_connect)
    }
}

impl SyncServices {
    pub(in crate::sync) fn runtime_slot(&self) -> MutexGuard<'_, Option<Arc<Hub>>> {
        self.inner
            .runtime
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn hub(&self) -> Option<Arc<Hub>> {
        self.runtime_slot().clone()
    }

    /// Every engine made so far.
    pub(in crate::sync) fn engines(&self) -> Vec<SyncEngine> {
        self.lock().engines.values().cloned().collect()
    }

    /// Queued work is waiting (createPartnership, estimateSyncSize): a runtime's discovery
    /// thread does it now; without a runtime the host's next `poll` does.
    pub(in crate::sync) fn wake(&self) {
        if let Some(hub) = self.hub() {
            hub.wake();
        }
    }

    /// Sync on connect: the device's worker starts the sync when a runtime runs; else it
    /// starts here and the host steps it.
    pub(in crate::sync) fn begin_sync(&self, key: &str) {
        if let Some(hub) = self.hub() {
            hub.request(self, key, Request::Start);
            return;
        }
        let d = SyncDevice {
            services: self.clone(),
            key: key.to_owned(),
        };
        if let Err(e) = d.start() {
            tracing::warn!(error = %e, device = key, "sync on connect did not start");
        }
    }

    /// A sync started (on any thread): a runtime's worker steps it to its end.
    pub(in crate::sync) fn hand_to_worker(&self, key: &str) {
        if let Some(hub) = self.hub() {
            hub.request(self, key, Request::Run);
        }
    }

    /// A partnership's settings changed: while a runtime runs and the device is here with an
    /// automatic partnership, it syncs again (after the sync running now, if one runs).
    pub(in crate::sync) fn settings_changed(&self, key: &str) {
        let Some(hub) = self.hub() else {
            return;
        };
        if self.lock().automatic(key) {
            hub.request(self, key, Request::Resync);
        }
    }

    /// The connected automatic partnerships whose selection changed since `seen` recorded
    /// it (the first look records it only). What is compared: the default-rules switch and
    /// each selected playlist's id, priority and definition (a static playlist's tracks, an
    /// auto playlist's rule); a tag edit that changes what an auto playlist picks is not seen
    /// here (the application calls [`SyncServices::selection_changed`]).
    pub(in crate::sync) fn changed_selections(
        &self,
        seen: &mut HashMap<String, u64>,
    ) -> Vec<String> {
        let parts: Vec<(String, u8, bool)> = {
            let st = self.lock();
            st.table
                .partnerships()
                .iter()
                .filter(|p| st.automatic(p.key()))
                .map(|p| (p.key().to_owned(), p.index, p.settings.default_rules))
                .collect()
        };
        seen.retain(|k, _| parts.iter().any(|p| p.0 == *k));
        if parts.is_empty() {
            return Vec::new();
        }
        let library = self
            .inner
            .library
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let mut changed = Vec::new();
        for (key, index, default_rules) in parts {
            let print = fingerprint(&*library, index, default_rules);
            if seen
                .insert(key.clone(), print)
                .is_some_and(|old| old != print)
            {
                changed.push(key);
            }
        }
        changed
    }

    /// Tells a running runtime that the library changed in a way that may change what the
    /// automatic partnerships sync (tracks edited, added or removed): each connected one
    /// syncs again. Selection edits (a playlist's `SyncNN`, its tracks or rule) are noticed
    /// without it, at the next discovery pass. Without a runtime it does nothing: the host
    /// starts its syncs itself.
    pub fn selection_changed(&self) {
        let Some(hub) = self.hub() else {
            return;
        };
        let keys: Vec<String> = {
            let st = self.lock();
            st.devices
                .iter()
                .filter(|k| st.automatic(&k.key))
                .map(|k| k.key.clone())
                .collect()
        };
        for key in keys {
            hub.request(self, &key, Request::Resync);
        }
    }
}

/// What partnership `index`'s selection is made of, hashed.
fn fingerprint(library: &dyn Library, index: u8, default_rules: bool) -> u64 {
    let mut h = DefaultHasher::new();
    default_rules.hash(&mut h);
    for p in library.playlists() {
        let priority = p.sync.priority(index);
        if priority == 0 {
            continue;
        }
        (p.id, priority).hash(&mut h);
        match &p.kind {
            PlaylistKind::Static(tracks) => tracks.hash(&mut h),
            PlaylistKind::Auto(rule) => format!("{rule:?}").hash(&mut h),
        }
    }
    h.finish()
}
