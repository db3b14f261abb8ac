//! The boundary rules every method follows: authentication first, panics caught, errors mapped
//! through [`Error::hresult`], out-parameters null-checked, caller buffers size-checked,
//! callee-allocated memory from `CoTaskMemAlloc`.

use std::panic::{AssertUnwindSafe, catch_unwind};

use windows::Win32::System::Com::{CoTaskMemAlloc, CoTaskMemFree};
use windows_core::{HRESULT, PCWSTR, PWSTR};

use super::channel::ComChannel;
use crate::error::{Error, Result, Status};

/// The COM error for a crate error: the one mapping, [`Error::hresult`].
pub(crate) fn to_win(e: Error) -> windows_core::Error {
    windows_core::Error::from_hresult(HRESULT(e.hresult().0))
}

/// Runs a method body with panics caught (a panic becomes `E_UNEXPECTED`).
pub(crate) fn run<T>(body: impl FnOnce() -> Result<T>) -> windows_core::Result<T> {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(to_win(e)),
        Err(_) => Err(to_win(Error::Unexpected)),
    }
}

/// Runs a provider method body: the secure channel must be authenticated first
/// (`WMDM_E_NOTCERTIFIED`), then as [`run`].
pub(crate) fn call<T>(
    channel: &ComChannel,
    body: impl FnOnce() -> Result<T>,
) -> windows_core::Result<T> {
    run(|| {
        channel.check()?;
        body()
    })
}

/// As [`call`] for a body that reports a [`Status`]: a success code other than `S_OK`
/// (`WMDM_S_NOT_ALL_PROPERTIES_*`) travels in the error slot, which the vtable shim turns back
/// into that HRESULT.
pub(crate) fn call_status(
    channel: &ComChannel,
    body: impl FnOnce() -> Result<Status>,
) -> windows_core::Result<()> {
    match call(channel, body)? {
        Status::Ok => Ok(()),
        other => Err(windows_core::Error::from_hresult(HRESULT(
            other.hresult().0,
        ))),
    }
}

/// Writes `value` through an out-pointer.
///
/// # Errors
/// [`Error::NullPointer`] for a null pointer.
pub(crate) fn put<T>(p: *mut T, value: T) -> Result<()> {
    if p.is_null() {
        return Err(Error::NullPointer);
    }
    // SAFETY: non-null; COM's contract makes an out-pointer point at writable storage for one
    // `T`. `write` does not drop the (possibly uninitialised) old value.
    unsafe { p.write(value) };
    Ok(())
}

/// Sets an optional out-pointer to its zero value (`Default`), so a failed call leaves no
/// garbage behind.
pub(crate) fn zero<T: Default>(p: *mut T) {
    if !p.is_null() {
        // SAFETY: as in `put`.
        unsafe { p.write(T::default()) };
    }
}

/// Fails with [`Error::NullPointer`] when a required pointer is null.
pub(crate) fn require<T>(p: *const T) -> Result<()> {
    if p.is_null() {
        Err(Error::NullPointer)
    } else {
        Ok(())
    }
}

/// Copies `s` and a terminating NUL into the caller's buffer of `max_chars` UTF-16 units.
///
/// # Errors
/// [`Error::NullPointer`] for a null buffer; [`Error::BufferTooSmall`] when the string and its
/// NUL do not fit (the buffer then holds an empty string).
pub(crate) fn write_wstr(buf: PWSTR, max_chars: u32, s: &str) -> Result<()> {
    if buf.is_null() {
        return Err(Error::NullPointer);
    }
    let max = max_chars as usize;
    let needed = s.encode_utf16().count() + 1;
    if needed > max {
        if max > 0 {
            // SAFETY: the caller owns `max_chars` (> 0) units at `buf`.
            unsafe { buf.0.write(0) };
        }
        return Err(Error::BufferTooSmall);
    }
    for (i, unit) in s.encode_utf16().chain(std::iter::once(0)).enumerate() {
        // SAFETY: `i < needed <= max_chars`, the size of the caller's buffer.
        unsafe { buf.0.add(i).write(unit) };
    }
    Ok(())
}

/// Reads a caller's NUL-terminated UTF-16 string.
///
/// # Errors
/// [`Error::NullPointer`] for null; [`Error::InvalidArg`] for invalid UTF-16.
pub(crate) fn read_wstr(p: &PCWSTR) -> Result<String> {
    if p.is_null() {
        return Err(Error::NullPointer);
    }
    // SAFETY: non-null, and COM's contract for an [in, string] parameter is a NUL-terminated
    // UTF-16 string that stays valid for the call.
    let units = unsafe { p.as_wide() };
    String::from_utf16(units).map_err(|_| Error::InvalidArg)
}

