//! The ledger's, the journal's and the commit records' formats.

use super::*;

fn entry(path: &str) -> LedgerEntry {
    LedgerEntry {
        path: path.into(),
        unique_id: "S:1".into(),
        kind: OwnedKind::Track,
        id: 7,
        hash: [3; 20],
        size: 10,
        meta: 99,
        source_size: 10,
        source_mtime: 123,
        plays: 2,
        rating: 50,
        seen: None,
        fingerprint: None,
    }
}

#[test]
fn ledger_round_trip() {
    let mut l = Ledger::new("lib", 2);
    l.insert(entry("Music/a\tb.mp3"));
    l.insert(entry("x.mp3"));
    assert_eq!(Ledger::parse(&l.encode()), Ok(l.clone()));
    let (same, err) = Ledger::parse_or_empty(Some(&l.encode()), "lib", 2);
    assert_eq!((same, err), (l.clone(), None));
    let (again, err) = Ledger::parse_or_empty(Some(&l.encode()), "lib", 3);
    assert!(again.entries == l.entries && again.index == 3 && err.is_none());
    let (other, err) = Ledger::parse_or_empty(Some(&l.encode()), "another", 2);
    assert!(other.entries.is_empty() && err.is_none());
    let (bad, err) = Ledger::parse_or_empty(
        Some(b"wmdm-sync-ledger 1\nlibrary=lib\nindex=2\nt\tx"),
        "lib",
        2,
    );
    assert!(bad.entries.is_empty() && err.is_some());
}

#[test]
fn a_ledger_in_any_order_parses_and_a_path_twice_is_refused_in_any_order() {
    let mut l = Ledger::new("lib", 2);
    for p in ["a.mp3", "b.mp3", "c.mp3", "d.mp3"] {
        l.insert(entry(p));
    }
    let text = String::from_utf8(l.encode()).unwrap();
    let (head, body): (Vec<&str>, Vec<&str>) = text.lines().partition(|x| !x.contains('\t'));
    let with = |order: &[usize]| {
        let mut lines = head.clone();
        lines.extend(order.iter().map(|&i| body[i]));
        lines.join("\n").into_bytes()
    };
    // Written in path order, or shuffled by hand: the same ledger.
    assert_eq!(Ledger::parse(&with(&[0, 1, 2, 3])), Ok(l.clone()));
    assert_eq!(Ledger::parse(&with(&[2, 0, 3, 1])), Ok(l.clone()));
    assert_eq!(Ledger::parse(&with(&[0, 1, 3, 2])), Ok(l));
    // The same path twice: next to each other, after the order broke, or far apart.
    for order in [[0, 1, 1, 2], [1, 0, 2, 2], [2, 0, 1, 2], [0, 1, 2, 0]] {
        let e = Ledger::parse(&with(&order)).unwrap_err();
        assert!(e.to_string().contains("twice"), "{order:?}: {e}");
    }
}

#[test]
fn change_markers_round_trip_and_older_ledgers_still_parse() {
    let mut l = Ledger::new("lib", 2);
    l.settled = Some(1_700_000_000);
    l.settle_tries = Some((1_700_000_100, 2));
    l.insert(LedgerEntry {
        seen: Some((10, -5)),
        ..entry("a.mp3")
    });
    l.insert(entry("b.mp3"));
    assert_eq!(Ledger::parse(&l.encode()), Ok(l.clone()));
    // A ledger written before change markers existed: eleven fields, no `settled`.
    let old = b"wmdm-sync-ledger 1\nlibrary=lib\nindex=2\nt\ta.mp3\tS:1\t0000000000000007\t\
        0303030303030303030303030303030303030303\t10\t0000000000000063\t10\t123\t2\t50\n";
    let parsed = Ledger::parse(old).unwrap();
    assert_eq!(parsed.settled, None);
    assert_eq!(parsed.entries.get("a.mp3"), Some(&entry("a.mp3")));
    let broken = b"wmdm-sync-ledger 1\nlibrary=lib\nindex=2\nt\ta.mp3\tS:1\t0000000000000007\t\
        0303030303030303030303030303030303030303\t10\t0000000000000063\t10\t123\t2\t50\t10\n";
    assert!(Ledger::parse(broken).is_err(), "a marker without ':'");
}

