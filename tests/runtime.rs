//! The runtime that schedules the sync by itself: sync on connect with no host loop,
//! partnerships and estimates completing alone, start and stop from other threads, a new
//! sync when the selection or a setting changes, events in order from one thread, and a
//! shutdown in the middle of a sync that the next sync recovers from.

mod common;

use std::io::Read;
use std::sync::{Arc, Condvar, Mutex, RwLock, mpsc};
use std::time::{Duration, Instant};

use common::sync::*;
use wmdm::library::{ContentHash, Library, MemoryLibrary, Playlist, Track, TrackId};
use wmdm::providers::memory::FaultPlan;
use wmdm::sync::{RuntimeOptions, SyncEvent, SyncServices, SyncState};

const KEY: &str = "S1";
const WAIT: Duration = Duration::from_secs(20);

fn fast() -> RuntimeOptions {
    RuntimeOptions::default().poll_interval(Duration::from_millis(20))
}

/// Waits for the event `want` accepts, returning every event up to and including it.
fn wait_for(
    events: &mpsc::Receiver<SyncEvent>,
    want: impl Fn(&SyncEvent) -> bool,
) -> Vec<SyncEvent> {
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(e) => {
                let done = want(&e);
                seen.push(e);
                if done {
                    return seen;
                }
            }
            Err(_) => panic!("timed out; events so far: {seen:?}"),
        }
    }
}

fn stopped(e: &SyncEvent) -> bool {
    matches!(
        e,
        SyncEvent::DeviceSyncStateChange {
            state: SyncState::Stopped,
            ..
        }
    )
}

fn no_temp_files(f: &Fixture) {
    for p in f.device.files().keys() {
        assert!(!is_sync_temp(p) && !p.ends_with(".new"), "left behind: {p}");
    }
}

/// Every track of `ids` is on the device exactly once.
fn each_once(f: &Fixture, ids: impl IntoIterator<Item = u64>, size: usize) {
    let files = f.content_files();
    for i in ids {
        let hits = files.values().filter(|b| **b == content(i, size)).count();
        assert_eq!(hits, 1, "track {i} exactly once");
    }
}

#[test]
fn a_partnered_device_syncs_on_connect_with_no_host_loop_and_events_come_in_order_from_one_thread()
{
    let f = fixture_partnered_device(6, 2000, 1 << 20);
    f.select("Mix", &[1, 2, 3, 4, 5, 6], 1);
    f.device.disconnect();
    f.services.poll().unwrap();
    f.drain();
    // A sink that calls back into the services: it would deadlock if an event were sent
    // while the crate held a lock of its own.
    let threads = Arc::new(Mutex::new(Vec::new()));
    let (tx, events) = mpsc::channel();
    {
        let threads = threads.clone();
        let services = f.services.clone();
        let tx = Mutex::new(tx);
        f.services
            .events()
            .subscribe(Arc::new(move |e: &SyncEvent| {
                let d = services.device_by_key(KEY).unwrap();
                let _ = (
                    d.progress(),
                    d.status(),
                    d.sync_state(),
                    services.device_count(),
                );
                let _ = d.item_info("SyncPercentComplete");
                threads
                    .lock()
                    .unwrap()
                    .push(std::thread::current().name().map(str::to_owned));
                let _ = tx.lock().unwrap().send(e.clone());
            }));
    }
    let runtime = f.services.start_runtime(fast()).unwrap();
    f.device.reconnect();
    let seen = wait_for(&events, stopped);
    // Connect, Synchronizing, progress rising to 100, then Stopped.
    assert_eq!(
        seen.first(),
        Some(&SyncEvent::DeviceConnect { device: KEY.into() })
    );
    assert_eq!(
        seen.get(1),
        Some(&SyncEvent::DeviceSyncStateChange {
            device: KEY.into(),
            state: SyncState::Synchronizing
        })
    );
    let progress: Vec<u8> = seen
        .iter()
        .filter_map(|e| match e {
            SyncEvent::DeviceProgress { percent, .. } => Some(*percent),
            _ => None,
        })
        .collect();
    assert!(progress.windows(2).all(|w| w[0] < w[1]), "{progress:?}");
    assert_eq!(progress.last(), Some(&100), "{seen:?}");
    assert!(matches!(
        seen.get(seen.len() - 2),
        Some(SyncEvent::DeviceProgress { percent: 100, .. })
    ));
    let d = f.sync_device();
    assert!(d.engine().summary().completed);
    assert_eq!(d.progress(), 100);
    each_once(&f, 1..=6, 2000);
    assert!(d.plan().unwrap().is_noop());
    // Back again: a sync with nothing to do ends at 100 too.
    f.device.disconnect();
    wait_for(&events, |e| {
        *e == SyncEvent::DeviceDisconnect { device: KEY.into() }
    });
    f.device.reconnect();
    let seen = wait_for(&events, stopped);
    assert!(
        matches!(
            seen.get(seen.len() - 2),
            Some(SyncEvent::DeviceProgress { percent: 100, .. })
        ),
        "{seen:?}"
    );
    runtime.shutdown();
    let names = threads.lock().unwrap().clone();
    assert!(!names.is_empty());
    assert!(
        names
            .iter()
            .all(|n| n.as_deref() == Some("wmdm-sync events")),
        "every event from the dispatcher: {names:?}"
    );
    // After the shutdown, events are delivered on the emitting thread again.
    f.device.disconnect();
    f.services.poll().unwrap();
    assert_eq!(
        events.try_recv(),
        Ok(SyncEvent::DeviceDisconnect { device: KEY.into() })
    );
}

