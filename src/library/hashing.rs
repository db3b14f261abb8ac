//! Reading a track once: a copy reads the track through a [`HashingReader`], which hashes what
//! it yields, so the track's content hash comes with the copy instead of from a second read of
//! the whole file ([`Library::content_hash`](super::Library::content_hash)).

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
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
    hasher: sha1::Sha1,
    read: u64,
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
            read: 0,
        })
    }

    /// The bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// The hash of the bytes read so far.
    pub fn hash(&self) -> ContentHash {
        ContentHash(self.hasher.clone().finalize().into())
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
        let hash = self.hash();
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
        self.hasher.update(got);
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
