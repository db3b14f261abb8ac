//! IMDSPObject / IMDSPObject2 (with the MAC and encryption of Microsoft's reference: <https://learn.microsoft.com/en-us/windows/win32/wmdm/message-authentication>), IMDSPObjectInfo
//! and IMDSPDirectTransfer, on the same COM object as the storage interfaces.

use std::path::PathBuf;
use std::sync::MutexGuard;

use windows::Win32::Media::DeviceManager::{
    IMDSPDirectTransfer_Impl, IMDSPObject_Impl, IMDSPObject2_Impl, IMDSPObjectInfo_Impl,
    IMDSPStorage, IWMDMMetaData, IWMDMOperation, IWMDMProgress,
};
use windows_core::{Interface, PCWSTR, Ref};

use super::bridge::{self, ComProgress};
use super::storage::{ComStorage, ComStorage_Impl, ComStorageDirect_Impl};
use super::transfer::OperationReader;
use super::util::{call, put, read_wstr, require, zero};
use crate::error::{Error, Result};
use crate::flags::{Attributes, Mode, OpenMode, SeekOrigin};
use crate::provider::{ObjectInfo, ObjectIo, TransferOptions, TransferSource};
use crate::sac::MAC_LEN;

type Session<'a> = MutexGuard<'a, Option<Box<dyn ObjectIo>>>;

impl ComStorage {
    fn session(&self) -> Session<'_> {
        self.io.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads up to `len` bytes of the open object (fewer only at the end).
    fn read_plain(&self, len: usize) -> Result<Vec<u8>> {
        let mut guard = self.session();
        let io = guard.as_mut().ok_or(Error::CallOutOfSequence)?;
        let mut buf = vec![0u8; len];
        let mut filled = 0;
        while filled < len {
            let n = io.read(&mut buf[filled..])?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        buf.truncate(filled);
        Ok(buf)
    }

    /// Writes all of `data` to the open object.
    fn write_plain(&self, data: &[u8]) -> Result<usize> {
        let mut guard = self.session();
        let io = guard.as_mut().ok_or(Error::CallOutOfSequence)?;
        let mut done = 0;
        while done < data.len() {
            let n = io.write(&data[done..])?;
            if n == 0 {
                break;
            }
            done += n;
        }
        Ok(done)
    }

    fn info(&self) -> Result<&dyn ObjectInfo> {
        self.core.object_info().ok_or(Error::NotSupported)
    }
}

/// The caller's data buffer and its in/out size.
fn buffer<'a>(pdata: *const u8, pdwsize: *mut u32) -> Result<(usize, &'a [u8])> {
    require(pdwsize)?;
    // SAFETY: checked non-null; in: the number of bytes at pdata.
    let n = unsafe { *pdwsize } as usize;
    if n == 0 {
        return Ok((0, &[]));
    }
    require(pdata)?;
    // SAFETY: the caller's buffer holds `n` bytes.
    Ok((n, unsafe { std::slice::from_raw_parts(pdata, n) }))
}

fn copy_out(pdata: *mut u8, data: &[u8]) {
    if !data.is_empty() {
        // SAFETY: `data.len()` is at most the caller's buffer size (what was asked for).
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), pdata, data.len()) };
    }
}