#[test]
fn ledger_rejects_escaping_paths() {
    let mut l = Ledger::new("lib", 1);
    l.insert(entry("../evil.mp3"));
    assert!(Ledger::parse(&l.encode()).is_err());
}

#[test]
fn fingerprints_round_trip_with_or_without_a_seen_marker() {
    let mut l = Ledger::new("lib", 2);
    l.insert(LedgerEntry {
        fingerprint: Some([7; 20]),
        ..entry("a.mp3")
    });
    l.insert(LedgerEntry {
        fingerprint: Some([8; 20]),
        seen: Some((3, 4)),
        ..entry("b.mp3")
    });
    assert_eq!(Ledger::parse(&l.encode()), Ok(l));
}

const S: u64 = 0x0123_4567_89ab_cdef;

#[test]
fn journal_round_trip() {
    let j = Journal {
        library_id: "lib".into(),
        index: 1,
        session: S,
        ops: vec![
            JournalOp::Put {
                temp: temp_path("a/x", S, 0),
                replaces: Some("S:9".into()),
                entry: entry("a/x"),
            },
            JournalOp::Put {
                temp: temp_path("y", S, 1),
                replaces: None,
                entry: entry("y"),
            },
            JournalOp::Delete { path: "c/z".into() },
            JournalOp::Retag {
                path: "d/\tw".into(),
                unique_id: "S:7".into(),
                size: 4096,
            },
        ],
    };
    assert_eq!(Journal::parse(&j.encode()), Ok(j));
    assert!(
        Journal::parse(
            b"wmdm-sync-journal 2\nlibrary=l\nindex=1\nsession=0000000000000001\nzap\tx\n"
        )
        .is_err()
    );
}

#[test]
fn a_put_replacing_an_object_without_a_unique_id_keeps_saying_so() {
    // A device without unique IDs: the replaced object's ID is empty, and "replaces an object
    // with an empty ID" must not read back as "replaces nothing" (recovery would keep a
    // replaced path the sync deleted in the ledger, and the next plan would take the sync's
    // own delete for the user's: J6).
    let mut j = Journal {
        library_id: "lib".into(),
        index: 1,
        session: S,
        ops: vec![JournalOp::Put {
            temp: temp_path("a/x", S, 0),
            replaces: Some(String::new()),
            entry: entry("a/x"),
        }],
    };
    assert_eq!(Journal::parse(&j.encode()), Ok(j.clone()));
    // An identifier that happens to start with the marker survives too.
    if let JournalOp::Put { replaces, .. } = &mut j.ops[0] {
        *replaces = Some("=S:1".into());
    }
    assert_eq!(Journal::parse(&j.encode()), Ok(j));
    // A journal of the previous encoding (a replaced ID written bare) still reads.
    let old = Journal {
        library_id: "lib".into(),
        index: 1,
        session: S,
        ops: vec![JournalOp::Put {
            temp: temp_path("a/x", S, 0),
            replaces: Some("S:9".into()),
            entry: entry("a/x"),
        }],
    };
    let bare = String::from_utf8(old.encode())
        .unwrap()
        .replace("\t=S:9\t", "\tS:9\t");
    assert_eq!(Journal::parse(bare.as_bytes()), Ok(old));
}

