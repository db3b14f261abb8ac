//! Shared data for the sync benches: a library of `n` tracks selected in one playlist, and a
//! device that already holds all of them (or none).

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use wmdm::library::{ContentHash, MemoryLibrary, Playlist, Selection, Track, TrackId};
use wmdm::sync::{
    DeviceContents, DeviceFile, Ledger, LedgerEntry, OwnedKind, PlanInput, PlanSettings, SyncOp,
    metadata_hash, mtime_ns, plan,
};

pub struct Data {
    pub library: MemoryLibrary,
    pub selection: Vec<Selection>,
    pub hashes: HashMap<TrackId, ContentHash>,
    pub device: DeviceContents,
    pub ledger: Ledger,
}

fn hash(i: u64) -> ContentHash {
    let mut h = [0u8; 20];
    h[..8].copy_from_slice(&i.to_le_bytes());
    ContentHash(h)
}

/// `n` tracks of 4 MB; when `synced`, the device holds each at the path sync gives it.
pub fn data(n: u64, synced: bool) -> Data {
    let mut library = MemoryLibrary::new();
    let mut hashes = HashMap::with_capacity(n as usize);
    let mut device = DeviceContents {
        capacity: n * 5_000_000 + (1 << 30),
        free: n * 5_000_000,
        ..DeviceContents::default()
    };
    let mut ledger = Ledger::new("lib", 1);
    for i in 0..n {
        let artist = format!("Artist {}", i % 5000);
        let album = format!("Album {}", i % 20_000);
        let mut t = Track::new(TrackId(i + 1), format!("{artist}/{album}/{i}.mp3"));
        t.title = format!("Title {i}");
        t.artist = artist.clone();
        t.album = album.clone();
        t.track_number = Some((i % 20) as u32 + 1);
        t.size = 4_000_000;
        t.modified = UNIX_EPOCH + Duration::from_secs(1_700_000_000 + i);
        hashes.insert(t.id, hash(i));
        if synced {
            let path = format!("Music/{artist}/{album}/{:02} Title {i}.mp3", (i % 20) + 1);
            device.files.insert(
                path.clone(),
                DeviceFile {
                    size: t.size,
                    unique_id: format!("S:{i}"),
                    modified_ns: 0,
                },
            );
            ledger.insert(LedgerEntry {
                path,
                unique_id: format!("S:{i}"),
                kind: OwnedKind::Track,
                id: t.id.0,
                hash: hash(i).0,
                size: t.size,
                meta: metadata_hash(&t),
                source_size: t.size,
                source_mtime: mtime_ns(&t),
                plays: 0,
                rating: 0,
                seen: None,
                fingerprint: None,
            });
        }
        library.add_track_metadata(t);
    }
    if synced {
        device.free -= n * 4_000_000;
    }
    // A library playlist: the planner writes playlist files for library playlists only.
    let all = Playlist::new_static("All", (1..=n).map(TrackId).collect());
    let selection = vec![Selection {
        priority: 1,
        playlist: all.id,
        tracks: (1..=n).map(TrackId).collect(),
    }];
    library.add_playlist(all);
    let mut d = Data {
        library,
        selection,
        hashes,
        device,
        ledger,
    };
    if synced {
        // The playlist file is on the device too, as the engine left it.
        let p = plan(&PlanInput {
            library: &d.library,
            selection: &d.selection,
            hashes: &d.hashes,
            device: &d.device,
            ledger: &d.ledger,
            settings: &PlanSettings::default(),
            skipped: &Default::default(),
            adoptable: None,
        });
        for op in p.ops {
            if let SyncOp::WritePlaylist {
                playlist,
                path,
                meta,
                content,
                ..
            } = op
            {
                d.device.files.insert(
                    path.clone(),
                    DeviceFile {
                        size: content.len() as u64,
                        unique_id: "S:pl".into(),
                        modified_ns: 0,
                    },
                );
                d.ledger.insert(LedgerEntry {
                    path,
                    unique_id: "S:pl".into(),
                    kind: OwnedKind::Playlist,
                    id: playlist.0,
                    hash: ContentHash::of_bytes(&content).0,
                    size: content.len() as u64,
                    meta,
                    source_size: 0,
                    source_mtime: 0,
                    plays: 0,
                    rating: 0,
                    seen: None,
                    fingerprint: None,
                });
            }
        }
    }
    d
}
