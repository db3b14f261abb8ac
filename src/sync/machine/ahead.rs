//! Reading ahead: the plan's copies of small library files are opened, read and hashed by a
//! worker thread ahead of the steps that write them, so that reading the next files overlaps
//! the device's work on this one (as rsync's sender reads while its receiver writes).
//!
//! Nothing reaches the device from the worker: each step writes its file, in its order, as
//! before, from the bytes read ahead; the device sees the same operations in the same order,
//! so the journal's protocol is untouched. The check that the file did not change while it
//! was read runs on the worker as soon as the read ends
//! ([`HashingReader::check_whole`](crate::library::HashingReader::check_whole)); the step
//! then ends the copy with [`Library::finish_hashing`](crate::library::Library::finish_hashing)
//! as for a file it reads itself.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use crate::error::{Error, Result};
use crate::library::{CopySource, HashingReader, TrackId};
use crate::metadata::Metadata;

/// Files this large or larger are read by their step (a copy streams them; holding them would
/// cost memory for little gain).
pub(crate) const LARGEST: u64 = 1 << 20;
/// Files read ahead and not taken, at most: each holds its source open until its step takes
/// it.
const WINDOW: usize = 128;
/// Bytes read ahead and not taken, at most.
const BUDGET: u64 = 32 << 20;

/// A copy the plan will ask for.
#[derive(Debug)]
pub(crate) struct AheadJob {
    /// The track copied.
    pub(crate) track: TrackId,
    /// Where the worker reads it.
    pub(crate) source: CopySource,
    /// The track's path in the library, for messages.
    pub(crate) what: String,
    /// The name the copy will be written under and the metadata it will be given: the
    /// worker asks the device whether the bytes hold that metadata already ([`Ready::held`]).
    pub(crate) metadata: Option<(String, Metadata)>,
}

/// Asks the device whether a file of a name and content holds the metadata given with it
/// ([`DeviceObject::content_holds_metadata`](super::object::DeviceObject::content_holds_metadata)).
pub(super) type HeldCheck = Arc<dyn Fn(&str, &[u8], &Metadata) -> bool + Send + Sync>;

/// A file read ahead: its bytes, the reader that hashed them (checked and closed: the library
/// finishes it when the step takes it), the fingerprint a device object holding exactly
/// these bytes has, and whether the device found the metadata held by them (computed here
/// rather than on the core's thread during the write).
pub(super) struct Ready {
    pub(super) bytes: Vec<u8>,
    pub(super) reader: HashingReader<'static>,
    pub(super) fingerprint: [u8; 20],
    /// The name and metadata of the job, when the device said a file of that name holding
    /// these bytes holds that metadata already: written under that name with that metadata,
    /// the copy is given none.
    pub(super) held: Option<(String, Metadata)>,
}

impl Ready {
    /// The metadata to give a write of these bytes under `name` that was to be given
    /// `metadata`: none when the device found the bytes hold it already.
    pub(super) fn metadata_to_give<'m>(
        &self,
        name: &str,
        metadata: Option<&'m Metadata>,
    ) -> Option<&'m Metadata> {
        match (&self.held, metadata) {
            (Some((n, held)), Some(m)) if n == name && held == m => None,
            _ => metadata,
        }
    }
}

enum Slot {
    /// Not started.
    Waiting,
    /// Being read.
    Running,
    /// Read (or failed), not taken.
    Done(Box<Result<Ready>>),
    /// Taken, passed by the run, or dropped.
    Gone,
}

struct State {
    slots: Vec<Slot>,
    /// The next job to start.
    next: usize,
    /// Files read and not taken, and their bytes.
    ready: usize,
    held: u64,
    /// Jobs before this one the run has passed.
    passed: usize,
    /// Threads waiting on `changed` (a notification costs a system call, and a wake-up
    /// between cores is dear in a virtual machine: made only when someone waits).
    waiting: usize,
}

struct Shared {
    jobs: Vec<AheadJob>,
    check: Option<HeldCheck>,
    index: HashMap<TrackId, usize>,
    state: Mutex<State>,
    changed: Condvar,
    stop: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a change.
    fn wait<'a>(&self, mut st: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        st.waiting += 1;
        let mut st = self
            .changed
            .wait(st)
            .unwrap_or_else(PoisonError::into_inner);
        st.waiting -= 1;
        st
    }

    /// Wakes the waiting threads, if any.
    fn notify(&self, st: &State) {
        if st.waiting > 0 {
            self.changed.notify_all();
        }
    }
}

