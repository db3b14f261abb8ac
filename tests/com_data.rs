//! The COM objects' data paths: metadata through the caller's IWMDMMetaData, progress through
//! IWMDMProgress, format arrays, device properties, globals, and the class factory.
#![cfg(all(windows, feature = "com"))]
#![allow(unsafe_code)]

mod com_support;
mod common;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use com_support::*;
use windows::Win32::Media::Audio::WAVEFORMATEX;
use windows::Win32::Media::DeviceManager::*;
use windows::Win32::System::Com::{CoTaskMemAlloc, CoTaskMemFree, IClassFactory};
use windows::Win32::System::Variant::VT_LPWSTR;
use windows_core::{GUID, HRESULT, IUnknown, Interface, PCWSTR, PWSTR, implement, w};
use wmdm::com::server;

const S_NOT_ALL_APPLIED: HRESULT = HRESULT(0x0004_5001);
const S_NOT_ALL_RETRIEVED: HRESULT = HRESULT(0x0004_5002);
const E_INVALIDARG: HRESULT = HRESULT(0x8007_0057_u32 as i32);

/// The application's metadata object, as an app would implement it.
#[implement(IWMDMMetaData)]
#[derive(Default)]
struct TestMetaData {
    items: Mutex<Vec<(String, i32, Vec<u8>)>>,
}

fn co_copy<T: Copy>(items: &[T]) -> *mut T {
    let p = unsafe { CoTaskMemAlloc(std::mem::size_of_val(items).max(1)) }.cast::<T>();
    unsafe { std::ptr::copy_nonoverlapping(items.as_ptr(), p, items.len()) };
    p
}

impl IWMDMMetaData_Impl for TestMetaData_Impl {
    fn AddItem(
        &self,
        ty: WMDM_TAG_DATATYPE,
        name: &PCWSTR,
        value: *const u8,
        len: u32,
    ) -> windows_core::Result<()> {
        let name = unsafe { name.to_string() }.unwrap();
        let bytes = unsafe { std::slice::from_raw_parts(value, len as usize) }.to_vec();
        self.items.lock().unwrap().push((name, ty.0, bytes));
        Ok(())
    }

    fn QueryByName(
        &self,
        _: &PCWSTR,
        _: *mut WMDM_TAG_DATATYPE,
        _: *mut *mut u8,
        _: *mut u32,
    ) -> windows_core::Result<()> {
        Err(windows_core::Error::from_hresult(HRESULT(
            0x8000_4001_u32 as i32,
        )))
    }

    fn QueryByIndex(
        &self,
        i: u32,
        name: *mut *mut u16,
        ty: *mut WMDM_TAG_DATATYPE,
        value: *mut *mut u8,
        len: *mut u32,
    ) -> windows_core::Result<()> {
        let items = self.items.lock().unwrap();
        let (n, t, v) = &items[i as usize];
        let wide: Vec<u16> = n.encode_utf16().chain([0]).collect();
        unsafe {
            *name = co_copy(&wide);
            *ty = WMDM_TAG_DATATYPE(*t);
            *value = co_copy(v);
            *len = v.len() as u32;
        }
        Ok(())
    }

    fn GetItemCount(&self) -> windows_core::Result<u32> {
        Ok(self.items.lock().unwrap().len() as u32)
    }
}

fn meta(
    items: &[(&str, WMDM_TAG_DATATYPE, Vec<u8>)],
) -> (IWMDMMetaData, windows_core::ComObject<TestMetaData>) {
    let obj = windows_core::ComObject::new(TestMetaData::default());
    for (n, t, v) in items {
        obj.items
            .lock()
            .unwrap()
            .push((n.to_string(), t.0, v.clone()));
    }
    (obj.to_interface(), obj)
}

fn wide_bytes(s: &str) -> Vec<u8> {
    s.encode_utf16()
        .chain([0])
        .flat_map(u16::to_le_bytes)
        .collect()
}

fn new_file(name: PCWSTR) -> (IMDSPStorage4, Session_) {
    let (sp, _) = provider(std::sync::Arc::new(memory()));
    let session = login(&sp);
    let device = first_device(&sp);
    let file = unsafe { root(&device).CreateStorage(0x20 | 0x800, None, name) }.unwrap();
    (file.cast().unwrap(), session)
}

type Session_ = wmdm::sac::Session;

