//! One open MTP device: the mtp-rs session, driven from blocking calls, and what the provider
//! keeps about it (capabilities, formats, open objects, folder parents).
//!
//! mtp-rs is async and runtime-agnostic: its futures need no reactor of their own (USB I/O
//! completes on nusb's own event thread, timeouts on `futures-timer`'s thread), so each call is
//! driven to completion on the calling thread with `futures::executor::block_on`. The provider
//! pulls in no runtime; a caller inside an async task should call it from a blocking section
//! (`spawn_blocking` or a thread), as with any blocking I/O.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use mtp_rs::{Capabilities, MtpDevice, ObjectHandle, StorageId};

use crate::error::{Error, Result};
use crate::metadata::FormatCode;

/// A parent pointer: the storage and the folder an object sits in (`None`: the storage root).
/// Also the key of a folder's listing.
pub(super) type Parent = (StorageId, Option<ObjectHandle>);

/// How long a folder's listing is reused. The provider keeps the listings it holds up to date
/// with its own changes, so within this time only changes made by someone else (the phone's
/// own apps, another program) can be missed; each listing costs a round trip per folder (and
/// per property) on the device.
pub(super) const LISTING_TTL: Duration = Duration::from_secs(5);

/// One object of a folder's listing.
#[derive(Clone, Debug)]
pub(super) struct Item {
    pub(super) handle: ObjectHandle,
    pub(super) name: String,
    pub(super) size: u64,
    pub(super) format: u16,
    pub(super) folder: bool,
    pub(super) modified: Option<i64>,
}

impl Item {
    pub(super) fn of(info: &mtp_rs::ObjectInfo) -> Item {
        Item {
            handle: info.handle,
            name: info.filename.clone(),
            size: info.size,
            format: info.format.code(),
            folder: info.is_folder(),
            modified: info.modified.and_then(|d| d.to_unix_seconds()),
        }
    }
}

