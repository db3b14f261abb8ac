//! The core with no device at all: every request answered by a script, so each decision
//! (item errors, disconnects, stops, barriers, ownership) is seen in the requests it makes.

use std::collections::HashSet;

use super::request::{DeviceRequest, DeviceResponse, ObjectInfo, WriteSource, Written};
use super::{Action, Phase, Start, SyncMachine};
use crate::error::Error;
use crate::library::{ContentHash, MemoryLibrary, PlaylistId, Selection, TrackId};
use crate::sync::event::{SyncEvent, SyncItem, SyncState};
use crate::sync::journal::{Ledger, LedgerEntry, OwnedKind};
use crate::sync::plan::{DeviceContents, DeviceFile, PlanInput, PlanSettings, SyncOp, plan};

pub(super) use crate::sync::plan::tests::lib as library;

/// A run copying tracks 1..=n to an empty device (and deleting what `device` and `ledger`
/// say is the sync's and no longer selected).
pub(super) fn start(n: u64, device: DeviceContents, ledger: Ledger) -> (MemoryLibrary, Start) {
    let (l, h) = library(n);
    let selection = [Selection {
        priority: 1,
        playlist: PlaylistId(1),
        tracks: (1..=n).map(TrackId).collect(),
    }];
    let settings = PlanSettings::default();
    let p = plan(&PlanInput {
        library: &l,
        selection: &selection,
        hashes: &h,
        device: &device,
        ledger: &ledger,
        settings: &settings,
        skipped: &HashSet::new(),
        adoptable: None,
    });
    let start = Start {
        library_id: "lib".into(),
        index: 1,
        session: 7,
        plan: p,
        initial: ledger.clone(),
        ledger,
        ledger_unreadable: false,
        rating_conflicts: Vec::new(),
        left_alone: Vec::new(),
        renames_refused: false,
    };
    (l, start)
}

/// A 1 MiB memory player ("P1") and its root storage, for the core driven over
/// `ProviderIo` with no manager.
pub(super) fn memory_player() -> (
    crate::providers::memory::MemoryDevice,
    crate::provider::DeviceRef,
    crate::provider::StorageRef,
) {
    use crate::providers::memory::{MemoryDevice, StorageConfig};
    let device = MemoryDevice::builder("Player")
        .serial("P1")
        .storage(StorageConfig::new("Internal", 1 << 20))
        .build()
        .unwrap();
    let handle: crate::provider::DeviceRef = std::sync::Arc::new(device.clone());
    let root = crate::provider::Device::storages(&*handle)
        .unwrap()
        .remove(0);
    (device, handle, root)
}

/// The end of a run as `seen`: the ledger written and the journal removed.
fn assert_ledger_written_and_journal_removed(seen: &Seen) {
    assert!(
        seen.state_files_written()
            .iter()
            .any(|n| n.starts_with("ledger-"))
    );
    assert!(
        seen.state_files_deleted()
            .iter()
            .any(|n| n.starts_with("journal-"))
    );
}

pub(super) fn empty_device() -> DeviceContents {
    DeviceContents {
        capacity: 1 << 20,
        free: 1 << 20,
        ..DeviceContents::default()
    }
}

/// What a scripted run saw.
#[derive(Default)]
pub(super) struct Seen {
    pub(super) requests: Vec<DeviceRequest>,
    pub(super) events: Vec<SyncEvent>,
}

