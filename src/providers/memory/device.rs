//! The [`MemoryDevice`] handle: construction, connection and fault control, handles to its
//! media, and its [`Device`] implementation. The content surface is in `content.rs`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::flags::{DeviceStatus, DeviceType, FindScope};
use crate::metadata::{FormatCode, PropValue, device as props};
use crate::provider::WaveFormat;
use crate::provider::names::MAX_COMPONENT;
use crate::provider::{
    Device, FormatCapability, FormatSupport, Icon, PowerInfo, StorageRef, WmdmId,
};
use crate::time::{Clock, WmdmDateTime};

use super::config::{
    DeviceConfig, DeviceParts, MemoryDeviceBuilder, Seed, StorageConfig, default_audio_capability,
};
use super::crash::CrashState;
use super::fault::{DeviceStats, FaultPlan, FaultState, Operation};
use super::node::{NodeId, RULE, same_name};
use super::state::{Medium, Shared, State};
use super::storage::MemoryStorage;
use super::tree::Tree;

/// `IOCTL_WMP_DEVICE_CAN_SYNC` ('WMP2'): no input, a DWORD out, 1 when the device can sync.
pub const IOCTL_WMP_DEVICE_CAN_SYNC: u32 = 0x3250_4D57;

/// Device properties the device computes and that cannot be set.
const COMPUTED_PROPERTIES: &[&str] = &[
    props::SUPPORTED_DEVICE_PROPERTIES,
    props::FORMATS_SUPPORTED,
    props::FORMATS_SUPPORTED_ARE_ORDERED,
    props::NAME_RULE,
    props::NAME_MAX,
];

/// A simulated portable player held in memory.
///
/// A `MemoryDevice` is a cheap handle: clones share one device. It implements
/// [`Device`], hands out [`Storage`](crate::provider::Storage) handles for its media, and has
/// a control surface for tests: pull the plug ([`disconnect`](MemoryDevice::disconnect)),
/// change the [`FaultPlan`], read the [`DeviceStats`], and look at or seed the content by path
/// ([`put_file`](MemoryDevice::put_file), [`files`](MemoryDevice::files), ...).
///
/// The control surface acts on the device's memory directly, as if the test had opened the
/// player up: it bypasses the fault plan, is not counted in the stats, and works while the
/// device is disconnected. Paths are `/`-separated, relative to a medium's root, and match
/// names in any case; the first medium is used unless a method takes a storage index.
///
/// ```
/// use std::sync::Arc;
/// use wmdm::flags::OpenMode;
/// use wmdm::provider::{CreateRequest, Device};
/// use wmdm::providers::memory::MemoryDevice;
///
/// let player = MemoryDevice::new("Player");
/// player.put_file("Music/old.mp3", b"user's own file".to_vec())?;
///
/// let device: Arc<dyn Device> = Arc::new(player.clone());
/// let root = device.storages()?.remove(0);
/// let music = root.child("Music")?;
/// let song = music.create(&CreateRequest::file("new.mp3"))?;
/// let mut io = song.open(OpenMode::WRITE)?;
/// io.write(b"ID3...")?;
/// io.close()?;
///
/// assert_eq!(player.read_file("Music/new.mp3")?, b"ID3...");
/// assert_eq!(player.files().len(), 2);
/// # Ok::<(), wmdm::Error>(())
/// ```
#[derive(Clone)]
pub struct MemoryDevice {
    pub(super) shared: Arc<Shared>,
}

impl fmt::Debug for MemoryDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryDevice")
            .field("name", &self.shared.config.name)
            .field("serial", &self.shared.config.serial)
            .field("connected", &self.is_connected())
            .finish()
    }
}

impl MemoryDevice {
    /// A device with every default (see [`MemoryDeviceBuilder`]): one empty 64 MiB storage.
    pub fn new(name: impl Into<String>) -> MemoryDevice {
        // The defaults need none of the checks `build` makes, and there is no content to add.
        let parts = MemoryDevice::builder(name).into_parts();
        MemoryDevice::assemble(parts.config, &parts.storages, parts.properties, parts.plan)
    }

    /// A builder for a configured device.
    pub fn builder(name: impl Into<String>) -> MemoryDeviceBuilder {
        MemoryDeviceBuilder::new(name)
    }

