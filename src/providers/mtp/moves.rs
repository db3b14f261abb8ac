//! Renames (SetObjectPropValue of ObjectFileName) and moves (MoveObject) of MTP objects.

use mtp_rs::ObjectHandle;

use super::NAME_RULE;
use super::object::{MtpObject, Slot};
use crate::error::{Error, Result};
use crate::flags::Placement;
use crate::provider::{Progress, Storage, run_with_progress};

impl MtpObject {
    /// [`Storage::rename`]: SetObjectPropValue(ObjectFileName), where the device supports it.
    pub(super) fn rename_object(&self, new_name: &str, progress: &mut dyn Progress) -> Result<()> {
        self.check_writable()?;
        NAME_RULE.check(new_name)?;
        let s = self.snap()?;
        if s.slot == Slot::Root {
            return Err(Error::AccessDenied);
        }
        if !self.conn().caps.can_rename {
            return Err(Error::NotSupported);
        }
        if s.name == new_name {
            return Ok(());
        }
        if let Some(other) = self.find_in(s.parent, new_name)? {
            let same =
                matches!((other.lock().slot, s.slot), (Slot::Live(a), Slot::Live(b)) if a == b);
            if !same {
                return Err(Error::AlreadyExists);
            }
        }
        run_with_progress(progress, 1, |p| {
            if let Slot::Live(h) = s.slot {
                if s.folder && self.conn().holds_open(h) {
                    return Err(Error::Busy);
                }
                let storage = self.conn().storage(self.storage)?;
                let key = (self.storage, s.parent);
                self.conn()
                    .run("SetObjectPropValue (ObjectFileName)", false, || {
                        storage.rename(h, new_name)
                    })
                    .inspect_err(|_| self.conn().invalidate(key))?;
                self.conn().edit(key, |items| {
                    for i in items.iter_mut().filter(|i| i.handle == h) {
                        i.name = new_name.to_owned();
                    }
                });
            }
            self.lock().name = new_name.to_owned();
            p.progress(1)
        })
    }

    /// [`Storage::move_to`]: MoveObject, where the device supports it. The target is found on
    /// this device by its path (its names up to the storage root), since objects carry no
    /// persistent ID.
    pub(super) fn move_object(
        &self,
        placement: Placement,
        target: &dyn Storage,
        progress: &mut dyn Progress,
    ) -> Result<()> {
        self.check_writable()?;
        let s = self.snap()?;
        let Slot::Live(h) = s.slot else {
            return Err(Error::AccessDenied);
        };
        if !self.conn().caps.can_move {
            return Err(Error::NotSupported);
        }
        let same_device = target
            .globals()?
            .device()?
            .serial_number()
            .ok()
            .is_some_and(|id| id.serial() == self.conn().serial.as_bytes());
        if !same_device {
            return Err(Error::NotSameDevice);
        }
        let path = MtpObject::path(target)?;
        let target = self.device.resolve(&path)?;
        if target.storage != self.storage {
            return Err(Error::NotSameDevice);
        }
        let folder = target.destination(placement)?;
        if let Some(f) = folder
            && (f == h || (s.folder && self.is_below(f, h)?))
        {
            return Err(Error::InvalidArg);
        }
        if self.find_in(folder, &s.name)?.is_some() {
            return Err(Error::AlreadyExists);
        }
        if s.folder && self.conn().holds_open(h) {
            return Err(Error::Busy);
        }
        run_with_progress(progress, 1, |p| {
            let storage = self.conn().storage(self.storage)?;
            let to = folder.unwrap_or(ObjectHandle::ROOT);
            let moved = self.conn().run("MoveObject", false, || {
                storage.move_object(h, to, Some(self.storage))
            });
            self.conn().invalidate((self.storage, s.parent));
            self.conn().invalidate((self.storage, folder));
            moved?;
            self.lock().parent = folder;
            self.conn().set_parent(h, (self.storage, folder));
            p.progress(1)
        })
    }

    /// The names from the storage root down to this object (for resolving a move target).
    fn path(storage: &dyn Storage) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let mut name = storage.name()?;
        let mut parent = storage.parent()?;
        while let Some(p) = parent {
            names.push(name);
            name = p.name()?;
            parent = p.parent()?;
            if names.len() > 4096 {
                return Err(Error::InvalidArg);
            }
        }
        names.push(name);
        names.reverse();
        Ok(names)
    }

    /// True when folder `f` is `ancestor` or lies below it.
    fn is_below(&self, mut f: ObjectHandle, ancestor: ObjectHandle) -> Result<bool> {
        let storage = self.conn().storage(self.storage)?;
        for _ in 0..4096 {
            if f == ancestor {
                return Ok(true);
            }
            let info = self
                .conn()
                .run("GetObjectInfo", true, || storage.get_object_info(f))?;
            if info.parent == ObjectHandle::ROOT {
                return Ok(false);
            }
            f = info.parent;
        }
        Err(Error::InvalidArg)
    }
}
