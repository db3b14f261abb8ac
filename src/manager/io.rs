//! IMDSPObject's data calls on the provider's side of the channel: Read and Write through the
//! session (§4.3), and IMDSPObject2's clear channel.

use std::fmt;
use std::sync::Arc;

use super::authenticated::Shared;
use crate::error::{Error, Result};
use crate::flags::SeekOrigin;
use crate::provider::ObjectIo;
use crate::sac::MAC_LEN;

/// An open object's data on the provider's side of the channel: IMDSPObject::Read and Write
/// encrypt, decrypt and MAC; IMDSPObject2's clear-channel forms do not.
pub struct AuthenticatedIo {
    shared: Arc<Shared>,
    io: Box<dyn ObjectIo>,
    clear: bool,
}

impl fmt::Debug for AuthenticatedIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticatedIo")
            .field("io", &self.io)
            .field("clear", &self.clear)
            .finish_non_exhaustive()
    }
}

fn dword(len: usize) -> Result<[u8; 4]> {
    Ok(u32::try_from(len)
        .map_err(|_| Error::InvalidArg)?
        .to_le_bytes())
}

impl AuthenticatedIo {
    pub(crate) fn new(shared: Arc<Shared>, io: Box<dyn ObjectIo>, clear: bool) -> AuthenticatedIo {
        AuthenticatedIo { shared, io, clear }
    }

    fn write_all(&mut self, mut data: &[u8]) -> Result<usize> {
        let total = data.len();
        while !data.is_empty() {
            let n = self.io.write(data)?;
            if n == 0 {
                return Err(Error::DiskFull);
            }
            data = data.get(n..).ok_or(Error::Fail)?;
        }
        Ok(total)
    }

    /// IMDSPObject::Read: reads plaintext, MACs it with its size (a DWORD), then encrypts it in
    /// place (§4.3). Returns the bytes read and the MAC.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; [`Error::InvalidArg`] for a buffer over
    /// 4 GiB; the provider's errors.
    pub fn read_secure(&mut self, buf: &mut [u8]) -> Result<(usize, [u8; MAC_LEN])> {
        let io = &mut self.io;
        self.shared.with_session(|session| {
            dword(buf.len())?;
            let n = io.read(buf)?;
            let data = buf.get_mut(..n).ok_or(Error::Fail)?;
            let mac = session.mac(&[data, &dword(n)?]);
            session.encrypt_param(data)?;
            Ok((n, mac))
        })
    }

    /// IMDSPObject::Write: decrypts `data` in place, checks the MAC over the plaintext and its
    /// size, and only then writes. Returns the bytes written.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; [`Error::MacCheckFailed`] when the MAC
    /// does not match (nothing is written); [`Error::InvalidArg`] for data over 4 GiB; the
    /// provider's errors.
    pub fn write_secure(&mut self, data: &mut [u8], mac: &[u8; MAC_LEN]) -> Result<usize> {
        let len = dword(data.len())?;
        self.shared.with_session(|session| {
            session.decrypt_param(data)?;
            session.verify_mac(&[data, &len], mac)
        })?;
        self.write_all(data)
    }

    fn check_clear(&self) -> Result<()> {
        self.shared.check()?;
        if self.clear {
            Ok(())
        } else {
            Err(Error::NotSupported)
        }
    }

    /// IMDSPObject2::ReadOnClearChannel.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; [`Error::NotSupported`] when the object
    /// has no clear channel; the provider's errors.
    pub fn read_clear(&mut self, buf: &mut [u8]) -> Result<usize> {
        self.check_clear()?;
        self.io.read(buf)
    }

    /// IMDSPObject2::WriteOnClearChannel.
    ///
    /// # Errors
    /// As [`AuthenticatedIo::read_clear`].
    pub fn write_clear(&mut self, data: &[u8]) -> Result<usize> {
        self.check_clear()?;
        self.write_all(data)
    }

    /// IMDSPObject::Seek.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors.
    pub fn seek(&mut self, origin: SeekOrigin, offset: u64) -> Result<u64> {
        self.shared.check()?;
        self.io.seek(origin, offset)
    }

    /// IMDSPObject::Close.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication (the write is then abandoned); the
    /// provider's errors.
    pub fn close(self) -> Result<()> {
        self.shared.check()?;
        self.io.close()
    }
}
