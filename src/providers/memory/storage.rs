//! [`MemoryStorage`]: a file, folder, abstract object or medium root of a memory device, with
//! IMDSPObjectInfo for audio files.

use std::fmt;
use std::sync::{Arc, MutexGuard};

use crate::error::{Error, Result, Status};
use crate::flags::{Attributes, FindScope, OpenMode, Placement};
use crate::metadata::{Metadata, tags};
use crate::provider::WaveFormat;
use crate::provider::{
    CreateRequest, GlobalsRef, ObjectAttributes, ObjectInfo, ObjectIo, Progress, Storage,
    StorageRef,
};
use crate::time::WmdmDateTime;

use super::fault::Operation;
use super::globals::MemoryGlobals;
use super::io::MemoryObjectIo;
use super::node::{Kind, NewObject, Node, NodeId, ObjRef, settable};
use super::state::{Shared, State, staged};
use super::tree::Tree;

/// WMDM/Duration is in 100-ns units; IMDSPObjectInfo here speaks milliseconds.
const HUNDRED_NS_PER_MS: u64 = 10_000;

/// A file, folder, abstract object or medium root on a [`MemoryDevice`](super::MemoryDevice).
///
/// Handles stay valid across renames and moves. Once the object is deleted every call fails
/// with [`Error::InterfaceDead`]; while the device is disconnected every call fails with
/// [`Error::DeviceNotConnected`].
pub struct MemoryStorage {
    shared: Arc<Shared>,
    storage: usize,
    node: NodeId,
}

impl fmt::Debug for MemoryStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStorage")
            .field("device", &self.shared.config.serial)
            .field("storage", &self.storage)
            .field("node", &self.node)
            .finish()
    }
}

impl MemoryStorage {
    pub(super) fn new(shared: Arc<Shared>, storage: usize, node: NodeId) -> MemoryStorage {
        MemoryStorage {
            shared,
            storage,
            node,
        }
    }

    fn handle(&self, r: ObjRef) -> StorageRef {
        Arc::new(MemoryStorage::new(
            Arc::clone(&self.shared),
            r.storage,
            r.node,
        ))
    }

    fn sibling(&self, node: NodeId) -> StorageRef {
        self.handle(ObjRef {
            storage: self.storage,
            node,
        })
    }

    /// Enters `op` and runs `f` on this object's node.
    fn inspect<T>(&self, op: Operation, f: impl FnOnce(&Tree, &Node) -> Result<T>) -> Result<T> {
        let st = self.shared.enter(op)?;
        let tree = st.tree(self.storage)?;
        f(tree, tree.node(self.node)?)
    }

    /// Enters `op` for a change: the node must exist and the medium be writable.
    fn enter_write(&self, op: Operation) -> Result<MutexGuard<'_, State>> {
        let st = self.shared.enter(op)?;
        st.tree(self.storage)?.node(self.node)?;
        self.shared.check_writable(&st, self.storage)?;
        Ok(st)
    }

    fn is_root(&self, tree: &Tree) -> bool {
        tree.root() == self.node
    }

    /// The bits a medium's root has on top of FOLDER.
    fn root_attributes(&self, tree: &Tree, node: &Node) -> Attributes {
        let medium = self.shared.media.get(self.storage);
        let mut a = Attributes::FOLDER
            | Attributes::STORAGE_FILESYSTEM
            | Attributes::STORAGE_FOLDERS
            | Attributes::STORAGE_CANEDITMETADATA;
        a |= if medium.is_some_and(|m| m.removable) {
            Attributes::STORAGE_REMOVABLE
        } else {
            Attributes::STORAGE_NONREMOVABLE
        };
        if self.storage == 0 {
            a |= Attributes::STORAGE_IS_DEFAULT;
        }
        for c in &node.children {
            match tree.get(*c).map(Node::is_folder) {
                Some(true) => a |= Attributes::STORAGE_HAS_FOLDERS,
                Some(false) => a |= Attributes::STORAGE_HAS_FILES,
                None => {}
            }
        }
        a
    }

    /// The audio file's node, for IMDSPObjectInfo.
    fn audio_node<'a>(&self, st: &'a mut State) -> Result<&'a mut Node> {
        let node = st.tree_mut(self.storage)?.node_mut(self.node)?;
        if node.is_folder() || !node.format().is_audio() {
            return Err(Error::NotSupported);
        }
        Ok(node)
    }

    fn duration_ms(node: &Node) -> Option<u32> {
        let d = node.metadata.get_u64(tags::DURATION)? / HUNDRED_NS_PER_MS;
        Some(u32::try_from(d).unwrap_or(u32::MAX))
    }
}

