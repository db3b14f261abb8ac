//! Recovery's decisions, from state and observations alone (no device).

use super::*;
use crate::sync::intent::IntentRecord;
use crate::sync::journal::{OwnedKind, temp_path};

const LIB: &str = "lib";
const S: u64 = 0xfeed_0000_0000_0001;

fn entry(path: &str, uid: &str, size: u64) -> LedgerEntry {
    LedgerEntry {
        path: path.into(),
        unique_id: uid.into(),
        kind: OwnedKind::Track,
        id: 1,
        hash: [1; 20],
        size,
        meta: 0,
        source_size: size,
        source_mtime: 0,
        plays: 0,
        rating: 0,
        seen: None,
        fingerprint: None,
    }
}

fn seen(size: u64, uid: &str, fp: u8) -> Option<Seen> {
    Some(Seen {
        size,
        unique_id: uid.into(),
        fingerprint: Some([fp; 20]),
    })
}

fn state(ops: Vec<JournalOp>, commits: Vec<Committed>, ledger: Ledger) -> StateFiles {
    StateFiles {
        ledger,
        ledger_problem: None,
        journal: Some(Ok(Journal {
            library_id: LIB.into(),
            index: 1,
            session: S,
            ops,
        })),
        commits: vec![(
            "commit-lib-0.txt".into(),
            Ok(CommitRecord {
                session: S,
                files: commits,
            }),
        )],
        intents: vec![],
        stale: vec![],
        legacy_journal: None,
    }
}

fn put(path: &str, seq: u32, replaces: Option<&str>) -> JournalOp {
    JournalOp::Put {
        temp: temp_path(path, S, seq),
        replaces: replaces.map(str::to_owned),
        entry: entry(path, "", 10),
    }
}

fn record(path: &str, seq: u32, uid: &str, size: u64, fp: u8) -> Committed {
    Committed {
        temp: temp_path(path, S, seq),
        path: path.into(),
        size,
        unique_id: uid.into(),
        fingerprint: [fp; 20],
        hash: None,
    }
}

#[test]
fn a_committed_file_in_place_is_adopted_and_its_temp_name_is_not_listed() {
    let st = state(
        vec![put("a.mp3", 0, None), put("b.mp3", 1, None)],
        vec![
            record("a.mp3", 0, "U1", 10, 7),
            record("b.mp3", 1, "U2", 10, 8),
        ],
        Ledger::new(LIB, 1),
    );
    let mut obs = Observed::new();
    obs.insert("a.mp3".into(), seen(10, "U1", 7));
    obs.insert(temp_path("a.mp3", S, 0), None);
    // b was committed but not renamed: its temp is there, its final path is free.
    obs.insert("b.mp3".into(), None);
    obs.insert(temp_path("b.mp3", S, 1), seen(10, "U2", 8));
    let r = recover(&st, &obs, LIB);
    let a = r.ledger.entries.get("a.mp3").expect("adopted");
    assert_eq!((a.unique_id.as_str(), a.fingerprint), ("U1", Some([7; 20])));
    assert!(!r.ledger.entries.contains_key("b.mp3"));
    assert_eq!(r.delete_temps, vec![(temp_path("b.mp3", S, 1), 10)]);
    assert!(r.left_alone.is_empty());
    assert!(r.ledger_changed);
}

#[test]
fn a_file_that_does_not_match_its_record_or_has_none_is_left_alone() {
    let st = state(
        vec![put("a.mp3", 0, None), put("b.mp3", 1, None)],
        vec![record("a.mp3", 0, "U1", 10, 7)],
        Ledger::new(LIB, 1),
    );
    let mut obs = Observed::new();
    // The same size and unique ID but other bytes: not the sync's.
    obs.insert("a.mp3".into(), seen(10, "U1", 9));
    obs.insert("b.mp3".into(), seen(10, "U2", 8));
    let r = recover(&st, &obs, LIB);
    assert!(r.ledger.entries.is_empty());
    assert!(r.delete_temps.is_empty());
    assert_eq!(
        r.left_alone,
        vec![
            LeftAlone {
                path: "a.mp3".into(),
                reason: LeftAloneReason::Mismatch
            },
            LeftAlone {
                path: "b.mp3".into(),
                reason: LeftAloneReason::Unconfirmed
            }
        ]
    );
}

