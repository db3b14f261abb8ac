//! IMDSPDevice, IMDSPDevice2 and IMDSPDevice3 over a [`Device`].

use std::sync::Arc;

use windows::Win32::Media::Audio::WAVEFORMATEX;
use windows::Win32::Media::DeviceManager::{
    IMDSPDevice, IMDSPDevice_Impl, IMDSPDevice2_Impl, IMDSPDevice3, IMDSPDevice3_Impl,
    IMDSPEnumStorage, IMDSPStorage, OPAQUECOMMAND, WMDM_FIND_SCOPE, WMDM_FORMAT_CAPABILITY,
    WMDM_FORMATCODE, WMDMID, WMFILECAPABILITIES,
};
use windows::Win32::Media::MediaFoundation::VIDEOINFOHEADER;
use windows::Win32::System::Com::StructuredStorage::PROPVARIANT;
use windows::Win32::System::Ole::ISpecifyPropertyPages;
use windows_core::{IUnknown, OutRef, PCWSTR, PWSTR, implement};

use super::channel::ComChannel;
use super::convert::{empty_id, icon_to_handle, id_to_c, video_to_c, wave_to_c};
use super::enums::ComEnumStorage;
use super::prop::{capability_to_c, from_propvariant, to_propvariant};
use super::storage::storage_object;
use super::util::{call, co_array, co_wstr, put, read_wstr, require, write_wstr, zero};
use crate::error::{Error, Result};
use crate::flags::FindScope;
use crate::metadata::FormatCode;
use crate::provider::{DeviceRef, OpaqueCommand};
use crate::sac::MAC_LEN;

/// One device as IMDSPDevice, IMDSPDevice2 and IMDSPDevice3.
#[implement(IMDSPDevice3)]
#[derive(Debug)]
pub(crate) struct ComDevice {
    core: DeviceRef,
    channel: Arc<ComChannel>,
}

impl ComDevice {
    pub(crate) fn new(core: DeviceRef, channel: Arc<ComChannel>) -> ComDevice {
        ComDevice { core, channel }
    }

    fn storage(&self, s: crate::provider::StorageRef) -> IMDSPStorage {
        storage_object(s, self.channel.clone())
    }
}

/// Writes `n` into an optional count pointer and `array` into its array pointer, freeing the
/// array if the count pointer is null.
fn put_array<T>(pp: *mut *mut T, pn: *mut u32, items: Vec<T>) -> Result<()> {
    require(pp)?;
    require(pn)?;
    let n = items.len() as u32;
    let array = co_array(items)?;
    put(pp, array)?;
    put(pn, n)
}

fn null_out<T>(pp: *mut *mut T) {
    if !pp.is_null() {
        // SAFETY: non-null out-pointer to one pointer.
        unsafe { pp.write(std::ptr::null_mut()) };
    }
}

/// SendOpaqueCommand for a device or a storage: the command's MAC (all 20 bytes of `abMAC`,
/// the one check in [`Session::verify_opaque_mac`](crate::sac::Session::verify_opaque_mac)) is checked, the core runs it, and the reply data goes back into
/// the caller's buffer with a fresh MAC.
pub(crate) fn opaque_command(
    channel: &ComChannel,
    pcommand: *mut OPAQUECOMMAND,
    run: impl FnOnce(&mut OpaqueCommand) -> Result<()>,
) -> Result<()> {
    require(pcommand)?;
    // SAFETY: non-null; the caller passes an OPAQUECOMMAND whose pData holds dwDataLen bytes.
    let c = unsafe { &mut *pcommand };
    let data = if c.dwDataLen == 0 {
        Vec::new()
    } else {
        require(c.pData)?;
        // SAFETY: as above.
        unsafe { std::slice::from_raw_parts(c.pData, c.dwDataLen as usize) }.to_vec()
    };
    let mut cmd = OpaqueCommand {
        command: uuid::Uuid::from_u128(c.guidCommand.to_u128()),
        data,
        mac: c.abMAC,
    };
    let guid = cmd.command.to_bytes_le();
    channel.verify_opaque_mac(&guid, &cmd.data, &c.abMAC)?;
    let capacity = c.dwDataLen as usize;
    run(&mut cmd)?;
    if cmd.data.len() > capacity {
        return Err(Error::BufferTooSmall);
    }
    if !cmd.data.is_empty() {
        // SAFETY: the reply fits in the caller's `capacity` bytes at pData (checked non-null
        // above whenever capacity > 0, and the reply is non-empty only then).
        unsafe { std::ptr::copy_nonoverlapping(cmd.data.as_ptr(), c.pData, cmd.data.len()) };
    }
    c.dwDataLen = cmd.data.len() as u32;
    c.abMAC = channel.opaque_mac(&cmd.command.to_bytes_le(), &cmd.data)?;
    Ok(())
}

