//! [`MemoryObjectIo`]: an open file of a memory device (IMDSPObject Read, Write, Seek, Close).

use std::fmt;
use std::sync::{Arc, MutexGuard};

use crate::error::{Error, Result};
use crate::flags::{OpenMode, SeekOrigin};
use crate::provider::ObjectIo;

use super::fault::Operation;
use super::node::ObjRef;
use super::state::{Shared, State};

/// The position a seek lands on in data of `len` bytes from position `pos`.
///
/// # Errors
/// [`Error::InvalidArg`] for an unknown origin, or a position before the start or past the
/// end.
pub(super) fn seek_target(len: u64, pos: u64, origin: SeekOrigin, offset: u64) -> Result<u64> {
    let target = match origin {
        SeekOrigin::BOF => Some(offset),
        SeekOrigin::CUR => pos.checked_add(offset),
        SeekOrigin::EOF => len.checked_sub(offset),
        _ => None,
    };
    target.filter(|&t| t <= len).ok_or(Error::InvalidArg)
}

/// An open file of a [`MemoryDevice`](super::MemoryDevice).
///
/// A write session edits a private copy of the data; the bytes it adds count against the
/// medium's free space as they are written, and [`close`](ObjectIo::close) commits the copy in
/// one step. Dropping the session without closing it, or losing it to a disconnection,
/// leaves the file as it was.
pub struct MemoryObjectIo {
    shared: Arc<Shared>,
    at: ObjRef,
    mode: OpenMode,
    pos: u64,
    /// The private copy, for sessions that may write.
    buffer: Option<Vec<u8>>,
    /// Bytes this session added to the medium's pending count.
    reserved: u64,
    epoch: u64,
    /// False once closed, so that drop does not release twice.
    live: bool,
}

impl fmt::Debug for MemoryObjectIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryObjectIo")
            .field("storage", &self.at.storage)
            .field("node", &self.at.node)
            .field("mode", &self.mode)
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

impl MemoryObjectIo {
    pub(super) fn new(
        shared: Arc<Shared>,
        at: ObjRef,
        mode: OpenMode,
        buffer: Option<Vec<u8>>,
        epoch: u64,
    ) -> MemoryObjectIo {
        MemoryObjectIo {
            shared,
            at,
            mode,
            pos: 0,
            buffer,
            reserved: 0,
            epoch,
            live: true,
        }
    }

    /// Enters `op` for this session. Takes the device apart from `self` so that the session
    /// can change its position while holding the device.
    ///
    /// # Errors
    /// [`Error::DeviceNotConnected`] when the session was lost to a disconnection, even after
    /// the device came back.
    fn enter<'a>(&self, shared: &'a Shared, op: Operation) -> Result<MutexGuard<'a, State>> {
        self.enter_as(shared, op, op.is_mutating())
    }

    /// [`MemoryObjectIo::enter`], saying whether the call changes the device.
    fn enter_as<'a>(
        &self,
        shared: &'a Shared,
        op: Operation,
        mutating: bool,
    ) -> Result<MutexGuard<'a, State>> {
        let st = shared.enter_as(op, mutating)?;
        if st.epoch != self.epoch || !self.live {
            return Err(Error::DeviceNotConnected);
        }
        Ok(st)
    }

    /// Gives back the session's slot, flags and reservation.
    fn release(&mut self, st: &mut State) {
        if !self.live {
            return;
        }
        self.live = false;
        if st.epoch != self.epoch {
            return;
        }
        st.crash.torn.remove(&self.at);
        st.open_files = st.open_files.saturating_sub(1);
        if let Ok(tree) = st.tree_mut(self.at.storage) {
            tree.release(self.reserved);
            if let Some(node) = tree.get_mut(self.at.node) {
                if self.mode.can_write() {
                    node.writer = false;
                } else {
                    node.readers = node.readers.saturating_sub(1);
                }
            }
        }
    }
}