/// The worker reading ahead, and what it read.
pub(super) struct Ahead {
    shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
}

impl Ahead {
    /// Starts a worker on `jobs` (in the plan's order), asking `check` about their metadata;
    /// `None` when it could not start.
    pub(super) fn start(jobs: Vec<AheadJob>, check: Option<HeldCheck>) -> Option<Ahead> {
        let index = jobs.iter().enumerate().map(|(i, j)| (j.track, i)).collect();
        let slots = jobs.iter().map(|_| Slot::Waiting).collect();
        let shared = Arc::new(Shared {
            jobs,
            check,
            index,
            state: Mutex::new(State {
                slots,
                next: 0,
                ready: 0,
                held: 0,
                passed: 0,
                waiting: 0,
            }),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let worker = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("wmdm-read-ahead".into())
                .spawn(move || work(&shared))
                .inspect_err(|e| tracing::warn!(error = %e, "could not start the read-ahead"))
                .ok()?
        };
        Some(Ahead {
            shared,
            worker: Some(worker),
        })
    }

    /// The bytes of `track` read ahead (or the read's failure): waits for them while the
    /// worker reads them (reading the next ones meanwhile), or reads them now when the worker
    /// has not reached them. `None` when the step must read the file itself: not planned, or
    /// already taken. What was read for earlier tracks is dropped: the run has passed them.
    pub(super) fn take(&self, track: TrackId) -> Option<Result<Ready>> {
        let k = *self.shared.index.get(&track)?;
        let mut st = self.shared.lock();
        pass(&mut st, k);
        let taken = loop {
            let Some(slot) = st.slots.get_mut(k) else {
                break None;
            };
            match std::mem::replace(slot, Slot::Gone) {
                Slot::Gone => break None,
                Slot::Waiting => {
                    drop(st);
                    let read = self
                        .shared
                        .jobs
                        .get(k)
                        .map(|j| read_job(j, self.shared.check.as_ref()));
                    st = self.shared.lock();
                    break read;
                }
                Slot::Running => {
                    *slot = Slot::Running;
                    // Rather than sleep while the worker finishes this one, read the next.
                    st = match run_next(&self.shared, st) {
                        Ok(st) => st,
                        Err(st) => self.shared.wait(st),
                    };
                }
                Slot::Done(r) => {
                    st.ready -= 1;
                    if let Ok(r) = &*r {
                        st.held -= r.bytes.len() as u64;
                    }
                    break Some(*r);
                }
            }
        };
        // The worker, stopped by a full window, goes on once half of it is taken: one
        // wake-up per half window rather than one per file.
        if st.ready <= WINDOW / 2 && st.held <= BUDGET / 2 {
            self.shared.notify(&st);
        }
        taken
    }
}

impl Drop for Ahead {
    fn drop(&mut self) {
        // Set under the lock: the worker checks it under the lock before it waits, so it
        // either sees it or is already waiting for the notification below (never misses
        // both and waits for good).
        {
            let _st = self.shared.lock();
            self.shared.stop.store(true, Ordering::Relaxed);
        }
        self.shared.changed.notify_all();
        if let Some(w) = self.worker.take()
            && w.join().is_err()
        {
            tracing::warn!("the read-ahead thread panicked");
        }
    }
}

/// Drops what was read for the jobs before `k` (the run passed them); a job being read is
/// dropped when its read ends.
fn pass(st: &mut State, k: usize) {
    if k <= st.passed {
        return;
    }
    let from = std::mem::replace(&mut st.passed, k);
    for j in from..k {
        let Some(slot) = st.slots.get_mut(j) else {
            break;
        };
        match std::mem::replace(slot, Slot::Gone) {
            Slot::Running => *slot = Slot::Running,
            Slot::Done(r) => {
                st.ready -= 1;
                if let Ok(r) = *r {
                    st.held -= r.bytes.len() as u64;
                }
            }
            Slot::Waiting | Slot::Gone => {}
        }
    }
}

/// The worker: reads the next job in order while the window has room.
fn work(shared: &Shared) {
    let mut st = shared.lock();
    loop {
        if shared.stop.load(Ordering::Relaxed) || st.next >= shared.jobs.len() {
            return;
        }
        st = match run_next(shared, st) {
            Ok(st) => st,
            Err(st) => shared.wait(st),
        };
    }
}

/// Reads the next job not started, when the window has room: `Ok` with the lock taken again
/// after it, `Err` (the lock still held) when there was nothing to do now.
#[allow(clippy::result_large_err)]
fn run_next<'a>(
    shared: &'a Shared,
    mut st: MutexGuard<'a, State>,
) -> std::result::Result<MutexGuard<'a, State>, MutexGuard<'a, State>> {
    let k = loop {
        if shared.stop.load(Ordering::Relaxed) || st.ready >= WINDOW || st.held >= BUDGET {
            return Err(st);
        }
        let k = st.next;
        let State { slots, next, .. } = &mut *st;
        let Some(slot) = slots.get_mut(k) else {
            return Err(st);
        };
        *next += 1;
        if let Slot::Waiting = slot {
            *slot = Slot::Running;
            break k;
        }
    };
    let Some(job) = shared.jobs.get(k) else {
        return Err(st);
    };
    drop(st);
    let result = read_job(job, shared.check.as_ref());
    let mut st = shared.lock();
    let passed = k < st.passed;
    if let Some(slot) = st.slots.get_mut(k) {
        if passed {
            *slot = Slot::Gone;
        } else {
            let bytes = result.as_ref().map_or(0, |r| r.bytes.len() as u64);
            *slot = Slot::Done(Box::new(result));
            st.ready += 1;
            st.held += bytes;
        }
    }
    shared.notify(&st);
    Ok(st)
}

