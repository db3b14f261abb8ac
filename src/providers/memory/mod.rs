//! A simulated device held in memory, with deterministic fault injection, for testing sync
//! logic and anything else that talks to WMDM providers.
//!
//! * [`MemoryProvider`] is the service provider (IMDServiceProvider/2/3): it lists its devices,
//!   finds one by canonical name, and lets a test plug devices in and out.
//! * [`MemoryDevice`] is one player (IMDSPDevice/2/3): configurable identity, formats,
//!   properties and media ([`StorageConfig`]), built with [`MemoryDevice::builder`].
//! * [`MemoryStorage`] is a file, folder, playlist or medium root (IMDSPStorage/2/3/4 and
//!   IMDSPObject/2, plus IMDSPObjectInfo for audio files); [`MemoryGlobals`] is a medium
//!   (IMDSPStorageGlobals); [`MemoryObjectIo`] is an open file.
//! * [`FaultPlan`] makes the device misbehave on cue: fail the Nth call of an [`Operation`],
//!   pull the plug after N bytes, fill or write-protect the media, make calls slow in
//!   virtual time, or crash before the Nth change. [`DeviceStats`] counts what was asked of
//!   the device.
//! * A crash keeps exactly what a real file system would keep (see [the crash
//!   model](crate::providers::memory#the-crash-model) below); [`MemoryDevice::reboot`] starts a
//!   device again over what survived, and a [`DeviceImage`] keeps the media of any moment to
//!   start over from.
//!
//! The device behaves like a small FAT-formatted player:
//!
//! * names are checked (no empty names, `.`, `..`, `/`, `\`, NUL, or more than 255 UTF-16
//!   units) and siblings may not share a name in any case;
//! * children keep the order that `Before` / `After` / `Into` placement gives them;
//! * every object has a persistent unique ID, `<serial>:<storage>:<n>`, stable across renames
//!   and moves and never reused, which `find_storage` looks up directly;
//! * free space is capacity minus bad bytes, committed files, and the bytes that open write
//!   sessions have added so far;
//! * one file may be open at a time (configurable); a write session is committed atomically by
//!   `close`, so an interrupted transfer never leaves a half-written file;
//! * deletes, formats, renames and moves are all-or-nothing, and a progress callback can
//!   cancel them before anything changes;
//! * after a disconnection every call fails with [`Error::DeviceNotConnected`] (the status
//!   reports `DEVICE_NOTPRESENT` instead) until the test reconnects the device.
//!
//! ```
//! use std::sync::Arc;
//! use wmdm::Error;
//! use wmdm::flags::OpenMode;
//! use wmdm::provider::{CreateRequest, Device, ServiceProvider};
//! use wmdm::providers::memory::{FaultPlan, MemoryDevice, MemoryProvider, Operation};
//!
//! let player = MemoryDevice::builder("Player")
//!     .fault_plan(FaultPlan::new().fail_nth(Operation::Write, 2, Error::ProcessFailed))
//!     .build()?;
//! let provider = MemoryProvider::new().with_device(player.clone());
//!
//! let device = provider.devices()?.remove(0);
//! let root = device.storages()?.remove(0);
//! let file = root.create(&CreateRequest::file("song.mp3"))?;
//! let mut io = file.open(OpenMode::WRITE)?;
//! io.write(b"first")?;
//! assert_eq!(io.write(b"second"), Err(Error::ProcessFailed));
//! drop(io); // abandoned: nothing is committed
//!
//! assert_eq!(player.read_file("song.mp3")?, b"");
//! assert_eq!(player.stats().calls(Operation::Write), 2);
//! # Ok::<(), wmdm::Error>(())
//! ```
//!
//! # The crash model
//!
//! A crash point is "before mutating operation `n`" ([`FaultPlan::crash_before`]). The
//! operations counted are the ones that change the device ([`Operation::is_mutating`]):
//! `create` (a file, a folder, an insert's object), every `write`, the `close` that ends a
//! write session, `delete`, `rename`, `move_to`, `set_metadata`, `set_references`,
//! `set_attributes`, `set_property` and `initialize`. Reads, listings, `open` and `seek` are
//! not counted: a crash before one of them leaves the media exactly as a crash before the next
//! change does. The call at the crash point fails with [`Error::DeviceNotConnected`]
//! (an [`ErrorKind::Disconnected`](crate::error::ErrorKind::Disconnected) error, as the
//! process would see a pulled plug), and from then on the device refuses every call the same
//! way, [`MemoryDevice::reconnect`] included, until a test reboots it
//! ([`MemoryDevice::reboot`]): a new device, the same identity, over what survived.
//!
//! What survives, on a durable device (the default, the folder provider with `durable` on:
//! data synced at `close`, directory entries synced at create, rename and delete):
//!
//! * every operation that returned before the crash point, as it left the media;
//! * nothing of the operation at the crash point (it never started);
//! * nothing of the data of a write session still open: the file keeps the content its last
//!   completed `close` gave it (empty for a file created and never closed). This is the memory
//!   device's commit point, as the folder provider's rename of its hidden temporary file is
//!   (that provider removes the orphaned temporary file at its next listing, so neither device
//!   shows partial data);
//! * a create, delete, rename or move is all-or-nothing: done if it returned, not done
//!   otherwise.
//!
//! With [`FaultPlan::torn_writes`] the device writes in place instead (an MTP device through
//! FUSE, a file system that refuses renames): a crash leaves each open write session's bytes so
//! far in its file, a torn prefix of what was meant (the rest of the old content after it).
//! A medium built with [`StorageConfig::no_rename`] refuses renames and moves
//! ([`Error::NotSupported`]) before and after a reboot; with torn writes it is that MTP device,
//! on which a sync writes its files in place (docs/sync.md, "Devices that refuse renames").
//!
//! On a non-durable device ([`FaultPlan::non_durable`], the folder provider with `durable` off:
//! no syncs, the host writes back in the background), completed changes become durable only at
//! the durable points, and a crash loses every change since the last one, in order: the media
//! are as they were at that point. (A real cache may also reorder what it loses; this model
//! keeps the order, so it shows what the host's own state, written elsewhere, does when the
//! device falls behind it.)
//!
//! Open sessions, handles and the fault plan do not survive; unique IDs, dates, metadata,
//! references and attributes of what survives do. A rebooted device counts calls and
//! mutations from zero, with no faults.
//!
//! ```
//! use wmdm::Error;
//! use wmdm::provider::{CreateRequest, Device};
//! use wmdm::providers::memory::{FaultPlan, MemoryDevice};
//!
//! let player = MemoryDevice::new("Player");
//! player.put_file("Music/mine.mp3", b"user's".to_vec())?;
//! let before = player.image();
//! player.set_fault_plan(FaultPlan::new().crash_before(1));
//! let root = player.root();
//! root.create(&CreateRequest::file("a.mp3"))?; // mutation 0: done, and durable
//! let crashed = root.create(&CreateRequest::file("b.mp3"));
//! assert_eq!(crashed.err(), Some(Error::DeviceNotConnected));
//! assert!(player.is_crashed());
//! player.reconnect(); // a crashed device stays gone until it is rebooted
//! assert_eq!(player.storages().err(), Some(Error::DeviceNotConnected));
//!
//! let rebooted = player.reboot();
//! assert_eq!(rebooted.files().len(), 2); // mine.mp3 and the empty a.mp3
//! assert!(rebooted.read_file("b.mp3").is_err());
//! let again = player.restart_from(&before); // the world before the run, for the next point
//! assert_eq!(again.files().len(), 1);
//! # Ok::<(), wmdm::Error>(())
//! ```

