//! The in-process server: a class factory, the module's lock count, and registration
//! (Microsoft's reference: <https://learn.microsoft.com/en-us/windows/win32/wmdm/registering-the-service-provider>). A provider DLL's exports are thin shims over these functions; see
//! `examples/com_server.rs`.

use std::ffi::c_void;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use windows::Win32::Foundation::{
    ERROR_FILE_NOT_FOUND, ERROR_MORE_DATA, ERROR_SUCCESS, HMODULE, WIN32_ERROR,
};
use windows::Win32::System::Com::IClassFactory;
use windows::Win32::System::LibraryLoader::{
    GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS, GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
    GetModuleFileNameW, GetModuleHandleExW,
};
use windows::Win32::System::Registry::{
    HKEY, HKEY_CLASSES_ROOT, HKEY_LOCAL_MACHINE, KEY_WRITE, REG_DWORD, REG_MULTI_SZ,
    REG_OPTION_NON_VOLATILE, REG_ROUTINE_FLAGS, REG_SZ, REG_VALUE_TYPE, RRF_RT_REG_MULTI_SZ,
    RRF_RT_REG_SZ, RegCloseKey, RegCreateKeyExW, RegDeleteTreeW, RegGetValueW, RegSetValueExW,
};
use windows_core::{GUID, HRESULT, HSTRING, Interface, PCWSTR};

use super::util::{put, run, to_win};
use crate::error::{Error, Hresult, Result};

/// `CLASS_E_NOAGGREGATION`: the provider cannot be aggregated.
pub(super) const CLASS_E_NOAGGREGATION: u32 = 0x8004_0110;
/// `CLASS_E_CLASSNOTAVAILABLE`: the DLL does not serve that CLSID.
const CLASS_E_CLASSNOTAVAILABLE: u32 = 0x8004_0111;

/// Where WMDM looks for service providers (Microsoft's reference: <https://learn.microsoft.com/en-us/windows/win32/wmdm/registering-the-service-provider>).
pub const SP_PLUGINS_KEY: &str = r"SOFTWARE\Microsoft\Windows Media Device Manager\Plugins\SP";

/// The SP key's value listing the folders a folder provider serves: a `REG_MULTI_SZ` with one
/// folder per string (a `REG_SZ` with `;` between folders is read too). See [`read_folders`].
pub const FOLDERS_VALUE: &str = "Folders";

static LIVE: AtomicUsize = AtomicUsize::new(0);
pub(super) static LOCKS: AtomicUsize = AtomicUsize::new(0);

/// Counts one live object of the module for as long as it exists (DllCanUnloadNow).
#[derive(Debug)]
pub(crate) struct ModuleRef(());

impl ModuleRef {
    pub(crate) fn new() -> ModuleRef {
        LIVE.fetch_add(1, Ordering::SeqCst);
        ModuleRef(())
    }
}

