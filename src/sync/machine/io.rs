//! Executing the core's requests: the narrow interface ([`DeviceIo`]) and its one
//! implementation, [`Executor`], over the manager's authenticated storage ([`ManagerIo`], the
//! path every sync of a [`SyncDevice`](crate::sync::SyncDevice) takes) or directly over a
//! provider's storage ([`ProviderIo`]).

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::ahead::{Ahead, AheadJob, HeldCheck};
use super::list_ahead::ListAhead;
use super::object::DeviceObject;
use super::request::{
    DeviceRequest, DeviceResponse, EncodeInfo, Fingerprint, ObjectId, ObjectInfo, StatsRead,
    WriteSource, Written,
};
use crate::error::{Error, Result};
use crate::library::{ContentHash, HashingReader, Library};
use crate::manager::{InsertOptions, InsertSource, WmdmDevice, WmdmStorage};
use crate::metadata::Metadata;
use crate::provider::{DeviceRef, NoProgress, Progress, StorageRef};
use crate::sync::device::{
    Renames, change_stamp, clean_state_twins, delete_state, fingerprint as fingerprint_of,
    fingerprint_as_sent, is_not_found, list_contents, read_state_from, read_states_with_prefix,
    remove_stale_twin, resolve, settle_state, split, state_date, write_state_with,
};
use crate::sync::plan::SyncOp;
use crate::sync::resume::find_adoptable;
use crate::transcode::{EncodePool, Job, Transcoding};

/// What an executor is handed with each request besides the request: the library (the
/// bytes to copy), the stop flag a long write checks, and where a write reports the bytes it
/// sent so far.
pub(crate) struct IoContext<'a> {
    /// The library (none when the work asked for reads no track: ending a run).
    pub(crate) library: Option<&'a dyn Library>,
    /// Set when the sync is asked to stop: a write in progress ends with
    /// [`Error::UserCancelled`] (and leaves nothing).
    pub(crate) stop: &'a AtomicBool,
    /// Called with the bytes a write has sent so far.
    pub(crate) progress: &'a (dyn Fn(u64) + Sync),
}

/// Executes the core's device requests, one at a time, in the order asked.
pub(crate) trait DeviceIo {
    /// Executes `request`. Never panics on what the device answers: a failure is
    /// [`DeviceResponse::Failed`].
    fn execute(&mut self, request: DeviceRequest, cx: &IoContext<'_>) -> DeviceResponse;

    /// True once the device refused a rename this session (learnt on any request, failed
    /// ones included).
    fn renames_refused(&self) -> bool;
}

/// The progress sink of one write: reports the bytes sent and cancels on stop.
struct WriteProgress<'a, 'b> {
    cx: &'a IoContext<'b>,
}

impl WriteProgress<'_, '_> {
    fn check(&self) -> Result<()> {
        if self.cx.stop.load(Ordering::Relaxed) {
            Err(Error::UserCancelled)
        } else {
            Ok(())
        }
    }
}

impl Progress for WriteProgress<'_, '_> {
    fn begin(&mut self, _estimated: u64) -> Result<()> {
        self.check()
    }
    fn progress(&mut self, done: u64) -> Result<()> {
        (self.cx.progress)(done);
        self.check()
    }
    fn end(&mut self, _result: Result<()>) {}
}

/// Handles the core holds: the objects it looked up or wrote, by number. A lookup's handle
/// lasts until the next lookup; a written file's until it is renamed, deleted or released.
pub(super) struct Handles<O> {
    objects: HashMap<ObjectId, O>,
    looked_up: Option<ObjectId>,
    next: ObjectId,
}

impl<O> Default for Handles<O> {
    fn default() -> Self {
        Handles {
            objects: HashMap::new(),
            looked_up: None,
            next: 0,
        }
    }
}

impl<O> Handles<O> {
    pub(super) fn add(&mut self, object: O) -> ObjectId {
        self.next += 1;
        self.objects.insert(self.next, object);
        self.next
    }

    pub(super) fn add_lookup(&mut self, object: O) -> ObjectId {
        if let Some(old) = self.looked_up.take() {
            self.objects.remove(&old);
        }
        let id = self.add(object);
        self.looked_up = Some(id);
        id
    }

    pub(super) fn get(&self, id: ObjectId) -> Result<&O> {
        self.objects
            .get(&id)
            .ok_or_else(|| Error::Fail.context("an object handle the executor does not hold"))
    }

