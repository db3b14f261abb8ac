//! [`FsStorage`]: a file, folder or the root of a folder device.

use std::fs;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::error::{Error, Result, Status};
use crate::flags::{Attributes, FindScope, OpenMode, Placement};
use crate::metadata::{FormatCode, Metadata};
use crate::provider::{
    CreateRequest, DirectTransfer, GlobalsRef, ObjectAttributes, ObjectInfo, ObjectIo, Progress,
    Storage, StorageRef, run_with_progress,
};
use crate::time::WmdmDateTime;

use super::globals::FsGlobals;
use super::idmap::ROOT;
use super::names::{is_component, is_internal};
use super::shared::{Shared, Snap};
use super::{io, playlist, tagging};

/// A file, folder or root on a folder device.
///
/// The handle names the object by its persistent ID, so it stays valid across renames and
/// moves made through the provider. Attributes, size and date come from one `lstat`, taken when
/// the handle was listed and kept until the provider next changes anything on the device;
/// changes made behind the provider's back show up in the next listing.
#[derive(Debug)]
pub struct FsStorage {
    pub(super) shared: Arc<Shared>,
    pub(super) id: u64,
    pub(super) cache: Mutex<Option<Cached>>,
    /// This handle holds the reservation of a created file that has not been written yet.
    pub(super) holds: bool,
}

impl Drop for FsStorage {
    fn drop(&mut self) {
        if self.holds {
            self.shared.release(self.id);
        }
    }
}

/// An `lstat` and the name it was taken under, valid while the device's generation stays the
/// same.
#[derive(Debug)]
pub(super) struct Cached {
    generation: u64,
    snap: Snap,
    name: Option<String>,
}

impl FsStorage {
    pub(crate) fn new(shared: Arc<Shared>, id: u64, snap: Option<Snap>) -> Arc<FsStorage> {
        let cache = snap.map(|snap| Cached {
            generation: shared.generation(),
            snap,
            name: None,
        });
        Arc::new(FsStorage {
            shared,
            id,
            cache: Mutex::new(cache),
            holds: false,
        })
    }

    /// A handle fresh from a listing, which knows its `lstat` and name.
    pub(crate) fn listed(shared: Arc<Shared>, id: u64, snap: Snap, name: String) -> Arc<FsStorage> {
        let cache = Some(Cached {
            generation: shared.generation(),
            snap,
            name: Some(name),
        });
        Arc::new(FsStorage {
            shared,
            id,
            cache: Mutex::new(cache),
            holds: false,
        })
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The object's absolute path on the host.
    ///
    /// # Errors
    /// [`Error::InterfaceDead`] for a deleted object; [`Error::AccessDenied`] when a folder on
    /// the way has been replaced by a symbolic link; [`Error::DeviceNotConnected`].
    pub fn path(&self) -> Result<PathBuf> {
        // What the check's `lstat` of the object says is its snapshot too: a `snap` right
        // after (the size, the date, whether it is a folder) then costs no second `lstat`.
        let generation = self.shared.generation();
        let (path, seen) = {
            let inner = self.shared.lock();
            self.shared.safe_path_lstat(&inner, self.id)?
        };
        if let Some(Some(md)) = seen {
            self.remember(Snap::of(&md), generation);
        }
        Ok(path)
    }

    /// Keeps `snap`, an `lstat` taken in `generation`, unless the cache holds one of that
    /// generation already.
    pub(super) fn remember(&self, snap: Snap, generation: u64) {
        if let Ok(mut guard) = self.cache.lock()
            && guard.as_ref().is_none_or(|c| c.generation != generation)
        {
            *guard = Some(Cached {
                generation,
                snap,
                name: None,
            });
        }
    }

    /// The object's `lstat`, from the cache when nothing has changed since.
    pub(crate) fn snap(&self) -> Result<Snap> {
        self.shared.check()?;
        let generation = self.shared.generation();
        if let Ok(guard) = self.cache.lock()
            && let Some(c) = guard.as_ref()
            && c.generation == generation
        {
            return Ok(c.snap);
        }
        let (path, pending) = {
            let inner = self.shared.lock();
            if !inner.ids.contains(self.id) {
                return Err(Error::InterfaceDead);
            }
            // A file the provider wrote a moment ago is what its descriptor said.
            if let Some(snap) = self.shared.vouched(self.id) {
                return Ok(snap);
            }
            (
                self.shared.raw_path(&inner, self.id)?,
                inner.pending.contains(&self.id),
            )
        };
        #[cfg(test)]
        self.shared
            .lstats
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let snap = match fs::symlink_metadata(&path) {
            Ok(md) if md.file_type().is_symlink() => return Err(Error::InterfaceDead),
            Ok(md) => Snap::of(&md),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if pending {
                    Snap::reserved()
                } else if !self.shared.root.exists() {
                    return Err(Error::DeviceNotConnected);
                } else {
                    self.shared.lock().ids.remove(self.id);
                    return Err(Error::InterfaceDead);
                }
            }
            Err(e) => return Err(e.into()),
        };
        if let Ok(mut guard) = self.cache.lock() {
            *guard = Some(Cached {
                generation,
                snap,
                name: None,
            });
        }
        Ok(snap)
    }

