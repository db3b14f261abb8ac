//! Conversions in a sync, with the counting fake transcoder (no ffmpeg needed): an MP3-only
//! folder device gets only MP3s, a resync encodes nothing, a tag edit retags without
//! encoding, a stop mid-encode leaves no partial file and the resume reuses finished encodes,
//! and without an encoder every track needing one is left out with its reason.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use common::sync::{manager_with, services};
use wmdm::library::{MemoryLibrary, Playlist, Track, TrackId};
use wmdm::providers::fs::{DeviceOptions, DeviceProfile, FsConfig, FsProvider};
use wmdm::sync::{LeftOutReason, PlanSettings, SyncDevice, SyncOptions, SyncServices};
use wmdm::transcode::{
    Codec, ConvertReason, ConvertSettings, FakeTranscoder, NoConvertReason, TranscodeCache,
    Transcoding,
};

struct Rig {
    _dir: tempfile::TempDir,
    root: PathBuf,
    sources: PathBuf,
    cache: Arc<TranscodeCache>,
    library: Arc<RwLock<MemoryLibrary>>,
    services: SyncServices,
}

/// A library of a FLAC, a WAV and an MP3 (their bytes also in files, which the transcoder
/// reads), an MP3-only folder device, a partnership syncing all three.
fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("player");
    let sources = dir.path().join("music");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&sources).unwrap();
    let clock = common::clock();
    let options = DeviceOptions {
        profile: DeviceProfile::builtin("mp3-player").unwrap(),
        ..DeviceOptions::default().durable(false)
    };
    let provider = Arc::new(FsProvider::new(FsConfig::root(&root).options(options)));
    let manager = manager_with(provider, &clock);
    let mut lib = MemoryLibrary::new();
    for (i, name, bitrate) in [
        (1u64, "a.flac", 900_000),
        (2, "b.wav", 1_411_000),
        (3, "c.mp3", 128_000),
    ] {
        let mut t = Track::new(TrackId(i), name);
        t.title = format!("Song {i}");
        t.artist = "Artist".into();
        t.album = "Album".into();
        t.track_number = Some(i as u32);
        t.duration = Duration::from_secs(3);
        t.bitrate = bitrate;
        t.sample_rate = 44_100;
        t.channels = 2;
        let bytes = vec![i as u8; 3_000 + i as usize];
        t.path = sources.join(name);
        std::fs::write(&t.path, &bytes).unwrap();
        lib.add_track(t, bytes);
    }
    let mut p = Playlist::new_static("All", vec![TrackId(1), TrackId(2), TrackId(3)]);
    p.sync.set_priority(1, 1).unwrap();
    lib.add_playlist(p);
    let library = Arc::new(RwLock::new(lib));
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let services = services(&manager, &library, &state, "Home", &clock);
    let d = services.device(0).unwrap();
    d.create_partnership().unwrap();
    services.poll().unwrap();
    let cache = Arc::new(TranscodeCache::open(dir.path().join("cache"), u64::MAX).unwrap());
    Rig {
        _dir: dir,
        root,
        sources,
        cache,
        library,
        services,
    }
}

impl Rig {
    /// The device, converting with `fake` (its codecs are the plan's available encoders).
    fn device(&self, fake: &Arc<FakeTranscoder>) -> SyncDevice {
        use wmdm::transcode::Transcoder;
        let d = self.services.device(0).unwrap();
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
                cache: self.cache.clone(),
                workers: 1,
            }),
            ..SyncOptions::default()
        });
        d
    }

    /// Every file under the device root outside the state folders.
    fn files(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.root, &self.root, &mut out);
        out.sort();
        out
    }
}

fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let rel = p
            .strip_prefix(base)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if rel.starts_with(".wmdm") {
            continue;
        }
        if p.is_dir() {
            walk(base, &p, out);
        } else {
            out.push(rel);
        }
    }
}

#[test]
fn an_mp3_only_device_gets_only_mp3s_and_a_resync_encodes_nothing() {
    let r = rig();
    let fake = Arc::new(FakeTranscoder::default());
    let d = r.device(&fake);
    let plan = d.plan().unwrap();
    assert_eq!(plan.totals.conversions, 2, "{plan:?}");
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!((s.copied, s.errors), (3, 0), "{s:?}");
    assert_eq!(s.transcode.converted, 2);
    assert_eq!(s.transcode.reused, 0);
    assert_eq!(fake.encodes(), 2);
    let files = r.files();
    let tracks: Vec<&String> = files.iter().filter(|f| f.starts_with("Music/")).collect();
    assert_eq!(tracks.len(), 3, "{files:?}");
    assert!(tracks.iter().all(|f| f.ends_with(".mp3")), "{files:?}");
    // The converted files hold the encoder's output for their source.
    let flac = r.root.join("Music/Artist/Album/01 Song 1.mp3");
    assert!(std::fs::read(&flac).unwrap().starts_with(b"WMDMFAKE"));

    let again = d.plan().unwrap();
    assert!(again.is_noop(), "{:?}", again.ops);
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!((s.copied, s.updated, s.transcode.converted), (0, 0, 0));
    assert_eq!(fake.encodes(), 2);
}

