//! A minimal provider: one device, a flat folder of files in memory, only the mandatory
//! methods (the rest keep WMDM's defaults), certified by a root key and used through the
//! authenticated `DeviceManager`. `cargo run --example custom_provider`; see docs/providers.md.
//! Trivial methods stay one per line (`rustfmt::skip`) so the provider reads on one screen.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use wmdm::flags::{Attributes, DeviceStatus, DeviceType, OpenMode, StorageCapabilities};
use wmdm::manager::{AuthenticatedProvider, DeviceManager, ReadTarget};
use wmdm::manager::{InsertOptions, InsertSource};
use wmdm::provider::*;
use wmdm::sac::{Certificate, CertificateRequest, ChannelConfig, Identity, Role, TrustStore};
use wmdm::sac::{SecureChannelServer, private_key_from_pem};
use wmdm::time::{SystemClock, WmdmDateTime};
use wmdm::{Error, Result};

/// The provider, its one device, and that device's files. `me` lets `&self` hand out `Arc`s.
#[derive(Debug)]
#[rustfmt::skip]
struct RamDisk { me: Weak<RamDisk>, files: Mutex<BTreeMap<String, Vec<u8>>> }

#[rustfmt::skip]
impl RamDisk {
    fn files(&self) -> Result<MutexGuard<'_, BTreeMap<String, Vec<u8>>>> { self.files.lock().map_err(|_| Error::Fail) }
    fn arc(&self) -> Result<Arc<RamDisk>> { self.me.upgrade().ok_or(Error::DeviceNotConnected) }
    fn node(&self, name: Option<String>) -> Result<StorageRef> { Ok(Arc::new(Node { disk: self.arc()?, name })) }
}

#[rustfmt::skip]
impl ServiceProvider for RamDisk {
    fn device_count(&self) -> Result<u32> { Ok(1) }
    fn devices(&self) -> Result<Vec<DeviceRef>> { Ok(vec![self.arc()? as DeviceRef]) }
}

#[rustfmt::skip]
impl Device for RamDisk {
    fn name(&self) -> Result<String> { Ok("RAM disk".into()) }
    fn manufacturer(&self) -> Result<String> { Ok("example".into()) }
    fn device_type(&self) -> Result<DeviceType> { Ok(DeviceType::STORAGE) }
    fn status(&self) -> Result<DeviceStatus> { Ok(DeviceStatus::READY) }
    fn icon(&self) -> Result<Icon> { Ok(Icon::generic([0, 120, 215])) }
    fn storages(&self) -> Result<Vec<StorageRef>> { Ok(vec![self.node(None)?]) }
    fn format_support(&self) -> Result<FormatSupport> { Ok(FormatSupport::default()) }
}

#[rustfmt::skip]
impl StorageGlobals for RamDisk {
    fn capabilities(&self) -> Result<StorageCapabilities> { Ok(StorageCapabilities::FILESINROOT) }
    fn total_size(&self) -> Result<u64> { Ok(1 << 20) }
    fn total_free(&self) -> Result<u64> { Ok((1u64 << 20).saturating_sub(self.files()?.values().map(|f| f.len() as u64).sum())) }
    fn total_bad(&self) -> Result<u64> { Ok(0) }
    fn status(&self) -> Result<DeviceStatus> { Ok(DeviceStatus::READY) }
    fn device(&self) -> Result<DeviceRef> { Ok(self.arc()? as DeviceRef) }
    fn root_storage(&self) -> Result<StorageRef> { self.node(None) }
}

/// The root folder (`name` is `None`) or one file in it.
#[derive(Debug)]
#[rustfmt::skip]
struct Node { disk: Arc<RamDisk>, name: Option<String> }

