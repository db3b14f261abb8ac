//! An MTP object (file, folder, or a storage's root) as a [`Storage`].
//!
//! Every call asks the device (a listing is one GetObjectHandles plus GetObjectPropList or
//! GetObjectInfo per child): the device is the only truth, since the phone itself or another
//! program may change it. The object's own name, size and date are the snapshot of its last
//! listing, as a handle of the folder provider keeps its path.

use std::sync::{Arc, Mutex, PoisonError};

use mtp_rs::{ObjectHandle, StorageId};

use super::NAME_RULE;
use super::conn::{Conn, Item};
use super::device::MtpDevice;
use super::io::{Reader, Sent, Writer};
use crate::error::{Error, Result};
use crate::flags::{Attributes, FindScope, OpenMode, Placement};
use crate::metadata::{FormatCode, Metadata, tags};
use crate::provider::{
    CreateRequest, DirectTransfer, GlobalsRef, ObjectAttributes, ObjectIo, Progress, Storage,
    StorageRef, run_with_progress,
};
use crate::time::WmdmDateTime;

/// Where an object is, as far as this handle knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Slot {
    /// The root of a storage.
    Root,
    /// An object on the device.
    Live(ObjectHandle),
    /// A file created but not written yet: MTP creates an object only with its data
    /// (SendObjectInfo + SendObject), so it appears on the device when its first write closes.
    Pending,
    /// Deleted through this provider.
    Deleted,
}

/// What a handle knows about its object.
#[derive(Clone, Debug)]
pub(super) struct Snap {
    pub(super) slot: Slot,
    pub(super) name: String,
    pub(super) size: u64,
    pub(super) format: u16,
    pub(super) folder: bool,
    pub(super) modified: Option<i64>,
    /// The folder it sits in (`None`: the storage root).
    pub(super) parent: Option<ObjectHandle>,
    /// The ends of what this handle last sent the device, for the read-back right after the
    /// write ([`Sent`]); taken by the first read session.
    pub(super) sent: Option<Sent>,
}

/// A file, folder or root on an MTP device.
pub(super) struct MtpObject {
    pub(super) device: Arc<MtpDevice>,
    pub(super) storage: StorageId,
    /// Shared with the object's open sessions, so a close that creates or replaces the
    /// object on the device updates this handle.
    pub(super) snap: Arc<Mutex<Snap>>,
}

impl std::fmt::Debug for MtpObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MtpObject")
            .field("storage", &self.storage)
            .field("snap", &*self.lock())
            .finish_non_exhaustive()
    }
}

/// The MTP association (folder) format.
pub(super) const ASSOCIATION: u16 = 0x3001;
/// The MTP undefined format.
pub(super) const UNDEFINED: u16 = 0x3000;

impl MtpObject {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Snap> {
        self.snap.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn conn(&self) -> &Conn {
        &self.device.conn
    }

    /// The root of a storage.
    pub(super) fn root(device: Arc<MtpDevice>, storage: StorageId, name: String) -> MtpObject {
        MtpObject {
            device,
            storage,
            snap: Arc::new(Mutex::new(Snap {
                slot: Slot::Root,
                name,
                size: 0,
                format: ASSOCIATION,
                folder: true,
                modified: None,
                parent: None,
                sent: None,
            })),
        }
    }

    /// An object from a listing of this object's storage.
    pub(super) fn listed(&self, item: &Item, parent: Option<ObjectHandle>) -> MtpObject {
        MtpObject {
            device: self.device.clone(),
            storage: self.storage,
            snap: Arc::new(Mutex::new(Snap {
                slot: Slot::Live(item.handle),
                name: item.name.clone(),
                size: item.size,
                format: item.format,
                folder: item.folder,
                modified: item.modified,
                parent,
                sent: None,
            })),
        }
    }

    /// The live snapshot: `InterfaceDead` for a deleted object.
    pub(super) fn snap(&self) -> Result<Snap> {
        self.conn().check()?;
        let s = self.lock().clone();
        if s.slot == Slot::Deleted {
            return Err(Error::InterfaceDead);
        }
        Ok(s)
    }

