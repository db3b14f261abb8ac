//! What the sync core asks of the device and what it is handed back: the narrow interface
//! between [`SyncMachine`](super::SyncMachine) and whatever executes its requests
//! ([`DeviceIo`](super::DeviceIo)).
//!
//! Every request is one operation of the device; every decision around it (ownership checks,
//! the ledger, the journal and commit records, when to flush) stays in the machine.

use std::collections::HashMap;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::library::{ContentHash, TrackId};
use crate::metadata::Metadata;
use crate::sync::plan::{Adoptable, DeviceContents};

/// An object the executor looked up or wrote, named by a number it handed out. A lookup's
/// object stays valid until the next lookup; a written one until a
/// [`Delete`](DeviceRequest::Delete) or a successful [`Rename`](DeviceRequest::Rename) names
/// it, or the run ends.
pub(crate) type ObjectId = u64;

/// When a lookup reads the object's content fingerprint
/// ([`fingerprint_of`](crate::sync::fingerprint_of)), which costs two reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fingerprint {
    /// Never.
    Never,
    /// Only when the object has no unique ID (the ownership check J5 then compares it).
    WithoutUniqueId,
    /// Always.
    Always,
}

/// Where the bytes of a [`Write`](DeviceRequest::Write) come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum WriteSource {
    /// The library file of `track`, hashed as it is read; the write fails with
    /// [`Error::ProcessFailed`] (and leaves nothing) when `expect` is set and the bytes read
    /// are not those, or when the file changed while it was read.
    Track {
        /// The track.
        track: TrackId,
        /// The hash planned.
        expect: Option<ContentHash>,
    },
    /// The encoder's output for `track` (the executor waits for it).
    Encoded {
        /// The track.
        track: TrackId,
    },
    /// These bytes (a playlist).
    Bytes(Vec<u8>),
}

/// One device operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DeviceRequest {
    /// The object at a `/`-separated path, if any: [`DeviceResponse::Object`].
    Lookup {
        /// The path.
        path: String,
        /// Whether to read its fingerprint.
        fingerprint: Fingerprint,
    },
    /// Deletes an object: [`DeviceResponse::Done`].
    Delete {
        /// The object.
        object: ObjectId,
    },
    /// Writes an object's metadata: [`DeviceResponse::Done`].
    SetMetadata {
        /// The object.
        object: ObjectId,
        /// The tags.
        metadata: Metadata,
    },
    /// Writes one file as `name` in folder `dir` (created when missing) and reads back what
    /// the device stored: [`DeviceResponse::Written`]. A write that fails leaves nothing.
    Write {
        /// The folder's path.
        dir: String,
        /// The file's name in it.
        name: String,
        /// Fail with [`Error::AlreadyExists`] when the name is taken, before writing.
        fresh: bool,
        /// The bytes.
        source: WriteSource,
        /// Their size (announced to the device).
        size: u64,
        /// Tags the device writes with the file.
        metadata: Option<Metadata>,
    },
    /// Renames an object in its folder: [`DeviceResponse::Renamed`]. The handle is spent.
    Rename {
        /// The object.
        object: ObjectId,
        /// The new name.
        name: String,
        /// The folder's path when nothing may be at the new name (a new file replaces
        /// nothing): the executor looks first unless the device refuses a taken name itself,
        /// and answers [`Error::AlreadyExists`] for a taken one.
        free_in: Option<String>,
    },
    /// Writes sync's state file `name` by the state-file protocol (atomic, or whole in place
    /// where renames are refused): [`DeviceResponse::Done`].
    WriteState {
        /// The file's name in the state folder.
        name: String,
        /// Its content.
        bytes: Vec<u8>,
        /// The device refuses renames (as the machine knows it).
        in_place: bool,
    },
    /// Deletes sync's state file `name` and its twin; absent is fine: [`DeviceResponse::Done`].
    DeleteState {
        /// The file's name in the state folder.
        name: String,
    },
    /// A durability barrier (the device's flush): [`DeviceResponse::Done`].
    Flush,
    /// Reads sync's state file `name` by the state-file protocol: [`DeviceResponse::State`].
    ReadState {
        /// The file's name in the state folder.
        name: String,
    },
    /// Reads every state file whose name starts with `prefix`: [`DeviceResponse::States`].
    ReadStates {
        /// The prefix.
        prefix: String,
    },
    /// The change stamp of state file `name` (nanoseconds since the Unix epoch, none when
    /// absent or undated; `device::change_stamp`):
    /// [`DeviceResponse::Date`].
    StateDate {
        /// The file's name in the state folder.
        name: String,
    },
    /// Lists the device (every file but the state folder, and the space):
    /// [`DeviceResponse::Contents`].
    List,
    /// Reads the play count and rating of the object at `path`: [`DeviceResponse::Stats`].
    ReadStats {
        /// The path.
        path: String,
    },
    /// Deletes every `X.new` twin of the state folder whose `X` is there too (a partial `X`
    /// instead): [`DeviceResponse::Done`].
    CleanStateTwins,
    /// Removes the interrupted first write of state file `name` (its `.new`, and a partial
    /// `name`): [`DeviceResponse::Done`].
    RemoveStaleTwin {
        /// The file's name in the state folder.
        name: String,
    },
    /// Puts a lone `name.new` in place: [`DeviceResponse::Done`].
    SettleState {
        /// The file's name in the state folder.
        name: String,
    },
    /// Finds which colliding paths hold byte-identical copies of their tracks (another
    /// library's ledger vouching, or the object's SHA-1): [`DeviceResponse::Adoptable`].
    /// Reads the library (the executor's context) and the device.
    FindAdoptable {
        /// This library's id (its own ledger is no evidence).
        library_id: String,
        /// The collisions of the plan.
        collisions: Vec<(TrackId, String)>,
        /// The hashes known so far.
        hashes: HashMap<TrackId, ContentHash>,
        /// The device's listing.
        device: Box<DeviceContents>,
    },
}

