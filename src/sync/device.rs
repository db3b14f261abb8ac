//! Device access for sync, all through the authenticated manager: reading the device's
//! contents, resolving and creating folders, and sync's own state files in [`SYNC_FOLDER`].

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::atomic::{AtomicBool, Ordering};

use super::plan::{DeviceContents, DeviceFile};
use super::text::{WHOLE_MAGIC, whole_body};
use crate::error::{Error, ErrorKind, Result};
use crate::flags::Placement;
use crate::manager::{InsertOptions, InsertSource, WmdmStorage};
use crate::provider::NoProgress;
use crate::sync::machine::DeviceObject;
use crate::work_queue::{WorkQueue, on_workers, walk_threads};

/// The hidden folder at the storage root where sync keeps the partnership marker, the
/// ownership ledger and the journal. It is never content: the planner does not see it.
pub const SYNC_FOLDER: &str = ".wmdm-sync";

pub(crate) const MARKER_FILE: &str = "partnership.txt";
/// The ledger file of the one partnership a device held before ledgers were per library;
/// read (migration) when it belongs to the library asking and its own file is absent.
pub(crate) const LEGACY_LEDGER_FILE: &str = "ledger.txt";

/// A library id as a file-name component: kept when it is short and plain (the ids the crate
/// makes are 32 hex digits), otherwise a hash of it. The file's content still names its
/// library, so a collision only makes a ledger read as another library's (empty).
fn state_key(library_id: &str) -> String {
    if !library_id.is_empty()
        && library_id.len() <= 40
        && library_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return library_id.to_owned();
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in library_id.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("h{h:016x}")
}

/// The library's ledger file in [`SYNC_FOLDER`]: one per library, so a library that takes
/// the device over leaves the first one's ledger alone (invariant J8).
pub(crate) fn ledger_file(library_id: &str) -> String {
    format!("ledger-{}.txt", state_key(library_id))
}

/// The library's journal file.
pub(crate) fn journal_file(library_id: &str) -> String {
    format!("journal-{}.txt", state_key(library_id))
}

/// The prefix of the library's commit records (`commit-<library>-<n>.txt`).
pub(crate) fn commit_prefix(library_id: &str) -> String {
    format!("commit-{}-", state_key(library_id))
}

/// The prefix of the library's intent records (`intent-<library>-<n>.txt`), written where the
/// device refuses renames.
pub(crate) fn intent_prefix(library_id: &str) -> String {
    format!("intent-{}-", state_key(library_id))
}

/// The bytes of each end of an object that its fingerprint covers.
const FINGERPRINT_EDGE: u64 = 4096;

/// The content fingerprint of a device object: SHA-1 over its size (8 bytes, little-endian),
/// its first 4 KiB and its last 4 KiB, read back through the manager (the whole object when
/// it is at most 8 KiB). It is recorded when the sync writes an object and compared before
/// recovery adopts or the sync deletes one on a device without unique IDs (docs/sync.md,
/// "Why this fingerprint").
///
/// # Errors
/// The manager's errors reading the object.
pub fn fingerprint_of(obj: &WmdmStorage) -> Result<[u8; 20]> {
    fingerprint(obj)
}

/// [`fingerprint_of`] for any device object (the executor over a provider reads it too).
pub(crate) fn fingerprint<O: DeviceObject>(obj: &O) -> Result<[u8; 20]> {
    let size = obj.size()?;
    Ok(digest_edges(size, &fingerprint_parts(obj, size)?))
}

/// What the fingerprint of an object of `size` bytes is made of, read from it: the whole
/// object, or its first and last [`FINGERPRINT_EDGE`] bytes.
fn fingerprint_parts<O: DeviceObject>(obj: &O, size: u64) -> Result<Vec<Vec<u8>>> {
    if size <= 2 * FINGERPRINT_EDGE {
        Ok(vec![read_all(obj)?])
    } else {
        let edge = usize::try_from(FINGERPRINT_EDGE).unwrap_or(4096);
        obj.read_ranges(&[(0, edge), (size - FINGERPRINT_EDGE, edge)])
    }
}

/// The same parts of `bytes`, for an object that holds exactly them.
fn fingerprint_parts_of(bytes: &[u8]) -> [&[u8]; 2] {
    let edge = usize::try_from(FINGERPRINT_EDGE).unwrap_or(4096);
    if bytes.len() <= 2 * edge {
        [bytes, &[]]
    } else {
        [&bytes[..edge], &bytes[bytes.len() - edge..]]
    }
}