/// The object interfaces, for both storage object types.
macro_rules! object_interfaces {
    ($t:ty) => {
        impl IMDSPObject_Impl for $t {
            fn Open(&self, fumode: u32) -> windows_core::Result<()> {
                call(&self.channel, || {
                    let mode = OpenMode(fumode).validate()?;
                    let mut guard = self.session();
                    if guard.is_some() {
                        return Err(Error::CallOutOfSequence);
                    }
                    *guard = Some(self.core.open(mode)?);
                    Ok(())
                })
            }

            fn Read(
                &self,
                pdata: *mut u8,
                pdwsize: *mut u32,
                abmac: *mut u8,
            ) -> windows_core::Result<()> {
                zero(abmac.cast::<[u8; MAC_LEN]>());
                call(&self.channel, || {
                    require(abmac)?;
                    let (n, _) = buffer(pdata, pdwsize)?;
                    let mut data = self.read_plain(n)?;
                    let size = (data.len() as u32).to_le_bytes();
                    // The MAC covers the plaintext and the size; the data then goes out encrypted.
                    let mac = self.channel.mac(&[&data, &size])?;
                    self.channel.encrypt(&mut data)?;
                    copy_out(pdata, &data);
                    put(pdwsize, data.len() as u32)?;
                    put(abmac.cast::<[u8; MAC_LEN]>(), mac)
                })
            }

            fn Write(
                &self,
                pdata: *const u8,
                pdwsize: *mut u32,
                abmac: *mut u8,
            ) -> windows_core::Result<()> {
                call(&self.channel, || {
                    require(abmac)?;
                    let (n, bytes) = buffer(pdata, pdwsize)?;
                    let mut data = bytes.to_vec();
                    self.channel.decrypt(&mut data)?;
                    // SAFETY: checked non-null; [in] the client's MAC of MAC_LEN bytes.
                    let mac = unsafe { abmac.cast::<[u8; MAC_LEN]>().read_unaligned() };
                    self.channel
                        .verify_mac(&[&data, &(n as u32).to_le_bytes()], &mac)?;
                    let written = self.write_plain(&data)?;
                    put(pdwsize, written as u32)
                })
            }

            fn Delete(
                &self,
                fumode: u32,
                pprogress: Ref<IWMDMProgress>,
            ) -> windows_core::Result<()> {
                call(&self.channel, || {
                    let recursive = Mode::from_bits_retain(fumode).contains(Mode::RECURSIVE);
                    let mut progress = ComProgress::new(pprogress.cloned());
                    self.core.delete(recursive, &mut progress)
                })
            }

            fn Seek(&self, fuflags: u32, dwoffset: u32) -> windows_core::Result<()> {
                call(&self.channel, || {
                    let origin = SeekOrigin(fuflags);
                    if !origin.is_known() {
                        return Err(Error::InvalidArg);
                    }
                    let mut guard = self.session();
                    let io = guard.as_mut().ok_or(Error::CallOutOfSequence)?;
                    io.seek(origin, u64::from(dwoffset)).map(|_| ())
                })
            }

            fn Rename(
                &self,
                pwsznewname: &PCWSTR,
                pprogress: Ref<IWMDMProgress>,
            ) -> windows_core::Result<()> {
                call(&self.channel, || {
                    let name = read_wstr(pwsznewname)?;
                    let mut progress = ComProgress::new(pprogress.cloned());
                    self.core.rename(&name, &mut progress)
                })
            }

            fn Move(
                &self,
                fumode: u32,
                pprogress: Ref<IWMDMProgress>,
                ptarget: Ref<IMDSPStorage>,
            ) -> windows_core::Result<()> {
                call(&self.channel, || {
                    let placement = Mode::from_bits_retain(fumode).placement()?;
                    let target = ComStorage::core_of(ptarget.as_ref().ok_or(Error::NullPointer)?)?;
                    let mut progress = ComProgress::new(pprogress.cloned());
                    self.core.move_to(placement, target.as_ref(), &mut progress)
                })
            }

            fn Close(&self) -> windows_core::Result<()> {
                call(&self.channel, || {
                    let io = self.session().take().ok_or(Error::CallOutOfSequence)?;
                    io.close()
                })
            }
        }

        impl IMDSPObject2_Impl for $t {
            fn ReadOnClearChannel(
                &self,
                pdata: *mut u8,
                pdwsize: *mut u32,
            ) -> windows_core::Result<()> {
                call(&self.channel, || {
                    if !self.core.supports_clear_channel() {
                        return Err(Error::NotSupported);
                    }
                    let (n, _) = buffer(pdata, pdwsize)?;
                    let data = self.read_plain(n)?;
                    copy_out(pdata, &data);
                    put(pdwsize, data.len() as u32)
                })
            }

            fn WriteOnClearChannel(
                &self,
                pdata: *const u8,
                pdwsize: *mut u32,
            ) -> windows_core::Result<()> {
                call(&self.channel, || {
                    if !self.core.supports_clear_channel() {
                        return Err(Error::NotSupported);
                    }
                    let (_, bytes) = buffer(pdata, pdwsize)?;
                    let written = self.write_plain(bytes)?;
                    put(pdwsize, written as u32)
                })
            }
        }

        impl IMDSPObjectInfo_Impl for $t {
            fn GetPlayLength(&self) -> windows_core::Result<u32> {
                call(&self.channel, || self.info()?.play_length())
            }

            fn SetPlayLength(&self, dwlength: u32) -> windows_core::Result<()> {
                call(&self.channel, || self.info()?.set_play_length(dwlength))
            }

            fn GetPlayOffset(&self) -> windows_core::Result<u32> {
                call(&self.channel, || self.info()?.play_offset())
            }

            fn SetPlayOffset(&self, dwoffset: u32) -> windows_core::Result<()> {
                call(&self.channel, || self.info()?.set_play_offset(dwoffset))
            }

            fn GetTotalLength(&self) -> windows_core::Result<u32> {
                call(&self.channel, || self.info()?.total_length())
            }

            fn GetLastPlayPosition(&self) -> windows_core::Result<u32> {
                call(&self.channel, || self.info()?.last_play_position())
            }

            fn GetLongestPlayPosition(&self) -> windows_core::Result<u32> {
                call(&self.channel, || self.info()?.longest_play_position())
            }
        }
    };
}

