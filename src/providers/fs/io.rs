//! Object data: reads straight from the file, writes through a temporary file that is renamed
//! into place on close. A new file whose name is the caller's own temporary name is written in
//! place instead ([`WriteSession::start_in_place`]), and the first read after a write may be
//! served from the bytes written ([`Kept`]).

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::flags::SeekOrigin;
use crate::provider::{ObjectIo, Progress};

use super::names::is_temp;
use super::quirks::FsQuirks;
use super::shared::{Shared, Snap};
use super::storage::FsStorage;
use super::tagging;

/// Bytes per `copy_file_range` call: big enough to keep the kernel busy, small enough for
/// progress and cancel to stay responsive.
const KERNEL_CHUNK: usize = 16 << 20;

/// The copy buffer where the kernel cannot copy: each read's bytes are still in the
/// processor's cache when the write copies them on (a 1 MiB buffer is not, and the write
/// then costs several times more), and a reader that hashes what it yields (the sync's
/// copies) hands the hashing thread pieces of this size.
const BUFFER: usize = 256 << 10;

thread_local! {
    /// The copy buffer of this thread's write sessions (see [`WriteSession::fill_from_reader`]).
    static COPY_BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// How much written data a durable session lets pile up before asking the kernel to start
/// writing it out. The sync at close then waits only for the last few MiB instead of the whole
/// file, and the disk works while the caller is still producing data rather than idling until
/// the close drains everything at once.
const WRITEBACK_STEP: u64 = 4 << 20;

/// The least data a durable session hands to writeback when it closes (see
/// [`WriteSession::sync`]): smaller files are left to the barrier, which writes many of them
/// in one go for the price of one request each way.
const TAIL_WRITEBACK: u64 = 256 << 10;

/// The new position for a seek, or [`Error::InvalidArg`] outside `0..=len`.
fn seek_target(origin: SeekOrigin, offset: u64, pos: u64, len: u64) -> Result<u64> {
    let target = match origin {
        SeekOrigin::BOF => Some(offset),
        SeekOrigin::CUR => pos.checked_add(offset),
        SeekOrigin::EOF => len.checked_sub(offset),
        _ => None,
    };
    match target {
        Some(t) if t <= len => Ok(t),
        _ => Err(Error::InvalidArg),
    }
}

/// Removes temporary files left in `dir` by interrupted writes of this device's recorded
/// sessions (see the `temps` module), except those of writes still in progress. Each folder is
/// cleaned once per session of the device.
pub(crate) fn clean_folder(shared: &Shared, folder: u64, dir: &Path) {
    let mut inner = shared.lock();
    if !inner.cleaned.insert(folder) {
        return;
    }
    if !shared.writable_state {
        return;
    }
    let Ok(rd) = fs::read_dir(dir) else { return };
    let found: Vec<PathBuf> = rd
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(is_temp))
        .map(|e| e.path())
        .collect();
    for path in shared.temps.stale(&found, &inner.active_temps) {
        let _ = fs::remove_file(&path);
    }
}

/// Creates the new file `path` in the device folder `dir` for a write session: by the
/// kernel, refusing a symbolic link anywhere below the root ([`crate::sys::beneath`]), where
/// it can; else the ordinary way, after a look at `dir` when the caller did not look at it
/// (`unlooked`).
///
/// # Errors
/// [`Error::AccessDenied`] for a link on the way; the I/O error of the create
/// ([`Error::AlreadyExists`] for a name taken).
fn create_new(shared: &Shared, dir: &Path, path: &Path, unlooked: bool) -> Result<File> {
    let beneath = path
        .strip_prefix(&shared.root)
        .ok()
        .and_then(|rel| shared.beneath.create_new(rel));
    match beneath {
        Some(Ok(f)) => return Ok(f),
        // ELOOP (a link on the way) or EXDEV (out of the root): what a path check says.
        Some(Err(e)) if crate::sys::beneath::is_link_refusal(&e) => {
            return Err(Error::AccessDenied);
        }
        Some(Err(e)) => return Err(e.into()),
        None => {}
    }
    if unlooked && !fs::symlink_metadata(dir)?.is_dir() {
        return Err(Error::AccessDenied);
    }
    Ok(OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)?)
}

