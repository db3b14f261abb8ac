//! The core against the protocol under random failures, over a provider's storage, and
//! given the time.

use std::collections::HashSet;

use super::request::{DeviceRequest, DeviceResponse};
use super::tests::{Seen, drive, empty_device, run_to_end, script, start};
use super::{Action, Phase, Start, SyncMachine};
use crate::error::Error;
use crate::library::MemoryLibrary;
use crate::sync::event::{SyncEvent, SyncState};
use crate::sync::journal::{Ledger, OwnedKind};
use crate::sync::plan::SyncOp;

/// Runs the machine to its end over `io`, each request executed for real.
fn run_over(
    m: &mut SyncMachine,
    io: &mut dyn super::DeviceIo,
    library: &MemoryLibrary,
    start: Start,
) -> Vec<SyncEvent> {
    let stop = std::sync::atomic::AtomicBool::new(false);
    let cx = super::IoContext {
        library: Some(library),
        stop: &stop,
        progress: &|_| {},
    };
    let mut events = Vec::new();
    let mut drive = |m: &mut SyncMachine| {
        while let Some(action) = m.poll() {
            match action {
                Action::Event(e) => events.push(e),
                Action::Request(r) => {
                    let answer = io.execute(r, &cx);
                    if io.renames_refused() {
                        m.note_renames_refused();
                    }
                    m.handle(answer);
                }
            }
        }
    };
    m.start(start).unwrap();
    drive(m);
    while m.phase() == Phase::Applying {
        m.step(library);
        drive(m);
    }
    events
}

#[test]
fn the_machine_syncs_directly_over_a_providers_storage() {
    use crate::sync::device::{journal_file, ledger_file};

    let (device, handle, root) = super::tests::memory_player();
    let mut io = super::ProviderIo::new(
        root,
        Some(handle),
        crate::sync::device::Renames::default(),
        None,
    );
    let (l, s) = start(3, empty_device(), Ledger::new("lib", 1));
    let placed: Vec<String> = s
        .plan
        .ops
        .iter()
        .filter_map(|o| match o {
            SyncOp::Copy { path, .. } => Some(path.clone()),
            _ => None,
        })
        .collect();
    let mut m = SyncMachine::new("P1");
    let events = run_over(&mut m, &mut io, &l, s);
    assert_eq!(
        events,
        vec![
            SyncEvent::DeviceSyncStateChange {
                device: "P1".into(),
                state: SyncState::Synchronizing
            },
            SyncEvent::DeviceSyncStateChange {
                device: "P1".into(),
                state: SyncState::Stopped
            },
        ]
    );
    let summary = m.summary();
    assert!(summary.completed);
    assert_eq!((summary.copied, summary.errors), (3, 0));
    let files = device.files();
    for (i, path) in placed.iter().enumerate() {
        let want = vec![u8::try_from(i + 1).unwrap(); 100];
        assert_eq!(files.get(path.as_str()), Some(&want), "{path}");
    }
    // The ledger is on the device and the journal is gone; no temporary file is left.
    let state = |name: &str| format!("{}/{name}", crate::sync::SYNC_FOLDER);
    let ledger = files.get(&state(&ledger_file("lib"))).expect("ledger");
    let ledger = Ledger::parse(ledger).expect("a ledger");
    assert_eq!(
        ledger
            .entries
            .values()
            .filter(|e| e.kind == OwnedKind::Track && !e.unique_id.is_empty())
            .count(),
        3
    );
    assert!(!files.contains_key(&state(&journal_file("lib"))));
    assert!(
        !files.keys().any(|p| p.contains(".part")),
        "{:?}",
        files.keys()
    );
}

#[test]
fn progress_events_follow_the_time_given_and_the_last_comes_before_stopped() {
    use std::time::{Duration, Instant};

    let (l, s) = start(4, empty_device(), Ledger::new("lib", 1));
    let mut m = SyncMachine::new("dev");
    m.set_progress_events(Some(Duration::from_secs(10)));
    let mut answers = script(|_| None);
    let mut seen = Seen::default();
    let t0 = Instant::now();
    m.start(s).unwrap();
    drive(&mut m, &mut answers, &mut seen);
    let progress = |seen: &Seen| -> Vec<u8> {
        seen.events
            .iter()
            .filter_map(|e| match e {
                SyncEvent::DeviceProgress { percent, .. } => Some(*percent),
                _ => None,
            })
            .collect()
    };
    m.handle_time(t0);
    m.step(&l);
    drive(&mut m, &mut answers, &mut seen);
    // Due only once the interval has passed, and only when the value changed.
    m.handle_time(t0 + Duration::from_secs(1));
    drive(&mut m, &mut answers, &mut seen);
    assert_eq!(progress(&seen), vec![0]);
    m.handle_time(t0 + Duration::from_secs(11));
    drive(&mut m, &mut answers, &mut seen);
    let after_one = progress(&seen);
    assert_eq!(after_one.len(), 2);
    assert!(after_one[1] > 0);
    while m.phase() == Phase::Applying {
        m.step(&l);
        drive(&mut m, &mut answers, &mut seen);
    }
    assert_eq!(progress(&seen).last(), Some(&100));
    let tail: Vec<_> = seen.events.iter().rev().take(2).collect();
    assert!(
        matches!(
            tail[..],
            [
                SyncEvent::DeviceSyncStateChange {
                    state: SyncState::Stopped,
                    ..
                },
                SyncEvent::DeviceProgress { percent: 100, .. }
            ]
        ),
        "{tail:?}"
    );
    // Without a runtime (no interval) the host polls; no event.
    let (l, s) = start(1, empty_device(), Ledger::new("lib", 1));
    let mut m = SyncMachine::new("dev");
    let seen = run_to_end(&mut m, &l, s, &mut answers, None);
    assert!(progress(&seen).is_empty());
}

