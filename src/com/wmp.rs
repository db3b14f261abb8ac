//! The Windows Media Player side: IWMPSyncServices and IWMPSyncDevice/2/3 over
//! [`sync::services`](crate::sync), and IWMPEvents2/IWMPEvents4 sinks fed from its event bus.
//!
//! These objects have no secure channel (WMP's interfaces are not SAC-protected; the
//! [`SyncServices`] already sits on an authenticated manager), so their methods run under
//! `util::run` rather than `util::call`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use windows::Win32::Foundation::{VARIANT_BOOL, VARIANT_FALSE, VARIANT_TRUE};
use windows::Win32::Media::MediaPlayer::{
    IWMPEvents2, IWMPEvents4, IWMPPlaylist, IWMPSyncDevice, IWMPSyncDevice_Impl,
    IWMPSyncDevice2_Impl, IWMPSyncDevice3, IWMPSyncDevice3_Impl, IWMPSyncServices,
    IWMPSyncServices_Impl, WMPDeviceStatus, WMPSyncState,
};
use windows::Win32::System::Com::{
    IConnectionPoint, IConnectionPointContainer, IConnectionPointContainer_Impl,
    IEnumConnectionPoints,
};
use windows_core::{BSTR, GUID, HRESULT, IUnknown, IUnknownImpl, Interface, Ref, implement};

use super::apartment::Delivery;
use super::cpoint::{Registry, enum_points, find_point};
use super::media::media_for;
use super::server::ModuleRef;
use super::util::{put, run, zero};
use crate::error::{Error, Result};
use crate::library::Playlist;
use crate::sync::{
    EventSubscription, SyncDevice, SyncEvent, SyncEventSink, SyncItem, SyncRuntime, SyncServices,
};

/// IWMPSyncServices over a [`SyncServices`], with IConnectionPointContainer for its events.
#[implement(IWMPSyncServices, IConnectionPointContainer)]
#[derive(Debug)]
pub(crate) struct ComSyncServices {
    core: SyncServices,
    registry: Arc<Registry>,
    /// The runtime this object owns, if any: it stops (cleanly) when the object is released.
    _runtime: Option<SyncRuntime>,
    _module: ModuleRef,
}

impl IConnectionPointContainer_Impl for ComSyncServices_Impl {
    fn EnumConnectionPoints(&self) -> windows_core::Result<IEnumConnectionPoints> {
        run(|| {
            let me: IConnectionPointContainer = self.to_interface();
            Ok(enum_points(&me, &self.registry))
        })
    }

    fn FindConnectionPoint(&self, riid: *const GUID) -> windows_core::Result<IConnectionPoint> {
        run(|| find_point(self.to_interface(), &self.registry, riid))
    }
}

impl IWMPSyncServices_Impl for ComSyncServices_Impl {
    fn deviceCount(&self, plcount: *mut i32) -> windows_core::Result<()> {
        zero(plcount);
        run(|| {
            let n = i32::try_from(self.core.device_count()).unwrap_or(i32::MAX);
            put(plcount, n)
        })
    }

    fn getDevice(&self, lindex: i32) -> windows_core::Result<IWMPSyncDevice> {
        run(|| {
            let index = usize::try_from(lindex).map_err(|_| Error::InvalidArg)?;
            Ok(sync_device_object(self.core.device(index)?))
        })
    }
}

/// IWMPSyncDevice/2/3 over a [`SyncDevice`] handle.
#[implement(IWMPSyncDevice3)]
#[derive(Debug)]
pub(crate) struct ComSyncDevice {
    core: SyncDevice,
    _module: ModuleRef,
}

pub(crate) fn vbool(b: bool) -> VARIANT_BOOL {
    if b { VARIANT_TRUE } else { VARIANT_FALSE }
}

fn text(b: &BSTR) -> Result<String> {
    String::from_utf16(b).map_err(|_| Error::InvalidArg)
}

fn put_bstr(p: *mut BSTR, s: &str) -> Result<()> {
    put(p, BSTR::from(s))
}

impl IWMPSyncDevice_Impl for ComSyncDevice_Impl {
    fn friendlyName(&self, pbstrname: *mut BSTR) -> windows_core::Result<()> {
        zero(pbstrname);
        run(|| put_bstr(pbstrname, &self.core.friendly_name()))
    }

    fn SetfriendlyName(&self, bstrname: &BSTR) -> windows_core::Result<()> {
        run(|| self.core.set_friendly_name(&text(bstrname)?))
    }

    fn deviceName(&self, pbstrname: *mut BSTR) -> windows_core::Result<()> {
        zero(pbstrname);
        run(|| put_bstr(pbstrname, &self.core.device_name()))
    }

