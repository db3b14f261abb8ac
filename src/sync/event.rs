//! Sync events (IWMPEvents2's device events and IWMPEvents4's DeviceEstimation) and the sync
//! engine's state (WMPSyncState).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};

use super::partnership::SyncDeviceStatus;
use crate::error::Error;
use crate::library::TrackId;

/// WMPSyncState: what a device's sync engine is doing (the crate's one type for it,
/// [`flags::SyncState`](crate::flags::SyncState), re-exported here).
pub use crate::flags::SyncState;

/// The item a [`SyncEvent::DeviceSyncError`] is about (WMP passes the media item).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncItem {
    /// A library track.
    Track(TrackId),
    /// A playlist, by name.
    Playlist(String),
    /// A device object, by path.
    DeviceObject(String),
}

/// One event, to every subscriber. `device` is the device's key (its serial number, see [`device_key`](super::device_key)), which
/// [`SyncServices::device_by_key`](super::SyncServices::device_by_key) turns back into a
/// handle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncEvent {
    /// IWMPEvents2::DeviceConnect.
    DeviceConnect {
        /// The device.
        device: String,
    },
    /// IWMPEvents2::DeviceDisconnect.
    DeviceDisconnect {
        /// The device.
        device: String,
    },
    /// IWMPEvents2::DeviceStatusChange.
    DeviceStatusChange {
        /// The device.
        device: String,
        /// Its new status.
        status: SyncDeviceStatus,
    },
    /// IWMPEvents2::DeviceSyncStateChange.
    DeviceSyncStateChange {
        /// The device.
        device: String,
        /// The engine's new state.
        state: SyncState,
    },
    /// IWMPEvents2::DeviceSyncError: one item failed; the sync goes on.
    DeviceSyncError {
        /// The device.
        device: String,
        /// What failed.
        item: SyncItem,
        /// Why.
        error: Error,
    },
    /// IWMPEvents2::CreatePartnershipComplete.
    CreatePartnershipComplete {
        /// The device.
        device: String,
        /// S_OK, or the error.
        result: Result<(), Error>,
    },
    /// IWMPEvents4::DeviceEstimation.
    DeviceEstimation {
        /// The device.
        device: String,
        /// S_OK, or E_ABORT when the estimate was cancelled.
        result: Result<(), Error>,
        /// Bytes the selection would use on the device.
        estimated_used: u64,
        /// Bytes the partnership may use (capacity after the reserve).
        estimated_space: u64,
    },
    /// The sync's progress, 0-100 for the whole device (IWMPSyncDevice::get_progress). Not a
    /// WMP event (WMP's clients poll get_progress): a [`SyncRuntime`](super::SyncRuntime)
    /// sends it while it runs a sync, at most once per
    /// [`RuntimeOptions::progress_interval`](super::RuntimeOptions::progress_interval) and
    /// only when the value changed, and a completed sync's 100 comes just before its
    /// DeviceSyncStateChange to Stopped.
    DeviceProgress {
        /// The device.
        device: String,
        /// 0-100.
        percent: u8,
    },
}

/// Something that wants events. Closures `Fn(&SyncEvent)` implement it.
pub trait SyncEventSink: Send + Sync {
    /// Called once per event, in order: on the thread that caused it when the host drives
    /// the sync, on the runtime's one dispatcher thread while a
    /// [`SyncRuntime`](super::SyncRuntime) runs (never while the crate holds a lock of its
    /// own, so a sink may call back into the services).
    fn on_event(&self, event: &SyncEvent);
}

impl<F: Fn(&SyncEvent) + Send + Sync> SyncEventSink for F {
    fn on_event(&self, event: &SyncEvent) {
        self(event)
    }
}

/// A sink that forwards to a channel; see [`EventBus::channel`].
#[derive(Debug)]
struct ChannelSink(Mutex<mpsc::Sender<SyncEvent>>);

impl SyncEventSink for ChannelSink {
    fn on_event(&self, event: &SyncEvent) {
        // A dropped receiver just stops listening.
        let _ = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(event.clone());
    }
}

