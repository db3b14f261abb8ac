//! The device objects an executor works on, whichever way it reaches them: the manager's
//! authenticated [`WmdmStorage`], or a provider's [`StorageRef`] directly. The methods are
//! the manager's, so the state-file protocol and the executor are written once for both.

use std::io::{Read, Write};

use crate::error::{Error, Result};
use crate::flags::{OpenMode, Placement, SeekOrigin};
use crate::manager::{InsertOptions, InsertSource, ReadTarget, WmdmStorage};
use crate::metadata::Metadata;
use crate::provider::{
    CreateRequest, NoProgress, Progress, Storage, StorageRef, TransferSource, run_with_progress,
};
use crate::time::WmdmDateTime;

/// The chunk a provider write or read moves at a time.
const CHUNK: usize = 256 * 1024;

/// A storage object (file or folder) of the device.
pub(crate) trait DeviceObject: Clone + Send + Sized {
    /// The child called `name` ([`Error::FileNotFound`]-kind errors when absent).
    fn child(&self, name: &str) -> Result<Self>;
    /// A new empty folder.
    fn create_folder(&self, name: &str, placement: Placement) -> Result<Self>;
    /// A new file holding what `source` reads; a failed or cancelled insert leaves nothing.
    fn insert(
        &self,
        source: InsertSource<'_>,
        options: &InsertOptions,
        progress: &mut dyn Progress,
    ) -> Result<Self>;
    /// Deletes the object.
    fn delete(&self, recursive: bool, progress: &mut dyn Progress) -> Result<()>;
    /// Renames the object in its folder.
    fn rename(&self, new_name: &str, progress: &mut dyn Progress) -> Result<()>;
    /// True when a rename to a taken name fails and changes nothing (the provider's
    /// [`refuses_taken_names`](crate::provider::Storage::refuses_taken_names)).
    fn refuses_taken_names(&self) -> bool;
    /// Whether a file named `name` made here from `content` with `metadata` would store
    /// nothing of it beyond `content` (the provider's
    /// [`content_holds_metadata`](crate::provider::Storage::content_holds_metadata)).
    fn content_holds_metadata(&self, name: &str, content: &[u8], metadata: &Metadata) -> bool;
    /// Its size.
    fn size(&self) -> Result<u64>;
    /// Its persistent unique ID.
    fn unique_id(&self) -> Result<String>;
    /// Its date.
    fn date(&self) -> Result<WmdmDateTime>;
    /// Its last-modified time as precise as the device keeps it (`None`: no finer than
    /// [`date`](Self::date)'s seconds).
    fn modified_precise(&self) -> Result<Option<std::time::SystemTime>>;
    /// Writes its metadata.
    fn set_metadata(&self, metadata: &Metadata) -> Result<()>;
    /// All of its bytes, appended to `out`.
    fn read_into(&self, out: &mut Vec<u8>) -> Result<()>;
    /// Up to `len` bytes at each `(offset, len)`, in one open.
    fn read_ranges(&self, ranges: &[(u64, usize)]) -> Result<Vec<Vec<u8>>>;
    /// The objects in this folder.
    fn children(&self) -> Result<Vec<Self>>;
    /// Its name.
    fn name(&self) -> Result<String>;
    /// True for a folder.
    fn is_folder(&self) -> Result<bool>;
    /// The storage's capacity and free bytes.
    fn space(&self) -> Result<(u64, u64)>;
    /// The metadata named (what the device has of them).
    fn specified_metadata(&self, names: &[&str]) -> Result<Metadata>;
}

impl DeviceObject for WmdmStorage {
    fn children(&self) -> Result<Vec<Self>> {
        WmdmStorage::children(self)
    }
    fn name(&self) -> Result<String> {
        WmdmStorage::name(self)
    }
    fn is_folder(&self) -> Result<bool> {
        Ok(WmdmStorage::attributes(self)?
            .attributes
            .contains(crate::flags::Attributes::FOLDER))
    }
    fn space(&self) -> Result<(u64, u64)> {
        let g = self.globals()?;
        Ok((g.total_size()?, g.total_free()?))
    }
    fn specified_metadata(&self, names: &[&str]) -> Result<Metadata> {
        WmdmStorage::specified_metadata(self, names).map(|(m, _)| m)
    }
    fn child(&self, name: &str) -> Result<Self> {
        WmdmStorage::child(self, name)
    }
    fn create_folder(&self, name: &str, placement: Placement) -> Result<Self> {
        WmdmStorage::create_folder(self, name, placement)
    }
    fn insert(
        &self,
        source: InsertSource<'_>,
        options: &InsertOptions,
        progress: &mut dyn Progress,
    ) -> Result<Self> {
        WmdmStorage::insert(self, source, options, progress)
    }
    fn delete(&self, recursive: bool, progress: &mut dyn Progress) -> Result<()> {
        WmdmStorage::delete(self, recursive, progress)
    }
    fn rename(&self, new_name: &str, progress: &mut dyn Progress) -> Result<()> {
        WmdmStorage::rename(self, new_name, progress)
    }
    fn refuses_taken_names(&self) -> bool {
        self.storage.raw().refuses_taken_names()
    }
    fn content_holds_metadata(&self, name: &str, content: &[u8], metadata: &Metadata) -> bool {
        self.storage
            .raw()
            .content_holds_metadata(name, content, metadata)
    }
    fn size(&self) -> Result<u64> {
        WmdmStorage::size(self)
    }
    fn unique_id(&self) -> Result<String> {
        WmdmStorage::unique_id(self)
    }
    fn date(&self) -> Result<WmdmDateTime> {
        WmdmStorage::date(self)
    }
    fn modified_precise(&self) -> Result<Option<std::time::SystemTime>> {
        WmdmStorage::modified_precise(self)
    }
    fn set_metadata(&self, metadata: &Metadata) -> Result<()> {
        WmdmStorage::set_metadata(self, metadata).map(drop)
    }
    fn read_into(&self, out: &mut Vec<u8>) -> Result<()> {
        self.read_to(ReadTarget::Writer(out), &mut NoProgress)
            .map(drop)
    }
    fn read_ranges(&self, ranges: &[(u64, usize)]) -> Result<Vec<Vec<u8>>> {
        WmdmStorage::read_ranges(self, ranges)
    }
}

