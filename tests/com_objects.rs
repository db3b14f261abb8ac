//! The COM objects in-process (Windows, or Wine through the cargo runner): reference counting,
//! QueryInterface, the authentication gate, buffer rules, panics, and Read/Write with MAC and
//! encryption.
#![cfg(all(windows, feature = "com"))]
#![allow(unsafe_code)]

mod com_support;
mod common;

use com_support::*;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use windows::Win32::Media::DeviceManager::*;
use windows_core::{GUID, HRESULT, IUnknown, Interface, PCWSTR, PWSTR, w};
use wmdm::com::{ComServiceProvider, client};
use wmdm::provider::{DeviceRef, ServiceProvider};
use wmdm::providers::memory::MemoryProvider;
use wmdm::sac::{Role, Session};
use wmdm::{Error, Result};

const NOTCERTIFIED: HRESULT = HRESULT(0x8004_5005_u32 as i32);
const BUFFERTOOSMALL: HRESULT = HRESULT(0x8004_5008_u32 as i32);
const MAC_CHECK_FAILED: HRESULT = HRESULT(0x8004_500A_u32 as i32);
const E_POINTER: HRESULT = HRESULT(0x8000_4003_u32 as i32);
const E_NOINTERFACE: HRESULT = HRESULT(0x8000_4002_u32 as i32);
const E_UNEXPECTED: HRESULT = HRESULT(0x8000_FFFF_u32 as i32);
const S_FALSE: HRESULT = HRESULT(1);

