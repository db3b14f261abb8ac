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
}

/// Something that wants events. Closures `Fn(&SyncEvent)` implement it.
pub trait SyncEventSink: Send + Sync {
    /// Called once per event, in order, on the thread that caused it.
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

/// Delivers events to every subscriber.
#[derive(Default)]
pub struct EventBus {
    next: AtomicU64,
    sinks: Mutex<Vec<(u64, Arc<dyn SyncEventSink>)>>,
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

    /// Sends an event to every subscriber.
    pub fn emit(&self, event: SyncEvent) {
        // Clone the list so a subscriber may (un)subscribe from inside its callback.
        let sinks: Vec<Arc<dyn SyncEventSink>> = self
            .sinks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(_, s)| s.clone())
            .collect();
        for s in sinks {
            s.on_event(&event);
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