/// Opens, reads and hashes `job`'s file, and asks `check` about its metadata.
fn read_job(job: &AheadJob, check: Option<&HeldCheck>) -> Result<Ready> {
    let mut reader = job.source.open().inspect_err(|e| {
        if *e == Error::ProcessFailed {
            tracing::warn!(track = %job.what, "the library file changed since the scan; the next sync copies it");
        }
    })?;
    // One read of the size the open vouched for (`read_to_end` would grow its reads from
    // 8 KiB: three calls for a 17 kB file). A file that ends sooner changed meanwhile.
    let len = usize::try_from(job.source.size).map_err(|_| Error::Fail)?;
    let bytes = crate::sys::files::read_exactly(&mut reader, len, Error::ProcessFailed)?;
    // The check that the bytes are one version of the file, here on the worker right after
    // the read (the step then neither stats nor closes the file on the core's thread).
    reader.check_whole().inspect_err(|e| {
        if *e == Error::ProcessFailed {
            tracing::warn!(track = %job.what, "the library file changed while it was read; the next sync copies it");
        }
    })?;
    let fingerprint = crate::sync::device::fingerprint_of_bytes(&bytes);
    let held = match (&job.metadata, check) {
        (Some((name, metadata)), Some(check)) if check(name, &bytes, metadata) => {
            Some((name.clone(), metadata.clone()))
        }
        _ => None,
    };
    Ok(Ready {
        bytes,
        reader,
        fingerprint,
        held,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha1::Digest;
    use std::time::SystemTime;

    /// `n` files of distinct sizes and their jobs, in order.
    fn files(n: usize) -> (tempfile::TempDir, Vec<AheadJob>, Vec<Vec<u8>>) {
        let dir = tempfile::tempdir().unwrap();
        let mut jobs = Vec::new();
        let mut contents = Vec::new();
        for i in 0..n {
            let path = dir.path().join(format!("{i}.mp3"));
            let bytes: Vec<u8> = (0..100 + i).map(|b| (b * 7 + i) as u8).collect();
            std::fs::write(&path, &bytes).unwrap();
            let md = std::fs::metadata(&path).unwrap();
            jobs.push(AheadJob {
                track: TrackId(i as u64 + 1),
                source: CopySource {
                    path,
                    size: md.len(),
                    modified: md.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                },
                what: format!("{i}.mp3"),
                metadata: None,
            });
            contents.push(bytes);
        }
        (dir, jobs, contents)
    }

    fn sha1_of(bytes: &[u8]) -> [u8; 20] {
        sha1::Sha1::digest(bytes).into()
    }

    #[test]
    fn every_file_is_read_ahead_hashed_and_taken_once_in_order() {
        let (_dir, jobs, contents) = files(3 * WINDOW);
        let ahead = Ahead::start(jobs, None).unwrap();
        for (i, want) in contents.iter().enumerate() {
            let track = TrackId(i as u64 + 1);
            let ready = ahead.take(track).expect("planned").unwrap();
            assert_eq!(&ready.bytes, want, "file {i}");
            assert_eq!(ready.reader.hash().0, sha1_of(want), "file {i}");
            let (hash, _) = ready.reader.finish().unwrap();
            assert_eq!(hash.0, sha1_of(want));
            assert!(ahead.take(track).is_none(), "taken once");
        }
        assert!(ahead.take(TrackId(999_999)).is_none(), "not planned");
    }

    #[test]
    fn the_device_is_asked_about_each_files_metadata_and_its_answer_kept_for_that_write() {
        let (_dir, mut jobs, contents) = files(4);
        let title = |t: &str| {
            let mut m = Metadata::new();
            m.add(crate::metadata::tags::TITLE, t);
            m
        };
        for (i, j) in jobs.iter_mut().enumerate() {
            j.metadata = (i != 3).then(|| (format!("t{i}.part"), title(&format!("song {i}"))));
        }
        // The device says the bytes hold the metadata for even-sized files only.
        let asked = Arc::new(Mutex::new(Vec::new()));
        let check: HeldCheck = {
            let asked = Arc::clone(&asked);
            Arc::new(move |name: &str, content: &[u8], _: &Metadata| {
                asked.lock().unwrap().push(name.to_owned());
                content.len().is_multiple_of(2)
            })
        };
        let ahead = Ahead::start(jobs, Some(check)).unwrap();
        for (i, bytes) in contents.iter().enumerate() {
            let ready = ahead.take(TrackId(i as u64 + 1)).unwrap().unwrap();
            let m = title(&format!("song {i}"));
            let name = format!("t{i}.part");
            let held = i != 3 && bytes.len().is_multiple_of(2);
            assert_eq!(ready.held.is_some(), held, "file {i}");
            // Given nothing only for the write it was asked about: that name, that metadata.
            assert_eq!(ready.metadata_to_give(&name, Some(&m)).is_none(), held);
            assert_eq!(ready.metadata_to_give("other.part", Some(&m)), Some(&m));
            let other = title("another title");
            assert_eq!(ready.metadata_to_give(&name, Some(&other)), Some(&other));
            assert_eq!(ready.metadata_to_give(&name, None), None);
        }
        let mut asked = asked.lock().unwrap().clone();
        asked.sort();
        assert_eq!(
            asked,
            ["t0.part", "t1.part", "t2.part"],
            "one question per file with metadata"
        );
    }

    #[test]
    fn a_file_changed_after_it_was_read_ahead_is_copied_as_it_was_read() {
        let (_dir, jobs, contents) = files(4);
        let path = jobs[1].source.path.clone();
        let stamp = (jobs[1].source.size, jobs[1].source.modified);
        let ahead = Ahead::start(jobs, None).unwrap();
        let ready = ahead.take(TrackId(2)).unwrap().unwrap();
        std::fs::write(&path, b"other bytes, another size").unwrap();
        // The bytes are the version the read checked: their hash, and the stamp of that
        // version (so the next sync sees the change and copies the new one).
        assert_eq!(ready.bytes, contents[1]);
        let (hash, read) = ready.reader.finish().unwrap();
        assert_eq!(hash.0, sha1_of(&contents[1]));
        assert_eq!(read, Some(stamp));
    }

    #[test]
    fn a_file_changed_before_it_was_read_ahead_is_the_reads_failure() {
        let (_dir, mut jobs, _) = files(2);
        // The scan saw another size: the plan was made for other bytes.
        jobs[0].source.size += 1;
        let ahead = Ahead::start(jobs, None).unwrap();
        let taken = ahead.take(TrackId(1)).expect("planned");
        assert_eq!(taken.err(), Some(Error::ProcessFailed));
        assert!(ahead.take(TrackId(2)).unwrap().is_ok());
    }

    #[test]
    fn files_the_run_passes_by_are_dropped_and_free_the_window() {
        let (_dir, jobs, contents) = files(4 * WINDOW);
        let ahead = Ahead::start(jobs, None).unwrap();
        // Skip most of them: the window holds no more than WINDOW files, so this ends only
        // if what the run passed by is dropped.
        for i in (0..4 * WINDOW).step_by(WINDOW / 2 + 1) {
            let ready = ahead
                .take(TrackId(i as u64 + 1))
                .expect("planned, not passed");
            assert_eq!(ready.unwrap().bytes, contents[i]);
            let st = ahead.shared.lock();
            assert!(st.ready <= WINDOW && st.held <= BUDGET);
        }
        assert!(ahead.take(TrackId(1)).is_none(), "passed by");
    }
}
