//! The runtime that schedules the sync by itself (quinn over quinn-proto: a thin driver of
//! threads around the host-driven core).
//!
//! [`SyncServices::start_runtime`] starts:
//!
//! * one **discovery** thread: every [`RuntimeOptions::poll_interval`], or at once when woken
//!   (a partnership or an estimate queued, a shutdown), it runs the rescan hooks
//!   ([`RuntimeOptions::rescan`]), refreshes the manager's device cache
//!   ([`DeviceManager::poll_changes`](crate::manager::DeviceManager::poll_changes)), then
//!   [`SyncServices::poll`]: arrivals, removals, queued
//!   createPartnership and estimateSyncSize completing, sync on connect; then it looks for
//!   selections that changed under connected automatic partnerships;
//! * one **worker** per device, made the first time the device has work: it starts a sync
//!   when asked (sync on connect, a changed selection or setting) and steps every running
//!   sync of its device to the end, however it was started;
//! * one **dispatcher**: every event goes out from it, in the order emitted, never while the
//!   crate holds a lock of its own.
//!
//! Nothing busy-waits: threads sleep on condition variables (the discovery thread with the
//! poll interval as its timeout) or on the dispatcher's channel.
//!
//! [`SyncRuntime::shutdown`] (or dropping the runtime) stops every running sync cleanly
//! ([`SyncDevice::stop`](crate::sync::SyncDevice::stop): the step in progress is cancelled, the batch written so far is
//! committed, the ledger written; the journal stays consistent for the next start), joins the
//! threads, and hands event delivery back to the emitting thread.

mod hooks;
mod worker;

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use super::services::SyncServices;
use crate::error::{Error, Result};
use worker::{Request, Worker};

/// A hook the discovery thread calls before each look at the devices, for providers that
/// notice arrivals only when asked (the folder provider's
/// [`FsProvider::poll`](crate::providers::fs::FsProvider::poll)).
pub type RescanHook = Arc<dyn Fn() + Send + Sync>;

/// How a [`SyncRuntime`] runs.
#[derive(Clone)]
pub struct RuntimeOptions {
    /// How often the discovery thread looks for arrivals and removals (1 s by default).
    /// Queued work (createPartnership, estimateSyncSize) does not wait for it.
    pub poll_interval: Duration,
    /// The shortest time between two DeviceProgress events of one device (250 ms by
    /// default); a sync's final value is always sent.
    pub progress_interval: Duration,
    /// Called before each look at the devices.
    pub rescan: Vec<RescanHook>,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            poll_interval: Duration::from_secs(1),
            progress_interval: Duration::from_millis(250),
            rescan: Vec::new(),
        }
    }
}

impl std::fmt::Debug for RuntimeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeOptions")
            .field("poll_interval", &self.poll_interval)
            .field("progress_interval", &self.progress_interval)
            .field("rescan", &self.rescan.len())
            .finish()
    }
}

impl RuntimeOptions {
    /// Sets the discovery interval.
    pub fn poll_interval(mut self, every: Duration) -> RuntimeOptions {
        self.poll_interval = every;
        self
    }

    /// Adds a hook the discovery thread calls before each look at the devices.
    pub fn rescan(mut self, hook: impl Fn() + Send + Sync + 'static) -> RuntimeOptions {
        self.rescan.push(Arc::new(hook));
        self
    }
}

#[derive(Default)]
struct HubState {
    quit: bool,
    // The discovery thread was asked to look now.
    woken: bool,
    workers: HashMap<String, (Arc<Worker>, Option<JoinHandle<()>>)>,
    // The fingerprint of each automatic partnership's selection when last looked at.
    selections: HashMap<String, u64>,
}

/// What the services and the threads share. It holds no [`SyncServices`], so the services
/// can point at it without a cycle.
pub(crate) struct Hub {
    options: RuntimeOptions,
    state: Mutex<HubState>,
    wake: Condvar,
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, HubState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Asks the discovery thread to look now (queued work is waiting).
    pub(crate) fn wake(&self) {
        self.lock().woken = true;
        self.wake.notify_all();
    }

    /// Hands a device's work to its worker, making the worker the first time.
    pub(crate) fn request(&self, services: &SyncServices, key: &str, request: Request) {
        let mut st = self.lock();
        if st.quit {
            return;
        }
        if let Some((w, _)) = st.workers.get(key) {
            w.request(request);
            return;
        }
        let w = Arc::new(Worker::new(key, self.options.progress_interval));
        w.request(request);
        let thread = {
            let w = w.clone();
            let services = services.clone();
            std::thread::Builder::new()
                .name(format!("wmdm-sync {key}"))
                .spawn(move || w.run(&services))
        };
        match thread {
            Ok(handle) => {
                st.workers.insert(key.to_owned(), (w, Some(handle)));
            }
            Err(e) => tracing::warn!(error = %e, device = key, "could not start a sync worker"),
        }
    }
}

/// The threads that run a [`SyncServices`] by themselves; see the module's documentation.
/// Dropping it shuts it down as [`shutdown`](Self::shutdown) does.
pub struct SyncRuntime {
    services: SyncServices,
    hub: Arc<Hub>,
    discovery: Option<JoinHandle<()>>,
    dispatcher: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SyncRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncRuntime")
            .field("options", &self.hub.options)
            .finish_non_exhaustive()
    }
}

