//! A minimal test-only provider: devices that each hold one root folder with a flat list of
//! in-memory files. Enough to exercise the manager until the memory provider is merged.
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use wmdm::error::{Error, Result, Status};
use wmdm::flags::{
    Attributes, DeviceStatus, DeviceType, OpenMode, Placement, SeekOrigin, StorageCapabilities,
};
use wmdm::metadata::Metadata;
use wmdm::provider::{
    CreateRequest, DeviceRef, DirectTransfer, FormatSupport, GlobalsRef, Icon, ObjectAttributes,
    ObjectIo, Progress, ServiceProvider, Storage, StorageGlobals, StorageRef, TransferOptions,
    TransferSource,
};
use wmdm::time::WmdmDateTime;

#[derive(Debug, Default)]
pub struct FlatProvider {
    devices: Mutex<Vec<Arc<FlatDevice>>>,
    clear_channel: bool,
}

impl FlatProvider {
    /// A provider with one device per name; `clear_channel` makes every file offer
    /// IMDSPObject2.
    pub fn new(names: &[&str], clear_channel: bool) -> Arc<FlatProvider> {
        let p = Arc::new(FlatProvider {
            devices: Mutex::new(Vec::new()),
            clear_channel,
        });
        for n in names {
            p.plug(n);
        }
        p
    }

    /// A device arrives.
    pub fn plug(&self, name: &str) -> Arc<FlatDevice> {
        let dev = FlatDevice::new(name, self.clear_channel);
        self.devices.lock().unwrap().push(dev.clone());
        dev
    }

    /// A device leaves.
    pub fn unplug(&self, name: &str) {
        self.devices.lock().unwrap().retain(|d| d.name != name);
    }

    pub fn device(&self, name: &str) -> Arc<FlatDevice> {
        self.devices
            .lock()
            .unwrap()
            .iter()
            .find(|d| d.name == name)
            .cloned()
            .expect("device")
    }
}

impl ServiceProvider for FlatProvider {
    fn device_count(&self) -> Result<u32> {
        Ok(self.devices.lock().map_err(|_| Error::Fail)?.len() as u32)
    }

    fn devices(&self) -> Result<Vec<DeviceRef>> {
        Ok(self
            .devices
            .lock()
            .map_err(|_| Error::Fail)?
            .iter()
            .map(|d| d.clone() as DeviceRef)
            .collect())
    }
}

#[derive(Debug)]
pub struct FlatDevice {
    pub name: String,
    pub root: Arc<FlatRoot>,
}

impl FlatDevice {
    fn new(name: &str, clear_channel: bool) -> Arc<FlatDevice> {
        Arc::new_cyclic(|dev: &Weak<FlatDevice>| FlatDevice {
            name: name.to_owned(),
            root: Arc::new_cyclic(|root| FlatRoot {
                me: root.clone(),
                device: dev.clone(),
                files: Mutex::new(Vec::new()),
                next: AtomicU64::new(1),
                clear_channel,
                direct: AtomicBool::new(false),
            }),
        })
    }

    /// The names and contents of the files, in order.
    pub fn contents(&self) -> Vec<(String, Vec<u8>)> {
        self.root
            .files
            .lock()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f.name.lock().unwrap().clone(),
                    f.data.lock().unwrap().clone(),
                )
            })
            .collect()
    }
}

impl wmdm::provider::Device for FlatDevice {
    fn name(&self) -> Result<String> {
        Ok(self.name.clone())
    }
    fn manufacturer(&self) -> Result<String> {
        Ok("Flat".into())
    }
    fn device_type(&self) -> Result<DeviceType> {
        Ok(DeviceType::STORAGE)
    }
    fn status(&self) -> Result<DeviceStatus> {
        Ok(DeviceStatus::READY)
    }
    fn icon(&self) -> Result<Icon> {
        Ok(Icon::generic([1, 2, 3]))
    }
    fn storages(&self) -> Result<Vec<StorageRef>> {
        Ok(vec![self.root.clone() as StorageRef])
    }
    fn format_support(&self) -> Result<FormatSupport> {
        Ok(FormatSupport::default())
    }
    fn canonical_name(&self) -> Result<String> {
        Ok(format!("flat:{}", self.name))
    }
    fn serial_number(&self) -> Result<wmdm::provider::WmdmId> {
        wmdm::provider::WmdmId::new(0x045E, self.name.as_bytes().to_vec())
    }
    /// An echo command: the reply is the data reversed.
    fn send_opaque_command(&self, command: &mut wmdm::provider::OpaqueCommand) -> Result<()> {
        command.data.reverse();
        Ok(())
    }
}