object_interfaces!(ComStorage_Impl);
object_interfaces!(ComStorageDirect_Impl);

impl IMDSPDirectTransfer_Impl for ComStorageDirect_Impl {
    fn TransferToDevice(
        &self,
        pwszsourcefilepath: &PCWSTR,
        psourceoperation: Ref<IWMDMOperation>,
        fuflags: u32,
        pwszdestinationname: &PCWSTR,
        psourcemetadata: Ref<IWMDMMetaData>,
        ptransferprogress: Ref<IWMDMProgress>,
    ) -> windows_core::Result<IMDSPStorage> {
        call(&self.channel, || {
            let direct = self.core.direct_transfer().ok_or(Error::NotSupported)?;
            let has_path = !pwszsourcefilepath.is_null();
            if has_path == psourceoperation.is_some() {
                // Exactly one source: a file path or an operation interface.
                return Err(Error::InvalidArg);
            }
            let options = TransferOptions {
                destination_name: read_wstr(pwszdestinationname)?,
                overwrite: Attributes::from_bits_retain(fuflags)
                    .contains(Attributes::CREATE_OVERWRITE),
                metadata: match psourcemetadata.as_ref() {
                    Some(m) => Some(bridge::read(m)?),
                    None => None,
                },
                temporary: false,
            };
            let mut progress = ComProgress::new(ptransferprogress.cloned());
            let created = match psourceoperation.as_ref() {
                None => {
                    let path = PathBuf::from(read_wstr(pwszsourcefilepath)?);
                    direct.transfer_to_device(
                        TransferSource::File(&path),
                        &options,
                        &mut progress,
                    )?
                }
                Some(op) => {
                    let (mut reader, size) = OperationReader::begin(op, &self.channel)?;
                    let source = TransferSource::Reader {
                        reader: &mut reader,
                        size,
                    };
                    let result = direct.transfer_to_device(source, &options, &mut progress);
                    // A failure inside the stream is reported as itself, not as the I/O
                    // error the provider saw.
                    let result = match (result, reader.failure.clone()) {
                        (Err(_), Some(inner)) => Err(inner),
                        (r, _) => r,
                    };
                    let created = result.as_ref().ok().map(|s| self.wrap(s.clone()));
                    let unknown = created.as_ref().and_then(|c| c.cast().ok());
                    reader.end(
                        &result.as_ref().map(|_| ()).map_err(Clone::clone),
                        unknown.as_ref(),
                    );
                    result?
                }
            };
            Ok(self.wrap(created))
        })
    }
}
