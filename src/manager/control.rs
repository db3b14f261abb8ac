//! IWMDMStorageControl/2/3: insert, delete, rename, move and read, with progress and cancel,
//! and object data through the secure channel (§4.3) or the clear channel (IMDSPObject2).

use std::fmt;
use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use super::io::AuthenticatedIo;
use super::objects::WmdmStorage;
use crate::error::{Error, Result};
use crate::flags::{OpenMode, Placement};
use crate::metadata::Metadata;
use crate::provider::{
    CreateRequest, NoProgress, Progress, TransferOptions, TransferSource, run_with_progress,
};

/// How many bytes cross the channel per Read or Write call.
pub const TRANSFER_CHUNK: usize = 256 * 1024;

/// Where inserted content comes from: IWMDMStorageControl::Insert's `pwszFile`, or an
/// IWMDMOperation (`WMDM_CONTENT_OPERATIONINTERFACE`), played by a reader with a name and size.
pub enum InsertSource<'a> {
    /// A file on the host; the object takes the file's name unless
    /// [`InsertOptions::name`] is set.
    File(&'a Path),
    /// A stream: GetObjectName, GetObjectTotalSize and TransferObjectData of IWMDMOperation.
    Reader {
        /// The data (BeginRead / TransferObjectData).
        reader: &'a mut (dyn Read + Send),
        /// The object's name (GetObjectName).
        name: String,
        /// The expected size in bytes (GetObjectTotalSize); progress is measured against it.
        size: u64,
    },
}

impl fmt::Debug for InsertSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InsertSource::File(p) => f.debug_tuple("File").field(p).finish(),
            InsertSource::Reader { name, size, .. } => f
                .debug_struct("Reader")
                .field("name", name)
                .field("size", size)
                .finish_non_exhaustive(),
        }
    }
}

/// The mode of an insert: placement, overwrite, name and metadata (Insert3's fuMode,
/// pwszFileDest and pMetaData).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InsertOptions {
    /// `WMDM_STORAGECONTROL_INSERTINTO` (the default: into this folder), or before / after
    /// this object as a sibling.
    pub placement: Placement,
    /// `WMDM_FILE_CREATE_OVERWRITE`.
    pub overwrite: bool,
    /// The destination name (`pwszFileDest`); by default the source's name.
    pub name: Option<String>,
    /// Metadata for the new object (Insert3's `pMetaData`).
    pub metadata: Option<Metadata>,
    /// The name is the caller's own temporary name ([`TransferOptions::temporary`]).
    pub temporary: bool,
}

impl InsertOptions {
    /// What a provider that copies content itself (IMDSPDirectTransfer) is asked for, the
    /// destination named `name`.
    pub(crate) fn transfer_options(&self, name: String) -> TransferOptions {
        TransferOptions {
            destination_name: name,
            overwrite: self.overwrite,
            metadata: self.metadata.clone(),
            temporary: self.temporary,
        }
    }

    /// The creation of the new file named `name` (IMDSPStorage::CreateStorage), `size` bytes
    /// expected, when the content is written through the object's own I/O.
    pub(crate) fn create_request(&self, name: String, size: u64) -> CreateRequest {
        let mut request = CreateRequest::file(name)
            .placement(self.placement)
            .size_hint(size);
        if self.overwrite {
            request = request.overwrite();
        }
        if let Some(m) = &self.metadata {
            request = request.metadata(m.clone());
        }
        request
    }
}

/// Where read content goes: IWMDMStorageControl::Read's `pwszFile`, or an IWMDMOperation
/// (BeginWrite / TransferObjectData), played by a writer.
pub enum ReadTarget<'a> {
    /// A host file. It appears only when the read completes: the data goes to a temporary
    /// sibling first, which is removed on failure or cancel.
    File(&'a Path),
    /// A writer; on failure it may have received part of the data.
    Writer(&'a mut dyn Write),
}

impl fmt::Debug for ReadTarget<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadTarget::File(p) => f.debug_tuple("File").field(p).finish(),
            ReadTarget::Writer(_) => f.write_str("Writer(..)"),
        }
    }
}

fn read_full(reader: &mut dyn Read, buf: &mut [u8]) -> Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = reader.read(buf.get_mut(filled..).ok_or(Error::Fail)?)?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

impl WmdmStorage {
    /// Sends one chunk to the provider: the clear channel when the object offers it, otherwise
    /// MAC over plaintext and size, encrypt, and IMDSPObject::Write (§4.3). The manager's
    /// session is held across both so the encryption counters stay in step.
    fn send(&self, io: &mut AuthenticatedIo, clear: bool, chunk: &mut [u8]) -> Result<()> {
        if clear {
            io.write_clear(chunk)?;
            return Ok(());
        }
        let size = u32::try_from(chunk.len()).map_err(|_| Error::InvalidArg)?;
        let mut session = self.link.session()?;
        let mac = session.mac(&[chunk, &size.to_le_bytes()]);
        session.encrypt_param(chunk)?;
        io.write_secure(chunk, &mac)?;
        Ok(())
    }