    /// Runs `f` on the object's name, from the listing's cache while it is valid.
    fn with_name<R>(&self, f: impl FnOnce(&str) -> R) -> Result<R> {
        if let Ok(guard) = self.cache.lock()
            && let Some(Cached {
                generation,
                name: Some(n),
                ..
            }) = guard.as_ref()
            && *generation == self.shared.generation()
        {
            return Ok(f(n));
        }
        Ok(f(&self.name_string()?))
    }

    pub(super) fn name_string(&self) -> Result<String> {
        if self.id == ROOT {
            return Ok(self
                .shared
                .root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "Storage".to_string()));
        }
        let inner = self.shared.lock();
        let (_, name) = inner.ids.entry(self.id).ok_or(Error::InterfaceDead)?;
        Ok(name.to_string())
    }

    pub(crate) fn format(&self) -> Result<FormatCode> {
        if self.snap()?.is_dir {
            return Ok(FormatCode::ASSOCIATION);
        }
        Ok(FormatCode::from_file_name(&self.name_string()?))
    }

    pub(crate) fn parent_id(&self) -> Result<Option<u64>> {
        if self.id == ROOT {
            return Ok(None);
        }
        let inner = self.shared.lock();
        let (parent, _) = inner.ids.entry(self.id).ok_or(Error::InterfaceDead)?;
        Ok(Some(parent))
    }

    /// True when the object is a folder. A folder that a path check found to be one a moment
    /// ago ([`Shared::is_checked_folder`]) needs no `lstat`; otherwise the object's path is
    /// checked, which also vouches for it and the folders above for the paths resolved next
    /// (a file written into it, say), and its `lstat` is the snapshot asked.
    ///
    /// # Errors
    /// As [`FsStorage::path`] and [`FsStorage::snap`].
    pub(crate) fn is_folder(&self) -> Result<bool> {
        self.shared.check()?;
        if self.shared.is_checked_folder(self.id) {
            return Ok(true);
        }
        if self.id != ROOT {
            self.path()?;
        }
        Ok(self.snap()?.is_dir)
    }

    pub(super) fn handle(&self, id: u64) -> Arc<FsStorage> {
        FsStorage::new(self.shared.clone(), id, None)
    }

    pub(super) fn check_writable(&self) -> Result<()> {
        if self.snap()?.readonly {
            Err(Error::AccessDenied)
        } else {
            Ok(())
        }
    }

    pub(super) fn references_impl(&self) -> Result<Vec<StorageRef>> {
        let refs = playlist::read_references(self)?;
        Ok(refs.into_iter().map(|s| s as StorageRef).collect())
    }

    pub(crate) fn set_metadata_impl(&self, metadata: &Metadata) -> Result<Status> {
        tagging::set_metadata(self, metadata, None, false)
    }

    /// Drops the name a created-but-never-written file reserved.
    pub(crate) fn forget_reservation(&self) {
        let mut inner = self.shared.lock();
        if inner.pending.remove(&self.id) {
            inner.ids.remove(self.id);
            inner.pending_meta.remove(&self.id);
        }
        drop(inner);
        self.shared.bump();
    }

    pub(crate) fn is_pending(&self) -> bool {
        self.shared.lock().pending.contains(&self.id)
    }
}

