//! A directory-backed mass-storage device: any folder (a USB stick, an SD card, a player's
//! mount point) as a WMDM device.
//!
//! ```
//! use wmdm::flags::OpenMode;
//! use wmdm::provider::{CreateRequest, Storage};
//! use wmdm::providers::fs::{DeviceOptions, FsDevice};
//!
//! let dir = tempfile::tempdir()?;
//! let device = FsDevice::open(dir.path(), DeviceOptions::default())?;
//! let root = device.root();
//! let song = root.create(&CreateRequest::file("song.mp3"))?;
//! let mut io = song.open(OpenMode::WRITE)?;
//! io.write(b"ID3 and some bytes")?;
//! io.close()?; // only now does song.mp3 appear, complete
//! assert_eq!(root.children()?.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The device
//!
//! One device per root folder, with one storage: the root itself. [`FsProvider`] serves a list
//! of roots and, optionally, every mount point under a parent folder such as `/media/USER`; its
//! [`FsProvider::poll`] reports arrivals and removals without any background thread.
//!
//! Objects are the files and folders under the root, listed in byte order of their names.
//! One process should serve a root at a time: the ID map and the space accounting live in the
//! [`FsDevice`] and are not shared with other processes.
//! Symbolic links are never followed and never listed, and names that are not valid Unicode are
//! not listed either (WMDM names are UTF-16 text).
//!
//! # What the provider keeps on the device
//!
//! A hidden folder `.wmdm/` at the root, never listed as content:
//!
//! * `device.id`: the serial number and friendly name (format in the `identity` module source;
//!   `key=value` lines: `version=1`, `serial=<32 hex digits>`, `name=<text>`);
//! * `ids`: the persistent unique IDs, an append-only log of `+ <id> <parent> <name>` and
//!   `- <id>` lines after a `wmdm-ids 1` header (see the `idmap` module source). IDs survive
//!   renames and moves made through the provider, and runs; files added behind the provider's
//!   back get an ID the first time they are listed. A persistent unique ID reads
//!   `<serial>:<hex number>`;
//! * `meta/<hex number>.wmdm`: a metadata sidecar per object, holding what could not be written
//!   into the file itself, in [`Metadata::to_bytes`](crate::metadata::Metadata::to_bytes) form.
//!
//! Other components (the sync engine's journal and ledger) may keep their own files under
//! `.wmdm/` too; the provider leaves unknown files there alone.
//!
//! # Writes that cannot corrupt
//!
//! [`Storage::create`](crate::provider::Storage::create) of a file reserves the name and returns
//! a handle, but nothing appears on disk. [`Storage::open`](crate::provider::Storage::open) for
//! writing writes into `.wmdm-tmp-<random>.part` in the same folder; `close` flushes, syncs
//! and renames it into place. A write dropped before `close` removes its temporary file; a crash
//! leaves it behind, and the next listing of that folder removes it. Listings never show
//! temporary files, and a reserved name that was never written never shows up either. A
//! reservation lasts while the handle `create` returned, or a write session on it, is alive;
//! creating the same name again meanwhile hands back the same reservation. Once the last of
//! them is dropped without a completed write, the name is free again and the handle's ID is
//! gone.
//!
//! # Windows
//!
//! Windows is the provider's home platform, and it keeps the same guarantees there. A file
//! that another handle still has open (a read session, a player, a virus scanner) can be
//! rewritten, deleted and have its folder deleted: the old file is moved aside into `.wmdm/`
//! under a temporary name and deleted there, vanishing when its last handle closes (files
//! opened without shared delete access cannot be moved and give
//! [`Error::AccessDenied`](crate::Error::AccessDenied)). Names that differ only in case are the
//! same name, whatever the [`NamePolicy`], and a name is always taken as the folder spells it,
//! so a case variant never gets an ID of its own; changing only the case of a name is an
//! ordinary rename. The permissive policy still refuses the names Windows cannot store (see
//! [`NamePolicy`]). Volume mount points are what [`FsConfig::mounts_only`] discovers.
//!
//! # Metadata
//!
//! GetMetadata reads the file system (name, size, date, format, unique ID) and, for audio
//! files, the tags and stream properties through [`lofty`]: title, artist (`WMDM/Author`),
//! album, album artist, genre, track, year, composer, duration, bit rate, sample rate and
//! channels. SetMetadata writes title, artist, album, album artist, genre, track, year and
//! composer into the file's own tags (a copy is tagged, synced and renamed over the original)
//! for every format lofty can write (MP3, FLAC, Ogg, Opus, M4A/MP4, WAV, AIFF, APE, WavPack,
//! Musepack, ...); everything else, and everything for formats lofty cannot write (WMA, non-audio
//! files), goes to the object's sidecar. Derived properties (size, dates, format, unique ID,
//! duration and the stream properties of a tagged file) cannot be set and are reported as not
//! applied.
//!
//! # Playlists
//!
//! An object whose format is a playlist (created with `WMDM/FormatCode` set to the abstract
//! playlist or M3U code, or any `.m3u`/`.m3u8` file) holds references: SetReferences writes an
//! M3U8 file with `#EXTM3U` and one path per line, relative to the playlist's folder and
//! separated by `/`; GetReferences reads one back, skipping entries that are not on the device.
//! An abstract playlist created without a playlist extension gets `.m3u8` appended to its name.
//! Moving a playlist through the provider rewrites its paths; moving or renaming a track does not
//! rewrite the playlists that name it (their entries then no longer resolve). WPL files are not
//! read or written yet.
//!
//! # Capacity
//!
//! Without a quota, total and free space come from the file system (`statvfs` on Unix). With a
//! quota, the total is the quota and the free space is the quota minus the bytes used under the
//! root (apparent file sizes, counted once by walking the device and then kept up to date),
//! never more than the file system has free. When neither is known (a FUSE mount that reports a
//! zero total, or a host without `statvfs`), [`FsGlobals::capacity`] says `None`, and
//! `total_size` and `total_free` both return 0, which is what WMDM shows for a medium it
//! cannot measure; set a quota on such devices. A write that would pass the quota, or that runs
//! out of space on the medium, fails with [`Error::DiskFull`](crate::Error::DiskFull) and leaves
//! nothing behind.

