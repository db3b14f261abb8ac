//! One device's worker thread: starts its syncs when asked and steps every running sync of
//! the device to its end.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::super::services::{SyncDevice, SyncServices};

/// Work for a device's worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Request {
    /// Start a sync unless one runs (sync on connect).
    Start,
    /// A sync was started on another thread: step it to its end.
    Run,
    /// The selection or the settings changed: sync again, after the running sync if one
    /// runs (WMP starts a new sync when the sync list changes while the device is here).
    Resync,
}

#[derive(Default)]
struct Signal {
    start: bool,
    run: bool,
    again: bool,
    quit: bool,
}

impl Signal {
    fn any(&self) -> bool {
        self.start || self.run || self.again || self.quit
    }
}

pub(super) struct Worker {
    key: String,
    progress_interval: Duration,
    signal: Mutex<Signal>,
    wake: Condvar,
}

impl Worker {
    pub(super) fn new(key: &str, progress_interval: Duration) -> Worker {
        Worker {
            key: key.to_owned(),
            progress_interval,
            signal: Mutex::new(Signal::default()),
            wake: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Signal> {
        self.signal.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn request(&self, request: Request) {
        {
            let mut s = self.lock();
            match request {
                Request::Start => s.start = true,
                Request::Run => s.run = true,
                Request::Resync => s.again = true,
            }
        }
        self.wake.notify_all();
    }

    fn quitting(&self) -> bool {
        self.lock().quit
    }

    /// Ends the worker: its running sync stops between steps (from this thread at once
    /// when the worker is between steps, else when its step returns).
    pub(super) fn quit(&self, services: &SyncServices) {
        self.lock().quit = true;
        self.wake.notify_all();
        let device = self.device(services);
        if device.engine().is_running() {
            device.stop();
        }
    }

    fn device(&self, services: &SyncServices) -> SyncDevice {
        SyncDevice {
            services: services.clone(),
            key: self.key.clone(),
        }
    }

    /// The thread's loop: waits for work, does it, until asked to quit.
    pub(super) fn run(&self, services: &SyncServices) {
        let device = self.device(services);
        let engine = device.engine();
        engine.set_progress_events(Some(self.progress_interval));
        loop {
            let signal = {
                let mut s = self.lock();
                while !s.any() {
                    s = self.wake.wait(s).unwrap_or_else(PoisonError::into_inner);
                }
                std::mem::take(&mut *s)
            };
            if signal.quit {
                // Put it back: `quitting` is read between steps.
                self.lock().quit = true;
                break;
            }
            let running = engine.is_running();
            if running {
                self.drive(&device);
            }
            if (signal.start && !running) || signal.again {
                if self.quitting() {
                    break;
                }
                match device.start() {
                    Ok(()) => self.drive(&device),
                    Err(e) => {
                        tracing::warn!(error = %e, device = %self.key, "the sync did not start");
                    }
                }
            }
        }
        // A stop that came while the worker was waiting for its step.
        if engine.is_running() {
            device.stop();
        }
    }

    /// Steps the running sync to its end, giving the engine the time after each step (it
    /// sends DeviceProgress at most once per `progress_interval`), and stops it between
    /// steps when the worker is asked to quit.
    fn drive(&self, device: &SyncDevice) {
        let engine = device.engine();
        loop {
            if self.quitting() {
                if engine.is_running() {
                    device.stop();
                }
                return;
            }
            if !device.step() {
                return;
            }
            engine.handle_time(Instant::now());
        }
    }
}
