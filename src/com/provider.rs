//! The service provider object: IMDServiceProvider/2/3, IMDSPRevoked and
//! IComponentAuthenticate, over a [`ServiceProvider`].

use std::sync::Arc;

use windows::Win32::Media::DeviceManager::{
    IComponentAuthenticate, IComponentAuthenticate_Impl, IMDSPDevice, IMDSPEnumDevice,
    IMDSPRevoked, IMDSPRevoked_Impl, IMDServiceProvider, IMDServiceProvider_Impl,
    IMDServiceProvider2_Impl, IMDServiceProvider3, IMDServiceProvider3_Impl,
};
use windows_core::{PCWSTR, PWSTR, implement};

use super::channel::ComChannel;
use super::device::device_object;
use super::enums::ComEnumDevice;
use super::util::{call, co_array, co_free, co_wstr, put, read_wstr, require, run, zero};
use crate::error::Error;
use crate::flags::DeviceEnumPreference;
use crate::provider::ServiceProvider;

/// The COM object a provider DLL's class factory creates: IMDServiceProvider,
/// IMDServiceProvider2, IMDServiceProvider3, IMDSPRevoked and IComponentAuthenticate over a
/// [`ServiceProvider`], with every object it hands out sharing its [`ComChannel`].
#[implement(IMDServiceProvider3, IMDSPRevoked, IComponentAuthenticate)]
#[derive(Debug)]
pub struct ComServiceProvider {
    core: Arc<dyn ServiceProvider>,
    channel: Arc<ComChannel>,
}

impl ComServiceProvider {
    /// Wraps `core`; `channel` is the gate every method checks.
    pub fn new(core: Arc<dyn ServiceProvider>, channel: Arc<ComChannel>) -> ComServiceProvider {
        ComServiceProvider { core, channel }
    }

    /// The object as IMDServiceProvider (its other interfaces are a QueryInterface away).
    pub fn into_interface(self) -> IMDServiceProvider {
        let sp3: IMDServiceProvider3 = self.into();
        sp3.into()
    }
}

impl IMDServiceProvider_Impl for ComServiceProvider_Impl {
    fn GetDeviceCount(&self) -> windows_core::Result<u32> {
        call(&self.channel, || self.core.device_count())
    }

    fn EnumDevices(&self) -> windows_core::Result<IMDSPEnumDevice> {
        call(&self.channel, || {
            let devices = self.core.devices()?;
            Ok(ComEnumDevice::new(devices, self.channel.clone()).into())
        })
    }
}

impl IMDServiceProvider2_Impl for ComServiceProvider_Impl {
    fn CreateDevice(
        &self,
        pwszdevicepath: &PCWSTR,
        pdwcount: *mut u32,
        pppdevicearray: *mut *mut Option<IMDSPDevice>,
    ) -> windows_core::Result<()> {
        zero(pdwcount);
        if !pppdevicearray.is_null() {
            // SAFETY: non-null out-pointer to one pointer-sized slot.
            unsafe { pppdevicearray.write(std::ptr::null_mut()) };
        }
        call(&self.channel, || {
            require(pdwcount)?;
            require(pppdevicearray)?;
            let path = read_wstr(pwszdevicepath)?;
            let devices: Vec<Option<IMDSPDevice>> = self
                .core
                .create_device(&path)?
                .into_iter()
                .map(|d| Some(device_object(d, self.channel.clone())))
                .collect();
            let n = devices.len() as u32;
            let array = co_array(devices)?;
            put(pppdevicearray, array)?;
            put(pdwcount, n)
        })
    }
}

impl IMDServiceProvider3_Impl for ComServiceProvider_Impl {
    fn SetDeviceEnumPreference(&self, dwenumpref: u32) -> windows_core::Result<()> {
        call(&self.channel, || {
            let pref = DeviceEnumPreference::from_bits(dwenumpref).ok_or(Error::InvalidArg)?;
            self.core.set_device_enum_preference(pref)
        })
    }
}

impl IMDSPRevoked_Impl for ComServiceProvider_Impl {
    fn GetRevocationURL(
        &self,
        ppwszrevocationurl: *mut PWSTR,
        pdwbufferlen: *mut u32,
    ) -> windows_core::Result<()> {
        call(&self.channel, || {
            require(ppwszrevocationurl)?;
            require(pdwbufferlen)?;
            let url = self.core.revocation_url()?;
            let needed = url.encode_utf16().count() as u32 + 1;
            // SAFETY: both pointers were checked non-null; they point at the caller's
            // in/out buffer pointer and its length in characters.
            let (buf, len) = unsafe { (*ppwszrevocationurl, *pdwbufferlen) };
            if buf.is_null() || len < needed {
                // The caller's buffer (if any) is too small: hand back a new one of the right
                // size, freeing theirs, as the interface's in/out contract allows.
                let fresh = co_wstr(&url)?;
                co_free(buf.0);
                put(ppwszrevocationurl, fresh)?;
            } else {
                super::util::write_wstr(buf, len, &url)?;
            }
            put(pdwbufferlen, needed)
        })
    }
}

impl IComponentAuthenticate_Impl for ComServiceProvider_Impl {
    fn SACAuth(
        &self,
        dwprotocolid: u32,
        dwpass: u32,
        pbdatain: *const u8,
        dwdatainlen: u32,
        ppbdataout: *mut *mut u8,
        pdwdataoutlen: *mut u32,
    ) -> windows_core::Result<()> {
        if !ppbdataout.is_null() {
            // SAFETY: non-null out-pointer.
            unsafe { ppbdataout.write(std::ptr::null_mut()) };
        }
        zero(pdwdataoutlen);
        // Authentication itself is the one thing that does not need authentication.
        run(|| {
            require(ppbdataout)?;
            require(pdwdataoutlen)?;
            let input: &[u8] = if dwdatainlen == 0 {
                &[]
            } else {
                require(pbdatain)?;
                // SAFETY: the caller passes `dwdatainlen` readable bytes at `pbdatain`.
                unsafe { std::slice::from_raw_parts(pbdatain, dwdatainlen as usize) }
            };
            let reply = self.channel.sac_auth(dwprotocolid, dwpass, input)?;
            let n = u32::try_from(reply.len()).map_err(|_| Error::Fail)?;
            let out = co_array(reply)?;
            put(ppbdataout, out)?;
            put(pdwdataoutlen, n)
        })
    }

    fn SACGetProtocols(
        &self,
        ppdwprotocols: *mut *mut u32,
        pdwprotocolcount: *mut u32,
    ) -> windows_core::Result<()> {
        if !ppdwprotocols.is_null() {
            // SAFETY: non-null out-pointer.
            unsafe { ppdwprotocols.write(std::ptr::null_mut()) };
        }
        zero(pdwprotocolcount);
        run(|| {
            require(ppdwprotocols)?;
            require(pdwprotocolcount)?;
            let protocols = self.channel.protocols();
            let n = protocols.len() as u32;
            let out = co_array(protocols)?;
            put(ppdwprotocols, out)?;
            put(pdwprotocolcount, n)
        })
    }
}
