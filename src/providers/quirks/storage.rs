//! The storage level of the quirk wrapper: storages, open objects, object info and direct
//! transfers.

use std::sync::Arc;

use super::device::QuirkGlobals;
use super::{Operation, Quirk, Shared};
use crate::error::{Error, ErrorKind, Result, Status};
use crate::flags::{FindScope, OpenMode, Placement, SeekOrigin};
use crate::metadata::{Metadata, TagValue};
use crate::provider::names::NameRule;
use crate::provider::{
    CreateRequest, DirectTransfer, GlobalsRef, ObjectAttributes, ObjectInfo, ObjectIo,
    OpaqueCommand, Progress, RightsRecord, Storage, StorageRef, TransferOptions, TransferSource,
};
use crate::time::WmdmDateTime;

/// A storage seen through the quirks.
#[derive(Debug)]
pub(super) struct QuirkStorage {
    inner: StorageRef,
    shared: Arc<Shared>,
    info: Option<QuirkInfo>,
    transfer: Option<QuirkTransfer>,
}

impl QuirkStorage {
    pub(super) fn wrap(inner: StorageRef, shared: &Arc<Shared>) -> StorageRef {
        let info = inner.object_info().is_some().then(|| QuirkInfo {
            inner: inner.clone(),
            shared: shared.clone(),
        });
        let transfer = inner.direct_transfer().is_some().then(|| QuirkTransfer {
            inner: inner.clone(),
            shared: shared.clone(),
        });
        Arc::new(QuirkStorage {
            inner,
            shared: shared.clone(),
            info,
            transfer,
        })
    }

    fn wrap_ref(&self, s: StorageRef) -> StorageRef {
        QuirkStorage::wrap(s, &self.shared)
    }

    fn get<T>(&self, op: Operation, f: impl FnOnce(&dyn Storage) -> Result<T>) -> Result<T> {
        self.shared.enter(op)?;
        f(&*self.inner)
    }

    /// The inner object a wrapped argument stands for. A `&dyn Storage` cannot be unwrapped,
    /// so it is found again on the inner medium by its persistent unique ID.
    fn unwrap_arg(&self, target: &dyn Storage) -> Result<StorageRef> {
        let uid = target.unique_id()?;
        let root = self.inner.globals()?.root_storage()?;
        if root.unique_id()? == uid {
            Ok(root)
        } else {
            root.find_storage(FindScope::GLOBAL, &uid)
        }
    }

    fn refuse_rename(&self) -> Result<()> {
        if self.shared.quirks().no_rename {
            self.shared.bite(Quirk::NoRename);
            return Err(Error::NotSupported);
        }
        Ok(())
    }

    /// Under the case-insensitive quirk, refuses `name` in `folder` when a sibling other than
    /// `except` has it in another case.
    fn refuse_case_variant(
        &self,
        folder: &dyn Storage,
        name: &str,
        except: Option<&str>,
    ) -> Result<()> {
        if !self.shared.quirks().case_insensitive {
            return Ok(());
        }
        for c in folder.children()? {
            let other = c.name()?;
            if other != name
                && Some(other.as_str()) != except
                && NameRule::Fat.same_name(&other, name)
            {
                self.shared.bite(Quirk::CaseInsensitive);
                return Err(Error::AlreadyExists);
            }
        }
        Ok(())
    }

    fn coarse_metadata(&self, m: Metadata) -> Metadata {
        if !self.shared.quirks().coarse_times {
            return m;
        }
        let mut out = Metadata::new();
        for (name, value) in m.iter() {
            match value {
                TagValue::Date(d) => out.add(name, TagValue::Date(coarse(*d))),
                v => out.add(name, v.clone()),
            }
        }
        out
    }
}

/// A time rounded down to an even second, as FAT stores modification times.
fn coarse(mut d: WmdmDateTime) -> WmdmDateTime {
    d.second -= d.second % 2;
    d
}

