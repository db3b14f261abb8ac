//! The operations that change a folder device: create, delete, rename and move.

use std::fs;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::flags::Placement;
use crate::metadata::{FormatCode, tags};
use crate::provider::{CreateRequest, Progress, Storage, run_with_progress};

use super::host;
use super::idmap::ROOT;
use super::names::{NameMode, is_internal};
use super::playlist;
use super::shared::{Shared, stored_name};
use super::storage::FsStorage;
use super::tagging;

impl FsStorage {
    /// True when a file created but not yet written in folder `parent` has reserved a name that
    /// counts as `name` under the policy.
    fn reserved(&self, parent: u64, name: &str) -> bool {
        let inner = self.shared.lock();
        let policy = self.shared.options.policy;
        inner.pending.iter().any(|&p| {
            inner
                .ids
                .entry(p)
                .is_some_and(|(pp, pname)| pp == parent && policy.same_name(pname, name))
        })
    }

    /// An existing object in folder `parent` whose name counts as `name` under the policy,
    /// other than `except`: its exact name and ID.
    pub(crate) fn collision(
        &self,
        parent: u64,
        name: &str,
        except: Option<u64>,
    ) -> Result<Option<(String, u64)>> {
        self.collision_with(parent, name, except, true)
    }

    /// [`FsStorage::collision`]; without `on_disk`, an entry called exactly `name` on disk is
    /// not looked for (the caller's rename refuses one by itself, see
    /// [`FsIo::rename_if_free`](super::quirks::FsIo::rename_if_free)): only names reserved by
    /// creates not yet written, and where the policy folds case, siblings spelt otherwise.
    fn collision_with(
        &self,
        parent: u64,
        name: &str,
        except: Option<u64>,
        on_disk: bool,
    ) -> Result<Option<(String, u64)>> {
        let inner = self.shared.lock();
        let dir = self.shared.safe_path(&inner, parent)?;
        let policy = self.shared.options.policy;
        let mut candidates: Vec<String> = Vec::new();
        if on_disk && fs::symlink_metadata(dir.join(name)).is_ok() {
            // On a host that ignores case (Windows, or a FAT medium anywhere) the entry found
            // may be spelt differently; it is that entry, under its own name, that collides.
            match stored_name(&dir, name) {
                Some(stored) => candidates.push(stored),
                // The host opens something for this name that no entry is called (a Windows
                // short name): writing there would replace a file under another name.
                None => return Err(Error::AlreadyExists),
            }
        }
        for &p in &inner.pending {
            if let Some((pp, pname)) = inner.ids.entry(p)
                && pp == parent
                && policy.same_name(pname, name)
            {
                candidates.push(pname.to_string());
            }
        }
        if policy.is_fat() {
            // The host may be case-sensitive while the target medium is not: compare every
            // sibling the way FAT would.
            for entry in fs::read_dir(&dir)?.flatten() {
                if let Ok(n) = entry.file_name().into_string()
                    && !is_internal(&n)
                    && n != name
                    && policy.same_name(&n, name)
                {
                    candidates.push(n);
                }
            }
        }
        drop(inner);
        for c in candidates {
            let known = self.shared.lock().ids.lookup(parent, &c);
            let id = match known {
                Some(id) => id,
                // Something the provider does not list (a symbolic link) holds the name.
                None => match self.shared.id_under(parent, &[c.as_str()]) {
                    Ok(id) => id,
                    Err(_) => return Err(Error::AlreadyExists),
                },
            };
            if Some(id) != except {
                return Ok(Some((c, id)));
            }
        }
        Ok(None)
    }

    pub(crate) fn create_impl(&self, request: &CreateRequest) -> Result<Arc<FsStorage>> {
        self.create_named(request, false)
    }