impl IMDSPDevice_Impl for ComDevice_Impl {
    fn GetName(&self, pwszname: PWSTR, nmaxchars: u32) -> windows_core::Result<()> {
        call(&self.channel, || {
            write_wstr(pwszname, nmaxchars, &self.core.name()?)
        })
    }

    fn GetManufacturer(&self, pwszname: PWSTR, nmaxchars: u32) -> windows_core::Result<()> {
        call(&self.channel, || {
            write_wstr(pwszname, nmaxchars, &self.core.manufacturer()?)
        })
    }

    fn GetVersion(&self) -> windows_core::Result<u32> {
        call(&self.channel, || self.core.version())
    }

    fn GetType(&self) -> windows_core::Result<u32> {
        call(&self.channel, || Ok(self.core.device_type()?.bits()))
    }

    fn GetSerialNumber(
        &self,
        pserialnumber: *mut WMDMID,
        abmac: *mut u8,
    ) -> windows_core::Result<()> {
        if !pserialnumber.is_null() {
            // SAFETY: non-null out-pointer.
            unsafe { pserialnumber.write(empty_id()) };
        }
        zero(abmac.cast::<[u8; MAC_LEN]>());
        call(&self.channel, || {
            require(pserialnumber)?;
            require(abmac)?;
            let id = self.core.serial_number()?;
            let mac = self.channel.mac(&[&id.to_struct_bytes()])?;
            put(pserialnumber, id_to_c(&id))?;
            put(abmac.cast::<[u8; MAC_LEN]>(), mac)
        })
    }

    fn GetPowerSource(
        &self,
        pdwpowersource: *mut u32,
        pdwpercentremaining: *mut u32,
    ) -> windows_core::Result<()> {
        zero(pdwpowersource);
        zero(pdwpercentremaining);
        call(&self.channel, || {
            require(pdwpowersource)?;
            require(pdwpercentremaining)?;
            let p = self.core.power_source()?;
            put(pdwpowersource, p.source.bits())?;
            put(pdwpercentremaining, p.percent_remaining)
        })
    }

    fn GetStatus(&self) -> windows_core::Result<u32> {
        call(&self.channel, || Ok(self.core.status()?.bits()))
    }

    fn GetDeviceIcon(&self) -> windows_core::Result<u32> {
        call(&self.channel, || icon_to_handle(&self.core.icon()?))
    }

    fn EnumStorage(&self) -> windows_core::Result<IMDSPEnumStorage> {
        call(&self.channel, || {
            Ok(ComEnumStorage::new(self.core.storages()?, self.channel.clone()).into())
        })
    }

    fn GetFormatSupport(
        &self,
        pformatex: *mut *mut WAVEFORMATEX,
        pnformatcount: *mut u32,
        pppwszmimetype: *mut *mut PWSTR,
        pnmimetypecount: *mut u32,
    ) -> windows_core::Result<()> {
        null_out(pformatex);
        null_out(pppwszmimetype);
        zero(pnformatcount);
        zero(pnmimetypecount);
        call(&self.channel, || {
            require(pformatex)?;
            require(pnformatcount)?;
            require(pppwszmimetype)?;
            require(pnmimetypecount)?;
            let f = self.core.format_support()?;
            let mimes = f
                .mime_types
                .iter()
                .map(|m| co_wstr(m))
                .collect::<Result<Vec<_>>>()?;
            put_array(
                pformatex,
                pnformatcount,
                f.audio.iter().map(wave_to_c).collect(),
            )?;
            put_array(pppwszmimetype, pnmimetypecount, mimes)
        })
    }

    fn SendOpaqueCommand(&self, pcommand: *mut OPAQUECOMMAND) -> windows_core::Result<()> {
        call(&self.channel, || {
            opaque_command(&self.channel, pcommand, |c| {
                self.core.send_opaque_command(c)
            })
        })
    }
}

impl IMDSPDevice2_Impl for ComDevice_Impl {
    fn GetStorage(&self, pszstoragename: &PCWSTR) -> windows_core::Result<IMDSPStorage> {
        call(&self.channel, || {
            let name = read_wstr(pszstoragename)?;
            Ok(self.storage(self.core.storage(&name)?))
        })
    }

