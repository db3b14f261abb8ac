//! Playlists: static lists and auto playlists, with WMP's per-partnership sync settings.

use std::path::PathBuf;

use super::Library;
use super::rule::AutoPlaylist;
use super::track::{TrackId, fnv1a64};
use crate::time::Clock;

/// A playlist's stable id: 64-bit FNV-1a of its key (the relative path of a playlist file, or
/// the name given to [`Playlist::new_static`] / [`Playlist::new_auto`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlaylistId(pub u64);

impl PlaylistId {
    /// The id for a key.
    pub fn from_key(key: &str) -> PlaylistId {
        PlaylistId(fnv1a64(key.as_bytes()))
    }
}

/// What a playlist holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlaylistKind {
    /// A fixed list of tracks, in order (a track may appear more than once).
    Static(Vec<TrackId>),
    /// A rule evaluated against the library when asked.
    Auto(AutoPlaylist),
}

/// A playlist's sync settings: WMP's `Sync01`..`Sync16` and `SyncOnly` attributes
/// (Microsoft's reference: <https://learn.microsoft.com/en-us/windows/win32/wmdm/enabling-synchronization-with-windows-media-player>).
///
/// Each partnership index 1-16 has a 32-bit priority: 0 means "not synced to that device";
/// any other value selects the playlist, and lower values sync first.
///
/// ```
/// use wmdm::library::SyncSettings;
///
/// let mut s = SyncSettings::default();
/// s.set_priority(1, 0x0D).unwrap();
/// assert_eq!(s.attribute("Sync01").as_deref(), Some("13"));
/// s.set_attribute("Sync02", "1").unwrap();
/// assert_eq!(s.priority(2), 1);
/// assert!(s.set_priority(17, 1).is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SyncSettings {
    priorities: [u32; 16],
    /// WMP's `SyncOnly`: the playlist exists only for sync and does not show under the
    /// Auto Playlists node.
    pub sync_only: bool,
}

impl SyncSettings {
    /// The priority for a partnership index (1-16); 0 for "not synced", and for an index out of
    /// range.
    pub fn priority(&self, partnership: u8) -> u32 {
        usize::from(partnership)
            .checked_sub(1)
            .and_then(|i| self.priorities.get(i))
            .copied()
            .unwrap_or(0)
    }

    /// Sets the priority for a partnership index (1-16).
    ///
    /// # Errors
    /// [`Error::InvalidArg`](crate::Error::InvalidArg) when the index is not 1-16.
    pub fn set_priority(&mut self, partnership: u8, priority: u32) -> crate::Result<()> {
        let slot = usize::from(partnership)
            .checked_sub(1)
            .and_then(|i| self.priorities.get_mut(i))
            .ok_or(crate::Error::InvalidArg)?;
        *slot = priority;
        Ok(())
    }

    /// True when the playlist syncs to that partnership.
    pub fn is_synced_to(&self, partnership: u8) -> bool {
        self.priority(partnership) != 0
    }

    /// A playlist attribute as WMP's `getItemInfo` gives it: `Sync01`..`Sync16` as a decimal
    /// 32-bit value, `SyncOnly` as `"1"` or `"0"`. `None` for another name. Names ignore case.
    pub fn attribute(&self, name: &str) -> Option<String> {
        if name.eq_ignore_ascii_case("SyncOnly") {
            return Some(if self.sync_only { "1" } else { "0" }.to_owned());
        }
        sync_index(name).map(|i| self.priority(i).to_string())
    }