mod device;
mod globals;
mod host;
mod identity;
mod idmap;
mod io;
mod names;
mod ops;
mod playlist;
mod provider;
mod shared;
mod storage;
mod tagging;
mod transfer;

pub use device::FsDevice;
pub use globals::{Capacity, FsGlobals};
pub use names::{NameMode, NamePolicy, STATE_DIR, TEMP_PREFIX, TEMP_SUFFIX};
pub use provider::{DeviceEvent, FsConfig, FsProvider};
pub use storage::FsStorage;

use crate::metadata::FormatCode;

/// What a device is and plays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceProfile {
    /// IMDSPDevice::GetManufacturer.
    pub manufacturer: String,
    /// `WMDM/DeviceModelName`.
    pub model: String,
    /// The formats the device plays, most preferred first (`WMDM/FormatsSupported`).
    pub formats: Vec<FormatCode>,
}

impl Default for DeviceProfile {
    /// A generic player of the common audio formats and playlists.
    fn default() -> Self {
        let mut formats = FormatCode::COMMON_AUDIO.to_vec();
        formats.extend_from_slice(FormatCode::COMMON_PLAYLISTS);
        DeviceProfile {
            manufacturer: "Generic".to_string(),
            model: "Mass storage player".to_string(),
            formats,
        }
    }
}

/// How one device behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceOptions {
    /// Which names callers may use.
    pub policy: NamePolicy,
    /// The usable space in bytes, overriding the file system's size.
    pub quota: Option<u64>,
    /// Formats and vendor strings.
    pub profile: DeviceProfile,
    /// Sync written files, renames and the ID log to the medium before reporting success
    /// (default `true`). Turning it off is faster and loses the guarantee across power cuts,
    /// not across crashes of this process.
    pub durable: bool,
}

impl Default for DeviceOptions {
    fn default() -> Self {
        DeviceOptions {
            policy: NamePolicy::default(),
            quota: None,
            profile: DeviceProfile::default(),
            durable: true,
        }
    }
}

impl DeviceOptions {
    /// Sets the quota.
    pub fn quota(mut self, bytes: u64) -> DeviceOptions {
        self.quota = Some(bytes);
        self
    }

    /// Sets the name policy.
    pub fn policy(mut self, policy: NamePolicy) -> DeviceOptions {
        self.policy = policy;
        self
    }

    /// Sets durability.
    pub fn durable(mut self, durable: bool) -> DeviceOptions {
        self.durable = durable;
        self
    }
}
