//! Event delivery by COM's apartment rules.
//!
//! The sync runtime raises its events on its own dispatcher thread. A sink advised from a
//! multithreaded apartment (or from a thread that never initialised COM, which COM treats as
//! the MTA) is free-threaded by contract and is called there directly. A sink advised from a
//! single-threaded apartment (STA, as in the SDK's samples) may only be called on its own
//! thread: for it, Advise creates a message-only window on that thread, and each event is
//! posted to that window, so the client's own message loop delivers it, in order, on the
//! advising thread. This is what marshalling the sink through the Global Interface Table would
//! give, without needing a proxy/stub registered for the IWMPEvents interfaces.
//!
//! An STA client must pump messages (GetMessage/DispatchMessage, or a modal loop) to receive
//! events, as COM requires of every STA. Events still queued when the sink is unadvised are
//! dropped without being delivered.

use std::ffi::c_void;
use std::sync::OnceLock;
use std::thread::ThreadId;

use windows::Win32::Foundation::{HINSTANCE, HWND, LPARAM, LRESULT, WPARAM};
use windows::Win32::System::Com::{
    APTTYPE, APTTYPE_MAINSTA, APTTYPE_STA, APTTYPEQUALIFIER, CoGetApartmentType,
};
use windows::Win32::UI::WindowsAndMessaging::{
    CreateWindowExW, DefWindowProcW, DestroyWindow, HWND_MESSAGE, MSG, PM_REMOVE, PeekMessageW,
    PostMessageW, RegisterClassW, WINDOW_EX_STYLE, WINDOW_STYLE, WM_APP, WNDCLASSW,
};
use windows_core::{PCWSTR, w};

use crate::error::{Error, Result};

/// One event for an STA sink: run on the sink's thread.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// The message that carries a [`Job`] (a `Box<Job>` in `lParam`).
const WM_WMDM_EVENT: u32 = WM_APP + 0x5744;
/// Asks the window to drop what is queued and destroy itself (sent from another thread).
const WM_WMDM_CLOSE: u32 = WM_APP + 0x5745;

const CLASS_NAME: PCWSTR = w!("wmdm.SyncEventDelivery");

/// How events reach one sink.
#[derive(Debug)]
pub(crate) enum Delivery {
    /// Called directly on the dispatcher thread: a free-threaded (MTA) sink.
    Direct,
    /// Posted to a window on the advising STA thread.
    Apartment(StaWindow),
}

impl Delivery {
    /// The delivery for a sink advised on the calling thread: an [`StaWindow`] when the thread
    /// is in a single-threaded apartment, [`Delivery::Direct`] otherwise.
    ///
    /// # Errors
    /// [`Error::Fail`] when the window cannot be created.
    pub(crate) fn for_current_thread() -> Result<Delivery> {
        let mut kind = APTTYPE::default();
        let mut qualifier = APTTYPEQUALIFIER::default();
        // SAFETY: two writable out-parameters. Failure (CO_E_NOTINITIALIZED) means the thread
        // has no apartment of its own: it is in the implicit MTA.
        let known = unsafe { CoGetApartmentType(&mut kind, &mut qualifier) }.is_ok();
        if known && (kind == APTTYPE_STA || kind == APTTYPE_MAINSTA) {
            Ok(Delivery::Apartment(StaWindow::new()?))
        } else {
            Ok(Delivery::Direct)
        }
    }

    /// Runs `job` by this delivery's rule: now, or posted to the sink's thread. A post that
    /// fails (the thread is gone) drops the job.
    pub(crate) fn deliver(&self, job: Job) {
        match self {
            Delivery::Direct => job(),
            Delivery::Apartment(window) => window.post(job),
        }
    }
}

/// A message-only window on an STA thread that runs the jobs posted to it.
#[derive(Debug)]
pub(crate) struct StaWindow {
    /// The window handle as an integer: `HWND` is not `Send`, but posting to a window from
    /// any thread is what PostMessage is for.
    hwnd: isize,
    owner: ThreadId,
}

