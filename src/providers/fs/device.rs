//! [`FsDevice`]: a folder as a WMDM device.

use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::flags::{DeviceStatus, DeviceType, FindScope};
use crate::metadata::{FormatCode, PropValue, device as props};
use crate::provider::names::{MAX_COMPONENT, NameRule};
use crate::provider::{
    Device, FormatCapability, FormatSupport, Icon, LockHolder, StorageRef, WaveFormat, WmdmId,
    WriterLock,
};

use super::globals::FsGlobals;
use super::idmap::ROOT;
use super::shared::Shared;
use super::storage::FsStorage;
use super::{DeviceOptions, FsKind};

/// A folder device: IMDSPDevice over a root folder.
///
/// Clones of the handle (through [`FsDevice::clone`] or the trait objects the provider hands
/// out) share one state, so every handle sees the same IDs and space accounting. Open each root
/// through one `FsDevice` (or one [`FsProvider`](super::FsProvider)) at a time.
#[derive(Clone, Debug)]
pub struct FsDevice {
    pub(super) shared: Arc<Shared>,
}

impl FsDevice {
    /// Opens the folder `root` as a device, creating `.wmdm/device.id` and `.wmdm/ids` on
    /// first use. A read-only medium still opens; its IDs then last only as long as this
    /// handle.
    ///
    /// # Errors
    /// [`Error::PathNotFound`] when `root` is not a folder; I/O errors reading the state.
    pub fn open(root: &Path, options: DeviceOptions) -> Result<FsDevice> {
        Ok(FsDevice {
            shared: Arc::new(Shared::open(root, options)?),
        })
    }

    pub(crate) fn from_shared(shared: Arc<Shared>) -> FsDevice {
        FsDevice { shared }
    }

    /// The root folder (canonical path).
    pub fn root_path(&self) -> &Path {
        &self.shared.root
    }

    /// The root storage.
    pub fn root(&self) -> Arc<FsStorage> {
        FsStorage::new(self.shared.clone(), ROOT, None)
    }

    /// The object with persistent unique ID `unique_id` (from
    /// [`Storage::unique_id`](crate::provider::Storage::unique_id)) as an [`FsStorage`], for
    /// the folder provider's own methods such as [`FsStorage::transfer_files`].
    ///
    /// # Errors
    /// [`Error::NotSameDevice`](crate::Error::NotSameDevice) for another device's ID;
    /// [`Error::FileNotFound`](crate::Error::FileNotFound) for a malformed ID or one that names
    /// no object any more; [`Error::DeviceNotConnected`](crate::Error::DeviceNotConnected).
    pub fn object(&self, unique_id: &str) -> Result<Arc<FsStorage>> {
        self.shared.check()?;
        let id = self.shared.parse_unique_id(unique_id)?;
        if !self.shared.lock().ids.contains(id) {
            return Err(crate::Error::FileNotFound);
        }
        let handle = FsStorage::new(self.shared.clone(), id, None);
        match handle.snap() {
            Ok(_) => Ok(handle),
            Err(err) if err == crate::Error::InterfaceDead => Err(crate::Error::FileNotFound),
            Err(e) => Err(e),
        }
    }

    /// The medium's globals (capacity and status).
    pub fn globals(&self) -> FsGlobals {
        FsGlobals::new(self.shared.clone())
    }

    /// The serial number: 32 hexadecimal digits from `.wmdm/device.id`.
    pub fn serial(&self) -> String {
        self.shared.serial()
    }

    /// What the device's file system was found to refuse so far this session (each quirk is
    /// detected the first time it bites, and worked around from then on; see
    /// [`FsQuirks`](super::FsQuirks)).
    pub fn quirks(&self) -> super::FsQuirks {
        self.shared.io.quirks()
    }

    /// The kind of file system the device folder is on, detected at open (see [`FsKind`]).
    /// On a FAT-like one the FAT name rules apply unless the options say otherwise
    /// ([`DeviceOptions`]' `fs_rules`), and modification times have a 2-second resolution:
    /// the provider compares dates only for equality with what it read itself, never to
    /// order changes finer than that.
    pub fn fs_kind(&self) -> &FsKind {
        &self.shared.fs_kind
    }

