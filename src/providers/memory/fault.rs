//! Deterministic fault injection for the memory device: [`FaultPlan`], the [`Operation`]s it
//! targets, and the per-operation call counts a device reports in [`DeviceStats`].
//!
//! A plan is a list of rules fixed up front, so a test that fails "the third write" fails the
//! third write on every run. Nothing here reads a real clock: a slow operation advances the
//! device's [`Clock`](crate::time::Clock), which in tests is a
//! [`ManualClock`](crate::time::ManualClock).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::Error;

/// Declares [`Operation`] from one table, so `ALL` and `name` cannot drift from the variants.
macro_rules! operations {
    ($( $(#[$meta:meta])* $variant:ident, )*) => {
        /// A device call that a [`FaultPlan`] can target and that [`DeviceStats`] counts.
        ///
        /// Each variant names the trait methods it covers.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Operation {
            $( $(#[$meta])* $variant, )*
        }

        impl Operation {
            /// Every operation, in declaration order.
            pub const ALL: &'static [Operation] = &[$(Operation::$variant),*];

            /// The variant's name, for messages and reports.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Operation::$variant => stringify!($variant),)*
                }
            }
        }

        impl Operation {
            /// True for the operations that change what is on the device: the ones a crash
            /// point counts (see the [crash model](super#the-crash-model)). `Close` counts
            /// only when it ends a write session (it is that session's commit); `Open`,
            /// `Seek`, reads and `PlayInfo` never count.
            pub const fn is_mutating(self) -> bool {
                matches!(
                    self,
                    Operation::SetProperty
                        | Operation::SetAttributes
                        | Operation::Create
                        | Operation::SetMetadata
                        | Operation::SetReferences
                        | Operation::Write
                        | Operation::Close
                        | Operation::Delete
                        | Operation::Rename
                        | Operation::Move
                        | Operation::Initialize
                )
            }
        }
    };
}

operations! {
    /// `Device::name`, `manufacturer`, `version`, `device_type`, `serial_number`,
    /// `power_source`, `icon`, `format_support`, `canonical_name`, `property` and
    /// `format_capability`.
    DeviceInfo,
    /// `Device::storages` and `Device::storage`.
    EnumStorages,
    /// `Device::set_property`.
    SetProperty,
    /// `Device::io_control`.
    IoControl,
    /// `Device::find_storage` and `Storage::find_storage`.
    FindStorage,
    /// `Storage::name`, `date`, `size`, `rights` and `globals`.
    GetInfo,
    /// `Storage::attributes`.
    GetAttributes,
    /// `Storage::set_attributes`.
    SetAttributes,
    /// `Storage::create`.
    Create,
    /// `Storage::children` and `Storage::child`.
    Children,
    /// `Storage::parent`.
    Parent,
    /// `Storage::metadata` and `Storage::specified_metadata`.
    GetMetadata,
    /// `Storage::set_metadata`.
    SetMetadata,
    /// `Storage::references`.
    GetReferences,
    /// `Storage::set_references`.
    SetReferences,
    /// `Storage::open`.
    Open,
    /// `ObjectIo::read`.
    Read,
    /// `ObjectIo::write`.
    Write,
    /// `ObjectIo::seek`.
    Seek,
    /// `ObjectIo::close`.
    Close,
    /// `Storage::delete`.
    Delete,
    /// `Storage::rename`.
    Rename,
    /// `Storage::move_to`.
    Move,
    /// `StorageGlobals::capabilities`, `serial_number`, `total_size`, `total_free` and
    /// `total_bad`.
    GlobalsInfo,
    /// `StorageGlobals::initialize`.
    Initialize,
    /// Every `ObjectInfo` method.
    PlayInfo,
}

/// One rule of a [`FaultPlan`].
#[derive(Clone, Debug, PartialEq)]
enum Rule {
    /// The `n`th call (1-based) of `op` fails with `error`, once.
    FailNth { op: Operation, n: u64, error: Error },
    /// Every call of `op` fails with `error`.
    FailEvery { op: Operation, error: Error },
    /// The `n`th call of `op` pulls the plug: the device disconnects and the call fails.
    DisconnectOnNth { op: Operation, n: u64 },
    /// Every call of `op` first lets `delay` pass on the device's clock.
    Slow { op: Operation, delay: Duration },
}

/// A deterministic list of faults for a [`MemoryDevice`](super::MemoryDevice).
///
/// Build one with the chained methods and hand it to the device builder or to
/// [`MemoryDevice::set_fault_plan`](super::MemoryDevice::set_fault_plan). Calls are counted
/// per [`Operation`] from the moment the plan is installed; only calls made while the device
/// is connected count, because a disconnected device never sees the others. Faults are checked
/// at the top of each call, before its arguments are looked at, so an injected error leaves
/// the device exactly as it was.
///
/// ```
/// use std::time::Duration;
/// use wmdm::Error;
/// use wmdm::providers::memory::{FaultPlan, Operation};
///
/// let plan = FaultPlan::new()
///     .fail_nth(Operation::Write, 3, Error::ProcessFailed) // the 3rd write fails, once
///     .disconnect_after_bytes(1 << 20)                      // the plug is pulled after 1 MiB
///     .slow(Operation::Create, Duration::from_millis(40));  // creates take 40 ms of clock time
/// assert!(!plan.is_read_only());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultPlan {
    rules: Vec<Rule>,
    disconnect_after: Option<u64>,
    storage_full: bool,
    read_only: bool,
    crash_before: Option<u64>,
    writeback_every: Option<u64>,
    torn_writes: bool,
}