impl StaWindow {
    fn new() -> Result<StaWindow> {
        let instance = class()?;
        // SAFETY: a registered class name; a message-only window (HWND_MESSAGE parent) with
        // no menu, no creation data and no title.
        let hwnd = unsafe {
            CreateWindowExW(
                WINDOW_EX_STYLE::default(),
                CLASS_NAME,
                PCWSTR::null(),
                WINDOW_STYLE::default(),
                0,
                0,
                0,
                0,
                Some(HWND_MESSAGE),
                None,
                Some(instance),
                None,
            )
        }
        .map_err(|e| {
            Error::from_hresult(crate::error::Hresult(e.code().0))
                .context("creating the event-delivery window for an apartment-threaded sink")
        })?;
        Ok(StaWindow {
            hwnd: hwnd.0 as isize,
            owner: std::thread::current().id(),
        })
    }

    fn handle(&self) -> HWND {
        HWND(self.hwnd as *mut c_void)
    }

    fn post(&self, job: Job) {
        let raw = Box::into_raw(Box::new(job));
        // SAFETY: posting to a window handle is allowed from any thread; on success the
        // window procedure takes ownership of `raw` back.
        let posted = unsafe {
            PostMessageW(
                Some(self.handle()),
                WM_WMDM_EVENT,
                WPARAM(0),
                LPARAM(raw as isize),
            )
        };
        if posted.is_err() {
            // SAFETY: the post failed, so nobody else holds `raw`.
            drop(unsafe { Box::from_raw(raw) });
        }
    }
}

impl Drop for StaWindow {
    fn drop(&mut self) {
        if std::thread::current().id() == self.owner {
            // SAFETY: the window belongs to this thread.
            unsafe { close(self.handle()) };
        } else {
            // The window can only be destroyed on its own thread: ask it to close itself the
            // next time that thread pumps messages. If the thread is gone, so is the window.
            // SAFETY: posting to a window handle from any thread.
            let _ =
                unsafe { PostMessageW(Some(self.handle()), WM_WMDM_CLOSE, WPARAM(0), LPARAM(0)) };
        }
    }
}

/// Drops the jobs still queued for `hwnd`, then destroys it.
///
/// # Safety
/// Called on the thread that owns `hwnd`.
unsafe fn close(hwnd: HWND) {
    let mut msg = MSG::default();
    // SAFETY: the caller's thread owns the window; each removed message carries a job this
    // module posted, which is released here without running.
    unsafe {
        while PeekMessageW(
            &mut msg,
            Some(hwnd),
            WM_WMDM_EVENT,
            WM_WMDM_EVENT,
            PM_REMOVE,
        )
        .as_bool()
        {
            drop(Box::from_raw(msg.lParam.0 as *mut Job));
        }
        let _ = DestroyWindow(hwnd);
    }
}

/// The window procedure of the delivery class.
unsafe extern "system" fn window_proc(
    hwnd: HWND,
    message: u32,
    wparam: WPARAM,
    lparam: LPARAM,
) -> LRESULT {
    match message {
        WM_WMDM_EVENT => {
            // SAFETY: `post` put a `Box<Job>` in lParam and handed over its ownership.
            let job = unsafe { Box::from_raw(lparam.0 as *mut Job) };
            // A panicking job must not unwind into the client's message loop.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            LRESULT(0)
        }
        WM_WMDM_CLOSE => {
            // SAFETY: window procedures run on the window's own thread.
            unsafe { close(hwnd) };
            LRESULT(0)
        }
        // SAFETY: the default handling for every other message.
        _ => unsafe { DefWindowProcW(hwnd, message, wparam, lparam) },
    }
}

/// Registers the delivery window class once per process; returns the module it belongs to.
fn class() -> Result<HINSTANCE> {
    static REGISTERED: OnceLock<std::result::Result<isize, Error>> = OnceLock::new();
    let got = REGISTERED.get_or_init(|| {
        let module = super::server::module_handle()?;
        let class = WNDCLASSW {
            lpfnWndProc: Some(window_proc),
            hInstance: HINSTANCE(module.0),
            lpszClassName: CLASS_NAME,
            ..Default::default()
        };
        // SAFETY: a fully initialised class description with a static name and procedure.
        if unsafe { RegisterClassW(&class) } == 0 {
            return Err(Error::Fail.context("registering the event-delivery window class"));
        }
        Ok(module.0 as isize)
    });
    match got {
        Ok(module) => Ok(HINSTANCE(*module as *mut c_void)),
        Err(e) => Err(e.clone()),
    }
}