    /// [`FsStorage::create_impl`]; with `exact`, the object gets exactly the name asked for
    /// or none: a name taken (a reservation included) fails with [`Error::AlreadyExists`]
    /// whatever the name policy, never numbered (a caller's own temporary name, which it has
    /// recorded, see [`TransferOptions::temporary`](crate::provider::TransferOptions::temporary)).
    pub(crate) fn create_named(
        &self,
        request: &CreateRequest,
        exact: bool,
    ) -> Result<Arc<FsStorage>> {
        self.shared.check_write()?;
        let parent = match request.placement {
            Placement::Into => {
                // An `lstat` of its own, not the path check's trust in a folder checked a
                // moment ago: the last look at the folder before a name is taken in it, which
                // refuses at once a folder swapped for a link behind the provider's back.
                // Only an exact name, written in place by a create that the kernel checks
                // itself (`WriteSession::start_in_place`), does without.
                let is_dir = if exact && self.shared.beneath.supported() {
                    self.is_folder()?
                } else {
                    self.snap()?.is_dir
                };
                if !is_dir {
                    return Err(Error::InvalidType);
                }
                self.id
            }
            Placement::Before | Placement::After => self.parent_id()?.ok_or(Error::InvalidArg)?,
        };
        let policy = self.shared.options.policy;
        let mut name = policy.check(&request.name)?.into_owned();
        self.shared.io.check_name(&name)?;
        let wants_playlist = request
            .metadata
            .as_ref()
            .and_then(|m| m.get_u32(tags::FORMAT_CODE))
            .and_then(|f| {
                playlist::format_for_code(
                    FormatCode(f),
                    self.shared.options.profile.playlist_format,
                )
            })
            .filter(|_| !request.is_folder());
        if let Some(format) = wants_playlist
            && !playlist::is_playlist_name(&name)
        {
            name.push('.');
            name.push_str(format.extension());
            name = policy.check(&name)?.into_owned();
        }
        if let Some(hint) = request.size_hint {
            let dir = {
                let inner = self.shared.lock();
                self.shared.safe_path(&inner, parent)?
            };
            // State folders at the root are counted but not limited (`Shared::is_unmetered`).
            if !self.shared.is_unmetered(&dir.join(&name)) {
                self.shared.check_quota(hint)?;
            }
        }
        let mut reuse = None;
        if exact {
            // The write creates the file exclusively, which refuses a name taken on disk (a
            // link included) by itself; only reservations, and where the policy folds case
            // on a host that may not, siblings named alike, need looking for here.
            let taken = if policy.is_fat() {
                self.collision(parent, &name, None)?.is_some()
            } else {
                self.reserved(parent, &name)
            };
            if taken {
                return Err(Error::AlreadyExists);
            }
        } else if let Some((existing, id)) = self.collision(parent, &name, None)? {
            let existing_is_dir = self.handle(id).snap()?.is_dir;
            let reserved_only = self.shared.lock().pending.contains(&id);
            // A name reserved by an earlier create that was never written holds no data:
            // creating it again hands back that reservation.
            if (request.is_overwrite() || reserved_only) && existing_is_dir == request.is_folder() {
                name = existing;
                reuse = Some(id);
            } else if policy.mode() == NameMode::Sanitise {
                let mut n = 2;
                loop {
                    let candidate = policy.numbered(&name, n);
                    if self.collision(parent, &candidate, None)?.is_none() {
                        name = candidate;
                        break;
                    }
                    n += 1;
                    if n > 10_000 {
                        return Err(Error::AlreadyExists);
                    }
                }
            } else {
                return Err(Error::AlreadyExists);
            }
        }
        let extra = request
            .metadata
            .as_ref()
            .map(|m| {
                let mut m = m.clone();
                m.remove(tags::FORMAT_CODE);
                m
            })
            .filter(|m| !m.is_empty());
        let id = {
            let mut inner = self.shared.lock();
            let dir = self.shared.safe_path(&inner, parent)?;
            let id = match reuse {
                Some(id) => id,
                None if request.is_folder() => {
                    self.shared.io.create_dir(&dir.join(&name))?;
                    let id = inner.ids.insert(parent, &name);
                    // Made empty just now: no interrupted write of an earlier session left
                    // anything in it to clean (`io::clean_folder` need not list it).
                    inner.cleaned.insert(id);
                    self.shared.save_ids(&mut inner)?;
                    self.shared.io.barrier.dir_entries(&dir);
                    id
                }
                None => {
                    let id = inner.ids.insert(parent, &name);
                    inner.pending.insert(id);
                    id
                }
            };
            if let Some(m) = &extra
                && inner.pending.contains(&id)
            {
                inner.pending_meta.insert(id, m.clone());
            }
            id
        };
        // A new folder or a reservation: no file changed.
        self.shared.bump_for(None);
        let holds = Shared::hold(&mut self.shared.lock(), id);
        let created = Arc::new(FsStorage {
            shared: self.shared.clone(),
            id,
            cache: Mutex::new(None),
            holds,
        });
        if let Some(m) = extra
            && !created.shared.lock().pending.contains(&id)
        {
            created.set_metadata_impl(&m)?;
        }
        Ok(created)
    }