impl Storage for QuirkStorage {
    fn unique_id(&self) -> Result<String> {
        self.get(Operation::GetInfo, |s| s.unique_id())
    }

    fn globals(&self) -> Result<GlobalsRef> {
        let g = self.get(Operation::GetInfo, |s| s.globals())?;
        Ok(QuirkGlobals::wrap(g, &self.shared))
    }

    fn attributes(&self) -> Result<ObjectAttributes> {
        self.get(Operation::GetAttributes, |s| s.attributes())
    }

    fn set_attributes(&self, attributes: &ObjectAttributes) -> Result<()> {
        self.get(Operation::SetAttributes, |s| s.set_attributes(attributes))
    }

    /// The wrapped device's answer: a transfer here passes its metadata through unchanged, and
    /// the check reads nothing from the device (no operation to count or fail).
    fn content_holds_metadata(&self, name: &str, content: &[u8], metadata: &Metadata) -> bool {
        self.inner.content_holds_metadata(name, content, metadata)
    }

    fn name(&self) -> Result<String> {
        self.get(Operation::GetInfo, |s| s.name())
    }

    fn date(&self) -> Result<WmdmDateTime> {
        let d = self.get(Operation::GetInfo, |s| s.date())?;
        Ok(if self.shared.quirks().coarse_times {
            coarse(d)
        } else {
            d
        })
    }

    /// The inner object's precise time, except on a medium with coarse times, which has
    /// none finer than its (rounded) date.
    fn modified_precise(&self) -> Result<Option<std::time::SystemTime>> {
        if self.shared.quirks().coarse_times {
            return Ok(None);
        }
        self.get(Operation::GetInfo, |s| s.modified_precise())
    }

    fn size(&self) -> Result<u64> {
        self.get(Operation::GetInfo, |s| s.size())
    }

    fn rights(&self) -> Result<Vec<RightsRecord>> {
        self.get(Operation::GetInfo, |s| s.rights())
    }

    fn create(&self, request: &CreateRequest) -> Result<StorageRef> {
        self.shared.enter(Operation::Create)?;
        self.shared.check_name(&request.name)?;
        // A placement before or after this object creates a sibling, in the parent.
        let folder = match request.placement {
            Placement::Before | Placement::After => self.inner.parent().ok().flatten(),
            _ => None,
        };
        self.refuse_case_variant(
            folder.as_deref().unwrap_or(&*self.inner),
            &request.name,
            None,
        )?;
        let created = self.inner.create(request)?;
        if !request.is_folder()
            && let Ok(id) = created.unique_id()
        {
            self.shared.lock().fresh.insert(id);
        }
        Ok(self.wrap_ref(created))
    }

    fn children(&self) -> Result<Vec<StorageRef>> {
        let c = self.get(Operation::Children, |s| s.children())?;
        Ok(c.into_iter().map(|s| self.wrap_ref(s)).collect())
    }

    fn send_opaque_command(&self, command: &mut OpaqueCommand) -> Result<()> {
        self.get(Operation::IoControl, |s| s.send_opaque_command(command))
    }

    fn child(&self, name: &str) -> Result<StorageRef> {
        self.shared.enter(Operation::Children)?;
        match self.inner.child(name) {
            Err(e) if e.kind() == ErrorKind::NotFound && self.shared.quirks().case_insensitive => {
                for c in self.inner.children()? {
                    if NameRule::Fat.same_name(&c.name()?, name) {
                        return Ok(self.wrap_ref(c));
                    }
                }
                Err(e)
            }
            r => r.map(|c| self.wrap_ref(c)),
        }
    }

    fn metadata(&self) -> Result<Metadata> {
        let m = self.get(Operation::GetMetadata, |s| s.metadata())?;
        Ok(self.coarse_metadata(m))
    }

    fn set_metadata(&self, metadata: &Metadata) -> Result<Status> {
        self.get(Operation::SetMetadata, |s| s.set_metadata(metadata))
    }