/// A subscription's id, for [`EventBus::unsubscribe`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventSubscription(u64);

/// Delivers events to every subscriber: at once on the emitting thread, or, while a
/// [`SyncRuntime`](super::SyncRuntime) runs, through its dispatcher thread in the order they
/// were emitted.
#[derive(Default)]
pub struct EventBus {
    next: AtomicU64,
    sinks: Mutex<Vec<(u64, Arc<dyn SyncEventSink>)>>,
    // The runtime's dispatcher queue, while one runs. Emitting only sends here, so no sink
    // runs on a thread that holds an engine's or the services' lock.
    queue: Mutex<Option<mpsc::Sender<SyncEvent>>>,
}

impl fmt::Debug for EventBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self
            .sinks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("EventBus").field("subscribers", &n).finish()
    }
}

impl EventBus {
    /// Adds a subscriber.
    pub fn subscribe(&self, sink: Arc<dyn SyncEventSink>) -> EventSubscription {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.sinks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((id, sink));
        EventSubscription(id)
    }

    /// Subscribes a channel and returns its receiving end.
    pub fn channel(&self) -> mpsc::Receiver<SyncEvent> {
        let (tx, rx) = mpsc::channel();
        self.subscribe(Arc::new(ChannelSink(Mutex::new(tx))));
        rx
    }

    /// Removes a subscriber; false when it was not subscribed.
    pub fn unsubscribe(&self, id: EventSubscription) -> bool {
        let mut s = self.sinks.lock().unwrap_or_else(PoisonError::into_inner);
        let before = s.len();
        s.retain(|(i, _)| *i != id.0);
        s.len() != before
    }

    /// Sends an event to every subscriber (through the dispatcher while a runtime runs).
    pub fn emit(&self, event: SyncEvent) {
        let event = {
            let queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            match queue.as_ref() {
                None => event,
                Some(q) => match q.send(event) {
                    Ok(()) => return,
                    // The dispatcher is gone: deliver here rather than lose the event.
                    Err(mpsc::SendError(event)) => event,
                },
            }
        };
        self.deliver_now(&event);
    }

    /// Routes events to a dispatcher queue from now on (a runtime starting).
    pub(super) fn attach_queue(&self, queue: mpsc::Sender<SyncEvent>) {
        *self.queue.lock().unwrap_or_else(PoisonError::into_inner) = Some(queue);
    }

    /// Delivers on the emitting thread again (a runtime stopping); dropping the queue ends
    /// the dispatcher once it has delivered what it holds.
    pub(super) fn detach_queue(&self) {
        let queue = self
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(queue);
    }

    /// Calls every subscriber with `event`, on this thread.
    pub(super) fn deliver_now(&self, event: &SyncEvent) {
        // Clone the list so a subscriber may (un)subscribe from inside its callback.
        let sinks: Vec<Arc<dyn SyncEventSink>> = self
            .sinks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(_, s)| s.clone())
            .collect();
        for s in sinks {
            s.on_event(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subscriber_gets_every_event_in_order() {
        let bus = EventBus::default();
        let a = bus.channel();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let id = bus.subscribe(Arc::new(move |e: &SyncEvent| {
            s2.lock().unwrap().push(e.clone())
        }));
        let e1 = SyncEvent::DeviceConnect { device: "d".into() };
        let e2 = SyncEvent::DeviceSyncStateChange {
            device: "d".into(),
            state: SyncState::Stopped,
        };
        bus.emit(e1.clone());
        bus.emit(e2.clone());
        assert!(bus.unsubscribe(id));
        assert!(!bus.unsubscribe(id));
        bus.emit(e1.clone());
        assert_eq!(*seen.lock().unwrap(), vec![e1.clone(), e2.clone()]);
        assert_eq!(a.try_iter().collect::<Vec<_>>(), vec![e1.clone(), e2, e1]);
        assert_eq!(SyncState::Estimating as i32, 3);
    }
}
