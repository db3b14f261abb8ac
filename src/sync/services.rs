//! The WMP-shaped facade: [`SyncServices`] (IWMPSyncServices) and [`SyncDevice`]
//! (IWMPSyncDevice/2/3), over the partnership table, one [`SyncEngine`] per device, and the
//! event bus (IWMPEvents2/4).
//!
//! The core is sans-IO in the quinn style: asynchronous WMP calls (createPartnership,
//! estimateSyncSize) queue their work and return at once; [`SyncServices::poll`] does it and
//! sends the completion events, together with device arrivals and removals and sync on
//! connect. A host either calls `poll` from its loop (or a timer) and drives running syncs
//! with [`SyncDevice::step`] or [`SyncDevice::run`], or starts a
//! [`SyncRuntime`](super::SyncRuntime) ([`SyncServices::start_runtime`]), whose threads do
//! all of that by themselves.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use super::engine::SyncEngine;
use super::event::{EventBus, SyncEvent, SyncState};
use super::filter::SyncFilter;
use super::partnership::{PartnershipTable, SyncDeviceStatus};
use super::plan::{PlanSettings, PlaylistFormat};
use super::stats::StatsStore;
use crate::error::{Error, Result};
use crate::library::{Library, Playlist};
use crate::manager::{DeviceManager, WmdmDevice, WmdmStorage};
use crate::metadata::{FormatCode, PropValue, device as props};
use crate::provider::{LockHolder, WriterLock};
use crate::time::Clock;

#[path = "services_partner.rs"]
mod partner;

/// The library a [`SyncServices`] reads, shared with the application (which may edit it
/// between syncs).
pub type SharedLibrary = Arc<RwLock<dyn Library>>;

#[derive(Debug)]
pub(super) struct Known {
    /// The device's key ([`device_key`](super::device_key)): its serial number.
    pub(super) key: String,
    /// Its canonical name when last seen (a folder device's path).
    pub(super) path: String,
    pub(super) device: Option<WmdmDevice>,
    pub(super) serial: String,
    pub(super) name: String,
    pub(super) friendly: String,
    pub(super) status: SyncDeviceStatus,
}

#[derive(Debug)]
pub(super) enum Pending {
    Partnership(String),
    Estimate {
        key: String,
        non_rule: Option<Box<Playlist>>,
        rules: Option<Box<Playlist>>,
    },
}

#[derive(Debug)]
pub(super) struct State {
    pub(super) table: PartnershipTable,
    pub(super) devices: Vec<Known>,
    pub(super) engines: HashMap<String, SyncEngine>,
    pub(super) settings: HashMap<String, PlanSettings>,
    pub(super) pending: VecDeque<Pending>,
    // BackgroundSyncState per device: this process's lifetime only, never saved (WMP keeps
    // it for the player's lifetime). Absent means 0xFF, everything allowed.
    pub(super) background: HashMap<String, u8>,
    // The writer locks this library holds, per device: from a session's start to its end,
    // and while a partnership is made or deleted.
    pub(super) writers: HashMap<String, WriterLock>,
}

pub(super) struct Inner {
    pub(super) manager: DeviceManager,
    pub(super) library: SharedLibrary,
    pub(super) state_dir: PathBuf,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) events: Arc<EventBus>,
    pub(super) stats: Mutex<StatsStore>,
    // The store as last saved, so a sync that read nothing new writes nothing.
    pub(super) stats_saved: Mutex<StatsStore>,
    state: Mutex<State>,
    // The runtime running these services, if one does (`start_runtime`).
    pub(super) runtime: Mutex<Option<Arc<super::runtime::Hub>>>,
}

/// IWMPSyncServices: the devices this library knows, their partnerships, and their engines.
#[derive(Clone)]
pub struct SyncServices {
    pub(super) inner: Arc<Inner>,
}

impl std::fmt::Debug for SyncServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncServices")
            .field("state_dir", &self.inner.state_dir)
            .finish_non_exhaustive()
    }
}

/// IWMPSyncDevice/2/3: one device as this library sees it. Handles are cheap; every handle
/// to a device shares its one engine.
#[derive(Clone)]
pub struct SyncDevice {
    pub(super) services: SyncServices,
    pub(super) key: String,
}

impl std::fmt::Debug for SyncDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncDevice")
            .field("key", &self.key)
            .finish()
    }
}

pub(super) fn serial_text(device: &WmdmDevice) -> String {
    match device.serial_number() {
        Ok(id) => match std::str::from_utf8(id.serial()) {
            Ok(s) if s.chars().all(|c| !c.is_control()) => s.to_owned(),
            _ => hex::encode_upper(id.serial()),
        },
        Err(_) => String::new(),
    }
}

