//! Recovery from an interrupted sync (docs/sync.md, invariants J1-J9), in three parts so that
//! planning and estimates never write (J9):
//!
//! * the sync core reads (`machine::prepare`): the ledger, the journal and the commit records,
//!   then the device objects [`to_observe`] names;
//! * [`recover`] is pure: from those it decides the recovered ledger, the temporary files to
//!   delete, and what it leaves alone (and why);
//! * the sync core carries the decision out, as requests (`machine::prepare`), only when a
//!   sync starts.

use std::collections::HashMap;

use super::device::{SYNC_FOLDER, journal_file};
use super::intent::IntentRecord;
use super::journal::{CommitRecord, Committed, Journal, JournalOp, Ledger, LedgerEntry};
use super::legacy::{LEGACY_JOURNAL_FILE, LegacyJournal};
use super::plan::DeviceContents;
use super::text::StateParseError;

/// Why recovery left a path alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum LeftAloneReason {
    /// The journal planned to write here, but no commit record vouches for the object there
    /// now (the sync never finished writing it, so it is not the sync's).
    Unconfirmed,
    /// A commit record names this path, but the object there does not match it (size,
    /// fingerprint or unique ID): someone else's file.
    Mismatch,
    /// The sync's own state file could not be read; nothing it names was touched.
    UnreadableState,
}

/// A path recovery did not delete or adopt, and why (`SyncSummary::left_alone`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct LeftAlone {
    /// The path from the storage root (for an unreadable state file, its path).
    pub path: String,
    /// Why.
    pub reason: LeftAloneReason,
}

/// The sync's state files on the device, as read.
#[derive(Debug, Default)]
pub(crate) struct StateFiles {
    pub(crate) ledger: Ledger,
    pub(crate) ledger_problem: Option<StateParseError>,
    pub(crate) journal: Option<std::result::Result<Journal, StateParseError>>,
    /// Commit records by file name.
    pub(crate) commits: Vec<(String, std::result::Result<CommitRecord, StateParseError>)>,
    /// Intent records (a device that refuses renames) by file name.
    pub(crate) intents: Vec<(String, std::result::Result<IntentRecord, StateParseError>)>,
    /// State files whose only trace is an interrupted first write (removed when recovery is carried out).
    pub(crate) stale: Vec<String>,
    /// The journal of an older version (`journal.txt`), when there is one.
    pub(crate) legacy_journal: Option<std::result::Result<LegacyJournal, StateParseError>>,
}

/// The commit records read ([`read_states_with_prefix`]), parsed.
pub(crate) fn commits_from(
    files: Vec<(String, Vec<u8>, bool)>,
) -> Vec<(String, std::result::Result<CommitRecord, StateParseError>)> {
    files
        .into_iter()
        .map(|(name, b, twin)| (name, CommitRecord::parse(&b), twin))
        // A lone unparseable `.new` is a record whose write was interrupted: its batch was
        // never committed, and the file is only removed.
        .map(|(name, c, twin)| match c {
            Err(_) if twin => (name, Ok(CommitRecord::default())),
            c => (name, c),
        })
        .collect()
}

/// The intent records read ([`read_states_with_prefix`]), parsed.
pub(crate) fn intents_from(
    files: Vec<(String, Vec<u8>, bool)>,
) -> Vec<(String, std::result::Result<IntentRecord, StateParseError>)> {
    files
        .into_iter()
        .map(|(name, b, twin)| match IntentRecord::parse(&b) {
            // An interrupted first write: no write of its batch had started.
            Err(_) if twin => (name, Ok(IntentRecord::default())),
            r => (name, r),
        })
        .collect()
}

/// A state file's bytes as read (`device::read_state_from`); a lone `.new` twin that does
/// not parse is the interrupted first write of the file, so the file is taken as absent and
/// its name noted in `stale`.
pub(crate) fn first_write(
    read: Option<(Vec<u8>, bool)>,
    name: &str,
    parses: impl Fn(&[u8]) -> bool,
    stale: &mut Vec<String>,
) -> Option<Vec<u8>> {
    match read {
        Some((b, true)) if !parses(&b) => {
            stale.push(name.to_owned());
            None
        }
        other => other.map(|(b, _)| b),
    }
}