    /// Builds the shared state with empty media.
    fn assemble(
        config: DeviceConfig,
        storages: &[StorageConfig],
        properties: BTreeMap<String, PropValue>,
        plan: FaultPlan,
    ) -> MemoryDevice {
        let now = WmdmDateTime::from_system_time(config.clock.now());
        let mut media = Vec::new();
        let mut trees = Vec::new();
        for (i, s) in storages.iter().enumerate() {
            media.push(Medium {
                name: s.name.clone(),
                serial: s
                    .serial
                    .clone()
                    .unwrap_or_else(|| format!("{}-{}", config.serial, i)),
                read_only: s.read_only,
                no_rename: s.no_rename,
                initializable: s.initializable,
                removable: s.removable,
            });
            let prefix = format!("{}:{}:", config.serial, i);
            trees.push(Tree::new(&s.name, prefix, s.capacity, s.bad, now));
        }
        let state = State {
            connected: true,
            epoch: 0,
            trees,
            properties,
            faults: FaultState::new(plan),
            stats: DeviceStats::default(),
            open_files: 0,
            crash: CrashState::default(),
        };
        MemoryDevice {
            shared: Arc::new(Shared::new(config, media, state)),
        }
    }

    /// Builds a device from a checked configuration and puts the starting content on it.
    pub(super) fn from_parts(parts: DeviceParts) -> Result<MemoryDevice> {
        let DeviceParts {
            config,
            storages,
            properties,
            plan,
        } = parts;
        let device = MemoryDevice::assemble(config, &storages, properties, plan);
        for m in &device.shared.media {
            WmdmId::new(device.shared.config.vendor_id, m.serial.as_bytes())?;
        }
        let now = device.shared.now();
        {
            let mut st = device.shared.lock();
            for (i, s) in storages.into_iter().enumerate() {
                let tree = st.tree_mut(i)?;
                for seed in s.seeds {
                    match seed {
                        Seed::File(path, data) => tree.put_file(&path, data, now).map(drop)?,
                        Seed::Folder(path) => tree.put_folder(&path, now).map(drop)?,
                    }
                }
            }
            // The starting content is on the medium before anything runs: a non-durable
            // device's first durable point includes it.
            if st.faults.plan().writeback_every().is_some() {
                st.writeback();
            }
        }
        Ok(device)
    }

    // ---- connection and faults ----

    /// Pulls the plug: open files are lost (their writes are discarded), the status becomes
    /// `DEVICE_NOTPRESENT`, and every call fails with [`Error::DeviceNotConnected`] until
    /// [`reconnect`](MemoryDevice::reconnect). The content stays.
    pub fn disconnect(&self) {
        self.shared.lock().disconnect();
    }

    /// Plugs the device back in. Storage handles taken before the disconnection work again;
    /// open-file handles do not.
    ///
    /// A crashed device stays gone: only [`reboot`](MemoryDevice::reboot) brings its media
    /// back, as a new device.
    pub fn reconnect(&self) {
        let mut st = self.shared.lock();
        if !st.crash.crashed {
            st.connected = true;
        }
    }

    /// True while the device is plugged in.
    pub fn is_connected(&self) -> bool {
        self.shared.lock().connected
    }

    /// The writer lock's holder died without releasing it (its process was killed): the lock
    /// is free again, as the kernel frees the folder provider's. Returns who held it.
    pub fn writer_died(&self) -> Option<crate::provider::LockHolder> {
        self.shared.writer.holder_died()
    }

    /// Replaces the fault plan; call counting starts again from zero.
    pub fn set_fault_plan(&self, plan: FaultPlan) {
        self.shared.lock().install(plan);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.set_fault_plan(FaultPlan::new());
    }

    /// The fault plan in force.
    pub fn fault_plan(&self) -> FaultPlan {
        self.shared.lock().faults.plan().clone()
    }

    /// Calls and bytes so far.
    pub fn stats(&self) -> DeviceStats {
        self.shared.lock().stats.clone()
    }

    /// Starts the statistics again from zero.
    pub fn reset_stats(&self) {
        self.shared.lock().stats = DeviceStats::default();
    }

