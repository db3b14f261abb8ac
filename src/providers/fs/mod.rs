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
//!   into the file itself, in [`Metadata::to_bytes`](crate::metadata::Metadata::to_bytes) form;
//! * `sessions`: the sessions that made temporary files (see "Writes that cannot corrupt");
//! * `pending/<random>.w`: on a file system that refuses renames, the record of a write in
//!   progress (see [`FsQuirks`] and "Restricted file systems" below).
//!
//! Other components (the sync engine's journal and ledger) may keep their own files under
//! `.wmdm/` too; the provider leaves unknown files there alone.
//!
//! # Writes that cannot corrupt
//!
//! [`Storage::create`](crate::provider::Storage::create) of a file reserves the name and returns
//! a handle, but nothing appears on disk. [`Storage::open`](crate::provider::Storage::open) for
//! writing writes into `.wmdm-tmp-<session>-<n>.part` in the same folder; `close` flushes, syncs
//! and renames it into place (and syncs the folder), in the default
//! [`Durability::PerOperation`] mode; with [`Durability::AtFlush`] the syncs wait for the next
//! barrier ([`FsDevice::flush`]), which makes every change before it durable at once. A durable write hands its data to the kernel's writeback every 4 MiB as it goes (on
//! Linux, `posix_fadvise(DONTNEED)` on the range just written), so the disk writes while the
//! data is still coming and the sync at `close` waits only for the tail.
//! [`FsStorage::transfer_files`] copies many host files as one batch: each file still appears
//! only once its data is complete and synced, but a group of files shares the syncs (the disk
//! cache flushes and journal commits that dominate a per-file durable copy of small files).
//! A write dropped before `close` removes its temporary file; a crash leaves it behind, and
//! the next listing of that folder removes it. A user's file is never deleted because of its
//! name: `<session>` is a random number recorded in `.wmdm/sessions` before the session's first
//! temporary file is made, and only files of exactly that form naming a recorded session are
//! removed (a user's `.wmdm-tmp-mine.part` stays, though like every `.wmdm-tmp-` name it is
//! not listed). Listings never show
//! temporary files, and a reserved name that was never written never shows up either. A
//! reservation lasts while the handle `create` returned, or a write session on it, is alive;
//! creating the same name again meanwhile hands back the same reservation. Once the last of
//! them is dropped without a completed write, the name is free again and the handle's ID is
//! gone.
//!
//! # Read-only devices
//!
//! With [`DeviceOptions`]' `read_only`, the provider writes nothing at all on the device (see
//! the field); every change fails with [`Error::WriteProtected`](crate::Error::WriteProtected).
//! A medium that cannot take the state folder opens the same way for reads, but only its
//! state is kept in memory: changes to content are still tried.
//!
//! # Restricted file systems
//!
//! A FAT image mounted through FUSE (fusefat) refuses appends, writes that grow a file the
//! writing handle did not create and names outside ASCII, and silently empties a folder that is
//! renamed; MTP players mounted through FUSE refuse renames as well. The
//! provider detects each refusal the first time it bites, remembers it for the session
//! ([`FsDevice::quirks`]) and works around it: state files are rewritten whole, tags go into a
//! new copy, folders move entry by entry, and without renames a file is written whole in place
//! under a record that the next open uses to remove an interrupted one (see [`FsQuirks`] for the
//! guarantees). What no error reveals is known from the file system's kind
//! ([`FsDevice::fs_kind`]): on fusefat the provider never appends, never writes into an existing
//! file and never renames a folder. Data is always written into a file just created, by the
//! handle that created it. A file system that reports no size (fusefat does not) needs a quota
//! ([`DeviceOptions::quota`]) for anything to fit.
//!
//! # Dates on FAT
//!
//! FAT keeps modification times in 2-second steps ([`FsDevice::fs_kind`] says when a device
//! is on FAT). The provider never orders changes by date: it compares an object's date and
//! size only with what it read itself (the playlist cache; an outside edit of a playlist that
//! keeps its size within 2 seconds of the provider's last read goes unseen until its next
//! change). A metadata change that keeps the file's size (tags rewritten into their padding,
//! or a sidecar-only change) dates the object at least one 2-second step after its old date,
//! so a host comparing dates and sizes sees it.
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
//! applied. A change that only touches the sidecar sets the file's modification time, so the
//! object's date says it changed (sync's statistics flow-back relies on that).
//!
//! # Playlists
//!
//! An object whose format is a playlist holds references (SetReferences/GetReferences). It is
//! stored as an M3U8 file (`#EXTM3U`, one path per line, UTF-8) or a WPL file (Windows Media
//! Player's SMIL playlist), read and written with the library's
//! [`read_m3u`](crate::playlist_file::read_m3u)/[`write_m3u`](crate::playlist_file::write_m3u) and
//! [`read_wpl`](crate::playlist_file::read_wpl)/[`write_wpl`](crate::playlist_file::write_wpl). Which one:
//!
//! * the file's name decides for an existing playlist and for a name given with an extension:
//!   `.m3u8` and `.m3u` are M3U8, `.wpl` is WPL;
//! * a playlist created with `WMDM/FormatCode` set to the M3U or WPL code, and no playlist
//!   extension in its name, gets `.m3u8` or `.wpl` appended;
//! * one created as the abstract playlist gets the extension of the device profile's
//!   [`DeviceProfile::playlist_format`] (M3U8 unless the profile asks for WPL).
//!
//! Entries are paths relative to the playlist's own folder, separated by
//! [`DeviceProfile::playlist_separator`] (by default `/` in M3U8 and `\` in WPL files, as
//! Windows Media Player writes them). Reading accepts either separator, a BOM, UTF-16 and
//! Latin-1 text, and skips entries that are absolute, URLs, leave the device or name nothing on
//! it. A file that does not parse as its format (a `.wpl` that is not XML) gives
//! [`Error::InvalidArg`](crate::Error::InvalidArg). Renaming a playlist to the other extension
//! rewrites it in that format.
//!
//! References resolve by persistent ID; the file is their rendering. Moving or renaming an
//! object through the provider, or a folder holding objects, rewrites every playlist that lists
//! any of them (and every playlist inside a moved folder, whose relative paths change), so the
//! entries keep naming the same objects; deleting an object removes it from every playlist that
//! lists it, as WMDM drops a reference to a deleted object. This covers the playlists the
//! provider knows: those created, written or listed through it in this or an earlier session
//! (the ID map remembers them). What each playlist resolves to is cached per device, keyed by
//! the file's size and date, so a change costs one `lstat` per known playlist, and a parse only
//! for playlists whose file changed. A playlist that cannot be rewritten (read-only, unreadable)
//! is logged and left as it was; the move or delete itself still succeeds.
//!
//! # Open objects and moving folders
//!
//! A folder holding an object that is open for reading or writing (at any depth) cannot be
//! renamed or moved: [`Storage::rename`](crate::provider::Storage::rename) and
//! [`Storage::move_to`](crate::provider::Storage::move_to) fail with
//! [`Error::Busy`](crate::Error::Busy) (`WMDM_E_BUSY`) on every host until the session is
//! closed or dropped. Windows refuses such a rename itself, and everywhere a write session's
//! temporary file sits in the folder under the path the write began with; one rule on every
//! host means a caller meets it in tests on Linux too. The memory provider follows the same
//! rule. The open object itself may be renamed or moved, and deleting a folder is unaffected
//! (see Windows above).
//!
//! # Capacity
//!
//! Without a quota, total and free space come from the file system (`statvfs` on Unix,
//! `GetDiskFreeSpaceExW` on Windows). With a quota, the total is the quota and the free space is the quota minus the bytes used under the
//! root (apparent file sizes, counted once by walking the device and then kept up to date),
//! never more than the file system has free. When neither is known (a FUSE mount that reports a
//! zero total, or a host that is neither Unix nor Windows), [`FsGlobals::capacity`] says `None`, and
//! `total_size` and `total_free` both return 0, which is what WMDM shows for a medium it
//! cannot measure; set a quota on such devices. A write that would pass the quota, or that runs
//! out of space on the medium, fails with [`Error::DiskFull`](crate::Error::DiskFull) and leaves
//! nothing behind.