/// A device object as recovery saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Seen {
    pub(crate) size: u64,
    pub(crate) unique_id: String,
    /// Read only where a decision needs it: the object has no unique ID, or a commit record
    /// names its path.
    pub(crate) fingerprint: Option<[u8; 20]>,
}

/// What the device holds at each path the journal names (`None`: nothing there).
pub(crate) type Observed = HashMap<String, Option<Seen>>;

/// The journal of this library, when it is readable and its own (whatever the partnership
/// index: a library's files are its own under any index, J8).
fn own_journal<'a>(state: &'a StateFiles, library_id: &str) -> Option<&'a Journal> {
    match &state.journal {
        Some(Ok(j)) if j.library_id == library_id => Some(j),
        _ => None,
    }
}

fn committed(state: &StateFiles, session: u64) -> HashMap<&str, &Committed> {
    state
        .commits
        .iter()
        .filter_map(|(_, c)| c.as_ref().ok())
        .filter(|c| c.session == session)
        .flat_map(|c| c.files.iter())
        .map(|c| (c.temp.as_str(), c))
        .collect()
}

/// The older version's journal of this library, when it is readable and its own.
fn own_legacy_journal<'a>(state: &'a StateFiles, library_id: &str) -> Option<&'a LegacyJournal> {
    match &state.legacy_journal {
        Some(Ok(j)) if j.library_id == library_id => Some(j),
        _ => None,
    }
}

/// What recovery does with an older version's journal of this library (see `legacy`): its
/// temporary files at exactly their recorded size go, the paths it deleted that are gone leave
/// the ledger, and the journal goes; a recorded temporary file of another size is left alone.
fn recover_legacy(state: &StateFiles, observed: &Observed, library_id: &str, out: &mut Recovery) {
    match &state.legacy_journal {
        Some(Err(e)) => {
            tracing::warn!(error = %e, "an older version's sync journal is unreadable; nothing it names is touched");
            out.left_alone.push(LeftAlone {
                path: format!("{SYNC_FOLDER}/{LEGACY_JOURNAL_FILE}"),
                reason: LeftAloneReason::UnreadableState,
            });
            return;
        }
        None => return,
        Some(Ok(_)) => {}
    }
    let Some(old) = own_legacy_journal(state, library_id) else {
        return; // another library's: its files, its journal
    };
    let seen_at = |p: &str| observed.get(p).and_then(Option::as_ref);
    for (temp, size) in &old.temps {
        match seen_at(temp) {
            Some(t) if t.size == *size => out.delete_temps.push((temp.clone(), t.size)),
            Some(_) => out.left_alone.push(LeftAlone {
                path: temp.clone(),
                reason: LeftAloneReason::Unconfirmed,
            }),
            None => {}
        }
    }
    for path in &old.deletes {
        if seen_at(path).is_none() {
            out.ledger.entries.remove(path);
        }
    }
    out.clear_state.push(LEGACY_JOURNAL_FILE.to_owned());
}

/// The paths the session's intent records announce, with their planned sizes.
fn intended(state: &StateFiles, session: u64) -> HashMap<&str, u64> {
    state
        .intents
        .iter()
        .filter_map(|(_, c)| c.as_ref().ok())
        .filter(|c| c.session == session)
        .flat_map(|c| c.files.iter())
        .map(|f| (f.path.as_str(), f.size))
        .collect()
}

/// The paths the journal names, in the order recovery reads them, each once, with whether
/// its fingerprint must be read (a commit record names it; an object without a unique ID has
/// it read anyway).
pub(crate) fn to_observe(state: &StateFiles, library_id: &str) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut look = |path: &str, fingerprint: bool| {
        if seen.insert(path.to_owned()) {
            out.push((path.to_owned(), fingerprint));
        }
    };
    if let Some(old) = own_legacy_journal(state, library_id) {
        for (temp, _) in &old.temps {
            look(temp, false);
        }
        for path in &old.deletes {
            look(path, false);
        }
    }
    if let Some(journal) = own_journal(state, library_id) {
        let records = committed(state, journal.session);
        for op in &journal.ops {
            match op {
                JournalOp::Put { temp, entry, .. } => {
                    look(temp, false);
                    look(&entry.path, records.contains_key(temp.as_str()));
                }
                JournalOp::Delete { path } | JournalOp::Retag { path, .. } => look(path, false),
            }
        }
    }
    out
}

