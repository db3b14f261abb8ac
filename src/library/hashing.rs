//! Reading a track once: a copy reads the track through a [`HashingReader`], which hashes what
//! it yields, so the track's content hash comes with the copy instead of from a second read of
//! the whole file ([`Library::content_hash`](super::Library::content_hash)).

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::sync::mpsc;
use std::time::SystemTime;

use sha1::Digest;

use super::track::ContentHash;
use crate::error::{Error, Result};

/// Where a [`HashingReader`]'s bytes come from.
enum Source<'a> {
    /// A host file, with its size and modification time when it was opened (from the open
    /// descriptor), so that a change during the read can be told.
    File {
        file: File,
        opened: (u64, SystemTime),
    },
    /// Any other reader (a library held in memory, say).
    Other(Box<dyn Read + Send + 'a>),
}

/// A track's bytes, hashed (SHA-1, as [`ContentHash`]) as they are read. Open one with
/// [`Library::open_hashing`](super::Library::open_hashing); when the copy has read it to the
/// end, [`Library::finish_hashing`](super::Library::finish_hashing) returns the hash and lets
/// the library remember it.
pub struct HashingReader<'a> {
    source: Source<'a>,
    /// The hash of the bytes read so far, while it is computed on this thread.
    hasher: sha1::Sha1,
    /// The thread that hashes instead, once a read yields a large chunk.
    background: Option<Background>,
    read: u64,
}

/// Reads of at least this many bytes are hashed on a second thread (see [`Background`]).
const PARALLEL_CHUNK: usize = 256 << 10;

/// How many chunks may wait for the hashing thread: the reader runs at most this far ahead.
const IN_FLIGHT: usize = 2;

/// Work for the hashing thread.
enum Job {
    Data(Vec<u8>),
    /// Send back the state of the hash after every chunk sent before.
    Snapshot(mpsc::Sender<sha1::Sha1>),
}

/// A second thread that hashes copies of the chunks a large file's reads yield, in order,
/// while the caller writes them out: a copy then costs about the longer of the two instead of
/// their sum (SHA-1 runs at about the speed of a page-cache copy). Its buffers go back to the
/// reader once hashed, so a file costs no allocation per chunk.
struct Background {
    jobs: mpsc::SyncSender<Job>,
    spare: mpsc::Receiver<Vec<u8>>,
    done: std::thread::JoinHandle<sha1::Sha1>,
}

impl Background {
    /// Starts hashing on from `hasher`'s state; `None` when no thread can be started.
    fn start(hasher: sha1::Sha1) -> Option<Background> {
        let (jobs, todo) = mpsc::sync_channel::<Job>(IN_FLIGHT);
        let (give_back, spare) = mpsc::channel::<Vec<u8>>();
        let done = std::thread::Builder::new()
            .name("wmdm-hash".into())
            .spawn(move || {
                let mut hasher = hasher;
                for job in todo {
                    match job {
                        Job::Data(chunk) => {
                            hasher.update(&chunk);
                            // The reader may be gone already; the buffer is then just freed.
                            let _ = give_back.send(chunk);
                        }
                        Job::Snapshot(reply) => {
                            let _ = reply.send(hasher.clone());
                        }
                    }
                }
                hasher
            })
            .ok()?;
        Some(Background { jobs, spare, done })
    }

    /// Queues a copy of `bytes` for hashing; false when the thread is gone.
    fn send(&self, bytes: &[u8]) -> bool {
        let mut chunk = self.spare.try_recv().unwrap_or_default();
        chunk.clear();
        chunk.extend_from_slice(bytes);
        self.jobs.send(Job::Data(chunk)).is_ok()
    }

    /// The hash state after every chunk queued so far; `None` when the thread is gone.
    fn snapshot(&self) -> Option<sha1::Sha1> {
        let (reply, answer) = mpsc::channel();
        self.jobs.send(Job::Snapshot(reply)).ok()?;
        answer.recv().ok()
    }

    /// Waits for every chunk to be hashed; `None` when the thread failed.
    fn finish(self) -> Option<sha1::Sha1> {
        drop(self.jobs);
        self.done.join().ok()
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
            hasher: sha1::Sha1::new(),
            background: None,
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
        Ok(HashingReader {
            source: Source::File { file, opened },
            hasher: sha1::Sha1::new(),
            background: None,
            read: 0,
        })
    }

    /// The bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// The hash of the bytes read so far. Should the hashing thread have failed (it cannot,
    /// short of the process running out of memory), this is a hash no content has:
    /// [`HashingReader::finish`] then fails.
    pub fn hash(&self) -> ContentHash {
        match &self.background {
            None => ContentHash(self.hasher.clone().finalize().into()),
            Some(b) => b
                .snapshot()
                .map_or(ContentHash([0; 20]), |h| ContentHash(h.finalize().into())),
        }
    }

    /// The file's size and modification time when it was opened (`None` for a reader that is
    /// not a host file).
    pub fn opened(&self) -> Option<(u64, SystemTime)> {
        match &self.source {
            Source::File { opened, .. } => Some(*opened),
            Source::Other(_) => None,
        }
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
        let hasher = match self.background {
            None => self.hasher,
            Some(b) => b.finish().ok_or(Error::ProcessFailed)?,
        };
        let hash = ContentHash(hasher.finalize().into());
        match self.source {
            Source::File { file, opened } => {
                let md = file.metadata()?;
                let now = (md.len(), md.modified().unwrap_or(SystemTime::UNIX_EPOCH));
                if now != opened || self.read != opened.0 {
                    return Err(Error::ProcessFailed);
                }
                Ok((hash, Some(opened)))
            }
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
            Source::Other(inner) => inner.read(buf)?,
        };
        let got = buf.get(..n).unwrap_or_default();
        if self.background.is_none() && n >= PARALLEL_CHUNK {
            // Everything from here on is hashed by the thread, in order, from this state.
            let so_far = std::mem::replace(&mut self.hasher, sha1::Sha1::new());
            match Background::start(so_far.clone()) {
                Some(b) => self.background = Some(b),
                None => self.hasher = so_far,
            }
        }
        match &self.background {
            Some(b) => {
                if !b.send(got) {
                    return Err(io::Error::other("the hashing thread stopped"));
                }
            }
            None => self.hasher.update(got),
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

    /// Large reads are hashed on the second thread, small ones before and after them here
    /// or there: the hash is the content's whatever the mix, at every point and at the end.
    #[test]
    fn large_reads_hash_the_same_on_the_second_thread() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut r = HashingReader::new(Box::new(io::Cursor::new(data.clone())));
        let mut small = [0u8; 1000];
        r.read_exact(&mut small).unwrap();
        assert!(r.background.is_none());
        let mut big = vec![0u8; PARALLEL_CHUNK + 7];
        r.read_exact(&mut big).unwrap();
        assert!(r.background.is_some());
        let upto = 1000 + big.len();
        assert_eq!(r.hash(), ContentHash::of_bytes(&data[..upto]));
        r.read_exact(&mut small).unwrap();
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).unwrap();
        assert_eq!(r.bytes_read(), data.len() as u64);
        assert_eq!(r.hash(), ContentHash::of_bytes(&data));
        let (hash, _) = r.finish().unwrap();
        assert_eq!(hash, ContentHash::of_bytes(&data));

        // A reader dropped midway stops its thread (nothing waits for it).
        let mut r = HashingReader::new(Box::new(io::Cursor::new(data)));
        r.read_exact(&mut big).unwrap();
        drop(r);
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
}
