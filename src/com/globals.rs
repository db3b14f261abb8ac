//! IMDSPStorageGlobals over a [`StorageGlobals`].

use std::sync::Arc;

use windows::Win32::Media::DeviceManager::{
    IMDSPDevice, IMDSPStorage, IMDSPStorageGlobals, IMDSPStorageGlobals_Impl, IWMDMProgress, WMDMID,
};
use windows_core::{Ref, implement};

use super::bridge::ComProgress;
use super::channel::ComChannel;
use super::convert::{empty_id, id_to_c};
use super::device::device_object;
use super::storage::storage_object;
use super::util::{call, put, put_u64, require, zero};
use crate::flags::Mode;
use crate::provider::GlobalsRef;
use crate::sac::MAC_LEN;

/// A medium's globals as IMDSPStorageGlobals.
#[implement(IMDSPStorageGlobals)]
#[derive(Debug)]
pub(crate) struct ComGlobals {
    core: GlobalsRef,
    channel: Arc<ComChannel>,
}

impl ComGlobals {
    pub(crate) fn new(core: GlobalsRef, channel: Arc<ComChannel>) -> ComGlobals {
        ComGlobals { core, channel }
    }
}

impl IMDSPStorageGlobals_Impl for ComGlobals_Impl {
    fn GetCapabilities(&self) -> windows_core::Result<u32> {
        call(&self.channel, || Ok(self.core.capabilities()?.bits()))
    }

    fn GetSerialNumber(&self, pserialnum: *mut WMDMID, abmac: *mut u8) -> windows_core::Result<()> {
        if !pserialnum.is_null() {
            // SAFETY: non-null out-pointer.
            unsafe { pserialnum.write(empty_id()) };
        }
        zero(abmac.cast::<[u8; MAC_LEN]>());
        call(&self.channel, || {
            require(pserialnum)?;
            require(abmac)?;
            let id = self.core.serial_number()?;
            let mac = self.channel.mac(&[&id.to_struct_bytes()])?;
            put(pserialnum, id_to_c(&id))?;
            put(abmac.cast::<[u8; MAC_LEN]>(), mac)
        })
    }

    fn GetTotalSize(&self, low: *mut u32, high: *mut u32) -> windows_core::Result<()> {
        zero(low);
        zero(high);
        call(&self.channel, || {
            put_u64(low, high, self.core.total_size()?)
        })
    }

    fn GetTotalFree(&self, low: *mut u32, high: *mut u32) -> windows_core::Result<()> {
        zero(low);
        zero(high);
        call(&self.channel, || {
            put_u64(low, high, self.core.total_free()?)
        })
    }

    fn GetTotalBad(&self, low: *mut u32, high: *mut u32) -> windows_core::Result<()> {
        zero(low);
        zero(high);
        call(&self.channel, || put_u64(low, high, self.core.total_bad()?))
    }

    fn GetStatus(&self) -> windows_core::Result<u32> {
        call(&self.channel, || Ok(self.core.status()?.bits()))
    }

    fn Initialize(&self, fumode: u32, pprogress: Ref<IWMDMProgress>) -> windows_core::Result<()> {
        call(&self.channel, || {
            let mut progress = ComProgress::new(pprogress.cloned());
            self.core
                .initialize(Mode::from_bits_retain(fumode), &mut progress)
        })
    }

    fn GetDevice(&self) -> windows_core::Result<IMDSPDevice> {
        call(&self.channel, || {
            Ok(device_object(self.core.device()?, self.channel.clone()))
        })
    }

    fn GetRootStorage(&self) -> windows_core::Result<IMDSPStorage> {
        call(&self.channel, || {
            Ok(storage_object(
                self.core.root_storage()?,
                self.channel.clone(),
            ))
        })
    }
}