    fn deviceId(&self, pbstrdeviceid: *mut BSTR) -> windows_core::Result<()> {
        zero(pbstrdeviceid);
        run(|| put_bstr(pbstrdeviceid, &self.core.device_id()))
    }

    fn partnershipIndex(&self, plindex: *mut i32) -> windows_core::Result<()> {
        zero(plindex);
        run(|| put(plindex, i32::from(self.core.partnership_index())))
    }

    fn connected(&self, pvbconnected: *mut VARIANT_BOOL) -> windows_core::Result<()> {
        zero(pvbconnected);
        run(|| put(pvbconnected, vbool(self.core.connected())))
    }

    fn status(&self, pwmpds: *mut WMPDeviceStatus) -> windows_core::Result<()> {
        zero(pwmpds);
        run(|| put(pwmpds, WMPDeviceStatus(self.core.status() as i32)))
    }

    fn syncState(&self, pwmpss: *mut WMPSyncState) -> windows_core::Result<()> {
        zero(pwmpss);
        run(|| put(pwmpss, WMPSyncState(self.core.sync_state() as i32)))
    }

    fn progress(&self, plprogress: *mut i32) -> windows_core::Result<()> {
        zero(plprogress);
        run(|| put(plprogress, i32::from(self.core.progress())))
    }

    fn getItemInfo(&self, bstritemname: &BSTR, pbstrval: *mut BSTR) -> windows_core::Result<()> {
        zero(pbstrval);
        run(|| {
            if pbstrval.is_null() {
                return Err(Error::NullPointer);
            }
            let value = self.core.item_info(&text(bstritemname)?)?;
            put_bstr(pbstrval, &value)
        })
    }

    fn createPartnership(&self, _vbshowui: VARIANT_BOOL) -> windows_core::Result<()> {
        // vbShowUI asks for a dialog; there is none to show (SyncDevice::create_partnership).
        run(|| self.core.create_partnership())
    }

    fn deletePartnership(&self) -> windows_core::Result<()> {
        match run(|| self.core.delete_partnership())? {
            true => Ok(()),
            // Nothing to delete: S_FALSE, as the reference page lists. The `windows` crate's
            // shim returns an error's code as the call's HRESULT, success codes included.
            false => Err(windows_core::Error::from_hresult(HRESULT(1))),
        }
    }

    fn start(&self) -> windows_core::Result<()> {
        run(|| self.core.start())
    }

    fn stop(&self) -> windows_core::Result<()> {
        run(|| {
            self.core.stop();
            Ok(())
        })
    }

    fn showSettings(&self) -> windows_core::Result<()> {
        // WMP's sync-settings dialog is UI this crate does not have; the settings themselves
        // are reachable through setItemInfo.
        run(|| Err(Error::NotSupported))
    }

    fn isIdentical(
        &self,
        pdevice: Ref<IWMPSyncDevice>,
        pvbool: *mut VARIANT_BOOL,
    ) -> windows_core::Result<()> {
        zero(pvbool);
        run(|| {
            if pvbool.is_null() {
                return Err(Error::NullPointer);
            }
            let other = pdevice.ok().map_err(|_| Error::NullPointer)?;
            // A device object from elsewhere (another player) is never this one.
            let same = other
                .cast_object_ref::<ComSyncDevice>()
                .is_ok_and(|o| o.core.is_identical(&self.core));
            put(pvbool, vbool(same))
        })
    }
}

impl IWMPSyncDevice2_Impl for ComSyncDevice_Impl {
    fn setItemInfo(&self, bstritemname: &BSTR, bstrval: &BSTR) -> windows_core::Result<()> {
        run(|| {
            self.core
                .set_item_info(&text(bstritemname)?, &text(bstrval)?)
        })
    }
}

impl IWMPSyncDevice3_Impl for ComSyncDevice_Impl {
    fn estimateSyncSize(
        &self,
        pnonruleplaylist: Ref<IWMPPlaylist>,
        prulesplaylist: Ref<IWMPPlaylist>,
    ) -> windows_core::Result<()> {
        run(|| {
            // Microsoft's reference: <https://learn.microsoft.com/en-us/windows/win32/api/wmp/nn-wmp-iwmpsyncdevice>: at least one playlist (estimate_sync_size checks). A playlist
            // is matched to the library's by name; its own items are not read (docs/com.md).
            let non_rule = self.playlist_of(&pnonruleplaylist)?;
            let rules = self.playlist_of(&prulesplaylist)?;
            self.core
                .estimate_sync_size(non_rule.as_ref(), rules.as_ref())
        })
    }

    fn cancelEstimation(&self) -> windows_core::Result<()> {
        run(|| {
            self.core.cancel_estimation();
            Ok(())
        })
    }
}

