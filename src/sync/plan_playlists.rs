//! The planner's playlist phase: each selected playlist kept or written, with only the
//! entries that are on the device; owned playlists no longer selected deleted.

use std::hash::Hasher;

use super::super::super::journal::OwnedKind;
use super::super::super::names::{component, file_limit};
use super::super::super::plan_names::{FastSet, Fnv};
use super::super::{DeleteReason, PlaylistLayout, SyncOp};
use super::Planner;
use crate::library::{PathStyle, Selection, TrackId, WriteEntry};

impl Planner<'_> {
    /// Playlists: only entries that are on the device, relative to the playlist's folder; an
    /// owned playlist no longer selected is deleted.
    pub(in crate::sync) fn playlists(&mut self) {
        let s = self.input.settings;
        let style = PathStyle::relative(
            self.names
                .spell(&s.playlist_folder, "x")
                .rsplit_once('/')
                .map_or(String::new(), |(d, _)| d.to_owned()),
            s.playlist_separator,
        );
        let layout = PlaylistLayout {
            format: s.playlist_format,
            style,
        };
        for sel in self.input.selection {
            self.playlist(sel, &layout);
        }
        for e in self.owned_playlists.values() {
            if !self.written.contains(&e.path) {
                self.deletes.push(SyncOp::Delete {
                    path: e.path.clone(),
                    kind: OwnedKind::Playlist,
                    size: e.size,
                    reason: DeleteReason::Unselected,
                });
                self.out.totals.bytes_to_delete += e.size;
            }
        }
        self.layout = Some(layout);
    }

    /// One selected playlist: kept when what it is made of did not change, else written.
    fn playlist(&mut self, sel: &Selection, layout: &PlaylistLayout) {
        let input = self.input;
        let s = input.settings;
        let style = &layout.style;
        // A selection without a library playlist (the default rules' implicit playlist, a
        // playlist being estimated) has no file on the device.
        let Some(name) = input.library.playlist(sel.playlist).map(|p| p.name.clone()) else {
            return;
        };
        // The entries: each track once, in the selection's order, only those on the device.
        // An unchanged playlist (every playlist of a no-op resync) is recognised from its ids
        // and the hash below; the entries are only gathered for one that is written.
        let mut seen_here = FastSet::default();
        seen_here.reserve(sel.tracks.len());
        let mut listed = Vec::with_capacity(sel.tracks.len());
        let placed = &self.out.placed;
        let entry = |id: &TrackId| -> Option<WriteEntry<'_>> {
            let path = placed.get(id)?;
            let t = input.library.track(*id)?;
            Some(WriteEntry {
                path,
                title: Some(t.title.as_str()),
                duration: Some(t.duration),
            })
        };
        // One component whatever the title holds: "a/b" is `a_b.m3u8`, not a folder `a`.
        let file = component(
            s.names,
            &format!("{name}.{}", s.playlist_format.extension()),
            file_limit(s.name_max),
        );
        let wanted = self.names.spell(&s.playlist_folder, &file);
        // What the file's bytes are made of, hashed: an unchanged playlist is recognised
        // without rendering it (the ledger keeps this hash as the playlist's `meta`).
        let mut fp = Fnv::default();
        fp.write(name.as_bytes());
        fp.write(s.playlist_format.extension().as_bytes());
        fp.write(style.base_folder.as_bytes());
        fp.write_u64(u64::from(u32::from(s.playlist_separator)));
        for id in &sel.tracks {
            if !seen_here.insert(*id) {
                continue;
            }
            let Some(e) = entry(id) else {
                continue;
            };
            listed.push(*id);
            fp.write(e.path.as_bytes());
            fp.write_u64(0);
            fp.write(e.title.unwrap_or("").as_bytes());
            fp.write_u64(e.duration.map_or(u64::MAX, |d| d.as_secs()));
        }
        let input_hash = fp.finish();
        // The playlist's own file: at the name it would get, or, when that name was taken
        // when it was first written (it got "name (2)"), wherever the ledger has it, so an
        // owned playlist never moves on a rewrite.
        let owned_playlists = &self.owned_playlists;
        let written = &self.written;
        let owned = owned_playlists
            .get(wanted.as_str())
            .copied()
            .filter(|e| e.id == sel.playlist.0)
            .or_else(|| {
                owned_playlists
                    .values()
                    .filter(|e| e.id == sel.playlist.0 && !written.contains(&e.path))
                    .min_by(|a, b| a.path.cmp(&b.path))
                    .copied()
            })
            .or_else(|| owned_playlists.get(wanted.as_str()).copied());
        if let Some(e) = owned
            && e.meta == input_hash
            && e.id == sel.playlist.0
        {
            self.written.insert(e.path.clone());
            return;
        }
        // Paths come from the name rules, so they never hold line breaks; an error here would
        // be a bug, and the playlist is skipped rather than written wrong.
        let entries: Vec<WriteEntry<'_>> = listed.iter().filter_map(entry).collect();
        let Ok(content) = layout.render(&name, &entries) else {
            return;
        };
        let path = match owned {
            Some(e) => e.path.clone(),
            None => self.names.claim(&wanted),
        };
        self.written.insert(path.clone());
        self.out.totals.bytes_to_copy += content.len() as u64;
        self.out.totals.playlists += 1;
        self.playlist_ops.push(SyncOp::WritePlaylist {
            playlist: sel.playlist,
            name,
            path,
            meta: input_hash,
            content: content.into(),
            replaces: owned.map(|e| e.unique_id.clone()),
            tracks: listed,
        });
    }
}
