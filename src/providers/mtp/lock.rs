//! The writer lock of an MTP device (a crate extension, see
//! [`Device::lock_writer`](crate::provider::Device::lock_writer)).
//!
//! MTP has no lock operation, and a device may be open in one process only (the USB interface
//! is claimed exclusively), so the lock has two parts:
//!
//! * in this process, a table keyed by the device serial: two providers (or two sessions) of
//!   one process never hold it at once;
//! * on the device, a lock object ([`LOCK_NAME`], hidden from listings) at
//!   the root of its first storage holding the [`LockHolder`] record, so a later process (after
//!   a crash or `kill -9`, which cannot delete it) sees who held it. A record whose holder is
//!   known dead (this host, its pid gone) is taken over, and so is one that cannot be read:
//!   the record is sent in one SendObject, so only a writer killed while sending it leaves an
//!   empty or cut record behind. A record from another host keeps the device busy until it is
//!   removed.
//!
//! Its limits: checking for the record and creating it are two MTP operations, so two hosts
//! racing for one device in the same instant could both win (MTP offers no exclusive create),
//! and a record being sent at the moment another writer reads it looks unreadable to that one;
//! the device itself lets any other MTP program write whatever the lock says.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use mtp_rs::{NewObjectInfo, ObjectHandle, StorageId};

use super::LOCK_NAME;
use super::device::MtpDevice;
use crate::error::{Error, Result};
use crate::provider::{LockHolder, WriterLock};

/// Serial -> (token, holder) for every MTP device locked in this process.
fn table() -> &'static Mutex<HashMap<String, (u64, LockHolder)>> {
    static TABLE: OnceLock<Mutex<HashMap<String, (u64, LockHolder)>>> = OnceLock::new();
    TABLE.get_or_init(|| Mutex::new(HashMap::new()))
}

fn next_token() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Gives the lock back when the guard is dropped.
struct Release {
    device: Arc<MtpDevice>,
    token: u64,
    /// The lock object, and the storage it was put on.
    object: ObjectHandle,
    storage: StorageId,
}

impl Drop for Release {
    fn drop(&mut self) {
        let conn = &self.device.conn;
        if let Ok(storage) = conn.storage(self.storage) {
            let h = self.object;
            let _ = conn.run("DeleteObject (writer lock)", false, || storage.delete(h));
        }
        let mut t = table().lock().unwrap_or_else(PoisonError::into_inner);
        if t.get(&conn.serial)
            .is_some_and(|(tok, _)| *tok == self.token)
        {
            t.remove(&conn.serial);
        }
    }
}

/// The lock object on the device and the record it holds (`None`: unreadable).
fn on_device(device: &MtpDevice) -> Result<Option<(ObjectHandle, Option<LockHolder>)>> {
    let conn = &device.conn;
    let Some(first) = conn.storage_ids()?.first().copied() else {
        return Err(Error::NoPda);
    };
    let storage = conn.storage(first)?;
    let root = conn.run("GetObjectHandles", true, || storage.list_objects(None))?;
    // The same listing serves the root's next listing (a sync reads its state folder there
    // next): on some devices a root listing walks the whole storage.
    conn.keep_listing((first, None), &root);
    let Some(obj) = root.iter().find(|o| o.filename == LOCK_NAME) else {
        return Ok(None);
    };
    let h = obj.handle;
    // A record is a few hundred bytes; anything much larger is not one.
    if obj.size > 64 * 1024 {
        return Ok(Some((h, None)));
    }
    let bytes = conn.run("GetObject (writer lock)", true, || {
        storage.download_to_vec(h)
    })?;
    Ok(Some((h, LockHolder::parse(&bytes))))
}

/// Takes the lock for `holder`.
pub(super) fn lock(device: &Arc<MtpDevice>, holder: &LockHolder) -> Result<WriterLock> {
    let conn = &device.conn;
    conn.check()?;
    if conn.read_only {
        return Err(Error::WriteProtected);
    }
    let token = next_token();
    {
        let mut t = table().lock().unwrap_or_else(PoisonError::into_inner);
        if t.contains_key(&conn.serial) {
            return Err(Error::Busy);
        }
        t.insert(conn.serial.clone(), (token, holder.clone()));
    }
    let taken = take_on_device(device, holder);
    match taken {
        Ok((storage, object)) => Ok(WriterLock::new(
            holder.clone(),
            Release {
                device: device.clone(),
                token,
                object,
                storage,
            },
        )),
        Err(e) => {
            let mut t = table().lock().unwrap_or_else(PoisonError::into_inner);
            if t.get(&conn.serial).is_some_and(|(tok, _)| *tok == token) {
                t.remove(&conn.serial);
            }
            Err(e)
        }
    }
}

/// Puts the lock object on the first storage: that storage and the object.
fn take_on_device(device: &MtpDevice, holder: &LockHolder) -> Result<(StorageId, ObjectHandle)> {
    let conn = &device.conn;
    let storage_id = conn.storage_ids()?.first().copied().ok_or(Error::NoPda)?;
    let storage = conn.storage(storage_id)?;
    if let Some((h, record)) = on_device(device)? {
        match record {
            Some(old) if old.is_dead_here() => {
                tracing::info!(device = %conn.serial, holder = %old, "taking over the writer lock of a dead holder");
                conn.run("DeleteObject (stale writer lock)", false, || {
                    storage.delete(h)
                })?;
            }
            None => {
                tracing::warn!(device = %conn.serial, "taking over an unreadable writer lock record (a writer killed while sending it)");
                conn.run("DeleteObject (damaged writer lock)", false, || {
                    storage.delete(h)
                })?;
            }
            Some(_) => return Err(Error::Busy),
        }
    }
    let bytes = bytes::Bytes::from(holder.encode());
    let size = bytes.len() as u64;
    let sent = futures::executor::block_on(storage.upload(
        None,
        NewObjectInfo::file(LOCK_NAME, size),
        futures::stream::iter([Ok::<_, std::io::Error>(bytes)]),
    ));
    let object = sent.map_err(|e| {
        if let Some(p) = e.partial {
            let _ = conn.run("DeleteObject (partial lock)", false, || storage.delete(p));
        }
        conn.fail("SendObject (writer lock)", &e.source)
    })?;
    Ok((storage_id, object))
}

/// Who holds the lock now: this process's holder, or a live holder's record on the device.
pub(super) fn holder(device: &MtpDevice) -> Result<Option<LockHolder>> {
    device.conn.check()?;
    if let Some((_, h)) = table()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&device.conn.serial)
    {
        return Ok(Some(h.clone()));
    }
    Ok(match on_device(device)? {
        None => None,
        Some((_, Some(h))) if h.is_dead_here() => None,
        Some((_, Some(h))) => Some(h),
        // An unreadable record is a killed writer's (see the module docs): nobody holds it.
        Some((_, None)) => None,
    })
}