    pub(super) fn take(&mut self, id: ObjectId) -> Result<O> {
        self.objects
            .remove(&id)
            .ok_or_else(|| Error::Fail.context("an object handle the executor does not hold"))
    }
}

/// The encoder's side of a sync: what converts, and the pool working through the plan's
/// conversions (started at the first step, so encodes run while the sync copies).
#[derive(Default)]
pub(super) struct Encoder {
    transcoding: Option<Transcoding>,
    pool: Option<EncodePool>,
}

impl Encoder {
    /// Starts the pool on the conversions of `ops`, in order, once.
    pub(super) fn start(&mut self, ops: &[SyncOp], library: &dyn Library) {
        let Some(with) = self.transcoding.take() else {
            return;
        };
        let jobs: Vec<Job> = ops
            .iter()
            .filter_map(|op| match op {
                SyncOp::Copy {
                    track,
                    hash,
                    convert: Some(c),
                    ..
                } => {
                    let t = library.track(*track)?;
                    Some(Job {
                        track: *track,
                        source: t.path.clone(),
                        target: c.target,
                        duration: t.duration,
                        expected: *hash,
                    })
                }
                _ => None,
            })
            .collect();
        if !jobs.is_empty() {
            self.pool = Some(EncodePool::start(with, jobs));
        }
    }

    /// Waits for the encode of `track`.
    pub(super) fn wait(
        &self,
        track: crate::library::TrackId,
        stop: &AtomicBool,
    ) -> Result<(crate::transcode::Encoded, EncodeInfo)> {
        // No transcoder for this sync: the conversion is an item error.
        let pool = self
            .pool
            .as_ref()
            .ok_or_else(|| Error::NotSupported.context("converting: the sync has no transcoder"))?;
        let encoded = pool.wait(track, stop)?;
        let info = EncodeInfo {
            source: encoded.source,
            reused: encoded.reused,
            encode_time: encoded.encode_time,
        };
        Ok((encoded, info))
    }
}

/// The device's durability barrier.
pub(crate) trait Barrier: Send {
    /// Flushes the device.
    fn flush(&self) -> Result<()>;
}

impl Barrier for WmdmDevice {
    fn flush(&self) -> Result<()> {
        WmdmDevice::flush(self)
    }
}

impl Barrier for DeviceRef {
    fn flush(&self) -> Result<()> {
        crate::provider::Device::flush(&**self)
    }
}

/// Executes requests over the manager: every call authenticated (SAC), as WMP's own sync.
pub(crate) type ManagerIo = Executor<WmdmStorage, WmdmDevice>;

/// Executes requests directly over a provider's storage: no manager, no authenticated
/// channel (a host that owns its provider; the requests and their order are the same).
#[cfg_attr(
    not(test),
    expect(
        dead_code,
        reason = "no public entry point drives the core over a provider yet; the core's tests do"
    )
)]
pub(crate) type ProviderIo = Executor<StorageRef, DeviceRef>;

/// Executes requests over device objects of type `O`, flushing a `D` at the barriers.
pub(crate) struct Executor<O, D> {
    root: O,
    // The device whose flush is the durability barrier; none for a device whose every
    // completed operation is durable when it returns.
    device: Option<D>,
    folders: HashMap<String, O>,
    handles: Handles<O>,
    renames: Renames,
    encoder: Encoder,
    // The worker reading the copies' sources ahead, once started.
    ahead: Option<Ahead>,
    ahead_started: bool,
    // The device's listing, when read ahead of the core's `List`.
    listing: ListAhead,
}

impl<O: DeviceObject, D: Barrier> Executor<O, D> {
    /// An executor over `root`, flushing `device` at the barriers; `renames` is what the
    /// session found out so far (recovery may have met a refusal).
    pub(crate) fn new(
        root: O,
        device: Option<D>,
        renames: Renames,
        transcoding: Option<Transcoding>,
    ) -> Self {
        Executor {
            root,
            device,
            folders: HashMap::new(),
            handles: Handles::default(),
            renames,
            encoder: Encoder {
                transcoding,
                pool: None,
            },
            ahead: None,
            ahead_started: false,
            listing: ListAhead::default(),
        }
    }

    /// Starts reading the device's listing on a thread, to be handed to the core's `List` if
    /// nothing changes the device before it asks (see [`ListAhead`]).
    pub(crate) fn list_ahead(&mut self)
    where
        O: Sync + 'static,
    {
        self.listing = ListAhead::start(&self.root);
    }