/// Marks an object as open for as long as it lives: a folder holding an open object cannot be
/// renamed or moved (see `FsStorage::check_nothing_open_within`).
#[derive(Debug)]
pub(crate) struct OpenMark {
    shared: Arc<Shared>,
    id: u64,
}

impl OpenMark {
    pub(crate) fn new(shared: Arc<Shared>, id: u64) -> OpenMark {
        *shared.lock().open.entry(id).or_insert(0) += 1;
        OpenMark { shared, id }
    }
}

impl Drop for OpenMark {
    fn drop(&mut self) {
        let mut inner = self.shared.lock();
        if let Some(n) = inner.open.get_mut(&self.id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                inner.open.remove(&self.id);
            }
        }
    }
}

/// The whole content of the file a write session published last, kept for the read that
/// usually follows at once (the sync reads back every file it writes to fingerprint it).
///
/// It holds only while it is provably the file's content: the session wrote every byte, in
/// order, from the start, and published them unchanged (no tags written into the file after
/// it), and nothing has changed on the device since. Every change the provider makes to a
/// device (a publish, a tag write, a rename, a delete...) moves the device's generation on
/// (`Shared::bump`), so a kept content whose generation is not the current one is never
/// served. Only the first read session of the object takes it, and only files the session
/// kept whole (up to [`CAPTURE_LIMIT`]) are kept.
#[derive(Debug)]
pub(crate) struct Kept {
    id: u64,
    generation: u64,
    bytes: Vec<u8>,
}

/// A read session on a file.
#[derive(Debug)]
pub(crate) struct ReadSession {
    file: Option<File>,
    /// The content, when the session reads it from memory ([`Kept`]) rather than the file.
    memory: Option<Vec<u8>>,
    pos: u64,
    len: u64,
    _mark: OpenMark,
}

impl ReadSession {
    pub(crate) fn open(storage: &FsStorage) -> Result<ReadSession> {
        let mark = OpenMark::new(storage.shared().clone(), storage.id());
        if let Some(bytes) = take_kept(storage)? {
            return Ok(ReadSession {
                file: None,
                len: bytes.len() as u64,
                memory: Some(bytes),
                pos: 0,
                _mark: mark,
            });
        }
        let file = File::open(storage.path()?)?;
        let len = file.metadata()?.len();
        Ok(ReadSession {
            file: Some(file),
            memory: None,
            pos: 0,
            len,
            _mark: mark,
        })
    }

    /// A session on a created file that has no data yet.
    pub(crate) fn empty(storage: &FsStorage) -> ReadSession {
        ReadSession {
            file: None,
            memory: None,
            pos: 0,
            len: 0,
            _mark: OpenMark::new(storage.shared().clone(), storage.id()),
        }
    }
}

/// Keeps `written`, the whole content just published as object `id` while the device's
/// generation was `generation`, for the object's first read ([`Kept`]); nothing when the
/// device changed since (tags written into the file, for one). It replaces what was kept.
pub(crate) fn keep(shared: &Shared, id: u64, generation: u64, written: Option<Vec<u8>>) {
    let kept = written
        .filter(|_| shared.generation() == generation)
        .map(|bytes| Kept {
            id,
            generation,
            bytes,
        });
    shared.lock().kept = kept;
}

/// The kept content of `storage` ([`Kept`]), taken, when it is still the file's: kept for
/// this object, nothing changed on the device since, and the size the object has now.
fn take_kept(storage: &FsStorage) -> Result<Option<Vec<u8>>> {
    let shared = storage.shared();
    let kept = {
        let mut inner = shared.lock();
        match &inner.kept {
            Some(k) if k.id == storage.id() => inner.kept.take(),
            _ => None,
        }
    };
    let Some(kept) = kept else { return Ok(None) };
    if kept.generation != shared.generation() {
        return Ok(None);
    }
    let snap = storage.snap()?;
    Ok((!snap.is_dir && snap.size == kept.bytes.len() as u64).then_some(kept.bytes))
}

