//! What a partnership carries (playlists in priority order) and how it lays files out, and a
//! plan for a device that has no partnership yet (so `--dry-run` writes nothing at all).

use std::collections::HashMap;

use wmdm::library::{
    AutoPlaylist, FolderLibrary, Library, PathTemplate, Playlist, PlaylistId, Rule,
    parse_auto_playlist, selection_for,
};
use wmdm::manager::WmdmStorage;
use wmdm::sync::{
    Ledger, NameRule, PlanInput, PlanSettings, PlaylistFormat, SyncPlan, plan, read_device_contents,
};
use wmdm::time::SystemClock;

use super::report::Failure;

/// The name of the whole-library playlist the default selection ends with.
pub const WHOLE_LIBRARY: &str = "Whole library";
/// The name of the auto playlist given with --auto.
pub const AUTO_NAME: &str = "Auto playlist";

/// What the user asked to sync.
#[derive(Debug)]
pub struct Choice<'a> {
    /// Playlist names, in priority order.
    pub playlists: &'a [String],
    /// An auto playlist's text.
    pub auto: Option<&'a str>,
    /// Nothing explicit: every playlist in the library (by name), then the auto playlist if
    /// any, then the whole library.
    pub defaults: bool,
}

/// How the device is laid out.
#[derive(Debug)]
pub struct Layout<'a> {
    pub template: &'a str,
    pub fat: bool,
    pub wpl: bool,
}

/// Checks that every playlist asked for by name is in the library (before anything else
/// happens: a usage error).
///
/// # Errors
/// A usage error naming the first one missing and the library's playlists.
pub fn check_playlists(lib: &dyn Library, names: &[String]) -> Result<(), Failure> {
    match names.iter().find(|name| {
        !lib.playlists()
            .iter()
            .any(|p| p.name.eq_ignore_ascii_case(name))
    }) {
        Some(name) => Err(no_playlist(lib, name)),
        None => Ok(()),
    }
}

/// The usage error for a playlist name the library does not have.
fn no_playlist(lib: &dyn Library, name: &str) -> Failure {
    let names: Vec<&str> = lib.playlists().iter().map(|p| p.name.as_str()).collect();
    let known = if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    };
    Failure::usage(format!(
        "no playlist named {name:?} in the library (it has: {known})"
    ))
}

/// Sets the playlists and their priorities for partnership `index` (1 syncs first), in memory;
/// returns one line per selected playlist. Playlists this command added before (the auto and
/// whole-library ones) are replaced, not accumulated.
pub fn select(
    lib: &mut FolderLibrary,
    choice: &Choice<'_>,
    index: u8,
) -> Result<Vec<String>, Failure> {
    let failed = |e| Failure::other("selecting playlists", e);
    let ours: Vec<PlaylistId> = lib
        .playlists()
        .iter()
        .filter(|p| p.name == WHOLE_LIBRARY || p.name == AUTO_NAME)
        .map(|p| p.id)
        .collect();
    for id in ours {
        lib.remove_playlist(id);
    }
    let all: Vec<PlaylistId> = lib.playlists().iter().map(|p| p.id).collect();
    for id in all {
        if let Some(p) = lib.playlist_mut(id) {
            p.sync.set_priority(index, 0).map_err(failed)?;
        }
    }
    let mut order: Vec<PlaylistId> = Vec::new();
    if choice.defaults {
        let mut found: Vec<(String, PlaylistId)> = lib
            .playlists()
            .iter()
            .map(|p| (p.name.clone(), p.id))
            .collect();
        found.sort();
        order.extend(found.into_iter().map(|(_, id)| id));
    }
    for name in choice.playlists {
        let hit = lib
            .playlists()
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name));
        match hit.map(|p| p.id) {
            Some(id) if !order.contains(&id) => order.push(id),
            Some(_) => {}
            None => return Err(no_playlist(lib, name)),
        }
    }
    if let Some(text) = choice.auto {
        let rule = parse_auto_playlist(text)
            .map_err(|e| Failure::usage(format!("--auto {text:?}: {e}")))?;
        let p = Playlist::new_auto(AUTO_NAME, rule);
        order.push(p.id);
        lib.add_playlist(p);
    }
    if choice.defaults {
        let mut everything =
            Playlist::new_auto(WHOLE_LIBRARY, AutoPlaylist::new(Rule::All(Vec::new())));
        everything.sync.sync_only = true;
        order.push(everything.id);
        lib.add_playlist(everything);
    }
    let mut lines = Vec::new();
    for (n, id) in order.iter().enumerate() {
        let priority = u32::try_from(n + 1).unwrap_or(u32::MAX);
        if let Some(p) = lib.playlist_mut(*id) {
            p.sync.set_priority(index, priority).map_err(failed)?;
        }
        if let Some(p) = lib.playlist(*id) {
            let tracks = p.resolve(&*lib, &SystemClock).len();
            lines.push(format!("  {priority:>2}. {} ({tracks} tracks)", p.name));
        }
    }
    Ok(lines)
}

/// The partnership's settings with the layout applied.
pub fn layout(mut settings: PlanSettings, l: &Layout<'_>) -> Result<PlanSettings, Failure> {
    settings.template = PathTemplate::parse(l.template)
        .map_err(|e| Failure::usage(format!("--template {:?}: {e}", l.template)))?;
    settings.names = if l.fat {
        NameRule::Fat
    } else {
        NameRule::Permissive
    };
    settings.playlist_format = if l.wpl {
        PlaylistFormat::Wpl
    } else {
        PlaylistFormat::M3u8
    };
    Ok(settings)
}

/// The plan a first sync would make, read from the device without writing to it: no ledger
/// yet, so nothing there is this library's.
pub fn preview(
    root: &WmdmStorage,
    lib: &dyn Library,
    index: u8,
    settings: &PlanSettings,
) -> wmdm::Result<SyncPlan> {
    let device = read_device_contents(root)?;
    let selection = selection_for(lib, index, &SystemClock);
    // A track that cannot be read has no hash, and the plan says so (SourceMissing).
    let hashes: HashMap<_, _> = selection
        .iter()
        .flat_map(|s| s.tracks.iter())
        .filter_map(|id| lib.content_hash(*id).ok().map(|h| (*id, h)))
        .collect();
    Ok(plan(&PlanInput {
        library: lib,
        selection: &selection,
        hashes: &hashes,
        device: &device,
        ledger: &Ledger::default(),
        settings,
        skipped: &Default::default(),
        adoptable: None,
    }))
}