    /// Takes a listing of this executor's root started earlier, under the same writer lock
    /// (see [`SyncDevice::start_after`](crate::sync::SyncDevice::start_after)), in place of
    /// starting one.
    pub(crate) fn adopt_listing(&mut self, listing: ListAhead) {
        self.listing = listing;
    }

    /// Whether `name` is free in folder `dir` for `object`'s rename: known without a look
    /// when the device refuses a taken name itself (its rename then answers for it).
    fn name_is_free(&mut self, object: ObjectId, dir: &str, name: &str) -> Result<bool> {
        if self.handles.get(object)?.refuses_taken_names() {
            return Ok(true);
        }
        let path = if dir.is_empty() {
            name.to_owned()
        } else {
            format!("{dir}/{name}")
        };
        Ok(self.lookup(&path, Fingerprint::Never)?.is_none())
    }

    /// Executes a request that changes the state folder only when it finds an interrupted
    /// write's leftover (`changed` says whether it did): a listing read ahead stays good when
    /// it did not.
    fn tidy_state(&mut self, changed: Result<bool>) -> DeviceResponse {
        match changed {
            Ok(false) => DeviceResponse::Done,
            Ok(true) => {
                self.listing.changed();
                DeviceResponse::Done
            }
            Err(e) => {
                self.listing.changed();
                DeviceResponse::Failed(e)
            }
        }
    }

    /// True until [`start_ahead`](Self::start_ahead) was called for this run.
    pub(crate) fn wants_ahead(&self) -> bool {
        !self.ahead_started
    }

    /// Starts reading `jobs` ahead (once; later calls do nothing): one worker beside the
    /// core's thread, so only with a second core.
    pub(crate) fn start_ahead(&mut self, jobs: Vec<AheadJob>)
    where
        O: Sync + 'static,
    {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        if std::mem::replace(&mut self.ahead_started, true) || jobs.len() < 2 || cores < 2 {
            return;
        }
        // The worker asks the device about each file's metadata as it reads it: a question
        // about bytes and a name, which touches nothing on the device.
        let root = self.root.clone();
        let check: HeldCheck = Arc::new(move |name: &str, content: &[u8], metadata: &Metadata| {
            root.content_holds_metadata(name, content, metadata)
        });
        self.ahead = Ahead::start(jobs, Some(check));
    }

    /// Starts the encoder on the conversions of `ops` (once; later calls do nothing).
    pub(crate) fn start_encodes(&mut self, ops: &[SyncOp], library: &dyn Library) {
        self.encoder.start(ops, library);
    }

    /// The folder at `path`, created (with its parents) when missing.
    fn ensure(&mut self, path: &str) -> Result<O> {
        if path.is_empty() {
            return Ok(self.root.clone());
        }
        if let Some(f) = self.folders.get(path) {
            return Ok(f.clone());
        }
        let (parent_path, name) = split(path);
        let parent = self.ensure(parent_path)?;
        let folder = match parent.child(name) {
            Ok(f) => f,
            Err(e) if is_not_found(&e) => {
                parent.create_folder(name, crate::flags::Placement::Into)?
            }
            Err(e) => return Err(e),
        };
        self.folders.insert(path.to_owned(), folder.clone());
        Ok(folder)
    }

    fn lookup(&mut self, path: &str, fingerprint: Fingerprint) -> Result<Option<ObjectInfo>> {
        let (dir, name) = split(path);
        let found = match self.folders.get(dir) {
            Some(folder) => match folder.child(name) {
                Ok(o) => Some(o),
                Err(e) if is_not_found(&e) || e == Error::InvalidType => None,
                Err(e) => return Err(e),
            },
            None => resolve(&self.root, path)?,
        };
        let Some(obj) = found else {
            return Ok(None);
        };
        let size = obj.size()?;
        let unique_id = obj.unique_id().unwrap_or_default();
        let fingerprint = match fingerprint {
            Fingerprint::Always => Some(fingerprint_of(&obj)?),
            Fingerprint::WithoutUniqueId if unique_id.is_empty() => Some(fingerprint_of(&obj)?),
            _ => None,
        };
        Ok(Some(ObjectInfo {
            object: self.handles.add_lookup(obj),
            size,
            unique_id,
            fingerprint,
        }))
    }