#[test]
fn create_partnership_and_estimate_complete_by_themselves() {
    let f = fixture_new_device(3, 1000, 1 << 20);
    let runtime = f.services.start_runtime(RuntimeOptions::default()).unwrap();
    let d = f.sync_device();
    let started = Instant::now();
    d.create_partnership().unwrap();
    let seen = wait_for(&f.events, |e| {
        matches!(e, SyncEvent::CreatePartnershipComplete { .. })
    });
    assert!(seen.contains(&SyncEvent::CreatePartnershipComplete {
        device: KEY.into(),
        result: Ok(())
    }));
    // Queued work wakes the discovery thread: it does not wait for the 1 s interval.
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    let mix = Playlist::new_static("Mix", vec![TrackId(1), TrackId(2)]);
    d.estimate_sync_size(Some(&mix), None).unwrap();
    let seen = wait_for(&f.events, |e| {
        matches!(e, SyncEvent::DeviceEstimation { .. })
    });
    match seen.last() {
        Some(SyncEvent::DeviceEstimation {
            result,
            estimated_used,
            ..
        }) => {
            assert_eq!(result, &Ok(()));
            assert!(*estimated_used >= 2000);
        }
        other => panic!("{other:?}"),
    }
    runtime.shutdown();
}

#[test]
fn a_sync_started_on_another_thread_runs_to_the_end() {
    let f = fixture_partnered_device(4, 1000, 1 << 20);
    f.select("Mix", &[1, 2, 3, 4], 1);
    // Already here and automatic: the runtime syncs it when it starts. Turn that off first
    // to see a start from another thread do the work alone.
    f.sync_device()
        .set_item_info("SyncOnConnect", "false")
        .unwrap();
    let runtime = f.services.start_runtime(fast()).unwrap();
    let d = f.sync_device();
    std::thread::spawn(move || d.start().unwrap())
        .join()
        .unwrap();
    wait_for(&f.events, stopped);
    let d = f.sync_device();
    assert!(d.engine().summary().completed);
    assert_eq!(d.engine().summary().copied, 4);
    each_once(&f, 1..=4, 1000);
    runtime.shutdown();
}

