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

impl fmt::Display for SyncItem {
    /// `track 00000000000000ab`, `playlist 'Road trip'`, `device object 'Music/a.mp3'`, or
    /// `the sync` for a device object with no path (the engine's whole-sync halt).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncItem::Track(id) => write!(f, "track {id}"),
            SyncItem::Playlist(name) => write!(f, "playlist '{name}'"),
            // The engine names no object when the whole sync halted.
            SyncItem::DeviceObject(path) if path.is_empty() => f.write_str("the sync"),
            SyncItem::DeviceObject(path) => write!(f, "device object '{path}'"),
        }
    }
}

/// A device status in words (the WMP names are for COM; a log line is for people).
fn status_words(status: SyncDeviceStatus) -> &'static str {
    match status {
        SyncDeviceStatus::Unknown => "unknown",
        SyncDeviceStatus::PartnershipExists => "partnered with this library",
        SyncDeviceStatus::PartnershipDeclined => "partnership declined",
        SyncDeviceStatus::PartnershipAnother => "partnered with another library",
        SyncDeviceStatus::ManualDevice => "manual transfer only",
        SyncDeviceStatus::NewDevice => "new to this library",
    }
}

/// A sync state in words.
fn state_words(state: SyncState) -> &'static str {
    match state {
        SyncState::Unknown => "unknown",
        SyncState::Synchronizing => "synchronizing",
        SyncState::Stopped => "stopped",
        SyncState::Estimating => "estimating",
    }
}

impl fmt::Display for SyncEvent {
    /// One line for a log or a console: the device's key, then what happened; an error is
    /// given with its causes ([`Error::report`]). For example `SN123: track 00000000000000ab
    /// failed: copying to the device 'Music/a.mp3': the device is full (...)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncEvent::DeviceConnect { device } => write!(f, "{device}: connected"),
            SyncEvent::DeviceDisconnect { device } => write!(f, "{device}: disconnected"),
            SyncEvent::DeviceStatusChange { device, status } => {
                write!(f, "{device}: status: {}", status_words(*status))
            }
            SyncEvent::DeviceSyncStateChange { device, state } => {
                write!(f, "{device}: sync {}", state_words(*state))
            }
            SyncEvent::DeviceSyncError {
                device,
                item,
                error,
            } => write!(f, "{device}: {item} failed: {}", error.report()),
            SyncEvent::CreatePartnershipComplete { device, result } => match result {
                Ok(()) => write!(f, "{device}: partnership created"),
                Err(e) => write!(f, "{device}: partnership failed: {}", e.report()),
            },
            SyncEvent::DeviceEstimation {
                device,
                result,
                estimated_used,
                estimated_space,
            } => match result {
                Ok(()) => write!(
                    f,
                    "{device}: estimate: {estimated_used} bytes used of {estimated_space} \
                     available"
                ),
                Err(e) => write!(f, "{device}: estimate failed: {}", e.report()),
            },
            SyncEvent::DeviceProgress { device, percent } => {
                write!(f, "{device}: sync {percent}%")
            }
        }
    }
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

    #[test]
    fn display_is_one_readable_line_per_event() {
        let io = std::io::Error::other("cable pulled");
        let error = Error::with_source(crate::error::ErrorCode::Fail, io)
            .context("copying to the device")
            .subject("'Music/a.mp3'");
        let cases = [
            (
                SyncEvent::DeviceConnect {
                    device: "SN1".into(),
                },
                "SN1: connected".to_string(),
            ),
            (
                SyncEvent::DeviceDisconnect {
                    device: "SN1".into(),
                },
                "SN1: disconnected".into(),
            ),
            (
                SyncEvent::DeviceStatusChange {
                    device: "SN1".into(),
                    status: SyncDeviceStatus::PartnershipExists,
                },
                "SN1: status: partnered with this library".into(),
            ),
            (
                SyncEvent::DeviceSyncStateChange {
                    device: "SN1".into(),
                    state: SyncState::Synchronizing,
                },
                "SN1: sync synchronizing".into(),
            ),
            (
                SyncEvent::DeviceSyncError {
                    device: "SN1".into(),
                    item: SyncItem::Track(TrackId(0xab)),
                    error: error.clone(),
                },
                format!("SN1: track 00000000000000ab failed: {}", error.report()),
            ),
            (
                SyncEvent::DeviceSyncError {
                    device: "SN1".into(),
                    item: SyncItem::Playlist("Road".into()),
                    error: Error::Busy,
                },
                format!("SN1: playlist 'Road' failed: {}", Error::Busy),
            ),
            (
                SyncEvent::DeviceSyncError {
                    device: "SN1".into(),
                    item: SyncItem::DeviceObject(String::new()),
                    error: Error::Busy,
                },
                format!("SN1: the sync failed: {}", Error::Busy),
            ),
            (
                SyncEvent::CreatePartnershipComplete {
                    device: "SN1".into(),
                    result: Ok(()),
                },
                "SN1: partnership created".into(),
            ),
            (
                SyncEvent::DeviceEstimation {
                    device: "SN1".into(),
                    result: Ok(()),
                    estimated_used: 10,
                    estimated_space: 20,
                },
                "SN1: estimate: 10 bytes used of 20 available".into(),
            ),
            (
                SyncEvent::DeviceEstimation {
                    device: "SN1".into(),
                    result: Err(Error::Abort),
                    estimated_used: 0,
                    estimated_space: 0,
                },
                format!("SN1: estimate failed: {}", Error::Abort),
            ),
            (
                SyncEvent::DeviceProgress {
                    device: "SN1".into(),
                    percent: 42,
                },
                "SN1: sync 42%".into(),
            ),
        ];
        for (event, want) in cases {
            let got = event.to_string();
            assert_eq!(got, want);
            assert_eq!(got.lines().count(), 1, "{got}");
        }
        // The error line carries the context and the underlying cause, not only the code.
        let line = SyncEvent::DeviceSyncError {
            device: "SN1".into(),
            item: SyncItem::DeviceObject("Music/a.mp3".into()),
            error,
        }
        .to_string();
        assert!(
            line.starts_with(
                "SN1: device object 'Music/a.mp3' failed: copying to the device 'Music/a.mp3': "
            ),
            "{line}"
        );
        assert!(line.ends_with(": cable pulled"), "{line}");
    }
}