    /// The name rule the device's names follow: its name policy's (after the file system's
    /// kind adjusted it, see [`DeviceOptions`]' `fs_rules`), restricted to ASCII when the file
    /// system refuses names outside ASCII ([`FsQuirks::ASCII_NAMES`](super::FsQuirks::ASCII_NAMES):
    /// learnt from a refusal, or settled by a probe in `.wmdm/` the first time this is asked on
    /// a writable device). The device reports it as [`NAME_RULE`](props::NAME_RULE).
    pub fn name_rule(&self) -> NameRule {
        let rule = self.shared.options.policy.rule();
        if rule.ascii_only() || !self.shared.writable_state {
            return rule;
        }
        if self.shared.io.refuses_non_ascii() {
            NameRule::FatAscii
        } else {
            rule
        }
    }

    /// The options the device was opened with (with the name policy the file system's
    /// kind chose, see [`DeviceOptions`]' `fs_rules`).
    pub fn options(&self) -> &DeviceOptions {
        &self.shared.options
    }

    /// Sets the friendly name and saves it in `.wmdm/device.id`.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] for an empty name; [`Error::WriteProtected`] when the device
    /// cannot keep state; I/O errors.
    pub fn set_friendly_name(&self, name: &str) -> Result<()> {
        self.shared.check_write()?;
        let clean: String = name.chars().filter(|c| !c.is_control()).collect();
        if clean.trim().is_empty() {
            return Err(Error::InvalidArg);
        }
        if !self.shared.writable_state {
            return Err(Error::WriteProtected);
        }
        let mut id = self.shared.identity_lock();
        id.name = Some(clean.trim().to_string());
        id.save(&self.shared.state_dir().join("device.id"), &self.shared.io)
    }

    /// The durability barrier ([`Device::flush`](crate::provider::Device::flush)): every
    /// change completed before the call is on the medium when it returns, the ID records
    /// handed out lazily included. With [`Durability::AtFlush`](super::Durability::AtFlush) it
    /// is what makes the device's writes durable (on Linux one `syncfs` of the device's file
    /// system; elsewhere one sync per file and folder written since the last call); in the
    /// per-operation mode only the ID records are left to sync.
    ///
    /// # Errors
    /// [`Error::DeviceNotConnected`]; I/O errors.
    pub fn flush(&self) -> Result<()> {
        self.shared.flush()
    }

    /// True while the device is connected.
    pub fn is_connected(&self) -> bool {
        self.shared.is_connected()
    }

    /// Marks the device as gone: every handle then fails with
    /// [`Error::DeviceNotConnected`]. The provider does this when the folder disappears.
    pub fn disconnect(&self) {
        let _ = self.flush();
        self.shared.set_connected(false);
    }

    fn friendly(&self) -> String {
        let id = self.shared.identity_lock();
        id.name.clone().unwrap_or_else(|| {
            self.shared
                .root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "Folder device".to_string())
        })
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let inner = self.inner.get_mut().unwrap_or_else(|p| p.into_inner());
        let _ = inner.ids.save(false, &self.io);
    }
}

impl Device for FsDevice {
    fn name(&self) -> Result<String> {
        self.shared.check()?;
        Ok(self.friendly())
    }

    fn manufacturer(&self) -> Result<String> {
        self.shared.check()?;
        Ok(self.shared.options.profile.manufacturer.clone())
    }

    fn version(&self) -> Result<u32> {
        self.shared.check()?;
        Ok(1)
    }

    fn device_type(&self) -> Result<DeviceType> {
        self.shared.check()?;
        Ok(DeviceType::STORAGE | DeviceType::PLAYBACK | DeviceType::NONSDMI)
    }

    fn serial_number(&self) -> Result<WmdmId> {
        self.shared.check()?;
        WmdmId::new(0, self.serial().into_bytes())
    }