/// A provider whose drop is observable, to see when the last COM reference lets it go.
#[derive(Debug)]
struct Tracked {
    inner: MemoryProvider,
    dropped: Arc<AtomicBool>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

impl ServiceProvider for Tracked {
    fn device_count(&self) -> Result<u32> {
        self.inner.device_count()
    }
    fn devices(&self) -> Result<Vec<DeviceRef>> {
        self.inner.devices()
    }
}

/// A provider that panics, to see that no panic crosses the boundary.
#[derive(Debug)]
struct Panicking;

impl ServiceProvider for Panicking {
    fn device_count(&self) -> Result<u32> {
        panic!("a bug in the provider")
    }
    fn devices(&self) -> Result<Vec<DeviceRef>> {
        Err(Error::Fail)
    }
}

#[test]
fn every_method_is_not_certified_before_the_handshake() {
    let (sp, ch) = provider(Arc::new(memory()));
    assert_eq!(code(unsafe { sp.GetDeviceCount() }), NOTCERTIFIED);
    assert_eq!(code(unsafe { sp.EnumDevices() }), NOTCERTIFIED);
    let sp3: IMDServiceProvider3 = sp.cast().unwrap();
    assert_eq!(
        code(unsafe { sp3.SetDeviceEnumPreference(0) }),
        NOTCERTIFIED
    );
    let revoked: IMDSPRevoked = sp.cast().unwrap();
    let mut url = PWSTR::null();
    let mut len = 0;
    assert_eq!(
        code(unsafe { revoked.GetRevocationURL(&mut url, &mut len) }),
        NOTCERTIFIED
    );
    assert!(!ch.is_authenticated());
    // SACGetProtocols is open to everyone.
    let auth: IComponentAuthenticate = sp.cast().unwrap();
    assert_eq!(client::protocols(&auth).unwrap(), vec![2]);

    let _session = login(&sp);
    assert!(ch.is_authenticated());
    assert_eq!(unsafe { sp.GetDeviceCount() }.unwrap(), 1);
}

#[test]
fn a_second_handshake_is_out_of_sequence() {
    let (sp, _) = provider(Arc::new(memory()));
    let _session = login(&sp);
    let auth: IComponentAuthenticate = sp.cast().unwrap();
    let clock = common::clock();
    let config = Arc::new(common::config(Role::Manager, 2, Role::Provider, &clock));
    assert_eq!(
        client::authenticate(&auth, config).err(),
        Some(Error::CallOutOfSequence)
    );
}

fn assert_has(unknown: &IUnknown, iids: &[GUID]) {
    for iid in iids {
        let mut p = std::ptr::null_mut();
        let hr = unsafe { unknown.query(iid, &mut p) };
        assert_eq!(hr, HRESULT(0), "QueryInterface {iid:?}");
        assert!(!p.is_null());
        // Balance the reference QueryInterface added.
        drop(unsafe { IUnknown::from_raw(p) });
    }
}

fn assert_lacks(unknown: &IUnknown, iids: &[GUID]) {
    for iid in iids {
        let mut p = std::ptr::null_mut();
        let hr = unsafe { unknown.query(iid, &mut p) };
        assert_eq!(hr, E_NOINTERFACE, "QueryInterface {iid:?}");
        assert!(p.is_null());
    }
}

#[test]
fn query_interface_answers_every_implemented_iid_and_only_those() {
    let (sp, _) = provider(Arc::new(memory()));
    let _session = login(&sp);
    let unk: IUnknown = sp.cast().unwrap();
    assert_has(
        &unk,
        &[
            IUnknown::IID,
            IMDServiceProvider::IID,
            IMDServiceProvider2::IID,
            IMDServiceProvider3::IID,
            IMDSPRevoked::IID,
            IComponentAuthenticate::IID,
        ],
    );
    assert_lacks(
        &unk,
        &[IMDSPDevice::IID, IMDSPStorage::IID, IWMDMMetaData::IID],
    );

    let enum_devices: IUnknown = unsafe { sp.EnumDevices() }.unwrap().cast().unwrap();
    assert_has(&enum_devices, &[IUnknown::IID, IMDSPEnumDevice::IID]);
    assert_lacks(
        &enum_devices,
        &[IMDSPEnumStorage::IID, IMDServiceProvider::IID],
    );

    let device = first_device(&sp);
    let dev_unk: IUnknown = device.cast().unwrap();
    assert_has(
        &dev_unk,
        &[
            IUnknown::IID,
            IMDSPDevice::IID,
            IMDSPDevice2::IID,
            IMDSPDevice3::IID,
        ],
    );
    assert_lacks(&dev_unk, &[IMDSPStorage::IID, IMDSPDeviceControl::IID]);

    let enum_storages: IUnknown = unsafe { device.EnumStorage() }.unwrap().cast().unwrap();
    assert_has(&enum_storages, &[IMDSPEnumStorage::IID]);
    assert_lacks(&enum_storages, &[IMDSPEnumDevice::IID]);

    let storage = root(&device);
    let st_unk: IUnknown = storage.cast().unwrap();
    assert_has(
        &st_unk,
        &[
            IMDSPStorage::IID,
            IMDSPStorage2::IID,
            IMDSPStorage3::IID,
            IMDSPStorage4::IID,
            IMDSPObject::IID,
            IMDSPObject2::IID,
            IMDSPObjectInfo::IID,
        ],
    );
    // The memory device copies nothing itself, so WMDM must not be offered direct transfer.
    assert_lacks(
        &st_unk,
        &[
            IMDSPDevice::IID,
            IMDSPStorageGlobals::IID,
            IMDSPDirectTransfer::IID,
        ],
    );

    let globals: IUnknown = unsafe { storage.GetStorageGlobals() }
        .unwrap()
        .cast()
        .unwrap();
    assert_has(&globals, &[IMDSPStorageGlobals::IID]);
    assert_lacks(&globals, &[IMDSPStorage::IID]);
}

#[test]
fn objects_are_freed_exactly_when_the_last_reference_goes() {
    let dropped = Arc::new(AtomicBool::new(false));
    let core = Arc::new(Tracked {
        inner: memory(),
        dropped: dropped.clone(),
    });
    let ch = channel();
    let sp = ComServiceProvider::new(core, ch.clone()).into_interface();
    let _session = login(&sp);
    assert_eq!(
        Arc::strong_count(&ch),
        2,
        "the test and the provider object"
    );

    let second = sp.clone(); // AddRef
    let auth: IComponentAuthenticate = sp.cast().unwrap(); // QueryInterface adds one more
    drop(sp);
    drop(second);
    assert!(
        !dropped.load(Ordering::SeqCst),
        "one reference is still held"
    );

    // Children keep the channel alive, not the provider object.
    let sp: IMDServiceProvider = auth.cast().unwrap();
    let device = first_device(&sp);
    let storage = root(&device);
    let globals = unsafe { storage.GetStorageGlobals() }.unwrap();
    assert_eq!(Arc::strong_count(&ch), 1 + 4);
    drop(sp);
    drop(auth);
    assert!(
        dropped.load(Ordering::SeqCst),
        "the last provider reference went"
    );
    assert_eq!(Arc::strong_count(&ch), 1 + 3);
    drop(device);
    drop(storage);
    assert_eq!(Arc::strong_count(&ch), 1 + 1);
    drop(globals);
    assert_eq!(Arc::strong_count(&ch), 1);
}

#[test]
fn names_need_room_for_the_terminator() {
    let (sp, _) = provider(Arc::new(memory()));
    let _session = login(&sp);
    let device = first_device(&sp);
    let n = DEVICE_NAME.encode_utf16().count();

    let mut exact = vec![0xFFFFu16; n]; // no room for the NUL
    assert_eq!(code(unsafe { device.GetName(&mut exact) }), BUFFERTOOSMALL);
    assert_eq!(
        exact[0], 0,
        "a too-short buffer is left holding an empty string"
    );
    let mut empty: [u16; 0] = [];
    assert_eq!(code(unsafe { device.GetName(&mut empty) }), BUFFERTOOSMALL);

    let mut fits = vec![0xFFFFu16; n + 1];
    unsafe { device.GetName(&mut fits) }.unwrap();
    assert_eq!(wide_str(&fits), DEVICE_NAME);

    // A null buffer through the raw vtable.
    let hr = unsafe {
        (Interface::vtable(&device).GetName)(Interface::as_raw(&device), PWSTR::null(), 10)
    };
    assert_eq!(hr, E_POINTER);

    let storage = root(&device);
    let mut tiny = [0u16; 2];
    assert_eq!(code(unsafe { storage.GetName(&mut tiny) }), BUFFERTOOSMALL);
    let mut low = 7u32;
    let hr = unsafe {
        (Interface::vtable(&storage).GetSize)(
            Interface::as_raw(&storage),
            &mut low,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(hr, E_POINTER);
    assert_eq!(low, 0, "out-parameters are zeroed on failure");
}

#[test]
fn next_reports_s_false_when_fewer_items_come_back() {
    let (sp, _) = provider(Arc::new(memory()));
    let _session = login(&sp);
    let e = unsafe { sp.EnumDevices() }.unwrap();
    let mut slots: [Option<IMDSPDevice>; 4] = Default::default();
    let mut fetched = 99u32;
    let hr = unsafe {
        (Interface::vtable(&e).Next)(
            Interface::as_raw(&e),
            4,
            slots.as_mut_ptr().cast(),
            &mut fetched,
        )
    };
    assert_eq!(hr, S_FALSE);
    assert_eq!(fetched, 1);
    assert!(slots[0].is_some() && slots[1].is_none());
    // celt > 1 needs a count pointer.
    let hr = unsafe {
        (Interface::vtable(&e).Next)(
            Interface::as_raw(&e),
            2,
            slots.as_mut_ptr().cast(),
            std::ptr::null_mut(),
        )
    };
    assert_eq!(hr, E_POINTER);
    unsafe { e.Reset() }.unwrap();
    let clone = unsafe { e.Clone() }.unwrap();
    assert_eq!(unsafe { clone.Skip(1) }.unwrap(), 1);
}

#[test]
fn a_panic_becomes_e_unexpected() {
    let (sp, _) = provider(Arc::new(Panicking));
    let _session = login(&sp);
    assert_eq!(code(unsafe { sp.GetDeviceCount() }), E_UNEXPECTED);
    // The object still works afterwards.
    assert_eq!(
        code(unsafe { sp.EnumDevices() }),
        Error::Fail.hresult().0.into_hr()
    );
}

trait IntoHr {
    fn into_hr(self) -> HRESULT;
}

impl IntoHr for i32 {
    fn into_hr(self) -> HRESULT {
        HRESULT(self)
    }
}

fn create_file(storage: &IMDSPStorage, name: PCWSTR) -> IMDSPObject {
    let file = unsafe { storage.CreateStorage(0x20 | 0x800, None, name) }.expect("CreateStorage");
    file.cast().expect("IMDSPObject")
}

fn write(obj: &IMDSPObject, session: &mut Session, data: &[u8]) -> windows_core::Result<u32> {
    let mut mac = session.mac(&[data, &(data.len() as u32).to_le_bytes()]);
    let mut buf = data.to_vec();
    session.encrypt_param(&mut buf).unwrap();
    let mut size = buf.len() as u32;
    unsafe { obj.Write(buf.as_ptr(), &mut size, &mut mac) }.map(|()| size)
}

fn read(obj: &IMDSPObject, session: &mut Session, want: usize) -> Vec<u8> {
    let mut buf = vec![0u8; want];
    let mut size = want as u32;
    let mut mac = [0u8; 8];
    unsafe { obj.Read(buf.as_mut_ptr(), &mut size, &mut mac) }.expect("Read");
    buf.truncate(size as usize);
    session.decrypt_param(&mut buf).unwrap();
    session
        .verify_mac(&[&buf, &size.to_le_bytes()], &mac)
        .expect("the provider's MAC");
    buf
}

#[test]
fn write_and_read_back_through_mac_and_encryption() {
    let (sp, _) = provider(Arc::new(memory()));
    let mut session = login(&sp);
    let device = first_device(&sp);
    let storage = root(&device);
    let obj = create_file(&storage, w!("song.mp3"));

    let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    unsafe { obj.Open(2) }.unwrap();
    assert_eq!(write(&obj, &mut session, &data[..3000]).unwrap(), 3000);
    assert_eq!(write(&obj, &mut session, &data[3000..]).unwrap(), 2000);
    unsafe { obj.Close() }.unwrap();

    let file: IMDSPStorage = obj.cast().unwrap();
    let (mut low, mut high) = (0, 0);
    unsafe { file.GetSize(&mut low, &mut high) }.unwrap();
    assert_eq!((low, high), (5000, 0));

    unsafe { obj.Open(1) }.unwrap();
    let mut back = read(&obj, &mut session, 4096);
    back.extend(read(&obj, &mut session, 4096));
    assert!(read(&obj, &mut session, 10).is_empty(), "end of file");
    unsafe { obj.Close() }.unwrap();
    assert_eq!(back, data);
}

#[test]
fn a_bad_mac_on_write_is_refused() {
    let (sp, _) = provider(Arc::new(memory()));
    let mut session = login(&sp);
    let device = first_device(&sp);
    let obj = create_file(&root(&device), w!("x.bin"));
    unsafe { obj.Open(2) }.unwrap();
    let mut buf = b"payload".to_vec();
    session.encrypt_param(&mut buf).unwrap();
    let mut size = buf.len() as u32;
    let mut wrong = [0u8; 8];
    let r = unsafe { obj.Write(buf.as_ptr(), &mut size, &mut wrong) };
    assert_eq!(code(r), MAC_CHECK_FAILED);
    // Writes without an open session are out of sequence.
    unsafe { obj.Close() }.unwrap();
    assert_eq!(
        code(write(&obj, &mut session, b"late")),
        Error::CallOutOfSequence.hresult().0.into_hr()
    );
}

#[test]
fn serial_numbers_carry_a_mac_over_the_wmdmid() {
    let (sp, _) = provider(Arc::new(memory()));
    let session = login(&sp);
    let device = first_device(&sp);
    let mut id = WMDMID {
        cbSize: 0,
        dwVendorID: 0,
        pID: [0; 128],
        SerialNumberLength: 0,
    };
    let mut mac = [0u8; 8];
    unsafe { device.GetSerialNumber(&mut id, &mut mac) }.unwrap();
    assert_eq!(&id.pID[..id.SerialNumberLength as usize], b"SER-1");
    let core_id = wmdm::provider::WmdmId::new(id.dwVendorID, b"SER-1".to_vec()).unwrap();
    session
        .verify_mac(&[&core_id.to_struct_bytes()], &mac)
        .expect("MAC over the WMDMID");
}

#[test]
fn device_icon_is_a_real_hicon() {
    let (sp, _) = provider(Arc::new(memory()));
    let _session = login(&sp);
    let device = first_device(&sp);
    assert_ne!(unsafe { device.GetDeviceIcon() }.unwrap(), 0);
}
