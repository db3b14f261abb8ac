//! The state a memory device's handles share: the media trees, the fault plan and the counters,
//! behind one mutex, and the checks every call starts with.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::error::{Error, Result};
use crate::metadata::PropValue;
use crate::provider::{Progress, run_with_progress};
use crate::time::WmdmDateTime;

use super::config::DeviceConfig;
use super::crash::{CrashState, apply_crash_verdict};
use super::fault::{DeviceStats, FaultState, Operation};
use super::node::{NodeId, ObjRef};
use super::tree::Tree;

/// What is fixed about one medium.
#[derive(Clone, Debug)]
pub(super) struct Medium {
    pub(super) name: String,
    pub(super) serial: String,
    pub(super) read_only: bool,
    pub(super) no_rename: bool,
    pub(super) initializable: bool,
    pub(super) removable: bool,
}

/// Everything that changes, behind the device's one mutex.
#[derive(Debug)]
pub(super) struct State {
    pub(super) connected: bool,
    /// Bumped on every disconnect; open sessions from an older epoch are lost.
    pub(super) epoch: u64,
    pub(super) trees: Vec<Tree>,
    pub(super) properties: BTreeMap<String, PropValue>,
    pub(super) faults: FaultState,
    pub(super) stats: DeviceStats,
    pub(super) open_files: usize,
    pub(super) crash: CrashState,
}

impl State {
    pub(super) fn tree(&self, storage: usize) -> Result<&Tree> {
        self.trees.get(storage).ok_or(Error::Unexpected)
    }

    pub(super) fn tree_mut(&mut self, storage: usize) -> Result<&mut Tree> {
        self.trees.get_mut(storage).ok_or(Error::Unexpected)
    }

    /// True when the fault plan says every medium is full.
    pub(super) fn forced_full(&self) -> bool {
        self.faults.plan().is_storage_full()
    }

    /// Pulls the plug: open sessions are lost and their slots and reservations freed.
    pub(super) fn disconnect(&mut self) {
        self.connected = false;
        self.epoch += 1;
        self.open_files = 0;
        for tree in &mut self.trees {
            tree.drop_sessions();
        }
        // A pulled plug loses the sessions' data (the memory device commits at close); only
        // a crash with torn writes leaves it (see `State::crash`).
        self.crash.torn.clear();
    }

    /// Finds a node anywhere on the device by persistent unique ID.
    pub(super) fn find_uid(&self, uid: &str) -> Option<ObjRef> {
        self.trees
            .iter()
            .enumerate()
            .find_map(|(storage, t)| t.find_uid(uid).map(|node| ObjRef { storage, node }))
    }

    /// Removes dead nodes of `storage` from every reference list on the device.
    pub(super) fn prune_references(&mut self, storage: usize, removed: &[NodeId]) {
        if removed.is_empty() {
            return;
        }
        let removed: HashSet<NodeId> = removed.iter().copied().collect();
        for tree in &mut self.trees {
            tree.prune_references(storage, &removed);
        }
    }
}

/// The part of a device that all its handles share.
pub(super) struct Shared {
    pub(super) config: DeviceConfig,
    pub(super) media: Vec<Medium>,
    state: Mutex<State>,
    pub(super) writer: super::lock::WriterSlot,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("name", &self.config.name)
            .field("serial", &self.config.serial)
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(super) fn new(config: DeviceConfig, media: Vec<Medium>, state: State) -> Shared {
        Shared {
            config,
            media,
            state: Mutex::new(state),
            writer: super::lock::WriterSlot::default(),
        }
    }

    /// The state, whatever its connection. A panic while the lock was held cannot leave the
    /// state half-changed (no method here panics between two related updates), so a poisoned
    /// lock is taken over rather than turned into an error.
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The state of a connected device, without counting a call.
    ///
    /// # Errors
    /// [`Error::DeviceNotConnected`].
    pub(super) fn relock(&self) -> Result<MutexGuard<'_, State>> {
        let st = self.lock();
        if st.connected {
            Ok(st)
        } else {
            Err(Error::DeviceNotConnected)
        }
    }

    /// The top of every device call: counts it, checks the connection, then applies the fault
    /// plan (delay first, then disconnection or failure).
    ///
    /// # Errors
    /// [`Error::DeviceNotConnected`], or the error the plan injects.
    pub(super) fn enter(&self, op: Operation) -> Result<MutexGuard<'_, State>> {
        self.enter_as(op, op.is_mutating())
    }

    /// [`Shared::enter`] for a call whose `mutating` differs from its operation's (a `Close`
    /// that ends a read session changes nothing).
    ///
    /// # Errors
    /// As `enter`.
    pub(super) fn enter_as(&self, op: Operation, mutating: bool) -> Result<MutexGuard<'_, State>> {
        let mut st = self.lock();
        st.stats.record(op);
        if !st.connected {
            return Err(Error::DeviceNotConnected);
        }
        let verdict = st.faults.on_call(op, mutating);
        if apply_crash_verdict(&mut st, verdict.crash, verdict.writeback) {
            return Err(Error::DeviceNotConnected);
        }
        if !verdict.delay.is_zero() {
            // The clock may be a real one: do not hold the device while it sleeps.
            drop(st);
            self.config.clock.sleep(verdict.delay);
            st = self.relock()?;
        }
        if verdict.disconnect {
            st.stats.faults_injected += 1;
            st.disconnect();
            return Err(Error::DeviceNotConnected);
        }
        if let Some(e) = verdict.error {
            st.stats.faults_injected += 1;
            return Err(e);
        }
        Ok(st)
    }

    /// [`Shared::enter`] for calls that need nothing from the state afterwards.
    ///
    /// # Errors
    /// As `enter`.
    pub(super) fn check(&self, op: Operation) -> Result<()> {
        self.enter(op).map(drop)
    }

    /// # Errors
    /// [`Error::NotSupported`] when the medium refuses renames and moves.
    pub(super) fn check_renames(&self, storage: usize) -> Result<()> {
        if self.media.get(storage).is_some_and(|m| m.no_rename) {
            Err(Error::NotSupported)
        } else {
            Ok(())
        }
    }

    /// The current time as a WMDM date.
    pub(super) fn now(&self) -> WmdmDateTime {
        WmdmDateTime::from_system_time(self.config.clock.now())
    }

    /// # Errors
    /// [`Error::WriteProtected`] when the medium or the fault plan is read-only.
    pub(super) fn check_writable(&self, st: &State, storage: usize) -> Result<()> {
        let medium = self.media.get(storage).is_some_and(|m| m.read_only);
        if medium || st.faults.plan().is_read_only() {
            Err(Error::WriteProtected)
        } else {
            Ok(())
        }
    }
}

/// Reports `ticks` progress ticks, then applies a change in one step.
///
/// Every tick comes before the change, so a cancel from `begin` or from any tick leaves the
/// device exactly as it was: deletes, formats, renames and moves are all-or-nothing. The
/// change is checked again once the ticks are done, because the device was not held while the
/// callbacks ran.
pub(super) fn staged(
    shared: &Shared,
    progress: &mut dyn Progress,
    ticks: u64,
    apply: impl FnOnce(&mut State) -> Result<()>,
) -> Result<()> {
    run_with_progress(progress, ticks, |p| {
        for done in 1..=ticks {
            p.progress(done)?;
        }
        let mut st = shared.relock()?;
        apply(&mut st)
    })
}
