//! IMDSPStorage, IMDSPStorage2, IMDSPStorage3 and IMDSPStorage4 over a [`Storage`]. The same
//! object carries IMDSPObject/2, IMDSPObjectInfo and IMDSPDirectTransfer (see `object.rs`), as
//! WMDM expects of a storage.

use std::sync::{Arc, Mutex};

use windows::Win32::Media::Audio::WAVEFORMATEX;
use windows::Win32::Media::DeviceManager::{
    IMDSPDirectTransfer, IMDSPEnumStorage, IMDSPObject2, IMDSPObjectInfo, IMDSPStorage,
    IMDSPStorage_Impl, IMDSPStorage2_Impl, IMDSPStorage3_Impl, IMDSPStorage4, IMDSPStorage4_Impl,
    IMDSPStorageGlobals, IWMDMMetaData, OPAQUECOMMAND, WMDM_FIND_SCOPE, WMDMDATETIME, WMDMRIGHTS,
};
use windows::Win32::Media::MediaFoundation::VIDEOINFOHEADER;
use windows_core::{Interface, PCWSTR, PWSTR, Ref, implement};

use super::bridge;
use super::channel::ComChannel;
use super::convert::{date_to_c, rights_to_c, video_from_c, video_to_c, wave_from_c, wave_to_c};
use super::device::opaque_command;
use super::enums::ComEnumStorage;
use super::globals::ComGlobals;
use super::util::{
    call, call_status, co_array, put, put_u64, read_wstr, require, write_wstr, zero,
};
use crate::error::{Error, Result};
use crate::flags::{Attributes, FindScope, Mode, Placement};
use crate::provider::{CreateRequest, ObjectIo, RightsRecord, StorageRef};
use crate::sac::MAC_LEN;

/// The placement bits (`WMDM_STORAGECONTROL_INSERT*`) that CreateStorage's attributes may carry.
const PLACEMENT_BITS: u32 = 0x200 | 0x400 | 0x800;

/// One storage (file, folder, abstract object or medium root) as a COM object.
#[implement(IMDSPStorage4, IMDSPObject2, IMDSPObjectInfo)]
#[derive(Debug)]
pub(crate) struct ComStorage {
    pub(super) core: StorageRef,
    pub(super) channel: Arc<ComChannel>,
    /// The Open session, between IMDSPObject::Open and Close.
    pub(super) io: Mutex<Option<Box<dyn ObjectIo>>>,
}

/// A storage whose core copies content itself: [`ComStorage`] plus IMDSPDirectTransfer. WMDM
/// asks every storage for that interface and, when it is there, hands the transfer over, so
/// only storages that can do it answer.
#[implement(IMDSPStorage4, IMDSPObject2, IMDSPObjectInfo, IMDSPDirectTransfer)]
#[derive(Debug)]
pub(crate) struct ComStorageDirect(pub(super) ComStorage);

impl std::ops::Deref for ComStorageDirect {
    type Target = ComStorage;

    fn deref(&self) -> &ComStorage {
        &self.0
    }
}

impl ComStorage {
    pub(crate) fn new(core: StorageRef, channel: Arc<ComChannel>) -> ComStorage {
        ComStorage {
            core,
            channel,
            io: Mutex::new(None),
        }
    }

    pub(super) fn wrap(&self, s: StorageRef) -> IMDSPStorage {
        storage_object(s, self.channel.clone())
    }

    /// The core object behind a storage the caller passes in; only this crate's storages have
    /// one.
    pub(super) fn core_of(s: &IMDSPStorage) -> Result<StorageRef> {
        if let Ok(o) = s.cast_object_ref::<ComStorage>() {
            return Ok(o.core.clone());
        }
        s.cast_object_ref::<ComStorageDirect>()
            .map(|o| o.core.clone())
            .map_err(|_| Error::InvalidArg)
    }

    fn create(&self, request: CreateRequest) -> Result<IMDSPStorage> {
        Ok(self.wrap(self.core.create(&request)?))
    }
}

/// Splits CreateStorage's attributes into the object's attributes and the placement.
fn create_request(name: String, raw: u32) -> Result<CreateRequest> {
    let placement = if raw & PLACEMENT_BITS == 0 {
        Placement::Into
    } else {
        Mode::from_bits_retain(raw & PLACEMENT_BITS).placement()?
    };
    let attributes = Attributes::from_bits_retain(raw & !PLACEMENT_BITS);
    Ok(CreateRequest::with_attributes(name, attributes).placement(placement))
}