impl ObjectIo for ReadSession {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        if let Some(m) = &self.memory {
            let start = usize::try_from(self.pos).unwrap_or(usize::MAX).min(m.len());
            let rest = m.get(start..).unwrap_or_default();
            let n = rest.len().min(buf.len());
            buf.get_mut(..n)
                .ok_or(Error::Fail)?
                .copy_from_slice(rest.get(..n).ok_or(Error::Fail)?);
            self.pos += n as u64;
            return Ok(n);
        }
        let Some(f) = self.file.as_mut() else {
            return Ok(0);
        };
        let n = f.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }

    fn write(&mut self, _data: &[u8]) -> Result<usize> {
        Err(Error::AccessDenied)
    }

    fn seek(&mut self, origin: SeekOrigin, offset: u64) -> Result<u64> {
        let t = seek_target(origin, offset, self.pos, self.len)?;
        // The file's own position is `pos` (reads move both): a seek there is no call.
        if t != self.pos
            && let Some(f) = self.file.as_mut()
        {
            f.seek(SeekFrom::Start(t))?;
        }
        self.pos = t;
        Ok(t)
    }

    fn close(self: Box<Self>) -> Result<()> {
        Ok(())
    }
}

/// A write session: data goes to a temporary file beside the object.
#[derive(Debug)]
pub(crate) struct WriteSession {
    shared: Arc<Shared>,
    id: u64,
    file: Option<File>,
    tmp: PathBuf,
    pos: u64,
    len: u64,
    old_size: u64,
    readable: bool,
    failed: Option<Error>,
    done: bool,
    /// The session holds the reservation of the file it is writing for the first time.
    holds: bool,
    /// The data goes straight to the object's own (new, reserved) name, created exclusively:
    /// `tmp` is that name and publishing renames nothing (see [`WriteSession::start_in_place`]).
    in_place: bool,
    /// The object lies in a hidden state folder at the root, which the quota does not limit
    /// (see `Shared::is_unmetered`).
    unmetered: bool,
    /// Data before this offset has been handed to the kernel's writeback (durable sessions).
    kicked: u64,
    /// Every byte written so far, while the session writes a small file from its start in
    /// order: the metadata given at creation is then compared with the tags of these bytes
    /// instead of reading the file back (see [`WriteSession::publish`]). `None` once the file
    /// outgrows [`CAPTURE_LIMIT`] or is written any other way.
    captured: Option<Vec<u8>>,
    /// The caller wants the file's snapshot ([`WriteSession::finish_known`]).
    want_known: bool,
    /// The file's snapshot, taken through its descriptor before it was closed, and the
    /// device's generation once the session published it.
    known: Option<Snap>,
    published: Option<u64>,
    _mark: OpenMark,
}

/// The largest file whose bytes a write session keeps for its tags (the size up to which the
/// tag reader reads a file whole anyway).
const CAPTURE_LIMIT: usize = 1 << 20;

impl WriteSession {
    /// Starts writing `storage`. With `keep`, the session starts from a copy of the current
    /// data (read-write mode); otherwise it starts empty and replaces the data on close.
    pub(crate) fn start(storage: &FsStorage, keep: bool) -> Result<WriteSession> {
        Self::begin(storage, keep, false, false)
    }

    /// Starts writing the new file `storage` (created, never written) under its own name,
    /// with no temporary file: for a name that is itself the caller's temporary name
    /// ([`TransferOptions::temporary`](crate::provider::TransferOptions::temporary)), whose
    /// rename into place and clean-up after a crash are the caller's. The file is created
    /// exclusively (a file already there, whoever made it, fails the write with
    /// [`Error::AlreadyExists`] and is left alone) and exists from the start of the write;
    /// a session dropped before it is published removes it. An object that is not a new
    /// file is written the usual way, through a temporary file.
    ///
    /// `unlooked` says the caller did not look at the folder itself, counting on the kernel
    /// to refuse a link on the file's path ([`crate::sys::beneath`]): where the kernel turns
    /// out not to, the folder is looked at here.
    pub(crate) fn start_in_place(storage: &FsStorage, unlooked: bool) -> Result<WriteSession> {
        Self::begin(storage, false, true, unlooked)
    }

