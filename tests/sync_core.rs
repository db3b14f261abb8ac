//! The engine around its sans-IO core (docs/sync.md, "The core and its driver"): a start and
//! a plan while a sync runs are answered alike, the state is never left at Synchronizing once
//! a sync has ended (completed, stopped, or the device pulled), and progress follows.

mod common;

use common::sync::*;
use wmdm::Error;
use wmdm::sync::{PlanSettings, SyncContext, SyncEvent, SyncState};

fn states(events: &[SyncEvent]) -> Vec<SyncState> {
    events
        .iter()
        .filter_map(|e| match e {
            SyncEvent::DeviceSyncStateChange { state, .. } => Some(*state),
            _ => None,
        })
        .collect()
}

#[test]
fn a_start_and_a_plan_while_a_sync_runs_are_both_out_of_sequence_for_the_engine() {
    let f = fixture_partnered_device(3, 100, 1 << 20);
    f.select("All", &[1, 2, 3], 1);
    let d = f.sync_device();
    d.start().unwrap();
    assert!(d.engine().is_running());
    let engine = d.engine();
    let device = f.manager.devices().unwrap().remove(0);
    let root = device.storages().unwrap().remove(0);
    let settings = PlanSettings::default();
    let ctx = SyncContext {
        library_id: "other",
        index: 1,
        settings: &settings,
        clock: &f.clock,
        stats: None,
        selection: Some(&[]),
        skipped: None,
        device: None,
    };
    let library = f.library.read().unwrap();
    assert_eq!(
        engine.start(&root, &*library, &ctx).unwrap_err(),
        Error::CallOutOfSequence
    );
    assert_eq!(
        engine.plan(&root, &*library, &ctx).unwrap_err(),
        Error::CallOutOfSequence
    );
    drop(library);
    assert_eq!(d.plan().unwrap_err(), Error::CallOutOfSequence);
    // IWMPSyncDevice::start on a syncing device: the sync asked for is the one running. The
    // device's writer lock stays with it.
    d.start().unwrap();
    assert!(d.engine().is_running());
    assert!(d.lock_holder().is_some());
    while d.step() {}
    assert_eq!(d.engine().state(), SyncState::Stopped);
    assert!(d.lock_holder().is_none());
    assert_eq!(d.engine().summary().copied, 3);
    assert_eq!(
        states(&f.drain()),
        vec![SyncState::Synchronizing, SyncState::Stopped]
    );
}

#[test]
fn the_state_is_never_left_at_synchronizing_after_a_sync_ends() {
    let f = fixture_partnered_device(4, 100, 1 << 20);
    f.select("All", &[1, 2, 3, 4], 1);
    let d = f.sync_device();
    // Completed: the step that applies the last operation ends it.
    d.start().unwrap();
    let mut steps = 0;
    while d.step() {
        steps += 1;
        assert_eq!(d.engine().state(), SyncState::Synchronizing);
    }
    assert!(steps > 0);
    assert_eq!(
        (d.engine().state(), d.progress()),
        (SyncState::Stopped, 100)
    );
    assert!(d.engine().summary().completed);
    // Stopped between steps.
    f.select("More", &[1, 2], 2);
    f.lib().remove_track(wmdm::library::TrackId(4));
    d.start().unwrap();
    d.stop();
    assert_eq!(d.engine().state(), SyncState::Stopped);
    assert!(!d.step());
    // The device pulled mid-sync: the sync is abandoned, its journal kept.
    f.lib().remove_track(wmdm::library::TrackId(3));
    d.start().unwrap();
    f.device.disconnect();
    while d.step() {}
    assert_eq!(d.engine().state(), SyncState::Stopped);
    assert!(!d.engine().summary().completed);
    let seen = states(&f.drain());
    assert_eq!(seen.last(), Some(&SyncState::Stopped), "{seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0] != w[1]),
        "each change once: {seen:?}"
    );
}

/// Records, at each state change, the state, progress and completion the engine shows then.
struct Reader {
    engine: std::sync::Mutex<Option<wmdm::sync::SyncEngine>>,
    seen: std::sync::Mutex<Vec<(SyncState, SyncState, u8, bool)>>,
}

impl wmdm::sync::SyncEventSink for Reader {
    fn on_event(&self, event: &SyncEvent) {
        if let SyncEvent::DeviceSyncStateChange { state, .. } = event
            && let Some(engine) = self.engine.lock().unwrap().as_ref()
        {
            self.seen.lock().unwrap().push((
                *state,
                engine.state(),
                engine.progress(),
                engine.summary().completed,
            ));
        }
    }
}

#[test]
fn a_subscriber_called_with_a_state_change_reads_the_new_state_progress_and_summary() {
    let f = fixture_partnered_device(3, 100, 1 << 20);
    f.select("All", &[1, 2, 3], 1);
    let d = f.sync_device();
    let reader = std::sync::Arc::new(Reader {
        engine: std::sync::Mutex::new(Some(d.engine())),
        seen: std::sync::Mutex::new(Vec::new()),
    });
    let _subscription = f.services.events().subscribe(reader.clone());
    d.run(&mut |_| {}).unwrap();
    let seen = reader.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            (SyncState::Synchronizing, SyncState::Synchronizing, 0, false),
            (SyncState::Stopped, SyncState::Stopped, 100, true),
        ]
    );
}