    /// This folder's handle for listings and uploads (`None`: the storage root).
    pub(super) fn folder_handle(&self) -> Result<Option<ObjectHandle>> {
        let s = self.snap()?;
        if !s.folder {
            return Err(Error::InvalidType);
        }
        match s.slot {
            Slot::Live(h) => Ok(Some(h)),
            _ => Ok(None),
        }
    }

    /// The device's listing of a folder (`None`: a storage root), the lock object left out:
    /// a recent one the provider kept, or a new one.
    pub(super) fn list(&self, folder: Option<ObjectHandle>) -> Result<Vec<Item>> {
        let key = (self.storage, folder);
        if let Some(items) = self.conn().cached(key) {
            return Ok(items);
        }
        let storage = self.conn().storage(self.storage)?;
        let all = self
            .conn()
            .run("GetObjectHandles", true, || storage.list_objects(folder))?;
        Ok(self.conn().keep_listing(key, &all))
    }

    /// The children of this folder as handles.
    fn child_objects(&self) -> Result<Vec<MtpObject>> {
        let folder = self.folder_handle()?;
        Ok(self
            .list(folder)?
            .iter()
            .map(|info| self.listed(info, folder))
            .collect())
    }

    /// The folder a new object or a sibling goes into, for `placement` relative to this one.
    pub(super) fn destination(&self, placement: Placement) -> Result<Option<ObjectHandle>> {
        let s = self.snap()?;
        match placement {
            Placement::Into => self.folder_handle(),
            Placement::Before | Placement::After => {
                if s.slot == Slot::Root {
                    return Err(Error::InvalidArg);
                }
                Ok(s.parent)
            }
        }
    }

    /// The object named `name` in `folder`, if any (names compare as the device's rule does).
    pub(super) fn find_in(
        &self,
        folder: Option<ObjectHandle>,
        name: &str,
    ) -> Result<Option<MtpObject>> {
        let same = |o: &Item| NAME_RULE.same_name(&o.name, name);
        let found = match self.conn().find_cached((self.storage, folder), same) {
            Some(found) => found,
            None => self.list(folder)?.into_iter().find(|o| same(o)),
        };
        Ok(found.map(|info| self.listed(&info, folder)))
    }

    /// The child named `name` of this folder.
    pub(super) fn named_child(&self, name: &str) -> Result<MtpObject> {
        let folder = self.folder_handle()?;
        self.find_in(folder, name)?.ok_or(Error::FileNotFound)
    }

    /// A handle on the object this one became after a write created or replaced it (`old`:
    /// the object it replaced; `sent`: the ends of the bytes the device acknowledged).
    pub(super) fn became(
        &self,
        handle: ObjectHandle,
        old: Option<ObjectHandle>,
        size: u64,
        sent: Sent,
    ) {
        let mut s = self.lock();
        s.slot = Slot::Live(handle);
        s.size = size;
        s.sent = Some(sent);
        s.modified = Some(now_unix());
        let item = Item {
            handle,
            name: s.name.clone(),
            size,
            format: s.format,
            folder: false,
            modified: s.modified,
        };
        let key = (self.storage, s.parent);
        self.conn().set_parent(handle, key);
        self.conn().edit(key, |items| {
            items.retain(|i| Some(i.handle) != old && i.handle != handle);
            items.push(item);
        });
    }

    /// Deletes one object of folder `parent` on the device.
    fn delete_handle(&self, parent: Option<ObjectHandle>, h: ObjectHandle) -> Result<()> {
        let storage = self.conn().storage(self.storage)?;
        let result = self.conn().run("DeleteObject", false, || storage.delete(h));
        if result.is_err() {
            // It may have gone partly: the next listing asks the device.
            self.conn().invalidate((self.storage, parent));
        }
        result?;
        self.conn().forget(h);
        self.conn().edit((self.storage, parent), |items| {
            items.retain(|i| i.handle != h)
        });
        self.conn().invalidate((self.storage, Some(h)));
        Ok(())
    }