    /// The device's clock.
    pub fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.shared.config.clock)
    }

    /// The device serial, as configured.
    pub fn serial(&self) -> String {
        self.shared.config.serial.clone()
    }

    /// How many files are open now.
    pub fn open_files(&self) -> usize {
        self.shared.lock().open_files
    }

    // ---- handles ----

    /// How many media the device has.
    pub fn storage_count(&self) -> usize {
        self.shared.media.len()
    }

    /// The root of the first medium.
    pub fn root(&self) -> StorageRef {
        self.handle_at(0, 0)
    }

    /// The root of medium `storage`.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] when there is no such medium.
    pub fn storage_root(&self, storage: usize) -> Result<StorageRef> {
        let st = self.shared.lock();
        let root = st.trees.get(storage).ok_or(Error::InvalidArg)?.root();
        Ok(self.handle_at(storage, root))
    }

    /// A handle to the object at `path` on the first medium.
    ///
    /// # Errors
    /// [`Error::PathNotFound`] when nothing is there.
    pub fn handle(&self, path: &str) -> Result<StorageRef> {
        self.handle_on(0, path)
    }

    /// A handle to the object at `path` on medium `storage`.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] for a bad index; [`Error::PathNotFound`].
    pub fn handle_on(&self, storage: usize, path: &str) -> Result<StorageRef> {
        let st = self.shared.lock();
        let tree = st.trees.get(storage).ok_or(Error::InvalidArg)?;
        let node = tree.resolve(path).ok_or(Error::PathNotFound)?;
        Ok(self.handle_at(storage, node))
    }

    pub(super) fn handle_at(&self, storage: usize, node: NodeId) -> StorageRef {
        Arc::new(MemoryStorage::new(Arc::clone(&self.shared), storage, node))
    }

    /// Every property name `Device::property` answers.
    fn property_names(st: &State) -> Vec<String> {
        let mut names: Vec<String> = COMPUTED_PROPERTIES
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        names.extend(st.properties.keys().cloned());
        names
    }
}

impl Device for MemoryDevice {
    fn name(&self) -> Result<String> {
        self.shared.check(Operation::DeviceInfo)?;
        Ok(self.shared.config.name.clone())
    }

    fn manufacturer(&self) -> Result<String> {
        self.shared.check(Operation::DeviceInfo)?;
        Ok(self.shared.config.manufacturer.clone())
    }

    fn version(&self) -> Result<u32> {
        self.shared.check(Operation::DeviceInfo)?;
        Ok(self.shared.config.version)
    }

    fn device_type(&self) -> Result<DeviceType> {
        self.shared.check(Operation::DeviceInfo)?;
        Ok(self.shared.config.device_type)
    }

    fn serial_number(&self) -> Result<WmdmId> {
        self.shared.check(Operation::DeviceInfo)?;
        self.shared.config.wmdm_id()
    }

    fn power_source(&self) -> Result<PowerInfo> {
        self.shared.check(Operation::DeviceInfo)?;
        Ok(self.shared.config.power)
    }

    fn status(&self) -> Result<DeviceStatus> {
        if self.shared.lock().connected {
            Ok(DeviceStatus::READY)
        } else {
            Ok(DeviceStatus::DEVICE_NOTPRESENT)
        }
    }

    fn icon(&self) -> Result<Icon> {
        self.shared.check(Operation::DeviceInfo)?;
        Ok(Icon::generic(self.shared.config.icon_rgb))
    }

    fn storages(&self) -> Result<Vec<StorageRef>> {
        let st = self.shared.enter(Operation::EnumStorages)?;
        let roots: Vec<(usize, NodeId)> = st.trees.iter().map(Tree::root).enumerate().collect();
        drop(st);
        Ok(roots
            .into_iter()
            .map(|(i, r)| self.handle_at(i, r))
            .collect())
    }

    fn format_support(&self) -> Result<FormatSupport> {
        self.shared.check(Operation::DeviceInfo)?;
        let formats = &self.shared.config.formats;
        let mut support = FormatSupport::default();
        for &f in formats {
            if let Some(w) = WaveFormat::typical_for(f)
                && !support.audio.contains(&w)
            {
                support.audio.push(w);
            }
            if let Some(m) = f.mime_type()
                && !support.mime_types.iter().any(|x| x == m)
            {
                support.mime_types.push(m.to_owned());
            }
        }
        Ok(support)
    }

    fn storage(&self, name: &str) -> Result<StorageRef> {
        let st = self.shared.enter(Operation::EnumStorages)?;
        let found = self
            .shared
            .media
            .iter()
            .position(|m| same_name(&m.name, name))
            .and_then(|i| st.trees.get(i).map(|t| (i, t.root())));
        drop(st);
        let (i, root) = found.ok_or(Error::FileNotFound)?;
        Ok(self.handle_at(i, root))
    }

    fn canonical_name(&self) -> Result<String> {
        self.shared.check(Operation::DeviceInfo)?;
        Ok(format!("memory:{}", self.shared.config.serial))
    }