    /// Sets an attribute as WMP's `setItemInfo` does. `Sync01`..`Sync16` take a decimal or
    /// `0x` hexadecimal 32-bit value; `SyncOnly` takes `1`/`0`/`true`/`false`.
    ///
    /// # Errors
    /// [`Error::InvalidArg`](crate::Error::InvalidArg) for another name or a value that does
    /// not parse.
    pub fn set_attribute(&mut self, name: &str, value: &str) -> crate::Result<()> {
        let value = value.trim();
        if name.eq_ignore_ascii_case("SyncOnly") {
            self.sync_only = match value.to_ascii_lowercase().as_str() {
                "1" | "true" | "-1" => true,
                "0" | "false" => false,
                _ => return Err(crate::Error::InvalidArg),
            };
            return Ok(());
        }
        let i = sync_index(name).ok_or(crate::Error::InvalidArg)?;
        let v = match value
            .strip_prefix("0x")
            .or_else(|| value.strip_prefix("0X"))
        {
            Some(hex) => u32::from_str_radix(hex, 16),
            None => value.parse::<u32>(),
        }
        .map_err(|_| crate::Error::InvalidArg)?;
        self.set_priority(i, v)
    }
}

/// `Sync01` → 1 ... `Sync16` → 16.
fn sync_index(name: &str) -> Option<u8> {
    let digits = name
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("sync"))
        .and(name.get(4..))?;
    if digits.len() != 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u8>().ok().filter(|i| (1..=16).contains(i))
}

/// A playlist of a library.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Playlist {
    /// The stable id.
    pub id: PlaylistId,
    /// The name shown to the user.
    pub name: String,
    /// The tracks, or the rule that picks them.
    pub kind: PlaylistKind,
    /// Per-partnership sync priorities and `SyncOnly`.
    pub sync: SyncSettings,
    /// The playlist file it was read from, if any.
    pub source: Option<PathBuf>,
}

impl Playlist {
    /// A static playlist whose id comes from its name.
    pub fn new_static(name: impl Into<String>, tracks: Vec<TrackId>) -> Playlist {
        let name = name.into();
        Playlist {
            id: PlaylistId::from_key(&name),
            name,
            kind: PlaylistKind::Static(tracks),
            sync: SyncSettings::default(),
            source: None,
        }
    }

    /// An auto playlist whose id comes from its name.
    pub fn new_auto(name: impl Into<String>, auto: AutoPlaylist) -> Playlist {
        let name = name.into();
        Playlist {
            id: PlaylistId::from_key(&name),
            name,
            kind: PlaylistKind::Auto(auto),
            sync: SyncSettings::default(),
            source: None,
        }
    }

    /// The playlist's tracks now: a static list as it is, less ids the library no longer has;
    /// an auto playlist evaluated at `clock.now()`.
    pub fn resolve<L: Library + ?Sized>(&self, library: &L, clock: &dyn Clock) -> Vec<TrackId> {
        match &self.kind {
            PlaylistKind::Auto(a) => a.evaluate(library.tracks(), clock),
            PlaylistKind::Static(ids) => ids
                .iter()
                .copied()
                .filter(|id| library.track(*id).is_some())
                .collect(),
        }
    }
}

/// One playlist of a partnership's selection, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// Its priority for the partnership (1 syncs before 2; never 0).
    pub priority: u32,
    /// The playlist.
    pub playlist: PlaylistId,
    /// Its tracks now, in playlist order.
    pub tracks: Vec<TrackId>,
}

/// Sets every playlist's priority for partnership `index` to 0 ([`Library::clear_sync_slot`]).
///
/// # Errors
/// [`Error::InvalidArg`](crate::Error::InvalidArg) when `index` is not 1-16.
///
/// [`Library::clear_sync_slot`]: super::Library::clear_sync_slot
pub(crate) fn clear_sync_slot(playlists: &mut [Playlist], index: u8) -> crate::Result<()> {
    for p in playlists {
        p.sync.set_priority(index, 0)?;
    }
    Ok(())
}

/// Adds `playlist` to `list`, replacing one with the same id (shared by the libraries).
pub(crate) fn upsert_playlist(list: &mut Vec<Playlist>, playlist: Playlist) {
    match list.iter_mut().find(|p| p.id == playlist.id) {
        Some(slot) => *slot = playlist,
        None => list.push(playlist),
    }
}

/// Removes the playlist with `id` from `list`.
pub(crate) fn remove_playlist(list: &mut Vec<Playlist>, id: PlaylistId) -> Option<Playlist> {
    let i = list.iter().position(|p| p.id == id)?;
    Some(list.remove(i))
}

