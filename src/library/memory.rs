//! An in-memory library for tests.

use std::collections::HashMap;
use std::io::Read;

use super::Library;
use super::playlist::{Playlist, PlaylistId};
use super::track::{ContentHash, Track, TrackId};
use crate::{Error, Result};

/// A library held in memory: tracks with their bytes, and playlists. Tests build one, edit it
/// (tags, contents) and hand it to sync.
#[derive(Debug, Default, Clone)]
pub struct MemoryLibrary {
    tracks: Vec<Track>,
    index: HashMap<TrackId, usize>,
    contents: HashMap<TrackId, Vec<u8>>,
    playlists: Vec<Playlist>,
}

impl MemoryLibrary {
    /// An empty library.
    pub fn new() -> MemoryLibrary {
        MemoryLibrary::default()
    }

    /// Adds a track with its bytes (its `size` is set to their length), replacing any track
    /// with the same id.
    pub fn add_track(&mut self, mut track: Track, content: Vec<u8>) {
        track.size = content.len() as u64;
        let id = track.id;
        self.contents.insert(id, content);
        match self.index.get(&id) {
            Some(&i) => {
                if let Some(slot) = self.tracks.get_mut(i) {
                    *slot = track;
                }
            }
            None => {
                self.index.insert(id, self.tracks.len());
                self.tracks.push(track);
            }
        }
    }

    /// Adds a track without bytes, keeping its `size` (for evaluation benchmarks and planners
    /// that never read content). Opening or hashing it fails with
    /// [`Error::FileNotFound`].
    pub fn add_track_metadata(&mut self, track: Track) {
        let id = track.id;
        self.contents.remove(&id);
        match self.index.get(&id) {
            Some(&i) => {
                if let Some(slot) = self.tracks.get_mut(i) {
                    *slot = track;
                }
            }
            None => {
                self.index.insert(id, self.tracks.len());
                self.tracks.push(track);
            }
        }
    }

    /// Mutable access to a track, to edit its tags in a test. Changing `id` through this
    /// reference is not supported; remove and add the track instead.
    pub fn track_mut(&mut self, id: TrackId) -> Option<&mut Track> {
        let i = *self.index.get(&id)?;
        self.tracks.get_mut(i)
    }

    /// Replaces a track's bytes (its `size` follows).
    ///
    /// # Errors
    /// [`Error::FileNotFound`] for an unknown id.
    pub fn set_content(&mut self, id: TrackId, content: Vec<u8>) -> Result<()> {
        let t = self.track_mut(id).ok_or(Error::FileNotFound)?;
        t.size = content.len() as u64;
        self.contents.insert(id, content);
        Ok(())
    }

    /// Removes a track (playlists keep the id; resolving them drops it).
    pub fn remove_track(&mut self, id: TrackId) -> Option<Track> {
        let i = self.index.remove(&id)?;
        self.contents.remove(&id);
        let t = self.tracks.remove(i);
        for (pos, t) in self.tracks.iter().enumerate().skip(i) {
            self.index.insert(t.id, pos);
        }
        Some(t)
    }

    /// Adds a playlist, replacing one with the same id.
    pub fn add_playlist(&mut self, playlist: Playlist) {
        super::playlist::upsert_playlist(&mut self.playlists, playlist);
    }

    /// Mutable access to a playlist (to change its priorities or rule).
    pub fn playlist_mut(&mut self, id: PlaylistId) -> Option<&mut Playlist> {
        self.playlists.iter_mut().find(|p| p.id == id)
    }

    /// Removes a playlist.
    pub fn remove_playlist(&mut self, id: PlaylistId) -> Option<Playlist> {
        super::playlist::remove_playlist(&mut self.playlists, id)
    }
}

impl Library for MemoryLibrary {
    fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    fn track(&self, id: TrackId) -> Option<&Track> {
        self.tracks.get(*self.index.get(&id)?)
    }

    fn playlists(&self) -> &[Playlist] {
        &self.playlists
    }

    fn content_hash(&self, id: TrackId) -> Result<ContentHash> {
        self.contents
            .get(&id)
            .map(|c| ContentHash::of_bytes(c))
            .ok_or(Error::FileNotFound)
    }

    fn open(&self, id: TrackId) -> Result<Box<dyn Read + Send + '_>> {
        let c = self.contents.get(&id).ok_or(Error::FileNotFound)?;
        Ok(Box::new(c.as_slice()))
    }

    fn clear_sync_slot(&mut self, index: u8) -> Result<()> {
        super::playlist::clear_sync_slot(&mut self.playlists, index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_edit_remove() {
        let mut lib = MemoryLibrary::new();
        for i in 0..3 {
            lib.add_track(Track::new(TrackId(i), format!("{i}.mp3")), vec![i as u8; 4]);
        }
        lib.track_mut(TrackId(1)).unwrap().title = "New".into();
        assert_eq!(lib.track(TrackId(1)).unwrap().title, "New");
        assert_eq!(
            lib.content_hash(TrackId(2)).unwrap(),
            ContentHash::of_bytes(&[2; 4])
        );
        lib.remove_track(TrackId(0));
        assert_eq!(lib.track(TrackId(2)).unwrap().id, TrackId(2));
        assert_eq!(lib.content_hash(TrackId(0)), Err(Error::FileNotFound));
        let mut buf = Vec::new();
        lib.open(TrackId(1)).unwrap().read_to_end(&mut buf).unwrap();
        assert_eq!(buf, [1; 4]);
        lib.set_content(TrackId(1), vec![9; 10]).unwrap();
        assert_eq!(lib.track(TrackId(1)).unwrap().size, 10);
    }
}
