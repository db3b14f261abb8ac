//! The preparation with no device: recovery, the listing and statistics seen in the requests
//! the machine makes, answered by a script.

use std::collections::HashSet;

use super::request::{DeviceRequest, DeviceResponse, Fingerprint, ObjectInfo, StatsRead};
use super::tests::{Seen, empty_device, library, script};
use super::{Phase, Prepare, SyncMachine};
use crate::error::Error;
use crate::library::{Selection, TrackId};
use crate::sync::device::{
    LEGACY_LEDGER_FILE, MARKER_FILE, commit_prefix, intent_prefix, journal_file, ledger_file,
};
use crate::sync::journal::{Journal, JournalOp, Ledger, LedgerEntry, OwnedKind, temp_path};
use crate::sync::legacy::LEGACY_JOURNAL_FILE;
use crate::sync::plan::{DeviceContents, DeviceFile, PlanSettings};
use crate::sync::stats::StatsStore;

fn prepare(n: u64, stats: bool) -> Prepare {
    Prepare {
        library_id: "lib".into(),
        index: 1,
        session: 9,
        settings: PlanSettings::default(),
        selection: vec![Selection {
            priority: 1,
            playlist: crate::library::PlaylistId(1),
            tracks: (1..=n).map(TrackId).collect(),
        }],
        skipped: HashSet::new(),
        stats,
        now: 1_000_000,
        estimate: false,
    }
}

/// The reads of an empty device with no state, unless `over` answers first.
fn reads(
    device: DeviceContents,
    mut over: impl FnMut(&DeviceRequest) -> Option<DeviceResponse>,
) -> impl FnMut(&DeviceRequest) -> Option<DeviceResponse> {
    move |r| {
        if let Some(a) = over(r) {
            return Some(a);
        }
        match r {
            DeviceRequest::ReadState { .. } => Some(DeviceResponse::State(None)),
            DeviceRequest::ReadStates { .. } => Some(DeviceResponse::States(Vec::new())),
            DeviceRequest::StateDate { .. } => Some(DeviceResponse::Date(None)),
            DeviceRequest::List => Some(DeviceResponse::Contents(Box::new(device.clone()))),
            _ => None,
        }
    }
}

fn entry(id: u64, path: &str, size: u64) -> LedgerEntry {
    LedgerEntry {
        path: path.into(),
        unique_id: format!("u{id}"),
        kind: OwnedKind::Track,
        id,
        hash: [0; 20],
        size,
        meta: 0,
        source_size: 100,
        source_mtime: 1,
        plays: 2,
        rating: 0,
        seen: None,
        fingerprint: None,
    }
}

fn state_read(name: &str) -> DeviceRequest {
    DeviceRequest::ReadState { name: name.into() }
}

/// The temporary file a crash left before its commit, as a lookup finds it.
fn left_temp() -> DeviceResponse {
    DeviceResponse::Object(Some(ObjectInfo {
        object: 41,
        size: 60,
        unique_id: "t".into(),
        fingerprint: None,
    }))
}

/// The journal of session 5, interrupted while it wrote track 1 under `temp`.
fn crashed_journal(temp: &str) -> Journal {
    Journal {
        library_id: "lib".into(),
        index: 1,
        session: 5,
        ops: vec![JournalOp::Put {
            temp: temp.to_owned(),
            replaces: None,
            entry: entry(1, "Music/1.mp3", 100),
        }],
    }
}

#[test]
fn a_journal_left_by_a_crash_is_recovered_through_requests_in_order_with_barriers() {
    let (lib, _) = library(1);
    let temp = temp_path("Music/1.mp3", 5, 0);
    let journal = crashed_journal(&temp);
    let bytes = journal.encode();
    let journal_name = journal_file("lib");
    let (t, jn) = (temp.clone(), journal_name.clone());
    let mut s = script(reads(empty_device(), move |r| match r {
        DeviceRequest::ReadState { name } if *name == jn => {
            Some(DeviceResponse::State(Some((bytes.clone(), false))))
        }
        // The temporary file is there (the crash came before its commit).
        DeviceRequest::Lookup { path, .. } if *path == t => Some(left_temp()),
        _ => None,
    }));
    let mut m = SyncMachine::new("dev");
    let mut seen = Seen::default();
    m.prepare(prepare(1, false)).expect("idle");
    super::tests::drive(&mut m, &mut s, &mut seen);
    assert!(m.wants_plan());
    assert_eq!(m.phase(), Phase::Preparing(super::Stage::Planning));
    let lookup = |path: &str, fingerprint| DeviceRequest::Lookup {
        path: path.into(),
        fingerprint,
    };
    let expected = vec![
        state_read(&ledger_file("lib")),
        state_read(LEGACY_LEDGER_FILE),
        state_read(&journal_name),
        DeviceRequest::ReadStates {
            prefix: commit_prefix("lib"),
        },
        DeviceRequest::ReadStates {
            prefix: intent_prefix("lib"),
        },
        state_read(LEGACY_JOURNAL_FILE),
        // Observation: what the journal names.
        lookup(&temp, Fingerprint::WithoutUniqueId),
        lookup("Music/1.mp3", Fingerprint::WithoutUniqueId),
        // Recovery carried out: the temporary file goes, the ledger and marker are settled,
        // a barrier, the journal goes, a barrier.
        DeviceRequest::CleanStateTwins,
        lookup(&temp, Fingerprint::Never),
        DeviceRequest::Delete { object: 41 },
        DeviceRequest::SettleState {
            name: ledger_file("lib"),
        },
        DeviceRequest::SettleState {
            name: MARKER_FILE.into(),
        },
        DeviceRequest::Flush,
        DeviceRequest::DeleteState {
            name: journal_name.clone(),
        },
        DeviceRequest::Flush,
        DeviceRequest::List,
    ];
    assert_eq!(seen.requests, expected);
    // Planned: the new session's journal is made durable before anything of the plan.
    m.plan(&lib, None);
    let mut after = Seen::default();
    super::tests::drive(&mut m, &mut s, &mut after);
    assert_eq!(m.phase(), Phase::Applying);
    assert!(matches!(
        after.requests.as_slice(),
        [DeviceRequest::WriteState { name, .. }, DeviceRequest::Flush] if *name == journal_name
    ));
}

