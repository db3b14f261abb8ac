//! [`MemoryGlobals`]: one medium of a memory device (IMDSPStorageGlobals).

use std::fmt;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::flags::{DeviceStatus, Mode, StorageCapabilities};
use crate::provider::{DeviceRef, Progress, StorageGlobals, StorageRef, WmdmId};

use super::MemoryDevice;
use super::fault::Operation;
use super::state::{Shared, staged};
use super::storage::MemoryStorage;
use super::tree::Tree;

/// One medium of a [`MemoryDevice`]: its space, status, serial and format.
pub struct MemoryGlobals {
    shared: Arc<Shared>,
    storage: usize,
}

impl fmt::Debug for MemoryGlobals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryGlobals")
            .field("device", &self.shared.config.serial)
            .field("storage", &self.storage)
            .finish()
    }
}

impl MemoryGlobals {
    pub(super) fn new(shared: Arc<Shared>, storage: usize) -> MemoryGlobals {
        MemoryGlobals { shared, storage }
    }

    fn space(&self, f: impl FnOnce(&Tree, bool) -> u64) -> Result<u64> {
        let st = self.shared.enter(Operation::GlobalsInfo)?;
        let full = st.forced_full();
        Ok(f(st.tree(self.storage)?, full))
    }
}

impl StorageGlobals for MemoryGlobals {
    fn capabilities(&self) -> Result<StorageCapabilities> {
        self.shared.check(Operation::GlobalsInfo)?;
        let mut caps = StorageCapabilities::FOLDERSINROOT
            | StorageCapabilities::FILESINROOT
            | StorageCapabilities::FOLDERSINFOLDERS
            | StorageCapabilities::FILESINFOLDERS;
        if !self
            .shared
            .media
            .get(self.storage)
            .is_some_and(|m| m.initializable)
        {
            caps |= StorageCapabilities::NOT_INITIALIZABLE;
        }
        Ok(caps)
    }

    fn serial_number(&self) -> Result<WmdmId> {
        self.shared.check(Operation::GlobalsInfo)?;
        let medium = self
            .shared
            .media
            .get(self.storage)
            .ok_or(Error::Unexpected)?;
        WmdmId::new(self.shared.config.vendor_id, medium.serial.as_bytes())
    }

    fn total_size(&self) -> Result<u64> {
        self.space(|t, _| t.capacity())
    }

    /// Capacity minus bad bytes, committed files and the bytes open write sessions have added
    /// so far; 0 under a [`FaultPlan::storage_full`](super::FaultPlan::storage_full) fault.
    fn total_free(&self) -> Result<u64> {
        self.space(|t, full| t.free(full))
    }

    fn total_bad(&self) -> Result<u64> {
        self.space(|t, _| t.bad())
    }

    /// `READY`, or `DEVICE_NOTPRESENT` while disconnected (this never fails).
    fn status(&self) -> Result<DeviceStatus> {
        if self.shared.lock().connected {
            Ok(DeviceStatus::READY)
        } else {
            Ok(DeviceStatus::DEVICE_NOTPRESENT)
        }
    }

    /// Formats the medium: everything under the root goes, all at once after `begin(count)`
    /// and one tick per object (a cancel leaves everything in place). Unique IDs are not
    /// reused afterwards.
    ///
    /// # Errors
    /// [`Error::NotSupported`] for a medium configured not initialisable;
    /// [`Error::WriteProtected`]; [`Error::Busy`] while a file is open; an error from
    /// `progress`.
    fn initialize(&self, mode: Mode, progress: &mut dyn Progress) -> Result<()> {
        let _ = mode;
        let st = self.shared.enter(Operation::Initialize)?;
        if !self
            .shared
            .media
            .get(self.storage)
            .is_some_and(|m| m.initializable)
        {
            return Err(Error::NotSupported);
        }
        self.shared.check_writable(&st, self.storage)?;
        let count = st.tree(self.storage)?.plan_clear()?.len();
        drop(st);
        staged(&self.shared, progress, count as u64, |st| {
            self.shared.check_writable(st, self.storage)?;
            let tree = st.tree_mut(self.storage)?;
            tree.plan_clear()?;
            let removed = tree.clear();
            st.prune_references(self.storage, &removed);
            Ok(())
        })
    }

    fn device(&self) -> Result<DeviceRef> {
        drop(self.shared.relock()?);
        Ok(Arc::new(MemoryDevice {
            shared: Arc::clone(&self.shared),
        }))
    }

    fn root_storage(&self) -> Result<StorageRef> {
        let root = self.shared.relock()?.tree(self.storage)?.root();
        Ok(Arc::new(MemoryStorage::new(
            Arc::clone(&self.shared),
            self.storage,
            root,
        )))
    }
}