#[rustfmt::skip]
impl Storage for Node {
    fn unique_id(&self) -> Result<String> { Ok(self.name.clone().unwrap_or_else(|| "/".into())) }
    fn globals(&self) -> Result<GlobalsRef> { Ok(self.disk.clone() as GlobalsRef) }
    fn attributes(&self) -> Result<ObjectAttributes> { Ok(ObjectAttributes::new(if self.name.is_some() { Attributes::FILE } else { Attributes::FOLDER })) }
    fn name(&self) -> Result<String> { Ok(self.name.clone().unwrap_or_default()) }
    fn date(&self) -> Result<WmdmDateTime> { Ok(WmdmDateTime::from_unix(0)) }
    fn size(&self) -> Result<u64> {
        let Some(name) = &self.name else { return Ok(0) };
        Ok(self.disk.files()?.get(name).ok_or(Error::InterfaceDead)?.len() as u64)
    }
    fn create(&self, request: &CreateRequest) -> Result<StorageRef> {
        if self.name.is_some() || request.is_folder() { return Err(Error::NotSupported) }
        if request.name.is_empty() || request.name.contains('/') { return Err(Error::InvalidName) }
        let mut files = self.disk.files()?;
        if files.contains_key(&request.name) && !request.is_overwrite() { return Err(Error::AlreadyExists) }
        files.insert(request.name.clone(), Vec::new());
        self.disk.node(Some(request.name.clone()))
    }
    fn children(&self) -> Result<Vec<StorageRef>> {
        if self.name.is_some() { return Err(Error::InvalidType) }
        let names: Vec<String> = self.disk.files()?.keys().cloned().collect();
        names.into_iter().map(|n| self.disk.node(Some(n))).collect()
    }
    fn open(&self, mode: OpenMode) -> Result<Box<dyn ObjectIo>> {
        let name = self.name.clone().ok_or(Error::InvalidType)?;
        Ok(Box::new(Io { disk: self.disk.clone(), name, mode: mode.validate()?, pos: 0 }))
    }
    fn delete(&self, _recursive: bool, progress: &mut dyn Progress) -> Result<()> {
        self.disk.files()?.remove(self.name.as_ref().ok_or(Error::NotSupported)?).ok_or(Error::InterfaceDead)?;
        progress.progress(1)
    }
}

/// An open file: reads from `pos`, appends writes.
#[derive(Debug)]
#[rustfmt::skip]
struct Io { disk: Arc<RamDisk>, name: String, mode: OpenMode, pos: usize }

#[rustfmt::skip]
impl ObjectIo for Io {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        if !self.mode.can_read() { return Err(Error::AccessDenied) }
        let files = self.disk.files()?;
        let rest = files.get(&self.name).ok_or(Error::InterfaceDead)?.get(self.pos..).unwrap_or(&[]);
        let n = rest.len().min(buf.len());
        buf.get_mut(..n).ok_or(Error::Fail)?.copy_from_slice(rest.get(..n).ok_or(Error::Fail)?);
        self.pos += n;
        Ok(n)
    }
    fn write(&mut self, data: &[u8]) -> Result<usize> {
        if !self.mode.can_write() { return Err(Error::AccessDenied) }
        self.disk.files()?.get_mut(&self.name).ok_or(Error::InterfaceDead)?.extend_from_slice(data);
        Ok(data.len())
    }
    fn close(self: Box<Self>) -> Result<()> { Ok(()) }
}

#[rustfmt::skip]
fn main() -> Result<()> {
    let key = |name: &str| private_key_from_pem(&std::fs::read_to_string(format!("{}/tests/data/keys/{name}.pem", env!("CARGO_MANIFEST_DIR")))?);
    let (root, now) = (key("root")?, WmdmDateTime::from_system_time(std::time::SystemTime::now()).to_unix()?);
    let trust = TrustStore::new(Arc::new(SystemClock)).with_root("example root", root.to_public_key())?;
    // Each party holds a certificate the root signed for its key and role.
    let config = |subject: &str, role, peer, serial| -> Result<ChannelConfig> {
        let (private, app_sec) = (key(subject)?, 1000);
        let request = CertificateRequest { subject: subject.into(), role, app_sec, serial,
            not_before: now - 60, not_after: now + 86_400, public_key: private.to_public_key() };
        let cert = Certificate::issue(&request, "example root", &root)?;
        Ok(ChannelConfig::new(Identity::new(cert, private)?, trust.clone(), peer))
    };
    let disk = Arc::new_cyclic(|me| RamDisk { me: me.clone(), files: Mutex::default() });
    let server = SecureChannelServer::new(Arc::new(config("provider", Role::Provider, Role::Manager, 2)?));
    let manager = DeviceManager::new(config("manager", Role::Manager, Role::Application, 1)?)?;
    manager.add_provider(AuthenticatedProvider::new(disk, server))?;
    manager.authenticate(Arc::new(config("app", Role::Application, Role::Manager, 3)?))?;
    let device = manager.devices()?.into_iter().next().ok_or(Error::NoPda)?;
    let storage = device.storages()?.into_iter().next().ok_or(Error::FileNotFound)?;
    println!("{} by {}, {} bytes free", device.name()?, device.manufacturer()?, storage.globals()?.total_free()?);
    let song = b"RIFF\x24\0\0\0WAVEfmt a tiny song".to_vec();
    let source = InsertSource::Reader { reader: &mut &song[..], name: "song.wav".into(), size: song.len() as u64 };
    let file = storage.insert(source, &InsertOptions::default(), &mut NoProgress)?;
    let mut back = Vec::new(); file.read_to(ReadTarget::Writer(&mut back), &mut NoProgress)?;
    for child in storage.children()? { println!("  {} ({} bytes)", child.name()?, child.size()?) }
    println!("read back through the secure channel: {}", if back == song { "identical" } else { "DIFFERENT" });
    if back == song { Ok(()) } else { Err(Error::ProcessFailed) }
}