#[test]
fn metadata_goes_through_the_callers_object_both_ways() {
    let (file, _session) = new_file(w!("song.mp3"));
    let (input, _) = meta(&[
        ("WMDM/Title", WMDM_TYPE_STRING, wide_bytes("A Song")),
        ("WMDM/Track", WMDM_TYPE_DWORD, 3u32.to_le_bytes().to_vec()),
        // The device's own to say: dropped, so not everything is applied.
        (
            "WMDM/FileSize",
            WMDM_TYPE_QWORD,
            99u64.to_le_bytes().to_vec(),
        ),
    ]);
    let hr = unsafe {
        (Interface::vtable(&file).base__.SetMetadata)(Interface::as_raw(&file), input.as_raw())
    };
    assert_eq!(hr, S_NOT_ALL_APPLIED);

    let (output, out_obj) = meta(&[]);
    unsafe { file.GetMetadata(&output) }.unwrap();
    let items = out_obj.items.lock().unwrap().clone();
    let find = |n: &str| items.iter().find(|(name, _, _)| name == n).cloned();
    let (_, ty, title) = find("WMDM/Title").expect("title");
    assert_eq!((ty, title), (WMDM_TYPE_STRING.0, wide_bytes("A Song")));
    let (_, ty, track) = find("WMDM/Track").expect("track");
    assert_eq!(
        (ty, track),
        (WMDM_TYPE_DWORD.0, 3u32.to_le_bytes().to_vec())
    );

    let names = [w!("WMDM/Title"), w!("WMDM/NoSuchTag")];
    let (subset, subset_obj) = meta(&[]);
    let hr = unsafe {
        (Interface::vtable(&file).GetSpecifiedMetadata)(
            Interface::as_raw(&file),
            2,
            names.as_ptr(),
            subset.as_raw(),
        )
    };
    assert_eq!(hr, S_NOT_ALL_RETRIEVED);
    assert_eq!(subset_obj.items.lock().unwrap().len(), 1);
}

#[test]
fn create_storage_with_metadata_reads_the_callers_object() {
    let (sp, _) = provider(std::sync::Arc::new(memory()));
    let _session = login(&sp);
    let root4: IMDSPStorage4 = root(&first_device(&sp)).cast().unwrap();
    let (m, _) = meta(&[("WMDM/Title", WMDM_TYPE_STRING, wide_bytes("Meta"))]);
    let created = unsafe { root4.CreateStorageWithMetadata(0x20, w!("m.wma"), &m, 0) }.unwrap();
    let created4: IMDSPStorage4 = created.cast().unwrap();
    let (out, out_obj) = meta(&[]);
    unsafe { created4.GetMetadata(&out) }.unwrap();
    assert!(
        out_obj
            .items
            .lock()
            .unwrap()
            .iter()
            .any(|(n, _, v)| n == "WMDM/Title" && *v == wide_bytes("Meta"))
    );
    // A malformed item (a DWORD of 3 bytes) is refused.
    let (bad, _) = meta(&[("WMDM/Track", WMDM_TYPE_DWORD, vec![1, 2, 3])]);
    let hr = unsafe { created4.SetMetadata(&bad) }.map_err(|e| e.code());
    assert_eq!(hr, Err(E_INVALIDARG));
}

/// Counts what a provider reports.
#[implement(IWMDMProgress)]
#[derive(Default)]
struct Counter {
    begins: AtomicU32,
    ends: AtomicU32,
}