#[derive(Debug)]
pub struct FlatRoot {
    me: Weak<FlatRoot>,
    device: Weak<FlatDevice>,
    files: Mutex<Vec<Arc<FlatFile>>>,
    next: AtomicU64,
    clear_channel: bool,
    direct: AtomicBool,
}

impl FlatRoot {
    /// Makes the root offer IMDSPDirectTransfer.
    pub fn enable_direct_transfer(&self) {
        self.direct.store(true, Ordering::SeqCst);
    }

    fn position(&self, id: u64) -> Result<usize> {
        self.files
            .lock()
            .map_err(|_| Error::Fail)?
            .iter()
            .position(|f| f.id == id)
            .ok_or(Error::InterfaceDead)
    }

    fn name_taken(&self, name: &str, except: u64) -> Result<bool> {
        Ok(self
            .files
            .lock()
            .map_err(|_| Error::Fail)?
            .iter()
            .any(|f| f.id != except && f.name.lock().map(|n| *n == name).unwrap_or(false)))
    }
}

impl Storage for FlatRoot {
    fn unique_id(&self) -> Result<String> {
        Ok("root".into())
    }
    fn globals(&self) -> Result<GlobalsRef> {
        Ok(Arc::new(FlatGlobals {
            device: self.device.clone(),
        }))
    }
    fn attributes(&self) -> Result<ObjectAttributes> {
        Ok(ObjectAttributes::new(Attributes::FOLDER))
    }
    fn name(&self) -> Result<String> {
        Ok("Storage".into())
    }
    fn date(&self) -> Result<WmdmDateTime> {
        Ok(WmdmDateTime::from_unix(0))
    }
    fn size(&self) -> Result<u64> {
        Ok(0)
    }
    fn create(&self, request: &CreateRequest) -> Result<StorageRef> {
        if request.is_folder() {
            return Err(Error::NotSupported);
        }
        if request.placement != Placement::Into {
            return Err(Error::InvalidArg);
        }
        if request.name.is_empty() || request.name.contains('/') {
            return Err(Error::InvalidName);
        }
        let mut files = self.files.lock().map_err(|_| Error::Fail)?;
        if let Some(i) = files
            .iter()
            .position(|f| f.name.lock().map(|n| *n == request.name).unwrap_or(false))
        {
            if !request.is_overwrite() {
                return Err(Error::AlreadyExists);
            }
            files.remove(i);
        }
        let file = Arc::new(FlatFile {
            id: self.next.fetch_add(1, Ordering::SeqCst),
            root: self.me.clone(),
            name: Mutex::new(request.name.clone()),
            data: Mutex::new(Vec::new()),
            metadata: Mutex::new(request.metadata.clone().unwrap_or_default()),
            deleted: AtomicBool::new(false),
            clear_channel: self.clear_channel,
        });
        files.push(file.clone());
        Ok(file)
    }
    fn children(&self) -> Result<Vec<StorageRef>> {
        Ok(self
            .files
            .lock()
            .map_err(|_| Error::Fail)?
            .iter()
            .map(|f| f.clone() as StorageRef)
            .collect())
    }
    fn parent(&self) -> Result<Option<StorageRef>> {
        Ok(None)
    }
    fn direct_transfer(&self) -> Option<&dyn DirectTransfer> {
        if self.direct.load(Ordering::SeqCst) {
            Some(self)
        } else {
            None
        }
    }
    fn open(&self, _mode: OpenMode) -> Result<Box<dyn ObjectIo>> {
        Err(Error::InvalidType)
    }
    fn delete(&self, recursive: bool, progress: &mut dyn Progress) -> Result<()> {
        let files = self.children()?;
        if !files.is_empty() && !recursive {
            return Err(Error::DirectoryNotEmpty);
        }
        for (i, f) in files.iter().enumerate() {
            f.delete(false, &mut wmdm::provider::NoProgress)?;
            progress.progress(i as u64 + 1)?;
        }
        Ok(())
    }
}

