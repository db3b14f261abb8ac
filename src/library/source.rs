//! A file opened for the tag reader: read in a few large blocks, kept in memory.
//!
//! The tag reader seeks back and forth: probing the format, the ID3v2 header, the first audio
//! frame, then the end of the file for ID3v1, APE and Lyrics3 tags. Through a `BufReader`
//! (what `lofty::probe::Probe::open` uses) each seek throws the buffer away, so one small MP3
//! cost about 20 `lseek` and 15 `read` calls. Here a file up to [`WHOLE_FILE`] bytes is read
//! with one call and parsed from memory; a larger one is read in [`BLOCK`]-byte blocks, each
//! read once, so a 4 MB track costs a handful of reads (its head, its tail, maybe a block in
//! between).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

/// Files up to this size are read whole.
const WHOLE_FILE: u64 = 1 << 20;
/// The block size for larger files.
const BLOCK: u64 = 64 << 10;
/// Blocks kept for a large file (the head, the tail and a few in between are all a tag
/// reader visits).
const KEPT_BLOCKS: usize = 8;

/// A read-only file with its blocks cached; `Read + Seek` over the file's length as it was
/// when opened.
#[derive(Debug)]
pub(crate) struct BlockFile {
    file: File,
    len: u64,
    block: u64,
    /// Where the file's own cursor is, so a block that follows the last one needs no seek.
    file_pos: u64,
    pos: u64,
    /// (block index, bytes), most recently used last.
    blocks: Vec<(u64, Vec<u8>)>,
    /// Blocks read from the file so far (what the tests check).
    #[cfg(test)]
    loads: u32,
}

impl BlockFile {
    /// Opens `path` (one `open` and one `fstat`).
    ///
    /// # Errors
    /// The I/O error of opening or statting the file.
    #[cfg(test)]
    pub(crate) fn open(path: &Path) -> io::Result<BlockFile> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        Ok(BlockFile::new(file, len))
    }

    /// Opens `path`, taking its length from the folder walk that found it (one `open`, no
    /// `fstat`). The reader sees at most `len` bytes; a file that shrank since simply ends
    /// early, and one that grew is read as it was when walked.
    ///
    /// # Errors
    /// The I/O error of opening the file.
    pub(crate) fn open_walked(path: &Path, len: u64) -> io::Result<BlockFile> {
        Ok(BlockFile::new(
            crate::sys::files::open_unchanged(path)?,
            len,
        ))
    }

    fn new(file: File, len: u64) -> BlockFile {
        BlockFile {
            file,
            len,
            block: if len <= WHOLE_FILE { len.max(1) } else { BLOCK },
            file_pos: 0,
            pos: 0,
            blocks: Vec::new(),
            #[cfg(test)]
            loads: 0,
        }
    }

    /// How many blocks were read from the file (each one `read`, maybe after one `lseek`).
    #[cfg(test)]
    pub(crate) fn loads(&self) -> u32 {
        self.loads
    }

    /// The block `index`, read from the file when not cached.
    fn load(&mut self, index: u64) -> io::Result<&[u8]> {
        if let Some(at) = self.blocks.iter().position(|(i, _)| *i == index) {
            let hit = self.blocks.remove(at);
            self.blocks.push(hit);
        } else {
            let start = index.saturating_mul(self.block);
            let want = self.block.min(self.len.saturating_sub(start));
            let mut data = vec![0u8; usize::try_from(want).map_err(io::Error::other)?];
            if self.file_pos != start {
                self.file.seek(SeekFrom::Start(start))?;
                self.file_pos = start;
            }
            let mut filled = 0;
            while let Some(rest) = data.get_mut(filled..).filter(|r| !r.is_empty()) {
                match self.file.read(rest) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            // A file that shrank since it was opened ends early.
            data.truncate(filled);
            #[cfg(test)]
            {
                self.loads = self.loads.saturating_add(1);
            }
            self.file_pos = start + filled as u64;
            if self.blocks.len() >= KEPT_BLOCKS {
                self.blocks.remove(0);
            }
            self.blocks.push((index, data));
        }
        Ok(self.blocks.last().map_or(&[][..], |(_, d)| d.as_slice()))
    }
}