fn digest_edges<P: AsRef<[u8]>>(size: u64, parts: &[P]) -> [u8; 20] {
    use sha1::Digest;
    let mut h = sha1::Sha1::new();
    h.update(size.to_le_bytes());
    for part in parts {
        h.update(part.as_ref());
    }
    h.finalize().into()
}

/// [`fingerprint`] of an object that would hold exactly `bytes` (what a copy is about to send).
pub(crate) fn fingerprint_of_bytes(bytes: &[u8]) -> [u8; 20] {
    digest_edges(bytes.len() as u64, &fingerprint_parts_of(bytes))
}

/// [`fingerprint`] of `obj`, known to be `sent`'s (whose fingerprint is `sent_fingerprint`) when
/// the object holds `sent`'s size and, where the fingerprint reads, `sent`'s bytes: the same
/// reads as [`fingerprint`], compared instead of hashed. A device that changed what it stored
/// (tags it wrote) gets its own fingerprint computed.
pub(crate) fn fingerprint_as_sent<O: DeviceObject>(
    obj: &O,
    sent: &[u8],
    sent_fingerprint: [u8; 20],
) -> Result<[u8; 20]> {
    let size = obj.size()?;
    let stored = fingerprint_parts(obj, size)?;
    let same = size == sent.len() as u64
        && stored
            .iter()
            .map(Vec::as_slice)
            .eq(fingerprint_parts_of(sent)
                .into_iter()
                .filter(|p| !p.is_empty()));
    Ok(if same {
        sent_fingerprint
    } else {
        digest_edges(size, &stored)
    })
}

pub(crate) fn is_not_found(e: &Error) -> bool {
    e.kind() == ErrorKind::NotFound
}

/// Reads every file below `root` (except [`SYNC_FOLDER`]) and the storage's space. Nothing is
/// hidden by its name: a file named like a temporary file is a user's file until a journal
/// says otherwise (invariant J3; recovery takes out the temporary files it will delete).
///
/// # Errors
/// The manager's errors ([`Error::NotCertified`], [`Error::DeviceNotConnected`], ...).
pub fn read_device_contents(root: &WmdmStorage) -> Result<DeviceContents> {
    list_contents(root)
}

/// [`read_device_contents`] over any device object (the sync core's executor lists a
/// provider's storage directly too).
pub(crate) fn list_contents<O: DeviceObject + Sync>(root: &O) -> Result<DeviceContents> {
    let _span = tracing::debug_span!("list device").entered();
    let mut listing = Listing::default();
    // The top of the tree is read here until there are folders enough to share; the rest is
    // read on up to two threads sharing a work queue (a device's folders are read
    // independently: on a large device the listing is most of a no-op resync's device side).
    let mut frontier: Vec<(String, O)> = vec![(String::new(), root.clone())];
    while !frontier.is_empty() && frontier.len() < LIST_SHARE_AT {
        let (prefix, folder) = frontier.remove(0);
        listing.folder(&prefix, &folder, &mut frontier)?;
    }
    let threads = walk_threads().min(frontier.len());
    let queue = WorkQueue::new(frontier);
    let parts = on_workers(threads, || {
        let mut part = Listing::default();
        let mut worker = queue.worker();
        while let Some((prefix, folder)) = worker.next() {
            let mut subfolders = Vec::new();
            if let Err(e) = part.folder(&prefix, &folder, &mut subfolders) {
                // The listing fails as a whole: the other workers stop too.
                queue.stop();
                return Err(e);
            }
            worker.found(subfolders);
        }
        Ok(part)
    });
    let parts = parts
        .into_iter()
        .map(|p| p.unwrap_or(Err(Error::Fail)))
        .collect::<Result<Vec<Listing>>>()?;
    // The map is built once, at its size, from what every thread found.
    let mut files = HashMap::with_capacity(
        listing.files.len() + parts.iter().map(|p| p.files.len()).sum::<usize>(),
    );
    files.extend(listing.files);
    for part in parts {
        listing.state_bytes += part.state_bytes;
        files.extend(part.files);
    }
    // The space after the listing: a provider that emulates a capacity may count what is
    // used from the listing it has just served (the folder provider does; asked first, it
    // walks the whole device itself).
    let (capacity, free) = root.space()?;
    Ok(DeviceContents {
        files,
        capacity,
        free,
        state_bytes: listing.state_bytes,
    })
}