mod config;
mod content;
mod crash;
mod device;
mod fault;
mod globals;
mod io;
mod lock;
mod node;
mod state;
mod storage;
mod tree;

use std::sync::{Mutex, PoisonError};

pub use config::{DEFAULT_CAPACITY, MemoryDeviceBuilder, StorageConfig};
pub use content::Entry;
pub use crash::DeviceImage;
pub use device::{IOCTL_WMP_DEVICE_CAN_SYNC, MemoryDevice};
pub use fault::{DeviceStats, FaultPlan, Operation};
pub use globals::MemoryGlobals;
pub use io::MemoryObjectIo;
pub use storage::MemoryStorage;

use crate::error::{Error, Result};
use crate::flags::DeviceEnumPreference;
use crate::provider::{Device, DeviceRef, ServiceProvider};

#[derive(Debug, Default)]
struct ProviderState {
    devices: Vec<MemoryDevice>,
    enumeration_started: bool,
    preference: DeviceEnumPreference,
}

/// A service provider whose devices are [`MemoryDevice`]s.
///
/// Only connected devices are listed: a disconnected device has left the bus. Add and remove
/// devices at any time to simulate arrival and removal.
#[derive(Debug, Default)]
pub struct MemoryProvider {
    state: Mutex<ProviderState>,
}

