//! Open MTP objects: reads in windows (GetPartialObject64, or one GetObject where the device
//! has no partial reads), and whole-object writes.
//!
//! MTP has no partial write and no in-place overwrite: an object is created with its size
//! (SendObjectInfo) and then all of its data (SendObject). So a write session keeps the new
//! content on the host and sends it whole at `close`. A new file appears on the device then; a
//! rewrite of an existing object sends the new object under a temporary name, deletes the old
//! one and renames the new one into place where the device can rename (otherwise it deletes the
//! old object first, and a crash in between loses it: the device offers nothing better).

use std::io;

use bytes::Bytes;
use mtp_rs::{NewObjectInfo, ObjectFormat, ObjectHandle, UploadError};

use super::object::{MtpObject, Slot, Snap};
use crate::error::{Error, Result};
use crate::flags::{OpenMode, SeekOrigin};
use crate::provider::ObjectIo;

/// How much one GetPartialObject64 asks for while reading on (large windows keep the round
/// trips of a whole-object read few).
const WINDOW: u64 = 1 << 20;
/// How much the first read of a session, or the first after a seek, asks for at least: what a
/// fingerprint or a tag reader wants (a few KiB at each end), without fetching a whole
/// [`WINDOW`] it will not read (on a resync, one per file the sync checks).
const FIRST: u64 = 16 << 10;
/// How much one SendObject chunk carries.
const CHUNK: usize = 1 << 20;
/// How much of each end of an object a handle keeps of what it sent ([`Sent`]): twice what the
/// sync reads back to fingerprint a file (its first and last 4 KiB).
const KEPT_EDGE: usize = 8 << 10;

/// The first and last [`KEPT_EDGE`] bytes of what a handle sent the device (all of it when
/// shorter), kept on the handle that wrote them so that reading them back right after the
/// write needs no round trip: MTP stores an object's data as SendObject carries it (the device
/// acknowledged these bytes), and the provider writes nothing into the file itself, unlike the
/// folder provider's tagging. Only the first read session of that handle uses them, within
/// [`LISTING_TTL`](super::conn::LISTING_TTL) of the write (the window in which the provider
/// already trusts its own view of a folder); every other read, and every handle from a
/// listing, reads the device.
#[derive(Clone)]
pub(super) struct Sent {
    at: std::time::Instant,
    size: u64,
    head: Bytes,
    tail: Bytes,
}

impl std::fmt::Debug for Sent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sent")
            .field("size", &self.size)
            .field("head", &self.head.len())
            .field("tail", &self.tail.len())
            .finish_non_exhaustive()
    }
}

impl Sent {
    /// The kept ends of `all`, the whole object just sent. Copies at most 2 x [`KEPT_EDGE`]
    /// bytes, so the handle does not hold the whole object's memory.
    pub(super) fn of(all: &Bytes) -> Sent {
        let (head, tail) = if all.len() <= 2 * KEPT_EDGE {
            (Bytes::copy_from_slice(all), Bytes::new())
        } else {
            (
                Bytes::copy_from_slice(&all[..KEPT_EDGE]),
                Bytes::copy_from_slice(&all[all.len() - KEPT_EDGE..]),
            )
        };
        Sent {
            at: std::time::Instant::now(),
            size: all.len() as u64,
            head,
            tail,
        }
    }

    /// Still usable for an object of `size` bytes (not stale, and the same object).
    pub(super) fn fresh_for(&self, size: u64) -> bool {
        self.size == size && self.at.elapsed() < super::conn::LISTING_TTL
    }

    /// Copies into `buf` the kept bytes at `pos`, if `pos` falls in a kept end; `None`
    /// otherwise (the device is asked).
    fn copy_at(&self, pos: u64, buf: &mut [u8]) -> Option<usize> {
        let tail_at = self.size - self.tail.len() as u64;
        let (part, start) = if pos < self.head.len() as u64 {
            (&self.head, pos)
        } else if !self.tail.is_empty() && pos >= tail_at && pos < self.size {
            (&self.tail, pos - tail_at)
        } else {
            return None;
        };
        let avail = part.get(usize::try_from(start).ok()?..)?;
        let n = avail.len().min(buf.len());
        buf.get_mut(..n)?.copy_from_slice(avail.get(..n)?);
        Some(n)
    }
}

