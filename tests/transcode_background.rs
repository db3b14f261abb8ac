//! BackgroundSyncState's bit 2 (background transcoding) gates conversion for its device: with
//! the bit cleared a FLAC on an MP3-only memory device is left out, as without conversion;
//! with it set (the default 255) the FLAC is converted by the (fake) transcoder.

mod common;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use common::sync::{memory_manager, services};
use wmdm::library::{MemoryLibrary, Playlist, Track, TrackId};
use wmdm::metadata::FormatCode;
use wmdm::providers::memory::{MemoryDevice, MemoryProvider, StorageConfig};
use wmdm::sync::{LeftOutReason, PlanSettings, SyncOptions};
use wmdm::transcode::{ConvertSettings, FakeTranscoder, TranscodeCache, Transcoder, Transcoding};

#[test]
fn clearing_bit_2_leaves_a_flac_out_and_setting_it_converts() {
    let dir = tempfile::tempdir().unwrap();
    let clock = common::clock();
    let device = MemoryDevice::builder("Player S1")
        .serial("S1")
        .storage(StorageConfig::new("Internal", 1 << 30))
        .formats(&[FormatCode::MP3, FormatCode::M3U_PLAYLIST])
        .build()
        .unwrap();
    let provider = Arc::new(MemoryProvider::new().with_device(device.clone()));
    let manager = memory_manager(provider, &clock);
    let mut lib = MemoryLibrary::new();
    for (i, name, bitrate) in [(1u64, "a.flac", 900_000), (2, "b.mp3", 128_000)] {
        let mut t = Track::new(TrackId(i), name);
        t.title = format!("Song {i}");
        t.artist = "Artist".into();
        t.album = "Album".into();
        t.track_number = Some(i as u32);
        t.duration = Duration::from_secs(3);
        t.bitrate = bitrate;
        t.sample_rate = 44_100;
        t.channels = 2;
        let bytes = vec![i as u8; 2_000];
        // The transcoder reads the source file.
        t.path = dir.path().join(name);
        std::fs::write(&t.path, &bytes).unwrap();
        lib.add_track(t, bytes);
    }
    let mut p = Playlist::new_static("All", vec![TrackId(1), TrackId(2)]);
    p.sync.set_priority(1, 1).unwrap();
    lib.add_playlist(p);
    let library = Arc::new(RwLock::new(lib));
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let services = services(&manager, &library, &state, "Home", &clock);
    let d = services.device(0).unwrap();
    d.create_partnership().unwrap();
    services.poll().unwrap();

    let fake = Arc::new(FakeTranscoder::default());
    let cache = Arc::new(TranscodeCache::open(dir.path().join("cache"), u64::MAX).unwrap());
    d.set_settings(PlanSettings {
        convert: Some(ConvertSettings {
            available: Some(fake.available()),
            ..ConvertSettings::default()
        }),
        ..PlanSettings::default()
    });
    d.engine().set_options(SyncOptions {
        transcoding: Some(Transcoding {
            transcoder: fake.clone(),
            cache,
            workers: 1,
        }),
        ..SyncOptions::default()
    });
    let tracks_on_device = || {
        device
            .files()
            .into_keys()
            .filter(|p| p.starts_with("Music/"))
            .collect::<Vec<_>>()
    };

    // Background transcoding not allowed: the FLAC is left out, as when conversion is off.
    d.set_item_info("BackgroundSyncState", "253").unwrap();
    assert_eq!(d.item_info("BackgroundSyncState").unwrap(), "253");
    let plan = d.plan().unwrap();
    assert_eq!(plan.totals.conversions, 0, "{:?}", plan.ops);
    let left: Vec<_> = plan.left_out.iter().map(|l| (l.track, l.reason)).collect();
    assert_eq!(
        left,
        vec![(TrackId(1), LeftOutReason::FormatNotSupported)],
        "{plan:?}"
    );
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(
        (s.copied, s.errors, s.transcode.converted),
        (1, 0, 0),
        "{s:?}"
    );
    assert_eq!(fake.encodes(), 0);
    assert_eq!(tracks_on_device(), ["Music/Artist/Album/02 Song 2.mp3"]);

    // Allowed again (bit 2 set): the next sync converts the FLAC to MP3.
    d.set_item_info("BackgroundSyncState", "255").unwrap();
    let plan = d.plan().unwrap();
    assert_eq!(plan.totals.conversions, 1, "{:?}", plan.ops);
    assert!(plan.left_out.is_empty(), "{:?}", plan.left_out);
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(
        (s.copied, s.errors, s.transcode.converted),
        (1, 0, 1),
        "{s:?}"
    );
    assert_eq!(fake.encodes(), 1);
    assert_eq!(
        tracks_on_device(),
        [
            "Music/Artist/Album/01 Song 1.mp3",
            "Music/Artist/Album/02 Song 2.mp3"
        ]
    );
}