impl ComSyncDevice {
    /// The library playlist named as `p` is, or an empty one of that name; `None` for null.
    fn playlist_of(&self, p: &Ref<IWMPPlaylist>) -> Result<Option<Playlist>> {
        let Ok(p) = p.ok() else {
            return Ok(None);
        };
        let mut name = BSTR::new();
        // SAFETY: `p` is a live interface pointer the caller passed for this call, and `name`
        // is a valid BSTR out pointer.
        unsafe { p.name(&mut name) }.map_err(|_| Error::InvalidArg)?;
        let name = name.to_string();
        Ok(Some(
            self.core
                .library_playlist_named(&name)
                .unwrap_or_else(|| Playlist::new_static(name, Vec::new())),
        ))
    }
}

/// A sync services object as IWMPSyncServices; it also answers IConnectionPointContainer,
/// with a connection point for each of IWMPEvents2, IWMPEvents3 and IWMPEvents4.
pub fn sync_services_object(core: SyncServices) -> IWMPSyncServices {
    ComSyncServices {
        registry: Registry::new(core.clone()),
        core,
        _runtime: None,
        _module: ModuleRef::new(),
    }
    .into()
}

/// A sync services object that owns a running [`SyncRuntime`], as a creatable class hands
/// out: its partnerships, estimates and started syncs complete by themselves, and releasing
/// the last reference shuts the runtime down cleanly (running syncs stop between batches,
/// their journals consistent). See `examples/wmp_services.rs`.
pub fn sync_services_with_runtime(runtime: SyncRuntime) -> IWMPSyncServices {
    let core = runtime.services().clone();
    ComSyncServices {
        registry: Registry::new(core.clone()),
        core,
        _runtime: Some(runtime),
        _module: ModuleRef::new(),
    }
    .into()
}

/// A sync device handle as a COM object (IWMPSyncDevice, IWMPSyncDevice2, IWMPSyncDevice3).
pub fn sync_device_object(core: SyncDevice) -> IWMPSyncDevice {
    let d: IWMPSyncDevice3 = ComSyncDevice {
        core,
        _module: ModuleRef::new(),
    }
    .into();
    d.into()
}

/// The caller's sink, as the event bus sees it: the sink itself, and how its events reach
/// it (directly, or posted to its apartment's thread).
struct WmpSink {
    target: Arc<SinkTarget>,
    delivery: Delivery,
}

/// The sink's interfaces and what its events need to name devices.
struct SinkTarget {
    services: SyncServices,
    events2: IWMPEvents2,
    events4: Option<IWMPEvents4>,
    /// Handles seen so far, so that a DeviceDisconnect for a device the services no longer
    /// list still names it.
    known: Mutex<HashMap<String, SyncDevice>>,
}

// SAFETY: the interface pointers are only called through `WmpSink::delivery`: on the thread
// that advised them when that thread is a single-threaded apartment (the job is posted to a
// window on it), otherwise directly, which COM allows for a sink advised from the
// multithreaded apartment (free-threaded by contract). Elsewhere they are only AddRef'd and
// Released, which every COM object allows from any thread.
unsafe impl Send for SinkTarget {}
// SAFETY: as for Send.
unsafe impl Sync for SinkTarget {}

impl SyncEventSink for WmpSink {
    fn on_event(&self, event: &SyncEvent) {
        let target = Arc::clone(&self.target);
        let event = event.clone();
        self.delivery.deliver(Box::new(move || target.call(&event)));
    }
}

impl SinkTarget {
    fn device(&self, key: &str) -> Option<IWMPSyncDevice> {
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        if let Ok(d) = self.services.device_by_key(key) {
            known.insert(key.to_owned(), d);
        }
        known.get(key).cloned().map(sync_device_object)
    }
}

fn hr(r: &std::result::Result<(), Error>) -> HRESULT {
    match r {
        Ok(()) => HRESULT(0),
        Err(e) => HRESULT(e.hresult().0),
    }
}