    /// Receives one chunk: IMDSPObject::Read, decrypt, then check the MAC over the plaintext
    /// and its size; or the clear channel.
    fn receive(&self, io: &mut AuthenticatedIo, clear: bool, buf: &mut [u8]) -> Result<usize> {
        if clear {
            return io.read_clear(buf);
        }
        let mut session = self.link.session()?;
        let (n, mac) = io.read_secure(buf)?;
        let data = buf.get_mut(..n).ok_or(Error::Fail)?;
        session.decrypt_param(data)?;
        let size = u32::try_from(n).map_err(|_| Error::InvalidArg)?;
        session.verify_mac(&[data, &size.to_le_bytes()], &mac)?;
        Ok(n)
    }

    fn copy_in(
        &self,
        target: &WmdmStorage,
        reader: &mut dyn Read,
        progress: &mut dyn Progress,
    ) -> Result<()> {
        let clear = target.storage.supports_clear_channel();
        let mut io = target.storage.open(OpenMode::WRITE)?;
        let mut buf = vec![0u8; TRANSFER_CHUNK];
        let mut done = 0u64;
        loop {
            let n = read_full(reader, &mut buf)?;
            if n == 0 {
                break;
            }
            let chunk = buf.get_mut(..n).ok_or(Error::Fail)?;
            self.send(&mut io, clear, chunk)?;
            done += n as u64;
            progress.progress(done)?;
        }
        io.close()
    }

    /// IWMDMStorageControl::Insert / Insert2 / Insert3: creates a file relative to this object
    /// and copies the source into it. When this folder offers IMDSPDirectTransfer and the
    /// placement is `Into`, the provider copies the content itself. Progress ticks are bytes: `begin(size)`, `progress(done)`
    /// after every chunk, `end(result)`. When the progress sink cancels (or anything fails
    /// after creation), the new object is deleted, so no partial object is left.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; [`Error::UserCancelled`] (or the sink's
    /// error) when cancelled; [`Error::InvalidArg`] for a file path without a name; host I/O
    /// errors reading the source; the provider's errors ([`Error::AlreadyExists`],
    /// [`Error::InvalidType`] for `Into` a file, [`Error::DiskFull`], ...).
    pub fn insert(
        &self,
        source: InsertSource<'_>,
        options: &InsertOptions,
        progress: &mut dyn Progress,
    ) -> Result<WmdmStorage> {
        self.link.check()?;
        let mut file;
        let (reader, source_name, size): (&mut (dyn Read + Send), String, u64) = match source {
            InsertSource::File(path) => {
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .ok_or(Error::InvalidArg)?
                    .to_owned();
                file = fs::File::open(path)?;
                let size = file.metadata()?.len();
                (&mut file, name, size)
            }
            InsertSource::Reader { reader, name, size } => (reader, name, size),
        };
        let name = options.name.clone().unwrap_or(source_name);
        tracing::debug!(op = "insert", name = %name, size, "device operation");
        // WMDM asks for IMDSPDirectTransfer on every transfer and, when the provider has it,
        // lets the provider copy the content itself.
        if options.placement == Placement::Into && self.storage.supports_direct_transfer() {
            let transfer = options.transfer_options(name);
            return run_with_progress(progress, size, |p| {
                let source = TransferSource::Reader { reader, size };
                Ok(self.wrap(self.storage.transfer_to_device(source, &transfer, p)?))
            });
        }
        let request = options.create_request(name, size);
        run_with_progress(progress, size, |p| {
            let created = self.wrap(self.storage.create(&request)?);
            match self.copy_in(&created, reader, p) {
                Ok(()) => Ok(created),
                Err(e) => {
                    // Leave nothing half-written behind; the original error is what matters.
                    if let Err(cleanup) = created.storage.delete(false, &mut NoProgress) {
                        tracing::warn!(error = %cleanup, "could not remove a partial object");
                    }
                    Err(e)
                }
            }
        })
    }

    /// Creates an empty folder relative to this object (Insert with `WMDM_CONTENT_FOLDER`).
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the provider's errors.
    pub fn create_folder(&self, name: &str, placement: Placement) -> Result<WmdmStorage> {
        self.link.check()?;
        tracing::debug!(op = "create folder", name, "device operation");
        let request = CreateRequest::folder(name).placement(placement);
        Ok(self.wrap(self.storage.create(&request)?))
    }

    /// IWMDMStorageControl::Delete; `recursive` is `WMDM_MODE_RECURSIVE`. Progress ticks are
    /// the objects deleted, as the provider reports them.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; [`Error::DirectoryNotEmpty`] for a
    /// non-empty folder without `recursive`; [`Error::UserCancelled`] when cancelled; the
    /// provider's errors.
    pub fn delete(&self, recursive: bool, progress: &mut dyn Progress) -> Result<()> {
        self.link.check()?;
        tracing::debug!(op = "delete", recursive, "device operation");
        run_with_progress(progress, 1, |p| self.storage.delete(recursive, p))
    }

