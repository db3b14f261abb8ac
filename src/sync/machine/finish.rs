//! The run's durable bookkeeping: the journal before the first step (J1), durability
//! barriers, ledger checkpoints, and the end of the run (the last batch committed, the
//! ledger written, the spent records and the journal removed).

use super::flow::Flow;
use super::request::DeviceRequest;
use super::{End, Run, is_disconnect, journal_item};
use crate::error::{Error, Result};
use crate::sync::device::{journal_file, ledger_file};
use crate::sync::event::SyncItem;
use crate::sync::journal::OwnedKind;

/// A durability barrier: every change completed before it is durable when it succeeds
/// (docs/sync.md, "Durability barriers"). A failure halts the run.
pub(super) fn barrier(run: &mut Run) -> Flow {
    if let Some(e) = &run.halted {
        return Flow::Done(Err(e.clone()));
    }
    run.summary.flushes += 1;
    Flow::ask_done(DeviceRequest::Flush, |run, r| {
        if let Err(e) = &r {
            tracing::warn!(error = %e, "the device's flush failed; the sync stops, its journal stays");
            run.halted = Some(e.clone());
        }
        Flow::Done(r)
    })
}

/// Writes sync's state file `name` (whole in place where the device refuses renames).
pub(super) fn write_state(run: &Run, name: String, bytes: Vec<u8>) -> Flow {
    let request = DeviceRequest::WriteState {
        name,
        bytes,
        in_place: run.renames_refused,
    };
    Flow::ask_done(request, |_, r| Flow::Done(r))
}

/// Deletes sync's state file `name`.
pub(super) fn delete_state(name: String) -> Flow {
    Flow::ask_done(DeviceRequest::DeleteState { name }, |_, r| Flow::Done(r))
}

/// J1: the journal is durable before the first step that changes the device, deletes
/// included, whatever the quota; if it cannot be written, the sync does not start.
pub(super) fn write_journal(run: &mut Run) -> Flow {
    let name = journal_file(&run.journal.library_id);
    let bytes = run.journal.encode();
    write_state(run, name, bytes)
        .and(run, barrier)
        .then(run, |run, r| {
            let Err(e) = r else {
                return Flow::OK;
            };
            tracing::warn!(error = %e, "could not write the sync journal; nothing was changed");
            // Recovery removed any older journal, so what the failed write left (a `.new`
            // whose rename was refused, a partial file) describes no step that ran: remove
            // it, so the device is as it was (J1). Best effort: the write's error is the one
            // to report.
            let lib = run.journal.library_id.clone();
            delete_state(journal_file(&lib)).then(run, move |run, _| {
                run.emit(journal_item(&lib), e.clone());
                Flow::Done(Err(e))
            })
        })
}

/// Removes the spent commit and intent records once the ledger that holds their batches is
/// durable. An intent record stays while a batch it announces is still open.
pub(super) fn remove_spent_records(run: &mut Run) -> Flow {
    if let Some(c) = run.commits.last() {
        return delete_state(c.clone()).and(run, |run| {
            run.commits.pop();
            remove_spent_records(run)
        });
    }
    if run.batch.is_empty() {
        if let Some((c, _)) = run.intents.last() {
            return delete_state(c.clone()).and(run, |run| {
                run.intents.pop();
                remove_spent_records(run)
            });
        }
        run.intended.clear();
    }
    Flow::OK
}

/// A checkpoint: the ledger as it is now, made durable, and the records it makes spent
/// removed (J2). The renames and deletes it records are durable before the ledger claims
/// them, and the ledger before the records it replaces go.
pub(super) fn checkpoint(run: &mut Run) -> Flow {
    let name = ledger_file(&run.journal.library_id);
    barrier(run)
        .and(run, move |run| {
            let bytes = run.ledger.encode();
            write_state(run, name, bytes)
        })
        .and(run, barrier)
        .and(run, remove_spent_records)
}

/// The DeviceSyncError of a failed durability barrier (the device as a whole).
pub(super) fn report_halt(run: &mut Run, error: Error) {
    run.summary.errors += 1;
    run.emit(SyncItem::DeviceObject(String::new()), error);
}

/// Ends the run: what was written completely stays (a stop commits the batch in progress),
/// the ledger records it, the spent records and the journal go, and the end is durable.
pub(super) fn finish(run: &mut Run, completed: bool) -> Flow {
    super::commit::commit_batch(run).then(run, move |run, r| {
        if let Err(e) = r {
            if let Some(h) = run.halted.clone() {
                report_halt(run, h);
            }
            if is_disconnect(&e) || run.halted.is_some() {
                // Ended as after a disconnect: the journal stays.
                return Flow::OK;
            }
        }
        write_end(run).then(run, move |run, result| {
            end_summary(run, completed, &result);
            Flow::OK
        })
    })
}

/// The ledger, the spent records and the journal at the end of a run, with their barriers.
fn write_end(run: &mut Run) -> Flow {
    let unchanged = run.ledger == run.initial;
    let lib = run.journal.library_id.clone();
    // Barriers: what the steps did is durable before the ledger records it, the ledger
    // before the journal goes, and the end of the sync is durable when it ends.
    let changed = !unchanged || run.journaled || !run.commits.is_empty() || !run.intents.is_empty();
    let ledger = if unchanged {
        Flow::OK
    } else {
        let name = ledger_file(&lib);
        barrier(run).and(run, move |run| {
            let bytes = run.ledger.encode();
            write_state(run, name, bytes)
        })
    };
    ledger
        .and(
            run,
            move |run| if changed { barrier(run) } else { Flow::OK },
        )
        .and(run, remove_spent_records)
        .and(run, move |run| {
            // The ledger is durable: the commit and intent records and the journal have
            // done their work (the batch is committed, so no intent record is still open).
            if run.journaled {
                delete_state(journal_file(&lib))
            } else {
                Flow::OK
            }
        })
        .and(
            run,
            move |run| if changed { barrier(run) } else { Flow::OK },
        )
}

fn end_summary(run: &mut Run, completed: bool, result: &Result<()>) {
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not write the sync ledger; the journal stays");
    }
    run.summary.completed = completed && result.is_ok();
    run.note_quirks();
    run.summary.items_on_device = u32::try_from(
        run.ledger
            .entries
            .values()
            .filter(|e| e.kind == OwnedKind::Track)
            .count(),
    )
    .unwrap_or(u32::MAX);
    if completed {
        // A sync with nothing to do is complete too: 100, not 0.
        run.total = run.total.max(1);
        run.done = run.total;
    }
    let s = &run.summary;
    tracing::info!(
        completed = s.completed,
        copied = s.copied,
        updated = s.updated,
        deleted = s.deleted,
        playlists = s.playlists_written,
        skipped = s.skipped,
        no_fit = s.no_fit,
        errors = s.errors,
        bytes = s.bytes_copied,
        on_device = s.items_on_device,
        "sync finished"
    );
}

/// What a step's end means for the run, once its group commit and checkpoint are done.
pub(super) fn after_checkpoint(run: &mut Run, result: Result<()>) -> Flow {
    if let Err(e) = result {
        if let Some(h) = run.halted.clone() {
            run.end = Some(End::Halt(h));
            return Flow::OK;
        }
        if is_disconnect(&e) {
            run.end = Some(End::Abandon);
            return Flow::OK;
        }
    }
    if run.cursor >= run.plan.ops.len() {
        run.end = Some(End::Complete);
    }
    Flow::OK
}