#[test]
fn a_replaced_object_leaves_the_ledger_only_when_the_batch_was_committed() {
    let mut ledger = Ledger::new(LIB, 1);
    ledger.insert(entry("a.mp3", "OLD", 10));
    ledger.insert(entry("b.mp3", "OLD2", 10));
    let st = state(
        vec![put("a.mp3", 0, Some("OLD")), put("b.mp3", 1, Some("OLD2"))],
        vec![record("a.mp3", 0, "U1", 10, 7)],
        ledger,
    );
    let mut obs = Observed::new();
    obs.insert("a.mp3".into(), None);
    obs.insert("b.mp3".into(), None);
    let r = recover(&st, &obs, LIB);
    // a: the sync deleted the old object after its commit record (not a skipped file);
    // b: no record, so the sync never reached the delete: the user deleted it.
    assert!(!r.ledger.entries.contains_key("a.mp3"));
    assert!(r.ledger.entries.contains_key("b.mp3"));
}

#[test]
fn a_replaced_object_without_a_unique_id_leaves_the_ledger_after_its_commit() {
    // The journal as a device without unique IDs leaves it, read back from its bytes: the
    // old object (ID "") was deleted after the batch's commit record, the rename never ran.
    let mut ledger = Ledger::new(LIB, 1);
    ledger.insert(entry("a.mp3", "", 10));
    let mut st = state(
        vec![put("a.mp3", 0, Some(""))],
        vec![record("a.mp3", 0, "", 10, 7)],
        ledger,
    );
    let Some(Ok(journal)) = st.journal.take() else {
        unreachable!("state() makes a journal")
    };
    st.journal = Some(Journal::parse(&journal.encode()));
    let mut obs = Observed::new();
    obs.insert("a.mp3".into(), None);
    let r = recover(&st, &obs, LIB);
    assert!(
        !r.ledger.entries.contains_key("a.mp3"),
        "the sync's own delete must not stay in the ledger as the user's"
    );
}

#[test]
fn an_empty_unique_id_proves_nothing_without_a_fingerprint() {
    let e = entry("a.mp3", "", 10);
    assert!(!owns(&e, 10, "", Some([1; 20])));
    assert!(!owns(&e, 10, "U", None));
    let with_fp = LedgerEntry {
        fingerprint: Some([1; 20]),
        ..e
    };
    assert!(owns(&with_fp, 10, "", Some([1; 20])));
    assert!(!owns(&with_fp, 10, "", Some([2; 20])));
    assert!(!owns(&with_fp, 11, "", Some([1; 20])));
    assert!(owns(&entry("a", "U", 3), 3, "U", None));
    assert!(
        owns(&entry("a", "U", 3), 4, "U", None),
        "the same object, rewritten"
    );
    assert!(!owns(&entry("a", "U", 3), 3, "V", None));
}

#[test]
fn deletes_leave_the_ledger_and_other_partnerships_journals_are_not_followed() {
    let mut ledger = Ledger::new(LIB, 1);
    ledger.insert(entry("gone.mp3", "U1", 10));
    ledger.insert(entry("kept.mp3", "U2", 10));
    let ops = vec![
        JournalOp::Delete {
            path: "gone.mp3".into(),
        },
        JournalOp::Delete {
            path: "kept.mp3".into(),
        },
    ];
    let st = state(ops, vec![], ledger.clone());
    let mut obs = Observed::new();
    obs.insert("gone.mp3".into(), None);
    obs.insert("kept.mp3".into(), seen(10, "U2", 0));
    let r = recover(&st, &obs, LIB);
    assert_eq!(
        r.ledger.entries.keys().collect::<Vec<_>>(),
        vec!["kept.mp3"]
    );
    // Another library's journal (under this library's file name: a hash collision or a
    // hand copy) decides nothing but the cleanup.
    let r2 = recover(&st, &obs, "other");
    assert_eq!(r2.ledger, ledger);
    assert!(!r2.ledger_changed);
    assert_eq!(r2.clear_state.len(), 2);
}

#[test]
fn an_unreadable_journal_touches_nothing_and_is_reported() {
    let st = StateFiles {
        ledger: Ledger::new(LIB, 1),
        ledger_problem: None,
        journal: Some(Journal::parse(
            b"wmdm-sync-journal 2\nlibrary=lib\nindex=1\n",
        )),
        commits: vec![],
        intents: vec![],
        stale: vec![],
        legacy_journal: None,
    };
    let r = recover(&st, &Observed::new(), LIB);
    assert!(r.delete_temps.is_empty() && !r.ledger_changed);
    assert_eq!(
        r.left_alone.first().map(|l| l.reason),
        Some(LeftAloneReason::UnreadableState)
    );
}

