//! IMDSPEnumDevice and IMDSPEnumStorage over the core's [`Enumerator`].

use std::sync::{Arc, Mutex, MutexGuard};

use windows::Win32::Media::DeviceManager::{
    IMDSPDevice, IMDSPEnumDevice, IMDSPEnumDevice_Impl, IMDSPEnumStorage, IMDSPEnumStorage_Impl,
    IMDSPStorage,
};
use windows_core::{HRESULT, implement};

use super::channel::ComChannel;
use super::device::device_object;
use super::storage::storage_object;
use super::util::{call, put, require};
use crate::error::{Error, Result};
use crate::provider::{DeviceRef, Enumerator, StorageRef};

/// A lock that survives a panic elsewhere (the data behind it stays consistent: every
/// critical section is a plain read or a single update).
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Skip's contract for the enumerators whose Skip returns `S_FALSE` when short.
pub(super) fn skip<T: Clone>(
    cursor: &Mutex<Enumerator<T>>,
    count: u32,
) -> windows_core::Result<()> {
    let skipped = lock(cursor).skip_n(count as usize);
    short_to_result(skipped < count as usize)
}

/// Clone's cursor: an independent copy at the same position.
pub(super) fn cloned<T: Clone>(cursor: &Mutex<Enumerator<T>>) -> Mutex<Enumerator<T>> {
    Mutex::new(lock(cursor).clone())
}

/// Next's contract, for every COM enumerator of the crate: up to `celt` items into the
/// caller's array (each made into its out-value by `wrap`), the count into `pceltfetched`
/// (which may be null only when `celt` is 1); true (`S_FALSE`) when fewer came back.
pub(super) fn next<T: Clone, O>(
    cursor: &Mutex<Enumerator<T>>,
    celt: u32,
    out: *mut O,
    fetched: *mut u32,
    wrap: impl Fn(T) -> O,
) -> Result<bool> {
    if !fetched.is_null() {
        // SAFETY: non-null out-pointer to one u32.
        unsafe { fetched.write(0) };
    }
    require(out)?;
    if fetched.is_null() && celt != 1 {
        return Err(Error::NullPointer);
    }
    let batch = lock(cursor).next_n(celt as usize);
    let n = batch.items.len() as u32;
    for (i, item) in batch.items.into_iter().enumerate() {
        // SAFETY: the caller's array has room for `celt` pointers and `i < n <= celt`; the
        // slots are uninitialised out-values, so `write` (no drop) is right.
        unsafe { out.add(i).write(wrap(item)) };
    }
    if !fetched.is_null() {
        put(fetched, n)?;
    }
    Ok(batch.short)
}

/// Skip's and Next's `S_FALSE` for a `Result<()>` method.
pub(super) fn short_to_result(short: bool) -> windows_core::Result<()> {
    if short {
        // S_FALSE is a success code; it travels in the error slot (see util::call_status).
        Err(windows_core::Error::from_hresult(HRESULT(1)))
    } else {
        Ok(())
    }
}

/// IMDSPEnumDevice over a snapshot of the provider's devices.
#[implement(IMDSPEnumDevice)]
#[derive(Debug)]
pub(crate) struct ComEnumDevice {
    cursor: Mutex<Enumerator<DeviceRef>>,
    channel: Arc<ComChannel>,
}

/// IMDSPEnumStorage over a snapshot of a device's media or a folder's children.
#[implement(IMDSPEnumStorage)]
#[derive(Debug)]
pub(crate) struct ComEnumStorage {
    cursor: Mutex<Enumerator<StorageRef>>,
    channel: Arc<ComChannel>,
}

/// The two enumerators' code: IMDSPEnumDevice and IMDSPEnumStorage have the same four methods
/// over different item types. (`#[implement]` stays outside the macro: its generated code does
/// not survive macro hygiene.)
macro_rules! enumerator {
    ($name:ident, $impl_ty:ident: $iface:ident, $impl_trait:ident, $item_iface:ident,
     $item:ty, $wrap:path) => {
        impl $name {
            pub(crate) fn new(items: Vec<$item>, channel: Arc<ComChannel>) -> $name {
                $name {
                    cursor: Mutex::new(Enumerator::new(items)),
                    channel,
                }
            }
        }

        impl $impl_trait for $impl_ty {
            fn Next(
                &self,
                celt: u32,
                items: *mut Option<$item_iface>,
                pceltfetched: *mut u32,
            ) -> windows_core::Result<()> {
                let short = call(&self.channel, || {
                    next(&self.cursor, celt, items, pceltfetched, |item| {
                        Some($wrap(item, self.channel.clone()))
                    })
                })?;
                short_to_result(short)
            }

            fn Skip(&self, celt: u32) -> windows_core::Result<u32> {
                call(&self.channel, || {
                    Ok(lock(&self.cursor).skip_n(celt as usize) as u32)
                })
            }

            fn Reset(&self) -> windows_core::Result<()> {
                call(&self.channel, || {
                    lock(&self.cursor).reset();
                    Ok(())
                })
            }

            fn Clone(&self) -> windows_core::Result<$iface> {
                call(&self.channel, || {
                    Ok($name {
                        cursor: cloned(&self.cursor),
                        channel: self.channel.clone(),
                    }
                    .into())
                })
            }
        }
    };
}

enumerator!(ComEnumDevice, ComEnumDevice_Impl: IMDSPEnumDevice, IMDSPEnumDevice_Impl,
    IMDSPDevice, DeviceRef, device_object);
enumerator!(ComEnumStorage, ComEnumStorage_Impl: IMDSPEnumStorage, IMDSPEnumStorage_Impl,
    IMDSPStorage, StorageRef, storage_object);
