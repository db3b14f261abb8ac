//! Hooks for the fuzz targets under `fuzz/` (the non-default `fuzzing` feature, which only the
//! fuzz crate enables): internal steps that a target must reach and that the public API does
//! not offer on their own. Not part of the crate's API: hidden from the documentation, and it
//! may change with any release.
//!
//! Each hook runs the crate's own code: nothing here re-implements a decision.

use std::collections::BTreeMap;

use crate::sync::{CommitRecord, Journal, Ledger, LeftAlone};

/// A device object as recovery sees it at one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    /// Its size in bytes.
    pub size: u64,
    /// Its unique ID on the device (empty: the device gives none).
    pub unique_id: String,
    /// Its content fingerprint ([`fingerprint_of`](crate::sync::fingerprint_of)).
    pub fingerprint: [u8; 20],
}

/// What recovery decided (see `sync::recover`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The ledger as read (empty when unreadable or another library's).
    pub ledger_before: Ledger,
    /// The ledger after recovery.
    pub ledger: Ledger,
    /// True when the ledger must be written.
    pub ledger_changed: bool,
    /// The temporary files recovery deletes, with the size it counts as freed.
    pub delete_temps: Vec<(String, u64)>,
    /// The state files it removes once done (the journal, commit records).
    pub clear_state: Vec<String>,
    /// What it neither deleted nor adopted, and why.
    pub left_alone: Vec<LeftAlone>,
}

/// Recovery's decision for library `library_id` (partnership `index`) from the bytes of its
/// state files (each `None` when absent; commit records by file name) and the objects on the
/// device (a path not in `objects` holds nothing): the files are parsed as the engine parses
/// them (a ledger that cannot be read is empty), then the engine's pure decision runs.
///
/// Unlike the engine, which reads a fingerprint only where a decision needs one, every object
/// here has one: recovery is given at least what the engine would give it.
pub fn decide_recovery(
    library_id: &str,
    index: u8,
    ledger: Option<&[u8]>,
    journal: Option<&[u8]>,
    commits: &[(String, Vec<u8>)],
    objects: &BTreeMap<String, Object>,
) -> Decision {
    use crate::sync::recovery_internals::{Seen, StateFiles, recover};
    let (ledger, ledger_problem) = Ledger::parse_or_empty(ledger, library_id, index);
    let state = StateFiles {
        ledger,
        ledger_problem,
        journal: journal.map(Journal::parse),
        commits: commits
            .iter()
            .map(|(name, bytes)| (name.clone(), CommitRecord::parse(bytes)))
            .collect(),
        stale: Vec::new(),
    };
    let observed = objects
        .iter()
        .map(|(path, o)| {
            let seen = Seen {
                size: o.size,
                unique_id: o.unique_id.clone(),
                fingerprint: Some(o.fingerprint),
            };
            (path.clone(), Some(seen))
        })
        .collect();
    let r = recover(&state, &observed, library_id);
    Decision {
        ledger_before: state.ledger,
        ledger: r.ledger,
        ledger_changed: r.ledger_changed,
        delete_temps: r.delete_temps,
        clear_state: r.clear_state,
        left_alone: r.left_alone,
    }
}