/// Straight to the provider: no authenticated channel, no MACs, plaintext object data.
impl DeviceObject for StorageRef {
    fn children(&self) -> Result<Vec<Self>> {
        Storage::children(&**self)
    }
    fn name(&self) -> Result<String> {
        Storage::name(&**self)
    }
    fn is_folder(&self) -> Result<bool> {
        Ok(Storage::attributes(&**self)?
            .attributes
            .contains(crate::flags::Attributes::FOLDER))
    }
    fn space(&self) -> Result<(u64, u64)> {
        let g = Storage::globals(&**self)?;
        Ok((g.total_size()?, g.total_free()?))
    }
    fn specified_metadata(&self, names: &[&str]) -> Result<Metadata> {
        Storage::specified_metadata(&**self, names).map(|(m, _)| m)
    }
    fn child(&self, name: &str) -> Result<Self> {
        Storage::child(&**self, name)
    }
    fn create_folder(&self, name: &str, placement: Placement) -> Result<Self> {
        self.create(&CreateRequest::folder(name).placement(placement))
    }
    fn insert(
        &self,
        source: InsertSource<'_>,
        options: &InsertOptions,
        progress: &mut dyn Progress,
    ) -> Result<Self> {
        let InsertSource::Reader { reader, name, size } = source else {
            return Err(Error::InvalidArg.context("a provider insert takes a reader"));
        };
        let name = options.name.clone().unwrap_or(name);
        // As the manager does: a provider that copies content itself is asked to.
        if options.placement == Placement::Into
            && let Some(direct) = self.direct_transfer()
        {
            let transfer = options.transfer_options(name);
            return run_with_progress(progress, size, |p| {
                direct.transfer_to_device(TransferSource::Reader { reader, size }, &transfer, p)
            });
        }
        let request = options.create_request(name, size);
        run_with_progress(progress, size, |p| {
            let created = self.create(&request)?;
            let copied = (|| -> Result<()> {
                let mut io = created.open(OpenMode::WRITE)?;
                let mut buf = Vec::with_capacity(CHUNK);
                let mut done = 0u64;
                loop {
                    buf.clear();
                    (&mut *reader).take(CHUNK as u64).read_to_end(&mut buf)?;
                    let n = buf.len();
                    if n == 0 {
                        break;
                    }
                    let mut chunk = buf.as_slice();
                    while !chunk.is_empty() {
                        let wrote = io.write(chunk)?;
                        if wrote == 0 {
                            return Err(Error::Fail.context("the provider wrote nothing"));
                        }
                        chunk = chunk.get(wrote..).ok_or(Error::Fail)?;
                    }
                    done += n as u64;
                    p.progress(done)?;
                }
                io.close()
            })();
            match copied {
                Ok(()) => Ok(created),
                Err(e) => {
                    // Leave nothing half-written behind; the original error is what matters.
                    if let Err(cleanup) = created.delete(false, &mut NoProgress) {
                        tracing::warn!(error = %cleanup, "could not remove a partial object");
                    }
                    Err(e)
                }
            }
        })
    }
    fn delete(&self, recursive: bool, progress: &mut dyn Progress) -> Result<()> {
        Storage::delete(&**self, recursive, progress)
    }
    fn rename(&self, new_name: &str, progress: &mut dyn Progress) -> Result<()> {
        Storage::rename(&**self, new_name, progress)
    }
    fn refuses_taken_names(&self) -> bool {
        Storage::refuses_taken_names(&**self)
    }
    fn content_holds_metadata(&self, name: &str, content: &[u8], metadata: &Metadata) -> bool {
        Storage::content_holds_metadata(&**self, name, content, metadata)
    }
    fn size(&self) -> Result<u64> {
        Storage::size(&**self)
    }
    fn unique_id(&self) -> Result<String> {
        Storage::unique_id(&**self)
    }
    fn date(&self) -> Result<WmdmDateTime> {
        Storage::date(&**self)
    }
    fn modified_precise(&self) -> Result<Option<std::time::SystemTime>> {
        Storage::modified_precise(&**self)
    }
    fn set_metadata(&self, metadata: &Metadata) -> Result<()> {
        Storage::set_metadata(&**self, metadata).map(drop)
    }
    fn read_into(&self, out: &mut Vec<u8>) -> Result<()> {
        let mut io = self.open(OpenMode::READ)?;
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = io.read(&mut buf)?;
            if n == 0 {
                break;
            }
            out.write_all(buf.get(..n).ok_or(Error::Fail)?)?;
        }
        Ok(())
    }
    fn read_ranges(&self, ranges: &[(u64, usize)]) -> Result<Vec<Vec<u8>>> {
        let mut io = self.open(OpenMode::READ)?;
        let mut out = Vec::with_capacity(ranges.len());
        for &(offset, len) in ranges {
            io.seek(SeekOrigin::BOF, offset)?;
            let mut got = vec![0u8; len];
            let mut filled = 0;
            while filled < len {
                let n = io.read(got.get_mut(filled..).ok_or(Error::Fail)?)?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            got.truncate(filled);
            out.push(got);
        }
        Ok(out)
    }
}