/// Folders read on one thread before the rest of the device is shared among threads.
const LIST_SHARE_AT: usize = 8;

/// What one thread of [`read_device_contents`] found.
#[derive(Default)]
struct Listing {
    files: Vec<(String, DeviceFile)>,
    state_bytes: u64,
}

impl Listing {
    /// Reads one folder's files, and pushes its subfolders onto `folders`.
    fn folder<O: DeviceObject>(
        &mut self,
        prefix: &str,
        folder: &O,
        folders: &mut Vec<(String, O)>,
    ) -> Result<()> {
        for child in folder.children()? {
            let name = child.name()?;
            if prefix.is_empty() && name == SYNC_FOLDER {
                for f in child.children()? {
                    self.state_bytes += f.size().unwrap_or(0);
                }
                continue;
            }
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            if child.is_folder()? {
                folders.push((path, child));
            } else {
                let size = child.size()?;
                let unique_id = child.unique_id().unwrap_or_default();
                let modified_ns = change_stamp(&child);
                self.files.push((
                    path,
                    DeviceFile {
                        size,
                        unique_id,
                        modified_ns,
                    },
                ));
            }
        }
        Ok(())
    }
}

/// The object at a `/`-separated path, or `None` when it is not there.
pub(crate) fn resolve<O: DeviceObject>(root: &O, path: &str) -> Result<Option<O>> {
    let mut cur = root.clone();
    for c in path.split('/').filter(|c| !c.is_empty()) {
        match cur.child(c) {
            Ok(s) => cur = s,
            Err(e) if is_not_found(&e) || e == Error::InvalidType => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    Ok(Some(cur))
}

/// Splits `a/b/c` into (`a/b`, `c`).
pub(crate) fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

/// The most [`read_all`] reserves up front from an object's reported size.
const READ_ALL_HINT_MAX: u64 = 64 << 20;

/// Reads a whole file through the manager.
pub(crate) fn read_all<O: DeviceObject>(file: &O) -> Result<Vec<u8>> {
    // Sized for the object up front (a ledger is megabytes: growing the buffer as it is read
    // costs copies and page faults), within reason: the size is the device's word.
    let hint = file.size().unwrap_or(0).min(READ_ALL_HINT_MAX);
    let mut out = Vec::with_capacity(usize::try_from(hint).unwrap_or(0));
    file.read_into(&mut out)?;
    Ok(out)
}

/// Whether the device takes renames, as found this session. A device that refuses them (MTP
/// players mounted through FUSE: jmtpfs, gvfs-mtp, simple-mtpfs) answers
/// [`Error::NotSupported`]; the first refusal is remembered, logged once and reported
/// (`SyncSummary::renames_refused`), and from then on nothing tries a rename again: state files
/// are written whole in place ([`write_file_atomic`]) and copies are written under their final
/// names behind an intent record (docs/sync.md, "Devices that refuse renames").
#[derive(Debug, Default)]
pub(crate) struct Renames(AtomicBool);

impl Renames {
    /// True once a rename was refused this session.
    pub(crate) fn refused(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Notes that `error` (from a rename) is a refusal; true when it is.
    pub(crate) fn note(&self, error: &Error) -> bool {
        if *error != Error::NotSupported {
            return false;
        }
        if !self.0.swap(true, Ordering::Relaxed) {
            tracing::info!(
                "the device refuses renames: files are written whole in place for the rest of the session"
            );
        }
        true
    }
}

/// `bytes` with the in-place frame that proves them complete ([`super::text::whole_body`]).
fn frame(bytes: &[u8]) -> Vec<u8> {
    use sha1::Digest;
    let hash = super::journal::hex(&sha1::Sha1::digest(bytes));
    let mut out = format!("{WHOLE_MAGIC}{} {hash}\n", bytes.len()).into_bytes();
    out.extend_from_slice(bytes);
    out
}

/// A state file's content as stored, when it is complete: a plain file (it was renamed into
/// place complete) that is not empty, or a framed one whose length and hash match. `None` for
/// what an interrupted in-place write (or an interrupted first write) left.
pub(crate) fn unframe(stored: Vec<u8>) -> Option<Vec<u8>> {
    if stored.first() != Some(&b'#') {
        return (!stored.is_empty()).then_some(stored);
    }
    whole_body(&stored).map(<[u8]>::to_vec)
}

fn child_opt<O: DeviceObject>(folder: &O, name: &str) -> Result<Option<O>> {
    match folder.child(name) {
        Ok(f) => Ok(Some(f)),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Creates `folder/name` holding `bytes`, written whole by the session that creates it.
pub(crate) fn insert_bytes<O: DeviceObject>(folder: &O, name: &str, bytes: &[u8]) -> Result<O> {
    let mut reader = Cursor::new(bytes);
    folder.insert(
        InsertSource::Reader {
            reader: &mut reader,
            name: name.to_owned(),
            size: bytes.len() as u64,
        },
        &InsertOptions::default(),
        &mut NoProgress,
    )
}

/// Writes `bytes` as `folder/name`: first as `name.new`, then the old file is deleted and the
/// new one renamed into place. A reader that finds only `name.new` takes it (the write got
/// that far, or it is the first write: see [`read_state_from`]); one that finds both takes
/// `name` (the new one may be incomplete) when `name` is complete.
///
/// A `name.new` found alone before writing is the committed copy of an interrupted write: it
/// is renamed into place first, never deleted (deleting it would lose the only copy if the
/// write were interrupted again).
///
/// Where the device refuses renames (`renames`; the first refusal is noted there), the file is
/// written whole in place instead, framed ([`unframe`] tells a complete file from a partial
/// one): the new bytes as `name.new`, the old `name` deleted (the commit point, as above),
/// the bytes again as `name`, then `name.new` deleted. A file with no older copy is written
/// as `name` at once (a partial first write reads as absent, as a partial lone `.new` does).
pub(crate) fn write_file_atomic<O: DeviceObject>(
    folder: &O,
    name: &str,
    bytes: &[u8],
    renames: &Renames,
) -> Result<()> {
    let new_name = format!("{name}.new");
    let mut existing = child_opt(folder, name)?;
    let mut twin = child_opt(folder, &new_name)?;
    if let (Some(e), Some(t)) = (&existing, &twin) {
        // Both: `name` is the committed copy unless it is an in-place write that was cut off
        // (then `name.new` is).
        if unframe(read_all(e)?).is_some() {
            t.delete(false, &mut NoProgress)?;
            twin = None;
        } else {
            e.delete(false, &mut NoProgress)?;
            existing = None;
        }
    }
    if !renames.refused() {
        match (existing, twin) {
            (None, Some(only)) => match only.rename(name, &mut NoProgress) {
                Ok(()) => return write_file_atomic(folder, name, bytes, renames),
                Err(e) if renames.note(&e) => return write_in_place(folder, name, bytes, None),
                Err(e) => return Err(e),
            },
            (existing, _) => {
                let created = insert_bytes(folder, &new_name, bytes)?;
                if let Some(old) = existing {
                    old.delete(false, &mut NoProgress)?;
                }
                return match created.rename(name, &mut NoProgress) {
                    Ok(()) => Ok(()),
                    // `name.new` is the lone committed copy now: finish in place.
                    Err(e) if renames.note(&e) => write_in_place(folder, name, bytes, None),
                    Err(e) => Err(e),
                };
            }
        }
    }
    write_in_place(folder, name, bytes, existing)
}

/// The in-place half of [`write_file_atomic`]: `existing` is a complete `name` (then no
/// `name.new` is there); otherwise any `name.new` is the committed copy.
fn write_in_place<O: DeviceObject>(
    folder: &O,
    name: &str,
    bytes: &[u8],
    existing: Option<O>,
) -> Result<()> {
    let new_name = format!("{name}.new");
    let framed = frame(bytes);
    let twin = match existing {
        Some(old) => {
            let twin = insert_bytes(folder, &new_name, &framed)?;
            old.delete(false, &mut NoProgress)?;
            Some(twin)
        }
        None => child_opt(folder, &new_name)?,
    };
    insert_bytes(folder, name, &framed)?;
    if let Some(t) = twin {
        t.delete(false, &mut NoProgress)?;
    }
    Ok(())
}

/// Puts a lone `name.new` in place (the write protocol's committed copy when `name` is
/// absent), so it is not left for ever when `name` is not written again: renamed, or where
/// renames are refused, written whole as `name` and then deleted. The caller has removed a
/// lone `.new` that does not parse (an interrupted first write) before this.
pub(crate) fn settle_state<O: DeviceObject>(
    root: &O,
    name: &str,
    renames: &Renames,
) -> Result<bool> {
    let Some(folder) = resolve(root, SYNC_FOLDER)? else {
        return Ok(false);
    };
    if child_opt(&folder, name)?.is_some() {
        return Ok(false);
    }
    let Some(only) = child_opt(&folder, &format!("{name}.new"))? else {
        return Ok(false);
    };
    if !renames.refused() {
        match only.rename(name, &mut NoProgress) {
            Ok(()) => return Ok(true),
            Err(e) if renames.note(&e) => {}
            Err(e) => return Err(e),
        }
    }
    let Some(bytes) = unframe(read_all(&only)?) else {
        return Ok(false);
    };
    insert_bytes(&folder, name, &frame(&bytes))?;
    only.delete(false, &mut NoProgress)?;
    Ok(true)
}

/// Removes the interrupted first write of state file `name`: its `.new` twin, and `name`
/// itself when it is partial (an in-place write cut off). Absent files are fine.
pub(crate) fn remove_stale_twin<O: DeviceObject>(root: &O, name: &str) -> Result<bool> {
    let Some(folder) = resolve(root, SYNC_FOLDER)? else {
        return Ok(false);
    };
    let mut changed = false;
    if let Some(f) = child_opt(&folder, &format!("{name}.new"))? {
        f.delete(false, &mut NoProgress)?;
        changed = true;
    }
    match child_opt(&folder, name)? {
        Some(f) if unframe(read_all(&f)?).is_none() => {
            f.delete(false, &mut NoProgress)?;
            Ok(true)
        }
        _ => Ok(changed),
    }
}

/// Deletes every `X.new` in the sync folder whose `X` is there too: by the write protocol the
/// reader takes `X`, so the twin is an interrupted write's leftover.
pub(crate) fn clean_state_twins<O: DeviceObject>(root: &O) -> Result<bool> {
    let Some(folder) = resolve(root, SYNC_FOLDER)? else {
        return Ok(false);
    };
    // Names first: a handle may be to an object deleted below (a partial `X`).
    let mut changed = false;
    let mut children = Vec::new();
    for c in folder.children()? {
        children.push((c.name()?, c));
    }
    let names: std::collections::HashSet<&str> = children.iter().map(|(n, _)| n.as_str()).collect();
    for (name, c) in &children {
        let Some(base) = name.strip_suffix(".new").filter(|b| names.contains(*b)) else {
            continue;
        };
        // `X` is the committed copy unless an in-place write of it was cut off: then the
        // partial `X` goes and the twin stays (the next write or `settle_state` puts it back).
        match child_opt(&folder, base)? {
            Some(main) if unframe(read_all(&main)?).is_none() => {
                main.delete(false, &mut NoProgress)?;
            }
            _ => c.delete(false, &mut NoProgress)?,
        }
        changed = true;
    }
    Ok(changed)
}

/// Reads sync's state file `name`, honouring [`write_file_atomic`]'s protocol.
pub(crate) fn read_state<O: DeviceObject>(root: &O, name: &str) -> Result<Option<Vec<u8>>> {
    Ok(read_state_from(root, name)?
        .map(|(b, _)| b)
        .filter(|b| !b.is_empty()))
}

/// As [`read_state`], also saying whether the bytes came from the `.new` twin. A caller whose
/// bytes came from a lone `.new` and do not parse may take the file as absent: a complete
/// `.new` is alone only after the old file was deleted, so an incomplete one alone is the
/// very first write of the file, interrupted. `name` is taken only when it is complete
/// ([`unframe`]: an in-place write may have been cut off); a partial `name` with no twin is
/// reported the same way, as empty bytes from a twin.
pub(crate) fn read_state_from<O: DeviceObject>(
    root: &O,
    name: &str,
) -> Result<Option<(Vec<u8>, bool)>> {
    let Some(folder) = resolve(root, SYNC_FOLDER)? else {
        return Ok(None);
    };
    let main = match child_opt(&folder, name)? {
        Some(f) => match unframe(read_all(&f)?) {
            Some(bytes) => return Ok(Some((bytes, false))),
            // An in-place write cut off: the twin, if any, is the committed copy.
            None => true,
        },
        None => false,
    };
    match child_opt(&folder, &format!("{name}.new"))? {
        // A partial twin reads as empty bytes, which no state file parses.
        Some(f) => Ok(Some((unframe(read_all(&f)?).unwrap_or_default(), true))),
        // A partial `name` alone is an interrupted first write, reported as a twin that does
        // not parse so the caller removes it.
        None if main => Ok(Some((Vec::new(), true))),
        None => Ok(None),
    }
}

/// An object's change stamp: its last-modified time in nanoseconds since the Unix epoch, as
/// precise as the device keeps it (whole seconds from GetDate where it keeps nothing finer); 0
/// when it gives no date. With the size, the marker statistics compare (`stats_to_read`).
pub(crate) fn change_stamp<O: DeviceObject>(obj: &O) -> i64 {
    const NANOS: i64 = 1_000_000_000;
    if let Ok(Some(t)) = obj.modified_precise() {
        return t
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    }
    obj.date()
        .ok()
        .and_then(|d| d.to_unix().ok())
        .map_or(0, |s| s.saturating_mul(NANOS))
}

/// The change stamp ([`change_stamp`]) of sync's state file `name` on the device (`None`
/// when it is absent or undated).
///
/// # Errors
/// The manager's errors reading the device.
pub(crate) fn state_date<O: DeviceObject>(root: &O, name: &str) -> Result<Option<i64>> {
    let Some(folder) = resolve(root, SYNC_FOLDER)? else {
        return Ok(None);
    };
    for candidate in [name.to_owned(), format!("{name}.new")] {
        match folder.child(&candidate) {
            Ok(f) => return Ok(Some(change_stamp(&f)).filter(|&d| d > 0)),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// Writes sync's state file `name` atomically, finding out whether the device takes renames
/// on the way (a caller that writes more than once per session keeps a [`Renames`] and uses
/// [`write_state_with`]).
pub(crate) fn write_state(root: &WmdmStorage, name: &str, bytes: &[u8]) -> Result<()> {
    write_state_with(root, name, bytes, &Renames::default())
}

/// Writes sync's state file `name` atomically, in place where `renames` says the device
/// refuses renames ([`write_file_atomic`]).
pub(crate) fn write_state_with<O: DeviceObject>(
    root: &O,
    name: &str,
    bytes: &[u8],
    renames: &Renames,
) -> Result<()> {
    let folder = match root.child(SYNC_FOLDER) {
        Ok(f) => f,
        Err(e) if is_not_found(&e) => root.create_folder(SYNC_FOLDER, Placement::Into)?,
        Err(e) => return Err(e),
    };
    write_file_atomic(&folder, name, bytes, renames)
}

/// Every state file whose name starts with `prefix`, with its bytes and whether they came
/// from a lone `.new` twin, sorted by name (as [`read_state_from`] reads them).
pub(crate) fn read_states_with_prefix<O: DeviceObject>(
    root: &O,
    prefix: &str,
) -> Result<Vec<(String, Vec<u8>, bool)>> {
    let Some(folder) = resolve(root, SYNC_FOLDER)? else {
        return Ok(Vec::new());
    };
    let mut names: Vec<String> = Vec::new();
    for child in folder.children()? {
        let name = child.name()?;
        if name.starts_with(prefix) {
            names.push(name.strip_suffix(".new").unwrap_or(&name).to_owned());
        }
    }
    names.sort();
    names.dedup();
    let mut out = Vec::new();
    for name in names {
        if let Some((bytes, twin)) = read_state_from(root, &name)? {
            out.push((name, bytes, twin));
        }
    }
    Ok(out)
}

/// Deletes sync's state file `name` (and any `.new` twin); absent files are fine.
pub(crate) fn delete_state<O: DeviceObject>(root: &O, name: &str) -> Result<()> {
    let Some(folder) = resolve(root, SYNC_FOLDER)? else {
        return Ok(());
    };
    for candidate in [format!("{name}.new"), name.to_owned()] {
        match folder.child(&candidate) {
            Ok(f) => f.delete(false, &mut NoProgress)?,
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "device_tests.rs"]
mod tests;