impl Read for BlockFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.pos >= self.len {
            return Ok(0);
        }
        let (index, offset) = (self.pos / self.block, self.pos % self.block);
        let data = self.load(index)?;
        let available = data
            .get(usize::try_from(offset).unwrap_or(usize::MAX)..)
            .unwrap_or_default();
        let n = available.len().min(buf.len());
        if let (Some(to), Some(from)) = (buf.get_mut(..n), available.get(..n)) {
            to.copy_from_slice(from);
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for BlockFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let target = target.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the file",
            )
        })?;
        self.pos = target;
        Ok(target)
    }

    fn stream_position(&mut self) -> io::Result<u64> {
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    /// Reads `len` bytes at `at` the slow, obvious way and through a BlockFile.
    fn check(block_file: &mut BlockFile, data: &[u8], at: u64, len: usize) {
        block_file.seek(SeekFrom::Start(at)).unwrap();
        let mut got = vec![0u8; len];
        let mut filled = 0;
        while filled < len {
            let n = block_file.read(&mut got[filled..]).unwrap();
            if n == 0 {
                break;
            }
            filled += n;
        }
        let start = (at as usize).min(data.len());
        let end = (start + len).min(data.len());
        assert_eq!(&got[..filled], &data[start..end], "at {at}, {len} bytes");
    }

    #[test]
    fn reads_what_the_file_holds_anywhere_small_or_large() {
        let dir = tempfile::tempdir().unwrap();
        for len in [0usize, 1, 17_000, (WHOLE_FILE + 3 * BLOCK + 5) as usize] {
            let path = dir.path().join(format!("f{len}"));
            let data = sample(len);
            std::fs::write(&path, &data).unwrap();
            let mut f = BlockFile::open(&path).unwrap();
            let b = BLOCK;
            for (at, n) in [
                (0, 10),
                (0, len + 10),
                (b - 3, 10),
                (len as u64, 5),
                (len as u64 + 100, 5),
                (len.saturating_sub(128) as u64, 128),
                (3 * b + 1, (2 * b) as usize),
                (7, 1),
            ] {
                check(&mut f, &data, at, n);
            }
        }
    }

    #[test]
    fn a_file_that_changed_since_the_walk_is_read_as_walked_or_ends_early() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, sample(1000)).unwrap();
        let mut grown = BlockFile::open_walked(&path, 600).unwrap();
        let mut all = Vec::new();
        grown.read_to_end(&mut all).unwrap();
        assert_eq!(all, sample(1000)[..600]);
        let mut shrunk = BlockFile::open_walked(&path, 5000).unwrap();
        all.clear();
        shrunk.read_to_end(&mut all).unwrap();
        assert_eq!(all, sample(1000));
    }

    #[test]
    fn seeks_from_the_end_and_refuses_to_go_before_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, sample(1000)).unwrap();
        let mut f = BlockFile::open(&path).unwrap();
        assert_eq!(f.seek(SeekFrom::End(-128)).unwrap(), 872);
        assert_eq!(f.seek(SeekFrom::Current(28)).unwrap(), 900);
        assert!(f.seek(SeekFrom::Current(-901)).is_err());
        assert!(f.seek(SeekFrom::End(-1001)).is_err());
        assert_eq!(f.stream_position().unwrap(), 900);
    }

    #[test]
    fn a_large_file_keeps_a_bounded_number_of_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        let len = (WHOLE_FILE + 20 * BLOCK) as usize;
        let data = sample(len);
        std::fs::write(&path, &data).unwrap();
        let mut f = BlockFile::open(&path).unwrap();
        let mut all = Vec::new();
        f.read_to_end(&mut all).unwrap();
        assert_eq!(all, data);
        assert!(f.blocks.len() <= KEPT_BLOCKS);
    }
}