    fn set_references(&self, references: &[StorageRef]) -> Result<()> {
        self.shared.enter(Operation::SetReferences)?;
        let inner: Vec<StorageRef> = references
            .iter()
            .map(|r| self.unwrap_arg(&**r))
            .collect::<Result<_>>()?;
        self.inner.set_references(&inner)
    }

    fn references(&self) -> Result<Vec<StorageRef>> {
        let r = self.get(Operation::GetReferences, |s| s.references())?;
        Ok(r.into_iter().map(|s| self.wrap_ref(s)).collect())
    }

    fn specified_metadata(&self, names: &[&str]) -> Result<(Metadata, Status)> {
        let (m, status) = self.get(Operation::GetMetadata, |s| s.specified_metadata(names))?;
        Ok((self.coarse_metadata(m), status))
    }

    fn find_storage(&self, scope: FindScope, unique_id: &str) -> Result<StorageRef> {
        let s = self.get(Operation::FindStorage, |s| s.find_storage(scope, unique_id))?;
        Ok(self.wrap_ref(s))
    }

    fn parent(&self) -> Result<Option<StorageRef>> {
        let p = self.get(Operation::Parent, |s| s.parent())?;
        Ok(p.map(|s| self.wrap_ref(s)))
    }

    fn open(&self, mode: OpenMode) -> Result<Box<dyn ObjectIo>> {
        if mode.can_write() {
            self.shared.enter_change(Operation::Open)?;
        } else {
            self.shared.enter(Operation::Open)?;
        }
        // An object without an ID cannot have been created here: it is an existing one.
        let id = self.inner.unique_id().ok();
        let fresh = id
            .as_ref()
            .is_some_and(|id| self.shared.lock().fresh.contains(id));
        let inner = self.inner.open(mode)?;
        Ok(Box::new(QuirkIo {
            inner,
            shared: self.shared.clone(),
            id,
            fresh,
            writing: mode.can_write(),
        }))
    }

    fn delete(&self, recursive: bool, progress: &mut dyn Progress) -> Result<()> {
        self.get(Operation::Delete, |s| s.delete(recursive, progress))
    }

    fn rename(&self, new_name: &str, progress: &mut dyn Progress) -> Result<()> {
        self.shared.enter(Operation::Rename)?;
        self.refuse_rename()?;
        self.shared.check_name(new_name)?;
        if let Ok(Some(parent)) = self.inner.parent() {
            let own = self.inner.name()?;
            self.refuse_case_variant(&*parent, new_name, Some(&own))?;
        }
        self.inner.rename(new_name, progress)
    }

    fn move_to(
        &self,
        placement: Placement,
        target: &dyn Storage,
        progress: &mut dyn Progress,
    ) -> Result<()> {
        self.shared.enter(Operation::Move)?;
        self.refuse_rename()?;
        let target = self.unwrap_arg(target)?;
        self.inner.move_to(placement, &*target, progress)
    }

    fn supports_clear_channel(&self) -> bool {
        self.inner.supports_clear_channel()
    }

    fn object_info(&self) -> Option<&dyn ObjectInfo> {
        self.info.as_ref().map(|i| i as &dyn ObjectInfo)
    }

    fn direct_transfer(&self) -> Option<&dyn DirectTransfer> {
        self.transfer.as_ref().map(|t| t as &dyn DirectTransfer)
    }
}

/// An open object seen through the quirks.
#[derive(Debug)]
struct QuirkIo {
    inner: Box<dyn ObjectIo>,
    shared: Arc<Shared>,
    id: Option<String>,
    /// Created through the wrapper and never closed after writing: the only kind of object
    /// [`Quirks::no_append`](super::Quirks::no_append) lets anyone write.
    fresh: bool,
    writing: bool,
}