    pub(super) fn delete_impl(&self, recursive: bool, progress: &mut dyn Progress) -> Result<()> {
        self.shared.check_write()?;
        if self.id == ROOT {
            return Err(Error::AccessDenied);
        }
        let snap = self.snap()?;
        if snap.readonly {
            return Err(Error::AccessDenied);
        }
        let path = self.path()?;
        let pending = self.shared.lock().pending.contains(&self.id);
        let mut victims: Vec<(PathBuf, bool, u64)> = Vec::new();
        if snap.is_dir {
            collect_tree(&path, &mut victims)?;
            if !victims.is_empty() && !recursive {
                return Err(Error::DirectoryNotEmpty);
            }
        }
        let total = victims.len() as u64 + 1;
        let shared = self.shared.clone();
        let playlists = playlist::affected(&shared, self.id, true);
        let aside = shared.state_dir();
        // Objects in a hidden state folder at the root were never counted (`is_unmetered`).
        let metered = !shared.is_unmetered(&path);
        let id = self.id;
        let result = run_with_progress(progress, total, |p| {
            let mut done = 0u64;
            for (vpath, is_dir, size) in &victims {
                if *is_dir {
                    fs::remove_dir(vpath)?;
                } else {
                    host::remove_file_in_tree(vpath, &aside)?;
                    if metered {
                        Shared::adjust_used(&mut shared.lock(), 0, *size);
                    }
                }
                done += 1;
                p.progress(done)?;
            }
            if snap.is_dir {
                fs::remove_dir(&path)?;
            } else if !pending {
                host::remove_file(&path, &aside)?;
                if metered {
                    Shared::adjust_used(&mut shared.lock(), 0, snap.size);
                }
            }
            p.progress(done + 1)?;
            Ok(())
        });
        // Whatever was removed is gone; forget the IDs of what no longer exists either way.
        {
            let mut inner = self.shared.lock();
            if result.is_ok() {
                inner.ids.remove(id);
                inner.pending.remove(&id);
                inner.pending_meta.remove(&id);
            }
            self.shared.save_ids(&mut inner)?;
        }
        if result.is_ok() {
            tagging::remove_sidecar(&self.shared, id);
        }
        if let Some(parent) = path.parent() {
            self.shared.io.barrier.entries_changed(parent);
        }
        self.shared.bump();
        if result.is_ok() {
            playlist::rewrite(&self.shared, playlists);
        }
        result
    }

    /// Fails with [`Error::Busy`] when an object below this one (a folder) is open for reading
    /// or writing.
    ///
    /// Such a folder cannot be renamed or moved: on Windows the host refuses it while a file
    /// inside is open, and everywhere a write session's temporary file sits in the folder under
    /// the path it had when the write began. The rule is the same on every host so that a caller
    /// meets it in tests on any of them. The object itself may be open: a file being read or
    /// written can be renamed or moved.
    pub(super) fn check_nothing_open_within(&self) -> Result<()> {
        let inner = self.shared.lock();
        let busy = inner
            .open
            .keys()
            .any(|&o| o != self.id && inner.ids.is_within(o, self.id));
        if busy { Err(Error::Busy) } else { Ok(()) }
    }

    pub(super) fn rename_impl(&self, new_name: &str) -> Result<()> {
        self.shared.check_write()?;
        if self.id == ROOT {
            return Err(Error::AccessDenied);
        }
        self.check_writable()?;
        self.check_nothing_open_within()?;
        let name = self.shared.options.policy.check(new_name)?.into_owned();
        self.shared.io.check_name(&name)?;
        let parent = self.parent_id()?.ok_or(Error::InvalidArg)?;
        self.relocate_checked(parent, &name)
    }

    /// Moves the object to `name` inside `parent`, on disk and in the ID map, and rewrites the
    /// playlists that reference it; fails with [`Error::AlreadyExists`] when another object
    /// has that name ([`FsStorage::collision`]).
    ///
    /// A file that no reservation or known object stands in the way of is renamed by a rename
    /// that refuses a taken name by itself ([`FsIo::rename_if_free`](super::quirks::FsIo::rename_if_free)),
    /// which spares the `lstat` of the new name; when it does not rename (the name is taken,
    /// perhaps by the object itself spelt otherwise, or the file system cannot), the name is
    /// checked and the object renamed the ordinary way.
    fn relocate_checked(&self, parent: u64, name: &str) -> Result<()> {
        let playlists = playlist::affected(&self.shared, self.id, false);
        let is_file = !self.snap()?.is_dir;
        let free_in_map = {
            let inner = self.shared.lock();
            !inner.pending.contains(&self.id) && inner.ids.lookup(parent, name).is_none()
        };
        let mut done = false;
        if is_file && free_in_map {
            if self
                .collision_with(parent, name, Some(self.id), false)?
                .is_some()
            {
                return Err(Error::AlreadyExists);
            }
            done = self.relocate(parent, name, true, is_file)?;
        }
        if !done {
            if self.collision(parent, name, Some(self.id))?.is_some() {
                return Err(Error::AlreadyExists);
            }
            self.relocate(parent, name, false, is_file)?;
        }
        playlist::rewrite(&self.shared, playlists);
        Ok(())
    }