/// What a partnership syncs, in order: the selected playlists (see [`selected_for`]), each
/// resolved against the library at `clock.now()`. This is the planner's input.
pub fn selection_for<L: Library + ?Sized>(
    library: &L,
    partnership: u8,
    clock: &dyn Clock,
) -> Vec<Selection> {
    selected_for(library.playlists(), partnership)
        .into_iter()
        .map(|(priority, p)| Selection {
            priority,
            playlist: p.id,
            tracks: p.resolve(library, clock),
        })
        .collect()
}

/// The playlists selected for a partnership, in sync order: by priority (lower first), then by
/// name and id so equal priorities still order deterministically. Playlists with priority 0
/// are left out.
pub fn selected_for(playlists: &[Playlist], partnership: u8) -> Vec<(u32, &Playlist)> {
    let mut v: Vec<(u32, &Playlist)> = playlists
        .iter()
        .map(|p| (p.sync.priority(partnership), p))
        .filter(|(prio, _)| *prio != 0)
        .collect();
    v.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| a.1.name.cmp(&b.1.name))
            .then(a.1.id.cmp(&b.1.id))
    });
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wmp_priority_order() {
        // Microsoft's reference: <https://learn.microsoft.com/en-us/windows/win32/wmdm/enabling-synchronization-with-windows-media-player>: 0x0D, 0x20, 0x01 and 0 sync as 0x01, 0x0D, 0x20; 0 is skipped.
        let mut lists = Vec::new();
        for (name, prio) in [("a", 0x0D), ("b", 0x20), ("c", 0x01), ("d", 0)] {
            let mut p = Playlist::new_static(name, vec![]);
            p.sync.set_priority(1, prio).unwrap();
            lists.push(p);
        }
        let order: Vec<&str> = selected_for(&lists, 1)
            .iter()
            .map(|(_, p)| p.name.as_str())
            .collect();
        assert_eq!(order, ["c", "a", "b"]);
        assert!(selected_for(&lists, 2).is_empty());
    }

    #[test]
    fn selections_resolve_in_order() {
        use crate::library::{MemoryLibrary, Track, parse_auto_playlist};
        let mut lib = MemoryLibrary::new();
        for i in 1..=3 {
            let mut t = Track::new(TrackId(i), format!("{i}.mp3"));
            t.genre = if i == 2 { "Jazz".into() } else { "Rock".into() };
            lib.add_track(t, vec![0; 4]);
        }
        let mut a = Playlist::new_static("a", vec![TrackId(3), TrackId(99), TrackId(1)]);
        a.sync.set_priority(4, 2).unwrap();
        let mut b = Playlist::new_auto("b", parse_auto_playlist("genre = jazz").unwrap());
        b.sync.set_priority(4, 1).unwrap();
        lib.add_playlist(a);
        lib.add_playlist(b);
        let clock = crate::time::ManualClock::default();
        let sel = selection_for(&lib, 4, &clock);
        assert_eq!(sel.len(), 2);
        assert_eq!(
            (sel[0].priority, &sel[0].tracks[..]),
            (1, &[TrackId(2)][..])
        );
        assert_eq!(&sel[1].tracks[..], &[TrackId(3), TrackId(1)]);
        assert!(selection_for(&lib, 5, &clock).is_empty());
    }

    #[test]
    fn attributes() {
        let mut s = SyncSettings::default();
        s.set_attribute("sync16", "0x20").unwrap();
        assert_eq!(s.priority(16), 32);
        assert!(s.set_attribute("Sync17", "1").is_err());
        assert!(s.set_attribute("Sync1", "1").is_err());
        assert!(s.set_attribute("Sync00", "1").is_err());
        assert!(s.set_attribute("Sync01", "-1").is_err());
        assert!(s.set_attribute("Sync01", "4294967296").is_err());
        s.set_attribute("SyncOnly", "1").unwrap();
        assert_eq!(s.attribute("SYNCONLY").as_deref(), Some("1"));
        assert_eq!(s.attribute("Title"), None);
        assert_eq!(s.priority(0), 0);
    }
}
