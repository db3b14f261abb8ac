//! End to end through COM itself: configure a folder, register the example folder provider DLL
//! with regsvr32, create it by CLSID, authenticate through IComponentAuthenticate, walk devices
//! and storages, write a file through IMDSPObject::Write with MAC and encryption, read it back,
//! check the bytes in the folder on disk, and unregister. Runs under Wine through the cargo runner (`.ci/wine-test.sh`).
//!
//! The DLL is `examples/com_server.rs`, built into `<target>/<profile>/examples/` by
//! `cargo test` (or `cargo build --example com_server`).
#![cfg(all(windows, feature = "com"))]
#![allow(unsafe_code)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use windows::Win32::Media::DeviceManager::*;
use windows::Win32::System::Com::{
    CLSCTX_INPROC_SERVER, COINIT_MULTITHREADED, CoCreateInstance, CoGetClassObject, CoInitializeEx,
    IClassFactory,
};
use windows::Win32::System::LibraryLoader::{GetProcAddress, LoadLibraryW};
use windows::Win32::System::Registry::{
    HKEY, HKEY_LOCAL_MACHINE, KEY_READ, RegCloseKey, RegOpenKeyExW,
};
use windows_core::{GUID, HRESULT, HSTRING, Interface, PCWSTR, s, w};
use wmdm::com::client;
use wmdm::sac::{CertificateRequest, ChannelConfig, Identity, Role, Session};

const CLSID: GUID = GUID::from_u128(0x6b1c5a3e_2f0d_4c8b_9e7a_3d5f1a2b4c6d);
const SP_KEY: &str = r"SOFTWARE\Microsoft\Windows Media Device Manager\Plugins\SP\WmdmRsFolders";
const NOTCERTIFIED: HRESULT = HRESULT(0x8004_5005_u32 as i32);

fn dll_path() -> PathBuf {
    let exe = std::env::current_exe().expect("test path");
    // <target>/<profile>/deps/com_e2e-*.exe → <target>/<profile>/examples/com_server.dll
    let profile = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("profile directory");
    let dll = profile.join("examples").join("com_server.dll");
    assert!(
        dll.exists(),
        "{} is missing: build it with `cargo build --features com --target x86_64-pc-windows-gnu --example com_server`",
        dll.display()
    );
    dll
}

fn regsvr32(args: &[&str], dll: &PathBuf, folders: Option<&Path>) {
    let mut cmd = Command::new("regsvr32");
    cmd.args(args).arg(dll);
    // DllRegisterServer copies WMDM_SP_FOLDERS into the SP key's `Folders` value; this test
    // process never sets the variable itself, so the DLL finds the folder through the registry.
    match folders {
        Some(f) => cmd.env("WMDM_SP_FOLDERS", f),
        None => cmd.env_remove("WMDM_SP_FOLDERS"),
    };
    let status = cmd.status().expect("run regsvr32");
    assert!(status.success(), "regsvr32 {args:?} failed: {status:?}");
}

fn sp_key_exists() -> bool {
    let mut key = HKEY::default();
    let path = HSTRING::from(SP_KEY);
    let r = unsafe {
        RegOpenKeyExW(
            HKEY_LOCAL_MACHINE,
            PCWSTR(path.as_ptr()),
            None,
            KEY_READ,
            &mut key,
        )
    };
    if r.is_ok() {
        let _ = unsafe { RegCloseKey(key) };
    }
    r.is_ok()
}

/// The client's (WMDM's) channel configuration: a Manager certificate from the test root,
/// valid for all time because the DLL checks it against the real clock.
fn client_config() -> Arc<ChannelConfig> {
    let key = common::key_for(Role::Manager).clone();
    let cert = common::issue(&CertificateRequest {
        subject: "e2e manager".into(),
        role: Role::Manager,
        app_sec: 1000,
        serial: 42,
        not_before: 0,
        not_after: i64::MAX,
        public_key: key.to_public_key(),
    });
    let clock = common::clock();
    Arc::new(ChannelConfig::new(
        Identity::new(cert, key).expect("identity"),
        common::trust(&clock),
        Role::Provider,
    ))
}

fn name_of(get: impl FnOnce(&mut [u16]) -> windows_core::Result<()>) -> String {
    let mut buf = [0u16; 256];
    get(&mut buf).expect("GetName");
    let end = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
    String::from_utf16_lossy(&buf[..end])
}

fn next_storage(e: &IMDSPEnumStorage) -> Option<IMDSPStorage> {
    let mut slot = [None];
    let mut fetched = 0;
    unsafe { e.Next(&mut slot, &mut fetched) }.expect("Next");
    slot[0].take()
}

fn write(obj: &IMDSPObject, session: &mut Session, data: &[u8]) {
    let mut mac = session.mac(&[data, &(data.len() as u32).to_le_bytes()]);
    let mut buf = data.to_vec();
    session.encrypt_param(&mut buf).expect("encrypt");
    let mut size = buf.len() as u32;
    unsafe { obj.Write(buf.as_ptr(), &mut size, &mut mac) }.expect("Write");
    assert_eq!(size as usize, data.len());
}

fn read(obj: &IMDSPObject, session: &mut Session, want: usize) -> Vec<u8> {
    let mut buf = vec![0u8; want];
    let mut size = want as u32;
    let mut mac = [0u8; 8];
    unsafe { obj.Read(buf.as_mut_ptr(), &mut size, &mut mac) }.expect("Read");
    buf.truncate(size as usize);
    session.decrypt_param(&mut buf).expect("decrypt");
    session
        .verify_mac(&[&buf, &size.to_le_bytes()], &mac)
        .expect("the provider's MAC over the data");
    buf
}