impl Storage for MemoryStorage {
    fn unique_id(&self) -> Result<String> {
        let st = self.shared.relock()?;
        Ok(st.tree(self.storage)?.node(self.node)?.uid.clone())
    }

    fn globals(&self) -> Result<GlobalsRef> {
        self.inspect(Operation::GetInfo, |_, _| Ok(()))?;
        Ok(Arc::new(MemoryGlobals::new(
            Arc::clone(&self.shared),
            self.storage,
        )))
    }

    fn attributes(&self) -> Result<ObjectAttributes> {
        self.inspect(Operation::GetAttributes, |tree, node| {
            let attributes = if self.is_root(tree) {
                self.root_attributes(tree, node)
            } else {
                node.attributes()
            };
            let audio = match &node.audio {
                Some(a) => Some(a.clone()),
                None if !node.is_folder() => WaveFormat::typical_for(node.format()),
                None => None,
            };
            Ok(ObjectAttributes {
                attributes,
                attributes_ex: node.attributes_ex,
                audio,
                video: node.video,
            })
        })
    }

    /// Sets READONLY, HIDDEN, SYSTEM, AUDIOBOOK, DATA and LINK, the extended bits and the
    /// formats; the other bits are the device's to compute and are ignored.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] for the root, or for FILE on a folder or FOLDER on a file;
    /// [`Error::WriteProtected`].
    fn set_attributes(&self, attributes: &ObjectAttributes) -> Result<()> {
        let mut st = self.enter_write(Operation::SetAttributes)?;
        let tree = st.tree_mut(self.storage)?;
        if self.is_root(tree) {
            return Err(Error::InvalidArg);
        }
        let node = tree.node_mut(self.node)?;
        let a = attributes.attributes;
        let wrong = match node.kind {
            Kind::File => a.contains(Attributes::FOLDER),
            Kind::Folder => a.contains(Attributes::FILE),
        };
        if wrong {
            return Err(Error::InvalidArg);
        }
        node.flags = settable(a);
        node.attributes_ex = attributes.attributes_ex;
        node.audio.clone_from(&attributes.audio);
        node.video = attributes.video;
        Ok(())
    }

    fn name(&self) -> Result<String> {
        self.inspect(Operation::GetInfo, |_, n| Ok(n.name.clone()))
    }

    fn date(&self) -> Result<WmdmDateTime> {
        self.inspect(Operation::GetInfo, |_, n| Ok(n.modified))
    }

    fn size(&self) -> Result<u64> {
        self.inspect(Operation::GetInfo, |_, n| Ok(n.data.len() as u64))
    }

    /// Creates a file or folder. `CREATE_OVERWRITE` replaces a file (never a folder) in its
    /// place in the listing; the replaced file's handles die and references to it are dropped.
    ///
    /// # Errors
    /// In this order: [`Error::WriteProtected`]; [`Error::InvalidArg`] when neither FILE nor
    /// FOLDER is set; then those of the name, the placement, a name collision and the space, as
    /// the trait describes ([`Error::Busy`] when the file to replace is open).
    fn create(&self, request: &CreateRequest) -> Result<StorageRef> {
        let mut st = self.enter_write(Operation::Create)?;
        // Read after entering, so that a slow create is dated when it ends.
        let now = self.shared.now();
        let kind = if request.is_folder() {
            Kind::Folder
        } else if request.attributes.contains(Attributes::FILE) {
            Kind::File
        } else {
            return Err(Error::InvalidArg);
        };
        let obj = NewObject {
            name: request.name.clone(),
            kind,
            flags: request.attributes,
            attributes_ex: request.attributes_ex,
            audio: request.audio.clone(),
            video: request.video,
            metadata: request.metadata.clone(),
            size_hint: request.size_hint,
            overwrite: request.is_overwrite(),
        };
        let full = st.forced_full();
        let created =
            st.tree_mut(self.storage)?
                .create(self.node, request.placement, obj, now, full)?;
        if let Some(old) = created.replaced {
            st.prune_references(self.storage, &[old]);
        }
        drop(st);
        Ok(self.sibling(created.id))
    }

