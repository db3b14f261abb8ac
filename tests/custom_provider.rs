//! The provider of `examples/custom_provider.rs`, written with only the mandatory methods and
//! `rename`, is one sync can use: discovery finds it (the default canonical name), a
//! partnership is made on it, a sync copies tracks and a playlist onto it and a resync copies
//! nothing.

#[path = "../examples/custom_provider.rs"]
mod custom;

use wmdm::SyncJob;
use wmdm::library::{MemoryLibrary, Playlist, Track, TrackId};
use wmdm::provider::ServiceProvider;

fn library() -> MemoryLibrary {
    let mut lib = MemoryLibrary::new();
    for i in 1..=3u64 {
        let mut t = Track::new(TrackId(i), format!("Band/Album/{i:02}.mp3"));
        (t.title, t.artist, t.album) = (format!("Song {i}"), "Band".into(), "Album".into());
        lib.add_track(t, vec![i as u8; 5_000]);
    }
    lib.add_playlist(Playlist::new_static("Mix", vec![TrackId(2), TrackId(3)]));
    lib
}

#[test]
fn sync_copies_to_a_provider_with_only_the_mandatory_methods_and_rename() {
    let disk = custom::RamDisk::new();
    let device = disk.devices().unwrap().remove(0);
    assert_eq!(device.canonical_name().unwrap(), "example/RAM disk");
    let state = tempfile::tempdir().unwrap();
    let syncer = SyncJob::memory(library())
        .to_provider(disk.clone())
        .state_dir(state.path())
        .playlist("Mix")
        .open()
        .unwrap();
    assert_eq!(syncer.partner().unwrap().get(), 1);
    let report = syncer.sync(|_| {}).unwrap();
    assert_eq!(
        (
            report.summary.copied,
            report.summary.playlists_written,
            report.summary.errors
        ),
        (2, 1, 0),
        "{report}"
    );
    let tree = disk.tree().unwrap();
    for i in [2u8, 3] {
        assert_eq!(
            tree.files
                .values()
                .filter(|b| **b == vec![i; 5_000])
                .count(),
            1,
            "track {i} is on the device once: {:?}",
            tree.files.keys().collect::<Vec<_>>()
        );
    }
    assert!(tree.files.keys().any(|p| p.ends_with("Mix.m3u8")));
    drop(tree);
    assert_eq!(syncer.sync(|_| {}).unwrap().summary.copied, 0);
}