    /// IWMDMStorageControl::Rename.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; [`Error::UserCancelled`] when the sink
    /// cancels at `begin`; the provider's errors ([`Error::AlreadyExists`],
    /// [`Error::InvalidName`], ...).
    pub fn rename(&self, new_name: &str, progress: &mut dyn Progress) -> Result<()> {
        self.link.check()?;
        tracing::debug!(op = "rename", new_name, "device operation");
        run_with_progress(progress, 1, |p| {
            self.storage.rename(new_name, p)?;
            p.progress(1)
        })
    }

    /// IWMDMStorageControl::Move: before, after or into `target`.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; [`Error::NotSameDevice`] for a target
    /// on another provider; [`Error::AccessDenied`] for a target that is a virtual folder of a
    /// metadata view (see [`WmdmStorage::set_enum_preference`]); [`Error::UserCancelled`]
    /// when the sink cancels at `begin`; the provider's errors.
    pub fn move_to(
        &self,
        placement: Placement,
        target: &WmdmStorage,
        progress: &mut dyn Progress,
    ) -> Result<()> {
        self.link.check()?;
        tracing::debug!(op = "move", ?placement, "device operation");
        run_with_progress(progress, 1, |p| {
            if super::views::is_view_folder(target.storage.raw()) {
                return Err(Error::AccessDenied);
            }
            self.storage.move_to(placement, &target.storage, p)?;
            p.progress(1)
        })
    }

    /// IWMDMStorageControl::Read: copies this file's data to a host file or a writer. Progress
    /// ticks are bytes. Returns the number of bytes copied.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; [`Error::MacCheckFailed`] when a chunk's
    /// MAC does not match; [`Error::UserCancelled`] when cancelled (a target file is then
    /// removed); host I/O errors; the provider's errors ([`Error::InvalidType`] for a
    /// folder).
    pub fn read_to(&self, target: ReadTarget<'_>, progress: &mut dyn Progress) -> Result<u64> {
        self.link.check()?;
        let size = self.storage.size()?;
        tracing::debug!(op = "read", size, "device operation");
        match target {
            ReadTarget::Writer(w) => run_with_progress(progress, size, |p| self.copy_out(w, p)),
            ReadTarget::File(path) => {
                if path.file_name().is_none() {
                    return Err(Error::InvalidArg.context("reading into a file").path(path));
                }
                // Written whole: a cancelled or failed read leaves no partial file.
                run_with_progress(progress, size, |p| {
                    crate::sys::files::write_streamed(path, |f| self.copy_out(f, p))
                })
            }
        }
    }

    /// Reads up to `len` bytes at each `(offset, len)` (fewer at the end of the object), in
    /// one open: the read-back a caller needs to fingerprint an object without reading all of
    /// it.
    ///
    /// # Errors
    /// As [`read_to`](Self::read_to).
    pub fn read_ranges(&self, ranges: &[(u64, usize)]) -> Result<Vec<Vec<u8>>> {
        self.link.check()?;
        tracing::debug!(
            op = "read ranges",
            ranges = ranges.len(),
            "device operation"
        );
        let clear = self.storage.supports_clear_channel();
        let mut io = self.storage.open(OpenMode::READ)?;
        let longest = ranges.iter().map(|r| r.1).max().unwrap_or(0);
        let mut buf = vec![0u8; longest.min(TRANSFER_CHUNK)];
        let mut out = Vec::with_capacity(ranges.len());
        for &(offset, len) in ranges {
            io.seek(crate::flags::SeekOrigin::BOF, offset)?;
            let mut got = Vec::with_capacity(len.min(TRANSFER_CHUNK));
            while got.len() < len {
                let want = (len - got.len()).min(buf.len());
                let n = self.receive(&mut io, clear, buf.get_mut(..want).ok_or(Error::Fail)?)?;
                if n == 0 {
                    break;
                }
                got.extend_from_slice(buf.get(..n).ok_or(Error::Fail)?);
            }
            out.push(got);
        }
        io.close()?;
        Ok(out)
    }

    fn copy_out(&self, out: &mut dyn Write, progress: &mut dyn Progress) -> Result<u64> {
        let clear = self.storage.supports_clear_channel();
        let mut io = self.storage.open(OpenMode::READ)?;
        let mut buf = vec![0u8; TRANSFER_CHUNK];
        let mut done = 0u64;
        loop {
            let n = self.receive(&mut io, clear, &mut buf)?;
            if n == 0 {
                break;
            }
            out.write_all(buf.get(..n).ok_or(Error::Fail)?)?;
            done += n as u64;
            progress.progress(done)?;
        }
        out.flush()?;
        io.close()?;
        Ok(done)
    }
}
