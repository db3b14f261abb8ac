//! The room the planner keeps out of the budget for sync's own state files and the playlists
//! (docs/sync.md, invariant J2).

use super::filter::MediaKind;
use super::journal::LedgerEntry;
use super::plan::{PlanInput, STATE_ROOM_BASE, STATE_ROOM_PER_ITEM};
use super::plan_names::{FastMap, FastSet};
use crate::library::TrackId;

/// Room for sync's own files and the playlists (they grow with the selection), so a device
/// the sync filled can always take its journal (J2), commit records, ledger and playlists.
///
/// It counts the selection, or the ledger this plan leaves when that is larger (owned objects
/// the plan keeps outside the selection: those a SyncFilter holds back). Not the ledger as it
/// is now: the objects no longer selected leave it whatever the budget, so the next plan
/// would not count them, find more room and copy more; a finished sync must be a fixed point
/// (seed 233 of the crash simulation). Their journal lines are written in the room the plan
/// that copied them kept.
pub(super) fn state_room(
    input: &PlanInput<'_>,
    owned_tracks: &FastMap<TrackId, &LedgerEntry>,
    owned_playlists: &FastMap<&str, &LedgerEntry>,
) -> u64 {
    let selected: u64 = input
        .selection
        .iter()
        .map(|s| s.tracks.len() as u64 + 1)
        .sum::<u64>();
    let owned_now = (owned_tracks.len() + owned_playlists.len()) as u64;
    // Only a ledger larger than the selection needs the count of what leaves it.
    let items = if owned_now > selected {
        selected.max(owned_now - leaving(input, owned_tracks, owned_playlists))
    } else {
        selected
    };
    STATE_ROOM_BASE + STATE_ROOM_PER_ITEM.saturating_mul(items)
}

/// How many owned objects leave the ledger in this plan whatever the budget: tracks in the
/// library that no playlist of the selection has (unless the SyncFilter holds them back) and
/// playlists no longer selected. Tracks that left the library are not counted (one may be
/// re-keyed to a selected track and stay).
fn leaving(
    input: &PlanInput<'_>,
    owned_tracks: &FastMap<TrackId, &LedgerEntry>,
    owned_playlists: &FastMap<&str, &LedgerEntry>,
) -> u64 {
    let s = input.settings;
    let selected: FastSet<TrackId> = input
        .selection
        .iter()
        .flat_map(|sel| sel.tracks.iter().copied())
        .collect();
    let tracks = owned_tracks
        .keys()
        .filter(|id| !selected.contains(id))
        .filter(|id| {
            input
                .library
                .track(**id)
                .is_some_and(|t| s.filter.is_none() || s.filter.includes(MediaKind::of(t.format)))
        })
        .count();
    let playlists = owned_playlists
        .values()
        .filter(|e| !input.selection.iter().any(|sel| sel.playlist.0 == e.id))
        .count();
    (tracks + playlists) as u64
}