impl MemoryProvider {
    /// A provider with no devices.
    pub fn new() -> MemoryProvider {
        MemoryProvider::default()
    }

    /// Adds a device (builder style).
    pub fn with_device(self, device: MemoryDevice) -> MemoryProvider {
        self.add_device(device);
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ProviderState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Plugs a device in.
    pub fn add_device(&self, device: MemoryDevice) {
        self.lock().devices.push(device);
    }

    /// Unplugs the device with this serial; returns it, or `None` when there is none.
    pub fn remove_device(&self, serial: &str) -> Option<MemoryDevice> {
        let mut st = self.lock();
        let at = st.devices.iter().position(|d| d.serial() == serial)?;
        Some(st.devices.remove(at))
    }

    /// Every device, connected or not.
    pub fn all_devices(&self) -> Vec<MemoryDevice> {
        self.lock().devices.clone()
    }

    /// The preference set with `set_device_enum_preference`.
    pub fn enum_preference(&self) -> DeviceEnumPreference {
        self.lock().preference
    }

    fn connected(&self) -> Vec<MemoryDevice> {
        self.lock()
            .devices
            .iter()
            .filter(|d| d.is_connected())
            .cloned()
            .collect()
    }
}

impl ServiceProvider for MemoryProvider {
    fn device_count(&self) -> Result<u32> {
        Ok(u32::try_from(self.connected().len()).unwrap_or(u32::MAX))
    }

    fn devices(&self) -> Result<Vec<DeviceRef>> {
        self.lock().enumeration_started = true;
        Ok(self
            .connected()
            .into_iter()
            .map(|d| std::sync::Arc::new(d) as DeviceRef)
            .collect())
    }