    /// Moves the object to `name` inside `parent` on disk and in the ID map. With `if_free`
    /// (a file) the rename refuses a name taken on disk: false, with nothing changed, when it
    /// did not rename.
    fn relocate(&self, parent: u64, name: &str, if_free: bool, is_file: bool) -> Result<bool> {
        let mut inner = self.shared.lock();
        let (old_parent, old_name) = inner
            .ids
            .entry(self.id)
            .map(|(p, n)| (p, n.to_owned()))
            .ok_or(Error::FileNotFound)?;
        // The object itself is not looked at again: every caller took its `lstat` (the
        // snapshot, which refuses a symbolic link) to check it is writable; its folder's path
        // is checked.
        let from = self.shared.safe_path(&inner, old_parent)?.join(&old_name);
        let dir = self.shared.safe_path(&inner, parent)?;
        let to = dir.join(name);
        // The new name is recorded before the disk changes. A kill between the two leaves a
        // record naming a file that is not there (forgotten when its folder is next listed)
        // and the file under its old name with a new ID; the other order would leave the
        // file at its new name with a new ID, and whoever recorded its ID (the sync's commit
        // record) would not recognise it.
        inner.ids.set(self.id, parent, name);
        let moved = self.shared.save_ids(&mut inner).and_then(|()| {
            if inner.pending.contains(&self.id) {
                Ok(true)
            } else if if_free {
                Ok(self.shared.io.rename_if_free(&from, &to))
            } else {
                self.shared.io.rename(&from, &to).map(|()| true)
            }
        });
        if !matches!(moved, Ok(true)) {
            inner.ids.set(self.id, old_parent, &old_name);
            if let Err(undo) = self.shared.save_ids(&mut inner) {
                tracing::warn!(error = %undo, "could not record a failed rename's old name");
            }
            return moved;
        }
        drop(inner);
        // A rename within one folder changes that folder only: sync it once.
        self.shared.io.barrier.dir_entries(&dir);
        if let Some(old) = from.parent().filter(|old| *old != dir) {
            self.shared.io.barrier.dir_entries(old);
        }
        // A file renamed keeps its size, date and attributes, but one copied where renames
        // are refused does not, nor may the files of a folder moved entry by entry.
        if is_file {
            self.shared.bump_for(Some(self.id));
        } else {
            self.shared.bump();
        }
        Ok(true)
    }

    pub(super) fn move_impl(&self, placement: Placement, target: &dyn Storage) -> Result<()> {
        self.shared.check_write()?;
        if self.id == ROOT {
            return Err(Error::AccessDenied);
        }
        self.check_writable()?;
        self.check_nothing_open_within()?;
        let target_id = self.shared.parse_unique_id(&target.unique_id()?)?;
        let target = self.handle(target_id);
        let dest = match placement {
            Placement::Into => {
                if !target.snap()?.is_dir {
                    return Err(Error::InvalidType);
                }
                target_id
            }
            Placement::Before | Placement::After => target.parent_id()?.ok_or(Error::InvalidArg)?,
        };
        if self.shared.lock().ids.is_within(dest, self.id) {
            return Err(Error::InvalidArg);
        }
        let name = self.name_string()?;
        if self.parent_id()? == Some(dest) {
            return Ok(());
        }
        // Playlist entries are relative to the playlist: a moved playlist, and every playlist
        // listing a moved object, is rewritten to keep pointing at the same objects.
        self.relocate_checked(dest, &name)
    }
}

/// Everything under `dir`, deepest first, as (path, is folder, size).
fn collect_tree(dir: &std::path::Path, out: &mut Vec<(PathBuf, bool, u64)>) -> Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let md = entry.metadata()?;
        let path = entry.path();
        if md.is_dir() {
            collect_tree(&path, out)?;
            out.push((path, true, 0));
        } else {
            out.push((path, false, md.len()));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "rename_tests.rs"]
mod tests;