impl Storage for FsStorage {
    fn unique_id(&self) -> Result<String> {
        self.shared.check()?;
        if !self.shared.lock().ids.contains(self.id) {
            return Err(Error::InterfaceDead);
        }
        Ok(self.shared.unique_id(self.id))
    }

    fn globals(&self) -> Result<GlobalsRef> {
        self.shared.check()?;
        Ok(Arc::new(FsGlobals::new(self.shared.clone())))
    }

    fn attributes(&self) -> Result<ObjectAttributes> {
        let snap = self.snap()?;
        if self.id == ROOT {
            return Ok(ObjectAttributes::new(
                Attributes::FOLDER
                    | Attributes::STORAGE_FILESYSTEM
                    | Attributes::STORAGE_FOLDERS
                    | Attributes::STORAGE_IS_DEFAULT
                    | Attributes::STORAGE_CANEDITMETADATA
                    | Attributes::CANREAD,
            ));
        }
        let (hidden, format) =
            self.with_name(|n| (n.starts_with('.'), FormatCode::from_file_name(n)))?;
        let mut a = Attributes::CANREAD;
        if !snap.readonly {
            a |= Attributes::CANDELETE | Attributes::CANRENAME | Attributes::CANMOVE;
        } else {
            a |= Attributes::READONLY;
        }
        if hidden {
            a |= Attributes::HIDDEN;
        }
        if snap.is_dir {
            a |= Attributes::FOLDER;
        } else {
            a |= Attributes::FILE;
            let f = format;
            if f.is_audio() {
                a |= Attributes::AUDIO | Attributes::MUSIC | Attributes::CANPLAY;
            } else if f.is_video() {
                a |= Attributes::VIDEO | Attributes::CANPLAY;
            } else if !f.is_playlist() {
                a |= Attributes::DATA;
            }
        }
        Ok(ObjectAttributes::new(a))
    }

    fn set_attributes(&self, attributes: &ObjectAttributes) -> Result<()> {
        self.shared.check_write()?;
        let snap = self.snap()?;
        if attributes.attributes.is_folder() != snap.is_dir || self.id == ROOT {
            return Err(Error::InvalidArg);
        }
        let want_ro = attributes.attributes.contains(Attributes::READONLY);
        if want_ro != snap.readonly && !self.is_pending() {
            let path = self.path()?;
            let mut perms = fs::metadata(&path)?.permissions();
            perms.set_readonly(want_ro);
            fs::set_permissions(&path, perms)?;
            self.shared.bump();
        }
        Ok(())
    }

    fn name(&self) -> Result<String> {
        self.shared.check()?;
        self.with_name(str::to_string)
    }

    fn date(&self) -> Result<WmdmDateTime> {
        let snap = self.snap()?;
        Ok(WmdmDateTime::from_system_time(
            snap.modified.unwrap_or_else(SystemTime::now),
        ))
    }

    /// The file system's own time (nanoseconds on ext4, btrfs, xfs, NTFS; FAT keeps two
    /// seconds, which `coarse` quirks and the kernel already round to).
    fn modified_precise(&self) -> Result<Option<SystemTime>> {
        Ok(self.snap()?.modified)
    }

    fn size(&self) -> Result<u64> {
        Ok(self.snap()?.size)
    }

    fn create(&self, request: &CreateRequest) -> Result<StorageRef> {
        Ok(self.create_impl(request)?)
    }

    fn children(&self) -> Result<Vec<StorageRef>> {
        self.shared.check()?;
        if self.id != ROOT && !self.snap()?.is_dir {
            return Err(Error::InvalidType);
        }
        Ok(self
            .shared
            .list(self.id)?
            .into_iter()
            .map(|(id, name, snap)| {
                FsStorage::listed(self.shared.clone(), id, snap, name) as StorageRef
            })
            .collect())
    }

    fn child(&self, name: &str) -> Result<StorageRef> {
        self.shared.check()?;
        if is_internal(name) || !is_component(name) {
            return Err(Error::FileNotFound);
        }
        if !self.is_folder()? {
            return Err(Error::InvalidType);
        }
        let generation = self.shared.generation();
        let (id, snap) = self.shared.id_under_snap(self.id, &[name])?;
        let child = self.handle(id);
        if let Some(snap) = snap {
            child.remember(snap, generation);
        }
        Ok(child)
    }

    fn metadata(&self) -> Result<Metadata> {
        tagging::get_metadata(self)
    }

