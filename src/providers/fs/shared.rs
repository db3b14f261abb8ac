//! The state one device's handles share: its root, identity, ID map and space accounting.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Instant, SystemTime};

use crate::error::{Error, Result};
use crate::maps::{FastMap, FastSet};
use crate::metadata::Metadata;

use super::identity::{Identity, random_u64};
use super::idmap::{IdMap, ROOT};
use super::names::{STATE_DIR, is_component, is_internal};
use super::playlist::RefCache;
use super::quirks::FsIo;
use super::scan::{read_folder, remove_stale_temps, tree_size};
use super::temps::TempNames;
use super::verified::Verified;

/// How old a temporary file in the state folder must be before an open removes it: another
/// process may be writing it (an open takes no lock). The holder of the writer lock removes
/// them all at once (see the `lock` module).
pub(crate) const STATE_TEMP_AGE: u64 = 60;
use super::{DeviceOptions, FsKind};

/// What one `lstat` says about an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Snap {
    pub(crate) is_dir: bool,
    pub(crate) size: u64,
    pub(crate) modified: Option<SystemTime>,
    pub(crate) readonly: bool,
}

impl Snap {
    pub(crate) fn of(md: &fs::Metadata) -> Snap {
        Snap {
            is_dir: md.is_dir(),
            size: if md.is_dir() { 0 } else { md.len() },
            modified: md.modified().ok(),
            readonly: md.permissions().readonly(),
        }
    }

    /// A created file that has not been written yet.
    pub(crate) fn reserved() -> Snap {
        Snap {
            is_dir: false,
            size: 0,
            modified: None,
            readonly: false,
        }
    }
}

/// Mutable state behind one lock.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) ids: IdMap,
    /// Files created but not yet written: they have an ID and a name, but no file.
    pub(crate) pending: FastSet<u64>,
    /// How many handles and write sessions hold each reservation; the last to go releases it.
    pub(crate) holders: FastMap<u64, usize>,
    /// Metadata given at creation to files not yet written, applied when the write closes.
    pub(crate) pending_meta: FastMap<u64, Metadata>,
    /// Folders already cleaned of stale temporary files this session.
    pub(crate) cleaned: FastSet<u64>,
    /// Temporary files of writes in progress; folder scans leave these alone.
    pub(crate) active_temps: FastSet<PathBuf>,
    /// Bytes used on the device (apparent file sizes), once counted.
    pub(crate) used: Option<u64>,
    /// Bytes written to temporary files of writes in progress, beyond the objects they replace.
    pub(crate) inflight: u64,
    /// How many read and write sessions each object has open.
    pub(crate) open: FastMap<u64, usize>,
    /// What each playlist file resolved to when last read.
    pub(crate) playlists: RefCache,
    /// What the last listing of each folder counted towards the used bytes.
    pub(crate) listed: FastMap<u64, Listed>,
    /// The content of the file written last, while it is known to be the file's (see
    /// `io::Kept`): its first read is served from it.
    pub(crate) kept: Option<super::io::Kept>,
}

/// What one listing of a folder ([`Shared::list`]) says about the bytes used under it.
#[derive(Debug)]
pub(crate) struct Listed {
    /// The generation the folder was read in: the record holds while nothing has changed.
    generation: u64,
    /// Apparent sizes of the files listed in it.
    bytes: u64,
    /// The folders listed in it that the used bytes include.
    folders: Vec<u64>,
    /// It holds an entry the listing leaves out but the used bytes include.
    partial: bool,
}

/// One device's shared state.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) root: PathBuf,
    pub(crate) options: DeviceOptions,
    pub(crate) identity: Mutex<Identity>,
    pub(crate) inner: Mutex<Inner>,
    generation: AtomicU64,
    connected: AtomicBool,
    pub(crate) writable_state: bool,
    /// The provider's file operations on this device and the quirks learnt on it.
    pub(crate) io: FsIo,
    /// Temporary file names, and which temporary files a clean-up may delete.
    pub(crate) temps: TempNames,
    /// The kind of file system the root is on.
    pub(crate) fs_kind: FsKind,
    /// Folders recently checked by [`Shared::safe_path`].
    verified: Mutex<Verified>,
    /// The root held open for the kernel's checked creates below it
    /// ([`crate::sys::beneath`]).
    pub(crate) beneath: crate::sys::beneath::Root,
    /// Tests: how many `lstat`s of objects the path checks and snapshots made.
    #[cfg(test)]
    pub(crate) lstats: AtomicU64,
}

