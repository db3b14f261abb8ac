//! Faults and file-system quirks over any provider, in the spirit of smoltcp's
//! `FaultInjector`: [`QuirkProvider`] wraps an `Arc<dyn ServiceProvider>` and every object
//! reached through it (devices, storages, globals, open objects, object info, direct
//! transfers), and makes them fail or behave the way restricted media do.
//!
//! What a [`Quirks`] set can do:
//!
//! * **Faults**: fail the `n`th call of an [`Operation`] with a chosen error
//!   ([`Quirks::fail_nth`]); pull the plug at the `n`th call ([`Quirks::disconnect_on`], or
//!   [`QuirkHandle::disconnect`] at any time), after which every device call fails
//!   [`Error::DeviceNotConnected`]; run out of space after `n` bytes written
//!   ([`Quirks::disk_full_after`], [`Error::DiskFull`], as when another program fills the
//!   medium during a sync).
//! * **Quirks of restricted file systems**: read-only media ([`Quirks::read_only`],
//!   [`Error::WriteProtected`]); no appends and no writes into an existing object
//!   ([`Quirks::no_append`], [`Error::AccessDenied`], as FAT through `fusefat` or MTP through
//!   `jmtpfs` answer EPERM); no rename or move ([`Quirks::no_rename`]); modification times
//!   with a 2-second resolution ([`Quirks::coarse_times`], as FAT stores them);
//!   case-insensitive names ([`Quirks::case_insensitive`]); a shorter name limit
//!   ([`Quirks::name_limit`]); names in ASCII only ([`Quirks::ascii_names`]). The device
//!   reports the name quirks in its [`NAME_RULE`](crate::metadata::device::NAME_RULE) and
//!   [`NAME_MAX`](crate::metadata::device::NAME_MAX) properties, so a sync plans names the
//!   quirks accept, as it does on a real medium that has them.
//!
//! Everything else passes through unchanged, the result of each call wrapped so the quirks
//! reach every level. Calls are counted per [`Operation`] (the memory device's taxonomy, whose
//! variants list the trait methods they cover) from the moment a quirk set is installed;
//! [`QuirkHandle::calls`] reads the counts and [`QuirkHandle::bitten`] says which quirks
//! refused something, so a test can tell a quirk fired. [`QuirkHandle::set`] swaps the quirks
//! at run time: a test runs a sync with a quirk, then again without it.
//!
//! Faults are checked before the inner object is called, so an injected failure leaves the
//! device as it was. Two departures from "wrap everything", both documented on the methods:
//! `Storage::move_to` and `Storage::set_references` find the inner counterpart of a wrapped
//! argument by its persistent unique ID, since a `&dyn Storage` cannot be unwrapped; the
//! provider's own calls (device enumeration) are never failed, only counted, because a
//! disconnected device disappears from its device, not from the host.
//!
//! ```
//! use std::sync::Arc;
//! use wmdm::Error;
//! use wmdm::provider::ServiceProvider;
//! use wmdm::providers::memory::{MemoryDevice, MemoryProvider, Operation};
//! use wmdm::providers::quirks::{QuirkProvider, Quirks};
//!
//! let inner = Arc::new(MemoryProvider::new().with_device(MemoryDevice::new("Player")));
//! let quirky = QuirkProvider::new(inner, Quirks::none().fail_nth(Operation::DeviceInfo, 2, Error::Busy));
//! let device = &quirky.devices().unwrap()[0];
//! assert!(device.name().is_ok());
//! assert_eq!(device.name(), Err(Error::Busy));
//! assert!(device.name().is_ok());
//! ```

mod device;
mod storage;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::error::{Error, Result};
use crate::flags::DeviceEnumPreference;
use crate::metadata::{PropValue, device as props};
use crate::provider::names::{MAX_COMPONENT, NameRule};
use crate::provider::{Device, DeviceRef, ServiceProvider};
pub use crate::providers::memory::Operation;

use device::QuirkDevice;

/// A set of faults and quirks for a [`QuirkProvider`]. Build one with the chained methods.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Quirks {
    fail_nth: Vec<(Operation, u64, Error)>,
    disconnect_on: Option<(Operation, u64)>,
    disk_full_after: Option<u64>,
    read_only: bool,
    no_append: bool,
    no_rename: bool,
    coarse_times: bool,
    case_insensitive: bool,
    name_limit: Option<usize>,
    ascii_names: bool,
}