mod device;
mod durability;
mod globals;
mod host;
mod identity;
mod idmap;
mod io;
mod lock;
mod names;
mod ops;
mod playlist;
mod profile;
mod provider;
mod quirks;
mod scan;
mod shared;
mod storage;
mod tagging;
mod temps;
mod transfer;
mod verified;

pub use crate::sys::fstype::FsKind;
pub use device::FsDevice;
pub use durability::Durability;
pub use globals::{Capacity, FsGlobals};
pub use names::{NameMode, NamePolicy, STATE_DIR, TEMP_PREFIX, TEMP_SUFFIX};
pub use profile::{BUILTIN_PROFILES, PROFILE_FILE, ProfileError};
pub use provider::{DeviceEvent, FsConfig, FsProvider};
pub use quirks::FsQuirks;
pub use storage::FsStorage;
pub use transfer::FileCopy;

use crate::metadata::FormatCode;
pub use crate::playlist_file::PlaylistFormat;

/// What a device is and plays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceProfile {
    /// IMDSPDevice::GetManufacturer.
    pub manufacturer: String,
    /// `WMDM/DeviceModelName`.
    pub model: String,
    /// The formats the device plays, most preferred first (`WMDM/FormatsSupported`).
    pub formats: Vec<FormatCode>,
    /// The file format of a playlist created as the abstract playlist without a playlist
    /// extension in its name (M3U8 by default). A name with `.m3u8`, `.m3u` or `.wpl`, or the
    /// M3U or WPL format code, chooses for itself, and an existing playlist file keeps its format.
    pub playlist_format: PlaylistFormat,
    /// The separator written between the components of playlist entries; `None` (the
    /// default) writes `/` in M3U8 files and `\` in WPL files, as Windows Media Player does.
    pub playlist_separator: Option<char>,
    /// The highest bitrate it plays, in bits per second (`None`: no limit); reported through
    /// IMDSPDevice3::GetFormatCapability, so the sync converts above it.
    pub max_bitrate: Option<u32>,
    /// The sample rates it plays (empty: any).
    pub sample_rates: Vec<u32>,
    /// The most audio channels it plays (`None`: no limit).
    pub max_channels: Option<u8>,
    /// The longest name it takes, in bytes (`None`: the file system's limit); reported as
    /// `wmdm-rs/NameMax`.
    pub name_max: Option<usize>,
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
            playlist_format: PlaylistFormat::M3u8,
            playlist_separator: None,
            max_bitrate: None,
            sample_rates: Vec::new(),
            max_channels: None,
            name_max: None,
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
    /// When changes reach the medium (default [`Durability::PerOperation`]: written files,
    /// renames and the ID records they make are synced before each call returns). With
    /// [`Durability::AtFlush`] nothing is synced per operation and
    /// [`Device::flush`](crate::provider::Device::flush) is the barrier that makes everything
    /// durable at once; [`Durability::Off`] is for tests and scratch devices.
    pub durability: Durability,
    /// Never write anything on the device (default `false`): no `.wmdm/` folder, no
    /// `device.id`, no ID records, no clean-up of temporary files, no sidecars. Reads work;
    /// the unique IDs handed out last as long as the handle, and the serial number is the one
    /// in an existing `.wmdm/device.id`, or else one derived from the root's path (the same
    /// for every read-only open of that path). Every operation that would change the device
    /// fails with [`Error::WriteProtected`](crate::Error::WriteProtected). A dry run or an
    /// estimate opens the device this way.
    pub read_only: bool,
    /// Test hook: the provider's own file operations fail as on a file system with these
    /// quirks (EPERM), so the workarounds can be exercised without such a mount.
    #[doc(hidden)]
    pub simulate: FsQuirks,
    /// Let the file system's kind adjust the name policy (default `true`): on a file system
    /// detected as FAT-like ([`FsKind::is_fat_like`]: FAT, exFAT, fusefat, FUSE block devices)
    /// a permissive `policy` becomes [`NamePolicy::fat`] with the same mode, since the medium
    /// would refuse or confuse the names FAT forbids anyway; on fusefat, which refuses names
    /// outside ASCII, any policy becomes [`NamePolicy::fat_ascii`] with the same mode. `false`
    /// keeps `policy` as given.
    pub fs_rules: bool,
}