/// The device's `WMDM/FormatsSupported`, applied to the plan settings.
pub(super) fn apply_profile(device: &WmdmDevice, settings: &mut PlanSettings) {
    let Ok(PropValue::U32Array(codes)) = device.property(props::FORMATS_SUPPORTED) else {
        return;
    };
    if codes.is_empty() {
        return;
    }
    let formats: Vec<FormatCode> = codes.into_iter().map(FormatCode).collect();
    if formats.contains(&FormatCode::WPL_PLAYLIST) && !formats.contains(&FormatCode::M3U_PLAYLIST) {
        settings.playlist_format = PlaylistFormat::Wpl;
        settings.playlist_separator = '\\';
    }
    settings.formats = Some(formats);
}

pub(super) fn root_of(device: &WmdmDevice) -> Result<WmdmStorage> {
    device.storages()?.into_iter().next().ok_or(Error::NoPda)
}

impl State {
    /// The device with this key.
    ///
    /// # Errors
    /// [`Error::NoPda`] when no such device is known.
    pub(super) fn known(&self, key: &str) -> Result<&Known> {
        self.devices
            .iter()
            .find(|k| k.key == key)
            .ok_or(Error::NoPda)
    }
}

impl SyncServices {
    /// Opens the sync services of a library: loads (or starts) its partnership table and
    /// stats store from `state_dir`, and lists the devices the manager has now.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] when the state folder holds a table or store that cannot be read;
    /// I/O errors; the manager's errors ([`Error::NotCertified`] before the application has
    /// authenticated).
    pub fn open(
        manager: DeviceManager,
        library: SharedLibrary,
        state_dir: &Path,
        library_name: &str,
        clock: Arc<dyn Clock>,
    ) -> Result<SyncServices> {
        let _span = tracing::debug_span!("sync services open").entered();
        let table = PartnershipTable::load_or_create(state_dir, library_name)?;
        table.save_if_changed(state_dir)?;
        let stats = StatsStore::load(state_dir)?;
        let services = SyncServices {
            inner: Arc::new(Inner {
                manager,
                library,
                state_dir: state_dir.to_owned(),
                clock,
                events: Arc::new(EventBus::default()),
                stats_saved: Mutex::new(stats.clone()),
                stats: Mutex::new(stats),
                state: Mutex::new(State {
                    table,
                    devices: Vec::new(),
                    engines: HashMap::new(),
                    settings: HashMap::new(),
                    pending: VecDeque::new(),
                    background: HashMap::new(),
                    writers: HashMap::new(),
                }),
                runtime: Mutex::new(None),
            }),
        };
        services.refresh(false)?;
        Ok(services)
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The event bus: subscribe here for IWMPEvents2/4 events.
    pub fn events(&self) -> &EventBus {
        &self.inner.events
    }

    /// A library track and the names of the library playlists it is in now (for the COM
    /// layer's media-item object); `None` when the library no longer has the track, or when
    /// the library cannot be read at once.
    ///
    /// It is called from event sinks, which run while `step` holds the library's read lock on
    /// the same thread: a blocking second read would deadlock behind a waiting writer, so this
    /// only tries.
    #[cfg_attr(not(all(windows, feature = "com")), allow(dead_code))]
    pub(crate) fn library_track(
        &self,
        id: crate::library::TrackId,
    ) -> Option<(crate::library::Track, Vec<String>)> {
        let library = match self.inner.library.try_read() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        let track = library.track(id)?.clone();
        let member_of = library
            .playlists()
            .iter()
            .filter(|p| p.resolve(&*library, &*self.inner.clock).contains(&id))
            .map(|p| p.name.clone())
            .collect();
        Some((track, member_of))
    }

    /// This library's id, as written in device markers.
    pub fn library_id(&self) -> String {
        self.lock().table.library_id.clone()
    }

    /// A copy of the partnership table.
    pub fn partnerships(&self) -> PartnershipTable {
        self.lock().table.clone()
    }

    /// A copy of the stats store.
    pub fn stats(&self) -> StatsStore {
        self.inner
            .stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// IWMPSyncServices::get_deviceCount: connected devices plus partnered ones that are away.
    pub fn device_count(&self) -> usize {
        self.lock().devices.len()
    }

    /// IWMPSyncServices::getDevice, 0-based.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] for an index past the end.
    pub fn device(&self, index: usize) -> Result<SyncDevice> {
        // One look under the lock: the error's count must not take it again (it is held until
        // the end of the statement, and a second lock would wait for ever).
        let (key, count) = {
            let st = self.lock();
            (
                st.devices.get(index).map(|d| d.key.clone()),
                st.devices.len(),
            )
        };
        let key = key.ok_or_else(|| {
            Error::InvalidArg
                .context("no such device")
                .subject(format!("index {index} (there are {count} devices)"))
        })?;
        Ok(SyncDevice {
            services: self.clone(),
            key,
        })
    }

    /// The device with this key (its serial number, see [`device_key`](super::device_key)),
    /// as events name it.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] when no such device is known.
    pub fn device_by_key(&self, key: &str) -> Result<SyncDevice> {
        if self.lock().devices.iter().any(|d| d.key == key) {
            Ok(SyncDevice {
                services: self.clone(),
                key: key.to_owned(),
            })
        } else {
            Err(Error::InvalidArg
                .context("no such device")
                .subject(format!("'{key}'")))
        }
    }

    /// Does the queued work and notices arrivals and removals: DeviceConnect and
    /// DeviceDisconnect events, CreatePartnershipComplete, DeviceEstimation, and sync on
    /// connect for partnered devices that ask for it (the sync then runs as the host steps it).
    ///
    /// # Errors
    /// The manager's errors listing devices.
    pub fn poll(&self) -> Result<()> {
        self.refresh(true)?;
        loop {
            let next = self.lock().pending.pop_front();
            match next {
                None => break,
                Some(Pending::Partnership(key)) => self.complete_partnership(&key),
                Some(Pending::Estimate {
                    key,
                    non_rule,
                    rules,
                }) => self.complete_estimate(&key, non_rule.as_deref(), rules.as_deref()),
            }
        }
        Ok(())
    }

    pub(super) fn engine(&self, key: &str) -> SyncEngine {
        let mut st = self.lock();
        st.engines
            .entry(key.to_owned())
            .or_insert_with(|| SyncEngine::new(key, self.inner.events.clone()))
            .clone()
    }

    /// Takes the device's writer lock for this library unless it holds it already, and keeps
    /// it until [`release_writer`](Self::release_writer). Returns whether this call took it.
    /// A provider without a lock model ([`Error::NotSupported`]) lets the sync run without.
    ///
    /// # Errors
    /// [`Error::Busy`] while another writer holds the device (see
    /// [`SyncDevice::lock_holder`]); the provider's errors.
    pub(super) fn take_writer(&self, key: &str, device: &WmdmDevice) -> Result<bool> {
        if self.lock().writers.contains_key(key) {
            return Ok(false);
        }
        match device.lock_writer(&LockHolder::this_process()) {
            Ok(lock) => {
                self.lock().writers.insert(key.to_owned(), lock);
                Ok(true)
            }
            Err(err) if err == Error::NotSupported => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Releases the device's writer lock, if this library holds it.
    pub(super) fn release_writer(&self, key: &str) {
        let lock = self.lock().writers.remove(key);
        // Dropped outside the state lock: a provider's release may do I/O.
        drop(lock);
    }

    /// The writer lock for a short job (making or deleting a partnership): released when the
    /// returned value is dropped, unless a session already held it before.
    pub(super) fn writer_for(&self, key: &str, device: &WmdmDevice) -> Result<WriterScope> {
        let took = self.take_writer(key, device)?;
        Ok(WriterScope {
            services: took.then(|| (self.clone(), key.to_owned())),
        })
    }

    pub(super) fn set_status(&self, key: &str, status: SyncDeviceStatus) {
        let changed = {
            let mut st = self.lock();
            match st.devices.iter_mut().find(|k| k.key == key) {
                Some(k) if k.status != status => {
                    k.status = status;
                    true
                }
                _ => false,
            }
        };
        if changed {
            self.inner.events.emit(SyncEvent::DeviceStatusChange {
                device: key.to_owned(),
                status,
            });
        }
    }

    pub(super) fn complete_estimate(
        &self,
        key: &str,
        non_rule: Option<&Playlist>,
        rules: Option<&Playlist>,
    ) {
        let d = SyncDevice {
            services: self.clone(),
            key: key.to_owned(),
        };
        let engine = self.engine(key);
        let result = d.plan_estimate(non_rule, rules);
        engine.set_estimating(false);
        let (result, used, space) = match result {
            Ok(p) => (Ok(()), p.totals.bytes_owned_after, p.totals.budget),
            Err(e) => (Err(e), 0, 0),
        };
        self.inner.events.emit(SyncEvent::DeviceEstimation {
            device: key.to_owned(),
            result,
            estimated_used: used,
            estimated_space: space,
        });
    }
}

/// Releases a writer lock taken for one job when dropped.
pub(super) struct WriterScope {
    services: Option<(SyncServices, String)>,
}

impl Drop for WriterScope {
    fn drop(&mut self) {
        if let Some((services, key)) = self.services.take() {
            services.release_writer(&key);
        }
    }
}

impl SyncDevice {
    pub(super) fn with<T>(&self, f: impl FnOnce(&Known, &PartnershipTable) -> T) -> Result<T> {
        let st = self.services.lock();
        Ok(f(st.known(&self.key)?, &st.table))
    }

    pub(super) fn connected_device(&self) -> Result<WmdmDevice> {
        self.with(|k, _| k.device.clone())?.ok_or(Error::NoPda)
    }

    /// The device's key, which events use to name it: its serial number (the same text as
    /// [`device_id`](Self::device_id)), so it stays the same wherever the device is mounted;
    /// the canonical name only for a device that reports no serial (see
    /// [`device_key`](super::device_key)).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// IWMPSyncDevice::get_friendlyName.
    pub fn friendly_name(&self) -> String {
        self.with(|k, _| k.friendly.clone()).unwrap_or_default()
    }

    /// IWMPSyncDevice::put_friendlyName (kept in the partnership when there is one).
    ///
    /// # Errors
    /// [`Error::NoPda`] for a device no longer known; I/O errors saving the table.
    pub fn set_friendly_name(&self, name: &str) -> Result<()> {
        let mut st = self.services.lock();
        let k = st
            .devices
            .iter_mut()
            .find(|k| k.key == self.key)
            .ok_or(Error::NoPda)?;
        k.friendly = name.to_owned();
        if let Some(p) = st.table.for_device_mut(&self.key) {
            p.friendly_name = name.to_owned();
            st.table.save(&self.services.inner.state_dir)?;
        }
        Ok(())
    }

    /// IWMPSyncDevice::get_deviceName.
    pub fn device_name(&self) -> String {
        self.with(|k, _| k.name.clone()).unwrap_or_default()
    }

    /// Who holds the device's writer lock now (another sync, here or in another process), for
    /// a message after [`start`](Self::start) or
    /// [`create_partnership`](Self::create_partnership) failed with [`Error::Busy`]. `None`
    /// when nobody does, when the device is away, or when its provider has no lock model.
    pub fn lock_holder(&self) -> Option<LockHolder> {
        self.connected_device().ok()?.writer_holder().ok().flatten()
    }

    /// IWMPSyncDevice::get_deviceId: the serial number.
    pub fn device_id(&self) -> String {
        self.with(|k, _| k.serial.clone()).unwrap_or_default()
    }

    /// IWMPSyncDevice::get_partnershipIndex: 1-16, or 0.
    pub fn partnership_index(&self) -> u8 {
        self.with(|k, t| {
            if k.status == SyncDeviceStatus::PartnershipExists {
                t.for_device(&self.key).map_or(0, |p| p.index)
            } else {
                0
            }
        })
        .unwrap_or(0)
    }

    /// IWMPSyncDevice::get_connected.
    pub fn connected(&self) -> bool {
        self.with(|k, _| k.device.is_some()).unwrap_or(false)
    }

    /// IWMPSyncDevice::get_status.
    pub fn status(&self) -> SyncDeviceStatus {
        self.with(|k, _| k.status).unwrap_or_default()
    }

    /// IWMPSyncDevice::get_syncState.
    pub fn sync_state(&self) -> SyncState {
        self.services.engine(&self.key).state()
    }

    /// IWMPSyncDevice::get_progress: 0-100 for the whole device.
    pub fn progress(&self) -> u8 {
        self.services.engine(&self.key).progress()
    }

    /// The device's engine (shared by every handle).
    pub fn engine(&self) -> SyncEngine {
        self.services.engine(&self.key)
    }

    /// IWMPSyncDevice::isIdentical.
    pub fn is_identical(&self, other: &SyncDevice) -> bool {
        self.key == other.key && Arc::ptr_eq(&self.services.inner, &other.services.inner)
    }

    /// The layout this partnership uses (template, folders, formats, name rules). The reserve
    /// comes from PercentSpaceReserved and the filter from SyncFilter.
    pub fn settings(&self) -> PlanSettings {
        let st = self.services.lock();
        let mut s = st.settings.get(&self.key).cloned().unwrap_or_default();
        if let Some(p) = st.table.for_device(&self.key) {
            s.reserve_percent = p.settings.reserve_percent;
            s.filter = SyncFilter(p.settings.sync_filter);
        }
        s
    }

    /// Sets the layout (the reserve is set through PercentSpaceReserved and the filter
    /// through SyncFilter instead).
    pub fn set_settings(&self, settings: PlanSettings) {
        self.services
            .lock()
            .settings
            .insert(self.key.clone(), settings);
        self.services.settings_changed(&self.key);
    }
}