impl FaultPlan {
    /// A plan with no faults.
    pub fn new() -> FaultPlan {
        FaultPlan::default()
    }

    /// The `n`th call of `op` (counting from 1) fails with `error`, once. `n == 0` never
    /// matches. Several rules may target the same operation; the first that matches wins.
    pub fn fail_nth(mut self, op: Operation, n: u64, error: Error) -> FaultPlan {
        self.rules.push(Rule::FailNth { op, n, error });
        self
    }

    /// Every call of `op` fails with `error`.
    pub fn fail_every(mut self, op: Operation, error: Error) -> FaultPlan {
        self.rules.push(Rule::FailEvery { op, error });
        self
    }

    /// The `n`th call of `op` (counting from 1) disconnects the device: that call fails with
    /// [`Error::DeviceNotConnected`], open files are lost, and every later call fails the same
    /// way until [`MemoryDevice::reconnect`](super::MemoryDevice::reconnect).
    pub fn disconnect_on_nth(mut self, op: Operation, n: u64) -> FaultPlan {
        self.rules.push(Rule::DisconnectOnNth { op, n });
        self
    }

    /// The device disconnects once `bytes` bytes have been written through
    /// [`ObjectIo::write`](crate::provider::ObjectIo::write), counted across all files.
    ///
    /// The write that would cross the limit stores the bytes up to the limit in its (still
    /// uncommitted) session and then fails with [`Error::DeviceNotConnected`]; the session is
    /// lost, so the file keeps the content it had before it was opened. A write that reaches
    /// the limit exactly succeeds, and the next one disconnects. The fault fires once: after a
    /// reconnect, writes go through again.
    pub fn disconnect_after_bytes(mut self, bytes: u64) -> FaultPlan {
        self.disconnect_after = Some(bytes);
        self
    }

    /// Every medium reports no free space: writes that would grow a file, and creates that
    /// announce a size, fail with [`Error::DiskFull`]. Creating empty files and folders, and
    /// overwriting bytes inside a file, still work.
    pub fn storage_full(mut self) -> FaultPlan {
        self.storage_full = true;
        self
    }

