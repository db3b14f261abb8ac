//! IMDSPDirectTransfer through COM: from a file path, and from the caller's IWMDMOperation
//! with each chunk encrypted and MAC'd on the channel.
#![cfg(all(windows, feature = "com"))]
#![allow(unsafe_code)]

mod com_support;
mod common;

use std::io::Read;
use std::sync::{Arc, Mutex};

use com_support::*;
use windows::Win32::Media::Audio::WAVEFORMATEX;
use windows::Win32::Media::DeviceManager::*;
use windows_core::{HRESULT, HSTRING, IUnknown, Interface, PCWSTR, PWSTR, Ref, implement, w};
use wmdm::flags::OpenMode;
use wmdm::provider::{
    CreateRequest, DirectTransfer, GlobalsRef, ObjectAttributes, ObjectIo, Progress, Storage,
    StorageRef, TransferOptions, TransferSource,
};
use wmdm::sac::Session;
use wmdm::time::WmdmDateTime;
use wmdm::{Error, Result};

/// A folder that copies content in itself (IMDSPDirectTransfer), over a memory folder.
#[derive(Debug)]
struct CopyingFolder(StorageRef);

impl Storage for CopyingFolder {
    fn unique_id(&self) -> Result<String> {
        self.0.unique_id()
    }
    fn globals(&self) -> Result<GlobalsRef> {
        self.0.globals()
    }
    fn attributes(&self) -> Result<ObjectAttributes> {
        self.0.attributes()
    }
    fn name(&self) -> Result<String> {
        self.0.name()
    }
    fn date(&self) -> Result<WmdmDateTime> {
        self.0.date()
    }
    fn size(&self) -> Result<u64> {
        self.0.size()
    }
    fn create(&self, request: &CreateRequest) -> Result<StorageRef> {
        self.0.create(request)
    }
    fn children(&self) -> Result<Vec<StorageRef>> {
        self.0.children()
    }
    fn open(&self, mode: OpenMode) -> Result<Box<dyn ObjectIo>> {
        self.0.open(mode)
    }
    fn delete(&self, recursive: bool, progress: &mut dyn Progress) -> Result<()> {
        self.0.delete(recursive, progress)
    }
    fn direct_transfer(&self) -> Option<&dyn DirectTransfer> {
        Some(self)
    }
}

impl DirectTransfer for CopyingFolder {
    fn transfer_to_device(
        &self,
        source: TransferSource<'_>,
        options: &TransferOptions,
        progress: &mut dyn Progress,
    ) -> Result<StorageRef> {
        let mut request = CreateRequest::file(options.destination_name.clone());
        if options.overwrite {
            request = request.overwrite();
        }
        let file = self.0.create(&request)?;
        let mut io = file.open(OpenMode::WRITE)?;
        let mut copy = |reader: &mut dyn Read, size: u64| -> Result<()> {
            progress.begin(size)?;
            let mut buf = vec![0u8; 10_000];
            let mut done = 0;
            loop {
                let n = reader.read(&mut buf).map_err(|_| Error::ProcessFailed)?;
                if n == 0 {
                    break;
                }
                io.write(&buf[..n])?;
                done += n as u64;
                progress.progress(done)?;
            }
            Ok(())
        };
        match source {
            TransferSource::File(path) => {
                let mut f = std::fs::File::open(path)?;
                let size = f.metadata()?.len();
                copy(&mut f, size)?;
            }
            TransferSource::Reader { reader, size } => copy(reader, size)?,
        }
        io.close()?;
        progress.end(Ok(()));
        Ok(file)
    }
}

/// The caller's side of a transfer: hands out the content, encrypted and MAC'd.
#[implement(IWMDMOperation)]
struct Source {
    data: Vec<u8>,
    pos: Mutex<usize>,
    session: Mutex<Session>,
    ended: Mutex<Option<HRESULT>>,
    corrupt_mac: bool,
}

impl IWMDMOperation_Impl for Source_Impl {
    fn BeginRead(&self) -> windows_core::Result<()> {
        Ok(())
    }
    fn BeginWrite(&self) -> windows_core::Result<()> {
        Err(HRESULT(0x8000_4001_u32 as i32).into())
    }
    fn GetObjectName(&self, _: PWSTR, _: u32) -> windows_core::Result<()> {
        Err(HRESULT(0x8000_4001_u32 as i32).into())
    }
    fn SetObjectName(&self, _: &PCWSTR, _: u32) -> windows_core::Result<()> {
        Ok(())
    }
    fn GetObjectAttributes(&self, _: *mut u32, _: *mut WAVEFORMATEX) -> windows_core::Result<()> {
        Err(HRESULT(0x8000_4001_u32 as i32).into())
    }
    fn SetObjectAttributes(&self, _: u32, _: *const WAVEFORMATEX) -> windows_core::Result<()> {
        Ok(())
    }
    fn GetObjectTotalSize(&self, low: *mut u32, high: *mut u32) -> windows_core::Result<()> {
        unsafe {
            *low = self.data.len() as u32;
            *high = 0;
        }
        Ok(())
    }
    fn SetObjectTotalSize(&self, _: u32, _: u32) -> windows_core::Result<()> {
        Ok(())
    }
    fn TransferObjectData(
        &self,
        pdata: *mut u8,
        pdwsize: *mut u32,
        abmac: *mut u8,
    ) -> windows_core::Result<()> {
        let mut pos = self.pos.lock().unwrap();
        let want = unsafe { *pdwsize } as usize;
        let n = want.min(self.data.len() - *pos);
        let mut chunk = self.data[*pos..*pos + n].to_vec();
        *pos += n;
        let mut session = self.session.lock().unwrap();
        let mut mac = session.mac(&[&chunk, &(n as u32).to_le_bytes()]);
        if self.corrupt_mac {
            mac[0] ^= 1;
        }
        if n > 0 {
            session.encrypt_param(&mut chunk).unwrap();
        }
        unsafe {
            std::ptr::copy_nonoverlapping(chunk.as_ptr(), pdata, n);
            *pdwsize = n as u32;
            std::ptr::copy_nonoverlapping(mac.as_ptr(), abmac, 8);
        }
        Ok(())
    }
    fn End(&self, hr: *const HRESULT, _: Ref<IUnknown>) -> windows_core::Result<()> {
        *self.ended.lock().unwrap() = Some(unsafe { *hr });
        Ok(())
    }
}

