//! The WMP objects in-process (Windows, or Wine through the cargo runner): IWMPSyncServices and
//! IWMPSyncDevice/2/3 through their vtables over a memory device, library and partnership;
//! IWMPEvents2/4 sinks; QueryInterface; null out-parameters.
#![cfg(all(windows, feature = "com"))]
#![allow(unsafe_code, non_snake_case)]

mod common;

use std::sync::{Arc, Mutex};

use common::sync::*;
use windows::Win32::Foundation::{VARIANT_BOOL, VARIANT_FALSE, VARIANT_TRUE};
use windows::Win32::Media::DeviceManager::IMDSPDevice;
use windows::Win32::Media::MediaPlayer::*;
use windows::Win32::System::Com::IDispatch;
use windows_core::{BSTR, HRESULT, IUnknown, Interface, Ref, implement};
use wmdm::com::wmp::{advise, sync_device_object, sync_services_object};

const E_POINTER: HRESULT = HRESULT(0x8000_4003_u32 as i32);
const E_NOINTERFACE: HRESULT = HRESULT(0x8000_4002_u32 as i32);
const E_INVALIDARG: HRESULT = HRESULT(0x8007_0057_u32 as i32);
const E_UNEXPECTED: HRESULT = HRESULT(0x8000_FFFF_u32 as i32);
const E_ABORT: HRESULT = HRESULT(0x8000_4004_u32 as i32);
const WMDM_E_NOTSUPPORTED: HRESULT = HRESULT(0x8004_5004_u32 as i32);

/// What a sink saw, one line per event; the device is named by its friendly name and whether
/// it is the test's own device object (isIdentical).
type Log = Arc<Mutex<Vec<String>>>;

fn describe(d: Ref<IWMPSyncDevice>) -> String {
    match d.ok() {
        Ok(d) => {
            let mut name = BSTR::new();
            unsafe { d.friendlyName(&mut name) }.expect("friendlyName from an event");
            name.to_string()
        }
        Err(_) => "<null>".into(),
    }
}

macro_rules! empty_wmp_events {
    ($t:ident) => {
        impl IWMPEvents_Impl for $t {
            fn OpenStateChange(&self, _: i32) {}
            fn PlayStateChange(&self, _: i32) {}
            fn AudioLanguageChange(&self, _: i32) {}
            fn StatusChange(&self) {}
            fn ScriptCommand(&self, _: &BSTR, _: &BSTR) {}
            fn NewStream(&self) {}
            fn Disconnect(&self, _: i32) {}
            fn Buffering(&self, _: VARIANT_BOOL) {}
            fn Error(&self) {}
            fn Warning(&self, _: i32, _: i32, _: &BSTR) {}
            fn EndOfStream(&self, _: i32) {}
            fn PositionChange(&self, _: f64, _: f64) {}
            fn MarkerHit(&self, _: i32) {}
            fn DurationUnitChange(&self, _: i32) {}
            fn CdromMediaChange(&self, _: i32) {}
            fn PlaylistChange(&self, _: Ref<IDispatch>, _: WMPPlaylistChangeEventType) {}
            fn CurrentPlaylistChange(&self, _: WMPPlaylistChangeEventType) {}
            fn CurrentPlaylistItemAvailable(&self, _: &BSTR) {}
            fn MediaChange(&self, _: Ref<IDispatch>) {}
            fn CurrentMediaItemAvailable(&self, _: &BSTR) {}
            fn CurrentItemChange(&self, _: Ref<IDispatch>) {}
            fn MediaCollectionChange(&self) {}
            fn MediaCollectionAttributeStringAdded(&self, _: &BSTR, _: &BSTR) {}
            fn MediaCollectionAttributeStringRemoved(&self, _: &BSTR, _: &BSTR) {}
            fn MediaCollectionAttributeStringChanged(&self, _: &BSTR, _: &BSTR, _: &BSTR) {}
            fn PlaylistCollectionChange(&self) {}
            fn PlaylistCollectionPlaylistAdded(&self, _: &BSTR) {}
            fn PlaylistCollectionPlaylistRemoved(&self, _: &BSTR) {}
            fn PlaylistCollectionPlaylistSetAsDeleted(&self, _: &BSTR, _: VARIANT_BOOL) {}
            fn ModeChange(&self, _: &BSTR, _: VARIANT_BOOL) {}
            fn MediaError(&self, _: Ref<IDispatch>) {}
            fn OpenPlaylistSwitch(&self, _: Ref<IDispatch>) {}
            fn DomainChange(&self, _: &BSTR) {}
            fn SwitchedToPlayerApplication(&self) {}
            fn SwitchedToControl(&self) {}
            fn PlayerDockedStateChange(&self) {}
            fn PlayerReconnect(&self) {}
            fn Click(&self, _: i16, _: i16, _: i32, _: i32) {}
            fn DoubleClick(&self, _: i16, _: i16, _: i32, _: i32) {}
            fn KeyDown(&self, _: i16, _: i16) {}
            fn KeyPress(&self, _: i16) {}
            fn KeyUp(&self, _: i16, _: i16) {}
            fn MouseDown(&self, _: i16, _: i16, _: i32, _: i32) {}
            fn MouseMove(&self, _: i16, _: i16, _: i32, _: i32) {}
            fn MouseUp(&self, _: i16, _: i16, _: i32, _: i32) {}
        }

        impl IWMPEvents2_Impl for $t {
            fn DeviceConnect(&self, d: Ref<IWMPSyncDevice>) {
                self.push(format!("Connect {}", describe(d)));
            }
            fn DeviceDisconnect(&self, d: Ref<IWMPSyncDevice>) {
                self.push(format!("Disconnect {}", describe(d)));
            }
            fn DeviceStatusChange(&self, d: Ref<IWMPSyncDevice>, s: WMPDeviceStatus) {
                self.push(format!("Status {} {}", describe(d), s.0));
            }
            fn DeviceSyncStateChange(&self, d: Ref<IWMPSyncDevice>, s: WMPSyncState) {
                self.push(format!("SyncState {} {}", describe(d), s.0));
            }
            fn DeviceSyncError(&self, d: Ref<IWMPSyncDevice>, m: Ref<IDispatch>) {
                self.push(format!("SyncError {} {}", describe(d), m.is_null()));
                if let Ok(m) = m.ok() {
                    MEDIA.with(|v| v.borrow_mut().push(m.clone()));
                }
            }
            fn CreatePartnershipComplete(&self, d: Ref<IWMPSyncDevice>, hr: HRESULT) {
                self.push(format!("Partnership {} {:#010x}", describe(d), hr.0 as u32));
            }
        }
    };
}