/// The shared state of one open device.
pub(super) struct Conn {
    pub(super) device: MtpDevice,
    pub(super) manufacturer: String,
    pub(super) model: String,
    pub(super) serial: String,
    pub(super) version: String,
    pub(super) caps: Capabilities,
    /// The playback formats of the device's DeviceInfo, when the transport exposes them.
    pub(super) formats: Vec<FormatCode>,
    pub(super) read_only: bool,
    gone: AtomicBool,
    storages: Mutex<HashMap<StorageId, Arc<mtp_rs::Storage>>>,
    /// The device's storage IDs as last listed, reused as the listings are ([`LISTING_TTL`]):
    /// GetStorageIDs comes with a GetStorageInfo per storage, which some devices (mtp-rs's
    /// virtual one among them) answer by summing the sizes of every file they hold.
    ids: Mutex<Option<(Instant, Vec<StorageId>)>>,
    /// Objects open for reading or writing, by handle (the Busy rule for folders).
    open: Mutex<HashMap<ObjectHandle, usize>>,
    /// The parent of every object seen in a listing (for the Busy rule and `parent`).
    parents: Mutex<HashMap<ObjectHandle, Parent>>,
    /// Recent folder listings (see [`LISTING_TTL`]).
    listings: Mutex<HashMap<Parent, (Instant, Vec<Item>)>>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("model", &self.model)
            .field("serial", &self.serial)
            .field("gone", &self.gone.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The crate's error for an mtp-rs error (one HRESULT each; the detail goes to the log).
pub(super) fn map_err(e: &mtp_rs::Error) -> Error {
    use mtp_rs::Error as M;
    match e {
        M::NotFound | M::StaleHandle => Error::FileNotFound,
        M::AccessDenied | M::PermissionDenied => Error::AccessDenied,
        M::ExclusiveAccess | M::Busy => Error::Busy,
        M::Unsupported => Error::NotSupported,
        M::StorageFull => Error::DiskFull,
        M::Cancelled => Error::UserCancelled,
        M::Disconnected | M::NoDevice => Error::DeviceNotConnected,
        M::DeviceReset | M::Timeout => Error::NotReady,
        M::NameTooLong { .. } => Error::InvalidName,
        _ => Error::ProcessFailed,
    }
}

impl Conn {
    /// Wraps an open device: reads its identity, capabilities and storages.
    pub(super) fn new(device: MtpDevice, formats: Vec<FormatCode>, read_only: bool) -> Conn {
        let info = device.device_info().clone();
        let caps = *device.capabilities();
        Conn {
            device,
            manufacturer: info.manufacturer,
            model: info.model,
            serial: info.serial_number,
            version: info.device_version,
            caps,
            formats,
            read_only,
            gone: AtomicBool::new(false),
            storages: Mutex::new(HashMap::new()),
            ids: Mutex::new(None),
            open: Mutex::new(HashMap::new()),
            parents: Mutex::new(HashMap::new()),
            listings: Mutex::new(HashMap::new()),
        }
    }

    /// A folder's listing if it is recent enough.
    pub(super) fn cached(&self, key: Parent) -> Option<Vec<Item>> {
        let map = lock(&self.listings);
        let (at, items) = map.get(&key)?;
        (at.elapsed() < LISTING_TTL).then(|| items.clone())
    }

    /// The first object of a folder's recent listing that `pick` accepts, without copying
    /// the listing (a create or rename looks for a name clash in its folder, which may hold
    /// thousands of objects); `None` when the listing is not kept or too old.
    pub(super) fn find_cached(
        &self,
        key: Parent,
        pick: impl Fn(&Item) -> bool,
    ) -> Option<Option<Item>> {
        let map = lock(&self.listings);
        let (at, items) = map.get(&key)?;
        (at.elapsed() < LISTING_TTL).then(|| items.iter().find(|i| pick(i)).cloned())
    }

    /// Keeps a folder's fresh listing as the device gave it, without the writer lock object
    /// (hidden at a storage's root); returns what was kept.
    pub(super) fn keep_listing(&self, key: Parent, all: &[mtp_rs::ObjectInfo]) -> Vec<Item> {
        let items: Vec<Item> = all
            .iter()
            .filter(|o| !(key.1.is_none() && o.filename == super::LOCK_NAME))
            .map(Item::of)
            .collect();
        self.store(key, items.clone());
        items
    }

    /// Keeps a folder's fresh listing.
    pub(super) fn store(&self, key: Parent, items: Vec<Item>) {
        for i in &items {
            self.set_parent(i.handle, key);
        }
        lock(&self.listings).insert(key, (Instant::now(), items));
    }

    /// Applies one of the provider's own changes to a kept listing.
    pub(super) fn edit(&self, key: Parent, change: impl FnOnce(&mut Vec<Item>)) {
        if let Some((_, items)) = lock(&self.listings).get_mut(&key) {
            change(items);
        }
    }

    /// Drops a kept listing (a folder deleted, or changed in a way not tracked).
    pub(super) fn invalidate(&self, key: Parent) {
        lock(&self.listings).remove(&key);
    }

    /// `DeviceNotConnected` once the device went away.
    pub(super) fn check(&self) -> Result<()> {
        if self.gone.load(Ordering::Acquire) {
            Err(Error::DeviceNotConnected)
        } else {
            Ok(())
        }
    }

    /// True while the device answers.
    pub(super) fn present(&self) -> bool {
        !self.gone.load(Ordering::Acquire)
    }

    /// Marks the device gone (its enumeration no longer lists it, or it said so).
    pub(super) fn set_gone(&self) {
        self.gone.store(true, Ordering::Release);
    }

    /// Runs one MTP operation to completion on this thread. `what` names it in the log.
    ///
    /// A `retry`-able (read-only) operation that meets a wedged device (`DeviceReset`,
    /// `Timeout`) is run once more: mtp-rs drains and resyncs the session on the next call.
    /// A changing operation is never repeated, since it may have taken effect.
    pub(super) fn run<T, F, Fut>(&self, what: &str, retry: bool, op: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = std::result::Result<T, mtp_rs::Error>>,
    {
        self.check()?;
        let mut tries = if retry { 2 } else { 1 };
        loop {
            tries -= 1;
            match futures::executor::block_on(op()) {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let mapped = self.fail(what, &e);
                    if tries > 0 && mapped == Error::NotReady {
                        continue;
                    }
                    return Err(mapped);
                }
            }
        }
    }

    /// The crate's error for a failed operation: logged with what failed, and a device that
    /// went away is marked gone.
    pub(super) fn fail(&self, what: &str, e: &mtp_rs::Error) -> Error {
        let mapped = map_err(e);
        tracing::warn!(device = %self.serial, operation = what, error = %e, "MTP operation failed");
        if mapped == Error::DeviceNotConnected {
            self.set_gone();
        }
        mapped
    }

    /// The storage with this id (cached; [`Conn::refresh_storage`] rereads its totals).
    pub(super) fn storage(&self, id: StorageId) -> Result<Arc<mtp_rs::Storage>> {
        if let Some(s) = lock(&self.storages).get(&id) {
            return Ok(s.clone());
        }
        self.refresh_storage(id)
    }

    /// Rereads a storage's StorageInfo (capacity and free space change as files are written).
    pub(super) fn refresh_storage(&self, id: StorageId) -> Result<Arc<mtp_rs::Storage>> {
        let s = Arc::new(self.run("GetStorageInfo", true, || self.device.storage(id))?);
        lock(&self.storages).insert(id, s.clone());
        Ok(s)
    }

    /// Every storage of the device, in the device's order (a list at most [`LISTING_TTL`]
    /// old: a card inserted since may be missed for that long; capacity and free space are
    /// read afresh where they matter, [`Conn::refresh_storage`]).
    pub(super) fn storage_ids(&self) -> Result<Vec<StorageId>> {
        self.check()?;
        if let Some((at, ids)) = &*lock(&self.ids)
            && at.elapsed() < LISTING_TTL
        {
            return Ok(ids.clone());
        }
        let all = self.run("GetStorageIDs", true, || self.device.storages())?;
        let mut map = lock(&self.storages);
        let ids: Vec<StorageId> = all.iter().map(mtp_rs::Storage::id).collect();
        for s in all {
            map.insert(s.id(), Arc::new(s));
        }
        *lock(&self.ids) = Some((Instant::now(), ids.clone()));
        Ok(ids)
    }

    /// Records where an object sits.
    pub(super) fn set_parent(&self, handle: ObjectHandle, parent: Parent) {
        lock(&self.parents).insert(handle, parent);
    }

    /// Forgets a deleted object.
    pub(super) fn forget(&self, handle: ObjectHandle) {
        lock(&self.parents).remove(&handle);
    }

    /// Where an object sits, if a listing has shown it.
    pub(super) fn parent_of(&self, handle: ObjectHandle) -> Option<Parent> {
        lock(&self.parents).get(&handle).copied()
    }

    /// Counts an open object (released by [`Conn::closed`]).
    pub(super) fn opened(&self, handle: ObjectHandle) {
        *lock(&self.open).entry(handle).or_insert(0) += 1;
    }

    /// Uncounts an open object.
    pub(super) fn closed(&self, handle: ObjectHandle) {
        let mut open = lock(&self.open);
        if let Some(n) = open.get_mut(&handle) {
            *n -= 1;
            if *n == 0 {
                open.remove(&handle);
            }
        }
    }

    /// True when an object below `folder` is open (renaming or moving it is refused, as on a
    /// mass-storage device: docs/providers.md, "Open objects pin their folders").
    pub(super) fn holds_open(&self, folder: ObjectHandle) -> bool {
        let open: Vec<ObjectHandle> = lock(&self.open).keys().copied().collect();
        let parents = lock(&self.parents);
        open.into_iter().any(|mut h| {
            // The chain is bounded by the number of known objects, so a damaged (cyclic)
            // answer from the device cannot loop for ever.
            for _ in 0..=parents.len() {
                match parents.get(&h) {
                    Some((_, Some(p))) if *p == folder => return true,
                    Some((_, Some(p))) => h = *p,
                    _ => return false,
                }
            }
            false
        })
    }
}

#[cfg(all(test, feature = "mtp-virtual"))]
pub(crate) mod tests {
    use super::*;

    /// A virtual device `serial` with one storage of `capacity` bytes kept in `dir`, opened.
    pub(crate) fn open_virtual(serial: &str, capacity: u64, dir: &std::path::Path) -> MtpDevice {
        let config = mtp_rs::virtual_device::VirtualDeviceConfig {
            serial: serial.into(),
            storages: vec![mtp_rs::virtual_device::VirtualStorageConfig {
                description: "Internal".into(),
                capacity,
                backing_dir: dir.to_path_buf(),
                read_only: false,
            }],
            event_poll_interval: Duration::ZERO,
            watch_backing_dirs: false,
            ..Default::default()
        };
        futures::executor::block_on(MtpDevice::builder().open_virtual(config)).unwrap()
    }

    /// A device that reports it went away (mtp-rs's `Disconnected`, as a pulled cable does)
    /// is gone for every later call, and each error keeps its one HRESULT.
    #[test]
    fn a_disconnect_makes_every_later_call_fail_as_not_connected() {
        let dir = tempfile::tempdir().unwrap();
        let device = open_virtual("conn-disconnect", 1 << 20, dir.path());
        let conn = Conn::new(device, Vec::new(), false);
        assert_eq!(conn.storage_ids().unwrap().len(), 1);
        assert_eq!(
            conn.fail("GetObjectHandles", &mtp_rs::Error::Disconnected),
            Error::DeviceNotConnected
        );
        assert!(!conn.present());
        assert_eq!(conn.storage_ids(), Err(Error::DeviceNotConnected));
        assert_eq!(map_err(&mtp_rs::Error::StorageFull), Error::DiskFull);
        assert_eq!(map_err(&mtp_rs::Error::Timeout), Error::NotReady);
        assert_eq!(
            map_err(&mtp_rs::Error::NameTooLong { units: 300 }),
            Error::InvalidName
        );
    }
}