impl Seen {
    fn state_files_written(&self) -> Vec<&str> {
        self.requests
            .iter()
            .filter_map(|r| match r {
                DeviceRequest::WriteState { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }

    fn state_files_deleted(&self) -> Vec<&str> {
        self.requests
            .iter()
            .filter_map(|r| match r {
                DeviceRequest::DeleteState { name } => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }

    fn errors(&self) -> Vec<(SyncItem, Error)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                SyncEvent::DeviceSyncError { item, error, .. } => {
                    Some((item.clone(), error.clone()))
                }
                _ => None,
            })
            .collect()
    }
}

/// A device that answers like an empty, obliging one, except where `script` answers first.
pub(super) struct Script<F> {
    script: F,
    next: u64,
}

impl<F: FnMut(&DeviceRequest) -> Option<DeviceResponse>> Script<F> {
    pub(super) fn answer(&mut self, request: &DeviceRequest) -> DeviceResponse {
        if let Some(r) = (self.script)(request) {
            return r;
        }
        self.next += 1;
        match request {
            DeviceRequest::Lookup { .. } => DeviceResponse::Object(None),
            DeviceRequest::Write { size, .. } => DeviceResponse::Written(
                Ok(Written {
                    object: self.next,
                    sent: *size,
                    stored: *size,
                    unique_id: format!("id{}", self.next),
                    fingerprint: [1; 20],
                    dated: 0,
                    hash: Some(ContentHash([2; 20])),
                }),
                None,
            ),
            DeviceRequest::Rename { object, .. } => DeviceResponse::Renamed {
                unique_id: format!("id{object}"),
            },
            _ => DeviceResponse::Done,
        }
    }
}

/// Runs whatever the machine asks, answering by `script`, until it waits.
pub(super) fn drive<F: FnMut(&DeviceRequest) -> Option<DeviceResponse>>(
    m: &mut SyncMachine,
    script: &mut Script<F>,
    seen: &mut Seen,
) {
    while let Some(action) = m.poll() {
        match action {
            Action::Event(e) => seen.events.push(e),
            Action::Request(r) => {
                let answer = script.answer(&r);
                seen.requests.push(r);
                m.handle(answer);
            }
        }
    }
}

pub(super) fn script<F: FnMut(&DeviceRequest) -> Option<DeviceResponse>>(f: F) -> Script<F> {
    Script { script: f, next: 0 }
}

/// Starts and steps to the end (or until `stop_after` steps, then stops).
pub(super) fn run_to_end<F: FnMut(&DeviceRequest) -> Option<DeviceResponse>>(
    m: &mut SyncMachine,
    library: &MemoryLibrary,
    start: Start,
    script: &mut Script<F>,
    stop_after: Option<usize>,
) -> Seen {
    let mut seen = Seen::default();
    m.start(start).expect("idle");
    drive(m, script, &mut seen);
    let mut steps = 0;
    while m.phase() == Phase::Applying {
        if stop_after == Some(steps) {
            m.stop();
        } else {
            m.step(library);
        }
        steps += 1;
        drive(m, script, &mut seen);
    }
    seen
}

fn is_write_of(r: &DeviceRequest, track: u64) -> bool {
    matches!(r, DeviceRequest::Write { source: WriteSource::Track { track: t, .. }, .. } if t.0 == track)
}

#[test]
fn a_copy_that_finds_the_disk_full_is_an_item_error_and_the_sync_goes_on() {
    let (l, s) = start(3, empty_device(), Ledger::new("lib", 1));
    let mut m = SyncMachine::new("dev");
    let mut answers =
        script(|r| is_write_of(r, 2).then(|| DeviceResponse::Written(Err(Error::DiskFull), None)));
    let seen = run_to_end(&mut m, &l, s, &mut answers, None);
    assert_eq!(
        seen.errors(),
        vec![(SyncItem::Track(TrackId(2)), Error::DiskFull)]
    );
    let summary = m.summary();
    assert_eq!((summary.copied, summary.errors), (2, 1));
    assert!(summary.completed);
    // The end: the ledger written, the commit record and the journal removed.
    assert_ledger_written_and_journal_removed(&seen);
    assert_eq!((m.phase(), m.state()), (Phase::Idle, SyncState::Stopped));
    assert_eq!(m.progress_bytes().0, m.progress_bytes().1);
}

#[test]
fn a_disconnect_mid_batch_abandons_the_sync_and_keeps_the_journal() {
    let (l, s) = start(3, empty_device(), Ledger::new("lib", 1));
    let mut m = SyncMachine::new("dev");
    let mut answers = script(|r| {
        is_write_of(r, 2).then(|| DeviceResponse::Written(Err(Error::DeviceNotConnected), None))
    });
    let seen = run_to_end(&mut m, &l, s, &mut answers, None);
    // Nothing after the failed write: no commit of track 1's temporary file, no ledger, and
    // the journal stays for the next start.
    let last = seen.requests.last().expect("requests");
    assert!(is_write_of(last, 2), "{last:?}");
    assert_eq!(seen.state_files_written().len(), 1, "only the journal");
    assert!(seen.state_files_deleted().is_empty());
    assert!(seen.errors().is_empty(), "a disconnect is no item error");
    assert!(!m.summary().completed);
    assert_eq!((m.phase(), m.state()), (Phase::Idle, SyncState::Stopped));
}

#[test]
fn a_stop_between_steps_commits_what_was_written_and_ends_stopped() {
    let (l, s) = start(3, empty_device(), Ledger::new("lib", 1));
    let mut m = SyncMachine::new("dev");
    let mut answers = script(|_| None);
    let seen = run_to_end(&mut m, &l, s, &mut answers, Some(1));
    // One copy went into the batch; the stop committed it (barrier, record, barrier, rename)
    // and wrote the ledger; track 2 was never asked for.
    assert!(!seen.requests.iter().any(|r| is_write_of(r, 2)));
    assert_eq!(
        seen.requests
            .iter()
            .filter(|r| matches!(r, DeviceRequest::Rename { .. }))
            .count(),
        1
    );
    let summary = m.summary();
    assert_eq!((summary.copied, summary.completed), (1, false));
    assert_ledger_written_and_journal_removed(&seen);
    assert_eq!((m.phase(), m.state()), (Phase::Idle, SyncState::Stopped));
    // A step after the end does nothing.
    m.step(&l);
    assert!(m.poll().is_none());
}

#[test]
fn a_start_while_a_sync_runs_is_out_of_sequence() {
    let (l, s) = start(2, empty_device(), Ledger::new("lib", 1));
    let (_, again) = start(2, empty_device(), Ledger::new("lib", 1));
    let mut m = SyncMachine::new("dev");
    let mut seen = Seen::default();
    let mut answers = script(|_| None);
    assert_eq!(m.state(), SyncState::Unknown);
    m.start(s).unwrap();
    drive(&mut m, &mut answers, &mut seen);
    assert_eq!(
        (m.phase(), m.state()),
        (Phase::Applying, SyncState::Synchronizing)
    );
    assert_eq!(m.start(again).unwrap_err(), Error::CallOutOfSequence);
    // Estimating cannot hide a running sync either.
    assert!(!m.set_estimating(true));
    assert_eq!(m.state(), SyncState::Synchronizing);
    while m.phase() == Phase::Applying {
        m.step(&l);
        drive(&mut m, &mut answers, &mut seen);
    }
    assert_eq!((m.phase(), m.state()), (Phase::Idle, SyncState::Stopped));
    assert!(m.summary().completed);
}

#[test]
fn a_journal_that_cannot_be_written_starts_nothing() {
    let (_, s) = start(2, empty_device(), Ledger::new("lib", 1));
    let mut m = SyncMachine::new("dev");
    let mut answers = script(|r| {
        matches!(r, DeviceRequest::WriteState { .. })
            .then(|| DeviceResponse::Failed(Error::DiskFull))
    });
    let mut seen = Seen::default();
    m.start(s).unwrap();
    drive(&mut m, &mut answers, &mut seen);
    assert_eq!(m.take_start_error(), Some(Error::DiskFull));
    assert_eq!((m.phase(), m.state()), (Phase::Idle, SyncState::Unknown));
    assert!(!m.started());
    // What the failed write left is removed, and the event names the journal (J1).
    assert_eq!(seen.state_files_deleted().len(), 1);
    let errors = seen.errors();
    assert!(
        matches!(&errors[..], [(SyncItem::DeviceObject(p), e)] if p.contains("journal-") && *e == Error::DiskFull),
        "{errors:?}"
    );
    assert!(
        !seen
            .requests
            .iter()
            .any(|r| matches!(r, DeviceRequest::Write { .. }))
    );
}

#[test]
fn a_failed_barrier_halts_the_sync_with_a_device_error() {
    let (l, s) = start(3, empty_device(), Ledger::new("lib", 1));
    let mut m = SyncMachine::new("dev");
    let mut flushes = 0;
    // The journal's barrier passes; the first batch's fails.
    let mut answers = script(|r| {
        if matches!(r, DeviceRequest::Flush) {
            flushes += 1;
            if flushes == 2 {
                return Some(DeviceResponse::Failed(Error::Fail));
            }
        }
        None
    });
    let seen = run_to_end(&mut m, &l, s, &mut answers, None);
    assert_eq!(
        seen.errors(),
        vec![(SyncItem::DeviceObject(String::new()), Error::Fail)]
    );
    // Nothing renamed, nothing removed: the journal is the next start's.
    assert!(
        !seen
            .requests
            .iter()
            .any(|r| matches!(r, DeviceRequest::Rename { .. }))
    );
    assert!(seen.state_files_deleted().is_empty());
    assert!(!m.summary().completed);
    assert_eq!((m.phase(), m.state()), (Phase::Idle, SyncState::Stopped));
}

#[test]
fn a_delete_checks_the_object_is_still_the_one_the_ledger_owns() {
    // The ledger owns two files the selection no longer has; the user replaced one of them.
    let mut device = empty_device();
    let mut ledger = Ledger::new("lib", 1);
    for (n, (path, id)) in [("Music/old.mp3", "mine"), ("Music/gone.mp3", "mine2")]
        .into_iter()
        .enumerate()
    {
        device.files.insert(
            path.into(),
            DeviceFile {
                size: 5,
                unique_id: id.into(),
                modified_ns: 0,
            },
        );
        ledger.insert(LedgerEntry {
            path: path.into(),
            unique_id: id.into(),
            kind: OwnedKind::Track,
            id: 98 + n as u64,
            hash: [0; 20],
            size: 5,
            meta: 0,
            source_size: 5,
            source_mtime: 0,
            plays: 0,
            rating: 0,
            seen: None,
            fingerprint: None,
        });
    }
    let (l, s) = start(0, device, ledger);
    assert_eq!(
        s.plan
            .ops
            .iter()
            .filter(|o| matches!(o, SyncOp::Delete { .. }))
            .count(),
        2,
        "{:?}",
        s.plan.ops
    );
    let mut m = SyncMachine::new("dev");
    let mut answers = script(|r| match r {
        DeviceRequest::Lookup { path, .. } => Some(DeviceResponse::Object(Some(ObjectInfo {
            object: if path == "Music/old.mp3" { 1 } else { 2 },
            size: 5,
            // Since planning, another program put its own file at old.mp3.
            unique_id: if path == "Music/old.mp3" {
                "theirs"
            } else {
                "mine2"
            }
            .into(),
            fingerprint: None,
        }))),
        _ => None,
    });
    let seen = run_to_end(&mut m, &l, s, &mut answers, None);
    let deleted: Vec<_> = seen
        .requests
        .iter()
        .filter_map(|r| match r {
            DeviceRequest::Delete { object } => Some(*object),
            _ => None,
        })
        .collect();
    assert_eq!(deleted, vec![2], "only the owned object goes (J5)");
    assert_eq!(m.summary().deleted, 1);
    assert!(m.summary().completed);
}