    /// Every medium is write-protected, as a device opened read-only is (a dry run relies on
    /// it): `create`, `open` for writing, `write`, `delete`, `rename`, `move_to`,
    /// `set_metadata`, `set_references`, `set_attributes`, `initialize` and the device's
    /// `set_property` fail with [`Error::WriteProtected`].
    pub fn read_only(mut self) -> FaultPlan {
        self.read_only = true;
        self
    }

    /// Every call of `op` first advances the device's clock by `delay` (through
    /// [`Clock::sleep`](crate::time::Clock::sleep)). With a
    /// [`ManualClock`](crate::time::ManualClock) that is virtual time: the test does not wait.
    pub fn slow(mut self, op: Operation, delay: Duration) -> FaultPlan {
        self.rules.push(Rule::Slow { op, delay });
        self
    }

    /// The device crashes (loses power) just before its `n`th mutating operation, counting
    /// from 0 since the plan was installed: `crash_before(0)` crashes before the first change,
    /// and a run that makes `N` changes has crash points `0..N`. Mutating operations are
    /// those of [`Operation::is_mutating`]. That call fails with
    /// [`Error::DeviceNotConnected`], the media keep only what survives the crash (see the
    /// [crash model](super#the-crash-model)), and the device refuses every call until a test
    /// reboots it with [`MemoryDevice::reboot`](super::MemoryDevice::reboot).
    pub fn crash_before(mut self, n: u64) -> FaultPlan {
        self.crash_before = Some(n);
        self
    }

    /// Completed changes are not durable at once, as on a folder device opened without
    /// `durable` (no syncs): the medium reaches a durable point every `every` mutating
    /// operations (the host's background writeback), and a crash loses every change made since
    /// the last durable point, in order (the surviving state is the state at that point). The
    /// plan's installation is the first durable point. `every == 0` is taken as 1, which is
    /// the same as the default, durable device.
    pub fn non_durable(mut self, every: u64) -> FaultPlan {
        self.writeback_every = Some(every.max(1));
        self
    }

    /// A crash leaves the bytes that open write sessions had written in their files, as a
    /// device that writes in place does (an MTP device mounted through FUSE, a file system the
    /// host cannot rename on): the file holds what the session wrote so far, a torn prefix of
    /// what was meant, instead of its last closed content. Only on a durable device (a
    /// non-durable one loses the session with everything else since its durable point).
    pub fn torn_writes(mut self) -> FaultPlan {
        self.torn_writes = true;
        self
    }

    /// True when a crash leaves open write sessions' bytes in their files.
    pub fn is_torn(&self) -> bool {
        self.torn_writes
    }

    /// The crash point set by [`FaultPlan::crash_before`], if any.
    pub fn crash_point(&self) -> Option<u64> {
        self.crash_before
    }

    /// The writeback period set by [`FaultPlan::non_durable`]; `None` on a durable device.
    pub fn writeback_every(&self) -> Option<u64> {
        self.writeback_every
    }

    /// True when the plan write-protects the media.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// True when the plan makes the media report no free space.
    pub fn is_storage_full(&self) -> bool {
        self.storage_full
    }

    /// The byte limit set by [`FaultPlan::disconnect_after_bytes`], if any.
    pub fn disconnect_limit(&self) -> Option<u64> {
        self.disconnect_after
    }

    /// True when the plan injects nothing.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
            && self.disconnect_after.is_none()
            && !self.storage_full
            && !self.read_only
            && self.crash_before.is_none()
            && self.writeback_every.is_none()
            && !self.torn_writes
    }
}

/// What the plan decided for one call.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Verdict {
    /// Clock time to let pass before anything else.
    pub(super) delay: Duration,
    /// Disconnect the device and fail the call.
    pub(super) disconnect: bool,
    /// Fail the call with this error.
    pub(super) error: Option<Error>,
    /// The device crashes before this call: it fails and the device is gone until rebooted.
    pub(super) crash: bool,
    /// A non-durable device reaches a durable point before this call: everything done so far
    /// survives a crash from now on.
    pub(super) writeback: bool,
}