impl DeviceRequest {
    /// True for the requests that never change the device (reads, and the flush).
    pub(crate) fn reads_only(&self) -> bool {
        matches!(
            self,
            DeviceRequest::Lookup { .. }
                | DeviceRequest::Flush
                | DeviceRequest::ReadState { .. }
                | DeviceRequest::ReadStates { .. }
                | DeviceRequest::StateDate { .. }
                | DeviceRequest::List
                | DeviceRequest::ReadStats { .. }
                | DeviceRequest::FindAdoptable { .. }
        )
    }
}

/// What a [`ReadStats`](DeviceRequest::ReadStats) found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum StatsRead {
    /// Nothing at the path.
    Absent,
    /// The device keeps no statistics for it.
    Unsupported,
    /// Its play count and rating, as far as the device has them.
    Read {
        /// The play count.
        plays: Option<u32>,
        /// The rating.
        rating: Option<u32>,
    },
}

/// What an object looked up is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ObjectInfo {
    /// Its handle.
    pub(crate) object: ObjectId,
    /// Its size.
    pub(crate) size: u64,
    /// Its unique ID ("" for none).
    pub(crate) unique_id: String,
    /// Its fingerprint, when asked for.
    pub(crate) fingerprint: Option<[u8; 20]>,
}

/// A file written: what the device stored (the commit record's facts, J4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Written {
    /// Its handle.
    pub(crate) object: ObjectId,
    /// The bytes sent.
    pub(crate) sent: u64,
    /// The size stored (a device that tags files may store more or fewer bytes than sent).
    pub(crate) stored: u64,
    /// Its unique ID ("" for none).
    pub(crate) unique_id: String,
    /// Its fingerprint.
    pub(crate) fingerprint: [u8; 20],
    /// Its change stamp (`device::change_stamp`; 0 when unknown): the statistics baseline.
    pub(crate) dated: i64,
    /// The content hash of the bytes read ([`WriteSource::Track`]).
    pub(crate) hash: Option<ContentHash>,
}

/// What the encoder did for an [`WriteSource::Encoded`] write, whether the write succeeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EncodeInfo {
    /// The library file's hash as read for the encode.
    pub(crate) source: ContentHash,
    /// Taken from the cache.
    pub(crate) reused: bool,
    /// Time spent encoding.
    pub(crate) encode_time: Duration,
}

/// The answer to one [`DeviceRequest`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DeviceResponse {
    /// Done, nothing to report.
    Done,
    /// A lookup's answer.
    Object(Option<ObjectInfo>),
    /// A write's answer, with the encoder's facts for an encoded source.
    Written(Result<Written>, Option<EncodeInfo>),
    /// A rename's answer: the object's unique ID afterwards.
    Renamed {
        /// Its unique ID ("" for none).
        unique_id: String,
    },
    /// A state file's bytes and whether they came from a lone `.new` twin; none when absent.
    State(Option<(Vec<u8>, bool)>),
    /// State files by name, with their bytes and twin flags.
    States(Vec<(String, Vec<u8>, bool)>),
    /// A date (Unix seconds).
    Date(Option<i64>),
    /// The device's listing.
    Contents(Box<DeviceContents>),
    /// Statistics read.
    Stats(StatsRead),
    /// The adoptable copies by path, and the hashes with those computed for them.
    Adoptable(HashMap<String, Adoptable>, HashMap<TrackId, ContentHash>),
    /// The operation failed.
    Failed(Error),
}

impl DeviceResponse {
    /// `Ok(())` for success, the error for a failure; a response of the wrong kind is
    /// [`Error::Fail`] (an executor bug, never a device's).
    pub(crate) fn done(self) -> Result<()> {
        match self {
            DeviceResponse::Failed(e) => Err(e),
            DeviceResponse::Written(Err(e), _) => Err(e),
            DeviceResponse::Done
            | DeviceResponse::Renamed { .. }
            | DeviceResponse::Written(Ok(_), _) => Ok(()),
            _ => Err(Error::Fail.context("a read's answer to another request")),
        }
    }

    /// A lookup's answer.
    pub(crate) fn object(self) -> Result<Option<ObjectInfo>> {
        match self {
            DeviceResponse::Object(o) => Ok(o),
            DeviceResponse::Failed(e) => Err(e),
            _ => Err(Error::Fail.context("not a lookup's answer")),
        }
    }
}