#[test]
fn a_put_naming_anything_but_this_sessions_temp_is_rejected() {
    let with = |temp: String, path: &str| Journal {
        library_id: "lib".into(),
        index: 1,
        session: S,
        ops: vec![JournalOp::Put {
            temp,
            replaces: None,
            entry: entry(path),
        }],
    };
    // A user's file as the temporary name, another session's name, a name in another
    // folder, the final path itself: all refused.
    for (temp, path) in [
        ("Music/mine.mp3".to_owned(), "Music/x.mp3"),
        ("Music/.wmdm-tmp-mine.part".to_owned(), "Music/x.mp3"),
        (temp_path("Music/x.mp3", S + 1, 0), "Music/x.mp3"),
        (temp_path("Other/x.mp3", S, 0), "Music/x.mp3"),
        (
            format!("Music/{}", temp_name(S, 0)),
            format!("Music/{}", temp_name(S, 0)).leak(),
        ),
        (format!("Music/{}x", temp_name(S, 0)), "Music/x.mp3"),
    ] {
        let bytes = with(temp.clone(), path).encode();
        assert!(Journal::parse(&bytes).is_err(), "{temp} for {path}");
    }
    assert!(Journal::parse(&with(temp_path("Music/x.mp3", S, 5), "Music/x.mp3").encode()).is_ok());
    assert!(
        Journal::parse(b"wmdm-sync-journal 2\nlibrary=l\nindex=1\ndel\t../x\n").is_err(),
        "no session, and an escaping path"
    );
}

#[test]
fn temp_names_are_short_whatever_the_final_name() {
    let long = format!("Music/{}.mp3", "x".repeat(240));
    let t = temp_path(&long, S, 7);
    assert_eq!(
        t.rsplit_once('/').map(|(_, n)| n.len()),
        Some(TEMP_NAME_LEN)
    );
    assert!(is_session_temp(&t, &long, S));
}

#[test]
fn commit_records_round_trip_and_check_their_names() {
    let c = CommitRecord {
        session: S,
        files: vec![Committed {
            temp: temp_path("a/b.mp3", S, 3),
            path: "a/b.mp3".into(),
            size: 12,
            unique_id: "X:1".into(),
            fingerprint: [9; 20],
            hash: Some([5; 20]),
        }],
    };
    assert_eq!(CommitRecord::parse(&c.encode()), Ok(c.clone()));
    let mut bad = c;
    if let Some(f) = bad.files.first_mut() {
        f.temp = "a/b.mp3.part".into();
    }
    assert!(CommitRecord::parse(&bad.encode()).is_err());
}

#[test]
fn what_a_ledger_parse_reserves_is_bounded_by_its_size_not_its_lines() {
    // The shortest entry a ledger can hold is no shorter than the bound says.
    // (Its IDs, hash and metadata hash are written at a fixed width; the rest as short as
    // they come.)
    let mut shortest = entry("a");
    shortest.unique_id.clear();
    (shortest.size, shortest.source_size, shortest.source_mtime) = (0, 0, 0);
    (shortest.plays, shortest.rating) = (0, 0);
    let mut line = String::new();
    shortest.encode_fields(&mut line);
    assert_eq!(line.len(), SHORTEST_ENTRY_LINE, "{line:?}");
    // A ledger of 10,000 entries: room for all of them.
    let mut l = Ledger::new("lib", 1);
    for i in 0..10_000 {
        l.insert(entry(&format!("Music/{i:05}.mp3")));
    }
    let bytes = l.encode();
    assert!(entries_at_most(&bytes) >= 10_000);
    assert_eq!(Ledger::parse(&bytes).unwrap().entries.len(), 10_000);
    // A valid header followed by a million empty lines parses, as an empty ledger, with room
    // reserved for no more entries than its bytes could hold.
    let mut hostile = l
        .encode()
        .split(|&b| b == b'\n')
        .take(3)
        .collect::<Vec<_>>()
        .join(&b'\n');
    hostile.extend(std::iter::repeat_n(b'\n', 1_000_000));
    assert!(entries_at_most(&hostile) <= hostile.len() / SHORTEST_ENTRY_LINE);
    assert!(entries_at_most(&hostile) < 12_000);
    assert!(Ledger::parse(&hostile).unwrap().entries.is_empty());
}