/// The position a seek lands on in data of `len` bytes from position `pos`.
fn seek_target(len: u64, pos: u64, origin: SeekOrigin, offset: u64) -> Result<u64> {
    let target = match origin {
        SeekOrigin::BOF => Some(offset),
        SeekOrigin::CUR => pos.checked_add(offset),
        SeekOrigin::EOF => len.checked_sub(offset),
        _ => None,
    };
    target.filter(|&t| t <= len).ok_or(Error::InvalidArg)
}

/// A read session.
pub(super) struct Reader {
    obj: MtpObject,
    handle: Option<ObjectHandle>,
    size: u64,
    pos: u64,
    /// The bytes fetched last, starting at `window_at`.
    window: Vec<u8>,
    window_at: u64,
    /// The ends this handle just sent, if it wrote the object ([`Sent`]).
    sent: Option<Sent>,
    live: bool,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MtpReader")
            .field("handle", &self.handle)
            .field("size", &self.size)
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

impl Reader {
    /// A read session; `sent`: the ends this handle wrote, when fresh ([`Sent`]).
    pub(super) fn new(obj: MtpObject, snap: &Snap, sent: Option<Sent>) -> Result<Reader> {
        let handle = match snap.slot {
            Slot::Live(h) => Some(h),
            // Created and not written yet: nothing on the device, nothing to read.
            Slot::Pending => None,
            Slot::Root => return Err(Error::InvalidType),
            Slot::Deleted => return Err(Error::InterfaceDead),
        };
        if let Some(h) = handle {
            obj.conn().opened(h);
        }
        Ok(Reader {
            obj,
            handle,
            size: snap.size,
            pos: 0,
            window: Vec::new(),
            window_at: 0,
            sent: sent.filter(|s| s.fresh_for(snap.size)),
            live: true,
        })
    }

    /// Fetches the bytes at `self.pos` into the window.
    fn fetch(&mut self, h: ObjectHandle, want: u64) -> Result<()> {
        let conn = self.obj.conn();
        let storage = conn.storage(self.obj.storage)?;
        let pos = self.pos;
        let bytes = if conn.caps.supports_partial_download {
            let len = u32::try_from(want.clamp(1, WINDOW)).unwrap_or(u32::MAX);
            conn.run("GetPartialObject64", true, || {
                storage.read_range(h, pos, len)
            })?
        } else {
            // A device without partial reads hands out whole objects only (GetObject).
            let all = conn.run("GetObject", true, || storage.download_to_vec(h))?;
            self.size = all.len() as u64;
            self.window_at = 0;
            self.window = all;
            return Ok(());
        };
        if bytes.is_empty() {
            // The device stalled mid-object (0 bytes while the object says there are more):
            // an error, never a silent end of file.
            tracing::warn!(device = %conn.serial, offset = pos, size = self.size, "MTP partial read returned no data");
            return Err(Error::ProcessFailed);
        }
        self.window_at = pos;
        self.window = bytes;
        Ok(())
    }
}

impl ObjectIo for Reader {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        self.obj.conn().check()?;
        let Some(h) = self.handle else {
            return Ok(0);
        };
        if self.pos >= self.size || buf.is_empty() {
            return Ok(0);
        }
        if let Some(n) = self.sent.as_ref().and_then(|s| s.copy_at(self.pos, buf)) {
            self.pos += n as u64;
            return Ok(n);
        }
        let in_window =
            self.pos >= self.window_at && self.pos < self.window_at + self.window.len() as u64;
        if !in_window {
            // Reading on from the last window: the whole window; otherwise what is asked.
            let reading_on =
                !self.window.is_empty() && self.pos == self.window_at + self.window.len() as u64;
            let ahead = if reading_on { WINDOW } else { FIRST };
            let want = (buf.len() as u64).max(ahead).min(self.size - self.pos);
            self.fetch(h, want)?;
        }
        let start = usize::try_from(self.pos - self.window_at).map_err(|_| Error::InvalidArg)?;
        let avail = self.window.get(start..).unwrap_or(&[]);
        // Never past the size the object reported (a device sending more is not believed).
        let left = usize::try_from(self.size - self.pos).unwrap_or(usize::MAX);
        let n = avail.len().min(buf.len()).min(left);
        buf[..n].copy_from_slice(&avail[..n]);
        self.pos += n as u64;
        Ok(n)
    }