    fn children(&self) -> Result<Vec<StorageRef>> {
        let ids = self.inspect(Operation::Children, |_, n| {
            if n.is_folder() {
                Ok(n.children.clone())
            } else {
                Err(Error::InvalidType)
            }
        })?;
        Ok(ids.into_iter().map(|id| self.sibling(id)).collect())
    }

    /// The child with that name, in any case (names are unique regardless of case here).
    ///
    /// # Errors
    /// [`Error::InvalidType`] for a file; [`Error::FileNotFound`].
    fn child(&self, name: &str) -> Result<StorageRef> {
        let id = self.inspect(Operation::Children, |tree, n| {
            if !n.is_folder() {
                return Err(Error::InvalidType);
            }
            tree.child_named(self.node, name, None)
                .ok_or(Error::FileNotFound)
        })?;
        Ok(self.sibling(id))
    }

    fn metadata(&self) -> Result<Metadata> {
        self.inspect(Operation::GetMetadata, |_, n| Ok(n.metadata()))
    }

    /// Stores the items. `WMDM/FileName`, `WMDM/FileSize` and `WMDM/PersistentUniqueID` are
    /// the device's to say and are dropped; `WMDM/LastModifiedDate` and
    /// `WMDM/FileCreationDate` set the object's dates. Without an explicit
    /// `WMDM/LastModifiedDate`, a change dates the object now.
    ///
    /// # Errors
    /// [`Error::WriteProtected`]; [`Error::NotSupported`] when items were given and none
    /// could be kept.
    fn set_metadata(&self, metadata: &Metadata) -> Result<Status> {
        let now = self.shared.now();
        let mut st = self.enter_write(Operation::SetMetadata)?;
        let node = st.tree_mut(self.storage)?.node_mut(self.node)?;
        // A metadata change is a change of the object (as on MTP devices), so a host that
        // remembers each object's date sees it; an explicit date below overrides this one.
        let (kept, dropped) = node.store_metadata(metadata);
        if kept > 0 && metadata.get(tags::LAST_MODIFIED_DATE).is_none() {
            node.modified = now;
        }
        match (kept, dropped) {
            (_, 0) => Ok(Status::Ok),
            (0, _) => Err(Error::NotSupported),
            _ => Ok(Status::NotAllPropertiesApplied),
        }
    }

    /// Points a playlist or album at other objects of this device, in order.
    ///
    /// # Errors
    /// [`Error::InterfaceDead`] for a deleted reference; [`Error::NotSameDevice`] for one on
    /// another device; [`Error::WriteProtected`]; [`Error::InvalidType`] unless this is a file
    /// whose format is a playlist or an abstract object.
    fn set_references(&self, references: &[StorageRef]) -> Result<()> {
        // Asked before entering: our own handles lock the device to answer.
        let uids = references
            .iter()
            .map(|r| r.unique_id())
            .collect::<Result<Vec<_>>>()?;
        let mut st = self.enter_write(Operation::SetReferences)?;
        if !st.tree(self.storage)?.node(self.node)?.holds_references() {
            return Err(Error::InvalidType);
        }
        let refs = uids
            .iter()
            .map(|u| st.find_uid(u).ok_or(Error::NotSameDevice))
            .collect::<Result<Vec<_>>>()?;
        st.tree_mut(self.storage)?.node_mut(self.node)?.references = refs;
        Ok(())
    }

    /// The referenced objects that still exist, in order; empty for objects that hold none.
    fn references(&self) -> Result<Vec<StorageRef>> {
        let st = self.shared.enter(Operation::GetReferences)?;
        let node = st.tree(self.storage)?.node(self.node)?;
        let live: Vec<ObjRef> = node
            .references
            .iter()
            .copied()
            .filter(|r| st.trees.get(r.storage).is_some_and(|t| t.contains(r.node)))
            .collect();
        drop(st);
        Ok(live.into_iter().map(|r| self.handle(r)).collect())
    }

    /// Looks the ID up in the device's index instead of walking the tree.
    fn find_storage(&self, scope: FindScope, unique_id: &str) -> Result<StorageRef> {
        let found = self.inspect(Operation::FindStorage, |tree, n| {
            if !n.is_folder() {
                return Err(Error::FileNotFound);
            }
            let id = tree.find_uid(unique_id).ok_or(Error::FileNotFound)?;
            let parent = tree.get(id).and_then(|c| c.parent);
            let inside = if scope == FindScope::IMMEDIATE_CHILDREN {
                parent == Some(self.node)
            } else {
                id != self.node && tree.is_within(id, self.node)
            };
            if inside {
                Ok(id)
            } else {
                Err(Error::FileNotFound)
            }
        })?;
        Ok(self.sibling(found))
    }

