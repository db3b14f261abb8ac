//! Creating objects: `Storage::create` (a folder at once, a file when its first write
//! closes), and IMDSPDirectTransfer, which reads the source straight into the one buffer the
//! object is sent from.

use std::io::Read;
use std::sync::{Arc, Mutex};

use super::NAME_RULE;
use super::conn::Item;
use super::io::Writer;
use super::object::{ASSOCIATION, MtpObject, Slot, Snap, UNDEFINED, now_unix};
use crate::error::{Error, Result};
use crate::flags::Attributes;
use crate::metadata::{FormatCode, tags};
use crate::provider::{
    CreateRequest, DirectTransfer, Progress, Storage, StorageRef, TransferOptions, TransferSource,
};

impl MtpObject {
    /// Creates a folder on the device, or a file to be sent at its first write's close
    /// (`Storage::create`, and the direct transfer's first step).
    pub(super) fn create_object(&self, request: &CreateRequest) -> Result<MtpObject> {
        self.check_writable()?;
        NAME_RULE.check(&request.name)?;
        let folder = self.destination(request.placement)?;
        let want_folder = request.attributes.contains(Attributes::FOLDER);
        if let Some(existing) = self.find_in(folder, &request.name)? {
            if !request.attributes.contains(Attributes::CREATE_OVERWRITE) {
                return Err(Error::AlreadyExists);
            }
            if existing.lock().folder {
                // Replacing a folder would delete what it holds: refused, as the folder
                // provider refuses it.
                return Err(Error::AlreadyExists);
            }
            existing.delete(false, &mut crate::provider::NoProgress)?;
        }
        if want_folder {
            if !self.conn().caps.can_create_folder {
                return Err(Error::NotSupported);
            }
            let storage = self.conn().storage(self.storage)?;
            let h = self.conn().run("SendObjectInfo (folder)", false, || {
                storage.create_folder(folder, &request.name)
            });
            let h = h.inspect_err(|_| self.conn().invalidate((self.storage, folder)))?;
            let modified = Some(now_unix());
            self.conn().set_parent(h, (self.storage, folder));
            let item = Item {
                handle: h,
                name: request.name.clone(),
                size: 0,
                format: ASSOCIATION,
                folder: true,
                modified,
            };
            self.conn()
                .edit((self.storage, folder), |items| items.push(item));
            // A new folder is empty: no need to ask.
            self.conn().store((self.storage, Some(h)), Vec::new());
            return Ok(MtpObject {
                device: self.device.clone(),
                storage: self.storage,
                snap: Arc::new(Mutex::new(Snap {
                    slot: Slot::Live(h),
                    name: request.name.clone(),
                    size: 0,
                    format: ASSOCIATION,
                    folder: true,
                    modified: Some(now_unix()),
                    parent: folder,
                    sent: None,
                })),
            });
        }
        if !self.conn().caps.can_upload {
            return Err(Error::NotSupported);
        }
        if let Some(size) = request.size_hint {
            // The free space last read; read again only when it says no, since deletes since
            // then may have made room (the device refuses a send that does not fit anyway).
            let mut free = self.conn().storage(self.storage)?.info().free_space;
            if size > free {
                free = self.conn().refresh_storage(self.storage)?.info().free_space;
            }
            if size > free {
                return Err(Error::DiskFull);
            }
        }
        let format = request
            .metadata
            .as_ref()
            .and_then(|m| m.get_u32(tags::FORMAT_CODE))
            .and_then(|f| u16::try_from(f).ok())
            .unwrap_or_else(|| {
                u16::try_from(FormatCode::from_file_name(&request.name).0).unwrap_or(UNDEFINED)
            });
        Ok(MtpObject {
            device: self.device.clone(),
            storage: self.storage,
            snap: Arc::new(Mutex::new(Snap {
                slot: Slot::Pending,
                name: request.name.clone(),
                size: 0,
                format,
                folder: false,
                modified: Some(now_unix()),
                parent: folder,
                sent: None,
            })),
        })
    }
}

/// How much of the source one read asks for, between two progress ticks.
const READ_STEP: usize = 1 << 20;

/// Reads all of `reader` (`size` bytes announced) into one buffer, ticking progress in bytes.
fn read_source(reader: &mut dyn Read, size: u64, p: &mut dyn Progress) -> Result<Vec<u8>> {
    // The announced size sizes the buffer, within reason: a source that says more than it
    // has only wastes the difference, up to the step.
    let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(usize::MAX).min(1 << 30));
    loop {
        let step = u64::try_from(READ_STEP).unwrap_or(u64::MAX);
        let n = (&mut *reader).take(step).read_to_end(&mut data)?;
        if n == 0 {
            return Ok(data);
        }
        p.progress(data.len() as u64)?;
    }
}

impl DirectTransfer for MtpObject {
    /// Creates the file as `Storage::create` does, reads the source straight into the buffer
    /// it is sent from (SendObjectInfo + SendObject), with no copy between. Progress ticks are
    /// bytes read; a cancel or a failed read sends nothing, so no object is left.
    fn transfer_to_device(
        &self,
        source: TransferSource<'_>,
        options: &TransferOptions,
        progress: &mut dyn Progress,
    ) -> Result<StorageRef> {
        if options.destination_name.is_empty() {
            return Err(Error::InvalidArg);
        }
        self.folder_handle()?;
        let mut file;
        let (reader, size): (&mut dyn Read, u64) = match source {
            TransferSource::File(path) => {
                file = std::fs::File::open(path)?;
                let size = file.metadata()?.len();
                (&mut file, size)
            }
            TransferSource::Reader { reader, size } => (reader, size),
        };
        let mut request = CreateRequest::file(options.destination_name.clone()).size_hint(size);
        if options.overwrite {
            request = request.overwrite();
        }
        if let Some(m) = &options.metadata {
            request = request.metadata(m.clone());
        }
        let created = self.create_object(&request)?;
        let data = read_source(reader, size, progress)?;
        Writer::filled(created.share(), data).finish()?;
        Ok(Arc::new(created))
    }
}