/// A `CoTaskMemAlloc` block of `n` values of `T`, written from `items`; null for an empty list.
///
/// # Errors
/// [`Error::OutOfMemory`] when the allocation fails or the size overflows.
pub(crate) fn co_array<T>(items: Vec<T>) -> Result<*mut T> {
    if items.is_empty() {
        return Ok(std::ptr::null_mut());
    }
    let bytes = std::mem::size_of::<T>()
        .checked_mul(items.len())
        .ok_or(Error::OutOfMemory)?;
    // SAFETY: plain allocation; the result is checked for null below.
    let p = unsafe { CoTaskMemAlloc(bytes) }.cast::<T>();
    if p.is_null() {
        return Err(Error::OutOfMemory);
    }
    for (i, item) in items.into_iter().enumerate() {
        // SAFETY: `p` holds room for `len` values of T, CoTaskMemAlloc aligns for any
        // fundamental type, and `i < len`.
        unsafe { p.add(i).write(item) };
    }
    Ok(p)
}

/// A `CoTaskMemAlloc` copy of `s` with its NUL, for callee-allocated strings.
///
/// # Errors
/// [`Error::OutOfMemory`].
pub(crate) fn co_wstr(s: &str) -> Result<PWSTR> {
    let wide: Vec<u16> = s.encode_utf16().chain(std::iter::once(0)).collect();
    Ok(PWSTR(co_array(wide)?))
}

/// Frees what [`co_array`] or [`co_wstr`] returned, on a failure path after allocation.
pub(crate) fn co_free<T>(p: *mut T) {
    if !p.is_null() {
        // SAFETY: `p` came from CoTaskMemAlloc and is not used again.
        unsafe { CoTaskMemFree(Some(p.cast_const().cast())) };
    }
}

/// Splits a 64-bit value into the low and high DWORDs that WMDM's size methods return.
pub(crate) fn put_u64(low: *mut u32, high: *mut u32, value: u64) -> Result<()> {
    zero(low);
    zero(high);
    require(low)?;
    require(high)?;
    put(low, value as u32)?;
    put(high, (value >> 32) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_need_room_for_their_terminator() {
        let mut buf = [0xFFFFu16; 4];
        assert_eq!(
            write_wstr(PWSTR(buf.as_mut_ptr()), 3, "abc"),
            Err(Error::BufferTooSmall)
        );
        assert_eq!(buf[0], 0);
        assert_eq!(write_wstr(PWSTR(buf.as_mut_ptr()), 4, "abc"), Ok(()));
        assert_eq!(buf, [97, 98, 99, 0]);
        assert_eq!(write_wstr(PWSTR::null(), 4, "abc"), Err(Error::NullPointer));
    }

    #[test]
    fn panics_and_errors_become_hresults() {
        let hr = |r: windows_core::Result<()>| r.map_err(|e| e.code().0 as u32);
        assert_eq!(hr(run(|| panic!("boom"))), Err(0x8000_FFFF));
        assert_eq!(hr(run(|| Err(Error::DiskFull))), Err(0x8007_0070));
        assert_eq!(hr(run(|| Ok(()))), Ok(()));
    }

    #[test]
    fn sizes_split_into_low_and_high() {
        let (mut lo, mut hi) = (0u32, 0u32);
        put_u64(&mut lo, &mut hi, 0x1_0000_0002).unwrap();
        assert_eq!((lo, hi), (2, 1));
        assert_eq!(
            put_u64(&mut lo, std::ptr::null_mut(), 5),
            Err(Error::NullPointer)
        );
        assert_eq!(lo, 0, "zeroed before the check");
    }

    #[test]
    fn arrays_are_cotaskmem_and_empty_is_null() {
        assert!(co_array::<u32>(Vec::new()).unwrap().is_null());
        let p = co_array(vec![1u32, 2, 3]).unwrap();
        // SAFETY (test): three u32 were just written there.
        assert_eq!(unsafe { std::slice::from_raw_parts(p, 3) }, &[1, 2, 3]);
        co_free(p);
    }
}

#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn write_wstr_fits_or_says_so(s in "\\PC{0,40}", max in 0u32..50) {
            let mut buf = vec![0xFFFFu16; max as usize + 1];
            let needed = s.encode_utf16().count() + 1;
            match write_wstr(PWSTR(buf.as_mut_ptr()), max, &s) {
                Ok(()) => {
                    prop_assert!(needed <= max as usize);
                    let back = String::from_utf16(&buf[..needed - 1]).unwrap();
                    prop_assert_eq!(back, s);
                    prop_assert_eq!(buf[needed - 1], 0);
                    // Nothing past the terminator is touched.
                    prop_assert!(buf[needed..].iter().all(|&u| u == 0xFFFF));
                }
                Err(e) => {
                    prop_assert_eq!(e, Error::BufferTooSmall);
                    prop_assert!(needed > max as usize);
                    prop_assert!(buf[1..].iter().all(|&u| u == 0xFFFF));
                }
            }
        }
    }
}