impl SyncServices {
    /// Starts the runtime: discovery, per-device workers and the event dispatcher (see
    /// [`SyncRuntime`]). While it runs, createPartnership and estimateSyncSize complete by
    /// themselves, partnered devices with SyncOnConnect sync when they arrive, every started
    /// sync runs to its end without [`SyncDevice::step`](super::SyncDevice::step), and events
    /// come from the dispatcher thread. The host-driven calls keep working alongside.
    ///
    /// # Errors
    /// [`Error::CallOutOfSequence`] when a runtime already runs these services;
    /// [`Error::OutOfMemory`] when a thread cannot be started.
    pub fn start_runtime(&self, options: RuntimeOptions) -> Result<SyncRuntime> {
        let hub = Arc::new(Hub {
            options,
            state: Mutex::new(HubState::default()),
            wake: Condvar::new(),
        });
        {
            let mut slot = self.runtime_slot();
            if slot.is_some() {
                return Err(Error::CallOutOfSequence);
            }
            *slot = Some(hub.clone());
        }
        let mut runtime = SyncRuntime {
            services: self.clone(),
            hub: hub.clone(),
            discovery: None,
            dispatcher: None,
        };
        let (tx, rx) = mpsc::channel();
        let bus = self.inner.events.clone();
        runtime.dispatcher = Some(spawn("wmdm-sync events", move || {
            // Ends when the bus drops its sender (shutdown) and the queue is drained.
            for event in rx {
                bus.deliver_now(&event);
            }
        })?);
        self.inner.events.attach_queue(tx);
        // The selections as they are now: a change from here on is a change, whenever the
        // discovery thread first looks.
        let mut seen = HashMap::new();
        let _ = self.changed_selections(&mut seen);
        hub.lock().selections = seen;
        let services = self.clone();
        let h = hub.clone();
        runtime.discovery = Some(spawn("wmdm-sync discovery", move || {
            discover(&services, &h);
        })?);
        // The devices already here when the runtime starts arrive now, as they do for WMP
        // when it starts with a player plugged in.
        let here: Vec<String> = {
            let st = self.lock();
            st.devices
                .iter()
                .filter(|k| st.automatic(&k.key))
                .map(|k| k.key.clone())
                .collect()
        };
        for key in here {
            hub.request(self, &key, Request::Start);
        }
        Ok(runtime)
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .map_err(|e| {
            tracing::warn!(error = %e, thread = name, "could not start a runtime thread");
            Error::OutOfMemory
        })
}

/// The discovery thread's loop.
fn discover(services: &SyncServices, hub: &Hub) {
    loop {
        for hook in &hub.options.rescan {
            hook();
        }
        // The manager's device cache is what `poll` reads: bring it up to date (its
        // arrival and removal notifications go to the manager's own subscribers).
        if let Err(e) = services.inner.manager.poll_changes() {
            tracing::warn!(error = %e, "the runtime could not look for device changes");
        }
        if let Err(e) = services.poll() {
            tracing::warn!(error = %e, "the runtime could not list devices");
        }
        // Worked out without the hub's lock: it reads the library, which a sync's step may
        // hold for as long as a copy takes.
        let mut seen = std::mem::take(&mut hub.lock().selections);
        let changed = services.changed_selections(&mut seen);
        hub.lock().selections = seen;
        for key in changed {
            hub.request(services, &key, Request::Resync);
        }
        let mut st = hub.lock();
        if !st.quit && !st.woken {
            st = hub
                .wake
                .wait_timeout(st, hub.options.poll_interval)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        if st.quit {
            return;
        }
        st.woken = false;
    }
}

impl SyncRuntime {
    /// The services this runtime runs.
    pub fn services(&self) -> &SyncServices {
        &self.services
    }

    /// Asks every thread to end, from any thread, without waiting (a signal handler's
    /// call): each running sync is stopped between steps ([`SyncDevice::stop`]), discovery
    /// ends, and no new work starts. [`shutdown`](Self::shutdown) then waits for it.
    ///
    /// [`SyncDevice::stop`]: super::SyncDevice::stop
    pub fn request_shutdown(&self) {
        let workers: Vec<Arc<Worker>> = {
            let mut st = self.hub.lock();
            st.quit = true;
            st.workers.values().map(|(w, _)| w.clone()).collect()
        };
        self.hub.wake.notify_all();
        for w in workers {
            w.quit(&self.services);
        }
    }

    /// Stops the runtime: every running sync stops cleanly (what was copied stays, the
    /// ledger is written, the journal stays consistent for the next start), the threads are
    /// joined, and events are delivered on the emitting thread again. Not to be called from
    /// an event sink (the dispatcher would wait for itself).
    pub fn shutdown(mut self) {
        self.stop_threads();
    }

    fn stop_threads(&mut self) {
        self.request_shutdown();
        if let Some(d) = self.discovery.take() {
            let _ = d.join();
        }
        let handles: Vec<JoinHandle<()>> = self
            .hub
            .lock()
            .workers
            .values_mut()
            .filter_map(|(_, h)| h.take())
            .collect();
        for h in handles {
            let _ = h.join();
        }
        {
            let mut slot = self.services.runtime_slot();
            if slot.as_ref().is_some_and(|h| Arc::ptr_eq(h, &self.hub)) {
                *slot = None;
            }
        }
        for engine in self.services.engines() {
            engine.set_progress_events(None);
        }
        self.services.inner.events.detach_queue();
        if let Some(d) = self.dispatcher.take() {
            let _ = d.join();
        }
    }
}

impl Drop for SyncRuntime {
    fn drop(&mut self) {
        self.stop_threads();
    }
}