thread_local! {
    /// The media items DeviceSyncError passed on this thread (events arrive on the thread
    /// that drives the sync).
    static MEDIA: std::cell::RefCell<Vec<IDispatch>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A sink implementing IWMPEvents4 (and so 2 and 3).
#[implement(IWMPEvents4)]
struct Sink4 {
    log: Log,
}

impl Sink4_Impl {
    fn push(&self, s: String) {
        self.log.lock().unwrap().push(s);
    }
}

empty_wmp_events!(Sink4_Impl);

impl IWMPEvents3_Impl for Sink4_Impl {
    fn CdromRipStateChange(&self, _: Ref<IWMPCdromRip>, _: WMPRipState) {}
    fn CdromRipMediaError(&self, _: Ref<IWMPCdromRip>, _: Ref<IDispatch>) {}
    fn CdromBurnStateChange(&self, _: Ref<IWMPCdromBurn>, _: WMPBurnState) {}
    fn CdromBurnMediaError(&self, _: Ref<IWMPCdromBurn>, _: Ref<IDispatch>) {}
    fn CdromBurnError(&self, _: Ref<IWMPCdromBurn>, _: HRESULT) {}
    fn LibraryConnect(&self, _: Ref<IWMPLibrary>) {}
    fn LibraryDisconnect(&self, _: Ref<IWMPLibrary>) {}
    fn FolderScanStateChange(&self, _: WMPFolderScanState) {}
    fn StringCollectionChange(
        &self,
        _: Ref<IDispatch>,
        _: WMPStringCollectionChangeEventType,
        _: i32,
    ) {
    }
    fn MediaCollectionMediaAdded(&self, _: Ref<IDispatch>) {}
    fn MediaCollectionMediaRemoved(&self, _: Ref<IDispatch>) {}
}

impl IWMPEvents4_Impl for Sink4_Impl {
    fn DeviceEstimation(&self, d: Ref<IWMPSyncDevice>, hr: HRESULT, used: i64, space: i64) {
        self.push(format!(
            "Estimation {} {:#010x} {} {}",
            describe(d),
            hr.0 as u32,
            used > 0,
            space > 0
        ));
    }
}

/// A sink that only has IWMPEvents2: it gets no DeviceEstimation.
#[implement(IWMPEvents2)]
struct Sink2 {
    log: Log,
}

impl Sink2_Impl {
    fn push(&self, s: String) {
        self.log.lock().unwrap().push(s);
    }
}

empty_wmp_events!(Sink2_Impl);

/// An IWMPPlaylist that has only a name (all the crate reads of a caller's playlist).
#[implement(IWMPPlaylist)]
struct NamedPlaylist(&'static str);

const E_NOTIMPL: HRESULT = HRESULT(0x8000_4001_u32 as i32);

fn not_impl<T>() -> windows_core::Result<T> {
    Err(E_NOTIMPL.into())
}

impl windows::Win32::System::Com::IDispatch_Impl for NamedPlaylist_Impl {
    fn GetTypeInfoCount(&self) -> windows_core::Result<u32> {
        Ok(0)
    }
    fn GetTypeInfo(
        &self,
        _: u32,
        _: u32,
    ) -> windows_core::Result<windows::Win32::System::Com::ITypeInfo> {
        not_impl()
    }
    fn GetIDsOfNames(
        &self,
        _: *const windows_core::GUID,
        _: *const windows_core::PCWSTR,
        _: u32,
        _: u32,
        _: *mut i32,
    ) -> windows_core::Result<()> {
        not_impl()
    }
    fn Invoke(
        &self,
        _: i32,
        _: *const windows_core::GUID,
        _: u32,
        _: windows::Win32::System::Com::DISPATCH_FLAGS,
        _: *const windows::Win32::System::Com::DISPPARAMS,
        _: *mut windows::Win32::System::Variant::VARIANT,
        _: *mut windows::Win32::System::Com::EXCEPINFO,
        _: *mut u32,
    ) -> windows_core::Result<()> {
        not_impl()
    }
}

impl IWMPPlaylist_Impl for NamedPlaylist_Impl {
    fn count(&self, _: *mut i32) -> windows_core::Result<()> {
        not_impl()
    }
    fn name(&self, p: *mut BSTR) -> windows_core::Result<()> {
        unsafe { p.write(BSTR::from(self.0)) };
        Ok(())
    }
    fn Setname(&self, _: &BSTR) -> windows_core::Result<()> {
        not_impl()
    }
    fn attributeCount(&self, _: *mut i32) -> windows_core::Result<()> {
        not_impl()
    }
    fn get_attributeName(&self, _: i32, _: *mut BSTR) -> windows_core::Result<()> {
        not_impl()
    }
    fn get_item(&self, _: i32) -> windows_core::Result<IWMPMedia> {
        not_impl()
    }
    fn getItemInfo(&self, _: &BSTR, _: *mut BSTR) -> windows_core::Result<()> {
        not_impl()
    }
    fn setItemInfo(&self, _: &BSTR, _: &BSTR) -> windows_core::Result<()> {
        not_impl()
    }
    fn get_isIdentical(
        &self,
        _: Ref<IWMPPlaylist>,
        _: *mut VARIANT_BOOL,
    ) -> windows_core::Result<()> {
        not_impl()
    }
    fn clear(&self) -> windows_core::Result<()> {
        not_impl()
    }
    fn insertItem(&self, _: i32, _: Ref<IWMPMedia>) -> windows_core::Result<()> {
        not_impl()
    }
    fn appendItem(&self, _: Ref<IWMPMedia>) -> windows_core::Result<()> {
        not_impl()
    }
    fn removeItem(&self, _: Ref<IWMPMedia>) -> windows_core::Result<()> {
        not_impl()
    }
    fn moveItem(&self, _: i32, _: i32) -> windows_core::Result<()> {
        not_impl()
    }
}

fn take(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

fn bstr_of(f: impl FnOnce(*mut BSTR) -> windows_core::Result<()>) -> String {
    let mut b = BSTR::new();
    f(&mut b).expect("BSTR getter");
    b.to_string()
}

fn i32_of(f: impl FnOnce(*mut i32) -> windows_core::Result<()>) -> i32 {
    let mut v = -7;
    f(&mut v).expect("LONG getter");
    v
}

fn status(d: &IWMPSyncDevice) -> i32 {
    let mut s = WMPDeviceStatus(-1);
    unsafe { d.status(&mut s) }.expect("status");
    s.0
}

fn sync_state(d: &IWMPSyncDevice) -> i32 {
    let mut s = WMPSyncState(-1);
    unsafe { d.syncState(&mut s) }.expect("syncState");
    s.0
}

fn item(d: &IWMPSyncDevice, name: &str) -> windows_core::Result<String> {
    let mut b = BSTR::new();
    unsafe { d.getItemInfo(&BSTR::from(name), &mut b) }?;
    Ok(b.to_string())
}

#[test]
fn every_device_method_through_the_vtable_with_events() {
    let f = fixture_new_device(3, 1000, 1 << 20);
    let services = sync_services_object(f.services.clone());
    let log4: Log = Arc::default();
    let log2: Log = Arc::default();
    let sink4: IUnknown = Sink4 { log: log4.clone() }.into();
    let sink2: IUnknown = Sink2 { log: log2.clone() }.into();
    let _c4 = advise(&f.services, &sink4).expect("advise IWMPEvents4");
    let _c2 = advise(&f.services, &sink2).expect("advise IWMPEvents2");

    assert_eq!(i32_of(|p| unsafe { services.deviceCount(p) }), 1);
    assert_eq!(
        unsafe { services.getDevice(1) }
            .map(|_| ())
            .unwrap_err()
            .code(),
        E_INVALIDARG
    );
    assert_eq!(
        unsafe { services.getDevice(-1) }
            .map(|_| ())
            .unwrap_err()
            .code(),
        E_INVALIDARG
    );
    let d = unsafe { services.getDevice(0) }.expect("getDevice(0)");

    // A new device: no partnership, connected, nothing running.
    assert_eq!(bstr_of(|p| unsafe { d.deviceName(p) }), "Player S1");
    assert_eq!(bstr_of(|p| unsafe { d.deviceId(p) }), "S1");
    assert_eq!(bstr_of(|p| unsafe { d.friendlyName(p) }), "Player S1");
    unsafe { d.SetfriendlyName(&BSTR::from("Kitchen")) }.expect("put_friendlyName");
    assert_eq!(bstr_of(|p| unsafe { d.friendlyName(p) }), "Kitchen");
    assert_eq!(i32_of(|p| unsafe { d.partnershipIndex(p) }), 0);
    let mut c = VARIANT_FALSE;
    unsafe { d.connected(&mut c) }.expect("connected");
    assert_eq!(c, VARIANT_TRUE);
    assert_eq!(status(&d), WMPDeviceStatus(5).0, "wmpdsNewDevice");
    assert_eq!(sync_state(&d), 0);
    // A device that never synced: get_progress is 0 before any sync.
    assert_eq!(i32_of(|p| unsafe { d.progress(p) }), 0);
    assert_eq!(item(&d, "Connected").unwrap(), "True");
    assert_eq!(
        item(&d, "NoSuchAttribute").unwrap_err().code(),
        E_INVALIDARG
    );
    assert_eq!(unsafe { d.start() }.unwrap_err().code(), E_UNEXPECTED);
    assert_eq!(
        unsafe { d.showSettings() }.unwrap_err().code(),
        WMDM_E_NOTSUPPORTED
    );

    // createPartnership returns at once; poll completes it.
    unsafe { d.createPartnership(VARIANT_FALSE) }.expect("createPartnership");
    assert!(take(&log4).is_empty());
    f.services.poll().expect("poll");
    let expected = vec![
        "Status Kitchen 1".to_owned(),
        "Partnership Kitchen 0x00000000".to_owned(),
    ];
    assert_eq!(take(&log4), expected);
    assert_eq!(take(&log2), expected);
    assert_eq!(i32_of(|p| unsafe { d.partnershipIndex(p) }), 1);
    assert_eq!(status(&d), 1, "wmpdsPartnershipExists");

    // IWMPSyncDevice2.
    let d2: IWMPSyncDevice2 = d.cast().expect("IWMPSyncDevice2");
    unsafe { d2.setItemInfo(&BSTR::from("PercentSpaceReserved"), &BSTR::from("10")) }
        .expect("setItemInfo");
    assert_eq!(item(&d, "PercentSpaceReserved").unwrap(), "10");
    assert_eq!(
        unsafe { d2.setItemInfo(&BSTR::from("PercentSpaceReserved"), &BSTR::from("x")) }
            .unwrap_err()
            .code(),
        E_INVALIDARG
    );

    // IWMPSyncDevice3: an estimate needs a playlist argument; its result comes by event, to
    // IWMPEvents4 sinks only.
    let d3: IWMPSyncDevice3 = d.cast().expect("IWMPSyncDevice3");
    f.select("Mix", &[1, 2], 1);
    assert_eq!(
        unsafe { d3.estimateSyncSize(None::<&IWMPPlaylist>, None::<&IWMPPlaylist>) }
            .unwrap_err()
            .code(),
        E_INVALIDARG
    );
    // A playlist object that only answers `name`: the crate matches it to the library's
    // playlist of that name.
    let stand_in: IWMPPlaylist = NamedPlaylist("Mix").into();
    unsafe { d3.estimateSyncSize(&stand_in, None::<&IWMPPlaylist>) }.expect("estimate");
    assert_eq!(sync_state(&d), 3, "wmpssEstimating");
    f.services.poll().expect("poll");
    assert_eq!(
        take(&log4),
        vec![
            "SyncState Kitchen 3".to_owned(),
            "SyncState Kitchen 2".to_owned(),
            "Estimation Kitchen 0x00000000 true true".to_owned()
        ]
    );
    assert_eq!(
        take(&log2),
        vec![
            "SyncState Kitchen 3".to_owned(),
            "SyncState Kitchen 2".to_owned()
        ]
    );
    unsafe { d3.estimateSyncSize(None::<&IWMPPlaylist>, &stand_in) }.expect("estimate");
    unsafe { d3.cancelEstimation() }.expect("cancelEstimation");
    assert_eq!(
        take(&log4),
        vec![
            "SyncState Kitchen 3".to_owned(),
            "SyncState Kitchen 2".to_owned(),
            format!("Estimation Kitchen {:#010x} false false", E_ABORT.0 as u32)
        ]
    );
    take(&log2);

    // start: Synchronizing, then the host steps it to the end.
    unsafe { d.start() }.expect("start");
    assert_eq!(sync_state(&d), 1, "wmpssSynchronizing");
    assert_eq!(take(&log4), vec!["SyncState Kitchen 1".to_owned()]);
    let core = f.sync_device();
    while core.step() {}
    assert_eq!(sync_state(&d), 2, "wmpssStopped");
    assert_eq!(i32_of(|p| unsafe { d.progress(p) }), 100);
    assert_eq!(take(&log4), vec!["SyncState Kitchen 2".to_owned()]);
    assert_eq!(item(&d, "SyncItemCount").unwrap(), "2");
    assert_eq!(f.content_files().len(), 3, "two tracks and the playlist");
    unsafe { d.stop() }.expect("stop when nothing runs");

    // isIdentical: another object for the same device is identical; another device is not.
    let again = unsafe { services.getDevice(0) }.expect("getDevice(0)");
    let mut same = VARIANT_FALSE;
    unsafe { d.isIdentical(&again, &mut same) }.expect("isIdentical");
    assert_eq!(same, VARIANT_TRUE);

    // deletePartnership: declined, with its event.
    unsafe { d.deletePartnership() }.expect("deletePartnership");
    assert_eq!(status(&d), 2, "wmpdsPartnershipDeclined");
    assert_eq!(i32_of(|p| unsafe { d.partnershipIndex(p) }), 0);
    assert_eq!(take(&log4), vec!["Status Kitchen 2".to_owned()]);
    assert_eq!(take(&log2).len(), 3, "two sync states and the status");
    // Nothing left to delete: S_FALSE (through the raw vtable: the windows crate's wrapper
    // folds success codes into Ok).
    let hr = unsafe { (Interface::vtable(&d).deletePartnership)(Interface::as_raw(&d)) };
    assert_eq!(
        hr,
        HRESULT(1),
        "S_FALSE when there is no partnership to delete"
    );
    assert_eq!(status(&d), 2, "still declined");
    drop(_c2);
    unsafe { d.createPartnership(VARIANT_TRUE) }.expect("createPartnership");
    f.services.poll().expect("poll");
    assert_eq!(take(&log4).len(), 2);
    assert!(take(&log2).is_empty(), "an unadvised sink hears nothing");
}

#[test]
fn a_stop_mid_sync_and_a_device_leaving_are_reported() {
    let f = fixture_partnered_device(4, 1000, 1 << 20);
    f.select("Mix", &[1, 2, 3, 4], 1);
    let log: Log = Arc::default();
    let sink: IUnknown = Sink4 { log: log.clone() }.into();
    let conn = advise(&f.services, &sink).expect("advise");
    let d = sync_device_object(f.sync_device());
    unsafe { d.start() }.expect("start");
    assert!(f.sync_device().step());
    let p = i32_of(|p| unsafe { d.progress(p) });
    assert!((0..100).contains(&p), "part-way: {p}");
    unsafe { d.stop() }.expect("stop");
    assert_eq!(sync_state(&d), 2);
    assert_eq!(
        take(&log),
        vec![
            "SyncState Player S1 1".to_owned(),
            "SyncState Player S1 2".to_owned()
        ]
    );
    f.provider.remove_device(&f.device.serial());
    f.manager.reinitialize().expect("reinitialize");
    f.services.poll().expect("poll");
    assert_eq!(take(&log), vec!["Disconnect Player S1".to_owned()]);
    let mut c = VARIANT_TRUE;
    unsafe { d.connected(&mut c) }.expect("connected");
    assert_eq!(c, VARIANT_FALSE);
    assert_eq!(
        unsafe { d.start() }.unwrap_err().code().0 as u32,
        0xC00D_1179
    );
    conn.unadvise();
}

#[test]
fn query_interface_answers_the_wmp_interfaces_only() {
    let f = fixture_new_device(1, 10, 1 << 20);
    let services = sync_services_object(f.services.clone());
    let d = unsafe { services.getDevice(0) }.expect("device");
    assert!(d.cast::<IWMPSyncDevice2>().is_ok());
    assert!(d.cast::<IWMPSyncDevice3>().is_ok());
    assert!(d.cast::<IUnknown>().is_ok());
    for r in [
        d.cast::<IWMPSyncServices>().map(|_| ()),
        d.cast::<IMDSPDevice>().map(|_| ()),
        d.cast::<IWMPEvents2>().map(|_| ()),
        services.cast::<IWMPSyncDevice>().map(|_| ()),
    ] {
        assert_eq!(r.unwrap_err().code(), E_NOINTERFACE);
    }
    // A sink that is not an IWMPEvents2 is refused.
    let not_a_sink: IUnknown = services.cast().expect("IUnknown");
    assert_eq!(
        advise(&f.services, &not_a_sink).unwrap_err(),
        wmdm::Error::NoInterface
    );
}

#[test]
fn null_out_parameters_are_e_pointer() {
    let f = fixture_new_device(1, 10, 1 << 20);
    let services = sync_services_object(f.services.clone());
    let d = unsafe { services.getDevice(0) }.expect("device");
    let null: *mut std::ffi::c_void = std::ptr::null_mut();
    let this = d.as_raw();
    let v = d.vtable();
    let name = BSTR::from("Connected");
    unsafe {
        assert_eq!(
            (services.vtable().deviceCount)(services.as_raw(), null.cast()),
            E_POINTER
        );
        assert_eq!((v.friendlyName)(this, null.cast()), E_POINTER);
        assert_eq!((v.deviceName)(this, null.cast()), E_POINTER);
        assert_eq!((v.deviceId)(this, null.cast()), E_POINTER);
        assert_eq!((v.partnershipIndex)(this, null.cast()), E_POINTER);
        assert_eq!((v.connected)(this, null.cast()), E_POINTER);
        assert_eq!((v.status)(this, null.cast()), E_POINTER);
        assert_eq!((v.syncState)(this, null.cast()), E_POINTER);
        assert_eq!((v.progress)(this, null.cast()), E_POINTER);
        assert_eq!(
            (v.getItemInfo)(this, std::mem::transmute_copy(&name), null.cast()),
            E_POINTER
        );
        assert_eq!((v.isIdentical)(this, this, null.cast()), E_POINTER);
        let mut b = VARIANT_TRUE;
        assert_eq!((v.isIdentical)(this, null, &mut b), E_POINTER);
        assert_eq!(b, VARIANT_FALSE, "zeroed before the check");
        // A null BSTR is the empty string, as COM defines it.
        let mut out = BSTR::from("old");
        assert_eq!(
            (v.getItemInfo)(this, null, std::ptr::from_mut(&mut out).cast()),
            E_INVALIDARG
        );
        assert!(out.is_empty(), "zeroed on failure");
    }
}

#[test]
fn a_failed_item_reaches_the_sink_as_device_sync_error() {
    use wmdm::providers::memory::{FaultPlan, Operation};
    let f = fixture_partnered_device(3, 100, 1 << 20);
    f.select("All", &[1, 2, 3], 1);
    let log: Log = Arc::default();
    let sink: IUnknown = Sink2 { log: log.clone() }.into();
    let _conn = advise(&f.services, &sink).expect("advise");
    // The second file's create fails; the sync goes on.
    f.device.set_fault_plan(FaultPlan::new().fail_nth(
        Operation::Create,
        3,
        wmdm::Error::ProcessFailed,
    ));
    {
        let mut lib = f.library.write().unwrap();
        for i in 1..=3 {
            let t = lib.track_mut(wmdm::library::TrackId(i)).expect("track");
            t.duration = std::time::Duration::from_millis(205_400 + 3_600_000 * (i - 1));
        }
    }
    let d = sync_device_object(f.sync_device());
    unsafe { d.start() }.expect("start");
    while f.sync_device().step() {}
    assert_eq!(
        take(&log),
        vec![
            "SyncState Player S1 1".to_owned(),
            "SyncError Player S1 false".to_owned(),
            "SyncState Player S1 2".to_owned()
        ],
        "pMedia is the failed item"
    );
    assert_eq!(item(&d, "LastSyncErrorCount").unwrap(), "1");

    // The media item: a read-only IWMPMedia2 over the failed track.
    let media = MEDIA.with(|v| v.borrow_mut().pop()).expect("a media item");
    let m: IWMPMedia2 = media.cast().expect("IWMPMedia2");
    let name = bstr_of(|p| unsafe { m.name(p) });
    let k: u64 = name
        .strip_prefix("Song ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a track's title: {name}"));
    assert!((1..=3).contains(&k));
    let info = |n: &str| {
        let mut b = BSTR::new();
        unsafe { m.getItemInfo(&BSTR::from(n), &mut b) }.expect("getItemInfo");
        b.to_string()
    };
    let source = format!("Artist {}/Album/{k:02}.mp3", k % 3);
    assert_eq!(bstr_of(|p| unsafe { m.sourceURL(p) }), source);
    assert_eq!(info("SourceURL"), source);
    assert_eq!(
        info("author"),
        format!("Artist {}", k % 3),
        "names ignore case"
    );
    assert_eq!(info("WM/AlbumTitle"), "Album");
    assert_eq!(info("WM/TrackNumber"), k.to_string());
    assert_eq!(info("NoSuchAttribute"), "");
    let mut secs = 0.0;
    unsafe { m.duration(&mut secs) }.expect("duration");
    assert!(
        (secs - (205.4 + 3600.0 * (k - 1) as f64)).abs() < 1e-6,
        "{secs}"
    );
    let expected_duration = ["03:25", "1:03:25", "2:03:25"][(k - 1) as usize];
    assert_eq!(
        bstr_of(|p| unsafe { m.durationString(p) }),
        expected_duration
    );

    // Attribute names by index, and the same values through them.
    let count = i32_of(|p| unsafe { m.attributeCount(p) });
    assert!(count >= 10, "{count}");
    let names: Vec<String> = (0..count)
        .map(|i| bstr_of(|p| unsafe { m.getAttributeName(i, p) }))
        .collect();
    assert!(names.iter().any(|n| n == "Title"));
    assert_eq!(
        unsafe { m.getAttributeName(count, &mut BSTR::new()) }
            .unwrap_err()
            .code(),
        E_INVALIDARG
    );

    // Read-only: the setters fail with NS_E_ATTRIBUTE_READ_ONLY, and nothing changes.
    const NS_E_ATTRIBUTE_READ_ONLY: HRESULT = HRESULT(0xC00D_0BD6_u32 as i32);
    assert_eq!(
        unsafe { m.setItemInfo(&BSTR::from("Title"), &BSTR::from("x")) }
            .unwrap_err()
            .code(),
        NS_E_ATTRIBUTE_READ_ONLY
    );
    assert_eq!(
        unsafe { m.Setname(&BSTR::from("x")) }.unwrap_err().code(),
        NS_E_ATTRIBUTE_READ_ONLY
    );
    let mut ro = VARIANT_FALSE;
    unsafe { m.isReadOnlyItem(&BSTR::from("Title"), &mut ro) }.expect("isReadOnlyItem");
    assert_eq!(ro, VARIANT_TRUE);
    assert_eq!(info("Title"), name);

    // isIdentical and isMemberOf.
    let mut same = VARIANT_FALSE;
    unsafe { m.get_isIdentical(&m, &mut same) }.expect("isIdentical");
    assert_eq!(same, VARIANT_TRUE);
    let all: IWMPPlaylist = NamedPlaylist("All").into();
    let other: IWMPPlaylist = NamedPlaylist("Other").into();
    let mut member = VARIANT_FALSE;
    unsafe { m.isMemberOf(&all, &mut member) }.expect("isMemberOf");
    assert_eq!(member, VARIANT_TRUE);
    unsafe { m.isMemberOf(&other, &mut member) }.expect("isMemberOf");
    assert_eq!(member, VARIANT_FALSE);

    // IWMPMedia2::error: the error that failed the item.
    let e = unsafe { m.error() }.expect("error item");
    assert_eq!(
        i32_of(|p| unsafe { e.errorCode(p) }) as u32,
        0x8004_5003,
        "WMDM_E_PROCESSFAILED"
    );
    assert!(!bstr_of(|p| unsafe { e.errorDescription(p) }).is_empty());

    // Null out-parameters are E_POINTER.
    unsafe {
        let v = (*m).vtable();
        let null: *mut std::ffi::c_void = std::ptr::null_mut();
        assert_eq!((v.name)(m.as_raw(), null.cast()), E_POINTER);
        assert_eq!((v.duration)(m.as_raw(), null.cast()), E_POINTER);
        assert_eq!((v.attributeCount)(m.as_raw(), null.cast()), E_POINTER);
    }
}

/// The reference count after an AddRef/Release pair (the value Release returns).
fn refs(o: &IUnknown) -> u32 {
    unsafe {
        (o.vtable().AddRef)(o.as_raw());
        (o.vtable().Release)(o.as_raw())
    }
}

#[test]
fn references_are_counted_and_a_connection_releases_its_sink() {
    let f = fixture_new_device(1, 10, 1 << 20);
    let sink: IUnknown = Sink4 {
        log: Arc::default(),
    }
    .into();
    assert_eq!(refs(&sink), 1);
    let conn = advise(&f.services, &sink).expect("advise");
    assert_eq!(
        refs(&sink),
        3,
        "the connection holds IWMPEvents2 and IWMPEvents4"
    );
    drop(conn);
    assert_eq!(refs(&sink), 1, "dropping the connection releases both");

    let d: IUnknown = sync_device_object(f.sync_device())
        .cast()
        .expect("IUnknown");
    assert_eq!(refs(&d), 1);
    let d3: IWMPSyncDevice3 = d.cast().expect("IWMPSyncDevice3");
    assert_eq!(refs(&d), 2, "one object behind every interface");
    drop(d3);
    assert_eq!(refs(&d), 1);
}

const CONNECT_E_NOCONNECTION: HRESULT = HRESULT(0x8004_0200_u32 as i32);
const CONNECT_E_CANNOTCONNECT: HRESULT = HRESULT(0x8004_0202_u32 as i32);
const S_FALSE: HRESULT = HRESULT(1);

fn same_object(a: &impl Interface, b: &impl Interface) -> bool {
    let a: IUnknown = a.cast().expect("IUnknown");
    let b: IUnknown = b.cast().expect("IUnknown");
    a.as_raw() == b.as_raw()
}

#[test]
fn the_services_object_is_a_connection_point_container() {
    use windows::Win32::System::Com::{IConnectionPoint, IConnectionPointContainer};
    let f = fixture_new_device(1, 10, 1 << 20);
    let services = sync_services_object(f.services.clone());
    let cpc: IConnectionPointContainer = services.cast().expect("IConnectionPointContainer");
    assert!(same_object(&cpc, &services));

    let points = unsafe { cpc.EnumConnectionPoints() }.expect("EnumConnectionPoints");
    let mut got: [Option<IConnectionPoint>; 4] = Default::default();
    let mut n = 0;
    assert_eq!(unsafe { points.Next(&mut got, &mut n) }, S_FALSE);
    assert_eq!(n, 3);
    assert!(got[3].is_none());
    let iids: Vec<_> = got[..3]
        .iter()
        .map(|p| {
            let p = p.as_ref().expect("a point");
            let back = unsafe { p.GetConnectionPointContainer() }.expect("container");
            assert!(same_object(&back, &services), "points lead back to it");
            unsafe { p.GetConnectionInterface() }.expect("GetConnectionInterface")
        })
        .collect();
    assert_eq!(iids, [IWMPEvents2::IID, IWMPEvents3::IID, IWMPEvents4::IID]);
    // The cursor is at the end; Reset, Skip and Clone move and copy it.
    let mut one: [Option<IConnectionPoint>; 1] = Default::default();
    assert_eq!(
        unsafe { points.Next(&mut one, std::ptr::null_mut()) },
        S_FALSE
    );
    unsafe { points.Reset() }.expect("Reset");
    unsafe { points.Skip(2) }.expect("Skip");
    let copy = unsafe { points.Clone() }.expect("Clone");
    assert_eq!(
        unsafe { copy.Next(&mut one, std::ptr::null_mut()) },
        HRESULT(0)
    );
    let last = one[0].take().expect("the third point");
    assert_eq!(
        unsafe { last.GetConnectionInterface() }.expect("iid"),
        IWMPEvents4::IID
    );
    // pcFetched may be null only when one item is asked for.
    assert_eq!(
        unsafe { points.Next(&mut got, std::ptr::null_mut()) },
        E_POINTER
    );

    for iid in [IWMPEvents2::IID, IWMPEvents3::IID, IWMPEvents4::IID] {
        let p = unsafe { cpc.FindConnectionPoint(&iid) }.expect("FindConnectionPoint");
        assert_eq!(unsafe { p.GetConnectionInterface() }.expect("iid"), iid);
    }
    for iid in [IWMPEvents::IID, IWMPSyncDevice::IID, IUnknown::IID] {
        assert_eq!(
            unsafe { cpc.FindConnectionPoint(&iid) }
                .map(|_| ())
                .unwrap_err()
                .code(),
            CONNECT_E_NOCONNECTION
        );
    }
    assert_eq!(
        unsafe { cpc.FindConnectionPoint(std::ptr::null()) }
            .map(|_| ())
            .unwrap_err()
            .code(),
        E_POINTER
    );
}

#[test]
fn events_arrive_through_a_connection_point_until_unadvised() {
    use windows::Win32::System::Com::{CONNECTDATA, IConnectionPointContainer};
    let f = fixture_new_device(1, 10, 1 << 20);
    let services = sync_services_object(f.services.clone());
    let cpc: IConnectionPointContainer = services.cast().expect("IConnectionPointContainer");
    let p4 = unsafe { cpc.FindConnectionPoint(&IWMPEvents4::IID) }.expect("IWMPEvents4 point");
    let p2 = unsafe { cpc.FindConnectionPoint(&IWMPEvents2::IID) }.expect("IWMPEvents2 point");
    let log4: Log = Arc::default();
    let log2: Log = Arc::default();
    let sink4: IUnknown = Sink4 { log: log4.clone() }.into();
    let sink2: IUnknown = Sink2 { log: log2.clone() }.into();
    assert_eq!((refs(&sink4), refs(&sink2)), (1, 1));

    // A sink without the point's interface cannot connect; a null sink is E_POINTER.
    assert_eq!(
        unsafe { p4.Advise(&sink2) }.unwrap_err().code(),
        CONNECT_E_CANNOTCONNECT
    );
    assert_eq!(
        unsafe { p4.Advise(None::<&IUnknown>) }.unwrap_err().code(),
        E_POINTER
    );
    assert_eq!(refs(&sink2), 1, "a refused sink is not kept");
    let c4 = unsafe { p4.Advise(&sink4) }.expect("Advise IWMPEvents4");
    let c2 = unsafe { p2.Advise(&sink2) }.expect("Advise IWMPEvents2");
    assert!(c4 != 0 && c2 != 0 && c4 != c2, "cookies {c4} {c2}");

    // EnumConnections: the point's own connections, each with an AddRef'd sink.
    let conns = unsafe { p4.EnumConnections() }.expect("EnumConnections");
    let mut cd: [CONNECTDATA; 2] = Default::default();
    let mut n = 0;
    assert_eq!(unsafe { conns.Next(&mut cd, &mut n) }, S_FALSE);
    assert_eq!(n, 1);
    assert_eq!(cd[0].dwCookie, c4);
    let held = unsafe { std::mem::ManuallyDrop::take(&mut cd[0].pUnk) }.expect("pUnk");
    assert_eq!(held.as_raw(), sink4.as_raw());
    drop(held);
    assert_eq!(
        unsafe { conns.Next(&mut cd, std::ptr::null_mut()) },
        E_POINTER
    );
    drop(conns);

    // An event reaches both sinks through their points.
    let d = unsafe { services.getDevice(0) }.expect("device");
    unsafe { d.createPartnership(VARIANT_FALSE) }.expect("createPartnership");
    f.services.poll().expect("poll");
    let expected = vec![
        "Status Player S1 1".to_owned(),
        "Partnership Player S1 0x00000000".to_owned(),
    ];
    assert_eq!(take(&log4), expected);
    assert_eq!(take(&log2), expected);

    // Unadvise: unknown cookies, and another point's cookie, are CONNECT_E_NOCONNECTION.
    for bad in [0, c4 + c2 + 100, c2] {
        assert_eq!(
            unsafe { p4.Unadvise(bad) }.unwrap_err().code(),
            CONNECT_E_NOCONNECTION,
            "cookie {bad}"
        );
    }
    unsafe { p4.Unadvise(c4) }.expect("Unadvise");
    assert_eq!(
        unsafe { p4.Unadvise(c4) }.unwrap_err().code(),
        CONNECT_E_NOCONNECTION,
        "twice"
    );
    assert_eq!(refs(&sink4), 1, "Unadvise releases the sink");
    unsafe { d.deletePartnership() }.expect("deletePartnership");
    assert!(take(&log4).is_empty(), "an unadvised sink hears nothing");
    assert_eq!(take(&log2), vec!["Status Player S1 2".to_owned()]);
    // The IWMPEvents3 point takes a sink that has IWMPEvents3 and delivers the device events.
    let p3 = unsafe { cpc.FindConnectionPoint(&IWMPEvents3::IID) }.expect("IWMPEvents3 point");
    assert_eq!(
        unsafe { p3.Advise(&sink2) }.unwrap_err().code(),
        CONNECT_E_CANNOTCONNECT
    );
    let c3 = unsafe { p3.Advise(&sink4) }.expect("Advise IWMPEvents3");
    assert!(c3 > c2, "cookies are not reused");
    unsafe { d.createPartnership(VARIANT_FALSE) }.expect("createPartnership");
    f.services.poll().expect("poll");
    assert_eq!(take(&log4), expected);
    assert_eq!(take(&log2), expected);
    unsafe { p3.Unadvise(c3) }.expect("Unadvise IWMPEvents3");
    drop(p3);
    assert_eq!(refs(&sink4), 1);
    unsafe { d.deletePartnership() }.expect("deletePartnership");
    take(&log2);

    let mut none: [CONNECTDATA; 1] = Default::default();
    let empty = unsafe { p4.EnumConnections() }.expect("EnumConnections");
    assert_eq!(
        unsafe { empty.Next(&mut none, std::ptr::null_mut()) },
        S_FALSE
    );

    // The last reference to the container and its points ends what is still advised.
    assert!(refs(&sink2) > 1);
    drop((p4, p2, cpc, services, empty, d));
    assert_eq!(refs(&sink2), 1, "released with the container");
    f.sync_device()
        .create_partnership()
        .expect("create_partnership");
    f.services.poll().expect("poll");
    assert!(take(&log2).is_empty());
}

/// A sink advised from a single-threaded apartment is called on that thread only, through its
/// message loop, in order; a sync driven from another thread queues the events until then.
#[test]
fn an_apartment_threaded_sink_is_called_on_its_own_thread_by_its_message_loop() {
    use windows::Win32::System::Com::{COINIT_APARTMENTTHREADED, CoInitializeEx, CoUninitialize};
    use windows::Win32::UI::WindowsAndMessaging::{DispatchMessageW, MSG, PM_REMOVE, PeekMessageW};

    /// A sink that notes the thread each event arrives on.
    #[implement(IWMPEvents2)]
    struct ThreadSink {
        log: Log,
    }
    impl ThreadSink_Impl {
        fn push(&self, s: String) {
            let here = format!("{:?}", std::thread::current().id());
            self.log.lock().unwrap().push(format!("{here} {s}"));
        }
    }
    empty_wmp_events!(ThreadSink_Impl);

    let f = fixture_partnered_device(2, 100, 1 << 20);
    f.select("Mix", &[1, 2], 1);
    let log: Log = Arc::default();
    let services = f.services.clone();
    let sta_log = log.clone();
    let (advised_tx, advised_rx) = std::sync::mpsc::channel();
    let (synced_tx, synced_rx) = std::sync::mpsc::channel::<()>();
    let sta = std::thread::spawn(move || {
        unsafe { CoInitializeEx(None, COINIT_APARTMENTTHREADED) }
            .ok()
            .expect("an STA");
        let sink: IUnknown = ThreadSink {
            log: sta_log.clone(),
        }
        .into();
        let conn = advise(&services, &sink).expect("advise from the STA");
        let me = format!("{:?}", std::thread::current().id());
        advised_tx.send(me.clone()).unwrap();
        synced_rx.recv().unwrap();
        // Nothing has been delivered while this thread did not pump messages.
        let before = sta_log.lock().unwrap().len();
        let mut msg = MSG::default();
        while unsafe { PeekMessageW(&mut msg, None, 0, 0, PM_REMOVE) }.as_bool() {
            unsafe { DispatchMessageW(&msg) };
        }
        conn.unadvise();
        drop(sink);
        unsafe { CoUninitialize() };
        (me, before)
    });
    let sta_id = advised_rx.recv().unwrap();
    // The sync runs on this thread (not an STA): its events are posted to the STA.
    let d = f.sync_device();
    d.start().expect("start");
    while d.step() {}
    synced_tx.send(()).unwrap();
    let (me, before) = sta.join().expect("the STA thread");
    assert_eq!(me, sta_id);
    assert_eq!(before, 0, "no event may run before the STA pumps messages");
    let got = take(&log);
    assert_eq!(
        got,
        vec![
            format!("{sta_id} SyncState Player S1 1"),
            format!("{sta_id} SyncState Player S1 2"),
        ],
        "both state changes, in order, on the STA thread"
    );
}
