//! The one byte codec of the secure channel: a bounds-checked reader and length-prefixed writers.
//!
//! Every integer is little-endian. Variable-length fields carry a `u16` length prefix and a
//! per-field maximum, so an absurd length is rejected before anything is allocated.

use crate::error::{Error, Result};

/// Reads fields from a message; every failure is [`Error::InvalidArg`].
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { rest: bytes }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.rest.len() {
            return Err(Error::InvalidArg);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.take(N)?.try_into().map_err(|_| Error::InvalidArg)
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub(crate) fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    /// A `u16`-length-prefixed field of at least `min` and at most `max` bytes.
    pub(crate) fn vec16(&mut self, min: usize, max: usize) -> Result<&'a [u8]> {
        let len = usize::from(self.u16()?);
        if len < min || len > max {
            return Err(Error::InvalidArg);
        }
        self.take(len)
    }

    /// Bytes consumed so far are everything before `rest`; this is the count left.
    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Trailing bytes are an error: a message means exactly one thing.
    pub(crate) fn finish(self) -> Result<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidArg)
        }
    }
}

/// Appends a `u16`-length-prefixed field.
///
/// # Errors
/// [`Error::InvalidArg`] when `bytes` is longer than `u16::MAX`.
pub(crate) fn put_vec16(out: &mut Vec<u8>, bytes: &[u8]) -> Result<()> {
    let len = u16::try_from(bytes.len()).map_err(|_| Error::InvalidArg)?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_rejects() {
        let mut out = vec![7u8];
        put_vec16(&mut out, b"abc").unwrap();
        let mut r = Reader::new(&out);
        assert_eq!(r.u8().unwrap(), 7);
        assert_eq!(r.vec16(1, 3).unwrap(), b"abc");
        r.finish().unwrap();

        let mut r = Reader::new(&out[1..]);
        assert_eq!(
            r.vec16(0, 2),
            Err(Error::InvalidArg),
            "over the field maximum"
        );
        let mut r = Reader::new(&out[1..4]);
        assert_eq!(r.vec16(0, 3), Err(Error::InvalidArg), "truncated");
        let r = Reader::new(&out);
        assert_eq!(r.finish(), Err(Error::InvalidArg), "trailing bytes");
        assert!(put_vec16(&mut Vec::new(), &vec![0; 70_000]).is_err());
    }
}