    fn set_metadata(&self, metadata: &Metadata) -> Result<Status> {
        self.set_metadata_impl(metadata)
    }

    fn set_references(&self, references: &[StorageRef]) -> Result<()> {
        playlist::write_references(self, references)
    }

    fn references(&self) -> Result<Vec<StorageRef>> {
        self.references_impl()
    }

    fn find_storage(&self, scope: FindScope, unique_id: &str) -> Result<StorageRef> {
        self.shared.check()?;
        let id = match self.shared.parse_unique_id(unique_id) {
            Ok(id) => id,
            Err(_) => return Err(Error::FileNotFound),
        };
        let found = {
            let inner = self.shared.lock();
            match inner.ids.entry(id) {
                Some((parent, _)) if scope == FindScope::IMMEDIATE_CHILDREN => parent == self.id,
                Some(_) => id != self.id && inner.ids.is_within(id, self.id),
                None => false,
            }
        };
        if !found {
            return Err(Error::FileNotFound);
        }
        let h = self.handle(id);
        match h.snap() {
            Ok(_) => Ok(h),
            Err(err) if err == Error::InterfaceDead => Err(Error::FileNotFound),
            Err(e) => Err(e),
        }
    }

    fn parent(&self) -> Result<Option<StorageRef>> {
        self.shared.check()?;
        Ok(self.parent_id()?.map(|p| self.handle(p) as StorageRef))
    }

    fn open(&self, mode: OpenMode) -> Result<Box<dyn ObjectIo>> {
        let mode = mode.validate()?;
        let snap = self.snap()?;
        if snap.is_dir {
            return Err(Error::InvalidType);
        }
        if mode.can_write() {
            if snap.readonly {
                return Err(Error::AccessDenied);
            }
            Ok(Box::new(io::WriteSession::start(self, mode.can_read())?))
        } else {
            if self.is_pending() {
                return Ok(Box::new(io::ReadSession::empty(self)));
            }
            Ok(Box::new(io::ReadSession::open(self)?))
        }
    }

    fn delete(&self, recursive: bool, progress: &mut dyn Progress) -> Result<()> {
        self.delete_impl(recursive, progress)
    }

    fn rename(&self, new_name: &str, progress: &mut dyn Progress) -> Result<()> {
        run_with_progress(progress, 1, |p| {
            self.rename_impl(new_name)?;
            p.progress(1)
        })
    }

    fn refuses_taken_names(&self) -> bool {
        // A file's rename is checked against the folder (and refused by the file system
        // itself where it can: `renameat2` without replacing).
        true
    }

    /// From the tags lofty reads in `content`: the same reading and routing as the metadata
    /// of a transfer gets (`tagging::set_metadata`), without the file.
    fn content_holds_metadata(&self, name: &str, content: &[u8], metadata: &Metadata) -> bool {
        super::tagging::content_holds(name, content, metadata)
    }

    fn move_to(
        &self,
        placement: Placement,
        target: &dyn Storage,
        progress: &mut dyn Progress,
    ) -> Result<()> {
        run_with_progress(progress, 1, |p| {
            self.move_impl(placement, target)?;
            p.progress(1)
        })
    }

    fn object_info(&self) -> Option<&dyn ObjectInfo> {
        Some(self)
    }

    /// The bytes go to a file system of this host, in this process (IMDSPObject2's
    /// clear-channel reads and writes): encrypting and MACing them for the channel between
    /// the manager and this provider protects nothing, and it was most of the cost of reading
    /// the sync's state files back (2.7 MB of ledger for 10,000 tracks).
    fn supports_clear_channel(&self) -> bool {
        true
    }

    /// A folder checked a moment ago needs no `lstat` here: the transfer itself looks at the
    /// folder before it takes a name in it (`FsStorage::create_named`).
    fn direct_transfer(&self) -> Option<&dyn DirectTransfer> {
        match self.is_folder() {
            Ok(true) => Some(self),
            _ => None,
        }
    }
}

impl ObjectInfo for FsStorage {
    /// The play length in milliseconds, from the audio stream.
    fn play_length(&self) -> Result<u32> {
        tagging::duration_ms(self)
    }

    /// The total length in milliseconds, from the audio stream.
    fn total_length(&self) -> Result<u32> {
        tagging::duration_ms(self)
    }
}