#[test]
fn a_listing_that_finds_the_device_gone_ends_the_start_with_nothing_written() {
    let mut s = script(reads(empty_device(), |r| match r {
        DeviceRequest::List => Some(DeviceResponse::Failed(Error::DeviceNotConnected)),
        _ => None,
    }));
    let mut m = SyncMachine::new("dev");
    let mut seen = Seen::default();
    m.prepare(prepare(2, true)).expect("idle");
    super::tests::drive(&mut m, &mut s, &mut seen);
    assert!(m.is_idle());
    assert!(!m.wants_plan());
    assert_eq!(m.take_start_error(), Some(Error::DeviceNotConnected));
    assert_eq!(seen.requests.last(), Some(&DeviceRequest::List));
    // Nothing was written, deleted or flushed: no state needed recovering.
    assert!(!seen.requests.iter().any(|r| matches!(
        r,
        DeviceRequest::Write { .. }
            | DeviceRequest::WriteState { .. }
            | DeviceRequest::Delete { .. }
            | DeviceRequest::DeleteState { .. }
            | DeviceRequest::Flush
    )));
    // No run: another start is accepted.
    assert!(m.prepare(prepare(2, true)).is_ok());
}

#[test]
fn statistics_read_only_objects_that_may_have_changed() {
    let (lib, _) = library(3);
    let mut ledger = Ledger::new("lib", 1);
    // 1: unchanged since the last sync, dated before the ledger: skipped.
    let mut e1 = entry(1, "Music/1.mp3", 100);
    e1.seen = Some((100, 500));
    // 2: its size moved: read.
    let mut e2 = entry(2, "Music/2.mp3", 100);
    e2.seen = Some((100, 500));
    // 3: not on the device any more: the plan's business, not read.
    let e3 = entry(3, "Music/3.mp3", 100);
    for e in [e1, e2, e3] {
        ledger.insert(e);
    }
    let mut device = empty_device();
    for (path, size) in [("Music/1.mp3", 100), ("Music/2.mp3", 120)] {
        device.files.insert(
            path.into(),
            DeviceFile {
                size,
                unique_id: String::new(),
                modified_ns: 500,
            },
        );
    }
    let ledger_bytes = ledger.encode();
    let own = ledger_file("lib");
    let mut s = script(reads(device, move |r| match r {
        DeviceRequest::ReadState { name } if *name == own => {
            Some(DeviceResponse::State(Some((ledger_bytes.clone(), false))))
        }
        DeviceRequest::StateDate { .. } => Some(DeviceResponse::Date(Some(1_000))),
        DeviceRequest::ReadStats { .. } => Some(DeviceResponse::Stats(StatsRead::Read {
            plays: Some(7),
            rating: None,
        })),
        _ => None,
    }));
    let mut m = SyncMachine::new("dev");
    let mut seen = Seen::default();
    m.prepare(prepare(3, true)).expect("idle");
    super::tests::drive(&mut m, &mut s, &mut seen);
    let stats: Vec<&DeviceRequest> = seen
        .requests
        .iter()
        .filter(|r| matches!(r, DeviceRequest::ReadStats { .. }))
        .collect();
    assert_eq!(
        stats,
        [&DeviceRequest::ReadStats {
            path: "Music/2.mp3".into()
        }]
    );
    assert!(m.wants_plan());
    // The store hears of the plays since the ledger's base (7 - 2), and only of track 2.
    let mut store = StatsStore::new();
    m.plan(&lib, Some(&mut store));
    assert_eq!(store.get(TrackId(2)).device_plays, 5);
    assert_eq!(store.get(TrackId(1)).device_plays, 0);
    super::tests::drive(&mut m, &mut s, &mut Seen::default());
    assert_eq!(m.phase(), Phase::Applying);
}

