//! Adapters for the objects a caller passes in: IWMDMMetaData (read and filled through its own
//! vtable, converted with [`TagValue::to_bytes`] / [`TagValue::from_bytes`]) and IWMDMProgress.

use windows::Win32::Media::DeviceManager::{
    IWMDMMetaData, IWMDMProgress, IWMDMProgress2, WMDM_TAG_DATATYPE,
};
use windows_core::{HRESULT, HSTRING, Interface, PCWSTR};

use super::util::co_free;
use crate::error::{Error, Hresult, Result};
use crate::flags::TagDataType;
use crate::metadata::Metadata;
use crate::provider::Progress;

fn from_win(e: &windows_core::Error) -> Error {
    Error::from_hresult(Hresult(e.code().0))
}

/// Adds every item of `m` to the caller's metadata object (GetMetadata).
///
/// # Errors
/// The caller's object's errors, mapped through [`Error::from_hresult`].
pub(crate) fn fill(target: &IWMDMMetaData, m: &Metadata) -> Result<()> {
    for (name, value) in m.iter() {
        let bytes = value.to_bytes();
        let name = HSTRING::from(name);
        let ty = WMDM_TAG_DATATYPE(value.data_type().0 as i32);
        // SAFETY: `name` and `bytes` outlive the call; the interface pointer is live (we hold a
        // reference).
        unsafe { target.AddItem(ty, PCWSTR(name.as_ptr()), Some(&bytes)) }
            .map_err(|e| from_win(&e))?;
    }
    Ok(())
}

/// Reads every item of the caller's metadata object (SetMetadata, CreateStorageWithMetadata).
///
/// # Errors
/// The caller's object's errors; [`Error::InvalidArg`] for an item whose bytes do not fit its
/// type.
pub(crate) fn read(source: &IWMDMMetaData) -> Result<Metadata> {
    // SAFETY: a live interface pointer.
    let count = unsafe { source.GetItemCount() }.map_err(|e| from_win(&e))?;
    let mut m = Metadata::new();
    for i in 0..count {
        let mut name: *mut u16 = std::ptr::null_mut();
        let mut ty = WMDM_TAG_DATATYPE(0);
        let mut value: *mut u8 = std::ptr::null_mut();
        let mut len = 0u32;
        // SAFETY: every out-pointer points at a local; the object allocates the name and value
        // with CoTaskMemAlloc and the caller (we) frees them below.
        let r = unsafe { source.QueryByIndex(i, &mut name, &mut ty, &mut value, &mut len) };
        let item = r.map_err(|e| from_win(&e)).and_then(|()| {
            if name.is_null() {
                return Err(Error::InvalidArg);
            }
            // SAFETY: a NUL-terminated string returned by QueryByIndex.
            let n = unsafe { PCWSTR(name).to_string() }.map_err(|_| Error::InvalidArg)?;
            let bytes: &[u8] = if value.is_null() || len == 0 {
                &[]
            } else {
                // SAFETY: QueryByIndex returned `len` bytes at `value`.
                unsafe { std::slice::from_raw_parts(value, len as usize) }
            };
            m.add_raw(TagDataType(ty.0 as u32), n, bytes)
        });
        co_free(name);
        co_free(value);
        item?;
    }
    Ok(m)
}

/// IWMDMProgress as the core's [`Progress`]; `None` is a null progress pointer.
#[derive(Debug)]
pub(crate) struct ComProgress(Option<IWMDMProgress>);

// SAFETY: a ComProgress lives only for the duration of the provider call that received it and
// is used on that call's thread (the core's progress-taking methods run synchronously); `Send`
// is required only by the trait's bound.
unsafe impl Send for ComProgress {}

impl ComProgress {
    pub(crate) fn new(p: Option<IWMDMProgress>) -> ComProgress {
        ComProgress(p)
    }
}

fn ticks(t: u64) -> u32 {
    u32::try_from(t).unwrap_or(u32::MAX)
}

impl Progress for ComProgress {
    fn begin(&mut self, estimated_ticks: u64) -> Result<()> {
        match &self.0 {
            // SAFETY: a live interface pointer the caller passed for this call.
            Some(p) => unsafe { p.Begin(ticks(estimated_ticks)) }.map_err(|e| from_win(&e)),
            None => Ok(()),
        }
    }

    fn progress(&mut self, transpired_ticks: u64) -> Result<()> {
        match &self.0 {
            // SAFETY: as in `begin`.
            Some(p) => unsafe { p.Progress(ticks(transpired_ticks)) }.map_err(|e| from_win(&e)),
            None => Ok(()),
        }
    }

    /// IWMDMProgress2::End2 with the operation's HRESULT when the sink has it, else
    /// IWMDMProgress::End.
    fn end(&mut self, result: Result<()>) {
        if let Some(p) = &self.0 {
            // SAFETY: as in `begin`. End's own failure has nowhere to go.
            match p.cast::<IWMDMProgress2>() {
                Ok(p2) => {
                    let hr = match &result {
                        Ok(()) => HRESULT(0),
                        Err(e) => HRESULT(e.hresult().0),
                    };
                    let _ = unsafe { p2.End2(hr) };
                }
                Err(_) => {
                    let _ = unsafe { p.End() };
                }
            }
        }
    }
}
