//! IMDSPDirectTransfer's IWMDMOperation source: the provider pulls the content through the
//! operation's TransferObjectData, which carries the data encrypted and MAC'd on the channel
//! between the caller (WMDM) and this provider, like IMDSPObject::Write.

use std::io::{self, Read};

use windows::Win32::Media::DeviceManager::IWMDMOperation;

use super::channel::ComChannel;
use crate::error::{Error, Hresult, Result};
use crate::sac::MAC_LEN;

/// How much one TransferObjectData call asks for.
const CHUNK: usize = 64 * 1024;

fn from_win(e: &windows_core::Error) -> Error {
    Error::from_hresult(Hresult(e.code().0))
}

/// The operation as a byte stream; each chunk is decrypted and its MAC checked.
#[derive(Debug)]
pub(crate) struct OperationReader<'a> {
    op: &'a IWMDMOperation,
    channel: &'a ComChannel,
    chunk: Vec<u8>,
    pos: usize,
    done: bool,
    /// The exact error behind the last `io::Error`, for the COM result.
    pub(crate) failure: Option<Error>,
}

// SAFETY: the reader borrows the operation only for the duration of the TransferToDevice call
// that received it. The operation object is supplied by WMDM, which builds its objects
// free-threaded, so a provider that reads from a helper thread within that call is allowed to
// use it there.
unsafe impl Send for OperationReader<'_> {}

impl<'a> OperationReader<'a> {
    /// BeginRead and GetObjectTotalSize: a reader and the number of bytes it will yield.
    ///
    /// # Errors
    /// The operation's errors.
    pub(crate) fn begin(op: &'a IWMDMOperation, channel: &'a ComChannel) -> Result<(Self, u64)> {
        // SAFETY: a live interface pointer; the out-pointers point at locals.
        unsafe { op.BeginRead() }.map_err(|e| from_win(&e))?;
        let (mut low, mut high) = (0u32, 0u32);
        // SAFETY: as above.
        unsafe { op.GetObjectTotalSize(&mut low, &mut high) }.map_err(|e| from_win(&e))?;
        let reader = OperationReader {
            op,
            channel,
            chunk: Vec::new(),
            pos: 0,
            done: false,
            failure: None,
        };
        Ok((reader, u64::from(low) | (u64::from(high) << 32)))
    }

    fn fetch(&mut self) -> Result<()> {
        let mut data = vec![0u8; CHUNK];
        let mut size = CHUNK as u32;
        let mut mac = [0u8; MAC_LEN];
        // SAFETY: `data` holds `size` writable bytes; `mac` is MAC_LEN bytes.
        unsafe {
            self.op
                .TransferObjectData(data.as_mut_ptr(), &mut size, &mut mac)
        }
        .map_err(|e| from_win(&e))?;
        let n = size as usize;
        if n > CHUNK {
            return Err(Error::InvalidArg);
        }
        data.truncate(n);
        if n == 0 {
            self.done = true;
        } else {
            self.channel.decrypt(&mut data)?;
            self.channel
                .verify_mac(&[&data, &size.to_le_bytes()], &mac)?;
        }
        self.chunk = data;
        self.pos = 0;
        Ok(())
    }

    /// End: tells the operation how the transfer finished.
    pub(crate) fn end(&self, result: &Result<()>, new_object: Option<&windows_core::IUnknown>) {
        let hr = windows_core::HRESULT(match result {
            Ok(()) => 0,
            Err(e) => e.hresult().0,
        });
        // SAFETY: a live interface pointer; `hr` outlives the call. End's own failure has
        // nowhere to go.
        let _ = unsafe { self.op.End(&hr, new_object) };
    }
}

impl Read for OperationReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            if self.done {
                return Ok(0);
            }
            if let Err(e) = self.fetch() {
                self.failure = Some(e.clone());
                return Err(io::Error::other(e));
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
