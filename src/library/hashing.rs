//! Reading a track once: a copy reads the track through a [`HashingReader`], which hashes what
//! it yields, so the track's content hash comes with the copy instead of from a second read of
//! the whole file ([`Library::content_hash`](super::Library::content_hash)).

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::SystemTime;

use sha1::Digest;

use super::track::ContentHash;
use crate::error::{Error, Result};

/// A track that is a host file, described so that a copy can open it on another thread,
/// without the library ([`Library::copy_source`](super::Library::copy_source)): its path, and
/// the size and modification time the library's scan saw (the plan was made for that file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopySource {
    /// The file.
    pub path: std::path::PathBuf,
    /// Its size when the library scanned it.
    pub size: u64,
    /// Its modification time when the library scanned it.
    pub modified: SystemTime,
}

impl CopySource {
    /// Opens the file for a copy, hashed as it is read (one `open` and one `fstat`). Finish
    /// the read with [`Library::finish_hashing`](super::Library::finish_hashing).
    ///
    /// # Errors
    /// [`Error::ProcessFailed`] when the file's size or date is no longer what the scan saw
    /// (the plan was made for other bytes); the I/O error of the open or the `fstat`.
    pub fn open(&self) -> Result<HashingReader<'static>> {
        let reader = HashingReader::of_file(crate::sys::files::open_unchanged(&self.path)?)?;
        if reader.opened() != Some((self.size, self.modified)) {
            return Err(Error::ProcessFailed);
        }
        Ok(reader)
    }
}

/// Where a [`HashingReader`]'s bytes come from.
enum Source<'a> {
    /// A host file, with its size and modification time when it was opened (from the open
    /// descriptor), so that a change during the read can be told.
    File {
        file: File,
        opened: (u64, SystemTime),
    },
    /// A host file read to its end and found unchanged ([`HashingReader::check_whole`]),
    /// then closed: nothing more to read.
    Checked { opened: (u64, SystemTime) },
    /// Any other reader (a library held in memory, say).
    Other(Box<dyn Read + Send + 'a>),
}

/// A track's bytes, hashed (SHA-1, as [`ContentHash`]) as they are read. Open one with
/// [`Library::open_hashing`](super::Library::open_hashing); when the copy has read it to the
/// end, [`Library::finish_hashing`](super::Library::finish_hashing) returns the hash and lets
/// the library remember it.
pub struct HashingReader<'a> {
    source: Source<'a>,
    hasher: Hasher,
    read: u64,
}

/// Files at least this large are hashed on a thread of their own, beside the copy that reads
/// them (a large track's SHA-1 costs about as much as copying it); smaller ones inline, where
/// a thread would cost more than it saves.
const BACKGROUND_FROM: u64 = 1 << 20;
/// The bytes handed to the hashing thread at a time: the size of the folder provider's copy
/// buffer (each read is handed over whole), small enough to stay in the processor's cache
/// while the copy writes it on.
const CHUNK: usize = 256 << 10;
/// Chunks in flight to the hashing thread: the copy runs at most this far (4 MiB) ahead of
/// the hash.
const IN_FLIGHT: usize = 16;

/// Where the hash is computed.
enum Hasher {
    Inline(sha1::Sha1),
    /// On a thread of its own; behind a mutex so that [`HashingReader::hash`] (which takes
    /// `&self`) can wait for it.
    Background(Mutex<Background>),
}

/// A hashing thread, fed the bytes read in chunks, which it hands back for reuse.
struct Background {
    /// The bytes read and not yet handed over.
    pending: Vec<u8>,
    to_thread: Option<SyncSender<Vec<u8>>>,
    spent: Option<Receiver<Vec<u8>>>,
    thread: Option<JoinHandle<sha1::Sha1>>,
    /// The thread's result, once it has ended.
    done: Option<sha1::Sha1>,
}