impl DirectTransfer for FlatRoot {
    fn transfer_to_device(
        &self,
        source: TransferSource<'_>,
        options: &TransferOptions,
        progress: &mut dyn Progress,
    ) -> Result<StorageRef> {
        let TransferSource::Reader { reader, .. } = source else {
            return Err(Error::NotSupported);
        };
        let mut request = CreateRequest::file(options.destination_name.clone());
        if options.overwrite {
            request = request.overwrite();
        }
        let file = self.create(&request)?;
        let mut data = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        let copied = (|| -> Result<()> {
            loop {
                let n = reader.read(&mut buf)?;
                if n == 0 {
                    return Ok(());
                }
                data.extend_from_slice(&buf[..n]);
                progress.progress(data.len() as u64)?;
            }
        })();
        if let Err(e) = copied {
            file.delete(false, &mut wmdm::provider::NoProgress)?;
            return Err(e);
        }
        let mut io = file.open(OpenMode::WRITE)?;
        io.write(&data)?;
        io.close()?;
        Ok(file)
    }
}

#[derive(Debug)]
pub struct FlatFile {
    id: u64,
    root: Weak<FlatRoot>,
    name: Mutex<String>,
    data: Mutex<Vec<u8>>,
    metadata: Mutex<Metadata>,
    deleted: AtomicBool,
    clear_channel: bool,
}

impl FlatFile {
    fn live(&self) -> Result<Arc<FlatRoot>> {
        if self.deleted.load(Ordering::SeqCst) {
            return Err(Error::InterfaceDead);
        }
        self.root.upgrade().ok_or(Error::InterfaceDead)
    }
}

impl Storage for FlatFile {
    fn unique_id(&self) -> Result<String> {
        self.live()?;
        Ok(format!("file-{}", self.id))
    }
    fn globals(&self) -> Result<GlobalsRef> {
        self.live()?.globals()
    }
    fn attributes(&self) -> Result<ObjectAttributes> {
        self.live()?;
        Ok(ObjectAttributes::new(Attributes::FILE))
    }
    fn name(&self) -> Result<String> {
        self.live()?;
        Ok(self.name.lock().map_err(|_| Error::Fail)?.clone())
    }
    fn date(&self) -> Result<WmdmDateTime> {
        self.live()?;
        Ok(WmdmDateTime::from_unix(0))
    }
    fn size(&self) -> Result<u64> {
        self.live()?;
        Ok(self.data.lock().map_err(|_| Error::Fail)?.len() as u64)
    }
    fn create(&self, request: &CreateRequest) -> Result<StorageRef> {
        match request.placement {
            Placement::Into => Err(Error::InvalidType),
            _ => self
                .live()?
                .create(&request.clone().placement(Placement::Into)),
        }
    }
    fn children(&self) -> Result<Vec<StorageRef>> {
        Err(Error::InvalidType)
    }
    fn metadata(&self) -> Result<Metadata> {
        self.live()?;
        Ok(self.metadata.lock().map_err(|_| Error::Fail)?.clone())
    }
    fn set_metadata(&self, metadata: &Metadata) -> Result<Status> {
        self.live()?;
        self.metadata
            .lock()
            .map_err(|_| Error::Fail)?
            .merge(metadata);
        Ok(Status::Ok)
    }
    fn parent(&self) -> Result<Option<StorageRef>> {
        Ok(Some(self.live()? as StorageRef))
    }
    fn open(&self, mode: OpenMode) -> Result<Box<dyn ObjectIo>> {
        let mode = mode.validate()?;
        self.live()?;
        let file = self
            .live()?
            .files
            .lock()
            .map_err(|_| Error::Fail)?
            .iter()
            .find(|f| f.id == self.id)
            .cloned()
            .ok_or(Error::InterfaceDead)?;
        Ok(Box::new(FlatIo {
            file,
            mode,
            pos: 0,
            pending: Vec::new(),
        }))
    }
    fn delete(&self, _recursive: bool, progress: &mut dyn Progress) -> Result<()> {
        let root = self.live()?;
        let i = root.position(self.id)?;
        root.files.lock().map_err(|_| Error::Fail)?.remove(i);
        self.deleted.store(true, Ordering::SeqCst);
        progress.progress(1)
    }
    fn rename(&self, new_name: &str, _progress: &mut dyn Progress) -> Result<()> {
        let root = self.live()?;
        if new_name.is_empty() || new_name.contains('/') {
            return Err(Error::InvalidName);
        }
        if root.name_taken(new_name, self.id)? {
            return Err(Error::AlreadyExists);
        }
        *self.name.lock().map_err(|_| Error::Fail)? = new_name.to_owned();
        Ok(())
    }
    fn move_to(
        &self,
        placement: Placement,
        target: &dyn Storage,
        _progress: &mut dyn Progress,
    ) -> Result<()> {
        let root = self.live()?;
        if placement == Placement::Into {
            return if target.unique_id()? == "root" {
                Ok(())
            } else {
                Err(Error::InvalidType)
            };
        }
        let target_id = target.unique_id()?;
        let mut files = root.files.lock().map_err(|_| Error::Fail)?;
        let me = files
            .iter()
            .position(|f| f.id == self.id)
            .ok_or(Error::InterfaceDead)?;
        let item = files.remove(me);
        let at = files
            .iter()
            .position(|f| format!("file-{}", f.id) == target_id);
        let Some(at) = at else {
            files.insert(me, item);
            return Err(Error::NotSameDevice);
        };
        let at = if placement == Placement::After {
            at + 1
        } else {
            at
        };
        files.insert(at, item);
        Ok(())
    }
    fn supports_clear_channel(&self) -> bool {
        self.clear_channel
    }
}