impl ObjectIo for MemoryObjectIo {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        let shared = Arc::clone(&self.shared);
        let mut st = self.enter(&shared, Operation::Read)?;
        if !self.mode.can_read() {
            return Err(Error::AccessDenied);
        }
        let data: &[u8] = match &self.buffer {
            Some(b) => b,
            None => &st.tree(self.at.storage)?.node(self.at.node)?.data,
        };
        let start = usize::try_from(self.pos)
            .unwrap_or(usize::MAX)
            .min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        self.pos += n as u64;
        st.stats.bytes_read += n as u64;
        Ok(n)
    }

    /// Writes at the current position, overwriting and extending.
    ///
    /// # Errors
    /// In this order: [`Error::AccessDenied`] when not opened for writing;
    /// [`Error::WriteProtected`]; [`Error::DiskFull`] when the bytes that extend the file do
    /// not fit (nothing of this call is written); [`Error::DeviceNotConnected`] when the fault
    /// plan's byte limit is crossed (the session is lost).
    fn write(&mut self, data: &[u8]) -> Result<usize> {
        let shared = Arc::clone(&self.shared);
        let mut st = self.enter(&shared, Operation::Write)?;
        if !self.mode.can_write() {
            return Err(Error::AccessDenied);
        }
        self.shared.check_writable(&st, self.at.storage)?;
        let len = self.buffer.as_ref().map_or(0, Vec::len) as u64;
        let end = self
            .pos
            .checked_add(data.len() as u64)
            .ok_or(Error::InvalidArg)?;
        let grow = end.saturating_sub(len);
        let full = st.forced_full();
        st.tree_mut(self.at.storage)?.reserve(grow, full)?;
        self.reserved += grow;

        let admitted = st.faults.admit_bytes(data.len() as u64);
        let take = admitted.map_or(data.len(), |k| {
            usize::try_from(k).unwrap_or(usize::MAX).min(data.len())
        });
        let buffer = self.buffer.get_or_insert_with(Vec::new);
        let start = usize::try_from(self.pos).map_err(|_| Error::InvalidArg)?;
        let stop = start + take;
        if buffer.len() < stop {
            buffer.resize(stop, 0);
        }
        buffer[start..stop].copy_from_slice(&data[..take]);
        st.stats.bytes_written += take as u64;
        if st.faults.plan().is_torn() {
            st.crash.torn.insert(self.at, buffer.clone());
        }
        if admitted.is_some() {
            st.stats.faults_injected += 1;
            st.disconnect();
            return Err(Error::DeviceNotConnected);
        }
        self.pos = end;
        Ok(data.len())
    }

    fn seek(&mut self, origin: SeekOrigin, offset: u64) -> Result<u64> {
        let shared = Arc::clone(&self.shared);
        let st = self.enter(&shared, Operation::Seek)?;
        let len = match &self.buffer {
            Some(b) => b.len() as u64,
            None => st.tree(self.at.storage)?.node(self.at.node)?.data.len() as u64,
        };
        self.pos = seek_target(len, self.pos, origin, offset)?;
        Ok(self.pos)
    }

    /// Ends the session; a write session's copy becomes the file's content, dated now. If the
    /// close fails (an injected fault, a disconnection) the writes are lost.
    fn close(mut self: Box<Self>) -> Result<()> {
        let shared = Arc::clone(&self.shared);
        // Ending a write session is its commit, a change of the device; ending a read is not.
        let mutating = self.mode.can_write();
        let mut st = self.enter_as(&shared, Operation::Close, mutating)?;
        // Read after entering, so that a slow close is dated when it ends.
        let now = shared.now();
        if let Some(data) = self.buffer.take() {
            st.tree_mut(self.at.storage)?
                .commit(self.at.node, data, now)?;
            st.stats.commits += 1;
        }
        self.release(&mut st);
        Ok(())
    }
}

impl Drop for MemoryObjectIo {
    fn drop(&mut self) {
        if self.live {
            let shared = Arc::clone(&self.shared);
            let mut st = shared.lock();
            self.release(&mut st);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seek_math() {
        assert_eq!(seek_target(10, 3, SeekOrigin::BOF, 0), Ok(0));
        assert_eq!(seek_target(10, 3, SeekOrigin::BOF, 10), Ok(10));
        assert_eq!(
            seek_target(10, 3, SeekOrigin::BOF, 11),
            Err(Error::InvalidArg)
        );
        assert_eq!(seek_target(10, 3, SeekOrigin::CUR, 7), Ok(10));
        assert_eq!(
            seek_target(10, 3, SeekOrigin::CUR, 8),
            Err(Error::InvalidArg)
        );
        assert_eq!(
            seek_target(10, 3, SeekOrigin::CUR, u64::MAX),
            Err(Error::InvalidArg)
        );
        assert_eq!(seek_target(10, 3, SeekOrigin::EOF, 0), Ok(10));
        assert_eq!(seek_target(10, 3, SeekOrigin::EOF, 4), Ok(6));
        assert_eq!(seek_target(10, 3, SeekOrigin::EOF, 10), Ok(0));
        assert_eq!(
            seek_target(10, 3, SeekOrigin::EOF, 11),
            Err(Error::InvalidArg)
        );
        assert_eq!(seek_target(10, 3, SeekOrigin(3), 0), Err(Error::InvalidArg));
        assert_eq!(seek_target(0, 0, SeekOrigin(0), 0), Err(Error::InvalidArg));
    }
}
