//! The paved path (`wmdm::SyncJob`): a whole sync in a few lines, on the memory device with
//! injected faults and on folders; partnerships; priorities; the errors a user can cause.

use std::sync::Arc;

use wmdm::library::{MemoryLibrary, Playlist, Track, TrackId};
use wmdm::providers::memory::{FaultPlan, MemoryDevice, MemoryProvider, Operation, StorageConfig};
use wmdm::sync::SyncItem;
use wmdm::{Error, SyncJob};

/// Six 100 kB tracks; "Mix" holds 1-3, "Rest" 4-6.
fn library() -> MemoryLibrary {
    let mut lib = MemoryLibrary::new();
    for i in 1..=6u64 {
        let mut t = Track::new(TrackId(i), format!("Band/Album/{i:02}.mp3"));
        (t.title, t.artist, t.album) = (format!("Song {i}"), "Band".into(), "Album".into());
        lib.add_track(t, vec![i as u8; 100_000]);
    }
    lib.add_playlist(Playlist::new_static("Mix", (1..=3).map(TrackId).collect()));
    lib.add_playlist(Playlist::new_static("Rest", (4..=6).map(TrackId).collect()));
    lib
}

fn player(capacity: u64) -> MemoryDevice {
    MemoryDevice::builder("Player")
        .serial("P1")
        .storage(StorageConfig::new("Internal", capacity))
        .build()
        .expect("device")
}

fn provider(device: &MemoryDevice) -> Arc<MemoryProvider> {
    Arc::new(MemoryProvider::new().with_device(device.clone()))
}

#[test]
fn a_failed_write_is_one_item_failure_and_the_next_sync_finishes_the_job() -> wmdm::Result<()> {
    let (state, device) = (tempfile::tempdir()?, player(10 << 20));
    let syncer = SyncJob::memory(library())
        .to_provider(provider(&device))
        .state_dir(state.path())
        .playlist("Mix")
        .playlist("Rest")
        .open()?;
    assert_eq!(syncer.partner()?.get(), 1);
    device.set_fault_plan(FaultPlan::new().fail_nth(Operation::Create, 3, Error::ProcessFailed));
    let report = syncer.sync(|_| {})?;
    assert_eq!(
        (report.summary.copied, report.summary.errors),
        (5, 1),
        "{report}"
    );
    assert!(matches!(
        report.failures[..],
        [wmdm::easy::ItemFailure {
            item: SyncItem::Track(_),
            ..
        }]
    ));
    assert!(report.to_string().contains("failed"), "{report}");
    // The failure names the library file, not an id.
    assert!(
        report.failures[0].name.starts_with("Band/Album/"),
        "{report}"
    );
    assert!(
        report.to_string().contains(&report.failures[0].name),
        "{report}"
    );
    device.clear_faults();
    assert_eq!(syncer.sync(|_| {})?.summary.copied, 1);
    Ok(())
}

#[test]
fn the_first_playlist_given_wins_when_the_device_is_short_of_space() {
    // Room for about four of the six tracks (plus the sync's own state files).
    let (state, device) = (tempfile::tempdir().unwrap(), player(450_000));
    let syncer = SyncJob::memory(library())
        .to_provider(provider(&device))
        .state_dir(state.path())
        .playlist("Rest")
        .playlist("Mix")
        .open()
        .unwrap();
    let mut seen = Vec::new();
    let report = syncer.sync(|p| seen.push(p)).unwrap();
    assert!(report.summary.no_fit > 0, "{report}");
    assert_eq!(seen.last(), Some(&100), "progress ends at 100: {seen:?}");
    let files = device.files();
    for i in 4..=6u8 {
        let n = files.values().filter(|b| **b == vec![i; 100_000]).count();
        assert_eq!(n, 1, "track {i} of the first playlist is on the device");
    }
    let mix = (1..=3u8)
        .filter(|i| files.values().any(|b| *b == vec![*i; 100_000]))
        .count();
    assert!(mix < 3, "the second playlist is the one cut short");
}