/// A plan together with the counters it needs at run time.
#[derive(Clone, Debug, Default)]
pub(super) struct FaultState {
    plan: FaultPlan,
    calls: BTreeMap<Operation, u64>,
    bytes_written: u64,
    disconnect_fired: bool,
    /// Mutating calls made so far (the crash point counter).
    mutations: u64,
}

impl FaultState {
    pub(super) fn new(plan: FaultPlan) -> FaultState {
        FaultState {
            plan,
            ..FaultState::default()
        }
    }

    pub(super) fn plan(&self) -> &FaultPlan {
        &self.plan
    }

    /// Mutating calls counted so far.
    pub(super) fn mutations(&self) -> u64 {
        self.mutations
    }

    /// Counts a call of `op` made while connected and says what should happen to it.
    /// `mutating` says whether it changes the device (a crash point); a call the crash stops
    /// is not counted as made.
    pub(super) fn on_call(&mut self, op: Operation, mutating: bool) -> Verdict {
        let count = self.calls.entry(op).or_insert(0);
        *count += 1;
        let n = *count;
        let mut verdict = Verdict::default();
        if mutating {
            if self.plan.crash_before == Some(self.mutations) {
                verdict.crash = true;
                return verdict;
            }
            verdict.writeback = self
                .plan
                .writeback_every
                .is_some_and(|every| self.mutations.is_multiple_of(every));
            self.mutations += 1;
        }
        for rule in &self.plan.rules {
            match rule {
                &Rule::Slow { op: o, delay } if o == op => {
                    verdict.delay = verdict.delay.saturating_add(delay);
                }
                &Rule::DisconnectOnNth { op: o, n: at } if o == op && at == n => {
                    verdict.disconnect = true;
                }
                Rule::FailNth {
                    op: o,
                    n: at,
                    error,
                } if *o == op && *at == n => {
                    verdict.error.get_or_insert_with(|| error.clone());
                }
                Rule::FailEvery { op: o, error } if *o == op => {
                    verdict.error.get_or_insert_with(|| error.clone());
                }
                _ => {}
            }
        }
        verdict
    }

    /// How many of `wanted` bytes may be written before the plug is pulled; `None` when the
    /// whole write may go through. Counts what is allowed as written.
    pub(super) fn admit_bytes(&mut self, wanted: u64) -> Option<u64> {
        let limit = match self.plan.disconnect_after {
            Some(limit) if !self.disconnect_fired => limit,
            _ => {
                self.bytes_written = self.bytes_written.saturating_add(wanted);
                return None;
            }
        };
        let room = limit.saturating_sub(self.bytes_written);
        if wanted <= room {
            self.bytes_written += wanted;
            None
        } else {
            self.bytes_written += room;
            self.disconnect_fired = true;
            Some(room)
        }
    }
}

/// What a [`MemoryDevice`](super::MemoryDevice) has been asked to do: calls per
/// [`Operation`] (every call, including those that failed or found the device disconnected)
/// and the bytes moved through [`ObjectIo`](crate::provider::ObjectIo).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceStats {
    calls: BTreeMap<Operation, u64>,
    /// Bytes accepted by `ObjectIo::write` (including bytes of sessions that were later lost).
    pub bytes_written: u64,
    /// Bytes returned by `ObjectIo::read`.
    pub bytes_read: u64,
    /// Calls that failed because of the fault plan (including disconnections it caused).
    pub faults_injected: u64,
    /// Write sessions committed by `ObjectIo::close`.
    pub commits: u64,
}

impl DeviceStats {
    /// How many times `op` was called.
    pub fn calls(&self, op: Operation) -> u64 {
        self.calls.get(&op).copied().unwrap_or(0)
    }