    fn write(&mut self, _data: &[u8]) -> Result<usize> {
        Err(Error::AccessDenied)
    }

    fn seek(&mut self, origin: SeekOrigin, offset: u64) -> Result<u64> {
        self.pos = seek_target(self.size, self.pos, origin, offset)?;
        Ok(self.pos)
    }

    fn close(mut self: Box<Self>) -> Result<()> {
        self.release();
        Ok(())
    }
}

impl Reader {
    fn release(&mut self) {
        if std::mem::take(&mut self.live)
            && let Some(h) = self.handle
        {
            self.obj.conn().closed(h);
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.release();
    }
}

/// A write session: the new content, sent whole at `close`.
pub(super) struct Writer {
    obj: MtpObject,
    mode: OpenMode,
    data: Vec<u8>,
    pos: u64,
    held: Option<ObjectHandle>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MtpWriter")
            .field("len", &self.data.len())
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

impl Writer {
    /// A session over a private copy of the object's content (as the memory device's), so
    /// reads and overwrites inside it see the old bytes until close replaces the object.
    pub(super) fn new(obj: MtpObject, mode: OpenMode, snap: &Snap) -> Result<Writer> {
        let data = match snap.slot {
            Slot::Live(h) if snap.size > 0 => {
                let storage = obj.conn().storage(obj.storage)?;
                obj.conn()
                    .run("GetObject", true, || storage.download_to_vec(h))?
            }
            Slot::Live(_) | Slot::Pending => Vec::new(),
            Slot::Root => return Err(Error::InvalidType),
            Slot::Deleted => return Err(Error::InterfaceDead),
        };
        let held = match snap.slot {
            Slot::Live(h) => {
                obj.conn().opened(h);
                Some(h)
            }
            _ => None,
        };
        Ok(Writer {
            obj,
            mode,
            data,
            pos: 0,
            held,
        })
    }

    /// A session over a file created and not sent yet, already holding all of its `data` (the
    /// direct transfer reads its source straight into it).
    pub(super) fn filled(obj: MtpObject, data: Vec<u8>) -> Writer {
        Writer {
            obj,
            mode: OpenMode::WRITE,
            pos: data.len() as u64,
            data,
            held: None,
        }
    }

    /// Sends the content, as `close` does.
    pub(super) fn finish(mut self) -> Result<()> {
        let result = self.commit();
        self.release();
        result
    }

    /// Sends `data` as a new object named `name` into `parent`; a partly created object is
    /// deleted again, so a failed send leaves nothing behind.
    fn send(
        &self,
        parent: Option<ObjectHandle>,
        name: &str,
        format: u16,
        all: &Bytes,
    ) -> Result<ObjectHandle> {
        let conn = self.obj.conn();
        conn.check()?;
        let storage = conn.storage(self.obj.storage)?;
        let size = all.len() as u64;
        let info = NewObjectInfo::with_format(name, size, ObjectFormat(format));
        let chunks: Vec<io::Result<Bytes>> = (0..all.len())
            .step_by(CHUNK)
            .map(|at| Ok(all.slice(at..(at + CHUNK).min(all.len()))))
            .collect();
        let stream = futures::stream::iter(chunks);
        match futures::executor::block_on(storage.upload(parent, info, stream)) {
            Ok(h) => Ok(h),
            Err(UploadError {
                source, partial, ..
            }) => {
                if let Some(p) = partial {
                    let _ = conn.run("DeleteObject (partial upload)", false, || storage.delete(p));
                }
                Err(conn.fail("SendObjectInfo/SendObject", &source))
            }
        }
    }