    #[allow(clippy::too_many_arguments)]
    fn write(
        &mut self,
        dir: &str,
        name: &str,
        fresh: bool,
        source: WriteSource,
        size: u64,
        metadata: Option<crate::metadata::Metadata>,
        cx: &IoContext<'_>,
    ) -> DeviceResponse {
        let folder = match self.ensure(dir) {
            Ok(f) => f,
            Err(e) => return DeviceResponse::Failed(e),
        };
        let insert = |reader: &mut (dyn Read + Send), size: u64, metadata: Option<&Metadata>| {
            // A fresh name is this session's: whatever holds it is not ours to delete, and
            // the insert (never an overwrite) refuses it. A device that gave the file another
            // name instead (a name policy that numbers taken names, where the device ignores
            // `temporary`) made a file no journal records: it goes at once.
            let created = folder.insert(
                InsertSource::Reader {
                    reader,
                    name: name.to_owned(),
                    size,
                },
                &InsertOptions {
                    metadata: metadata.cloned(),
                    // A fresh name is the session's journaled temporary name: the device may
                    // write it in place (recovery deletes it by name after a crash, J3).
                    temporary: fresh,
                    ..InsertOptions::default()
                },
                &mut WriteProgress { cx },
            )?;
            if fresh && created.name()? != name {
                remove_temp(&created);
                return Err(Error::AlreadyExists);
            }
            Ok(created)
        };
        let (written, info) = match source {
            WriteSource::Bytes(bytes) => {
                let mut reader = std::io::Cursor::new(bytes);
                (
                    insert(&mut reader, size, metadata.as_ref()).and_then(readback),
                    None,
                )
            }
            WriteSource::Encoded { track } => match self.encoder.wait(track, cx.stop) {
                Err(e) => (Err(e), None),
                Ok((encoded, info)) => {
                    let written = std::fs::File::open(&encoded.path)
                        .map_err(Error::from)
                        .and_then(|mut file| insert(&mut file, encoded.size, metadata.as_ref()))
                        .and_then(readback)
                        .map(|(o, w)| {
                            let sent = encoded.size;
                            (o, Written { sent, ..w })
                        });
                    (written, Some(info))
                }
            },
            WriteSource::Track { track, expect } => match cx.library {
                Some(library) => match self.ahead.as_ref().and_then(|a| a.take(track)) {
                    // Read ahead: written from those bytes, then checked as a copy that read
                    // them itself (the planned hash; the file unchanged since it was opened).
                    Some(ready) => (
                        ready.and_then(|r| {
                            let given = r.metadata_to_give(name, metadata.as_ref());
                            let mut bytes = std::io::Cursor::new(r.bytes);
                            let created = insert(&mut bytes, size, given)?;
                            let what = library
                                .track(track)
                                .map_or("", |t| t.relative_path.as_str());
                            let sent = Some((bytes.get_ref().as_slice(), r.fingerprint));
                            let (created, w) =
                                check_planned(created, r.reader.hash(), expect, what, sent)?;
                            finish_copy(library, track, created, w, r.reader)
                        }),
                        None,
                    ),
                    None => (
                        write_track(library, track, expect, size, |reader, size| {
                            insert(reader, size, metadata.as_ref())
                        }),
                        None,
                    ),
                },
                None => (
                    Err(Error::Fail.context("a copy asked for without the library")),
                    None,
                ),
            },
        };
        match written {
            Ok((created, mut w)) => {
                w.object = self.handles.add(created);
                if w.sent == 0 {
                    w.sent = size;
                }
                DeviceResponse::Written(Ok(w), info)
            }
            Err(e) => DeviceResponse::Written(Err(e), info),
        }
    }
}

/// A read's answer, or its failure.
fn answer<T>(r: Result<T>, into: impl FnOnce(T) -> DeviceResponse) -> DeviceResponse {
    match r {
        Ok(v) => into(v),
        Err(e) => DeviceResponse::Failed(e),
    }
}

/// The play count and rating of the object at `path` (statistics flowing back).
fn read_stats<O: DeviceObject>(root: &O, path: &str) -> Result<StatsRead> {
    use crate::metadata::tags;
    let Some(obj) = resolve(root, path)? else {
        return Ok(StatsRead::Absent);
    };
    match obj.specified_metadata(&[tags::PLAY_COUNT, tags::USER_RATING]) {
        Ok(m) => Ok(StatsRead::Read {
            plays: m.get_u32(tags::PLAY_COUNT),
            rating: m.get_u32(tags::USER_RATING),
        }),
        Err(e) if e == Error::NotSupported => Ok(StatsRead::Unsupported),
        Err(e) => Err(e),
    }
}