    fn status(&self) -> Result<DeviceStatus> {
        Ok(if self.shared.is_connected() && self.shared.root.is_dir() {
            DeviceStatus::READY
        } else {
            DeviceStatus::DEVICE_NOTPRESENT
        })
    }

    fn icon(&self) -> Result<Icon> {
        self.shared.check()?;
        Ok(Icon::generic([0x30, 0x70, 0xC0]))
    }

    fn storages(&self) -> Result<Vec<StorageRef>> {
        self.shared.check()?;
        Ok(vec![self.root() as StorageRef])
    }

    fn format_support(&self) -> Result<FormatSupport> {
        self.shared.check()?;
        let formats = &self.shared.options.profile.formats;
        Ok(FormatSupport {
            audio: formats
                .iter()
                .filter_map(|&f| WaveFormat::typical_for(f))
                .collect(),
            video: Vec::new(),
            mime_types: formats
                .iter()
                .filter_map(|f| f.mime_type().map(str::to_string))
                .collect(),
        })
    }

    fn format_capability(&self, format: FormatCode) -> Result<FormatCapability> {
        self.shared.check()?;
        self.shared
            .options
            .profile
            .capability(format)
            .ok_or(Error::NotSupported)
    }

    fn canonical_name(&self) -> Result<String> {
        self.shared.check()?;
        Ok(self.shared.root.to_string_lossy().into_owned())
    }

    fn property(&self, name: &str) -> Result<PropValue> {
        self.shared.check()?;
        let profile = &self.shared.options.profile;
        Ok(match name {
            props::DEVICE_FRIENDLY_NAME => PropValue::String(self.friendly()),
            props::DEVICE_MODEL_NAME => PropValue::String(profile.model.clone()),
            props::FORMATS_SUPPORTED => {
                PropValue::U32Array(profile.formats.iter().map(|f| f.0).collect())
            }
            props::FORMATS_SUPPORTED_ARE_ORDERED => PropValue::Bool(true),
            props::DEVICE_PROTOCOL => PropValue::Guid(props::DEVICE_PROTOCOL_MSC),
            props::NAME_RULE => PropValue::String(self.name_rule().as_str().to_owned()),
            props::NAME_MAX => {
                PropValue::U32(profile.name_max.unwrap_or(MAX_COMPONENT).min(MAX_COMPONENT) as u32)
            }
            props::SUPPORTED_DEVICE_PROPERTIES => PropValue::StringArray(
                [
                    props::DEVICE_FRIENDLY_NAME,
                    props::DEVICE_MODEL_NAME,
                    props::FORMATS_SUPPORTED,
                    props::FORMATS_SUPPORTED_ARE_ORDERED,
                    props::DEVICE_PROTOCOL,
                    props::NAME_RULE,
                    props::NAME_MAX,
                ]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            ),
            _ => return Err(Error::NotSupported),
        })
    }

    fn set_property(&self, name: &str, value: &PropValue) -> Result<()> {
        if name != props::DEVICE_FRIENDLY_NAME {
            return Err(Error::NotSupported);
        }
        let text = value.as_str().ok_or(Error::InvalidArg)?;
        self.set_friendly_name(text)
    }

    fn flush(&self) -> Result<()> {
        FsDevice::flush(self)
    }

    fn lock_writer(&self, holder: &LockHolder) -> Result<WriterLock> {
        super::lock::lock_writer(&self.shared, holder)
    }

    fn writer_holder(&self) -> Result<Option<LockHolder>> {
        super::lock::writer_holder(&self.shared)
    }