#[test]
fn the_runtime_syncs_a_device_already_here_and_again_when_the_selection_or_a_setting_changes() {
    let f = fixture_partnered_device(4, 1000, 1 << 20);
    f.select("Mix", &[1, 2], 1);
    let runtime = f.services.start_runtime(fast()).unwrap();
    wait_for(&f.events, stopped);
    each_once(&f, 1..=2, 1000);
    assert_eq!(f.content_files().len(), 3, "two tracks and the playlist");
    // A playlist selected while the device is here: synced without being asked.
    f.select("More", &[3], 2);
    wait_for(&f.events, stopped);
    each_once(&f, 1..=3, 1000);
    // A setting that changes what fits: synced again.
    f.sync_device()
        .set_item_info("AutoSyncDefaultRules", "true")
        .unwrap();
    wait_for(&f.events, stopped);
    each_once(&f, 1..=4, 1000);
    runtime.shutdown();
}

/// A library whose reads block after `allowed` opens until the test releases them, so a
/// test can act while a sync is in the middle of a copy.
#[derive(Debug)]
struct Gated {
    inner: MemoryLibrary,
    gate: Arc<Gate>,
}

#[derive(Debug, Default)]
struct Gate {
    state: Mutex<(usize, bool, bool)>, // opens, reached, released
    cv: Condvar,
}

impl Gate {
    fn wait_reached(&self) {
        let st = self.state.lock().unwrap();
        let (st, timeout) = self.cv.wait_timeout_while(st, WAIT, |s| !s.1).unwrap();
        assert!(!timeout.timed_out(), "the sync never reached the gate");
        drop(st);
    }
    fn release(&self) {
        self.state.lock().unwrap().2 = true;
        self.cv.notify_all();
    }
}

impl Library for Gated {
    fn tracks(&self) -> &[Track] {
        self.inner.tracks()
    }
    fn track(&self, id: TrackId) -> Option<&Track> {
        self.inner.track(id)
    }
    fn playlists(&self) -> &[Playlist] {
        self.inner.playlists()
    }
    fn content_hash(&self, id: TrackId) -> wmdm::Result<ContentHash> {
        self.inner.content_hash(id)
    }
    fn open(&self, id: TrackId) -> wmdm::Result<Box<dyn Read + Send + '_>> {
        let mut st = self.gate.state.lock().unwrap();
        st.0 += 1;
        if st.0 > GATE_AFTER && !st.2 {
            st.1 = true;
            self.gate.cv.notify_all();
            let _st = self.gate.cv.wait_while(st, |s| !s.2).unwrap();
        }
        self.inner.open(id)
    }
}

const GATE_AFTER: usize = 5;
const GATED_TRACKS: u64 = 12;

struct GatedRig {
    f: Fixture,
    gate: Arc<Gate>,
    services: SyncServices,
}

/// A partnered memory device and services over a gated library of 12 tracks, all selected,
/// in batches of two files.
fn gated_rig() -> GatedRig {
    let f = fixture_partnered_device(GATED_TRACKS, 3000, 1 << 22);
    let mut lib = MemoryLibrary::new();
    for i in 1..=GATED_TRACKS {
        lib.add_track(track(i, "A", "B"), content(i, 3000));
    }
    let mut p = Playlist::new_static("All", (1..=GATED_TRACKS).map(TrackId).collect());
    p.sync.set_priority(1, 1).unwrap();
    lib.add_playlist(p);
    let gate = Arc::new(Gate::default());
    let library: Arc<RwLock<dyn Library>> = Arc::new(RwLock::new(Gated {
        inner: lib,
        gate: gate.clone(),
    }));
    // The same state folder: the partnership made by the fixture is this library's.
    let services = SyncServices::open(
        f.manager.clone(),
        library,
        f.state.path(),
        "Home",
        Arc::new(f.clock.clone()),
    )
    .unwrap();
    let d = services.device_by_key(KEY).unwrap();
    d.set_item_info("SyncOnConnect", "false").unwrap();
    d.engine().set_options(wmdm::sync::SyncOptions {
        batch_files: 2,
        checkpoint_every: 1,
        ..wmdm::sync::SyncOptions::default()
    });
    GatedRig { f, gate, services }
}

