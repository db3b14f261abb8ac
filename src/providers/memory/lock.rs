//! The memory device's writer lock (a crate extension, see
//! [`Device::lock_writer`](crate::provider::Device::lock_writer)): the folder provider's rule
//! over the device's shared state, so that tests can run two writers against one device.
//!
//! One holder at a time; dropping its [`WriterLock`] releases it. A holder that dies without
//! dropping it (its process killed) is modelled by
//! [`MemoryDevice::writer_died`](super::MemoryDevice::writer_died), which releases the lock as
//! the folder provider's kernel lock is released; the dead holder's guard then releases
//! nothing when it is finally dropped.

use std::sync::{Arc, Mutex, PoisonError};

use crate::error::{Error, Result};
use crate::provider::{LockHolder, WriterLock};

/// The device's lock: the holder and the token of the guard that holds it.
#[derive(Debug, Default)]
pub(super) struct WriterSlot {
    held: Arc<Mutex<Option<(u64, LockHolder)>>>,
    next: Mutex<u64>,
}

/// Releases the slot if it still holds this guard's token.
struct Release {
    held: Arc<Mutex<Option<(u64, LockHolder)>>>,
    token: u64,
}

impl Drop for Release {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if held.as_ref().is_some_and(|(t, _)| *t == self.token) {
            *held = None;
        }
    }
}

impl WriterSlot {
    /// Takes the lock for `holder`.
    ///
    /// # Errors
    /// [`Error::Busy`] while another holder has it.
    pub(super) fn lock(&self, holder: &LockHolder) -> Result<WriterLock> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if held.is_some() {
            return Err(Error::Busy);
        }
        let token = {
            let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
            *next += 1;
            *next
        };
        *held = Some((token, holder.clone()));
        Ok(WriterLock::new(
            holder.clone(),
            Release {
                held: self.held.clone(),
                token,
            },
        ))
    }

    /// The holder now.
    pub(super) fn holder(&self) -> Option<LockHolder> {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|(_, h)| h.clone())
    }

    /// The holder died: the lock is free again; returns who held it.
    pub(super) fn holder_died(&self) -> Option<LockHolder> {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .map(|(_, h)| h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_then_the_next_and_a_dead_holder_releases_nothing_later() {
        let slot = WriterSlot::default();
        let a = slot.lock(&LockHolder::current("a")).unwrap();
        assert_eq!(
            slot.lock(&LockHolder::current("b")).unwrap_err(),
            Error::Busy
        );
        assert_eq!(slot.holder().map(|h| h.program), Some("a".into()));
        drop(a);
        assert_eq!(slot.holder(), None);
        let b = slot.lock(&LockHolder::current("b")).unwrap();
        assert_eq!(slot.holder_died().map(|h| h.program), Some("b".into()));
        let c = slot.lock(&LockHolder::current("c")).unwrap();
        drop(b); // the dead holder's guard must not free c's lock
        assert_eq!(slot.holder().map(|h| h.program), Some("c".into()));
        drop(c);
        assert_eq!(slot.holder(), None);
    }
}