/// Prepares and runs a whole sync over `io`, each request executed for real; the requests
/// made, in order.
fn sync_over(
    m: &mut SyncMachine,
    io: &mut dyn super::DeviceIo,
    library: &crate::library::MemoryLibrary,
    input: Prepare,
    store: &mut StatsStore,
) -> Vec<DeviceRequest> {
    let stop = std::sync::atomic::AtomicBool::new(false);
    let cx = super::IoContext {
        library: Some(library),
        stop: &stop,
        progress: &|_| {},
    };
    let mut made = Vec::new();
    let mut drive = |m: &mut SyncMachine| {
        while let Some(action) = m.poll() {
            if let super::Action::Request(r) = action {
                made.push(r.clone());
                let answer = io.execute(r, &cx);
                if io.renames_refused() {
                    m.note_renames_refused();
                }
                m.handle(answer);
            }
        }
    };
    m.prepare(input).unwrap();
    drive(m);
    while m.wants_plan() {
        m.plan(library, Some(&mut *store));
        drive(m);
    }
    while m.phase() == Phase::Applying {
        m.step(library);
        drive(m);
    }
    made
}

#[test]
fn a_whole_sync_is_prepared_and_run_over_a_providers_storage_and_a_resync_writes_nothing() {
    let (device, handle, root) = super::tests::memory_player();
    let new_io = || {
        super::ProviderIo::new(
            root.clone(),
            Some(handle.clone()),
            crate::sync::device::Renames::default(),
            None,
        )
    };
    let (lib, _) = library(3);
    let mut store = StatsStore::new();
    let mut m = SyncMachine::new("P1");
    let first = sync_over(&mut m, &mut new_io(), &lib, prepare(3, true), &mut store);
    assert!(first.contains(&DeviceRequest::List));
    let summary = m.summary().clone();
    assert!(summary.completed);
    assert_eq!((summary.copied, summary.errors), (3, 0));
    assert_eq!(
        device
            .files()
            .keys()
            .filter(|p| p.ends_with(".mp3"))
            .count(),
        3
    );
    // Again: this device dates everything in one second (its clock stands still), so the
    // first resync reads the statistics and settles the ledger once (stats::settle); after
    // that, a resync lists once and writes nothing, with no barrier.
    let settling = sync_over(&mut m, &mut new_io(), &lib, prepare(3, true), &mut store);
    assert!(
        settling
            .iter()
            .any(|r| matches!(r, DeviceRequest::ReadStats { .. }))
    );
    let again = sync_over(&mut m, &mut new_io(), &lib, prepare(3, true), &mut store);
    assert!(m.summary().completed);
    assert_eq!(m.summary().copied, 0);
    assert_eq!(
        again.iter().filter(|r| **r == DeviceRequest::List).count(),
        1
    );
    assert!(
        !again.iter().any(|r| matches!(
            r,
            DeviceRequest::Write { .. }
                | DeviceRequest::WriteState { .. }
                | DeviceRequest::Delete { .. }
                | DeviceRequest::DeleteState { .. }
                | DeviceRequest::Flush
        )),
        "{again:?}"
    );
}

/// An estimate over a device holding an interrupted sync's temporary file, with the
/// journal naming it or not.
fn estimate(with_journal: bool) -> (crate::sync::plan::SyncPlan, Vec<DeviceRequest>) {
    let (lib, _) = library(2);
    let temp = temp_path("Music/1.mp3", 5, 0);
    let journal = crashed_journal(&temp);
    let bytes = journal.encode();
    let jn = journal_file("lib");
    let mut device = empty_device();
    // The temporary file's bytes are used.
    device.free -= 60;
    device.files.insert(
        temp.clone(),
        DeviceFile {
            size: 60,
            unique_id: "t".into(),
            modified_ns: 1,
        },
    );
    let t = temp.clone();
    let mut s = script(reads(device, move |r| match r {
        DeviceRequest::ReadState { name } if *name == jn && with_journal => {
            Some(DeviceResponse::State(Some((bytes.clone(), false))))
        }
        DeviceRequest::Lookup { path, .. } if *path == t => Some(left_temp()),
        _ => None,
    }));
    let mut m = SyncMachine::new("dev");
    let mut seen = Seen::default();
    let mut input = prepare(2, true);
    input.estimate = true;
    m.prepare(input).expect("idle");
    super::tests::drive(&mut m, &mut s, &mut seen);
    m.plan(&lib, Some(&mut StatsStore::new()));
    super::tests::drive(&mut m, &mut s, &mut seen);
    assert!(m.is_idle());
    assert_eq!(m.take_start_error(), None);
    (m.take_plan().expect("a plan"), seen.requests)
}

#[test]
fn an_estimate_decides_recovery_but_only_reads() {
    let (recovered, requests) = estimate(true);
    let (plain, _) = estimate(false);
    // The temporary file recovery would delete is not someone else's data in the budget.
    assert_eq!(recovered.totals.budget, plain.totals.budget + 60);
    assert_eq!(recovered.totals.copies, 2);
    // J9: reads only, and no statistics.
    assert!(
        requests.iter().all(|r| matches!(
            r,
            DeviceRequest::ReadState { .. }
                | DeviceRequest::ReadStates { .. }
                | DeviceRequest::Lookup { .. }
                | DeviceRequest::List
        )),
        "{requests:?}"
    );
}