    fn commit(&mut self) -> Result<()> {
        let snap = self.obj.snap()?;
        let conn = self.obj.conn();
        // The session ends here: its bytes go to the device without another copy.
        let all = Bytes::from(std::mem::take(&mut self.data));
        let size = all.len() as u64;
        // No free-space check here: SendObjectInfo itself refuses an object that does not
        // fit (StorageFull becomes DiskFull), and asking first costs a round trip per file.
        let key = (self.obj.storage, snap.parent);
        match snap.slot {
            Slot::Pending => {
                let h = self
                    .send(snap.parent, &snap.name, snap.format, &all)
                    .inspect_err(|_| conn.invalidate(key))?;
                self.obj.became(h, None, size, Sent::of(&all));
            }
            Slot::Live(old) => {
                let storage = conn.storage(self.obj.storage)?;
                // Whatever happens, the folder's kept listing is no longer known to be right.
                conn.invalidate(key);
                if conn.caps.can_rename {
                    let temp = format!(".wmdm-mtp-{:016x}.part", rand_u64());
                    let h = self.send(snap.parent, &temp, snap.format, &all)?;
                    if let Err(e) = conn.run("DeleteObject", false, || storage.delete(old)) {
                        let _ = conn.run("DeleteObject (temporary)", false, || storage.delete(h));
                        return Err(e);
                    }
                    conn.forget(old);
                    conn.run("SetObjectPropValue (ObjectFileName)", false, || {
                        storage.rename(h, &snap.name)
                    })?;
                    self.obj.became(h, Some(old), size, Sent::of(&all));
                } else {
                    conn.run("DeleteObject", false, || storage.delete(old))?;
                    conn.forget(old);
                    let h = self.send(snap.parent, &snap.name, snap.format, &all)?;
                    self.obj.became(h, Some(old), size, Sent::of(&all));
                }
            }
            Slot::Root => return Err(Error::InvalidType),
            Slot::Deleted => return Err(Error::InterfaceDead),
        }
        Ok(())
    }

    fn release(&mut self) {
        if let Some(h) = self.held.take() {
            self.obj.conn().closed(h);
        }
    }
}

fn rand_u64() -> u64 {
    use rand_core::{OsRng, RngCore};
    OsRng.next_u64()
}

impl ObjectIo for Writer {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        if !self.mode.can_read() {
            return Err(Error::AccessDenied);
        }
        let start = usize::try_from(self.pos).map_err(|_| Error::InvalidArg)?;
        let avail = self.data.get(start..).unwrap_or(&[]);
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.pos += n as u64;
        Ok(n)
    }

    fn write(&mut self, data: &[u8]) -> Result<usize> {
        self.obj.conn().check()?;
        let start = usize::try_from(self.pos).map_err(|_| Error::OutOfMemory)?;
        let stop = start.checked_add(data.len()).ok_or(Error::OutOfMemory)?;
        if start == self.data.len() {
            // The usual case, appending: no zero fill first.
            self.data.extend_from_slice(data);
        } else {
            if self.data.len() < stop {
                self.data.resize(stop, 0);
            }
            self.data[start..stop].copy_from_slice(data);
        }
        self.pos = stop as u64;
        Ok(data.len())
    }

    fn seek(&mut self, origin: SeekOrigin, offset: u64) -> Result<u64> {
        self.pos = seek_target(self.data.len() as u64, self.pos, origin, offset)?;
        Ok(self.pos)
    }

    fn close(self: Box<Self>) -> Result<()> {
        self.finish()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Abandoned: nothing was sent, the object is as it was before `open`.
        self.release();
    }
}