impl IWMDMProgress_Impl for Counter_Impl {
    fn Begin(&self, _: u32) -> windows_core::Result<()> {
        self.begins.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn Progress(&self, _: u32) -> windows_core::Result<()> {
        Ok(())
    }
    fn End(&self) -> windows_core::Result<()> {
        self.ends.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn rename_and_delete_report_progress_through_iwmdmprogress() {
    let (file, _session) = new_file(w!("old.mp3"));
    let counter = windows_core::ComObject::new(Counter::default());
    let progress: IWMDMProgress = counter.to_interface();
    let obj: IMDSPObject = file.cast().unwrap();
    unsafe { obj.Rename(w!("new.mp3"), &progress) }.unwrap();
    let mut buf = [0u16; 32];
    unsafe { file.GetName(&mut buf) }.unwrap();
    assert_eq!(String::from_utf16_lossy(&buf[..7]), "new.mp3");
    assert_eq!(counter.begins.load(Ordering::SeqCst), 1);
    assert_eq!(counter.ends.load(Ordering::SeqCst), 1);

    unsafe { obj.Delete(1, None) }.unwrap();
    let gone = unsafe { file.GetName(&mut buf) }.map_err(|e| e.code());
    assert_eq!(
        gone,
        Err(HRESULT(0x8004_5001_u32 as i32)),
        "WMDM_E_INTERFACEDEAD"
    );
}

/// A sink with IWMDMProgress2: it is told how the operation ended. With `cancel` set, its
/// Begin cancels the operation.
#[implement(IWMDMProgress2)]
#[derive(Default)]
struct Counter2 {
    cancel: std::sync::atomic::AtomicBool,
    ends: AtomicU32,
    end2: Mutex<Vec<HRESULT>>,
}

const WMDM_E_USER_CANCELLED: HRESULT = HRESULT(0x8004_500B_u32 as i32);

impl IWMDMProgress_Impl for Counter2_Impl {
    fn Begin(&self, _: u32) -> windows_core::Result<()> {
        if self.cancel.load(Ordering::SeqCst) {
            return Err(WMDM_E_USER_CANCELLED.into());
        }
        Ok(())
    }
    fn Progress(&self, _: u32) -> windows_core::Result<()> {
        Ok(())
    }
    fn End(&self) -> windows_core::Result<()> {
        self.ends.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

impl IWMDMProgress2_Impl for Counter2_Impl {
    fn End2(&self, hr: HRESULT) -> windows_core::Result<()> {
        self.end2.lock().unwrap().push(hr);
        Ok(())
    }
}

#[test]
fn a_sink_with_iwmdmprogress2_gets_end2_with_the_result() {
    let (file, _session) = new_file(w!("first.mp3"));
    let counter = windows_core::ComObject::new(Counter2::default());
    let progress2: IWMDMProgress2 = counter.to_interface();
    let progress: IWMDMProgress = progress2.cast().unwrap();
    let obj: IMDSPObject = file.cast().unwrap();
    unsafe { obj.Rename(w!("renamed.mp3"), &progress) }.unwrap();
    // Cancelled from Begin: the operation fails, and End2 carries that failure.
    counter.cancel.store(true, Ordering::SeqCst);
    let cancelled = unsafe { obj.Rename(w!("again.mp3"), &progress) }.map_err(|e| e.code());
    assert_eq!(cancelled, Err(WMDM_E_USER_CANCELLED));
    let got = counter.end2.lock().unwrap().clone();
    assert_eq!(
        got,
        vec![HRESULT(0), WMDM_E_USER_CANCELLED],
        "End2 once per operation"
    );
    assert_eq!(
        counter.ends.load(Ordering::SeqCst),
        0,
        "End2 instead of End"
    );
}

#[test]
fn format_support_arrays_come_from_cotaskmemalloc() {
    let (sp, _) = provider(std::sync::Arc::new(memory()));
    let _session = login(&sp);
    let device: IMDSPDevice2 = first_device(&sp).cast().unwrap();
    let mut audio: *mut WAVEFORMATEX = std::ptr::null_mut();
    let mut files: *mut WMFILECAPABILITIES = std::ptr::null_mut();
    let (mut na, mut nv, mut nf) = (0, 0, 0);
    let mut video = std::ptr::null_mut();
    unsafe {
        device.GetFormatSupport2(
            1 | 4,
            &mut audio,
            &mut na,
            &mut video,
            &mut nv,
            &mut files,
            &mut nf,
        )
    }
    .unwrap();
    assert!(nf > 0, "the memory device lists MIME types");
    assert_eq!(nv, 0);
    let mimes: Vec<String> = (0..nf as usize)
        .map(|i| unsafe { (*files.add(i)).pwszMimeType.to_string() }.unwrap())
        .collect();
    assert!(mimes.iter().any(|m| m.starts_with("audio/")), "{mimes:?}");
    for i in 0..nf as usize {
        unsafe { CoTaskMemFree(Some((*files.add(i)).pwszMimeType.0 as *const _)) };
    }
    unsafe {
        CoTaskMemFree(Some(files as *const _));
        CoTaskMemFree(Some(audio as *const _));
    }
    let hr = unsafe {
        device.GetFormatSupport2(
            8, &mut audio, &mut na, &mut video, &mut nv, &mut files, &mut nf,
        )
    };
    assert_eq!(hr.map_err(|e| e.code()), Err(E_INVALIDARG));
}

#[test]
fn device_properties_are_propvariants() {
    let (sp, _) = provider(std::sync::Arc::new(memory()));
    let _session = login(&sp);
    let device: IMDSPDevice3 = first_device(&sp).cast().unwrap();
    let v = unsafe { device.GetProperty(w!("WMDM/DeviceFriendlyName")) }.unwrap();
    let inner = unsafe { &v.Anonymous.Anonymous };
    assert_eq!(inner.vt, VT_LPWSTR);
    let s = unsafe { PWSTR(inner.Anonymous.pwszVal.0).to_string() }.unwrap();
    assert_eq!(s, DEVICE_NAME);
    // `v` owns the string: windows' PROPVARIANT frees it with PropVariantClear when dropped.
    // Freeing it here as well was a double free, which crashed parallel runs under Wine: another
    // test thread could be handed the block in between (docs/com.md, "Debugging under Wine").
    drop(v);
}

#[test]
fn globals_report_the_medium_and_lead_back_to_the_device() {
    let (sp, _) = provider(std::sync::Arc::new(memory()));
    let _session = login(&sp);
    let device = first_device(&sp);
    let globals = unsafe { root(&device).GetStorageGlobals() }.unwrap();
    let (mut lo, mut hi) = (0, 0);
    unsafe { globals.GetTotalSize(&mut lo, &mut hi) }.unwrap();
    let total = u64::from(lo) | (u64::from(hi) << 32);
    unsafe { globals.GetTotalFree(&mut lo, &mut hi) }.unwrap();
    let free = u64::from(lo) | (u64::from(hi) << 32);
    assert!(total > 0 && free <= total);
    let back = unsafe { globals.GetDevice() }.unwrap();
    let mut buf = [0u16; 64];
    unsafe { back.GetName(&mut buf) }.unwrap();
    assert_eq!(
        String::from_utf16_lossy(&buf[..DEVICE_NAME.len()]),
        DEVICE_NAME
    );
    let root_again = unsafe { globals.GetRootStorage() }.unwrap();
    assert!(unsafe { root_again.EnumStorage() }.is_ok());
}

#[test]
fn the_class_factory_serves_one_clsid_without_aggregation() {
    const SERVED: GUID = GUID::from_u128(0x1111_2222_3333_4444_5555_6666_7777_8888);
    let make: std::sync::Arc<server::MakeProvider> = std::sync::Arc::new(|| {
        Ok(wmdm::com::ComServiceProvider::new(
            std::sync::Arc::new(memory()),
            channel(),
        ))
    });
    let mut p = std::ptr::null_mut();
    let other = GUID::from_u128(1);
    let hr = unsafe {
        server::get_class_object(&other, &IClassFactory::IID, &mut p, &SERVED, make.clone())
    };
    assert_eq!(
        hr,
        HRESULT(0x8004_0111_u32 as i32),
        "CLASS_E_CLASSNOTAVAILABLE"
    );
    assert!(p.is_null());

    let hr =
        unsafe { server::get_class_object(&SERVED, &IClassFactory::IID, &mut p, &SERVED, make) };
    assert_eq!(hr, HRESULT(0));
    let factory = unsafe { IClassFactory::from_raw(p) };
    let sp: IMDServiceProvider = unsafe { factory.CreateInstance(None) }.unwrap();
    assert!(sp.cast::<IComponentAuthenticate>().is_ok());
    let outer: IUnknown = sp.cast().unwrap();
    let aggregated = unsafe { factory.CreateInstance::<_, IMDServiceProvider>(&outer) };
    assert_eq!(
        aggregated.map(|_| ()).map_err(|e| e.code()),
        Err(HRESULT(0x8004_0110_u32 as i32))
    );
}

#[test]
fn device_io_control_respects_the_callers_buffer() {
    let (sp, _) = provider(std::sync::Arc::new(memory()));
    let _session = login(&sp);
    let device: IMDSPDevice3 = first_device(&sp).cast().unwrap();
    let code = wmdm::providers::memory::IOCTL_WMP_DEVICE_CAN_SYNC;
    let mut out = [0u8; 8];
    let mut size = 2u32;
    let r = unsafe { device.DeviceIoControl(code, &[], out.as_mut_ptr(), &mut size) };
    assert_eq!(
        r.map_err(|e| e.code()),
        Err(HRESULT(0x8004_5008_u32 as i32))
    );
    size = 8;
    unsafe { device.DeviceIoControl(code, &[], out.as_mut_ptr(), &mut size) }.unwrap();
    assert_eq!(size, 4);
}

#[test]
fn opaque_commands_need_a_valid_mac() {
    let (sp, _) = provider(std::sync::Arc::new(memory()));
    let session = login(&sp);
    let device = first_device(&sp);
    let guid = GUID::from_u128(0x42);
    let mut data = *b"cmd!";
    let mut cmd = OPAQUECOMMAND {
        guidCommand: guid,
        dwDataLen: 4,
        pData: data.as_mut_ptr(),
        abMAC: [0; 20],
    };
    let r = unsafe { device.SendOpaqueCommand(&mut cmd) };
    assert_eq!(
        r.map_err(|e| e.code().0),
        Err(wmdm::Error::MacCheckFailed.hresult().0)
    );

    let uuid = uuid::Uuid::from_u128(0x42);
    let mac = session.mac(&[&uuid.to_bytes_le(), &4u32.to_le_bytes(), b"cmd!"]);
    cmd.abMAC[..8].copy_from_slice(&mac);
    // The MAC is right; the memory device has no opaque commands.
    let r = unsafe { device.SendOpaqueCommand(&mut cmd) };
    assert_eq!(
        r.map_err(|e| e.code().0),
        Err(wmdm::Error::NotSupported.hresult().0)
    );
}