/// One quirk, as [`QuirkHandle::bitten`] reports the ones that refused something.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Quirk {
    /// A [`Quirks::fail_nth`] fault fired.
    Fault,
    /// The device was disconnected.
    Disconnected,
    /// A write ran out of space ([`Quirks::disk_full_after`]).
    DiskFull,
    /// A change was refused on a read-only medium.
    ReadOnly,
    /// A write into an existing object was refused ([`Quirks::no_append`]).
    NoAppend,
    /// A rename or move was refused.
    NoRename,
    /// A name collided with a sibling's in another case.
    CaseInsensitive,
    /// A name was over the limit.
    NameLimit,
    /// A name outside ASCII was refused ([`Quirks::ascii_names`]).
    AsciiNames,
}

impl Quirks {
    /// No faults and no quirks: everything passes through.
    pub fn none() -> Quirks {
        Quirks::default()
    }

    /// The `n`th call (1-based) of `op` fails with `error`, once. May be given several times.
    pub fn fail_nth(mut self, op: Operation, n: u64, error: Error) -> Quirks {
        self.fail_nth.push((op, n, error));
        self
    }

    /// The `n`th call of `op` disconnects the device (that call fails too).
    pub fn disconnect_on(mut self, op: Operation, n: u64) -> Quirks {
        self.disconnect_on = Some((op, n));
        self
    }

    /// Writes fail [`Error::DiskFull`] once `bytes` bytes have been written through the
    /// wrapper (a write that would pass the mark fails whole). Free space is still reported
    /// by the inner device: the space went to someone else.
    pub fn disk_full_after(mut self, bytes: u64) -> Quirks {
        self.disk_full_after = Some(bytes);
        self
    }

    /// Every change fails [`Error::WriteProtected`]: create, write (and opening for writing),
    /// delete, rename, move, metadata, attributes, references, properties, play-info setters,
    /// formatting and direct transfers.
    pub fn read_only(mut self) -> Quirks {
        self.read_only = true;
        self
    }

    /// Only an object created through the wrapper can be written, and only until its first
    /// write session closes: an append, a write after seeking to the end of an existing
    /// object, or any write into an object that existed before fails
    /// [`Error::AccessDenied`] (EPERM from `fusefat`, `jmtpfs`, `simple-mtpfs`).
    pub fn no_append(mut self) -> Quirks {
        self.no_append = true;
        self
    }

    /// Rename and move fail [`Error::NotSupported`] (MTP file systems through FUSE).
    pub fn no_rename(mut self) -> Quirks {
        self.no_rename = true;
        self
    }

    /// Modification dates (`Storage::date` and date metadata) come back rounded down to an
    /// even second, as FAT stores them.
    pub fn coarse_times(mut self) -> Quirks {
        self.coarse_times = true;
        self
    }

    /// Names are case-insensitive: `Storage::child` finds a name in any case, and creating or
    /// renaming to a case variant of a sibling's name fails [`Error::AlreadyExists`].
    pub fn case_insensitive(mut self) -> Quirks {
        self.case_insensitive = true;
        self
    }

    /// Creating or renaming to a name longer than `bytes` UTF-8 bytes fails
    /// [`Error::InvalidName`] (ENAMETOOLONG).
    pub fn name_limit(mut self, bytes: usize) -> Quirks {
        self.name_limit = Some(bytes);
        self
    }

    /// Creating or renaming to a name with a character outside ASCII fails
    /// [`Error::InvalidName`] (EPERM from `fusefat`).
    pub fn ascii_names(mut self) -> Quirks {
        self.ascii_names = true;
        self
    }

    /// FAT32 through `fusefat`: no appends or writes into existing files, 2-second times,
    /// case-insensitive ASCII names.
    pub fn fusefat() -> Quirks {
        Quirks::none()
            .no_append()
            .coarse_times()
            .case_insensitive()
            .ascii_names()
    }

    /// The name rule and component limit the device reports with these quirks, from what the
    /// wrapped device reports (`inner_rule`, `inner_max`): case-insensitive names need at least
    /// FAT's rules, ASCII names FAT's ASCII-only ones, and a name limit lowers the maximum.
    fn names(&self, inner_rule: NameRule, inner_max: usize) -> (NameRule, usize) {
        let mut rule = inner_rule;
        if self.case_insensitive {
            rule = rule.strictest(NameRule::Fat);
        }
        if self.ascii_names {
            rule = rule.strictest(NameRule::FatAscii);
        }
        let max = self.name_limit.map_or(inner_max, |l| l.min(inner_max));
        (rule, max)
    }

