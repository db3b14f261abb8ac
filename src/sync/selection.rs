//! What a partnership syncs: its selected playlists, or the library's default rules
//! (AutoSyncDefaultRules), and what an estimate adds to that (estimateSyncSize).

use crate::library::{
    AutoPlaylist, DateField, Field, Library, NumberField, Playlist, PlaylistId, Rule, Selection,
    SortKey, selection_for,
};
use crate::time::Clock;

/// The id of the default rules' implicit playlist. It is not a library playlist, so no
/// playlist file is written for it.
pub fn default_rules_playlist() -> PlaylistId {
    PlaylistId::from_key("wmdm:sync/default-rules")
}

/// The library's default selection, synced instead of the partnership's playlists when
/// AutoSyncDefaultRules is on: the whole library as one implicit auto playlist at priority 1,
/// ordered by rating, then play count, then date added (each largest first; ties keep the
/// library's order). A device too small for the library so gets the user's favourites first,
/// then the most played, then the newest.
pub fn default_selection(library: &dyn Library, clock: &dyn Clock) -> Vec<Selection> {
    let desc = |field| SortKey {
        field,
        descending: true,
    };
    let mut auto = AutoPlaylist::new(Rule::All(Vec::new()));
    auto.sort = vec![
        desc(Field::Number(NumberField::Rating)),
        desc(Field::Number(NumberField::PlayCount)),
        desc(Field::Date(DateField::Added)),
    ];
    vec![Selection {
        priority: 1,
        playlist: default_rules_playlist(),
        tracks: auto.evaluate(library.tracks(), clock),
    }]
}

/// What partnership `index` syncs now: the library's default selection when `default_rules`
/// is on, else its selected playlists ([`selection_for`]).
pub fn partnership_selection(
    library: &dyn Library,
    index: u8,
    default_rules: bool,
    clock: &dyn Clock,
) -> Vec<Selection> {
    if default_rules {
        default_selection(library, clock)
    } else {
        selection_for(library, index, clock)
    }
}

/// The selection estimateSyncSize estimates (Microsoft's reference: <https://learn.microsoft.com/en-us/windows/win32/api/wmp/nn-wmp-iwmpsyncdevice>, slot 20): `rules` replaces the
/// partnership's current selection (its rules are excluded), and `non_rule` is added after
/// whatever is selected, at the lowest priority, as if the user had just added it. Neither
/// needs to be a library playlist; its tracks are resolved against the library now.
pub(crate) fn estimate_selection(
    library: &dyn Library,
    current: Vec<Selection>,
    non_rule: Option<&Playlist>,
    rules: Option<&Playlist>,
    clock: &dyn Clock,
) -> Vec<Selection> {
    let mut out = match rules {
        Some(p) => vec![Selection {
            priority: 1,
            playlist: p.id,
            tracks: p.resolve(library, clock),
        }],
        None => current,
    };
    // A playlist that is selected already adds nothing.
    if let Some(p) = non_rule.filter(|p| !out.iter().any(|s| s.playlist == p.id)) {
        let last = out.iter().map(|s| s.priority).max().unwrap_or(0);
        out.push(Selection {
            priority: last.saturating_add(1),
            playlist: p.id,
            tracks: p.resolve(library, clock),
        });
    }
    out
}
