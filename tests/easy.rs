//! The paved path (`wmdm::SyncJob`): a whole sync in a few lines, on the memory device with
//! injected faults and on folders; partnerships; priorities; the errors a user can cause.

mod common;

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

/// An ID3v2.4 tag of UTF-8 text frames.
fn id3v2(frames: &[(&str, &str)]) -> Vec<u8> {
    let syncsafe = |n: usize| {
        [
            (n >> 21) as u8 & 0x7f,
            (n >> 14) as u8 & 0x7f,
            (n >> 7) as u8 & 0x7f,
            n as u8 & 0x7f,
        ]
    };
    let mut body = Vec::new();
    for (id, text) in frames {
        let mut data = vec![3u8];
        data.extend_from_slice(text.as_bytes());
        body.extend_from_slice(id.as_bytes());
        body.extend_from_slice(&syncsafe(data.len()));
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(&data);
    }
    let mut out = b"ID3\x04\x00\x00".to_vec();
    out.extend_from_slice(&syncsafe(body.len()));
    out.extend_from_slice(&body);
    out
}

/// An ID3v1 tag with only an album.
fn id3v1_album(album: &str) -> Vec<u8> {
    let mut tag = b"TAG".to_vec();
    tag.resize(3 + 60, 0);
    let mut field = album.as_bytes().to_vec();
    field.resize(30, 0);
    tag.extend_from_slice(&field);
    tag.resize(127, 0);
    tag.push(255);
    tag
}

/// MPEG frames of silence, `n` of them.
fn frames(n: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.extend_from_slice(&[0xFF, 0xFB, 0x90, 0xC0]);
        v.extend_from_slice(&[0u8; 413]);
    }
    v
}

/// A copy whose bytes already hold its metadata lands byte for byte; one whose metadata the
/// library found where the device's tag reader does not look (an album only in the ID3v1 tag)
/// gets it written into the file. The read-ahead worker decides this before the write; the
/// result is the one the write itself reached before.
#[test]
fn a_copy_gets_written_only_the_tags_its_bytes_lack() -> wmdm::Result<()> {
    let (lib, dev, state) = (
        tempfile::tempdir()?,
        tempfile::tempdir()?,
        tempfile::tempdir()?,
    );
    let mut sources = Vec::new();
    for i in 1..=6usize {
        let title = format!("Song {i}");
        let mut bytes = if i == 2 {
            id3v2(&[("TIT2", &title), ("TPE1", "Band")])
        } else {
            id3v2(&[("TIT2", &title), ("TPE1", "Band"), ("TALB", "Album")])
        };
        bytes.extend_from_slice(&frames(20 + i));
        if i == 2 {
            bytes.extend_from_slice(&id3v1_album("Album"));
        }
        std::fs::write(lib.path().join(format!("{i:02}.mp3")), &bytes)?;
        sources.push((title, bytes));
    }
    let syncer = SyncJob::folder(lib.path())
        .to_folder(dev.path())
        .state_dir(state.path())
        .auto_playlist("All", "all")
        .open()?;
    syncer.partner()?;
    let report = syncer.sync(|_| {})?;
    assert_eq!(
        (report.summary.copied, report.summary.errors),
        (6, 0),
        "{report}"
    );
    drop(syncer);
    // What the device says each copy holds (its tags, or its sidecar where a host cannot
    // write tags into the file), and the bytes each stores.
    use wmdm::metadata::tags;
    let device = wmdm::providers::fs::FsDevice::open(
        dev.path(),
        wmdm::providers::fs::DeviceOptions::default().read_only(true),
    )?;
    let mut seen = 0;
    let mut folders: Vec<wmdm::provider::StorageRef> = vec![device.root()];
    while let Some(folder) = folders.pop() {
        for obj in folder.children()? {
            if obj.children().is_ok() {
                folders.push(obj);
                continue;
            }
            if !obj.name()?.ends_with(".mp3") {
                continue;
            }
            let m = obj.metadata()?;
            let title = m.get_str(tags::TITLE).expect("a title").to_owned();
            let (_, source) = sources
                .iter()
                .find(|(t, _)| *t == title)
                .expect("a copied track");
            assert_eq!(m.get_str(tags::ALBUM_TITLE), Some("Album"), "{title}");
            let stored = common::read_storage(&*obj, 4096)?;
            if title != "Song 2" {
                assert_eq!(&stored, source, "{title}: stored byte for byte");
            }
            seen += 1;
        }
    }
    assert_eq!(seen, 6);
    Ok(())
}