/// Reads an optional caller structure.
fn opt<T: Copy, U>(p: *const T, f: impl Fn(&T) -> U) -> Option<U> {
    if p.is_null() {
        None
    } else {
        // SAFETY: a non-null [in] pointer to one T, valid for the call. T is Copy, so a
        // possibly unaligned (packed) structure is read by value.
        Some(f(&unsafe { p.read_unaligned() }))
    }
}

/// The bytes GetRights' MAC covers: every WMDMRIGHTS, then the count.
pub(super) fn rights_mac_parts(rights: &[RightsRecord]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(rights.len() * RightsRecord::STRUCT_SIZE + 4);
    for r in rights {
        bytes.extend_from_slice(&r.to_struct_bytes());
    }
    bytes.extend_from_slice(&(rights.len() as u32).to_le_bytes());
    bytes
}

/// The storage interfaces, for both storage object types (with and without
/// IMDSPDirectTransfer): the bodies are the same; only QueryInterface differs.
macro_rules! storage_interfaces {
    ($t:ty) => {
        impl IMDSPStorage_Impl for $t {
            fn SetAttributes(
                &self,
                dwattributes: u32,
                pformat: *const WAVEFORMATEX,
            ) -> windows_core::Result<()> {
                call(&self.channel, || {
                    let mut a = self.core.attributes()?;
                    a.attributes = Attributes::from_bits_retain(dwattributes);
                    if let Some(w) = opt(pformat, wave_from_c) {
                        a.audio = Some(w);
                    }
                    self.core.set_attributes(&a)
                })
            }

            fn GetStorageGlobals(&self) -> windows_core::Result<IMDSPStorageGlobals> {
                call(&self.channel, || {
                    Ok(ComGlobals::new(self.core.globals()?, self.channel.clone()).into())
                })
            }

            fn GetAttributes(
                &self,
                pdwattributes: *mut u32,
                pformat: *mut WAVEFORMATEX,
            ) -> windows_core::Result<()> {
                zero(pdwattributes);
                zero(pformat);
                call(&self.channel, || {
                    require(pdwattributes)?;
                    let a = self.core.attributes()?;
                    put(pdwattributes, a.attributes.bits())?;
                    if let Some(w) = a.audio.as_ref().filter(|_| !pformat.is_null()) {
                        put(pformat, wave_to_c(w))?;
                    }
                    Ok(())
                })
            }

            fn GetName(&self, pwszname: PWSTR, nmaxchars: u32) -> windows_core::Result<()> {
                call(&self.channel, || {
                    write_wstr(pwszname, nmaxchars, &self.core.name()?)
                })
            }

            fn GetDate(&self) -> windows_core::Result<WMDMDATETIME> {
                call(&self.channel, || Ok(date_to_c(&self.core.date()?)))
            }

            fn GetSize(
                &self,
                pdwsizelow: *mut u32,
                pdwsizehigh: *mut u32,
            ) -> windows_core::Result<()> {
                zero(pdwsizelow);
                zero(pdwsizehigh);
                call(&self.channel, || {
                    put_u64(pdwsizelow, pdwsizehigh, self.core.size()?)
                })
            }

            fn GetRights(
                &self,
                pprights: *mut *mut WMDMRIGHTS,
                pnrightscount: *mut u32,
                abmac: *mut u8,
            ) -> windows_core::Result<()> {
                if !pprights.is_null() {
                    // SAFETY: non-null out-pointer.
                    unsafe { pprights.write(std::ptr::null_mut()) };
                }
                zero(pnrightscount);
                zero(abmac.cast::<[u8; MAC_LEN]>());
                call(&self.channel, || {
                    require(pprights)?;
                    require(pnrightscount)?;
                    require(abmac)?;
                    let rights = self.core.rights()?;
                    let mac = self.channel.mac(&[&rights_mac_parts(&rights)])?;
                    let n = rights.len() as u32;
                    let array = co_array(rights.iter().map(rights_to_c).collect())?;
                    put(pprights, array)?;
                    put(pnrightscount, n)?;
                    put(abmac.cast::<[u8; MAC_LEN]>(), mac)
                })
            }

            fn CreateStorage(
                &self,
                dwattributes: u32,
                pformat: *const WAVEFORMATEX,
                pwszname: &PCWSTR,
            ) -> windows_core::Result<IMDSPStorage> {
                call(&self.channel, || {
                    let mut r = create_request(read_wstr(pwszname)?, dwattributes)?;
                    r.audio = opt(pformat, wave_from_c);
                    self.create(r)
                })
            }

            fn EnumStorage(&self) -> windows_core::Result<IMDSPEnumStorage> {
                call(&self.channel, || {
                    Ok(ComEnumStorage::new(self.core.children()?, self.channel.clone()).into())
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

        impl IMDSPStorage2_Impl for $t {
            fn GetStorage(&self, pszstoragename: &PCWSTR) -> windows_core::Result<IMDSPStorage> {
                call(&self.channel, || {
                    Ok(self.wrap(self.core.child(&read_wstr(pszstoragename)?)?))
                })
            }

            fn CreateStorage2(
                &self,
                dwattributes: u32,
                dwattributesex: u32,
                paudioformat: *const WAVEFORMATEX,
                pvideoformat: *const VIDEOINFOHEADER,
                pwszname: &PCWSTR,
                qwfilesize: u64,
            ) -> windows_core::Result<IMDSPStorage> {
                call(&self.channel, || {
                    let mut r = create_request(read_wstr(pwszname)?, dwattributes)?;
                    r.attributes_ex = dwattributesex;
                    r.audio = opt(paudioformat, wave_from_c);
                    r.video = opt(pvideoformat, video_from_c);
                    r.size_hint = (qwfilesize != 0).then_some(qwfilesize);
                    self.create(r)
                })
            }

            fn SetAttributes2(
                &self,
                dwattributes: u32,
                dwattributesex: u32,
                paudioformat: *const WAVEFORMATEX,
                pvideoformat: *const VIDEOINFOHEADER,
            ) -> windows_core::Result<()> {
                call(&self.channel, || {
                    let mut a = self.core.attributes()?;
                    a.attributes = Attributes::from_bits_retain(dwattributes);
                    a.attributes_ex = dwattributesex;
                    if let Some(w) = opt(paudioformat, wave_from_c) {
                        a.audio = Some(w);
                    }
                    if let Some(v) = opt(pvideoformat, video_from_c) {
                        a.video = Some(v);
                    }
                    self.core.set_attributes(&a)
                })
            }

            fn GetAttributes2(
                &self,
                pdwattributes: *mut u32,
                pdwattributesex: *mut u32,
                paudioformat: *mut WAVEFORMATEX,
                pvideoformat: *mut VIDEOINFOHEADER,
            ) -> windows_core::Result<()> {
                zero(pdwattributes);
                zero(pdwattributesex);
                zero(paudioformat);
                zero(pvideoformat);
                call(&self.channel, || {
                    require(pdwattributes)?;
                    require(pdwattributesex)?;
                    let a = self.core.attributes()?;
                    put(pdwattributes, a.attributes.bits())?;
                    put(pdwattributesex, a.attributes_ex)?;
                    if let Some(w) = a.audio.as_ref().filter(|_| !paudioformat.is_null()) {
                        put(paudioformat, wave_to_c(w))?;
                    }
                    if let Some(v) = a.video.as_ref().filter(|_| !pvideoformat.is_null()) {
                        put(pvideoformat, video_to_c(v))?;
                    }
                    Ok(())
                })
            }
        }

        impl IMDSPStorage3_Impl for $t {
            fn GetMetadata(&self, pmetadata: Ref<IWMDMMetaData>) -> windows_core::Result<()> {
                call(&self.channel, || {
                    let target = pmetadata.as_ref().ok_or(Error::NullPointer)?;
                    bridge::fill(target, &self.core.metadata()?)
                })
            }

            fn SetMetadata(&self, pmetadata: Ref<IWMDMMetaData>) -> windows_core::Result<()> {
                call_status(&self.channel, || {
                    let source = pmetadata.as_ref().ok_or(Error::NullPointer)?;
                    self.core.set_metadata(&bridge::read(source)?)
                })
            }
        }

        impl IMDSPStorage4_Impl for $t {
            fn SetReferences(
                &self,
                dwrefs: u32,
                ppispstorage: *const Option<IMDSPStorage>,
            ) -> windows_core::Result<()> {
                call(&self.channel, || {
                    let refs: &[Option<IMDSPStorage>] = if dwrefs == 0 {
                        &[]
                    } else {
                        require(ppispstorage)?;
                        // SAFETY: the caller passes an array of `dwrefs` interface pointers.
                        unsafe { std::slice::from_raw_parts(ppispstorage, dwrefs as usize) }
                    };
                    let cores = refs
                        .iter()
                        .map(|r| {
                            r.as_ref()
                                .ok_or(Error::InvalidArg)
                                .and_then(ComStorage::core_of)
                        })
                        .collect::<Result<Vec<_>>>()?;
                    self.core.set_references(&cores)
                })
            }

            fn GetReferences(
                &self,
                pdwrefs: *mut u32,
                pppispstorage: *mut *mut Option<IMDSPStorage>,
            ) -> windows_core::Result<()> {
                zero(pdwrefs);
                if !pppispstorage.is_null() {
                    // SAFETY: non-null out-pointer.
                    unsafe { pppispstorage.write(std::ptr::null_mut()) };
                }
                call(&self.channel, || {
                    require(pdwrefs)?;
                    require(pppispstorage)?;
                    let refs: Vec<Option<IMDSPStorage>> = self
                        .core
                        .references()?
                        .into_iter()
                        .map(|s| Some(self.wrap(s)))
                        .collect();
                    let n = refs.len() as u32;
                    put(pppispstorage, co_array(refs)?)?;
                    put(pdwrefs, n)
                })
            }

            fn CreateStorageWithMetadata(
                &self,
                dwattributes: u32,
                pwszname: &PCWSTR,
                pmetadata: Ref<IWMDMMetaData>,
                qwfilesize: u64,
            ) -> windows_core::Result<IMDSPStorage> {
                call(&self.channel, || {
                    let mut r = create_request(read_wstr(pwszname)?, dwattributes)?;
                    if let Some(m) = pmetadata.as_ref() {
                        r.metadata = Some(bridge::read(m)?);
                    }
                    r.size_hint = (qwfilesize != 0).then_some(qwfilesize);
                    self.create(r)
                })
            }

            fn GetSpecifiedMetadata(
                &self,
                cproperties: u32,
                ppwszpropnames: *const PCWSTR,
                pmetadata: Ref<IWMDMMetaData>,
            ) -> windows_core::Result<()> {
                call_status(&self.channel, || {
                    let target = pmetadata.as_ref().ok_or(Error::NullPointer)?;
                    let names: &[PCWSTR] = if cproperties == 0 {
                        &[]
                    } else {
                        require(ppwszpropnames)?;
                        // SAFETY: the caller passes an array of `cproperties` string pointers.
                        unsafe { std::slice::from_raw_parts(ppwszpropnames, cproperties as usize) }
                    };
                    let names = names.iter().map(read_wstr).collect::<Result<Vec<_>>>()?;
                    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                    let (m, status) = self.core.specified_metadata(&refs)?;
                    bridge::fill(target, &m)?;
                    Ok(status)
                })
            }

            fn FindStorage(
                &self,
                findscope: WMDM_FIND_SCOPE,
                pwszuniqueid: &PCWSTR,
            ) -> windows_core::Result<IMDSPStorage> {
                call(&self.channel, || {
                    let scope = FindScope(findscope.0 as u32);
                    if !scope.is_known() {
                        return Err(Error::InvalidArg);
                    }
                    Ok(self.wrap(self.core.find_storage(scope, &read_wstr(pwszuniqueid)?)?))
                })
            }

            fn GetParent(&self) -> windows_core::Result<IMDSPStorage> {
                call(&self.channel, || match self.core.parent()? {
                    Some(p) => Ok(self.wrap(p)),
                    // A medium's root has no parent.
                    None => Err(Error::FileNotFound),
                })
            }
        }
    };
}

storage_interfaces!(ComStorage_Impl);
storage_interfaces!(ComStorageDirect_Impl);

/// A core storage as a COM object.
pub(crate) fn storage_object(s: StorageRef, channel: Arc<ComChannel>) -> IMDSPStorage {
    let direct = s.direct_transfer().is_some();
    let object = ComStorage::new(s, channel);
    let s4: IMDSPStorage4 = if direct {
        ComStorageDirect(object).into()
    } else {
        object.into()
    };
    s4.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement_bits_are_split_from_the_attributes() {
        let r = create_request("a".into(), 0x20).unwrap();
        assert_eq!(
            (r.placement, r.attributes),
            (Placement::Into, Attributes::FILE)
        );
        let r = create_request("a".into(), 0x20 | 0x200).unwrap();
        assert_eq!(
            (r.placement, r.attributes),
            (Placement::Before, Attributes::FILE)
        );
        let r = create_request("a".into(), 0x08 | 0x400 | 0x0010_0000).unwrap();
        assert_eq!(r.placement, Placement::After);
        assert!(r.is_folder() && r.is_overwrite());
        assert_eq!(
            create_request("a".into(), 0x20 | 0x200 | 0x800).err(),
            Some(Error::InvalidArg)
        );
    }

    #[test]
    fn the_rights_mac_covers_the_array_then_the_count() {
        let r = RightsRecord::default();
        let bytes = rights_mac_parts(&[r, r]);
        assert_eq!(bytes.len(), 2 * RightsRecord::STRUCT_SIZE + 4);
        assert_eq!(&bytes[bytes.len() - 4..], &2u32.to_le_bytes());
    }
}