/// The intent records of a device that refuses renames (docs/sync.md, "Devices that refuse
/// renames"), of `session`, announcing `files` (path, planned size).
fn intents(
    session: u64,
    files: &[(&str, u64)],
) -> Vec<(String, Result<IntentRecord, StateParseError>)> {
    vec![(
        "intent-lib-0.txt".into(),
        Ok(IntentRecord {
            session,
            files: files
                .iter()
                .map(|(p, s)| crate::sync::intent::IntendedFile {
                    path: (*p).into(),
                    size: *s,
                })
                .collect(),
        }),
    )]
}

#[test]
fn an_announced_partial_in_place_write_is_deleted_and_nothing_else() {
    let mut ledger = Ledger::new(LIB, 1);
    let mut old = entry("c.mp3", "OLD", 10);
    old.fingerprint = None;
    ledger.insert(old);
    let mut st = state(
        vec![
            put("a.mp3", 0, None),
            put("b.mp3", 1, None),
            put("c.mp3", 2, Some("OLD")),
            put("d.mp3", 3, None),
            put("e.mp3", 4, None),
        ],
        vec![record("e.mp3", 4, "U5", 10, 5)],
        ledger,
    );
    st.intents = intents(
        S,
        &[
            ("a.mp3", 10),
            ("b.mp3", 10),
            ("c.mp3", 10),
            ("d.mp3", 10),
            ("e.mp3", 10),
        ],
    );
    let mut obs = Observed::new();
    // a: cut off (a prefix); b: larger than planned, not the sync's; c: the owned object,
    // not replaced yet; d: nothing there; e: committed but changed since (not the sync's).
    obs.insert("a.mp3".into(), seen(4, "U1", 1));
    obs.insert("b.mp3".into(), seen(11, "U2", 2));
    obs.insert("c.mp3".into(), seen(10, "OLD", 3));
    obs.insert("d.mp3".into(), None);
    obs.insert("e.mp3".into(), seen(10, "U5", 9));
    let r = recover(&st, &obs, LIB);
    assert_eq!(r.delete_temps, vec![("a.mp3".to_owned(), 4)]);
    assert!(
        r.ledger.entries.contains_key("c.mp3"),
        "the old object stays owned"
    );
    assert_eq!(r.ledger.entries.len(), 1);
    let alone: Vec<_> = r
        .left_alone
        .iter()
        .map(|l| (l.path.as_str(), l.reason))
        .collect();
    assert_eq!(
        alone,
        [
            ("b.mp3", LeftAloneReason::Unconfirmed),
            ("e.mp3", LeftAloneReason::Mismatch)
        ]
    );
    assert!(r.clear_state.contains(&"intent-lib-0.txt".to_owned()));
}

#[test]
fn an_announced_replacement_whose_old_object_is_gone_leaves_the_ledger() {
    let mut ledger = Ledger::new(LIB, 1);
    ledger.insert(entry("c.mp3", "OLD", 10));
    let mut st = state(vec![put("c.mp3", 0, Some("OLD"))], vec![], ledger.clone());
    st.intents = intents(S, &[("c.mp3", 10)]);
    let mut obs = Observed::new();
    obs.insert("c.mp3".into(), None);
    let r = recover(&st, &obs, LIB);
    // The sync deleted it (J6): not a file the user deleted.
    assert!(r.ledger.entries.is_empty());
    // Without the intent record the path stays owned (the sync never reached the delete), and
    // the planner takes the object's absence for the user's delete.
    let st = state(vec![put("c.mp3", 0, Some("OLD"))], vec![], ledger);
    assert!(recover(&st, &obs, LIB).ledger.entries.contains_key("c.mp3"));
}

#[test]
fn an_intent_of_another_session_or_without_a_put_deletes_nothing() {
    let mut st = state(vec![put("a.mp3", 0, None)], vec![], Ledger::new(LIB, 1));
    st.intents = intents(S ^ 1, &[("a.mp3", 10)]);
    st.intents.extend(intents(S, &[("Music/mine.mp3", 100)]));
    let mut obs = Observed::new();
    obs.insert("a.mp3".into(), seen(4, "U1", 1));
    obs.insert("Music/mine.mp3".into(), seen(4, "U9", 1));
    let r = recover(&st, &obs, LIB);
    assert!(r.delete_temps.is_empty(), "{:?}", r.delete_temps);
    assert_eq!(r.left_alone.len(), 1);
}