impl SinkTarget {
    fn call(&self, event: &SyncEvent) {
        let e2 = &self.events2;
        // The sink's methods return nothing; a panicking sink must not unwind into the engine.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // SAFETY (every call below): a live interface pointer this sink holds a reference
            // to; the device objects are fresh and live for the call.
            match event {
                SyncEvent::DeviceConnect { device } => unsafe {
                    e2.DeviceConnect(self.device(device).as_ref())
                },
                SyncEvent::DeviceDisconnect { device } => unsafe {
                    e2.DeviceDisconnect(self.device(device).as_ref())
                },
                SyncEvent::DeviceStatusChange { device, status } => unsafe {
                    e2.DeviceStatusChange(
                        self.device(device).as_ref(),
                        WMPDeviceStatus(*status as i32),
                    )
                },
                SyncEvent::DeviceSyncStateChange { device, state } => unsafe {
                    e2.DeviceSyncStateChange(
                        self.device(device).as_ref(),
                        WMPSyncState(*state as i32),
                    )
                },
                SyncEvent::DeviceSyncError {
                    device,
                    item,
                    error,
                } => {
                    let track = match item {
                        SyncItem::Track(id) => self.services.library_track(*id),
                        _ => None,
                    };
                    let media = media_for(item, track, error.clone());
                    unsafe { e2.DeviceSyncError(self.device(device).as_ref(), media.as_ref()) }
                }
                SyncEvent::CreatePartnershipComplete { device, result } => unsafe {
                    e2.CreatePartnershipComplete(self.device(device).as_ref(), hr(result))
                },
                // WMP has no progress event: its clients read get_progress.
                SyncEvent::DeviceProgress { .. } => {}
                SyncEvent::DeviceEstimation {
                    device,
                    result,
                    estimated_used,
                    estimated_space,
                } => {
                    if let Some(e4) = &self.events4 {
                        let size = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
                        unsafe {
                            e4.DeviceEstimation(
                                self.device(device).as_ref(),
                                hr(result),
                                size(*estimated_used),
                                size(*estimated_space),
                            )
                        }
                    }
                }
            }
        }));
    }
}

/// A registered IWMPEvents2/4 sink; dropping it (or [`unadvise`](Self::unadvise)) stops the
/// events and releases the sink.
#[derive(Debug)]
pub struct WmpEventConnection {
    services: SyncServices,
    id: Option<EventSubscription>,
}

impl WmpEventConnection {
    /// Stops delivery now; the same as dropping the connection.
    pub fn unadvise(mut self) {
        self.release();
    }

    fn release(&mut self) {
        if let Some(id) = self.id.take() {
            self.services.events().unsubscribe(id);
        }
    }
}

impl Drop for WmpEventConnection {
    fn drop(&mut self) {
        self.release();
    }
}

/// Registers `sink` for the sync events of `services`: DeviceConnect, DeviceDisconnect,
/// DeviceStatusChange, DeviceSyncStateChange, DeviceSyncError and CreatePartnershipComplete
/// through IWMPEvents2, and DeviceEstimation through IWMPEvents4 when the sink answers
/// QueryInterface for it. Each event carries a fresh IWMPSyncDevice for the device (null only
/// for a device the services dropped before this sink ever saw it); DeviceSyncError's
/// `pMedia` is a read-only IWMPMedia/IWMPMedia2 over the failed item. COM clients reach the
/// same events through the services object's IConnectionPointContainer.
///
/// Events follow COM's apartment rules. A sink advised from a single-threaded apartment is
/// called on the advising thread only, when that thread's message loop runs (each event is
/// posted to a message-only window there, in order). A sink advised from the multithreaded
/// apartment (or a thread without COM) is free-threaded by contract and is called directly
/// on the thread that raised the event: the runtime's dispatcher thread, or the caller's own
/// thread for the host-driven API ([`SyncServices::poll`], [`SyncDevice::start`], `step`).
///
/// # Errors
/// [`Error::NoInterface`] (E_NOINTERFACE) when `sink` is not an IWMPEvents2.
pub fn advise(services: &SyncServices, sink: &IUnknown) -> Result<WmpEventConnection> {
    let events2: IWMPEvents2 = sink
        .cast()
        .map_err(|e| Error::from_hresult(crate::error::Hresult(e.code().0)))?;
    let events4 = sink.cast::<IWMPEvents4>().ok();
    Ok(WmpEventConnection {
        services: services.clone(),
        id: Some(subscribe_sink(services, events2, events4)?),
    })
}

/// Subscribes a sink to the bus of `services`: the IWMPEvents2 events to `events2`,
/// DeviceEstimation to `events4` when there is one, delivered by the apartment rules of the
/// calling thread (see `com::apartment`). Shared by [`advise`] and the connection points.
///
/// # Errors
/// [`Error::Fail`] when the calling thread is an STA and its delivery window cannot be made.
pub(crate) fn subscribe_sink(
    services: &SyncServices,
    events2: IWMPEvents2,
    events4: Option<IWMPEvents4>,
) -> Result<EventSubscription> {
    let delivery = Delivery::for_current_thread()?;
    let known = (0..services.device_count())
        .filter_map(|i| services.device(i).ok())
        .map(|d| (d.key().to_owned(), d))
        .collect();
    Ok(services.events().subscribe(Arc::new(WmpSink {
        target: Arc::new(SinkTarget {
            services: services.clone(),
            events2,
            events4,
            known: Mutex::new(known),
        }),
        delivery,
    })))
}
