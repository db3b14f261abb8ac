//! The sync's durability barriers (docs/sync.md, "Durability barriers"): the engine flushes the
//! device between the steps whose order must survive a crash, few times per batch of copies,
//! and a sync is durable when it ends even on a device that syncs nothing by itself. Each
//! library file is read once: new tracks are hashed by their copy, and a file that changes
//! during its copy is an item error.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, RwLock};

use common::sync::*;
use wmdm::Error;
use wmdm::library::{ContentHash, HashingReader, Library, MemoryLibrary, Playlist, Track, TrackId};
use wmdm::providers::memory::{FaultPlan, MemoryProvider};
use wmdm::sync::{Ledger, SyncEvent, SyncItem, SyncOp, SyncOptions, SyncServices};

/// Flushes of a first sync of `n` tracks in batches of `batch` files: one after the journal,
/// two per batch (its temporaries, then its commit record), three at the end (the steps
/// before the ledger, the ledger before the journal goes, the end).
fn expected_flushes(n: u64, batch: u64) -> u64 {
    1 + 2 * n.div_ceil(batch) + 3
}

#[test]
fn a_first_sync_flushes_twice_per_batch_and_a_no_op_resync_not_at_all() {
    // 100 tracks in one batch: the 64-step checkpoints inside the open batch record
    // nothing, so they are not written (nor flushed).
    for (n, batch) in [(10_u64, 4_usize), (10, 1024), (9, 3), (1, 1), (100, 1024)] {
        let f = fixture_partnered_device(n, 100, 1 << 20);
        f.select("All", &(1..=n).collect::<Vec<_>>(), 1);
        let d = f.sync_device();
        d.engine().set_options(SyncOptions {
            batch_files: batch,
            ..SyncOptions::default()
        });
        let s = d.run(&mut |_| {}).expect("first sync");
        assert_eq!((s.copied, s.errors), (u32::try_from(n).unwrap(), 0));
        // The playlist is one more file of the last batch (or a batch of its own).
        let files = n + 1;
        assert_eq!(
            s.flushes,
            expected_flushes(files, batch as u64),
            "{n} tracks in batches of {batch}"
        );
        // The first resync rewrites the ledger (the statistics baseline) and flushes only
        // around it; later no-op resyncs write nothing and flush nothing.
        let again = d.run(&mut |_| {}).expect("resync");
        assert_eq!(again.copied, 0);
        assert!(again.flushes <= 3, "{} flushes in a resync", again.flushes);
        let third = d.run(&mut |_| {}).expect("resync");
        assert_eq!((third.copied, third.flushes), (0, 0), "a no-op resync");
    }
}

#[test]
fn a_sync_on_a_device_durable_only_at_flushes_is_durable_when_it_ends() {
    let f = fixture_partnered_device(5, 700, 1 << 20);
    f.select("All", &[1, 2, 3, 4, 5], 1);
    // Nothing reaches the media by itself: only the engine's flushes are durable points.
    f.device
        .set_fault_plan(FaultPlan::new().non_durable(u64::MAX));
    let s = f.sync_device().run(&mut |_| {}).expect("sync");
    assert_eq!((s.copied, s.errors, s.completed), (5, 0, true));
    let at_end = f.device.files();
    f.device.crash();
    let after = f.device.reboot();
    assert_eq!(
        after.files(),
        at_end,
        "a crash after the sync ended lost some of it"
    );
}