    fn parent(&self) -> Result<Option<StorageRef>> {
        let parent = self.inspect(Operation::Parent, |_, n| Ok(n.parent))?;
        Ok(parent.map(|p| self.sibling(p)))
    }

    /// Opens a file. A write session works on a copy of the data that `close` commits in one
    /// step; dropping the session without closing it discards the writes.
    ///
    /// # Errors
    /// In this order: [`Error::InvalidArg`] for a bad mode; [`Error::InvalidType`] for a
    /// folder; for writing, [`Error::WriteProtected`] on a protected medium and
    /// [`Error::AccessDenied`] on a READONLY file; [`Error::TooManyOpenFiles`] when the
    /// device's open-file limit is reached; [`Error::Busy`] when the file is open for writing,
    /// or is open at all and this open wants to write.
    fn open(&self, mode: OpenMode) -> Result<Box<dyn ObjectIo>> {
        let mut st = self.shared.enter(Operation::Open)?;
        let mode = mode.validate()?;
        let node = st.tree(self.storage)?.node(self.node)?;
        if node.is_folder() {
            return Err(Error::InvalidType);
        }
        if mode.can_write() {
            self.shared.check_writable(&st, self.storage)?;
            if node.is_read_only() {
                return Err(Error::AccessDenied);
            }
        }
        if st.open_files >= self.shared.config.max_open_files {
            return Err(Error::TooManyOpenFiles);
        }
        if node.writer || (mode.can_write() && node.readers > 0) {
            return Err(Error::Busy);
        }
        let buffer = mode.can_write().then(|| node.data.clone());
        let node = st.tree_mut(self.storage)?.node_mut(self.node)?;
        if mode.can_write() {
            node.writer = true;
        } else {
            node.readers += 1;
        }
        st.open_files += 1;
        let epoch = st.epoch;
        drop(st);
        let at = ObjRef {
            storage: self.storage,
            node: self.node,
        };
        Ok(Box::new(MemoryObjectIo::new(
            Arc::clone(&self.shared),
            at,
            mode,
            buffer,
            epoch,
        )))
    }

    /// Deletes the object (and, with `recursive`, everything under it) all at once: the
    /// objects are counted, `begin(count)` and one tick per object are reported, and only then
    /// is the whole subtree removed. A cancel from any callback leaves everything in place.
    /// References to deleted objects are dropped from every playlist and album.
    ///
    /// # Errors
    /// In this order: [`Error::WriteProtected`]; [`Error::InvalidArg`] for a medium's root;
    /// [`Error::DirectoryNotEmpty`]; [`Error::AccessDenied`] when a READONLY object would go;
    /// [`Error::Busy`] when an open file would go; an error from `progress`.
    fn delete(&self, recursive: bool, progress: &mut dyn Progress) -> Result<()> {
        let st = self.enter_write(Operation::Delete)?;
        let count = st
            .tree(self.storage)?
            .plan_delete(self.node, recursive)?
            .len();
        drop(st);
        staged(&self.shared, progress, count as u64, |st| {
            self.shared.check_writable(st, self.storage)?;
            let tree = st.tree_mut(self.storage)?;
            tree.plan_delete(self.node, recursive)?;
            let removed = tree.remove_subtree(self.node);
            st.prune_references(self.storage, &removed);
            Ok(())
        })
    }

    /// Renames the object; its unique ID, references and open sessions are unaffected. One
    /// progress tick, reported before the change.
    ///
    /// # Errors
    /// In this order: [`Error::WriteProtected`]; [`Error::NotSupported`] on a medium that
    /// refuses renames
    /// ([`StorageConfig::no_rename`](super::StorageConfig::no_rename)); [`Error::InvalidArg`] for a medium's
    /// root; [`Error::InvalidName`]; [`Error::AlreadyExists`] when a sibling has the name in any
    /// case; [`Error::Busy`] for a folder holding an open file (the file itself may be open);
    /// an error from `progress`.
    fn refuses_taken_names(&self) -> bool {
        // `Tree::check_rename`, in the same step as the rename.
        true
    }