    fn property(&self, name: &str) -> Result<PropValue> {
        let st = self.shared.enter(Operation::DeviceInfo)?;
        let config = &self.shared.config;
        match name {
            props::FORMATS_SUPPORTED => Ok(PropValue::U32Array(
                config.formats.iter().map(|f| f.0).collect(),
            )),
            props::FORMATS_SUPPORTED_ARE_ORDERED => Ok(PropValue::Bool(true)),
            props::NAME_RULE => Ok(PropValue::String(RULE.as_str().to_owned())),
            props::NAME_MAX => Ok(PropValue::U32(MAX_COMPONENT as u32)),
            props::SUPPORTED_DEVICE_PROPERTIES => {
                Ok(PropValue::StringArray(MemoryDevice::property_names(&st)))
            }
            _ => st.properties.get(name).cloned().ok_or(Error::NotSupported),
        }
    }

    fn set_property(&self, name: &str, value: &PropValue) -> Result<()> {
        let mut st = self.shared.enter(Operation::SetProperty)?;
        // The device's properties live on it as its media do.
        if st.faults.plan().is_read_only() {
            return Err(Error::WriteProtected);
        }
        if COMPUTED_PROPERTIES.contains(&name) {
            return Err(Error::NotSupported);
        }
        if let Some(vt) = props::expected_vt(name)
            && value.vt() != vt
        {
            return Err(Error::InvalidArg);
        }
        match st.properties.get_mut(name) {
            Some(slot) => {
                if std::mem::discriminant(slot) != std::mem::discriminant(value) {
                    return Err(Error::InvalidArg);
                }
                *slot = value.clone();
                Ok(())
            }
            // WMP writes the sync relationship onto devices that never had one.
            None if name == props::SYNC_RELATIONSHIP_ID => {
                st.properties.insert(name.to_owned(), value.clone());
                Ok(())
            }
            None => Err(Error::NotSupported),
        }
    }

    fn format_capability(&self, format: FormatCode) -> Result<FormatCapability> {
        self.shared.check(Operation::DeviceInfo)?;
        let config = &self.shared.config;
        if !config.formats.contains(&format) {
            return Err(Error::NotSupported);
        }
        if let Some(cap) = config.capabilities.get(&format) {
            return Ok(cap.clone());
        }
        if format.is_audio() {
            Ok(default_audio_capability(format))
        } else {
            // Playlists and other containers have no encoding properties to constrain.
            Ok(FormatCapability::default())
        }
    }

    fn io_control(&self, code: u32, input: &[u8], max_output: usize) -> Result<Vec<u8>> {
        let _ = input;
        self.shared.check(Operation::IoControl)?;
        match code {
            IOCTL_WMP_DEVICE_CAN_SYNC => {
                if max_output < 4 {
                    return Err(Error::BufferTooSmall);
                }
                Ok(u32::from(self.shared.config.can_sync)
                    .to_le_bytes()
                    .to_vec())
            }
            _ => Err(Error::NotSupported),
        }
    }

    /// A durable point of the crash model: on a device whose fault plan is
    /// [non-durable](super::FaultPlan::non_durable), a crash loses only what came after the
    /// last flush (or the last periodic writeback). Not an operation of the fault plan: it
    /// changes nothing on the media, so it neither counts as a crash point nor fails.
    fn flush(&self) -> Result<()> {
        self.shared.relock()?.durable_point();
        Ok(())
    }

    fn lock_writer(
        &self,
        holder: &crate::provider::LockHolder,
    ) -> Result<crate::provider::WriterLock> {
        if !self.is_connected() {
            return Err(Error::DeviceNotConnected);
        }
        self.shared.writer.lock(holder)
    }

    fn writer_holder(&self) -> Result<Option<crate::provider::LockHolder>> {
        if !self.is_connected() {
            return Err(Error::DeviceNotConnected);
        }
        Ok(self.shared.writer.holder())
    }

    fn find_storage(&self, scope: FindScope, unique_id: &str) -> Result<StorageRef> {
        let st = self.shared.enter(Operation::FindStorage)?;
        let found = st.find_uid(unique_id).filter(|r| {
            // The device's immediate children are its media roots.
            scope != FindScope::IMMEDIATE_CHILDREN
                || st.trees.get(r.storage).is_some_and(|t| t.root() == r.node)
        });
        drop(st);
        let r = found.ok_or(Error::FileNotFound)?;
        Ok(self.handle_at(r.storage, r.node))
    }
}