    /// An MTP device's file system through FUSE (`jmtpfs`, `gvfs-mtp`, `simple-mtpfs`): no
    /// renames and no partial writes.
    pub fn mtp_fuse() -> Quirks {
        Quirks::none().no_append().no_rename()
    }
}

/// What the wrappers share: the quirks and what they have counted.
#[derive(Debug, Default)]
struct State {
    quirks: Quirks,
    calls: BTreeMap<Operation, u64>,
    written: u64,
    disconnected: bool,
    /// Unique IDs of objects created through the wrapper whose first write session has not
    /// closed yet: the only objects [`Quirks::no_append`] lets anyone write.
    fresh: HashSet<String>,
    bitten: BTreeSet<Quirk>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
}

/// The kinds of call the read-only quirk refuses.
const CHANGES: &[Operation] = &[
    Operation::Create,
    Operation::Write,
    Operation::Delete,
    Operation::Rename,
    Operation::Move,
    Operation::SetMetadata,
    Operation::SetAttributes,
    Operation::SetReferences,
    Operation::SetProperty,
    Operation::Initialize,
];

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere never leaves the counters half-updated.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a call of `op` and applies the faults and the read-only quirk to it.
    fn enter(&self, op: Operation) -> Result<()> {
        let mut st = self.lock();
        if st.disconnected {
            return Err(Error::DeviceNotConnected);
        }
        let n = {
            let c = st.calls.entry(op).or_insert(0);
            *c += 1;
            *c
        };
        if st.quirks.disconnect_on == Some((op, n)) {
            st.disconnected = true;
            st.bitten.insert(Quirk::Disconnected);
            return Err(Error::DeviceNotConnected);
        }
        let fault = st
            .quirks
            .fail_nth
            .iter()
            .find(|(o, k, _)| *o == op && *k == n)
            .map(|(_, _, e)| e.clone());
        if let Some(e) = fault {
            st.bitten.insert(Quirk::Fault);
            return Err(e);
        }
        if st.quirks.read_only && CHANGES.contains(&op) {
            st.bitten.insert(Quirk::ReadOnly);
            return Err(Error::WriteProtected);
        }
        Ok(())
    }

    /// Like [`enter`](Shared::enter) for a call that changes the device whatever its kind
    /// (opening for writing, a play-info setter, a direct transfer).
    fn enter_change(&self, op: Operation) -> Result<()> {
        self.enter(op)?;
        let mut st = self.lock();
        if st.quirks.read_only {
            st.bitten.insert(Quirk::ReadOnly);
            return Err(Error::WriteProtected);
        }
        Ok(())
    }

    fn quirks(&self) -> Quirks {
        self.lock().quirks.clone()
    }

    fn bite(&self, q: Quirk) {
        self.lock().bitten.insert(q);
    }

    /// The device's [`NAME_RULE`](props::NAME_RULE) or [`NAME_MAX`](props::NAME_MAX) with
    /// the name quirks applied to what the wrapped `device` reports; `None` for any other
    /// property. A wrapped device that reports neither is taken to be permissive, with
    /// [`MAX_COMPONENT`] bytes per name; when the quirks do not change that either, the
    /// wrapped device's answer stands.
    fn name_property(&self, device: &dyn Device, name: &str) -> Option<Result<PropValue>> {
        if name != props::NAME_RULE && name != props::NAME_MAX {
            return None;
        }
        let inner = device.property(name);
        let inner_rule = match device.property(props::NAME_RULE) {
            Ok(PropValue::String(s)) => s.parse().unwrap_or(NameRule::Permissive),
            _ => NameRule::Permissive,
        };
        let inner_max = match device.property(props::NAME_MAX) {
            Ok(PropValue::U32(n)) => {
                usize::try_from(n).map_or(MAX_COMPONENT, |n| n.min(MAX_COMPONENT))
            }
            _ => MAX_COMPONENT,
        };
        let quirks = self.quirks();
        let (rule, max) = quirks.names(inner_rule, inner_max);
        if rule == inner_rule && max == inner_max {
            return Some(inner);
        }
        Some(Ok(if name == props::NAME_RULE {
            PropValue::String(rule.as_str().to_owned())
        } else {
            PropValue::U32(u32::try_from(max).unwrap_or(u32::MAX))
        }))
    }

    /// Refuses a new name over the limit, or outside ASCII where only ASCII is taken.
    fn check_name(&self, name: &str) -> Result<()> {
        let (limit, ascii) = {
            let st = self.lock();
            (st.quirks.name_limit, st.quirks.ascii_names)
        };
        if limit.is_some_and(|l| name.len() > l) {
            self.bite(Quirk::NameLimit);
            return Err(Error::InvalidName);
        }
        if ascii && !name.is_ascii() {
            self.bite(Quirk::AsciiNames);
            return Err(Error::InvalidName);
        }
        Ok(())
    }

    /// Counts `bytes` about to be written, refusing them once the medium is "full".
    fn spend(&self, bytes: u64) -> Result<()> {
        let mut st = self.lock();
        if let Some(limit) = st.quirks.disk_full_after
            && st.written.saturating_add(bytes) > limit
        {
            st.bitten.insert(Quirk::DiskFull);
            return Err(Error::DiskFull);
        }
        st.written = st.written.saturating_add(bytes);
        Ok(())
    }
}