#[derive(Debug)]
struct FlatIo {
    file: Arc<FlatFile>,
    mode: OpenMode,
    pos: usize,
    pending: Vec<u8>,
}

impl ObjectIo for FlatIo {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        if !self.mode.can_read() {
            return Err(Error::AccessDenied);
        }
        let data = self.file.data.lock().map_err(|_| Error::Fail)?;
        let src = data.get(self.pos..).unwrap_or(&[]);
        let n = src.len().min(buf.len());
        buf[..n].copy_from_slice(&src[..n]);
        self.pos += n;
        Ok(n)
    }
    fn write(&mut self, data: &[u8]) -> Result<usize> {
        if !self.mode.can_write() {
            return Err(Error::AccessDenied);
        }
        self.pending.extend_from_slice(data);
        Ok(data.len())
    }
    fn seek(&mut self, _origin: SeekOrigin, _offset: u64) -> Result<u64> {
        Err(Error::NotSupported)
    }
    fn close(self: Box<Self>) -> Result<()> {
        if self.mode.can_write() {
            *self.file.data.lock().map_err(|_| Error::Fail)? = self.pending;
        }
        Ok(())
    }
}

#[derive(Debug)]
struct FlatGlobals {
    device: Weak<FlatDevice>,
}

impl StorageGlobals for FlatGlobals {
    fn capabilities(&self) -> Result<StorageCapabilities> {
        Ok(StorageCapabilities::FILESINROOT | StorageCapabilities::NOT_INITIALIZABLE)
    }
    fn total_size(&self) -> Result<u64> {
        Ok(1 << 40)
    }
    fn total_free(&self) -> Result<u64> {
        Ok(1 << 40)
    }
    fn total_bad(&self) -> Result<u64> {
        Ok(0)
    }
    fn status(&self) -> Result<DeviceStatus> {
        Ok(DeviceStatus::READY)
    }
    fn device(&self) -> Result<DeviceRef> {
        Ok(self.device.upgrade().ok_or(Error::DeviceNotConnected)? as DeviceRef)
    }
    fn root_storage(&self) -> Result<StorageRef> {
        let dev = self.device.upgrade().ok_or(Error::DeviceNotConnected)?;
        Ok(dev.root.clone() as StorageRef)
    }
}