impl Default for DeviceOptions {
    fn default() -> Self {
        DeviceOptions {
            policy: NamePolicy::default(),
            quota: None,
            profile: DeviceProfile::default(),
            durability: Durability::PerOperation,
            read_only: false,
            simulate: FsQuirks::empty(),
            fs_rules: true,
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

    /// Sets durability: `true` is [`Durability::PerOperation`], `false` is [`Durability::Off`].
    pub fn durable(mut self, durable: bool) -> DeviceOptions {
        self.durability = if durable {
            Durability::PerOperation
        } else {
            Durability::Off
        };
        self
    }

    /// Sets when changes reach the medium (see [`Durability`]).
    pub fn durability(mut self, durability: Durability) -> DeviceOptions {
        self.durability = durability;
        self
    }

    /// Test hook: simulates a file system with `quirks` (see the `simulate` field).
    #[doc(hidden)]
    pub fn simulate(mut self, quirks: FsQuirks) -> DeviceOptions {
        self.simulate = quirks;
        self
    }

    /// Sets whether the file system's kind may adjust the name policy (see the `fs_rules`
    /// field).
    pub fn fs_rules(mut self, yes: bool) -> DeviceOptions {
        self.fs_rules = yes;
        self
    }

    /// The options for a device on a file system of kind `kind`: a permissive policy becomes
    /// FAT's on a FAT-like one, and any policy ASCII-only on fusefat, when `fs_rules` allows it.
    pub(crate) fn for_fs(mut self, kind: &FsKind) -> DeviceOptions {
        if self.fs_rules && kind.is_fat_like() && !self.policy.is_fat() {
            self.policy = NamePolicy::fat(self.policy.mode());
        }
        // fusefat refuses every name outside ASCII (EPERM), whatever the policy says.
        if self.fs_rules && *kind == FsKind::FuseFat {
            self.policy = self.policy.ascii();
        }
        self
    }

    /// Opens the device read-only (see the [`read_only`](DeviceOptions#structfield.read_only) field).
    pub fn read_only(mut self, read_only: bool) -> DeviceOptions {
        self.read_only = read_only;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fat_like_file_systems_get_fat_rules_unless_told_otherwise() {
        let permissive = DeviceOptions::default().policy(NamePolicy::permissive());
        for kind in [
            FsKind::Fat,
            FsKind::ExFat,
            FsKind::FuseFat,
            FsKind::FuseBlock,
        ] {
            let expected = if kind == FsKind::FuseFat {
                NamePolicy::fat_ascii(NameMode::Reject)
            } else {
                NamePolicy::fat(NameMode::Reject)
            };
            assert_eq!(
                permissive.clone().for_fs(&kind).policy,
                expected,
                "{kind:?}"
            );
            let kept = permissive.clone().fs_rules(false).for_fs(&kind);
            assert_eq!(kept.policy, NamePolicy::permissive());
        }
        let sanitise = DeviceOptions::default().policy(NamePolicy::fat(NameMode::Sanitise));
        assert_eq!(sanitise.clone().for_fs(&FsKind::Fat), sanitise);
        assert_eq!(
            sanitise.clone().for_fs(&FsKind::FuseFat).policy,
            NamePolicy::fat_ascii(NameMode::Sanitise)
        );
        for kind in [
            FsKind::Other("ext4".into()),
            FsKind::FuseMtp,
            FsKind::Unknown,
        ] {
            assert_eq!(permissive.clone().for_fs(&kind), permissive);
        }
    }
}