/// What a file written holds, read back; on failure the file goes.
fn readback<O: DeviceObject>(created: O) -> Result<(O, Written)> {
    readback_sent(created, None)
}

/// [`readback`] of an object written from `sent`'s bytes whose fingerprint is known: it is
/// compared rather than computed again ([`fingerprint_as_sent`]).
fn readback_sent<O: DeviceObject>(
    created: O,
    sent: Option<(&[u8], [u8; 20])>,
) -> Result<(O, Written)> {
    let recorded = (|| -> Result<Written> {
        // A device that writes the metadata into the file (the fs provider tags it) may hold
        // more or fewer bytes than were sent; the record says what it holds.
        Ok(Written {
            object: 0,
            sent: 0,
            stored: created.size()?,
            unique_id: created.unique_id().unwrap_or_default(),
            fingerprint: match sent {
                Some((bytes, fingerprint)) => fingerprint_as_sent(&created, bytes, fingerprint)?,
                None => fingerprint_of(&created)?,
            },
            // Dated after the last write: the statistics baseline (the rename into place
            // keeps the date).
            dated: change_stamp(&created),
            hash: None,
        })
    })();
    match recorded {
        Ok(w) => Ok((created, w)),
        Err(e) => {
            remove_temp(&created);
            Err(e)
        }
    }
}

fn remove_temp<O: DeviceObject>(created: &O) {
    if let Err(d) = created.delete(false, &mut NoProgress) {
        tracing::warn!(error = %d, "could not remove a temporary file; the journal has it");
    }
}

/// A copy of a library file: hashed as it is read, checked against the planned hash, and
/// the hash confirmed by the library after the copy (the file did not change meanwhile).
fn write_track<O: DeviceObject>(
    library: &dyn Library,
    track: crate::library::TrackId,
    expect: Option<ContentHash>,
    size: u64,
    insert: impl FnOnce(&mut (dyn Read + Send), u64) -> Result<O>,
) -> Result<(O, Written)> {
    let t = library.track(track).ok_or(Error::FileNotFound)?;
    let mut hashing = library.open_hashing(track).inspect_err(|e| {
        if *e == Error::ProcessFailed {
            tracing::warn!(track = %t.relative_path, "the library file changed since the scan; the next sync copies it");
        }
    })?;
    let created = insert(&mut hashing, size)?;
    let (created, w) = check_planned(created, hashing.hash(), expect, &t.relative_path, None)?;
    finish_copy(library, track, created, w, hashing)
}

/// A file just written from a library file whose bytes hashed to `got`: checked against the
/// planned hash, and what the device stored read back. On failure the file goes.
fn check_planned<O: DeviceObject>(
    created: O,
    got: ContentHash,
    expect: Option<ContentHash>,
    what: &str,
    sent: Option<(&[u8], [u8; 20])>,
) -> Result<(O, Written)> {
    if expect.is_some_and(|want| got != want) {
        // The library file changed after planning; the next sync plans it again.
        tracing::warn!(track = %what, "the library file's bytes are not those planned; the next sync copies it");
        remove_temp(&created);
        return Err(Error::ProcessFailed);
    }
    readback_sent(created, sent)
}

/// The end of a copy: the library confirms the hash (the file did not change while it was
/// read) and may remember it; otherwise the file goes.
fn finish_copy<O: DeviceObject>(
    library: &dyn Library,
    track: crate::library::TrackId,
    created: O,
    mut w: Written,
    hashing: HashingReader<'_>,
) -> Result<(O, Written)> {
    match library.finish_hashing(track, hashing) {
        Ok(got) => {
            w.hash = Some(got);
            Ok((created, w))
        }
        Err(e) => {
            // Changed while it was copied: its bytes are no one version of the file. The
            // temporary file goes; the next sync copies it again.
            remove_temp(&created);
            if e == Error::ProcessFailed {
                let what = library
                    .track(track)
                    .map_or("", |t| t.relative_path.as_str());
                tracing::warn!(track = %what, "the library file changed while it was copied; the next sync copies it");
            }
            Err(e)
        }
    }
}