impl Background {
    fn start() -> Background {
        let (to_thread, chunks) = sync_channel::<Vec<u8>>(IN_FLIGHT);
        let (give_back, spent) = sync_channel::<Vec<u8>>(IN_FLIGHT + 1);
        let thread = std::thread::Builder::new()
            .name("wmdm-hash".into())
            .spawn(move || {
                let mut hasher = sha1::Sha1::new();
                for mut chunk in chunks {
                    hasher.update(&chunk);
                    chunk.clear();
                    // A full return channel only means the chunk is dropped.
                    let _ = give_back.try_send(chunk);
                }
                hasher
            })
            .ok();
        Background {
            pending: Vec::with_capacity(CHUNK),
            to_thread: Some(to_thread),
            spent: Some(spent),
            thread,
            done: None,
        }
    }

    /// Adds read bytes, handing a chunk to the thread when one is full.
    fn update(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        if self.pending.len() >= CHUNK {
            self.hand_over();
        }
    }

    fn hand_over(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let fresh = self
            .spent
            .as_ref()
            .and_then(|s| s.try_recv().ok())
            .unwrap_or_else(|| Vec::with_capacity(CHUNK));
        let chunk = std::mem::replace(&mut self.pending, fresh);
        if let Some(tx) = &self.to_thread
            && let Err(e) = tx.send(chunk)
        {
            // The thread is gone (it could not be started, or panicked): hash what is
            // left here, after what it had.
            self.pending = e.0;
            self.to_thread = None;
        }
    }

    /// The hasher of everything handed over and pending, the thread ended; `None` when the
    /// thread failed (it does not: hashing cannot fail), so no hash is given rather than a
    /// wrong one.
    fn finish(&mut self) -> Option<sha1::Sha1> {
        if self.done.is_none() {
            self.hand_over();
            self.to_thread = None;
            let mut hasher = match self.thread.take().map(JoinHandle::join) {
                Some(Ok(h)) => h,
                // The thread never started: everything read is still pending.
                None => sha1::Sha1::new(),
                Some(Err(_)) => return None,
            };
            hasher.update(&self.pending);
            self.pending.clear();
            self.done = Some(hasher);
        }
        self.done.clone()
    }
}

impl fmt::Debug for HashingReader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashingReader")
            .field("read", &self.read)
            .finish_non_exhaustive()
    }
}

impl<'a> HashingReader<'a> {
    /// Hashes what `inner` yields.
    pub fn new(inner: Box<dyn Read + Send + 'a>) -> HashingReader<'a> {
        HashingReader {
            source: Source::Other(inner),
            hasher: Hasher::Inline(sha1::Sha1::new()),
            read: 0,
        }
    }

    /// Hashes a host file, noting its size and modification time now (one `fstat`).
    ///
    /// # Errors
    /// The I/O error of the `fstat`.
    pub fn of_file(file: File) -> Result<HashingReader<'a>> {
        let md = file.metadata()?;
        let opened = (md.len(), md.modified().unwrap_or(SystemTime::UNIX_EPOCH));
        let hasher = if opened.0 >= BACKGROUND_FROM {
            Hasher::Background(Mutex::new(Background::start()))
        } else {
            Hasher::Inline(sha1::Sha1::new())
        };
        Ok(HashingReader {
            source: Source::File { file, opened },
            hasher,
            read: 0,
        })
    }

    /// The bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// The hash of the bytes read so far.
    pub fn hash(&self) -> ContentHash {
        self.digest().unwrap_or(ContentHash([0; 20]))
    }

    /// The hash of the bytes read so far; `None` when the hashing thread failed.
    fn digest(&self) -> Option<ContentHash> {
        let hasher = match &self.hasher {
            Hasher::Inline(h) => h.clone(),
            Hasher::Background(b) => b.lock().ok()?.finish()?,
        };
        Some(ContentHash(hasher.finalize().into()))
    }

    /// The file's size and modification time when it was opened (`None` for a reader that is
    /// not a host file).
    pub fn opened(&self) -> Option<(u64, SystemTime)> {
        match &self.source {
            Source::File { opened, .. } | Source::Checked { opened } => Some(*opened),
            Source::Other(_) => None,
        }
    }

