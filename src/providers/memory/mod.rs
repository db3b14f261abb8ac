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
//!   pull the plug after N bytes, fill or write-protect the media, or make calls slow in
//!   virtual time. [`DeviceStats`] counts what was asked of the device.
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

mod config;
mod content;
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