impl Shared {
    /// Opens the device at `root`: canonicalises it, reads or creates the identity file and
    /// loads the ID map.
    ///
    /// # Errors
    /// [`Error::PathNotFound`] when `root` is not a folder; I/O errors.
    pub(crate) fn open(root: &Path, options: DeviceOptions) -> Result<Shared> {
        let root = fs::canonicalize(root).map_err(|_| Error::PathNotFound)?;
        if !fs::metadata(&root)?.is_dir() {
            return Err(Error::PathNotFound);
        }
        let fs_kind = crate::sys::fstype::detect(&root);
        let options = options.for_fs(&fs_kind);
        let state_dir = root.join(STATE_DIR);
        let options = options.with_profile_file(&root);
        let io = FsIo::new(&root, options.durability, options.simulate);
        io.assume_for(&fs_kind);
        let (identity, ids, writable_state) = if options.read_only {
            // Nothing may be written, not even the state folder: read what is there.
            (
                Identity::load_read_only(&state_dir.join("device.id"), &root),
                IdMap::load_read_only(&state_dir.join("ids"), 1),
                false,
            )
        } else {
            let made = match fs::symlink_metadata(&state_dir) {
                Ok(md) if md.is_dir() => Ok(()),
                Ok(_) => Err(Error::AccessDenied),
                Err(_) => fs::create_dir(&state_dir).map_err(Error::from),
            };
            match made {
                Ok(()) => {
                    io.recover();
                    remove_stale_temps(&state_dir, STATE_TEMP_AGE);
                    // Metadata sidecars are written the same way, one folder down.
                    remove_stale_temps(&state_dir.join("meta"), STATE_TEMP_AGE);
                    let identity = Identity::load_or_create(&state_dir.join("device.id"), &io)?;
                    let ids = IdMap::load(&state_dir.join("ids"), random_u64() >> 24, &io)?;
                    (identity, ids, true)
                }
                Err(e) => {
                    // A read-only medium still works as a device; its IDs last one session.
                    tracing::warn!(?root, ?e, "cannot keep state on the device");
                    (Identity::generate(), IdMap::in_memory(1), false)
                }
            }
        };
        let temps = TempNames::open(&root, writable_state);
        let beneath = crate::sys::beneath::Root::open(&root);
        Ok(Shared {
            root,
            options,
            identity: Mutex::new(identity),
            inner: Mutex::new(Inner {
                ids,
                pending: FastSet::default(),
                pending_meta: FastMap::default(),
                holders: FastMap::default(),
                cleaned: FastSet::default(),
                active_temps: FastSet::default(),
                used: None,
                inflight: 0,
                open: FastMap::default(),
                playlists: RefCache::new(),
                listed: FastMap::default(),
                kept: None,
            }),
            generation: AtomicU64::new(1),
            connected: AtomicBool::new(true),
            writable_state,
            io,
            temps,
            fs_kind,
            verified: Mutex::new(Verified::default()),
            beneath,
            #[cfg(test)]
            lstats: AtomicU64::new(0),
        })
    }

    pub(crate) fn state_dir(&self) -> PathBuf {
        self.root.join(STATE_DIR)
    }

    pub(crate) fn serial(&self) -> String {
        self.identity_lock().serial.clone()
    }

