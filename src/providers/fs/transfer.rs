//! IMDSPDirectTransfer: the provider copies a host file or a stream onto the device itself.

use std::fs::File;

use crate::error::{Error, Result};
use crate::provider::{
    CreateRequest, DirectTransfer, Progress, StorageRef, TransferOptions, TransferSource,
    run_with_progress,
};

use super::io::WriteSession;
use super::storage::FsStorage;

impl DirectTransfer for FsStorage {
    /// Copies into a temporary file in this folder and renames it into place. A host file is
    /// copied by the kernel (`copy_file_range`) where possible. A failure or a cancel removes
    /// the temporary file and the name reserved for it.
    fn transfer_to_device(
        &self,
        source: TransferSource<'_>,
        options: &TransferOptions,
        progress: &mut dyn Progress,
    ) -> Result<StorageRef> {
        if options.destination_name.is_empty() {
            return Err(Error::InvalidArg);
        }
        if !self.snap()?.is_dir {
            return Err(Error::InvalidType);
        }
        let (mut file, size) = match &source {
            TransferSource::File(path) => {
                let f = File::open(path)?;
                let len = f.metadata()?.len();
                (Some(f), len)
            }
            TransferSource::Reader { size, .. } => (None, *size),
        };
        let mut request = CreateRequest::file(options.destination_name.clone()).size_hint(size);
        if options.overwrite {
            request = request.overwrite();
        }
        let created = self.create_impl(&request)?;
        let fresh = created.is_pending();
        let result = run_with_progress(progress, size, |p| {
            let mut session = WriteSession::start(&created, false)?;
            match (&mut file, source) {
                (Some(f), _) => session.fill_from_file(f, size, p)?,
                (None, TransferSource::Reader { reader, size }) => {
                    session.fill_from_reader(reader, Some(size), p)?;
                }
                (None, TransferSource::File(_)) => return Err(Error::InvalidArg),
            }
            session.finish()
        });
        match result {
            Ok(()) => {
                if let Some(m) = &options.metadata {
                    if let Err(e) = created.set_metadata_impl(m) {
                        tracing::warn!(?e, "metadata for a transferred file was not applied");
                    }
                }
                Ok(created)
            }
            Err(e) => {
                if fresh && created.is_pending() {
                    created.forget_reservation();
                }
                Err(e)
            }
        }
    }
}