impl<O: DeviceObject + Sync, D: Barrier> DeviceIo for Executor<O, D> {
    fn execute(&mut self, request: DeviceRequest, cx: &IoContext<'_>) -> DeviceResponse {
        // No read of a listing ahead runs beside a write; a write that may change what is
        // listed throws it away (the three tidying requests only when they change something).
        match &request {
            r if r.reads_only() => {}
            DeviceRequest::CleanStateTwins
            | DeviceRequest::RemoveStaleTwin { .. }
            | DeviceRequest::SettleState { .. } => self.listing.before_write(),
            _ => self.listing.changed(),
        }
        let done = |r: Result<()>| match r {
            Ok(()) => DeviceResponse::Done,
            Err(e) => DeviceResponse::Failed(e),
        };
        match request {
            DeviceRequest::Lookup { path, fingerprint } => match self.lookup(&path, fingerprint) {
                Ok(o) => DeviceResponse::Object(o),
                Err(e) => DeviceResponse::Failed(e),
            },
            DeviceRequest::Delete { object } => done(
                self.handles
                    .take(object)
                    .and_then(|o| o.delete(false, &mut NoProgress)),
            ),
            DeviceRequest::SetMetadata { object, metadata } => done(
                self.handles
                    .get(object)
                    .and_then(|o| o.set_metadata(&metadata).map(drop)),
            ),
            DeviceRequest::Write {
                dir,
                name,
                fresh,
                source,
                size,
                metadata,
            } => self.write(&dir, &name, fresh, source, size, metadata, cx),
            DeviceRequest::Rename {
                object,
                name,
                free_in,
            } => {
                if let Some(dir) = free_in {
                    match self.name_is_free(object, &dir, &name) {
                        Ok(true) => {}
                        Ok(false) => return DeviceResponse::Failed(Error::AlreadyExists),
                        Err(e) => return DeviceResponse::Failed(e),
                    }
                }
                let renamed = self.handles.get(object).and_then(|o| {
                    o.rename(&name, &mut NoProgress)?;
                    Ok(o.unique_id().unwrap_or_default())
                });
                match renamed {
                    Ok(unique_id) => {
                        let _ = self.handles.take(object);
                        DeviceResponse::Renamed { unique_id }
                    }
                    Err(e) => {
                        self.renames.note(&e);
                        DeviceResponse::Failed(e)
                    }
                }
            }
            DeviceRequest::WriteState {
                name,
                bytes,
                in_place,
            } => {
                if in_place && !self.renames.refused() {
                    self.renames.note(&Error::NotSupported);
                }
                done(write_state_with(&self.root, &name, &bytes, &self.renames))
            }
            DeviceRequest::DeleteState { name } => done(delete_state(&self.root, &name)),
            DeviceRequest::Flush => done(self.device.as_ref().map_or(Ok(()), Barrier::flush)),
            DeviceRequest::ReadState { name } => {
                answer(read_state_from(&self.root, &name), DeviceResponse::State)
            }
            DeviceRequest::ReadStates { prefix } => answer(
                read_states_with_prefix(&self.root, &prefix),
                DeviceResponse::States,
            ),
            DeviceRequest::StateDate { name } => {
                answer(state_date(&self.root, &name), DeviceResponse::Date)
            }
            DeviceRequest::List => match self.listing.take() {
                Some(c) => DeviceResponse::Contents(Box::new(c)),
                None => answer(list_contents(&self.root), |c| {
                    DeviceResponse::Contents(Box::new(c))
                }),
            },
            DeviceRequest::ReadStats { path } => {
                answer(read_stats(&self.root, &path), DeviceResponse::Stats)
            }
            DeviceRequest::CleanStateTwins => {
                let changed = clean_state_twins(&self.root);
                self.tidy_state(changed)
            }
            DeviceRequest::RemoveStaleTwin { name } => {
                let changed = remove_stale_twin(&self.root, &name);
                self.tidy_state(changed)
            }
            DeviceRequest::SettleState { name } => {
                let changed = settle_state(&self.root, &name, &self.renames);
                self.tidy_state(changed)
            }
            DeviceRequest::FindAdoptable {
                library_id,
                collisions,
                mut hashes,
                device,
            } => match cx.library {
                Some(library) => answer(
                    find_adoptable(
                        &self.root,
                        &library_id,
                        library,
                        &collisions,
                        &mut hashes,
                        &device,
                    ),
                    |found| DeviceResponse::Adoptable(found, hashes),
                ),
                None => DeviceResponse::Failed(
                    Error::Fail.context("an adoption check asked for without the library"),
                ),
            },
        }
    }

    fn renames_refused(&self) -> bool {
        self.renames.refused()
    }
}

#[cfg(test)]
#[path = "io_tests.rs"]
mod tests;