    fn find_storage(&self, scope: FindScope, unique_id: &str) -> Result<StorageRef> {
        let root = self.root();
        if crate::provider::Storage::unique_id(root.as_ref())? == unique_id {
            return Ok(root);
        }
        if scope != FindScope::GLOBAL {
            // The device's immediate children are its storages: only the root.
            return Err(Error::FileNotFound);
        }
        crate::provider::Storage::find_storage(root.as_ref(), scope, unique_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{CreateRequest, Device, NoProgress, Storage};
    use crate::providers::fs::{DeviceOptions, Durability};

    /// Writes a file in a folder and renames it, as a sync's copy does.
    fn copy_one(d: &FsDevice) {
        let folder = d.root().create(&CreateRequest::folder("Music")).unwrap();
        let f = folder.create(&CreateRequest::file("a.part")).unwrap();
        let mut io = f.open(crate::flags::OpenMode::WRITE).unwrap();
        io.write(b"data").unwrap();
        io.close().unwrap();
        f.rename("a.mp3", &mut NoProgress).unwrap();
    }

    #[test]
    fn at_flush_leaves_every_change_to_the_barrier_and_per_operation_none() {
        let dir = tempfile::tempdir().unwrap();
        let at = FsDevice::open(
            dir.path(),
            DeviceOptions::default().durability(Durability::AtFlush),
        )
        .unwrap();
        copy_one(&at);
        let (files, dirs, any) = at.shared.io.barrier.pending();
        // The file's data, the ID log; the root (new folder) and the folder (renames): by
        // path only where the barrier cannot sync the whole file system at once.
        assert!(any);
        assert!(
            crate::sys::syncfs::WHOLE_FILE_SYSTEM || (files >= 2 && dirs >= 2),
            "{files} files, {dirs} folders waiting"
        );
        Device::flush(&at).unwrap();
        assert_eq!(at.shared.io.barrier.pending(), (0, 0, false));

        let dir = tempfile::tempdir().unwrap();
        let per = FsDevice::open(dir.path(), DeviceOptions::default()).unwrap();
        copy_one(&per);
        // The data, the renames and the ID records were synced as they went; only the state
        // folder, where `.wmdm/sessions` was replaced, waits.
        assert_eq!(per.shared.io.barrier.pending(), (0, 1, true));
        Device::flush(&per).unwrap();
        assert_eq!(per.shared.io.barrier.pending(), (0, 0, false));
    }

    /// Copies the folder `from` to `to` (a snapshot of the device's disk).
    fn snapshot(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let target = to.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                snapshot(&e.path(), &target);
            } else {
                std::fs::copy(e.path(), target).unwrap();
            }
        }
    }

    /// A kill right after a rename reaches the disk: the file found at its new name on the
    /// next open keeps its unique ID, as the sync's recovery needs to recognise its own file
    /// (its commit record names the ID).
    #[test]
    fn a_file_found_at_its_new_name_after_a_kill_keeps_its_unique_id() {
        for durability in [Durability::AtFlush, Durability::PerOperation] {
            let dir = tempfile::tempdir().unwrap();
            let snap = tempfile::tempdir().unwrap();
            let d = FsDevice::open(dir.path(), DeviceOptions::default().durability(durability))
                .unwrap();
            let folder = d.root().create(&CreateRequest::folder("Music")).unwrap();
            let f = folder.create(&CreateRequest::file("a.part")).unwrap();
            let mut io = f.open(crate::flags::OpenMode::WRITE).unwrap();
            io.write(b"data").unwrap();
            io.close().unwrap();
            let id = f.unique_id().unwrap();
            let (disk, copy) = (dir.path().to_owned(), snap.path().join("disk"));
            *d.shared.io.after_rename.0.lock().unwrap() =
                Some(Box::new(move || snapshot(&disk, &copy)));
            f.rename("a.mp3", &mut NoProgress).unwrap();
            drop(d);
            // A file added meanwhile, listed first: were the ID records behind the disk, the
            // next free number would go to it.
            std::fs::write(snap.path().join("disk/Music/0.mp3"), b"x").unwrap();
            let again =
                FsDevice::open(&snap.path().join("disk"), DeviceOptions::default()).unwrap();
            let listed = again.root().child("Music").unwrap().children().unwrap();
            assert_eq!(listed.len(), 2);
            let found = again.root().child("Music").unwrap().child("a.mp3").unwrap();
            assert_eq!(found.unique_id().unwrap(), id, "{durability:?}");
        }
    }
}