fn folder() -> (IMDSPDirectTransfer, IMDServiceProvider, Session, StorageRef) {
    let core = Arc::new(memory());
    let (sp, ch) = provider(core.clone());
    let session = login(&sp);
    use wmdm::provider::ServiceProvider;
    let root_core = core.devices().unwrap()[0].storages().unwrap().remove(0);
    let copying: StorageRef = Arc::new(CopyingFolder(root_core.clone()));
    let storage = wmdm::com::storage_object(copying, ch);
    // A folder that copies content itself answers for IMDSPDirectTransfer and the rest.
    assert!(storage.cast::<IMDSPStorage4>().is_ok() && storage.cast::<IMDSPObject2>().is_ok());
    (storage.cast().unwrap(), sp, session, root_core)
}

fn content(root: &StorageRef, name: &str) -> Vec<u8> {
    let file = root.child(name).expect("the new file");
    let mut io = file.open(OpenMode::READ).unwrap();
    let mut out = vec![0u8; file.size().unwrap() as usize];
    let mut at = 0;
    while at < out.len() {
        at += io.read(&mut out[at..]).unwrap();
    }
    out
}

#[test]
fn transfer_from_an_operation_decrypts_and_checks_every_chunk() {
    let (dt, _sp, session, root) = folder();
    let data: Vec<u8> = (0..150_000u32).map(|i| (i % 253) as u8).collect();
    let source = windows_core::ComObject::new(Source {
        data: data.clone(),
        pos: Mutex::new(0),
        session: Mutex::new(session),
        ended: Mutex::new(None),
        corrupt_mac: false,
    });
    let op: IWMDMOperation = source.to_interface();
    let created =
        unsafe { dt.TransferToDevice(PCWSTR::null(), &op, 0x4, w!("pulled.bin"), None, None) }
            .expect("TransferToDevice");
    let mut buf = [0u16; 32];
    unsafe { created.GetName(&mut buf) }.unwrap();
    assert_eq!(String::from_utf16_lossy(&buf[..10]), "pulled.bin");
    assert_eq!(*source.ended.lock().unwrap(), Some(HRESULT(0)));
    assert_eq!(content(&root, "pulled.bin"), data);
}

#[test]
fn a_bad_chunk_mac_fails_the_transfer_and_is_reported_to_end() {
    let (dt, _sp, session, _root) = folder();
    let source = windows_core::ComObject::new(Source {
        data: vec![1; 1000],
        pos: Mutex::new(0),
        session: Mutex::new(session),
        ended: Mutex::new(None),
        corrupt_mac: true,
    });
    let op: IWMDMOperation = source.to_interface();
    let r = unsafe { dt.TransferToDevice(PCWSTR::null(), &op, 0x4, w!("bad.bin"), None, None) };
    let mac_failed = Error::MacCheckFailed.hresult().0;
    assert_eq!(r.map(|_| ()).map_err(|e| e.code().0), Err(mac_failed));
    assert_eq!(*source.ended.lock().unwrap(), Some(HRESULT(mac_failed)));
}

#[test]
fn transfer_from_a_file_path_and_source_rules() {
    let (dt, _sp, _session, root) = folder();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.mp3");
    std::fs::write(&path, b"file content").unwrap();
    let wide = HSTRING::from(path.as_os_str());
    unsafe { dt.TransferToDevice(&wide, None, 0x4, w!("copied.mp3"), None, None) }.unwrap();
    assert_eq!(content(&root, "copied.mp3"), b"file content");

    // Neither source is E_INVALIDARG; so is a missing destination name.
    let none = unsafe { dt.TransferToDevice(PCWSTR::null(), None, 0x4, w!("x"), None, None) };
    assert_eq!(
        none.map(|_| ()).map_err(|e| e.code().0),
        Err(Error::InvalidArg.hresult().0)
    );
    // An existing name without WMDM_FILE_CREATE_OVERWRITE fails; with it, it is replaced.
    let again = unsafe { dt.TransferToDevice(&wide, None, 0x4, w!("copied.mp3"), None, None) };
    assert_eq!(
        again.map(|_| ()).map_err(|e| e.code().0),
        Err(Error::AlreadyExists.hresult().0)
    );
    unsafe { dt.TransferToDevice(&wide, None, 0x4 | 0x0010_0000, w!("copied.mp3"), None, None) }
        .unwrap();
}