    fn begin(
        storage: &FsStorage,
        keep: bool,
        in_place: bool,
        unlooked: bool,
    ) -> Result<WriteSession> {
        storage.shared().check_write()?;
        let shared = storage.shared().clone();
        let id = storage.id();
        let parent = storage.parent_id()?.ok_or(Error::InvalidType)?;
        let (dir, target, pending) = {
            let inner = shared.lock();
            let pending = inner.pending.contains(&id);
            let dir = shared.safe_path(&inner, parent)?;
            // A reserved name has no file yet: nothing there to check (the data goes to a
            // temporary file, and the rename that publishes it does not follow links).
            let target = match inner.ids.entry(id) {
                Some((_, name)) if pending => dir.join(name),
                _ => shared.safe_path(&inner, id)?,
            };
            (dir, target, pending)
        };
        clean_folder(&shared, parent, &dir);
        let old_size = if pending {
            0
        } else {
            fs::symlink_metadata(&target).map_or(0, |m| m.len())
        };
        let unmetered = shared.is_unmetered(&target);
        if keep && !unmetered {
            shared.check_quota(old_size)?;
        }
        let in_place = in_place && pending && !keep;
        let tmp = if in_place {
            target.clone()
        } else {
            shared.temp_path(&dir)?
        };
        let mark = OpenMark::new(shared.clone(), id);
        let holds = {
            let mut inner = shared.lock();
            if !in_place {
                inner.active_temps.insert(tmp.clone());
            }
            Shared::hold(&mut inner, id)
        };
        let mut session = WriteSession {
            shared,
            id,
            file: None,
            tmp,
            pos: 0,
            len: 0,
            old_size,
            readable: keep,
            failed: None,
            done: false,
            holds,
            in_place,
            unmetered,
            kicked: 0,
            // Only a new file's metadata waits for its data (`pending_meta`).
            captured: (pending && !keep).then(Vec::new),
            want_known: false,
            known: None,
            published: None,
            _mark: mark,
        };
        let mut file = match create_new(&session.shared, &dir, &session.tmp, unlooked) {
            Ok(f) => f,
            Err(e) => {
                // Whatever holds the name is not this session's file: dropping the session
                // must not remove it.
                session.done = true;
                return Err(e);
            }
        };
        if keep && !pending {
            // The current data is copied by the handle that created the file: some file
            // systems (fusefat) refuse to grow a file through any other handle (see `quirks`).
            let copied = std::io::copy(&mut File::open(&target)?, &mut file)?;
            file.seek(SeekFrom::Start(0))?;
            session.len = copied;
            session.shared.lock().inflight += copied;
        }
        session.file = Some(file);
        Ok(session)
    }

    /// Accounts for the data growing to `end` bytes, within the quota.
    fn grow_to(&mut self, end: u64) -> Result<()> {
        let growth = end.saturating_sub(self.len);
        if growth > 0 {
            if let Some(quota) = self.shared.options.quota.filter(|_| !self.unmetered) {
                let used = self.shared.used_bytes()?;
                let mut inner = self.shared.lock();
                let after = used
                    .saturating_add(inner.inflight)
                    .saturating_add(growth)
                    .saturating_sub(self.old_size);
                if after > quota {
                    return Err(Error::DiskFull);
                }
                inner.inflight += growth;
            } else {
                self.shared.lock().inflight += growth;
            }
            self.len = end;
        }
        Ok(())
    }

    /// Writes through the session, keeping the quota and the in-flight count.
    fn write_inner(&mut self, data: &[u8]) -> Result<usize> {
        let end = self.pos.saturating_add(data.len() as u64);
        self.grow_to(end)?;
        let f = self.file.as_mut().ok_or(Error::InterfaceDead)?;
        f.write_all(data)?;
        if let Some(c) = self.captured.as_mut() {
            if c.len() as u64 == self.pos && c.len() + data.len() <= CAPTURE_LIMIT {
                c.extend_from_slice(data);
            } else {
                self.captured = None;
            }
        }
        self.pos = end;
        self.start_writeback();
        Ok(data.len())
    }

    /// Starts writing the data written so far to the medium, without waiting for it, once at
    /// least `WRITEBACK_STEP` bytes are waiting. Only
    /// durable sessions do it: the others leave writeback to the kernel's own pace.
    ///
    /// `posix_fadvise(DONTNEED)` is the portable request that does this on Linux: it starts
    /// asynchronous writeback of the dirty pages in the range (and drops the pages already
    /// clean, which a write session never reads again). It is only advice: a failure changes
    /// nothing about correctness, since the sync at close still writes everything.
    fn start_writeback(&mut self) {
        self.start_writeback_from(WRITEBACK_STEP);
    }