    /// Checks now, for a host file read to its end, what [`finish`](Self::finish) checks
    /// (every byte read; the file still of the size and date it had when opened: one
    /// `fstat`), and closes the file. For bytes read ahead of the step that writes them: the
    /// check follows the read at once, on the reading thread, and `finish` then returns the
    /// hash without looking at the file again (a change after this check is a later version
    /// of the file, which the next sync copies: the stamp returned is the one read). Any
    /// other reader is left as it is.
    ///
    /// # Errors
    /// [`Error::ProcessFailed`] when the read stopped before the end or the file changed
    /// while it was read; the I/O error of the `fstat`.
    pub fn check_whole(&mut self) -> Result<()> {
        let Source::File { file, opened } = &self.source else {
            return Ok(());
        };
        let opened = *opened;
        let md = file.metadata()?;
        let now = (md.len(), md.modified().unwrap_or(SystemTime::UNIX_EPOCH));
        if now != opened || self.read != opened.0 {
            return Err(Error::ProcessFailed);
        }
        self.source = Source::Checked { opened };
        Ok(())
    }

    /// The hash of the whole file: checks that every byte was read and, for a host file, that
    /// it still has the size and modification time it had when opened (one `fstat`). Returns
    /// the hash with the file's (size, modification time) as read.
    ///
    /// # Errors
    /// [`Error::ProcessFailed`] when the read stopped before the end, or the file changed
    /// while it was read (its bytes are then not those of any one version of the file); the
    /// I/O error of the `fstat`.
    pub fn finish(self) -> Result<(ContentHash, Option<(u64, SystemTime)>)> {
        let hash = self.digest().ok_or(Error::Fail)?;
        match self.source {
            Source::File { file, opened } => {
                let md = file.metadata()?;
                let now = (md.len(), md.modified().unwrap_or(SystemTime::UNIX_EPOCH));
                if now != opened || self.read != opened.0 {
                    return Err(Error::ProcessFailed);
                }
                Ok((hash, Some(opened)))
            }
            Source::Checked { opened } => Ok((hash, Some(opened))),
            Source::Other(mut inner) => {
                // A reader of unknown length is complete when it has nothing more to give.
                let mut probe = [0u8; 1];
                if inner.read(&mut probe)? != 0 {
                    return Err(Error::ProcessFailed);
                }
                Ok((hash, None))
            }
        }
    }
}