    fn GetFormatSupport2(
        &self,
        dwflags: u32,
        ppaudioformatex: *mut *mut WAVEFORMATEX,
        pnaudioformatcount: *mut u32,
        ppvideoformatex: *mut *mut VIDEOINFOHEADER,
        pnvideoformatcount: *mut u32,
        ppfiletype: *mut *mut WMFILECAPABILITIES,
        pnfiletypecount: *mut u32,
    ) -> windows_core::Result<()> {
        const AUDIO: u32 = 1;
        const VIDEO: u32 = 2;
        const FILE: u32 = 4;
        null_out(ppaudioformatex);
        null_out(ppvideoformatex);
        null_out(ppfiletype);
        zero(pnaudioformatcount);
        zero(pnvideoformatcount);
        zero(pnfiletypecount);
        call(&self.channel, || {
            if dwflags & !(AUDIO | VIDEO | FILE) != 0 {
                return Err(Error::InvalidArg);
            }
            let f = self.core.format_support()?;
            if dwflags & AUDIO != 0 {
                put_array(
                    ppaudioformatex,
                    pnaudioformatcount,
                    f.audio.iter().map(wave_to_c).collect(),
                )?;
            }
            if dwflags & VIDEO != 0 {
                put_array(
                    ppvideoformatex,
                    pnvideoformatcount,
                    f.video.iter().map(video_to_c).collect(),
                )?;
            }
            if dwflags & FILE != 0 {
                let caps = f
                    .mime_types
                    .iter()
                    .map(|m| {
                        Ok(WMFILECAPABILITIES {
                            pwszMimeType: co_wstr(m)?,
                            dwReserved: 0,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                put_array(ppfiletype, pnfiletypecount, caps)?;
            }
            Ok(())
        })
    }

    fn GetSpecifyPropertyPages(
        &self,
        ppspecifyproppages: OutRef<ISpecifyPropertyPages>,
        pppunknowns: *mut *mut Option<IUnknown>,
        pcunks: *mut u32,
    ) -> windows_core::Result<()> {
        let _ = ppspecifyproppages.write(None);
        null_out(pppunknowns);
        zero(pcunks);
        // The core has no property pages (a Windows UI concept); WMDM treats the method as
        // optional.
        call(&self.channel, || Err(Error::NotSupported))
    }

    fn GetCanonicalName(&self, pwszpnpname: PWSTR, nmaxchars: u32) -> windows_core::Result<()> {
        call(&self.channel, || {
            write_wstr(pwszpnpname, nmaxchars, &self.core.canonical_name()?)
        })
    }
}

impl IMDSPDevice3_Impl for ComDevice_Impl {
    fn GetProperty(&self, pwszpropname: &PCWSTR) -> windows_core::Result<PROPVARIANT> {
        call(&self.channel, || {
            let name = read_wstr(pwszpropname)?;
            to_propvariant(&self.core.property(&name)?)
        })
    }

    fn SetProperty(
        &self,
        pwszpropname: &PCWSTR,
        pvalue: *const PROPVARIANT,
    ) -> windows_core::Result<()> {
        call(&self.channel, || {
            let name = read_wstr(pwszpropname)?;
            let value = from_propvariant(pvalue)?;
            self.core.set_property(&name, &value)
        })
    }

    fn GetFormatCapability(
        &self,
        format: WMDM_FORMATCODE,
    ) -> windows_core::Result<WMDM_FORMAT_CAPABILITY> {
        call(&self.channel, || {
            capability_to_c(&self.core.format_capability(FormatCode(format.0 as u32))?)
        })
    }

    fn DeviceIoControl(
        &self,
        dwiocontrolcode: u32,
        lpinbuffer: *const u8,
        ninbuffersize: u32,
        lpoutbuffer: *mut u8,
        pnoutbuffersize: *mut u32,
    ) -> windows_core::Result<()> {
        call(&self.channel, || {
            require(pnoutbuffersize)?;
            let input: &[u8] = if ninbuffersize == 0 {
                &[]
            } else {
                require(lpinbuffer)?;
                // SAFETY: the caller passes `ninbuffersize` readable bytes.
                unsafe { std::slice::from_raw_parts(lpinbuffer, ninbuffersize as usize) }
            };
            // SAFETY: checked non-null; in: the output buffer's capacity.
            let capacity = unsafe { *pnoutbuffersize } as usize;
            let reply = self.core.io_control(dwiocontrolcode, input, capacity)?;
            if reply.len() > capacity {
                return Err(Error::BufferTooSmall);
            }
            if !reply.is_empty() {
                require(lpoutbuffer)?;
                // SAFETY: the reply fits in the caller's `capacity` bytes.
                unsafe { std::ptr::copy_nonoverlapping(reply.as_ptr(), lpoutbuffer, reply.len()) };
            }
            put(pnoutbuffersize, reply.len() as u32)
        })
    }

    fn FindStorage(
        &self,
        findscope: WMDM_FIND_SCOPE,
        pwszuniqueid: &PCWSTR,
    ) -> windows_core::Result<IMDSPStorage> {
        call(&self.channel, || {
            let id = read_wstr(pwszuniqueid)?;
            let scope = FindScope(findscope.0 as u32);
            if !scope.is_known() {
                return Err(Error::InvalidArg);
            }
            Ok(self.storage(self.core.find_storage(scope, &id)?))
        })
    }
}

/// A core device as a COM object.
pub(crate) fn device_object(d: DeviceRef, channel: Arc<ComChannel>) -> IMDSPDevice {
    let d3: IMDSPDevice3 = ComDevice::new(d, channel).into();
    d3.into()
}
