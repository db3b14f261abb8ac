//! Tags, sidecars, playlists and discovery on the folder device.

use std::fs;
use std::path::Path;

use wmdm::flags::{FindScope, OpenMode};
use wmdm::metadata::{FormatCode, Metadata, tags};
use wmdm::provider::{CreateRequest, Device, NoProgress, ServiceProvider, Storage, StorageRef};
use wmdm::providers::fs::{DeviceEvent, DeviceOptions, FsConfig, FsDevice, FsProvider};
use wmdm::{Error, Status};

/// A one-second 8 kHz mono 16-bit WAV file.
fn wav_bytes() -> Vec<u8> {
    let rate = 8000u32;
    let data_len = rate * 2;
    let mut v = Vec::new();
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + data_len).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&rate.to_le_bytes());
    v.extend_from_slice(&(rate * 2).to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&16u16.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&data_len.to_le_bytes());
    v.extend(std::iter::repeat_n(0u8, data_len as usize));
    v
}

fn open(dir: &Path) -> FsDevice {
    FsDevice::open(dir, DeviceOptions::default().durable(false)).unwrap()
}

fn write_file(folder: &dyn Storage, name: &str, data: &[u8]) -> StorageRef {
    let s = folder.create(&CreateRequest::file(name)).unwrap();
    let mut io = s.open(OpenMode::WRITE).unwrap();
    io.write(data).unwrap();
    io.close().unwrap();
    s
}

#[test]
fn tags_are_read_and_written_into_audio_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = open(dir.path());
    let song = write_file(d.root().as_ref(), "tone.wav", &wav_bytes());
    let m = song.metadata().unwrap();
    assert_eq!(m.get_u32(tags::SAMPLE_RATE), Some(8000));
    assert_eq!(m.get_u32(tags::NUM_CHANNELS), Some(1));
    assert_eq!(
        m.get_u64(tags::DURATION),
        Some(10_000_000),
        "1 s in 100-ns units"
    );
    assert_eq!(m.get_u32(tags::FORMAT_CODE), Some(FormatCode::WAVE.0));
    assert_eq!(m.get_str(tags::FILE_NAME), Some("tone.wav"));
    assert_eq!(
        m.get_str(tags::PERSISTENT_UNIQUE_ID).map(str::to_string),
        Some(song.unique_id().unwrap())
    );
    let mut set = Metadata::new();
    set.add(tags::TITLE, "Tone");
    set.add(tags::AUTHOR, "Oscillator");
    set.add(tags::ALBUM_TITLE, "Tests");
    set.add(tags::ALBUM_ARTIST, "Various");
    set.add(tags::GENRE, "Noise");
    set.add(tags::TRACK, 7u32);
    set.add(tags::YEAR, "2024");
    set.add(tags::USER_RATING, 99u32);
    assert_eq!(song.set_metadata(&set).unwrap(), Status::Ok);
    let m = song.metadata().unwrap();
    assert_eq!(m.get_str(tags::TITLE), Some("Tone"));
    assert_eq!(m.get_str(tags::AUTHOR), Some("Oscillator"));
    assert_eq!(m.get_str(tags::ALBUM_ARTIST), Some("Various"));
    assert_eq!(m.get_u32(tags::TRACK), Some(7));
    assert_eq!(m.get_str(tags::YEAR), Some("2024"));
    assert_eq!(m.get_u32(tags::USER_RATING), Some(99));
    // The title lives in the file itself: a fresh device with no sidecars still sees it.
    fs::remove_dir_all(dir.path().join(".wmdm")).unwrap();
    let d2 = open(dir.path());
    let again = d2.root().child("tone.wav").unwrap();
    let m = again.metadata().unwrap();
    assert_eq!(m.get_str(tags::TITLE), Some("Tone"));
    assert_eq!(
        m.get_u32(tags::USER_RATING),
        None,
        "ratings were in the sidecar"
    );
    let info = again.object_info().unwrap();
    assert_eq!(info.play_length().unwrap(), 1000);
    // Derived properties are not applied.
    let mut derived = Metadata::new();
    derived.add(tags::FILE_SIZE, 5u64);
    assert_eq!(again.set_metadata(&derived), Err(Error::NotSupported));
    derived.add(tags::GENRE, "Drone");
    assert_eq!(
        again.set_metadata(&derived).unwrap(),
        Status::NotAllPropertiesApplied
    );
    assert_eq!(
        again.metadata().unwrap().get_str(tags::GENRE),
        Some("Drone")
    );
}

#[test]
fn non_audio_metadata_goes_to_the_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    let d = open(dir.path());
    let doc = write_file(d.root().as_ref(), "notes.txt", b"hello");
    let mut set = Metadata::new();
    set.add(tags::TITLE, "Notes");
    assert_eq!(doc.set_metadata(&set).unwrap(), Status::Ok);
    assert_eq!(fs::read(dir.path().join("notes.txt")).unwrap(), b"hello");
    assert_eq!(doc.metadata().unwrap().get_str(tags::TITLE), Some("Notes"));
    let (sub, st) = doc
        .specified_metadata(&[tags::TITLE, tags::COMPOSER])
        .unwrap();
    assert_eq!(st, Status::NotAllPropertiesRetrieved);
    assert_eq!(sub.len(), 1);
    // Metadata given at creation is applied when the write closes.
    let mut m = Metadata::new();
    m.add(tags::TITLE, "Late");
    let s = d
        .root()
        .create(&CreateRequest::file("late.bin").metadata(m))
        .unwrap();
    let mut io = s.open(OpenMode::WRITE).unwrap();
    io.write(b"1").unwrap();
    io.close().unwrap();
    assert_eq!(s.metadata().unwrap().get_str(tags::TITLE), Some("Late"));
    // The sidecar goes with the object.
    s.delete(false, &mut NoProgress).unwrap();
    let meta_dir = dir.path().join(".wmdm/meta");
    assert_eq!(fs::read_dir(meta_dir).unwrap().count(), 1);
}