impl Drop for ModuleRef {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

/// DllCanUnloadNow: true when no object of the module is alive and no LockServer lock is held.
/// Every COM object of a provider holds its [`ComChannel`](super::ComChannel), which counts as
/// one live object; so do class factories.
pub fn can_unload_now() -> bool {
    LIVE.load(Ordering::SeqCst) == 0 && LOCKS.load(Ordering::SeqCst) == 0
}

/// How many objects (channels and factories) are alive, for tests and diagnostics.
pub fn live_objects() -> usize {
    LIVE.load(Ordering::SeqCst)
}

pub use super::factory::{ClassFactory, MakeObject, MakeProvider};

/// DllGetClassObject: a [`ClassFactory`] for `served`, queried for `*riid` into `*ppv`.
///
/// Returns `CLASS_E_CLASSNOTAVAILABLE` for another CLSID, `E_POINTER` for null pointers.
///
/// # Safety
/// Each pointer must be null or valid: `rclsid` and `riid` pointing at GUIDs, `ppv` at
/// writable storage for one pointer (COM's contract for DllGetClassObject).
pub unsafe fn get_class_object(
    rclsid: *const GUID,
    riid: *const GUID,
    ppv: *mut *mut c_void,
    served: &GUID,
    make: Arc<MakeProvider>,
) -> HRESULT {
    // SAFETY: the caller's contract, passed on.
    unsafe { serve_class(rclsid, riid, ppv, served, ClassFactory::new(make)) }
}

/// DllGetClassObject for any class (the WMP sync services of [`super::wmp`], for example): a
/// [`ClassFactory`] calling `make` for each instance when `*rclsid` is `served`.
///
/// # Safety
/// As [`get_class_object`].
pub unsafe fn get_object_class(
    rclsid: *const GUID,
    riid: *const GUID,
    ppv: *mut *mut c_void,
    served: &GUID,
    make: Arc<MakeObject>,
) -> HRESULT {
    // SAFETY: the caller's contract, passed on.
    unsafe { serve_class(rclsid, riid, ppv, served, ClassFactory::for_objects(make)) }
}

/// The body of DllGetClassObject.
///
/// # Safety
/// As [`get_class_object`].
unsafe fn serve_class(
    rclsid: *const GUID,
    riid: *const GUID,
    ppv: *mut *mut c_void,
    served: &GUID,
    factory: ClassFactory,
) -> HRESULT {
    let r = run(|| {
        if ppv.is_null() {
            return Err(Error::NullPointer);
        }
        put(ppv, std::ptr::null_mut())?;
        if rclsid.is_null() || riid.is_null() {
            return Err(Error::NullPointer);
        }
        // SAFETY: checked non-null; COM passes valid GUIDs.
        if unsafe { *rclsid } != *served {
            return Err(Error::from_hresult(Hresult::from_u32(
                CLASS_E_CLASSNOTAVAILABLE,
            )));
        }
        let factory: IClassFactory = factory.into();
        // SAFETY: as in CreateInstance.
        unsafe { factory.query(riid, ppv) }
            .ok()
            .map_err(|e| Error::from_hresult(Hresult(e.code().0)))
    });
    match r {
        Ok(()) => HRESULT(0),
        Err(e) => e.code(),
    }
}

/// What DllRegisterServer writes for a provider.
#[derive(Clone, Debug)]
pub struct Registration {
    /// The provider's CLSID.
    pub clsid: GUID,
    /// Its ProgID (`Vendor.Component`), which the SP key's `ProgID` value names.
    pub prog_id: String,
    /// The SP name: the subkey under [`SP_PLUGINS_KEY`].
    pub name: String,
    /// A human-readable description (the CLSID key's default value).
    pub description: String,
    /// Writes `PnPAware = 1`, for providers that implement IMDServiceProvider2::CreateDevice
    /// for Plug and Play devices.
    pub pnp_aware: bool,
    /// The folders a folder provider serves, written as the SP key's [`FOLDERS_VALUE`]
    /// (`REG_MULTI_SZ`) when not empty. Empty strings are skipped: REG_MULTI_SZ cannot hold
    /// them.
    pub folders: Vec<String>,
}

fn win32(code: WIN32_ERROR) -> Result<()> {
    if code == ERROR_SUCCESS {
        Ok(())
    } else {
        Err(Error::from_hresult(Hresult::from_win32(code.0)))
    }
}

struct Key(HKEY);

impl Drop for Key {
    fn drop(&mut self) {
        // SAFETY: a key this module opened and closes exactly once.
        let _ = unsafe { RegCloseKey(self.0) };
    }
}

fn create_key(root: HKEY, path: &str) -> Result<Key> {
    let mut key = HKEY::default();
    let path = HSTRING::from(path);
    // SAFETY: `path` outlives the call; `key` is a valid out-location.
    let code = unsafe {
        RegCreateKeyExW(
            root,
            PCWSTR(path.as_ptr()),
            None,
            PCWSTR::null(),
            REG_OPTION_NON_VOLATILE,
            KEY_WRITE,
            None,
            &mut key,
            None,
        )
    };
    win32(code)?;
    Ok(Key(key))
}

fn set_string(key: &Key, name: Option<&str>, value: &str) -> Result<()> {
    let bytes: Vec<u8> = value
        .encode_utf16()
        .chain(std::iter::once(0))
        .flat_map(u16::to_le_bytes)
        .collect();
    let name = name.map(HSTRING::from);
    let name_ptr = name.as_ref().map_or(PCWSTR::null(), |n| PCWSTR(n.as_ptr()));
    // SAFETY: an open key; the name and data outlive the call.
    win32(unsafe { RegSetValueExW(key.0, name_ptr, None, REG_SZ, Some(&bytes)) })
}

fn set_multi_string(key: &Key, name: &str, values: &[String]) -> Result<()> {
    // REG_MULTI_SZ: each string NUL-terminated, then one more NUL ending the list.
    let mut units: Vec<u16> = Vec::new();
    for v in values.iter().filter(|v| !v.is_empty()) {
        units.extend(v.encode_utf16());
        units.push(0);
    }
    units.push(0);
    let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
    let name = HSTRING::from(name);
    // SAFETY: as in `set_string`.
    win32(unsafe {
        RegSetValueExW(
            key.0,
            PCWSTR(name.as_ptr()),
            None,
            REG_MULTI_SZ,
            Some(&bytes),
        )
    })
}

fn set_dword(key: &Key, name: &str, value: u32) -> Result<()> {
    let name = HSTRING::from(name);
    // SAFETY: as in `set_string`.
    win32(unsafe {
        RegSetValueExW(
            key.0,
            PCWSTR(name.as_ptr()),
            None,
            REG_DWORD,
            Some(&value.to_le_bytes()),
        )
    })
}

fn delete_tree(root: HKEY, path: &str) -> Result<()> {
    let path = HSTRING::from(path);
    // SAFETY: `path` outlives the call.
    let code = unsafe { RegDeleteTreeW(root, PCWSTR(path.as_ptr())) };
    if code == ERROR_FILE_NOT_FOUND {
        return Ok(());
    }
    win32(code)
}

fn braced(clsid: &GUID) -> String {
    format!("{{{clsid:?}}}")
}

/// DllRegisterServer: the COM class keys (`CLSID\{…}\InprocServer32` with
/// `ThreadingModel = Both`, the ProgID and its `CLSID`), and the WMDM SP key with `ProgID`
/// (and `PnPAware` when asked).
///
/// # Errors
/// The registry's error as `HRESULT_FROM_WIN32` (typically [`Error::AccessDenied`] without
/// administrator rights).
pub fn register(reg: &Registration, dll_path: &str) -> Result<()> {
    register_class(&reg.clsid, &reg.prog_id, &reg.description, dll_path)?;
    let sp = create_key(
        HKEY_LOCAL_MACHINE,
        &format!(r"{SP_PLUGINS_KEY}\{}", reg.name),
    )?;
    set_string(&sp, Some("ProgID"), &reg.prog_id)?;
    if reg.pnp_aware {
        set_dword(&sp, "PnPAware", 1)?;
    }
    if reg.folders.iter().any(|f| !f.is_empty()) {
        set_multi_string(&sp, FOLDERS_VALUE, &reg.folders)?;
    }
    Ok(())
}

/// Splits a `;`-separated folder list (the `REG_SZ` form of [`FOLDERS_VALUE`], or an
/// environment variable), trimming blanks and skipping empty entries.
pub fn split_folder_list(list: &str) -> Vec<String> {
    list.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The folders configured for the SP `name`: its key's [`FOLDERS_VALUE`], one folder per string
/// of a `REG_MULTI_SZ`, or `;`-separated in a `REG_SZ`. `Ok(None)` when the key or the value
/// does not exist; `Ok(Some(vec![]))` when it exists but lists nothing.
///
/// # Errors
/// The registry's error as `HRESULT_FROM_WIN32` (for example a value of another type, or
/// [`Error::AccessDenied`]); [`Error::Fail`] for text that is not valid UTF-16.
pub fn read_folders(name: &str) -> Result<Option<Vec<String>>> {
    let subkey = HSTRING::from(format!(r"{SP_PLUGINS_KEY}\{name}"));
    let value = HSTRING::from(FOLDERS_VALUE);
    let flags = REG_ROUTINE_FLAGS(RRF_RT_REG_MULTI_SZ.0 | RRF_RT_REG_SZ.0);
    // The value may grow between the size query and the read; a few rounds settle it.
    for _ in 0..4 {
        let mut ty = REG_VALUE_TYPE::default();
        let mut size = 0u32;
        // SAFETY: the names outlive the call; `ty` and `size` are valid out-locations.
        let code = unsafe {
            RegGetValueW(
                HKEY_LOCAL_MACHINE,
                PCWSTR(subkey.as_ptr()),
                PCWSTR(value.as_ptr()),
                flags,
                Some(&mut ty),
                None,
                Some(&mut size),
            )
        };
        if code == ERROR_FILE_NOT_FOUND {
            return Ok(None);
        }
        win32(code)?;
        let mut buf = vec![0u16; (size as usize).div_ceil(2) + 1];
        let mut size = u32::try_from(buf.len() * 2).map_err(|_| Error::Fail)?;
        // SAFETY: `buf` is writable for `size` bytes.
        let code = unsafe {
            RegGetValueW(
                HKEY_LOCAL_MACHINE,
                PCWSTR(subkey.as_ptr()),
                PCWSTR(value.as_ptr()),
                flags,
                Some(&mut ty),
                Some(buf.as_mut_ptr().cast()),
                Some(&mut size),
            )
        };
        if code == ERROR_MORE_DATA {
            continue;
        }
        if code == ERROR_FILE_NOT_FOUND {
            return Ok(None);
        }
        win32(code)?;
        buf.truncate((size as usize / 2).min(buf.len()));
        return parse_folders(&buf, ty == REG_MULTI_SZ).map(Some);
    }
    Err(Error::Fail)
}

/// The folders in a `REG_MULTI_SZ` (`multi`) or `;`-separated `REG_SZ` value's UTF-16 data.
fn parse_folders(units: &[u16], multi: bool) -> Result<Vec<String>> {
    if multi {
        let mut out = Vec::new();
        for part in units.split(|&u| u == 0) {
            let text = String::from_utf16(part).map_err(|_| Error::Fail)?;
            let text = text.trim();
            if !text.is_empty() {
                out.push(text.to_owned());
            }
        }
        Ok(out)
    } else {
        let end = units.iter().position(|&u| u == 0).unwrap_or(units.len());
        let text = String::from_utf16(&units[..end]).map_err(|_| Error::Fail)?;
        Ok(split_folder_list(&text))
    }
}

/// DllUnregisterServer: removes everything [`register`] wrote; keys already gone are fine.
///
/// # Errors
/// As [`register`].
pub fn unregister(reg: &Registration) -> Result<()> {
    delete_tree(
        HKEY_LOCAL_MACHINE,
        &format!(r"{SP_PLUGINS_KEY}\{}", reg.name),
    )?;
    unregister_class(&reg.clsid, &reg.prog_id)
}

/// The COM class keys of an in-process server: `CLSID\{…}` with `description`,
/// `InprocServer32` (`dll_path`, `ThreadingModel = Both`) and `ProgID`, and the ProgID key
/// with its `CLSID`. [`register`] writes these for a provider, with its SP key; other classes
/// (the WMP sync services) need only these.
///
/// # Errors
/// The registry's error as `HRESULT_FROM_WIN32`.
pub fn register_class(
    clsid: &GUID,
    prog_id: &str,
    description: &str,
    dll_path: &str,
) -> Result<()> {
    let clsid = braced(clsid);
    let class = create_key(HKEY_CLASSES_ROOT, &format!(r"CLSID\{clsid}"))?;
    set_string(&class, None, description)?;
    let inproc = create_key(HKEY_CLASSES_ROOT, &format!(r"CLSID\{clsid}\InprocServer32"))?;
    set_string(&inproc, None, dll_path)?;
    set_string(&inproc, Some("ThreadingModel"), "Both")?;
    let progid_of_class = create_key(HKEY_CLASSES_ROOT, &format!(r"CLSID\{clsid}\ProgID"))?;
    set_string(&progid_of_class, None, prog_id)?;
    let progid = create_key(HKEY_CLASSES_ROOT, prog_id)?;
    set_string(&progid, None, description)?;
    let progid_clsid = create_key(HKEY_CLASSES_ROOT, &format!(r"{prog_id}\CLSID"))?;
    set_string(&progid_clsid, None, &clsid)?;
    Ok(())
}

/// Removes what [`register_class`] wrote; keys already gone are fine.
///
/// # Errors
/// The registry's error as `HRESULT_FROM_WIN32`.
pub fn unregister_class(clsid: &GUID, prog_id: &str) -> Result<()> {
    delete_tree(HKEY_CLASSES_ROOT, prog_id)?;
    delete_tree(HKEY_CLASSES_ROOT, &format!(r"CLSID\{}", braced(clsid)))
}

/// The path of the module (DLL or EXE) this crate is linked into, for InprocServer32.
///
/// # Errors
/// [`Error::Fail`] when Windows cannot name the module.
pub fn module_path() -> Result<String> {
    let module = module_handle()?;
    let mut buf = vec![0u16; 1024];
    // SAFETY: `buf` is a writable buffer of its length.
    let n = unsafe { GetModuleFileNameW(Some(module), &mut buf) } as usize;
    if n == 0 || n >= buf.len() {
        return Err(Error::Fail);
    }
    String::from_utf16(&buf[..n]).map_err(|_| Error::Fail)
}

/// The module (DLL or executable) this crate is linked into.
pub(crate) fn module_handle() -> Result<HMODULE> {
    static ANCHOR: u8 = 0;
    let mut module = HMODULE::default();
    // SAFETY: FROM_ADDRESS takes any address inside the module (a static of this crate) in
    // place of a name; UNCHANGED_REFCOUNT means no FreeLibrary is owed.
    unsafe {
        GetModuleHandleExW(
            GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
            PCWSTR(std::ptr::addr_of!(ANCHOR).cast()),
            &mut module,
        )
    }
    .map_err(|_| Error::Fail.context("finding this module's handle"))?;
    Ok(module)
}

/// An HRESULT for a registration result, for the DLL's exports.
pub fn hresult(r: Result<()>) -> HRESULT {
    match r {
        Ok(()) => HRESULT(0),
        Err(e) => to_win(e).code(),
    }
}

/// The four exports of an in-process server DLL (`DllGetClassObject`, `DllCanUnloadNow`,
/// `DllRegisterServer`, `DllUnregisterServer`), each a thin shim over a function of the module
/// named in the call, which has `get_class_object(rclsid, riid, ppv)` (unsafe),
/// `can_unload_now()`, `register()` and `unregister()`, all returning an `HRESULT`. The DLL
/// crate depends on `windows-core`. See `examples/com_server.rs`.
#[macro_export]
macro_rules! dll_exports {
    ($dll:ident) => {
        /// DllGetClassObject.
        ///
        /// # Safety
        /// COM calls it with null or valid pointers, which the server's class lookup checks.
        #[unsafe(no_mangle)]
        pub unsafe extern "system" fn DllGetClassObject(
            rclsid: *const windows_core::GUID,
            riid: *const windows_core::GUID,
            ppv: *mut *mut ::std::ffi::c_void,
        ) -> windows_core::HRESULT {
            // SAFETY: forwarded unchanged; the caller upholds the contract.
            unsafe { $dll::get_class_object(rclsid, riid, ppv) }
        }

        /// DllCanUnloadNow.
        #[unsafe(no_mangle)]
        pub extern "system" fn DllCanUnloadNow() -> windows_core::HRESULT {
            $dll::can_unload_now()
        }

        /// DllRegisterServer.
        #[unsafe(no_mangle)]
        pub extern "system" fn DllRegisterServer() -> windows_core::HRESULT {
            $dll::register()
        }

        /// DllUnregisterServer.
        #[unsafe(no_mangle)]
        pub extern "system" fn DllUnregisterServer() -> windows_core::HRESULT {
            $dll::unregister()
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    #[test]
    fn folder_lists_parse_in_both_forms() {
        let multi = utf16("C:\\a\0 D:\\b c \0\0");
        assert_eq!(
            parse_folders(&multi, true).unwrap(),
            vec!["C:\\a".to_owned(), "D:\\b c".to_owned()]
        );
        let single = utf16("C:\\a; ;D:\\b\0junk");
        assert_eq!(
            parse_folders(&single, false).unwrap(),
            vec!["C:\\a".to_owned(), "D:\\b".to_owned()]
        );
        assert!(parse_folders(&[], true).unwrap().is_empty());
        assert!(parse_folders(&[0xD800], false).is_err());
    }
}