impl ObjectIo for QuirkIo {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        self.shared.enter(Operation::Read)?;
        self.inner.read(buf)
    }

    fn write(&mut self, data: &[u8]) -> Result<usize> {
        self.shared.enter(Operation::Write)?;
        if !self.fresh && self.shared.quirks().no_append {
            self.shared.bite(Quirk::NoAppend);
            return Err(Error::AccessDenied);
        }
        let len = data.len() as u64;
        self.shared.spend(len)?;
        let n = self.inner.write(data);
        // Only what was written uses space.
        let kept = n.as_ref().map_or(0, |n| *n as u64);
        let mut st = self.shared.lock();
        st.written = st.written.saturating_sub(len - kept.min(len));
        drop(st);
        n
    }

    fn seek(&mut self, origin: SeekOrigin, offset: u64) -> Result<u64> {
        self.shared.enter(Operation::Seek)?;
        self.inner.seek(origin, offset)
    }

    fn close(self: Box<Self>) -> Result<()> {
        self.shared.enter(Operation::Close)?;
        let (shared, id, done) = (self.shared, self.id, self.fresh && self.writing);
        self.inner.close()?;
        if let (true, Some(id)) = (done, id) {
            shared.lock().fresh.remove(&id);
        }
        Ok(())
    }
}

/// An object's play information seen through the quirks.
#[derive(Debug)]
struct QuirkInfo {
    inner: StorageRef,
    shared: Arc<Shared>,
}

impl QuirkInfo {
    fn call<T>(&self, change: bool, f: impl FnOnce(&dyn ObjectInfo) -> Result<T>) -> Result<T> {
        if change {
            self.shared.enter_change(Operation::PlayInfo)?;
        } else {
            self.shared.enter(Operation::PlayInfo)?;
        }
        f(self.inner.object_info().ok_or(Error::NotSupported)?)
    }
}

impl ObjectInfo for QuirkInfo {
    fn play_length(&self) -> Result<u32> {
        self.call(false, |i| i.play_length())
    }

    fn set_play_length(&self, length: u32) -> Result<()> {
        self.call(true, |i| i.set_play_length(length))
    }

    fn play_offset(&self) -> Result<u32> {
        self.call(false, |i| i.play_offset())
    }

    fn set_play_offset(&self, offset: u32) -> Result<()> {
        self.call(true, |i| i.set_play_offset(offset))
    }

    fn total_length(&self) -> Result<u32> {
        self.call(false, |i| i.total_length())
    }

    fn last_play_position(&self) -> Result<u32> {
        self.call(false, |i| i.last_play_position())
    }

    fn longest_play_position(&self) -> Result<u32> {
        self.call(false, |i| i.longest_play_position())
    }
}

/// A folder's direct transfer seen through the quirks: a create and a write of the whole
/// file at once.
#[derive(Debug)]
struct QuirkTransfer {
    inner: StorageRef,
    shared: Arc<Shared>,
}

impl DirectTransfer for QuirkTransfer {
    fn transfer_to_device(
        &self,
        source: TransferSource<'_>,
        options: &TransferOptions,
        progress: &mut dyn Progress,
    ) -> Result<StorageRef> {
        self.shared.enter_change(Operation::Create)?;
        self.shared.check_name(&options.destination_name)?;
        let folder = QuirkStorage {
            inner: self.inner.clone(),
            shared: self.shared.clone(),
            info: None,
            transfer: None,
        };
        let except = options
            .overwrite
            .then_some(options.destination_name.as_str());
        folder.refuse_case_variant(&*self.inner, &options.destination_name, except)?;
        let size = match &source {
            TransferSource::File(path) => std::fs::metadata(path).map_err(Error::from)?.len(),
            TransferSource::Reader { size, .. } => *size,
        };
        self.shared.spend(size)?;
        let dt = self.inner.direct_transfer().ok_or(Error::NotSupported)?;
        let made = dt.transfer_to_device(source, options, progress)?;
        Ok(QuirkStorage::wrap(made, &self.shared))
    }
}