    fn rename(&self, new_name: &str, progress: &mut dyn Progress) -> Result<()> {
        let st = self.enter_write(Operation::Rename)?;
        self.shared.check_renames(self.storage)?;
        st.tree(self.storage)?.check_rename(self.node, new_name)?;
        drop(st);
        staged(&self.shared, progress, 1, |st| {
            self.shared.check_writable(st, self.storage)?;
            st.tree_mut(self.storage)?.rename(self.node, new_name)
        })
    }

    /// Moves the object before, after or into `target`, which must be on the same medium of
    /// the same device. One progress tick, reported before the change.
    ///
    /// # Errors
    /// [`Error::InterfaceDead`] when either object was deleted; [`Error::WriteProtected`];
    /// [`Error::InvalidArg`] for a medium's root; [`Error::NotSameDevice`] for a target on
    /// another device or medium; then [`Error::InvalidType`] for `Into` a file,
    /// [`Error::InvalidArg`] for `Before`/`After` a root, for the object itself as target and
    /// for a destination inside its own subtree, [`Error::AlreadyExists`], and [`Error::Busy`]
    /// for a folder holding an open file (the file itself may be open).
    fn move_to(
        &self,
        placement: Placement,
        target: &dyn Storage,
        progress: &mut dyn Progress,
    ) -> Result<()> {
        self.shared.check(Operation::Move)?;
        // Asked without holding the device: a target from this device locks it to answer.
        let target_uid = target.unique_id()?;
        let check = |st: &State| -> Result<NodeId> {
            let tree = st.tree(self.storage)?;
            tree.node(self.node)?;
            self.shared.check_writable(st, self.storage)?;
            self.shared.check_renames(self.storage)?;
            if self.is_root(tree) {
                return Err(Error::InvalidArg);
            }
            let to = tree.find_uid(&target_uid).ok_or(Error::NotSameDevice)?;
            tree.check_move(self.node, placement, to)?;
            Ok(to)
        };
        check(&*self.shared.relock()?)?;
        staged(&self.shared, progress, 1, |st| {
            let to = check(st)?;
            st.tree_mut(self.storage)?
                .move_node(self.node, placement, to)
        })
    }

    fn supports_clear_channel(&self) -> bool {
        true
    }

    /// IMDSPObjectInfo for audio files (play positions in milliseconds).
    fn object_info(&self) -> Option<&dyn ObjectInfo> {
        let st = self.shared.lock();
        let node = st.trees.get(self.storage)?.get(self.node)?;
        (!node.is_folder() && node.format().is_audio()).then_some(self as &dyn ObjectInfo)
    }
}

impl ObjectInfo for MemoryStorage {
    /// The length set with `set_play_length`, else `WMDM/Duration` in milliseconds, else 0.
    fn play_length(&self) -> Result<u32> {
        let mut st = self.shared.enter(Operation::PlayInfo)?;
        let node = self.audio_node(&mut st)?;
        Ok(node
            .play
            .length
            .or_else(|| MemoryStorage::duration_ms(node))
            .unwrap_or(0))
    }

    fn set_play_length(&self, length: u32) -> Result<()> {
        let mut st = self.shared.enter(Operation::PlayInfo)?;
        self.audio_node(&mut st)?.play.length = Some(length);
        Ok(())
    }

    fn play_offset(&self) -> Result<u32> {
        let mut st = self.shared.enter(Operation::PlayInfo)?;
        Ok(self.audio_node(&mut st)?.play.offset)
    }

    /// # Errors
    /// [`Error::InvalidArg`] for an offset past a known total length.
    fn set_play_offset(&self, offset: u32) -> Result<()> {
        let mut st = self.shared.enter(Operation::PlayInfo)?;
        let node = self.audio_node(&mut st)?;
        if MemoryStorage::duration_ms(node).is_some_and(|total| offset > total) {
            return Err(Error::InvalidArg);
        }
        node.play.offset = offset;
        Ok(())
    }

    /// `WMDM/Duration` in milliseconds, or 0 when the file has none.
    fn total_length(&self) -> Result<u32> {
        let mut st = self.shared.enter(Operation::PlayInfo)?;
        Ok(MemoryStorage::duration_ms(self.audio_node(&mut st)?).unwrap_or(0))
    }

    fn last_play_position(&self) -> Result<u32> {
        let mut st = self.shared.enter(Operation::PlayInfo)?;
        Ok(self.audio_node(&mut st)?.play.last)
    }

    fn longest_play_position(&self) -> Result<u32> {
        let mut st = self.shared.enter(Operation::PlayInfo)?;
        Ok(self.audio_node(&mut st)?.play.longest)
    }
}