/// What recovery decided.
#[derive(Debug, Default)]
pub(crate) struct Recovery {
    /// The ledger after recovery.
    pub(crate) ledger: Ledger,
    /// True when the ledger differs from the one read (it must be written).
    pub(crate) ledger_changed: bool,
    /// Files to delete, with their sizes: temporary files recorded in the journal and named
    /// with its session (J3), and partial writes under a final name its intent records
    /// announced (a device that refuses renames).
    pub(crate) delete_temps: Vec<(String, u64)>,
    /// State files to remove once the rest is done (the journal, commit records).
    pub(crate) clear_state: Vec<String>,
    /// Lone `.new` twins of interrupted first writes (by base name), removed first.
    pub(crate) stale_twins: Vec<String>,
    /// What was neither deleted nor adopted, and why.
    pub(crate) left_alone: Vec<LeftAlone>,
}

/// True when `entry` (owned by the ledger) is the object seen: on a device that gives unique
/// IDs, the same non-empty unique ID (the object may have changed size since: a device that
/// keeps playlists as references rewrites them when a track they name is deleted); on one
/// that gives none, the same size and fingerprint (J5). An empty unique ID alone proves
/// nothing.
pub(crate) fn owns(entry: &LedgerEntry, size: u64, unique_id: &str, fp: Option<[u8; 20]>) -> bool {
    if !entry.unique_id.is_empty() {
        return entry.unique_id == unique_id;
    }
    entry.size == size
        && unique_id.is_empty()
        && entry.fingerprint.is_some()
        && entry.fingerprint == fp
}

fn matches_record(c: &Committed, seen: &Seen) -> bool {
    c.size == seen.size
        && seen.fingerprint == Some(c.fingerprint)
        && (c.unique_id.is_empty() || c.unique_id == seen.unique_id)
}

/// Decides recovery. Pure: the same state and observations give the same decision.
#[cfg(test)]
pub(crate) fn recover(state: &StateFiles, observed: &Observed, library_id: &str) -> Recovery {
    recover_ledger(state, state.ledger.clone(), observed, library_id)
}

