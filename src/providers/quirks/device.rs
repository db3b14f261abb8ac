//! The device and storage-globals levels of the quirk wrapper.

use std::sync::Arc;

use super::storage::QuirkStorage;
use super::{Operation, Shared};
use crate::error::Result;
use crate::flags::{DeviceStatus, DeviceType, FindScope, Mode, StorageCapabilities};
use crate::metadata::{FormatCode, PropValue};
use crate::provider::{
    Device, DeviceRef, FormatCapability, FormatSupport, GlobalsRef, Icon, LockHolder,
    OpaqueCommand, PowerInfo, Progress, StorageGlobals, StorageRef, WmdmId, WriterLock,
};

/// A device seen through the quirks.
#[derive(Debug)]
pub(super) struct QuirkDevice {
    inner: DeviceRef,
    shared: Arc<Shared>,
}

impl QuirkDevice {
    pub(super) fn wrap(inner: DeviceRef, shared: &Arc<Shared>) -> DeviceRef {
        Arc::new(QuirkDevice {
            inner,
            shared: shared.clone(),
        })
    }

    fn info<T>(&self, f: impl FnOnce(&dyn Device) -> Result<T>) -> Result<T> {
        self.shared.enter(Operation::DeviceInfo)?;
        f(&*self.inner)
    }

    fn storage_ref(&self, s: StorageRef) -> StorageRef {
        QuirkStorage::wrap(s, &self.shared)
    }
}

impl Device for QuirkDevice {
    fn name(&self) -> Result<String> {
        self.info(|d| d.name())
    }

    fn manufacturer(&self) -> Result<String> {
        self.info(|d| d.manufacturer())
    }

    fn version(&self) -> Result<u32> {
        self.info(|d| d.version())
    }

    fn device_type(&self) -> Result<DeviceType> {
        self.info(|d| d.device_type())
    }

    fn serial_number(&self) -> Result<WmdmId> {
        self.info(|d| d.serial_number())
    }

    fn power_source(&self) -> Result<PowerInfo> {
        self.info(|d| d.power_source())
    }

    fn status(&self) -> Result<DeviceStatus> {
        self.info(|d| d.status())
    }

    fn icon(&self) -> Result<Icon> {
        self.info(|d| d.icon())
    }

    fn storages(&self) -> Result<Vec<StorageRef>> {
        self.shared.enter(Operation::EnumStorages)?;
        Ok(self
            .inner
            .storages()?
            .into_iter()
            .map(|s| self.storage_ref(s))
            .collect())
    }

    fn format_support(&self) -> Result<FormatSupport> {
        self.info(|d| d.format_support())
    }

    fn send_opaque_command(&self, command: &mut OpaqueCommand) -> Result<()> {
        self.shared.enter(Operation::IoControl)?;
        self.inner.send_opaque_command(command)
    }

    fn storage(&self, name: &str) -> Result<StorageRef> {
        self.shared.enter(Operation::EnumStorages)?;
        Ok(self.storage_ref(self.inner.storage(name)?))
    }

    fn canonical_name(&self) -> Result<String> {
        self.info(|d| d.canonical_name())
    }

    fn property(&self, name: &str) -> Result<PropValue> {
        self.info(|d| d.property(name))
    }

    fn set_property(&self, name: &str, value: &PropValue) -> Result<()> {
        self.shared.enter(Operation::SetProperty)?;
        self.inner.set_property(name, value)
    }

    fn format_capability(&self, format: FormatCode) -> Result<FormatCapability> {
        self.info(|d| d.format_capability(format))
    }

    fn io_control(&self, code: u32, input: &[u8], max_output: usize) -> Result<Vec<u8>> {
        self.shared.enter(Operation::IoControl)?;
        self.inner.io_control(code, input, max_output)
    }

    fn find_storage(&self, scope: FindScope, unique_id: &str) -> Result<StorageRef> {
        self.shared.enter(Operation::FindStorage)?;
        Ok(self.storage_ref(self.inner.find_storage(scope, unique_id)?))
    }

    // The barrier is the wrapped device's: a quirk changes which calls succeed, not what a
    // completed one leaves on the medium.
    fn flush(&self) -> Result<()> {
        self.info(|d| d.flush())
    }

    // The writer lock is the wrapped device's: a quirk changes how the medium behaves, not who
    // may write to it.
    fn lock_writer(&self, holder: &LockHolder) -> Result<WriterLock> {
        self.info(|d| d.lock_writer(holder))
    }

    fn writer_holder(&self) -> Result<Option<LockHolder>> {
        self.info(|d| d.writer_holder())
    }
}

/// A medium's globals seen through the quirks.
#[derive(Debug)]
pub(super) struct QuirkGlobals {
    inner: GlobalsRef,
    shared: Arc<Shared>,
}

impl QuirkGlobals {
    pub(super) fn wrap(inner: GlobalsRef, shared: &Arc<Shared>) -> GlobalsRef {
        Arc::new(QuirkGlobals {
            inner,
            shared: shared.clone(),
        })
    }

    fn info<T>(&self, f: impl FnOnce(&dyn StorageGlobals) -> Result<T>) -> Result<T> {
        self.shared.enter(Operation::GlobalsInfo)?;
        f(&*self.inner)
    }
}

impl StorageGlobals for QuirkGlobals {
    fn capabilities(&self) -> Result<StorageCapabilities> {
        self.info(|g| g.capabilities())
    }

    fn serial_number(&self) -> Result<WmdmId> {
        self.info(|g| g.serial_number())
    }

    fn total_size(&self) -> Result<u64> {
        self.info(|g| g.total_size())
    }

    fn total_free(&self) -> Result<u64> {
        self.info(|g| g.total_free())
    }

    fn total_bad(&self) -> Result<u64> {
        self.info(|g| g.total_bad())
    }

    fn status(&self) -> Result<DeviceStatus> {
        self.info(|g| g.status())
    }

    fn initialize(&self, mode: Mode, progress: &mut dyn Progress) -> Result<()> {
        self.shared.enter(Operation::Initialize)?;
        self.inner.initialize(mode, progress)
    }

    fn device(&self) -> Result<DeviceRef> {
        self.shared.enter(Operation::GlobalsInfo)?;
        Ok(QuirkDevice::wrap(self.inner.device()?, &self.shared))
    }

    fn root_storage(&self) -> Result<StorageRef> {
        self.shared.enter(Operation::GlobalsInfo)?;
        Ok(QuirkStorage::wrap(self.inner.root_storage()?, &self.shared))
    }
}