    /// Deletes everything below folder `h`, depth first, one tick per object.
    fn delete_below(&self, h: ObjectHandle, done: &mut u64, p: &mut dyn Progress) -> Result<()> {
        for child in self.list(Some(h))? {
            if child.folder {
                self.delete_below(child.handle, done, p)?;
            }
            self.delete_handle(Some(h), child.handle)?;
            *done += 1;
            p.progress(*done)?;
        }
        Ok(())
    }

    pub(super) fn check_writable(&self) -> Result<()> {
        if self.conn().read_only {
            Err(Error::WriteProtected)
        } else {
            Ok(())
        }
    }
}

pub(super) fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Storage for MtpObject {
    /// MTP object handles hold only for one session (MTP 1.1 §3.4.1; mtp-rs: "don't persist
    /// it across sessions"), so objects have no persistent ID here: the empty string, and the
    /// sync recognises its files by size and content fingerprint instead. A storage root's ID
    /// is the device serial and its StorageID, which are persistent.
    fn unique_id(&self) -> Result<String> {
        let s = self.snap()?;
        Ok(match s.slot {
            Slot::Root => format!("mtp:{}:{:08x}", self.conn().serial, self.storage.0),
            _ => String::new(),
        })
    }

    fn globals(&self) -> Result<GlobalsRef> {
        self.snap()?;
        Ok(Arc::new(super::device::MtpGlobals {
            device: self.device.clone(),
            storage: self.storage,
        }))
    }

    fn attributes(&self) -> Result<ObjectAttributes> {
        let s = self.snap()?;
        let caps = self.conn().caps;
        if s.slot == Slot::Root {
            return Ok(ObjectAttributes::new(
                Attributes::FOLDER
                    | Attributes::STORAGE_FOLDERS
                    | Attributes::STORAGE_IS_DEFAULT
                    | Attributes::CANREAD,
            ));
        }
        let mut a = Attributes::CANREAD;
        if !self.conn().read_only {
            if caps.can_delete {
                a |= Attributes::CANDELETE;
            }
            if caps.can_rename {
                a |= Attributes::CANRENAME;
            }
            if caps.can_move {
                a |= Attributes::CANMOVE;
            }
        } else {
            a |= Attributes::READONLY;
        }
        if s.name.starts_with('.') {
            a |= Attributes::HIDDEN;
        }
        a |= if s.folder {
            Attributes::FOLDER
        } else {
            Attributes::FILE
        };
        if FormatCode(u32::from(s.format)).is_audio() {
            a |= Attributes::CANPLAY;
        }
        Ok(ObjectAttributes::new(a))
    }

    fn name(&self) -> Result<String> {
        Ok(self.snap()?.name)
    }

    fn date(&self) -> Result<WmdmDateTime> {
        Ok(WmdmDateTime::from_unix(self.snap()?.modified.unwrap_or(0)))
    }

    fn size(&self) -> Result<u64> {
        let s = self.snap()?;
        Ok(if s.folder { 0 } else { s.size })
    }

    fn create(&self, request: &CreateRequest) -> Result<StorageRef> {
        Ok(Arc::new(self.create_object(request)?))
    }

    fn children(&self) -> Result<Vec<StorageRef>> {
        Ok(self
            .child_objects()?
            .into_iter()
            .map(|o| Arc::new(o) as StorageRef)
            .collect())
    }

    fn child(&self, name: &str) -> Result<StorageRef> {
        Ok(Arc::new(self.named_child(name)?))
    }

    /// The properties of the MTP ObjectInfo dataset (name, size, format, modification date):
    /// the high-level mtp-rs API carries no other object property (see the module docs).
    fn metadata(&self) -> Result<Metadata> {
        let s = self.snap()?;
        let mut m = Metadata::new();
        m.add(tags::FILE_NAME, s.name.clone());
        m.add(tags::FORMAT_CODE, u32::from(s.format));
        if !s.folder {
            m.add(tags::FILE_SIZE, s.size);
        }
        if let Some(t) = s.modified {
            m.add(tags::LAST_MODIFIED_DATE, WmdmDateTime::from_unix(t));
        }
        Ok(m)
    }

    fn find_storage(&self, scope: FindScope, unique_id: &str) -> Result<StorageRef> {
        // Objects have no persistent ID (see `unique_id`): an empty ID names nothing.
        if unique_id.is_empty() {
            return Err(Error::FileNotFound);
        }
        let _ = scope;
        Err(Error::FileNotFound)
    }

    fn parent(&self) -> Result<Option<StorageRef>> {
        let s = self.snap()?;
        if s.slot == Slot::Root {
            return Ok(None);
        }
        let Some(h) = s.parent else {
            return Ok(Some(Arc::new(MtpObject::root(
                self.device.clone(),
                self.storage,
                self.device.storage_name(self.storage)?,
            ))));
        };
        let storage = self.conn().storage(self.storage)?;
        let info = self
            .conn()
            .run("GetObjectInfo", true, || storage.get_object_info(h))?;
        let grand = self
            .conn()
            .parent_of(h)
            .and_then(|(_, p)| p)
            .or_else(|| (info.parent != ObjectHandle::ROOT).then_some(info.parent));
        Ok(Some(Arc::new(self.listed(&Item::of(&info), grand))))
    }

    fn open(&self, mode: OpenMode) -> Result<Box<dyn ObjectIo>> {
        let mode = mode.validate()?;
        let s = self.snap()?;
        if s.folder {
            return Err(Error::InvalidType);
        }
        if mode.can_write() {
            self.check_writable()?;
            return Ok(Box::new(Writer::new(self.share(), mode, &s)?));
        }
        // The first read session after a write takes the ends it sent (see `Sent`).
        let sent = self.lock().sent.take();
        Ok(Box::new(Reader::new(self.share(), &s, sent)?))
    }

    fn delete(&self, recursive: bool, progress: &mut dyn Progress) -> Result<()> {
        self.check_writable()?;
        let s = self.snap()?;
        let h = match s.slot {
            Slot::Root => return Err(Error::AccessDenied),
            Slot::Pending => {
                self.lock().slot = Slot::Deleted;
                return Ok(());
            }
            Slot::Live(h) => h,
            Slot::Deleted => return Err(Error::InterfaceDead),
        };
        if !self.conn().caps.can_delete {
            return Err(Error::NotSupported);
        }
        let below = if s.folder {
            self.list(Some(h))?
        } else {
            Vec::new()
        };
        if !below.is_empty() && !recursive {
            return Err(Error::DirectoryNotEmpty);
        }
        run_with_progress(progress, below.len() as u64 + 1, |p| {
            let mut done = 0;
            if s.folder {
                self.delete_below(h, &mut done, p)?;
            }
            self.delete_handle(s.parent, h)?;
            self.lock().slot = Slot::Deleted;
            p.progress(done + 1)
        })
    }

    /// SetObjectPropValue(ObjectFileName), where the device supports it; a device without it
    /// gets `NotSupported` (the sync then writes without renames).
    fn rename(&self, new_name: &str, progress: &mut dyn Progress) -> Result<()> {
        self.rename_object(new_name, progress)
    }

    /// The data goes straight to the device over its own link (USB), as IMDSPObject2's
    /// clear-channel reads and writes allow: encrypting it for the channel between the
    /// manager and this provider in the same process protects nothing.
    fn supports_clear_channel(&self) -> bool {
        true
    }

    /// Folders take a whole file from a host source in one step (see `create.rs`).
    fn direct_transfer(&self) -> Option<&dyn DirectTransfer> {
        self.lock().folder.then_some(self as &dyn DirectTransfer)
    }

    /// MoveObject, where the device supports it. The target is found on this device by its
    /// path (its names up to the storage root), since objects carry no persistent ID.
    fn move_to(
        &self,
        placement: Placement,
        target: &dyn Storage,
        progress: &mut dyn Progress,
    ) -> Result<()> {
        self.move_object(placement, target, progress)
    }
}

impl MtpObject {
    /// Another handle on the same object and snapshot, for an open session.
    pub(super) fn share(&self) -> MtpObject {
        MtpObject {
            device: self.device.clone(),
            storage: self.storage,
            snap: self.snap.clone(),
        }
    }
}