    pub(crate) fn identity_lock(&self) -> MutexGuard<'_, Identity> {
        self.identity.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The state lock. A panic while holding it cannot leave the map half-updated in a way
    /// that matters more than losing the device, so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Invalidates every cached `lstat`, the snapshots of files vouched for included
    /// ([`Shared::bump_published`]): after a change that may alter any file (a delete, tags
    /// written into a file, an attribute set, whatever the provider does not say more of).
    pub(crate) fn bump(&self) {
        // Under the lock of the vouched snapshots, as every bump: a snapshot vouched for is
        // never left from before a change that forgot the others.
        let mut verified = self.verified_lock();
        verified.files.clear();
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// [`Shared::bump`] after a change that alters the snapshot of no file but `changed`'s, if
    /// any: a create (a new folder, or a name reserved), a rename or a move (a file's size,
    /// date and attributes stay as they were; see [`Shared::bump_published`] for a write).
    /// The snapshots of other files vouched for stay.
    pub(crate) fn bump_for(&self, changed: Option<u64>) {
        let mut verified = self.verified_lock();
        if let Some(id) = changed {
            verified.files.remove(&id);
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    pub(crate) fn set_connected(&self, yes: bool) {
        self.connected.store(yes, Ordering::Release);
        // A medium that comes back may be another one under the same path.
        self.verified_lock().since = None;
        self.bump();
    }

    /// # Errors
    /// [`Error::DeviceNotConnected`] once the device is gone.
    pub(crate) fn check(&self) -> Result<()> {
        if self.is_connected() {
            Ok(())
        } else {
            Err(Error::DeviceNotConnected)
        }
    }

    /// A fresh path for a temporary file in the content folder `dir` (see the `temps` module).
    ///
    /// # Errors
    /// I/O errors recording the session on the device.
    pub(crate) fn temp_path(&self, dir: &Path) -> Result<PathBuf> {
        Ok(dir.join(self.temps.next(&self.root, &self.io)?))
    }

    /// Fails with [`Error::WriteProtected`] on a device opened read-only
    /// ([`DeviceOptions`]' `read_only`); every operation that changes the device calls it first.
    ///
    /// # Errors
    /// [`Error::WriteProtected`]; [`Error::DeviceNotConnected`].
    pub(crate) fn check_write(&self) -> Result<()> {
        self.check()?;
        if self.options.read_only {
            Err(Error::WriteProtected)
        } else {
            Ok(())
        }
    }

    /// The persistent unique ID string of object `id`.
    pub(crate) fn unique_id(&self, id: u64) -> String {
        format!("{}:{id:X}", self.serial())
    }

    /// The object number in a unique ID string of this device.
    ///
    /// # Errors
    /// [`Error::NotSameDevice`] for another device's ID; [`Error::FileNotFound`] for a
    /// malformed one.
    pub(crate) fn parse_unique_id(&self, unique: &str) -> Result<u64> {
        let (serial, num) = unique.split_once(':').ok_or(Error::FileNotFound)?;
        if serial != self.serial() {
            return Err(Error::NotSameDevice);
        }
        u64::from_str_radix(num, 16).map_err(|_| Error::FileNotFound)
    }

    /// The absolute path of `id`, checked: no component below the root is a symbolic link.
    ///
    /// # Errors
    /// [`Error::InterfaceDead`] for an unknown ID; [`Error::AccessDenied`] when a component is
    /// a symbolic link; [`Error::DeviceNotConnected`].
    ///
    /// A folder found not to be a link is not checked again for a short while (see
    /// [`VERIFIED_FOR`](super::verified::VERIFIED_FOR)): resolving a file deep in the tree then costs one `lstat`, not one
    /// per component.
    pub(crate) fn safe_path(&self, inner: &Inner, id: u64) -> Result<PathBuf> {
        self.safe_path_lstat(inner, id).map(|(p, _)| p)
    }

    /// [`Shared::safe_path`], with what the check's `lstat` of the object itself said:
    /// `Some(None)` when nothing is there, `None` when it was not looked at (a folder checked
    /// a moment ago).
    ///
    /// # Errors
    /// As [`Shared::safe_path`].
    pub(crate) fn safe_path_lstat(
        &self,
        inner: &Inner,
        id: u64,
    ) -> Result<(PathBuf, Option<Option<fs::Metadata>>)> {
        self.check()?;
        let chain = inner.ids.chain(id)?;
        let mut p = PathBuf::with_capacity(
            self.root.as_os_str().len() + chain.iter().map(|(_, c)| c.len() + 1).sum::<usize>(),
        );
        p.push(&self.root);
        let mut verified = self.verified_lock();
        verified.expire(Instant::now());
        let mut last = None;
        for (cid, c) in chain {
            p.push(c);
            if verified.ids.contains(&cid) || verified.files.contains_key(&cid) {
                last = None;
                continue;
            }
            #[cfg(test)]
            self.lstats.fetch_add(1, Ordering::Relaxed);
            let md = fs::symlink_metadata(&p).ok();
            if let Some(md) = &md {
                if md.file_type().is_symlink() {
                    return Err(Error::AccessDenied);
                }
                if md.is_dir() {
                    verified.ids.insert(cid);
                }
            }
            last = Some(md);
        }
        Ok((p, last))
    }

    /// True when a path check ([`Shared::safe_path`]) found `id` to be a folder, not a
    /// symbolic link, within the last [`VERIFIED_FOR`](super::verified::VERIFIED_FOR): the
    /// same trust the path check itself gives it.
    pub(crate) fn is_checked_folder(&self, id: u64) -> bool {
        let mut verified = self.verified_lock();
        verified.expire(Instant::now());
        verified.ids.contains(&id)
    }

    /// [`Shared::bump_for`] after a write published as the file `id`. With `snap`, what the
    /// file's descriptor said just before it was closed, the file is vouched for: taken as a
    /// path check would have found it a moment ago (not a symbolic link), with `snap` as its
    /// snapshot, for the rest of the window in which checked folders are not checked again
    /// ([`VERIFIED_FOR`](super::verified::VERIFIED_FOR)). Only a file written in place has
    /// one: created exclusively (which never follows a link) by the session, and published
    /// as it is. Only a change behind the provider's back could make it a link, or
    /// change what the snapshot says, and the window is the one folders get; any change of
    /// the provider's own that may alter a file forgets it ([`Shared::bump`]).
    pub(crate) fn bump_published(&self, id: u64, snap: Option<Snap>) {
        let mut verified = self.verified_lock();
        verified.expire(Instant::now());
        match snap {
            Some(snap) => verified.files.insert(id, snap),
            None => verified.files.remove(&id),
        };
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The snapshot of a file vouched for a moment ago ([`Shared::bump_published`]).
    pub(crate) fn vouched(&self, id: u64) -> Option<Snap> {
        let mut verified = self.verified_lock();
        verified.expire(Instant::now());
        verified.files.get(&id).copied()
    }

    fn verified_lock(&self) -> MutexGuard<'_, Verified> {
        self.verified.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The absolute path of `id`, unchecked (for `lstat`, which never follows links anyway).
    pub(crate) fn raw_path(&self, inner: &Inner, id: u64) -> Result<PathBuf> {
        self.check()?;
        Ok(self.root.join(inner.ids.rel_path(id)?))
    }

    /// Lists folder `parent`: every visible entry with its ID and `lstat`, sorted by name.
    ///
    /// Entries the provider keeps for itself, symbolic links and names that are not valid
    /// Unicode are skipped; stale temporary files are removed; IDs are handed out to entries
    /// seen for the first time, and forgotten for entries that are gone.
    ///
    /// # Errors
    /// [`Error::InvalidType`] when `parent` is a file; I/O errors.
    pub(crate) fn list(&self, parent: u64) -> Result<Vec<(u64, String, Snap)>> {
        // Taken before the folder is read: a change made while it is read makes the record
        // of this listing stale at once.
        let generation = self.generation();
        let dir = {
            let inner = self.lock();
            self.safe_path(&inner, parent)?
        };
        let (mut found, stale, unlisted) = match read_folder(&dir, parent == ROOT) {
            Ok(x) => x,
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
                return Err(Error::InvalidType);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(if self.root.exists() {
                    Error::InterfaceDead
                } else {
                    Error::DeviceNotConnected
                });
            }
            Err(e) => return Err(e.into()),
        };
        found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut inner = self.lock();
        // Temporary files the listing leaves in place still count as used bytes.
        let mut temps_left = stale.len();
        if self.writable_state {
            for path in self.temps.stale(&stale, &inner.active_temps) {
                if fs::remove_file(&path).is_ok() {
                    temps_left -= 1;
                }
            }
        }
        let mut out = Vec::with_capacity(found.len());
        let check_pending = !inner.pending.is_empty();
        for (name, snap) in found {
            let id = match inner.ids.lookup(parent, &name) {
                Some(id) => id,
                None => inner.ids.insert(parent, &name),
            };
            if check_pending {
                inner.pending.remove(&id);
            }
            out.push((id, name, snap));
        }
        inner.listed.insert(
            parent,
            Listed {
                generation,
                bytes: out
                    .iter()
                    .filter(|(_, _, s)| !s.is_dir)
                    .fold(0u64, |sum, (_, _, s)| sum.saturating_add(s.size)),
                folders: out
                    .iter()
                    .filter(|(_, name, s)| s.is_dir && !(parent == ROOT && name.starts_with('.')))
                    .map(|(id, _, _)| *id)
                    .collect(),
                partial: unlisted || temps_left > 0,
            },
        );
        // Every listed name now has an entry, so equal counts mean nothing is gone.
        if inner.ids.child_count(parent) == out.len() {
            inner.ids.save(false, &self.io)?;
            return Ok(out);
        }
        let seen: FastSet<u64> = out.iter().map(|(id, _, _)| *id).collect();
        let gone: Vec<u64> = inner
            .ids
            .children_of(parent)
            .into_iter()
            .map(|(_, id)| id)
            .filter(|id| !seen.contains(id) && !inner.pending.contains(id))
            .collect();
        for id in gone {
            inner.ids.remove(id);
        }
        inner.ids.save(false, &self.io)?;
        Ok(out)
    }

    /// Bytes used on the device: apparent sizes of every file under the root, counted once and
    /// then kept up to date by the provider's own writes and deletes.
    ///
    /// # Errors
    /// I/O errors walking the device.
    ///
    /// Where every folder under the root has been listed since the device last changed (a
    /// sync lists the whole device before it asks for its space), the count is the sum of
    /// those listings instead of a second walk of the device.
    pub(crate) fn used_bytes(&self) -> Result<u64> {
        let mut inner = self.lock();
        if let Some(u) = inner.used {
            return Ok(u);
        }
        let listed = std::mem::take(&mut inner.listed);
        let counted = self.used_from_listings(&listed);
        inner.listed = listed;
        if let Some(total) = counted {
            inner.used = Some(total);
            return Ok(total);
        }
        drop(inner);
        let total = tree_size(&self.root)?;
        self.lock().used = Some(total);
        Ok(total)
    }

    /// The used bytes by the listings in `listed` (see [`Shared::used_bytes`]), or `None`
    /// when a folder under the root has not been listed in this generation, or was listed
    /// with entries the count needs but the listing leaves out.
    fn used_from_listings(&self, listed: &FastMap<u64, Listed>) -> Option<u64> {
        let generation = self.generation();
        let mut total = 0u64;
        let mut stack = vec![ROOT];
        let mut seen = 0usize;
        while let Some(folder) = stack.pop() {
            let l = listed.get(&folder)?;
            seen += 1;
            if l.generation != generation || l.partial || seen > listed.len() {
                return None;
            }
            total = total.saturating_add(l.bytes);
            stack.extend(&l.folders);
        }
        Some(total)
    }

    /// Takes a hold on the reservation of `id`, if it is one.
    pub(crate) fn hold(inner: &mut Inner, id: u64) -> bool {
        if inner.pending.contains(&id) {
            *inner.holders.entry(id).or_insert(0) += 1;
            true
        } else {
            false
        }
    }

    /// Drops a hold; a reservation nobody holds any more, and that was never written, is
    /// forgotten, so an abandoned create leaves no trace.
    pub(crate) fn release(&self, id: u64) {
        let mut inner = self.lock();
        let left = match inner.holders.get_mut(&id) {
            Some(n) => {
                *n = n.saturating_sub(1);
                *n
            }
            None => return,
        };
        if left == 0 {
            inner.holders.remove(&id);
            if inner.pending.remove(&id) {
                inner.ids.remove(id);
                inner.pending_meta.remove(&id);
                drop(inner);
                self.bump();
            }
        }
    }

    /// Adjusts the used-bytes count after a write or delete.
    pub(crate) fn adjust_used(inner: &mut Inner, added: u64, removed: u64) {
        if let Some(u) = inner.used.as_mut() {
            *u = u.saturating_add(added).saturating_sub(removed);
        }
    }

    /// True when `path` lies in a hidden folder at the root (`.wmdm/`, `.wmdm-sync/`, any
    /// dot-folder there): where software keeps its own small state, which the quota neither
    /// limits nor counts. The quota is the room for content: a sync must still be able to
    /// write the journal that lets it delete on a device already over its quota, and the
    /// state growing (the ID log, a journal) must not change the room the next plan sees, or
    /// a plan that fitted would evict again on the next run.
    pub(crate) fn is_unmetered(&self, path: &Path) -> bool {
        let Ok(rel) = path.strip_prefix(&self.root) else {
            return false;
        };
        let mut parts = rel.components();
        match (parts.next(), parts.next()) {
            // Inside a hidden folder at the root, or that folder itself (a hidden file at the
            // root is content like any other).
            (Some(std::path::Component::Normal(first)), next) => {
                first.to_str().is_some_and(|f| f.starts_with('.'))
                    && (next.is_some() || path.is_dir())
            }
            _ => false,
        }
    }

    /// Fails with [`Error::DiskFull`] when `extra` more bytes would not fit in the quota.
    ///
    /// # Errors
    /// [`Error::DiskFull`]; I/O errors counting the used bytes.
    pub(crate) fn check_quota(&self, extra: u64) -> Result<()> {
        let Some(quota) = self.options.quota else {
            return Ok(());
        };
        let used = self.used_bytes()?;
        let inflight = self.lock().inflight;
        if used.saturating_add(inflight).saturating_add(extra) > quota {
            Err(Error::DiskFull)
        } else {
            Ok(())
        }
    }

    /// Saves the ID map, durably in the per-operation mode (the sync's ledger compares unique
    /// IDs: an ID record lost in a power cut would make a file it copied look like a stranger
    /// to it); otherwise the records wait for the barrier ([`Shared::flush`]).
    ///
    /// # Errors
    /// I/O errors.
    pub(crate) fn save_ids(&self, inner: &mut Inner) -> Result<()> {
        inner.ids.save(self.io.barrier.per_operation(), &self.io)
    }

    /// The barrier: writes the ID records not yet saved, then makes every change completed so
    /// far durable (see [`Durability`](super::Durability)).
    ///
    /// # Errors
    /// [`Error::DeviceNotConnected`]; I/O errors writing or syncing.
    pub(crate) fn flush(&self) -> Result<()> {
        self.check()?;
        if self.options.read_only {
            return Ok(());
        }
        self.lock().ids.save(false, &self.io)?;
        self.io.barrier.flush(&self.root)
    }

    /// The object for a path relative to the root, given as components; IDs are handed out to
    /// components seen for the first time.
    ///
    /// # Errors
    /// [`Error::FileNotFound`] when a component does not exist or is a symbolic link.
    pub(crate) fn id_under(&self, start: u64, comps: &[&str]) -> Result<u64> {
        self.id_under_snap(start, comps).map(|(id, _)| id)
    }

    /// [`Shared::id_under`], with the `lstat` of the object found (`None` for `start` itself,
    /// when `comps` is empty).
    ///
    /// # Errors
    /// As [`Shared::id_under`].
    pub(crate) fn id_under_snap(&self, start: u64, comps: &[&str]) -> Result<(u64, Option<Snap>)> {
        let mut inner = self.lock();
        let mut cur = start;
        let mut last = None;
        let mut path = self.safe_path(&inner, start)?;
        for &c in comps {
            if is_internal(c) || !is_component(c) {
                return Err(Error::FileNotFound);
            }
            let known = inner.ids.lookup(cur, c);
            // A name seen for the first time is taken as the folder spells it: a host that
            // ignores case would otherwise give one file a second ID under another spelling.
            // Whether `c` names anything at all is the host's call, so a case-sensitive one
            // still finds nothing for a case variant.
            let name = match known {
                Some(_) => c.to_string(),
                None if fs::symlink_metadata(path.join(c)).is_err() => {
                    return Err(Error::FileNotFound);
                }
                None => stored_name(&path, c).ok_or(Error::FileNotFound)?,
            };
            if is_internal(&name) {
                return Err(Error::FileNotFound);
            }
            path.push(&name);
            let md = fs::symlink_metadata(&path).map_err(|_| Error::FileNotFound)?;
            if md.file_type().is_symlink() {
                return Err(Error::FileNotFound);
            }
            last = Some(Snap::of(&md));
            cur = match known.or_else(|| inner.ids.lookup(cur, &name)) {
                Some(id) => id,
                None => inner.ids.insert(cur, &name),
            };
        }
        inner.ids.save(false, &self.io)?;
        Ok((cur, last))
    }
}

/// The entry of folder `dir` that `name` refers to, spelt as the folder stores it: `name`
/// itself when an entry has exactly that name, otherwise one whose name differs only in case
/// (which is what a case-insensitive host, or a FAT medium mounted anywhere, opens for `name`).
/// `None` when there is neither, even if the host would open something for `name` (a Windows
/// short name such as `LONGNA~1.MP3`).
pub(crate) fn stored_name(dir: &Path, name: &str) -> Option<String> {
    let mut folded = None;
    let lower = name.to_lowercase();
    for entry in fs::read_dir(dir).ok()?.flatten() {
        let Ok(n) = entry.file_name().into_string() else {
            continue;
        };
        if n == name {
            return Some(n);
        }
        if folded.is_none() && n.to_lowercase() == lower {
            folded = Some(n);
        }
    }
    folded
}

pub(crate) use crate::sys::files::sync_dir;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Lists every folder below `s`, as a sync's reading of the device does.
    fn list_all(s: &crate::provider::StorageRef) {
        for c in s.children().unwrap() {
            if c.attributes()
                .unwrap()
                .attributes
                .contains(crate::flags::Attributes::FOLDER)
            {
                list_all(&c);
            }
        }
    }

    /// The used bytes counted from a full listing are those a walk counts; a listing made
    /// stale by a change, or one that left out what the walk counts, is not used.
    #[test]
    fn used_bytes_from_listings_equal_the_walk() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("Music/A/B")).unwrap();
        fs::create_dir_all(root.join(".hidden-state")).unwrap();
        fs::write(root.join("Music/A/B/t.mp3"), vec![1u8; 1000]).unwrap();
        fs::write(root.join("Music/A/u.mp3"), vec![1u8; 300]).unwrap();
        fs::write(root.join(".dotfile"), b"12345").unwrap();
        fs::write(root.join(".hidden-state/x"), vec![1u8; 77]).unwrap();
        let opts = super::super::DeviceOptions::default().durable(false);
        let d = super::super::FsDevice::open(root, opts.clone()).unwrap();
        let top: crate::provider::StorageRef = d.root();
        list_all(&top);
        let shared = d.root().shared().clone();
        let listed = std::mem::take(&mut shared.lock().listed);
        assert_eq!(shared.used_from_listings(&listed), Some(1305));
        assert_eq!(tree_size(root).unwrap(), 1305);
        shared.lock().listed = listed;
        assert_eq!(shared.used_bytes().unwrap(), 1305);

        // A change after the listing: the next device counts by walking.
        let d = super::super::FsDevice::open(root, opts.clone()).unwrap();
        let top: crate::provider::StorageRef = d.root();
        list_all(&top);
        let shared = d.root().shared().clone();
        shared.bump();
        let listed = std::mem::take(&mut shared.lock().listed);
        assert_eq!(shared.used_from_listings(&listed), None);
        shared.lock().listed = listed;
        assert_eq!(shared.used_bytes().unwrap(), 1305);

        // A file under the state folder's name below the root is not listed but is counted.
        fs::write(root.join("Music/A/.wmdm"), vec![1u8; 10]).unwrap();
        let d = super::super::FsDevice::open(root, opts).unwrap();
        let top: crate::provider::StorageRef = d.root();
        list_all(&top);
        let shared = d.root().shared().clone();
        let listed = std::mem::take(&mut shared.lock().listed);
        assert_eq!(shared.used_from_listings(&listed), None);
        shared.lock().listed = listed;
        assert_eq!(shared.used_bytes().unwrap(), 1315);
        assert_eq!(tree_size(root).unwrap(), 1315);
    }

    #[test]
    fn a_sidecar_write_killed_midway_is_removed_at_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let opts = super::super::DeviceOptions::default();
        drop(super::super::FsDevice::open(dir.path(), opts.clone()).unwrap());
        let meta = dir.path().join(super::super::STATE_DIR).join("meta");
        fs::create_dir_all(&meta).unwrap();
        let stale = meta.join(".wmdm-tmp-00000000000000ab.part");
        fs::write(&stale, b"half a sidecar").unwrap();
        let f = fs::OpenOptions::new().write(true).open(&stale).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(3600))
            .unwrap();
        drop(f);
        drop(super::super::FsDevice::open(dir.path(), opts).unwrap());
        assert!(!stale.exists());
    }
}
