//! The class factory (kept in a private module so that the `#[implement]` companion type stays
//! internal; `server` re-exports it).

use std::ffi::c_void;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use windows::Win32::System::Com::{IClassFactory, IClassFactory_Impl};
use windows_core::{BOOL, GUID, IUnknown, Interface, Ref, implement};

use super::provider::ComServiceProvider;
use super::server::{CLASS_E_NOAGGREGATION, LOCKS, ModuleRef};
use super::util::run;
use crate::error::{Error, Hresult, Result};

/// Makes a fresh provider object for each CreateInstance.
pub type MakeProvider = dyn Fn() -> Result<ComServiceProvider> + Send + Sync;

/// Makes a fresh object of any class for each CreateInstance (the WMP sync services, for
/// example); CreateInstance queries it for the interface asked for.
pub type MakeObject = dyn Fn() -> Result<IUnknown> + Send + Sync;

/// IClassFactory for a service provider or any other class the DLL serves.
#[implement(IClassFactory)]
pub struct ClassFactory {
    make: Arc<MakeObject>,
    _module: ModuleRef,
}

impl fmt::Debug for ClassFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClassFactory").finish_non_exhaustive()
    }
}

impl ClassFactory {
    /// A factory that calls `make` for every instance.
    pub fn new(make: Arc<MakeProvider>) -> ClassFactory {
        ClassFactory::for_objects(Arc::new(move || Ok(make()?.into())))
    }

    /// A factory for any class: `make` builds each instance.
    pub fn for_objects(make: Arc<MakeObject>) -> ClassFactory {
        ClassFactory {
            make,
            _module: ModuleRef::new(),
        }
    }
}

impl IClassFactory_Impl for ClassFactory_Impl {
    fn CreateInstance(
        &self,
        punkouter: Ref<IUnknown>,
        riid: *const GUID,
        ppvobject: *mut *mut c_void,
    ) -> windows_core::Result<()> {
        if !ppvobject.is_null() {
            // SAFETY: non-null out-pointer.
            unsafe { ppvobject.write(std::ptr::null_mut()) };
        }
        run(|| {
            if punkouter.is_some() {
                return Err(Error::from_hresult(Hresult::from_u32(
                    CLASS_E_NOAGGREGATION,
                )));
            }
            if riid.is_null() || ppvobject.is_null() {
                return Err(Error::NullPointer);
            }
            let unknown: IUnknown = (self.make)()?;
            // SAFETY: `riid` and `ppvobject` were checked non-null; QueryInterface writes an
            // interface pointer of type `*riid` (with its own reference) or null.
            let hr = unsafe { unknown.query(riid, ppvobject) };
            hr.ok()
                .map_err(|e| Error::from_hresult(Hresult(e.code().0)))
        })
    }

    fn LockServer(&self, flock: BOOL) -> windows_core::Result<()> {
        if flock.as_bool() {
            LOCKS.fetch_add(1, Ordering::SeqCst);
        } else {
            // Never below zero, whatever an unbalanced caller does.
            let _ = LOCKS.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        }
        Ok(())
    }
}