/// Each source is read once: a track new to the device is planned with its hash unknown (the
/// library does not hash it before planning), and the copy records the hash of the bytes it
/// read in the ledger.
#[test]
fn a_first_sync_plans_new_tracks_unhashed_and_records_the_hash_its_copy_computed() {
    let f = fixture_partnered_device(4, 900, 1 << 20);
    f.select("All", &[1, 2, 3, 4], 1);
    let d = f.sync_device();
    let plan = d.plan().expect("plan");
    let copies: Vec<_> = plan
        .ops
        .iter()
        .filter_map(|op| match op {
            SyncOp::Copy { track, hash, .. } => Some((*track, *hash)),
            _ => None,
        })
        .collect();
    assert_eq!(copies.len(), 4);
    assert!(
        copies.iter().all(|(_, h)| h.is_none()),
        "new tracks are hashed by their copy, not before: {copies:?}"
    );
    let s = d.run(&mut |_| {}).expect("sync");
    assert_eq!((s.copied, s.errors), (4, 0));
    let files = f.device.files();
    let (_, bytes) = files
        .iter()
        .find(|(p, _)| p.starts_with(".wmdm-sync/ledger-") && p.ends_with(".txt"))
        .expect("a ledger");
    let ledger = Ledger::parse(bytes).expect("ledger parses");
    let mut hashed = 0;
    for e in ledger.entries.values() {
        if let Some(t) = e.track() {
            assert_eq!(
                e.hash,
                ContentHash::of_bytes(&content(t.0, 900)).0,
                "{}",
                e.path
            );
            hashed += 1;
        }
    }
    assert_eq!(hashed, 4);
    // The next plan compares with those hashes: nothing to copy.
    assert!(d.plan().expect("plan").is_noop());
}

/// A library whose files can change while the sync reads them: `finish_hashing` fails for the
/// tracks in `changing`, as the folder library's does when a file's size or date moved during
/// the read.
#[derive(Debug)]
struct Changing {
    inner: MemoryLibrary,
    changing: Mutex<HashSet<TrackId>>,
}

impl Library for Changing {
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
    fn open(&self, id: TrackId) -> wmdm::Result<Box<dyn std::io::Read + Send + '_>> {
        self.inner.open(id)
    }
    fn finish_hashing(&self, id: TrackId, reader: HashingReader<'_>) -> wmdm::Result<ContentHash> {
        if self.changing.lock().unwrap().contains(&id) {
            return Err(Error::ProcessFailed);
        }
        self.inner.finish_hashing(id, reader)
    }
}

#[test]
fn a_library_file_changed_during_its_copy_is_an_item_error_and_is_copied_next_time() {
    let clock = common::clock();
    let device = player("S1", 1 << 20);
    let provider = Arc::new(MemoryProvider::new().with_device(device.clone()));
    let manager = memory_manager(provider, &clock);
    let mut inner = MemoryLibrary::new();
    for i in 1..=3 {
        inner.add_track(track(i, "Artist", "Album"), content(i, 600));
    }
    let mut p = Playlist::new_static("All", vec![TrackId(1), TrackId(2), TrackId(3)]);
    p.sync.set_priority(1, 1).unwrap();
    inner.add_playlist(p);
    let library = Arc::new(RwLock::new(Changing {
        inner,
        changing: Mutex::new([TrackId(2)].into_iter().collect()),
    }));
    let lib: Arc<RwLock<dyn Library>> = library.clone();
    let state = tempfile::tempdir().unwrap();
    let services =
        SyncServices::open(manager, lib, state.path(), "Home", Arc::new(clock.clone())).unwrap();
    let events = services.events().channel();
    let d = services.device_by_key(&device.serial()).unwrap();
    d.create_partnership().unwrap();
    services.poll().unwrap();
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!((s.copied, s.errors), (2, 1), "{s:?}");
    let failed: Vec<_> = events
        .try_iter()
        .filter_map(|e| match e {
            SyncEvent::DeviceSyncError { item, error, .. } => Some((item, error)),
            _ => None,
        })
        .collect();
    assert_eq!(
        failed,
        vec![(SyncItem::Track(TrackId(2)), Error::ProcessFailed)]
    );
    let files = device.files();
    assert!(
        files
            .keys()
            .all(|p| !p.contains("wmdm-tmp") && !p.ends_with(".part")),
        "no temporary file stays: {:?}",
        files.keys().collect::<Vec<_>>()
    );
    assert!(
        !files.values().any(|b| *b == content(2, 600)),
        "the changed copy is not kept"
    );
    // Once the file holds still, the next sync copies it.
    library.write().unwrap().changing.lock().unwrap().clear();
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!((s.copied, s.errors), (1, 0), "{s:?}");
    assert!(device.files().values().any(|b| *b == content(2, 600)));
}