    /// [`WriteSession::start_writeback`] once at least `step` bytes are waiting.
    fn start_writeback_from(&mut self, step: u64) {
        let upto = self.pos.max(self.kicked);
        let waiting = upto - self.kicked;
        if !self.shared.io.barrier.early_writeback() || waiting < step.max(1) {
            return;
        }
        if let Some(f) = self.file.as_ref() {
            crate::sys::copy::start_writeback(f, self.kicked, waiting);
        }
        self.kicked = upto;
    }

    /// Fills the (empty) session from a host file, in the kernel where the OS allows
    /// (`copy_file_range` on Linux), reporting progress in bytes.
    pub(crate) fn fill_from_file(
        &mut self,
        src: &mut File,
        size: u64,
        progress: &mut dyn Progress,
    ) -> Result<()> {
        self.grow_to(size)?;
        if crate::sys::copy::KERNEL_COPY && !self.shared.io.has(FsQuirks::NO_KERNEL_COPY) {
            // The kernel copies: the bytes never pass through this session.
            self.captured = None;
            let mut done = 0u64;
            let dst = self
                .file
                .as_ref()
                .ok_or(Error::InterfaceDead)?
                .try_clone()?;
            // A durable copy goes in steps, each handed to writeback as soon as it is copied,
            // so the disk writes one step while the kernel copies the next.
            let chunk = if self.shared.io.barrier.early_writeback() {
                WRITEBACK_STEP as usize
            } else {
                KERNEL_CHUNK
            };
            loop {
                match crate::sys::copy::copy_range(src, &dst, chunk) {
                    Ok(0) => break,
                    Ok(n) => {
                        done += n as u64;
                        self.grow_to(done)?;
                        self.pos = done;
                        self.start_writeback();
                        progress.progress(done)?;
                    }
                    // Not every pair of file systems supports it (FUSE mounts do not); a
                    // refusal is remembered so that later files go straight to the buffer.
                    Err(e) if done == 0 => {
                        let _ = self.shared.io.refused(FsQuirks::NO_KERNEL_COPY, &e);
                        return self.fill_from_reader(src, None, progress);
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            if done < self.len {
                // The source shrank since it was measured: account for what was copied.
                let extra = self.len - done;
                let mut inner = self.shared.lock();
                inner.inflight = inner.inflight.saturating_sub(extra);
                self.len = done;
            }
            self.pos = done;
            return Ok(());
        }
        self.fill_from_reader(src, None, progress)
    }

    /// Fills the session from a reader; with `exact`, the reader must yield that many bytes.
    pub(crate) fn fill_from_reader(
        &mut self,
        src: &mut dyn Read,
        exact: Option<u64>,
        progress: &mut dyn Progress,
    ) -> Result<()> {
        // A small file of known size that the session keeps whole: read straight into the
        // kept copy and written from there (the bytes are copied once, not into a buffer and
        // then again into the copy).
        if let Some(total) = exact.and_then(|t| usize::try_from(t).ok())
            && (1..=CAPTURE_LIMIT).contains(&total)
            && self.pos == 0
            && self.captured.as_ref().is_some_and(Vec::is_empty)
        {
            let whole = crate::sys::files::read_exactly(src, total, Error::EndOfFile)?;
            // Not captured a second time by the write.
            self.captured = None;
            self.write_inner(&whole)?;
            self.captured = Some(whole);
            progress.progress(self.pos)?;
            return Ok(());
        }
        // One buffer per thread, kept between files: a fresh megabyte per file costs the
        // allocator a trip to the kernel and a page fault per page, every file.
        COPY_BUFFER.with(|cell| {
            let mut buf = cell.take();
            buf.resize(BUFFER, 0);
            let result = self.fill_with(src, exact, progress, &mut buf);
            cell.replace(buf);
            result
        })
    }

    fn fill_with(
        &mut self,
        src: &mut dyn Read,
        exact: Option<u64>,
        progress: &mut dyn Progress,
        buf: &mut [u8],
    ) -> Result<()> {
        let mut done = self.pos;
        loop {
            let want = match exact {
                Some(total) => usize::try_from(total - done).unwrap_or(BUFFER).min(BUFFER),
                None => BUFFER,
            };
            if want == 0 {
                break;
            }
            let slot = buf.get_mut(..want).ok_or(Error::InvalidArg)?;
            let n = src.read(slot)?;
            if n == 0 {
                if exact.is_some() {
                    return Err(Error::EndOfFile);
                }
                break;
            }
            self.write_inner(slot.get(..n).ok_or(Error::InvalidArg)?)?;
            done += n as u64;
            progress.progress(done)?;
        }
        Ok(())
    }

    /// Ends the session and publishes the data, as [`ObjectIo::close`] does; for a file
    /// written in place ([`WriteSession::start_in_place`]), returns what the file's descriptor
    /// said about it before it was closed ([`Snap`]) and the device's generation right after
    /// the session published it: the object's snapshot, as an `lstat` then would have taken
    /// it, without one.
    ///
    /// # Errors
    /// As [`ObjectIo::close`].
    pub(crate) fn finish_known(mut self) -> Result<Option<(Snap, u64)>> {
        self.want_known = true;
        self.close_session()?;
        Ok(self.known.zip(self.published))
    }

    /// The bytes written so far.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// The whole content written, if the session kept it (a small file written from its
    /// start in order); the session keeps it no longer.
    pub(crate) fn take_written(&mut self) -> Option<Vec<u8>> {
        self.captured.take().filter(|c| c.len() as u64 == self.len)
    }

    /// The first half of a batched close: flushes the data, syncs it to the medium on a durable
    /// device, and closes the temporary file. The object does not appear yet.
    ///
    /// # Errors
    /// The error a failed write left; [`Error::DeviceNotConnected`]; I/O errors of the sync.
    pub(crate) fn sync(&mut self) -> Result<()> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        self.shared.check()?;
        self.sync_file()
    }

    /// The second half of a batched close: the synced file takes its name. Its folder is not
    /// synced: the batch syncs each folder once, after the last rename in it. Returns that
    /// folder. Dropping the session instead discards the data.
    ///
    /// # Errors
    /// As [`WriteSession::sync`]; [`Error::InterfaceDead`] when the object was deleted
    /// meanwhile; I/O errors of the rename.
    pub(crate) fn publish_in_batch(mut self) -> Result<PathBuf> {
        self.sync()?;
        self.publish(false)
    }

    fn sync_file(&mut self) -> Result<()> {
        // The data not yet handed to writeback goes now, so that the disk writes it while the
        // caller produces the next file, rather than all at the barrier: a file below the step
        // would otherwise wait for the barrier whole (every track of a few MiB).
        self.start_writeback_from(TAIL_WRITEBACK);
        if let Some(mut f) = self.file.take() {
            f.flush()?;
            // Without per-operation durability the data waits for the barrier, which learns
            // of the file when it takes its name (`publish`).
            if self.shared.io.barrier.per_operation() {
                f.sync_data()?;
            }
            // Only a file written in place is still this inode when published: elsewhere
            // the publish may copy it (where renames are refused).
            if self.want_known && self.in_place {
                self.known = f.metadata().ok().map(|m| Snap::of(&m));
            }
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        self.sync_file()?;
        self.publish(true).map(|_| ())
    }

    /// Renames the synced temporary file into place; returns the object's folder, synced when
    /// `sync_folder` asks for it on a durable device.
    fn publish(&mut self, sync_folder: bool) -> Result<PathBuf> {
        let mut inner = self.shared.lock();
        if !inner.ids.contains(self.id) {
            return Err(Error::InterfaceDead);
        }
        let (target, replaced) = match self.in_place_target(&inner)? {
            // Written under its own name: nothing to rename, nothing replaced (the file was
            // created exclusively, so no link and no older file can be there).
            Some(target) => (target, 0),
            None => {
                let (target, seen) = self.shared.safe_path_lstat(&inner, self.id)?;
                let replaced = match seen {
                    Some(md) => md.map_or(0, |m| m.len()),
                    None => fs::symlink_metadata(&target).map_or(0, |m| m.len()),
                };
                self.shared.io.publish(&self.tmp, &target)?;
                (target, replaced)
            }
        };
        self.done = true;
        inner.active_temps.remove(&self.tmp);
        inner.inflight = inner.inflight.saturating_sub(self.len);
        if !self.unmetered {
            Shared::adjust_used(&mut inner, self.len, replaced);
        }
        inner.pending.remove(&self.id);
        let meta = inner.pending_meta.remove(&self.id);
        // The ID record is written with the next change that saves the map (or by flush, or
        // when the device is dropped): losing it in a crash only means the file gets a new ID
        // when next listed, while writing it here would cost an open and a write per file.
        drop(inner);
        let dir = target.parent().map(Path::to_path_buf).unwrap_or_default();
        if sync_folder {
            self.shared.io.barrier.published(&target);
        } else if !self.shared.io.barrier.per_operation() {
            self.shared.io.barrier.wrote(&target);
        }
        // Only files that handed none of their data to writeback themselves (too small:
        // `sync_file`) count towards a background sync; a large file's own writeback is
        // already under way, and a sync after each would only add flushes of the disk.
        if self.kicked == 0 {
            self.shared.io.barrier.ahead(&self.shared.root, self.len);
        }
        self.shared.bump_published(self.id, self.known);
        let written = self.take_written();
        // Taken after this publish's own change: a later one means the file may hold other
        // bytes than those written (tags written into it).
        let generation = self.shared.generation();
        self.published = Some(generation);
        if let Some(m) = meta {
            let handle = FsStorage::new(self.shared.clone(), self.id, None);
            if let Err(e) = tagging::set_metadata(&handle, &m, written.as_deref(), true) {
                tracing::warn!(?e, "metadata given at creation could not be applied");
            }
        }
        keep(&self.shared, self.id, generation, written);
        Ok(dir)
    }

    /// The object's path when this session wrote it in place and it still has that name
    /// (a reserved name renamed while its data was written is published the usual way:
    /// renamed to where the object now is).
    fn in_place_target(&self, inner: &super::shared::Inner) -> Result<Option<PathBuf>> {
        if !self.in_place {
            return Ok(None);
        }
        let path = self.shared.raw_path(inner, self.id)?;
        Ok((path == self.tmp).then_some(path))
    }

    fn discard(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        self.file = None;
        let _ = fs::remove_file(&self.tmp);
        let mut inner = self.shared.lock();
        inner.active_temps.remove(&self.tmp);
        inner.inflight = inner.inflight.saturating_sub(self.len);
    }
}

impl ObjectIo for WriteSession {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        if !self.readable {
            return Err(Error::AccessDenied);
        }
        let f = self.file.as_mut().ok_or(Error::InterfaceDead)?;
        let n = f.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }

    fn write(&mut self, data: &[u8]) -> Result<usize> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        self.shared.check()?;
        match self.write_inner(data) {
            Ok(n) => Ok(n),
            Err(e) => {
                // A failed write makes the session unusable: the data is incomplete, so close
                // must not publish it.
                self.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    fn seek(&mut self, origin: SeekOrigin, offset: u64) -> Result<u64> {
        let t = seek_target(origin, offset, self.pos, self.len)?;
        if t != self.pos {
            self.captured = None;
            if let Some(f) = self.file.as_mut() {
                f.seek(SeekFrom::Start(t))?;
            }
        }
        self.pos = t;
        Ok(t)
    }

    fn close(mut self: Box<Self>) -> Result<()> {
        self.close_session()
    }
}

impl WriteSession {
    /// [`ObjectIo::close`]: publishes the data, or discards it after a failed write.
    fn close_session(&mut self) -> Result<()> {
        if let Some(e) = self.failed.clone() {
            self.discard();
            return Err(e);
        }
        if let Err(e) = self.shared.check() {
            self.discard();
            return Err(e);
        }
        let result = self.commit();
        if result.is_err() {
            self.discard();
        }
        result
    }
}

impl Drop for WriteSession {
    fn drop(&mut self) {
        self.discard();
        if self.holds {
            self.shared.release(self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seek_bounds() {
        assert_eq!(seek_target(SeekOrigin::BOF, 5, 0, 10), Ok(5));
        assert_eq!(seek_target(SeekOrigin::CUR, 3, 5, 10), Ok(8));
        assert_eq!(seek_target(SeekOrigin::EOF, 0, 5, 10), Ok(10));
        assert_eq!(
            seek_target(SeekOrigin::EOF, 11, 5, 10),
            Err(Error::InvalidArg)
        );
        assert_eq!(
            seek_target(SeekOrigin::BOF, 11, 5, 10),
            Err(Error::InvalidArg)
        );
        assert_eq!(
            seek_target(SeekOrigin::CUR, u64::MAX, 5, 10),
            Err(Error::InvalidArg)
        );
        assert_eq!(seek_target(SeekOrigin(9), 0, 0, 0), Err(Error::InvalidArg));
        assert!(is_temp(&crate::sys::files::temp_name()));
    }
}