/// [`recover`] of `ledger`, the ledger read (taken out of `state`, whose own `ledger` is not
/// looked at): a ledger of ten thousand entries is not copied where there is nothing to
/// recover, the usual case.
pub(crate) fn recover_ledger(
    state: &StateFiles,
    ledger: Ledger,
    observed: &Observed,
    library_id: &str,
) -> Recovery {
    // Only an older version's journal of this library, or this library's journal, changes
    // the ledger; the one read is kept to tell whether they did.
    let may_change =
        matches!(state.legacy_journal, Some(Ok(_))) || own_journal(state, library_id).is_some();
    let read = may_change.then(|| ledger.clone());
    let changed = |out: &Recovery| read.as_ref().is_some_and(|r| out.ledger != *r);
    let mut out = Recovery {
        ledger,
        stale_twins: state.stale.clone(),
        ..Recovery::default()
    };
    let journal_name = journal_file(library_id);
    match &state.journal {
        None => {}
        Some(Err(e)) => {
            tracing::warn!(error = %e, "the sync journal is unreadable; nothing it names is touched");
            out.left_alone.push(LeftAlone {
                path: format!("{SYNC_FOLDER}/{journal_name}"),
                reason: LeftAloneReason::UnreadableState,
            });
        }
        Some(Ok(_)) => {}
    }
    let unreadable = state
        .commits
        .iter()
        .map(|(n, c)| (n, c.is_err()))
        .chain(state.intents.iter().map(|(n, c)| (n, c.is_err())));
    for (name, bad) in unreadable {
        if bad {
            out.left_alone.push(LeftAlone {
                path: format!("{SYNC_FOLDER}/{name}"),
                reason: LeftAloneReason::UnreadableState,
            });
        }
    }
    if state.journal.is_some() {
        out.clear_state.push(journal_name);
    }
    out.clear_state
        .extend(state.commits.iter().map(|(n, _)| n.clone()));
    out.clear_state
        .extend(state.intents.iter().map(|(n, _)| n.clone()));
    recover_legacy(state, observed, library_id, &mut out);
    let Some(journal) = own_journal(state, library_id) else {
        out.ledger_changed = changed(&out);
        return out;
    };
    let records = committed(state, journal.session);
    let intended = intended(state, journal.session);
    let ledger = &mut out.ledger;
    let seen_at = |p: &str| observed.get(p).and_then(Option::as_ref);
    for op in &journal.ops {
        match op {
            JournalOp::Put {
                temp,
                replaces,
                entry,
            } => {
                let record = records.get(temp.as_str()).filter(|c| c.path == entry.path);
                // Written in place (a device that refuses renames): announced before the old
                // object was deleted or the new one created.
                let intent = intended.get(entry.path.as_str()).copied();
                if let Some(t) = seen_at(temp) {
                    out.delete_temps.push((temp.clone(), t.size));
                }
                let Some(obj) = seen_at(&entry.path) else {
                    // The old object is deleted only after the batch's commit record is
                    // durable (J4), or in place after the intent record: then the sync removed
                    // it, so it leaves the ledger (it is not a skipped file); otherwise it was
                    // not the sync.
                    if replaces.is_some() && (record.is_some() || intent.is_some()) {
                        ledger.entries.remove(&entry.path);
                    }
                    continue;
                };
                if let Some(c) = record.filter(|c| matches_record(c, obj)) {
                    let mut e = entry.clone();
                    // A playlist written without a track whose copy failed is not the one
                    // planned: its metadata hash is unknown, so the next plan writes it again.
                    if e.kind == super::journal::OwnedKind::Playlist && e.size != obj.size {
                        e.meta = 0;
                    }
                    e.unique_id = obj.unique_id.clone();
                    e.size = obj.size;
                    e.fingerprint = Some(c.fingerprint);
                    if let Some(h) = c.hash {
                        e.hash = h;
                    }
                    ledger.insert(e);
                    continue;
                }
                let still_owned = ledger
                    .entries
                    .get(&entry.path)
                    .is_some_and(|e| owns(e, obj.size, &obj.unique_id, obj.fingerprint));
                // Not the owned object, no record vouching for it, and no larger than what the
                // sync was writing there in place: the sync's own partial write (J4 for
                // in-place writes). The next plan copies the track again.
                if intent.is_some_and(|p| !still_owned && record.is_none() && obj.size <= p) {
                    out.delete_temps.push((entry.path.clone(), obj.size));
                    ledger.entries.remove(&entry.path);
                    continue;
                }
                if !still_owned {
                    out.left_alone.push(LeftAlone {
                        path: entry.path.clone(),
                        reason: if record.is_some() {
                            LeftAloneReason::Mismatch
                        } else {
                            LeftAloneReason::Unconfirmed
                        },
                    });
                }
            }
            JournalOp::Delete { path } => {
                if seen_at(path).is_none() {
                    ledger.entries.remove(path);
                }
            }
            JournalOp::Retag {
                path,
                unique_id,
                size,
            } => {
                let (Some(obj), Some(e)) = (seen_at(path), ledger.entries.get_mut(path)) else {
                    continue; // gone: the planner's usual rules apply
                };
                // Only the same object (the same non-empty unique ID), rewritten by the sync
                // while the ledger still describes it as before: then its new size is the
                // sync's own rewrite. Anything else is left for the planner, which forgets
                // an entry that no longer matches.
                let before = e.unique_id == *unique_id && e.size == *size;
                if before && !unique_id.is_empty() && obj.unique_id == *unique_id {
                    if e.size != obj.size {
                        e.size = obj.size;
                        // The tags written are not known to be complete: retag next time.
                        e.meta = Default::default();
                        e.fingerprint = None;
                    }
                } else if before && e.size != obj.size {
                    out.left_alone.push(LeftAlone {
                        path: path.clone(),
                        reason: LeftAloneReason::Unconfirmed,
                    });
                }
            }
        }
    }
    out.ledger_changed = changed(&out);
    out
}

impl Recovery {
    /// The device as it will be once the recovery is performed: the temporary files it
    /// deletes are gone and their bytes free. (They are the sync's own, so their bytes are
    /// not someone else's data in the plan's budget.)
    pub(crate) fn apply_to(&self, device: &mut DeviceContents) {
        for (path, size) in &self.delete_temps {
            if device.files.remove(path).is_some() {
                device.free = device.free.saturating_add(*size);
            }
        }
    }
}

#[cfg(test)]
#[path = "recover_tests.rs"]
mod tests;