#[test]
fn stop_from_another_thread_mid_sync_then_start_again_finishes_without_recopying() {
    let rig = gated_rig();
    let events = rig.services.events().channel();
    let runtime = rig.services.start_runtime(fast()).unwrap();
    let d = rig.services.device_by_key(KEY).unwrap();
    d.start().unwrap();
    rig.gate.wait_reached();
    let stopper = d.clone();
    std::thread::spawn(move || stopper.stop()).join().unwrap();
    rig.gate.release();
    wait_for(&events, stopped);
    let first = d.engine().summary();
    assert!(!first.completed);
    assert!(first.copied >= 4 && first.copied < 12, "{first:?}");
    no_temp_files(&rig.f);
    rig.f.device.reset_stats();
    d.start().unwrap();
    wait_for(&events, stopped);
    let second = d.engine().summary();
    assert!(second.completed, "{second:?}");
    assert_eq!(first.copied + second.copied, 12, "{first:?} {second:?}");
    each_once(&rig.f, 1..=GATED_TRACKS, 3000);
    no_temp_files(&rig.f);
    runtime.shutdown();
    assert!(d.plan().unwrap().is_noop());
}

#[test]
fn a_shutdown_mid_sync_leaves_a_consistent_journal_and_the_next_sync_loses_nothing() {
    let rig = gated_rig();
    let events = rig.services.events().channel();
    let runtime = rig.services.start_runtime(fast()).unwrap();
    let d = rig.services.device_by_key(KEY).unwrap();
    d.start().unwrap();
    rig.gate.wait_reached();
    runtime.request_shutdown();
    rig.gate.release();
    runtime.shutdown();
    let first = d.engine().summary();
    assert_eq!(d.sync_state(), SyncState::Stopped);
    assert!(!first.completed, "{first:?}");
    assert!(first.copied < 12, "{first:?}");
    let seen: Vec<SyncEvent> = events.try_iter().collect();
    assert!(seen.iter().any(stopped), "{seen:?}");
    no_temp_files(&rig.f);
    // What the device holds is the ledger's: every copied track is owned (a resync copies
    // only the rest), and the next sync, host-driven, finishes the job.
    rig.f.device.reset_stats();
    let s = d.run(&mut |_| {}).unwrap();
    assert!(s.completed, "{s:?}");
    assert_eq!(first.copied + s.copied, 12, "{first:?} {s:?}");
    each_once(&rig.f, 1..=GATED_TRACKS, 3000);
    no_temp_files(&rig.f);
    assert!(d.plan().unwrap().is_noop());
}

#[test]
fn a_device_pulled_mid_sync_resumes_by_itself_when_it_is_back() {
    let f = fixture_partnered_device(20, 4000, 1 << 22);
    let all: Vec<u64> = (1..=20).collect();
    f.select("All", &all, 1);
    f.sync_device()
        .engine()
        .set_options(wmdm::sync::SyncOptions {
            batch_files: 4,
            ..wmdm::sync::SyncOptions::default()
        });
    f.device
        .set_fault_plan(FaultPlan::new().disconnect_after_bytes(9 * 4000 + 1500));
    let runtime = f.services.start_runtime(fast()).unwrap();
    wait_for(&f.events, |e| {
        *e == SyncEvent::DeviceDisconnect { device: KEY.into() }
    });
    let d = f.sync_device();
    assert!(!d.engine().summary().completed);
    f.device.clear_faults();
    f.device.reconnect();
    let seen = wait_for(&f.events, |e| {
        stopped(e) && f.sync_device().engine().summary().completed
    });
    assert!(
        seen.contains(&SyncEvent::DeviceConnect { device: KEY.into() }),
        "{seen:?}"
    );
    each_once(&f, 1..=20, 4000);
    no_temp_files(&f);
    runtime.shutdown();
    assert!(d.plan().unwrap().is_noop());
}