impl Read for HashingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match &mut self.source {
            Source::File { file, .. } => file.read(buf)?,
            Source::Checked { .. } => 0,
            Source::Other(inner) => inner.read(buf)?,
        };
        let got = buf.get(..n).unwrap_or_default();
        match &mut self.hasher {
            Hasher::Inline(h) => h.update(got),
            Hasher::Background(b) => match b.get_mut() {
                Ok(b) if b.done.is_none() => b.update(got),
                _ if got.is_empty() => {}
                // Read after the hash was taken (or the lock poisoned): the hash no longer
                // covers every byte, which `finish` reports.
                _ => return Err(io::Error::other("read after the hash was taken")),
            },
        }
        self.read = self.read.saturating_add(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_of_a_full_read_is_the_content_hash() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
        let mut r = HashingReader::new(Box::new(io::Cursor::new(data.clone())));
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
        assert_eq!(r.bytes_read(), data.len() as u64);
        let (hash, opened) = r.finish().unwrap();
        assert_eq!(hash, ContentHash::of_bytes(&data));
        assert_eq!(opened, None);
    }

    #[test]
    fn a_large_file_is_hashed_beside_the_copy_to_the_same_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.flac");
        // Not a multiple of the chunk, so the last chunk is a partial one.
        let len = BACKGROUND_FROM as usize + 3 * CHUNK + 12_345;
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let mut r = HashingReader::of_file(File::open(&path).unwrap()).unwrap();
        assert!(matches!(r.hasher, Hasher::Background(_)));
        let mut out = Vec::new();
        // Odd read sizes, as a copy loop may use.
        let mut buf = vec![0u8; 70_001];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(out, data);
        let want = ContentHash::of_bytes(&data);
        // `hash` waits for the thread, and may be asked more than once.
        assert_eq!(r.hash(), want);
        assert_eq!(r.hash(), want);
        // Reading at the end still gives nothing; more bytes after the hash are refused.
        assert_eq!(r.read(&mut buf).unwrap(), 0);
        let (hash, opened) = r.finish().unwrap();
        assert_eq!(hash, want);
        assert_eq!(opened.map(|o| o.0), Some(data.len() as u64));

        // Stopped early: no hash, as inline.
        let mut r = HashingReader::of_file(File::open(&path).unwrap()).unwrap();
        let mut half = vec![0u8; CHUNK + 7];
        r.read_exact(&mut half).unwrap();
        assert_eq!(r.finish().unwrap_err(), Error::ProcessFailed);
    }

    #[test]
    fn a_read_that_stopped_early_has_no_hash() {
        let mut r = HashingReader::new(Box::new(io::Cursor::new(vec![1u8; 100])));
        let mut half = [0u8; 50];
        r.read_exact(&mut half).unwrap();
        assert_eq!(r.finish().unwrap_err(), Error::ProcessFailed);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.mp3");
        std::fs::write(&path, vec![7u8; 1000]).unwrap();
        let mut r = HashingReader::of_file(File::open(&path).unwrap()).unwrap();
        r.read_exact(&mut half).unwrap();
        assert_eq!(r.finish().unwrap_err(), Error::ProcessFailed);
    }

    #[test]
    fn a_file_changed_during_the_read_has_no_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.mp3");
        std::fs::write(&path, vec![7u8; 1000]).unwrap();
        let mut r = HashingReader::of_file(File::open(&path).unwrap()).unwrap();
        assert_eq!(r.opened().map(|o| o.0), Some(1000));
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        // Another program appends while the copy is under way.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"more"))
            .unwrap();
        assert_eq!(r.finish().unwrap_err(), Error::ProcessFailed);

        let mut r = HashingReader::of_file(File::open(&path).unwrap()).unwrap();
        r.read_to_end(&mut out).unwrap();
        let (hash, opened) = r.finish().unwrap();
        assert_eq!(hash, ContentHash::of_bytes(&std::fs::read(&path).unwrap()));
        assert_eq!(opened.map(|o| o.0), Some(1004));
    }

    #[test]
    fn a_read_checked_whole_at_once_finishes_without_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.mp3");
        std::fs::write(&path, vec![7u8; 1000]).unwrap();
        let append = |bytes: &[u8]| {
            std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .and_then(|mut f| std::io::Write::write_all(&mut f, bytes))
                .unwrap();
        };
        // Changed during the read: the check says so at once.
        let mut r = HashingReader::of_file(File::open(&path).unwrap()).unwrap();
        r.read_to_end(&mut Vec::new()).unwrap();
        append(b"more");
        assert_eq!(r.check_whole().unwrap_err(), Error::ProcessFailed);
        // Not read to the end: refused too.
        let mut r = HashingReader::of_file(File::open(&path).unwrap()).unwrap();
        r.read_exact(&mut [0u8; 10]).unwrap();
        assert_eq!(r.check_whole().unwrap_err(), Error::ProcessFailed);
        // Read whole and unchanged: the file is closed, and what follows does not matter
        // (the bytes read are one version of it, the one whose stamp is returned).
        let mut r = HashingReader::of_file(File::open(&path).unwrap()).unwrap();
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        r.check_whole().unwrap();
        assert_eq!(r.read(&mut [0u8; 8]).unwrap(), 0, "nothing more to read");
        append(b"later");
        std::fs::remove_file(&path).unwrap();
        let (hash, opened) = r.finish().unwrap();
        assert_eq!(hash, ContentHash::of_bytes(&out));
        assert_eq!(opened.map(|o| o.0), Some(1004));
    }
}