#[test]
fn the_partnership_is_kept_across_runs_and_a_resync_copies_nothing() {
    let (state, device) = (tempfile::tempdir().unwrap(), player(10 << 20));
    let job = || {
        SyncJob::memory(library())
            .to_provider(provider(&device))
            .state_dir(state.path())
            .playlist("Mix")
    };
    let first = job().open().unwrap();
    let index = first.partner().unwrap();
    assert_eq!(first.sync(|_| {}).unwrap().summary.copied, 3);
    drop(first);
    let again = job().open().unwrap();
    assert_eq!(again.partner().unwrap(), index);
    let report = again.sync(|_| {}).unwrap();
    assert_eq!((report.summary.copied, report.partnership), (0, index));
}

#[test]
fn what_a_user_gets_wrong_fails_at_open_before_the_device_is_touched() {
    let (state, device) = (tempfile::tempdir().unwrap(), player(10 << 20));
    let base = || {
        SyncJob::memory(library())
            .to_provider(provider(&device))
            .state_dir(state.path())
    };
    let unknown = base().playlist("Nope").open().unwrap_err();
    assert_eq!(unknown, Error::InvalidArg);
    let bad_rule = base()
        .auto_playlist("Jazz", "genre = = Jazz")
        .open()
        .unwrap_err();
    assert_eq!(bad_rule, Error::InvalidArg);
    let no_device = SyncJob::memory(library())
        .state_dir(state.path())
        .open()
        .unwrap_err();
    assert_eq!(no_device, Error::InvalidArg);
    let no_state = SyncJob::memory(library())
        .to_provider(provider(&device))
        .open()
        .unwrap_err();
    assert_eq!(no_state, Error::InvalidArg);
    assert_eq!(device.stats().calls(Operation::Create), 0);
    let missing = SyncJob::folder(state.path())
        .to_folder(state.path().join("not mounted"))
        .state_dir(state.path().join("s"))
        .open()
        .unwrap_err();
    assert_eq!(missing, Error::NoPda);
    assert!(missing.to_string().contains("not mounted"), "{missing}");
    println!("{unknown}\n{}\n{missing}", bad_rule.report());
}

#[test]
fn an_auto_playlist_syncs_through_the_paved_path() {
    let (state, device) = (tempfile::tempdir().unwrap(), player(10 << 20));
    let syncer = SyncJob::memory(library())
        .to_provider(provider(&device))
        .state_dir(state.path())
        .auto_playlist("Early", "title = \"Song 2\"")
        .open()
        .unwrap();
    let report = syncer.sync(|_| {}).unwrap();
    assert_eq!(report.summary.copied, 1, "{report}");
    assert!(device.files().values().any(|b| *b == vec![2u8; 100_000]));
}

#[test]
fn typed_settings_and_the_wmp_strings_are_one_partnership_row() {
    let (state, device) = (tempfile::tempdir().unwrap(), player(10 << 20));
    let syncer = SyncJob::memory(library())
        .to_provider(provider(&device))
        .state_dir(state.path())
        .playlist("Mix")
        .open()
        .unwrap();
    let d = syncer.device();
    assert_eq!(
        d.sync_settings().unwrap_err(),
        Error::Unexpected,
        "no partnership yet"
    );
    syncer.partner().unwrap();
    assert_eq!(d.last_sync_time().unwrap(), None);
    let mut s = d.sync_settings().unwrap();
    assert_eq!((s.reserve_percent, s.sync_on_connect), (0, true));
    s.reserve_percent = 96;
    let e = d.set_sync_settings(&s).unwrap_err();
    assert_eq!(e, Error::InvalidArg);
    assert!(e.to_string().contains("reserve_percent"), "{e}");
    s.reserve_percent = 20;
    s.sync_on_connect = false;
    d.set_sync_settings(&s).unwrap();
    assert_eq!(d.item_info("PercentSpaceReserved").unwrap(), "20");
    assert_eq!(d.item_info("SyncOnConnect").unwrap(), "False");
    d.set_item_info("PercentSpaceReserved", "5").unwrap();
    assert_eq!(d.sync_settings().unwrap().reserve_percent, 5);
    syncer.sync(|_| {}).unwrap();
    assert!(d.last_sync_time().unwrap().is_some());
}