/// Checks a run's requests and answers against the protocol (docs/sync.md, J1 and J4): no
/// change to the device before the journal is durable; no file renamed into place before a
/// commit record written after it is durable; a device gone away ends the run at once.
fn check_protocol(trace: &[(DeviceRequest, DeviceResponse)]) -> Result<(), String> {
    let ok = |r: &DeviceResponse| {
        !matches!(
            r,
            DeviceResponse::Failed(_) | DeviceResponse::Written(Err(_), _)
        )
    };
    let mut journal_written = false;
    let mut journal_durable = false;
    // Written objects, and those a durable commit record covers.
    let mut written: Vec<u64> = Vec::new();
    let mut recorded: Vec<u64> = Vec::new();
    let mut committed: HashSet<u64> = HashSet::new();
    let mut gone = 0;
    for (i, (request, response)) in trace.iter().enumerate() {
        // A device that went away stays away: the run ends within a few requests (what the
        // failed step was doing, the best-effort removal of what it left).
        if gone > 0 {
            gone += 1;
            if gone > 8 {
                return Err(format!("request {i}: the run goes on after a disconnect"));
            }
        }
        let changes = matches!(
            request,
            DeviceRequest::Write { .. }
                | DeviceRequest::Delete { .. }
                | DeviceRequest::Rename { .. }
                | DeviceRequest::SetMetadata { .. }
        );
        if changes && !journal_durable {
            return Err(format!(
                "request {i} changes the device before the journal is durable (J1)"
            ));
        }
        match request {
            DeviceRequest::WriteState { name, .. } if name.starts_with("journal-") => {
                journal_written = ok(response);
            }
            DeviceRequest::WriteState { name, .. }
                if name.starts_with("commit-") && ok(response) =>
            {
                recorded = written.clone();
            }
            DeviceRequest::Flush if ok(response) => {
                journal_durable |= journal_written;
                committed.extend(recorded.drain(..));
            }
            DeviceRequest::Write { .. } => {
                if let DeviceResponse::Written(Ok(w), _) = response {
                    written.push(w.object);
                }
            }
            DeviceRequest::Rename { object, .. } if !committed.contains(object) => {
                return Err(format!(
                    "request {i} renames object {object} before a durable commit record (J4)"
                ));
            }
            _ => {}
        }
        let disconnected = match response {
            DeviceResponse::Failed(e) | DeviceResponse::Written(Err(e), _) => {
                e.kind() == crate::error::ErrorKind::Disconnected
            }
            _ => false,
        };
        if disconnected && gone == 0 {
            gone = 1;
        }
    }
    Ok(())
}

#[test]
fn under_random_failures_the_core_keeps_the_protocol_and_always_ends_stopped() {
    let errors = [
        Error::DiskFull,
        Error::Fail,
        Error::DeviceNotConnected,
        Error::NotSupported,
        Error::AlreadyExists,
    ];
    for seed in 1..=300_u64 {
        let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let n = 1 + seed % 6;
        let (l, s) = start(n, empty_device(), Ledger::new("lib", 1));
        let mut m = SyncMachine::new("dev");
        m.set_options(crate::sync::SyncOptions {
            batch_files: 1 + (seed % 3) as usize,
            checkpoint_every: 1 + (seed % 4) as usize,
            ..crate::sync::SyncOptions::default()
        });
        let mut answers = script(|_| None);
        let mut trace = Vec::new();
        let stop_at = (seed % 5 == 0).then_some((seed % 4) as usize);
        let mut steps = 0;
        let mut unplugged = false;
        let mut drive = |m: &mut SyncMachine, trace: &mut Vec<_>, unplugged: &mut bool| {
            while let Some(action) = m.poll() {
                if let Action::Request(r) = action {
                    let answer = if *unplugged {
                        match r {
                            DeviceRequest::Write { .. } => {
                                DeviceResponse::Written(Err(Error::DeviceNotConnected), None)
                            }
                            _ => DeviceResponse::Failed(Error::DeviceNotConnected),
                        }
                    } else if next() % 7 == 0 {
                        let e = errors[(next() % errors.len() as u64) as usize].clone();
                        match r {
                            DeviceRequest::Write { .. } => DeviceResponse::Written(Err(e), None),
                            _ => DeviceResponse::Failed(e),
                        }
                    } else {
                        answers.answer(&r)
                    };
                    *unplugged |= matches!(&answer, DeviceResponse::Failed(e) | DeviceResponse::Written(Err(e), _) if *e == Error::DeviceNotConnected);
                    trace.push((r, answer.clone()));
                    m.handle(answer);
                }
            }
        };
        m.start(s).unwrap();
        drive(&mut m, &mut trace, &mut unplugged);
        while m.phase() == Phase::Applying {
            if stop_at == Some(steps) {
                m.stop();
            } else {
                m.step(&l);
            }
            steps += 1;
            assert!(steps < 100, "seed {seed}: no end");
            drive(&mut m, &mut trace, &mut unplugged);
        }
        if let Err(e) = check_protocol(&trace) {
            for (i, t) in trace.iter().enumerate() {
                eprintln!("{i}: {t:?}");
            }
            panic!("seed {seed}: {e}");
        }
        assert_eq!(m.phase(), Phase::Idle, "seed {seed}");
        assert_ne!(m.state(), SyncState::Synchronizing, "seed {seed}");
        assert!(m.poll().is_none(), "seed {seed}");
    }
}