#[test]
fn a_tag_edit_retags_without_encoding_and_a_new_profile_encodes_again() {
    let r = rig();
    let fake = Arc::new(FakeTranscoder::default());
    let d = r.device(&fake);
    d.run(&mut |_| {}).unwrap();
    assert_eq!(fake.encodes(), 2);
    r.library
        .write()
        .unwrap()
        .track_mut(TrackId(1))
        .unwrap()
        .title = "Renamed".into();
    let p = d.plan().unwrap();
    assert_eq!(
        (p.totals.metadata_updates, p.totals.conversions),
        (1, 0),
        "{:?}",
        p.ops
    );
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!((s.updated, s.errors), (1, 0), "{s:?}");
    assert_eq!(fake.encodes(), 2);
    // A lower bitrate limit: both conversions are made again (new cache keys).
    let mut settings = d.settings();
    if let Some(c) = settings.convert.as_mut() {
        c.quality = wmdm::transcode::Quality::MaxBitrate(96_000);
    }
    d.set_settings(settings);
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(s.errors, 0, "{s:?}");
    // The MP3 at 128 kbit/s is above the new limit too.
    assert_eq!(s.transcode.converted, 3, "{s:?}");
    assert_eq!(fake.encodes(), 5);
}

#[test]
fn a_stop_mid_encode_leaves_no_partial_file_and_the_resume_reuses_finished_encodes() {
    let r = rig();
    let slow = Arc::new(FakeTranscoder::default().with_delay(Duration::from_millis(1500)));
    let d = r.device(&slow);
    d.start().unwrap();
    // Stop from another thread as soon as the first encode is in the cache: the second one
    // (one encoder thread) is then mid-encode.
    let lib: Arc<RwLock<dyn wmdm::library::Library>> = r.library.clone();
    let engine = d.engine();
    let stopper = {
        let d = r.services.device(0).unwrap();
        let cache = r.cache.dir().to_path_buf();
        std::thread::spawn(move || {
            let finished = || {
                std::fs::read_dir(&cache)
                    .unwrap()
                    .filter(|e| {
                        !e.as_ref()
                            .unwrap()
                            .file_name()
                            .to_string_lossy()
                            .ends_with(".part")
                    })
                    .count()
            };
            while finished() == 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
            std::thread::sleep(Duration::from_millis(100));
            d.stop();
        })
    };
    while engine.step(&*lib.read().unwrap()) {}
    stopper.join().unwrap();
    // One encoder thread: the first conversion was finished, the second killed mid-encode.
    assert_eq!(slow.encodes(), 2);
    let mp3s = r.files().iter().filter(|f| f.ends_with(".mp3")).count();
    assert!(mp3s < 3, "the sync was not stopped mid-way");
    // No partial or temporary file anywhere on the device.
    for f in r.files() {
        assert!(!f.contains(".wmdm-sync-") && !f.ends_with(".part"), "{f}");
    }
    // The cache holds only checked, finished encodes.
    let finished: Vec<_> = std::fs::read_dir(r.cache.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".part"))
        .collect();
    let fake = Arc::new(FakeTranscoder::default());
    let d = r.device(&fake);
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(s.errors, 0, "{s:?}");
    assert_eq!(finished.len(), 1, "{finished:?}");
    assert_eq!(fake.encodes(), 1, "only the killed encode is made again");
    assert_eq!(
        s.transcode.reused as usize + fake.encodes(),
        s.transcode.converted as usize
    );
    assert_eq!(r.files().iter().filter(|f| f.ends_with(".mp3")).count(), 3);
}

#[test]
fn without_an_encoder_every_track_needing_one_is_left_out_with_its_reason() {
    let r = rig();
    let none = Arc::new(FakeTranscoder::new(Vec::new()));
    let d = r.device(&none);
    let plan = d.plan().unwrap();
    let want = LeftOutReason::CannotConvert {
        needed: ConvertReason::FormatNotPlayed,
        reason: NoConvertReason::EncoderMissing(Codec::Mp3),
    };
    let mut left: Vec<_> = plan.left_out.iter().map(|l| (l.track, l.reason)).collect();
    left.sort_by_key(|(t, _)| *t);
    assert_eq!(left, vec![(TrackId(1), want), (TrackId(2), want)]);
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!((s.copied, s.skipped, none.encodes()), (1, 2, 0), "{s:?}");
    let _ = &r.sources;
}