    /// Every operation called at least once, with its count, in [`Operation`] order.
    pub fn all_calls(&self) -> impl Iterator<Item = (Operation, u64)> + '_ {
        self.calls.iter().map(|(&op, &n)| (op, n))
    }

    /// The total number of calls counted.
    pub fn total_calls(&self) -> u64 {
        self.calls.values().sum()
    }

    pub(super) fn record(&mut self, op: Operation) {
        *self.calls.entry(op).or_insert(0) += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl FaultState {
        fn on_call_plain(&mut self, op: Operation) -> Verdict {
            self.on_call(op, op.is_mutating())
        }
    }

    #[test]
    fn the_crash_point_counts_mutations_only() {
        let mut st = FaultState::new(FaultPlan::new().crash_before(2));
        assert!(!st.on_call(Operation::Create, true).crash);
        assert!(!st.on_call(Operation::Read, false).crash);
        assert!(!st.on_call(Operation::Close, false).crash, "a read close");
        assert!(!st.on_call(Operation::Write, true).crash);
        assert_eq!(st.mutations(), 2);
        assert!(st.on_call(Operation::Close, true).crash);
        assert_eq!(st.mutations(), 2, "the crashed call was not made");
    }

    #[test]
    fn writeback_points_come_every_n_mutations() {
        let mut st = FaultState::new(FaultPlan::new().non_durable(2));
        let points: Vec<bool> = (0..5)
            .map(|_| st.on_call(Operation::Write, true).writeback)
            .collect();
        assert_eq!(points, [true, false, true, false, true]);
        assert!(!st.on_call(Operation::Read, false).writeback);
    }

    #[test]
    fn nth_failure_fires_once_and_first_rule_wins() {
        let mut st = FaultState::new(
            FaultPlan::new()
                .fail_nth(Operation::Write, 2, Error::ProcessFailed)
                .fail_nth(Operation::Write, 2, Error::Busy),
        );
        assert_eq!(st.on_call_plain(Operation::Write).error, None);
        assert_eq!(
            st.on_call_plain(Operation::Write).error,
            Some(Error::ProcessFailed)
        );
        assert_eq!(st.on_call_plain(Operation::Write).error, None);
        assert_eq!(st.on_call_plain(Operation::Read).error, None);
    }

    #[test]
    fn zeroth_call_never_matches() {
        let mut st = FaultState::new(FaultPlan::new().fail_nth(Operation::Open, 0, Error::Busy));
        for _ in 0..5 {
            assert_eq!(st.on_call_plain(Operation::Open).error, None);
        }
    }

    #[test]
    fn slow_rules_add_up() {
        let mut st = FaultState::new(
            FaultPlan::new()
                .slow(Operation::Create, Duration::from_millis(10))
                .slow(Operation::Create, Duration::from_millis(5)),
        );
        assert_eq!(
            st.on_call_plain(Operation::Create).delay,
            Duration::from_millis(15)
        );
        assert_eq!(st.on_call_plain(Operation::Delete).delay, Duration::ZERO);
    }

    #[test]
    fn byte_limit_admits_up_to_the_limit_then_fires_once() {
        let mut st = FaultState::new(FaultPlan::new().disconnect_after_bytes(10));
        assert_eq!(st.admit_bytes(4), None);
        assert_eq!(
            st.admit_bytes(6),
            None,
            "reaching the limit exactly is allowed"
        );
        assert_eq!(st.admit_bytes(1), Some(0));
        assert_eq!(st.admit_bytes(100), None, "the fault is spent");
    }

    #[test]
    fn crossing_write_is_cut_at_the_limit() {
        let mut st = FaultState::new(FaultPlan::new().disconnect_after_bytes(10));
        assert_eq!(st.admit_bytes(7), None);
        assert_eq!(st.admit_bytes(7), Some(3));
    }

    #[test]
    fn operation_table_is_complete() {
        assert_eq!(Operation::ALL.first(), Some(&Operation::DeviceInfo));
        assert_eq!(Operation::Write.name(), "Write");
        assert!(FaultPlan::new().is_empty());
        assert!(!FaultPlan::new().read_only().is_empty());
    }
}