/// A service provider whose devices have the faults and quirks of a [`Quirks`] set. See the
/// [module documentation](self).
#[derive(Debug)]
pub struct QuirkProvider {
    inner: Arc<dyn ServiceProvider>,
    shared: Arc<Shared>,
}

/// Controls the quirks of a [`QuirkProvider`] while it runs; cheap to clone.
#[derive(Clone, Debug)]
pub struct QuirkHandle {
    shared: Arc<Shared>,
}

impl QuirkProvider {
    /// Wraps `inner` with `quirks`.
    pub fn new(inner: Arc<dyn ServiceProvider>, quirks: Quirks) -> Arc<QuirkProvider> {
        let shared = Arc::new(Shared::default());
        shared.lock().quirks = quirks;
        Arc::new(QuirkProvider { inner, shared })
    }

    /// The handle that changes and observes the quirks.
    pub fn handle(&self) -> QuirkHandle {
        QuirkHandle {
            shared: self.shared.clone(),
        }
    }
}

impl QuirkHandle {
    /// Installs `quirks` in place of the current ones, resets the call counts and the bytes
    /// written, and reconnects.
    pub fn set(&self, quirks: Quirks) {
        let mut st = self.shared.lock();
        st.quirks = quirks;
        st.calls.clear();
        st.written = 0;
        st.disconnected = false;
        st.bitten.clear();
    }

    /// The current quirks.
    pub fn quirks(&self) -> Quirks {
        self.shared.quirks()
    }

    /// Pulls the plug: every device call fails [`Error::DeviceNotConnected`] until
    /// [`reconnect`](QuirkHandle::reconnect) or [`set`](QuirkHandle::set).
    pub fn disconnect(&self) {
        let mut st = self.shared.lock();
        st.disconnected = true;
        st.bitten.insert(Quirk::Disconnected);
    }

    /// Plugs the device back in.
    pub fn reconnect(&self) {
        self.shared.lock().disconnected = false;
    }

    /// True while disconnected.
    pub fn is_disconnected(&self) -> bool {
        self.shared.lock().disconnected
    }

    /// How many calls of `op` went through since the quirks were installed (refused ones
    /// included, calls made while disconnected not).
    pub fn calls(&self, op: Operation) -> u64 {
        self.shared.lock().calls.get(&op).copied().unwrap_or(0)
    }

    /// Bytes written through the wrapper since the quirks were installed.
    pub fn bytes_written(&self) -> u64 {
        self.shared.lock().written
    }

    /// The quirks that refused something since they were installed.
    pub fn bitten(&self) -> Vec<Quirk> {
        self.shared.lock().bitten.iter().copied().collect()
    }
}

impl ServiceProvider for QuirkProvider {
    fn device_count(&self) -> Result<u32> {
        self.inner.device_count()
    }

    fn devices(&self) -> Result<Vec<DeviceRef>> {
        Ok(self
            .inner
            .devices()?
            .into_iter()
            .map(|d| QuirkDevice::wrap(d, &self.shared))
            .collect())
    }

    fn create_device(&self, pnp_path: &str) -> Result<Vec<DeviceRef>> {
        Ok(self
            .inner
            .create_device(pnp_path)?
            .into_iter()
            .map(|d| QuirkDevice::wrap(d, &self.shared))
            .collect())
    }

    fn set_device_enum_preference(&self, preference: DeviceEnumPreference) -> Result<()> {
        self.inner.set_device_enum_preference(preference)
    }

    fn revocation_url(&self) -> Result<String> {
        self.inner.revocation_url()
    }
}