    /// Accepts a device's canonical name (`memory:<serial>`), optionally followed by `$<n>`
    /// as Plug and Play paths are.
    ///
    /// # Errors
    /// [`Error::FileNotFound`] when no connected device has that name.
    fn create_device(&self, pnp_path: &str) -> Result<Vec<DeviceRef>> {
        self.lock().enumeration_started = true;
        let wanted = match pnp_path.rsplit_once('$') {
            Some((base, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => base,
            _ => pnp_path,
        };
        let found = self
            .connected()
            .into_iter()
            .find(|d| d.canonical_name().is_ok_and(|c| c == wanted))
            .ok_or(Error::FileNotFound)?;
        Ok(vec![std::sync::Arc::new(found) as DeviceRef])
    }

    /// Stores the preference; the memory provider never virtualises storages as devices, so
    /// it has no further effect.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] for unknown bits; [`Error::CallOutOfSequence`] once
    /// `devices` or `create_device` has been called.
    fn set_device_enum_preference(&self, preference: DeviceEnumPreference) -> Result<()> {
        if preference.bits() & !DeviceEnumPreference::all().bits() != 0 {
            return Err(Error::InvalidArg);
        }
        let mut st = self.lock();
        if st.enumeration_started {
            return Err(Error::CallOutOfSequence);
        }
        st.preference = preference;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_preference_rules() {
        let p = MemoryProvider::new();
        assert_eq!(
            p.set_device_enum_preference(DeviceEnumPreference::from_bits_retain(0x4)),
            Err(Error::InvalidArg)
        );
        p.set_device_enum_preference(DeviceEnumPreference::ALLOW_OUTOFBAND_NOTIFICATION)
            .unwrap();
        assert_eq!(
            p.enum_preference(),
            DeviceEnumPreference::ALLOW_OUTOFBAND_NOTIFICATION
        );
        p.devices().unwrap();
        assert_eq!(
            p.set_device_enum_preference(DeviceEnumPreference::empty()),
            Err(Error::CallOutOfSequence)
        );
    }

    #[test]
    fn a_medium_without_renames_refuses_them_across_a_reboot() {
        use crate::flags::Placement;
        use crate::provider::NoProgress;
        let d = MemoryDevice::builder("P")
            .serial("NR1")
            .storage(StorageConfig::new("Internal", 1 << 20).no_rename())
            .build()
            .unwrap();
        d.put_file("Music/a.mp3", b"abc".to_vec()).unwrap();
        for d in [d.clone(), d.restart_from(&d.image())] {
            let root = d.root();
            let file = d.handle("Music/a.mp3").unwrap();
            assert_eq!(
                file.rename("b.mp3", &mut NoProgress),
                Err(Error::NotSupported)
            );
            assert_eq!(
                file.move_to(Placement::Into, &*root, &mut NoProgress),
                Err(Error::NotSupported)
            );
            // Everything else still works: a new file, a delete.
            d.put_file("Music/c.mp3", b"c".to_vec()).unwrap();
            d.handle("Music/c.mp3")
                .unwrap()
                .delete(false, &mut NoProgress)
                .unwrap();
            assert!(d.files().contains_key("Music/a.mp3"));
        }
    }

    #[test]
    fn a_read_only_device_refuses_every_change() {
        use crate::flags::{Mode, OpenMode, Placement};
        use crate::metadata::{Metadata, PropValue, device, tags};
        use crate::provider::{CreateRequest, NoProgress, ObjectAttributes};
        let d = MemoryDevice::new("P");
        d.put_file("Music/a.mp3", b"abc".to_vec()).unwrap();
        d.put_file("Playlists/p.m3u8", b"".to_vec()).unwrap();
        let before = d.files();
        d.set_fault_plan(FaultPlan::new().read_only());
        let root = d.root();
        let file = d.handle("Music/a.mp3").unwrap();
        let list = d.handle("Playlists/p.m3u8").unwrap();
        let mut meta = Metadata::new();
        meta.add(tags::TITLE, "x");
        let refused = [
            root.create(&CreateRequest::file("b.mp3")).map(drop),
            file.open(OpenMode::WRITE).map(drop),
            file.delete(false, &mut NoProgress),
            file.rename("c.mp3", &mut NoProgress),
            file.move_to(Placement::Into, &*root, &mut NoProgress),
            file.set_metadata(&meta).map(drop),
            list.set_references(std::slice::from_ref(&file)),
            file.set_attributes(&ObjectAttributes::default()),
            d.set_property(device::DEVICE_FRIENDLY_NAME, &PropValue::String("y".into())),
            root.globals()
                .and_then(|g| g.initialize(Mode::default(), &mut NoProgress)),
        ];
        for (i, r) in refused.into_iter().enumerate() {
            assert_eq!(r, Err(Error::WriteProtected), "change {i}");
        }
        assert_eq!(d.files(), before);
        // Reads still work.
        assert_eq!(file.size(), Ok(3));
    }

    #[test]
    fn arrival_removal_and_canonical_names() {
        let p = MemoryProvider::new();
        let d = MemoryDevice::builder("A").serial("S1").build().unwrap();
        p.add_device(d.clone());
        assert_eq!(p.device_count(), Ok(1));
        assert_eq!(p.create_device("memory:S1$0").map(|v| v.len()), Ok(1));
        assert_eq!(p.create_device("memory:S1").map(|v| v.len()), Ok(1));
        assert_eq!(
            p.create_device("memory:S2").err(),
            Some(Error::FileNotFound)
        );
        d.disconnect();
        assert_eq!(p.device_count(), Ok(0));
        d.reconnect();
        assert!(p.remove_device("S1").is_some());
        assert_eq!(p.devices().map(|v| v.len()), Ok(0));
    }
}