#[test]
fn playlists_hold_relative_references() {
    let dir = tempfile::tempdir().unwrap();
    let d = open(dir.path());
    let root = d.root();
    let music = root.create(&CreateRequest::folder("Music")).unwrap();
    let album = music.create(&CreateRequest::folder("Album")).unwrap();
    let a = write_file(album.as_ref(), "01 A.mp3", b"a");
    let b = write_file(root.as_ref(), "b.mp3", b"b");
    let lists = root.create(&CreateRequest::folder("Playlists")).unwrap();
    let mut m = Metadata::new();
    m.add(tags::FORMAT_CODE, FormatCode::ABSTRACT_AUDIO_VIDEO_PLAYLIST);
    let pl = lists
        .create(&CreateRequest::file("Road trip").metadata(m))
        .unwrap();
    assert_eq!(pl.name().unwrap(), "Road trip.m3u8");
    assert!(pl.references().unwrap().is_empty());
    pl.set_references(&[a.clone(), b.clone()]).unwrap();
    let text = fs::read_to_string(dir.path().join("Playlists/Road trip.m3u8")).unwrap();
    assert_eq!(text, "#EXTM3U\n../Music/Album/01 A.mp3\n../b.mp3\n");
    let refs: Vec<String> = pl
        .references()
        .unwrap()
        .iter()
        .map(|r| r.unique_id().unwrap())
        .collect();
    assert_eq!(refs, vec![a.unique_id().unwrap(), b.unique_id().unwrap()]);
    // Moving the playlist rewrites its paths.
    pl.move_to(
        wmdm::flags::Placement::Into,
        album.as_ref(),
        &mut NoProgress,
    )
    .unwrap();
    let text = fs::read_to_string(dir.path().join("Music/Album/Road trip.m3u8")).unwrap();
    assert_eq!(text, "#EXTM3U\n01 A.mp3\n../../b.mp3\n");
    // Entries that leave the device or do not exist are skipped.
    fs::write(
        dir.path().join("x.m3u"),
        "#EXTM3U\n../../../etc/passwd\n/etc/passwd\nhttp://a/b.mp3\nmissing.mp3\nb.mp3\n",
    )
    .unwrap();
    let x = root.child("x.m3u").unwrap();
    assert_eq!(x.references().unwrap().len(), 1);
    assert_eq!(b.set_references(&[]).err(), Some(Error::InvalidType));
    assert_eq!(music.references().err(), Some(Error::InvalidType));
    // References to another device are refused.
    let other_dir = tempfile::tempdir().unwrap();
    let other = open(other_dir.path());
    let foreign = write_file(other.root().as_ref(), "f.mp3", b"f");
    assert_eq!(
        pl.set_references(&[foreign]).err(),
        Some(Error::NotSameDevice)
    );
    assert!(
        d.find_storage(FindScope::GLOBAL, &pl.unique_id().unwrap())
            .is_ok()
    );
}

#[test]
fn discovery_reports_arrivals_and_removals() {
    let parent = tempfile::tempdir().unwrap();
    let fixed = tempfile::tempdir().unwrap();
    fs::create_dir(parent.path().join("STICK")).unwrap();
    let p = FsProvider::new(
        FsConfig::root(fixed.path())
            .discover(parent.path(), false)
            .options(DeviceOptions::default().durable(false)),
    );
    assert_eq!(p.device_count().unwrap(), 2);
    assert!(p.poll().is_empty(), "nothing changed");
    fs::create_dir(parent.path().join("CARD")).unwrap();
    let ev = p.poll();
    assert!(matches!(ev.as_slice(), [DeviceEvent::Arrived { root, .. }] if root.ends_with("CARD")));
    let card = p
        .devices()
        .unwrap()
        .into_iter()
        .find(|d| d.name().unwrap() == "CARD")
        .unwrap();
    let root = card.storages().unwrap().remove(0);
    fs::remove_dir_all(parent.path().join("CARD")).unwrap();
    let ev = p.poll();
    assert!(matches!(ev.as_slice(), [DeviceEvent::Removed { root, .. }] if root.ends_with("CARD")));
    assert_eq!(root.children().err(), Some(Error::DeviceNotConnected));
    assert_eq!(card.name().err(), Some(Error::DeviceNotConnected));
    assert_eq!(p.device_count().unwrap(), 2);
    assert_eq!(
        p.create_device(&fixed.path().to_string_lossy())
            .unwrap()
            .len(),
        1
    );
    assert!(p.create_device("/no/such/place").is_err());
    // Mount points only: plain subfolders are not devices.
    let p2 = FsProvider::new(FsConfig::default().discover(parent.path(), true));
    assert_eq!(p2.device_count().unwrap(), 0);
}
