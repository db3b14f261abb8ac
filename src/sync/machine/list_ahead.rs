//! Listing ahead: the device's listing is read on a thread of its own while the core reads
//! the state files, parses the ledger and decides recovery, so that on a device that holds
//! many files (a no-op resync is mostly these two) the listing overlaps the rest.
//!
//! A listing read ahead is a listing taken a little early: it is handed to the core's
//! [`List`](super::request::DeviceRequest::List) only when nothing changed the device since
//! it started. Every request that may write waits for it first (no device read runs beside a
//! write of the session's), and one that did change something throws it away: the `List` is
//! then read afresh, at the point where the core asks for it, as without reading ahead.

use std::thread::JoinHandle;

use super::object::DeviceObject;
use crate::error::{Error, Result};
use crate::sync::device::list_contents;
use crate::sync::plan::DeviceContents;

/// A device listing read on its own thread.
#[derive(Default)]
pub(crate) struct ListAhead(Stage);

#[derive(Default)]
enum Stage {
    /// None started, or the one started is spent or thrown away.
    #[default]
    Idle,
    /// Being read.
    Running(JoinHandle<Result<DeviceContents>>),
    /// Read, and nothing changed the device since it started.
    Done(Result<DeviceContents>),
}

impl ListAhead {
    /// Starts listing `root` on a thread, with a second core only (on one, the listing
    /// would only take turns with the work it is meant to overlap).
    pub(crate) fn start<O: DeviceObject + Sync + 'static>(root: &O) -> ListAhead {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        if cores < 2 {
            return ListAhead::default();
        }
        let root = root.clone();
        // Its span is the session's, as if the core had listed.
        let span = tracing::Span::current();
        ListAhead(
            std::thread::Builder::new()
                .name("wmdm-list-ahead".into())
                .spawn(move || span.in_scope(|| list_contents(&root)))
                .map_or(Stage::Idle, Stage::Running),
        )
    }

    /// Before a request that may change the device: waits for the listing, so that no read
    /// of it runs beside the write.
    pub(crate) fn before_write(&mut self) {
        self.0 = match std::mem::take(&mut self.0) {
            Stage::Running(worker) => Stage::Done(join(worker)),
            other => other,
        };
    }

    /// After a request that changed the device: the listing no longer says what is there.
    pub(crate) fn changed(&mut self) {
        self.before_write();
        self.0 = Stage::Idle;
    }

    /// The listing for the core's `List`: the one read ahead when it read without error and
    /// nothing changed since it started; `None` to list afresh.
    pub(crate) fn take(&mut self) -> Option<DeviceContents> {
        match std::mem::take(&mut self.0) {
            Stage::Idle => None,
            Stage::Running(worker) => join(worker).ok(),
            Stage::Done(listing) => listing.ok(),
        }
    }
}

fn join(worker: JoinHandle<Result<DeviceContents>>) -> Result<DeviceContents> {
    worker
        .join()
        .unwrap_or_else(|_| Err(Error::Fail.context("the device's listing read ahead")))
}

impl Drop for ListAhead {
    fn drop(&mut self) {
        // The thread reads the device: it ends before the session does (and its lock goes).
        self.before_write();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use super::super::io::{DeviceIo, IoContext, ProviderIo};
    use super::super::request::{DeviceRequest, DeviceResponse, WriteSource};
    use super::super::tests::memory_player;
    use crate::sync::SYNC_FOLDER;
    use crate::sync::device::{Renames, list_contents};
    use crate::sync::plan::DeviceContents;

    fn run(io: &mut ProviderIo, r: DeviceRequest) -> DeviceResponse {
        let stop = AtomicBool::new(false);
        let cx = IoContext {
            library: None,
            stop: &stop,
            progress: &|_| {},
        };
        io.execute(r, &cx)
    }

    fn write(io: &mut ProviderIo, dir: &str, name: &str) {
        let r = DeviceRequest::Write {
            dir: dir.into(),
            name: name.into(),
            fresh: true,
            source: WriteSource::Bytes(vec![1; 10]),
            size: 10,
            metadata: None,
        };
        assert!(matches!(run(io, r), DeviceResponse::Written(Ok(_), _)));
    }

    fn listed(io: &mut ProviderIo) -> DeviceContents {
        match run(io, DeviceRequest::List) {
            DeviceResponse::Contents(c) => *c,
            other => panic!("{other:?}"),
        }
    }

    /// A listing waited for before a write is kept until taken (the executor throws it away
    /// when the write changed something): what it says is the device as it was.
    #[test]
    fn a_listing_waited_for_is_kept_until_taken() {
        let (_device, handle, root) = memory_player();
        let mut io = ProviderIo::new(root.clone(), Some(handle), Renames::default(), None);
        write(&mut io, "Music", "a.mp3");
        let before = list_contents(&root).unwrap();
        let mut ahead = super::ListAhead::start(&root);
        ahead.before_write();
        ahead.before_write();
        write(&mut io, "Music", "b.mp3");
        // Only with a second core is a listing read ahead at all.
        if std::thread::available_parallelism().map_or(1, usize::from) > 1 {
            assert_eq!(ahead.take(), Some(before));
        }
        assert_eq!(ahead.take(), None);
        let mut thrown = super::ListAhead::start(&root);
        thrown.changed();
        assert_eq!(thrown.take(), None);
    }

    /// The listing read ahead is what `List` answers after reads and tidying that found
    /// nothing to tidy; after a write, or tidying that removed a leftover, `List` says what
    /// is on the device now.
    #[test]
    fn a_listing_read_ahead_is_used_only_while_the_device_is_unchanged() {
        let (_device, handle, root) = memory_player();
        let mut io = ProviderIo::new(root.clone(), Some(handle), Renames::default(), None);
        write(&mut io, "Music", "a.mp3");
        write(&mut io, SYNC_FOLDER, "ledger-x.txt");
        let fresh = list_contents(&root).unwrap();

        io.list_ahead();
        let name = "ledger-x.txt".to_owned();
        run(&mut io, DeviceRequest::ReadState { name: name.clone() });
        assert_eq!(
            run(&mut io, DeviceRequest::CleanStateTwins),
            DeviceResponse::Done
        );
        assert_eq!(
            run(&mut io, DeviceRequest::SettleState { name }),
            DeviceResponse::Done
        );
        assert_eq!(listed(&mut io), fresh);

        // A write after the listing started: the new file is listed.
        io.list_ahead();
        write(&mut io, "Music", "b.mp3");
        let after = listed(&mut io);
        assert!(after.files.contains_key("Music/b.mp3"), "{after:?}");
        assert_eq!(after, list_contents(&root).unwrap());

        // A leftover twin removed by the tidying: the state folder's bytes are counted anew.
        write(&mut io, SYNC_FOLDER, "ledger-x.txt.new");
        let with_twin = list_contents(&root).unwrap();
        io.list_ahead();
        assert_eq!(
            run(&mut io, DeviceRequest::CleanStateTwins),
            DeviceResponse::Done
        );
        let tidied = listed(&mut io);
        assert!(tidied.state_bytes < with_twin.state_bytes, "{tidied:?}");
        assert_eq!(tidied, list_contents(&root).unwrap());
    }
}