#[test]
fn register_create_authenticate_write_read_unregister() {
    let dll = dll_path();
    let dir = tempfile::tempdir().expect("temp folder");
    let player = dir.path().join("E2E Player");
    std::fs::create_dir(&player).expect("device folder");
    regsvr32(&["/s"], &dll, Some(&player));
    assert!(sp_key_exists(), "DllRegisterServer writes the WMDM SP key");
    assert_eq!(
        wmdm::com::server::read_folders("WmdmRsFolders").expect("read Folders"),
        Some(vec![player.to_string_lossy().into_owned()]),
        "the SP key's Folders value names the folder"
    );

    unsafe { CoInitializeEx(None, COINIT_MULTITHREADED) }
        .ok()
        .expect("CoInitializeEx");
    let auth: IComponentAuthenticate =
        unsafe { CoCreateInstance(&CLSID, None, CLSCTX_INPROC_SERVER) }.expect("CoCreateInstance");
    let sp: IMDServiceProvider = auth.cast().expect("IMDServiceProvider");
    let before = unsafe { sp.GetDeviceCount() }.map_err(|e| e.code());
    assert_eq!(
        before,
        Err(NOTCERTIFIED),
        "nothing works before the handshake"
    );

    let mut session = client::authenticate(&auth, client_config()).expect("handshake");
    assert_eq!(unsafe { sp.GetDeviceCount() }.expect("count"), 1);

    let devices = unsafe { sp.EnumDevices() }.expect("EnumDevices");
    let mut slot = [None];
    unsafe { devices.Next(&mut slot, std::ptr::null_mut()) }.expect("Next");
    let device: IMDSPDevice = slot[0].take().expect("one device");
    assert_eq!(name_of(|b| unsafe { device.GetName(b) }), "E2E Player");

    let storages = unsafe { device.EnumStorage() }.expect("EnumStorage");
    let root = next_storage(&storages).expect("the folder's storage");
    assert_eq!(name_of(|b| unsafe { root.GetName(b) }), "E2E Player");

    let file = unsafe { root.CreateStorage(0x20 | 0x800 | 0x0010_0000, None, w!("e2e.bin")) }
        .expect("CreateStorage");
    let obj: IMDSPObject = file.cast().expect("IMDSPObject");
    let data: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(31) >> 3) as u8)
        .collect();
    unsafe { obj.Open(2) }.expect("Open for writing");
    for chunk in data.chunks(32 * 1024) {
        write(&obj, &mut session, chunk);
    }
    unsafe { obj.Close() }.expect("Close");

    // The bytes on disk are the plaintext: the provider decrypted and checked each MAC.
    let on_disk = std::fs::read(player.join("e2e.bin")).expect("e2e.bin on disk");
    assert!(on_disk == data, "the file on disk holds the written bytes");

    // The new file is listed with its size.
    let children = unsafe { root.EnumStorage() }.expect("EnumStorage");
    let mut found = None;
    while let Some(s) = next_storage(&children) {
        if name_of(|b| unsafe { s.GetName(b) }) == "e2e.bin" {
            found = Some(s);
        }
    }
    let listed = found.expect("e2e.bin is listed");
    let (mut low, mut high) = (0, 0);
    unsafe { listed.GetSize(&mut low, &mut high) }.expect("GetSize");
    assert_eq!(u64::from(low) | (u64::from(high) << 32), data.len() as u64);

    let reader: IMDSPObject = listed.cast().expect("IMDSPObject");
    unsafe { reader.Open(1) }.expect("Open for reading");
    let mut back = Vec::new();
    loop {
        let part = read(&reader, &mut session, 40_000);
        if part.is_empty() {
            break;
        }
        back.extend(part);
    }
    unsafe { reader.Close() }.expect("Close");
    assert_eq!(back, data);

    // DllCanUnloadNow: S_FALSE while objects live, S_OK once the last one is released.
    let module = unsafe { LoadLibraryW(&HSTRING::from(dll.as_os_str())) }.expect("LoadLibrary");
    let proc = unsafe { GetProcAddress(module, s!("DllCanUnloadNow")) }.expect("export");
    // SAFETY (test): the export has this signature (examples/com_server.rs).
    let can_unload: extern "system" fn() -> HRESULT = unsafe { std::mem::transmute(proc) };
    assert_eq!(can_unload(), HRESULT(1));
    drop((
        auth, sp, devices, device, storages, root, file, obj, children, listed, reader,
    ));
    assert_eq!(can_unload(), HRESULT(0));

    // LockServer keeps the module loaded with no object alive, until it is undone.
    let factory: IClassFactory =
        unsafe { CoGetClassObject(&CLSID, CLSCTX_INPROC_SERVER, None) }.expect("CoGetClassObject");
    unsafe { factory.LockServer(true) }.expect("LockServer");
    drop(factory);
    assert_eq!(can_unload(), HRESULT(1), "locked");
    let factory: IClassFactory =
        unsafe { CoGetClassObject(&CLSID, CLSCTX_INPROC_SERVER, None) }.expect("CoGetClassObject");
    unsafe { factory.LockServer(false) }.expect("LockServer");
    drop(factory);
    assert_eq!(can_unload(), HRESULT(0), "unlocked");

    regsvr32(&["/u", "/s"], &dll, None);
    assert!(!sp_key_exists(), "DllUnregisterServer removes the SP key");
}
