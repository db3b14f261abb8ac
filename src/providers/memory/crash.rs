//! What a crash (a power cut, a `kill -9` of the only process that talks to the device) leaves
//! on a memory device, and rebooting a device over what survived.
//!
//! The model itself is documented with the module
//! ([the crash model](super#the-crash-model)), where readers of the public docs find it.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::metadata::PropValue;

use super::device::MemoryDevice;
use super::fault::{DeviceStats, FaultPlan, FaultState};
use super::node::ObjRef;
use super::state::{Shared, State};
use super::tree::Tree;

#[cfg(doc)]
use {super::fault::Operation, crate::error::Error};

/// What is on a memory device's media at one moment: every medium's objects (with their
/// unique IDs, data, metadata, references and dates) and the device's properties. Open
/// sessions are not part of it.
///
/// Cheap to keep around for a test: take one with [`MemoryDevice::image`] before a run, and
/// start a device over it again with [`MemoryDevice::restart_from`] for every crash point.
#[derive(Clone, Debug)]
pub struct DeviceImage {
    trees: Vec<Tree>,
    properties: BTreeMap<String, PropValue>,
}

/// The crash bookkeeping of a device's state.
#[derive(Clone, Debug, Default)]
pub(super) struct CrashState {
    /// True once the device crashed; it then refuses every call for good.
    pub(super) crashed: bool,
    /// On a non-durable device, the media as of the last durable point.
    pub(super) durable: Option<DeviceImage>,
    /// With torn writes, what each open write session has written so far, by file.
    pub(super) torn: BTreeMap<ObjRef, Vec<u8>>,
}

impl State {
    /// The media as they are now, without open sessions.
    pub(super) fn image(&self) -> DeviceImage {
        let mut trees = self.trees.clone();
        for t in &mut trees {
            t.drop_sessions();
        }
        DeviceImage {
            trees,
            properties: self.properties.clone(),
        }
    }

    /// A durable point: on a non-durable device, what is there now survives a crash.
    pub(super) fn writeback(&mut self) {
        self.crash.durable = Some(self.image());
    }

    /// A barrier ([`Device::flush`](crate::provider::Device::flush)): on a non-durable device,
    /// a durable point; on a durable one, nothing (every change already is).
    pub(super) fn durable_point(&mut self) {
        if self.crash.durable.is_some() {
            self.writeback();
        }
    }

    /// The crash: the media become what survives (see the module docs), open sessions are
    /// lost, and the device is gone until rebooted.
    pub(super) fn crash(&mut self) {
        if let Some(durable) = self.crash.durable.take() {
            self.trees = durable.trees;
            self.properties = durable.properties;
        } else {
            for (at, data) in std::mem::take(&mut self.crash.torn) {
                if let Some(tree) = self.trees.get_mut(at.storage) {
                    // The file keeps its date: the session never ended.
                    if let Some(date) = tree.get(at.node).map(|n| n.modified) {
                        let _ = tree.commit(at.node, data, date);
                    }
                }
            }
        }
        self.crash.torn.clear();
        self.disconnect();
        self.crash.crashed = true;
    }

    /// Installs a fault plan; a non-durable one starts from a durable point.
    pub(super) fn install(&mut self, plan: FaultPlan) {
        let non_durable = plan.writeback_every().is_some();
        self.faults = FaultState::new(plan);
        self.crash.durable = None;
        if non_durable {
            self.writeback();
        }
    }

    /// A fresh, connected state over `image`, for a rebooted device.
    pub(super) fn from_image(image: &DeviceImage) -> State {
        State {
            connected: true,
            epoch: 0,
            trees: image.trees.clone(),
            properties: image.properties.clone(),
            faults: FaultState::new(FaultPlan::new()),
            stats: DeviceStats::default(),
            open_files: 0,
            crash: CrashState::default(),
        }
    }
}

impl MemoryDevice {
    /// What is on the media now (committed data only; open write sessions are not part of it).
    /// Works while the device is disconnected or crashed (then it is what survived).
    pub fn image(&self) -> DeviceImage {
        self.shared.lock().image()
    }

    /// Crashes the device now, as if the fault plan's crash point had been reached: see the
    /// [crash model](super#the-crash-model).
    pub fn crash(&self) {
        self.shared.lock().crash();
    }

    /// True once the device crashed (it then refuses every call until rebooted).
    pub fn is_crashed(&self) -> bool {
        self.shared.lock().crash.crashed
    }

    /// Mutating calls made since the fault plan was installed: the number of crash points of
    /// what ran (see [`FaultPlan::crash_before`]).
    pub fn mutations(&self) -> u64 {
        self.shared.lock().faults.mutations()
    }

    /// Powers the device on again: a new, connected device with this one's configuration
    /// (name, serial, media, formats, clock) over what is on its media now (after a crash,
    /// what survived), with no fault plan and zeroed statistics. Handles to this device keep
    /// talking to this one, never to the new one, as handles of a process that died would.
    pub fn reboot(&self) -> MemoryDevice {
        self.restart_from(&self.image())
    }

    /// A new, connected device with this one's configuration over `image`, with no fault plan
    /// and zeroed statistics. The image must come from this device or one restarted from it
    /// (the same media); it can be used any number of times.
    pub fn restart_from(&self, image: &DeviceImage) -> MemoryDevice {
        let shared = Shared::new(
            self.shared.config.clone(),
            self.shared.media.clone(),
            State::from_image(image),
        );
        MemoryDevice {
            shared: Arc::new(shared),
        }
    }
}

/// The one place the top of every call decides about the crash model: a crash at this call,
/// or a durable point before it.
pub(super) fn apply_crash_verdict(st: &mut State, crash: bool, writeback: bool) -> bool {
    if crash {
        st.stats.faults_injected += 1;
        st.crash();
        return true;
    }
    if writeback {
        st.writeback();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::flags::OpenMode;
    use crate::provider::{CreateRequest, NoProgress};

    #[test]
    fn an_open_write_session_is_lost_and_a_closed_one_survives() {
        let d = MemoryDevice::new("P");
        let root = d.root();
        d.set_fault_plan(FaultPlan::new().crash_before(5));
        let a = root.create(&CreateRequest::file("a")).unwrap(); // 0
        let mut io = a.open(OpenMode::WRITE).unwrap();
        io.write(b"done").unwrap(); // 1
        io.close().unwrap(); // 2
        let mut io = a.open(OpenMode::WRITE).unwrap();
        io.write(b"half").unwrap(); // 3
        io.write(b"more").unwrap(); // 4
        assert_eq!(io.write(b"x"), Err(Error::DeviceNotConnected)); // 5: the crash
        drop(io);
        assert!(d.is_crashed());
        d.reconnect();
        assert!(!d.is_connected());
        let r = d.reboot();
        assert_eq!(r.read_file("a").unwrap(), b"done");
        assert_eq!(r.open_files(), 0);
        assert_eq!(r.mutations(), 0);
        // The rebooted device works, and keeps unique IDs.
        assert_eq!(
            r.snapshot()["a"].unique_id,
            d.image().trees[0].node(1).unwrap().uid
        );
        r.root().create(&CreateRequest::file("b")).unwrap();
        assert_eq!(r.files().len(), 2);
    }

    #[test]
    fn torn_writes_leave_what_the_session_wrote() {
        let d = MemoryDevice::new("P");
        d.put_file("a", b"old content".to_vec()).unwrap();
        d.set_fault_plan(FaultPlan::new().torn_writes().crash_before(2));
        let a = d.handle("a").unwrap();
        let mut io = a.open(OpenMode::WRITE).unwrap();
        io.write(b"NEW").unwrap(); // 0
        io.write(b"---").unwrap(); // 1
        assert_eq!(io.write(b"!"), Err(Error::DeviceNotConnected)); // 2: the crash
        drop(io);
        assert_eq!(d.reboot().read_file("a").unwrap(), b"NEW---ntent");
        // A closed session leaves nothing torn behind.
        let d = MemoryDevice::new("P");
        d.put_file("b", Vec::new()).unwrap();
        d.set_fault_plan(FaultPlan::new().torn_writes().crash_before(3));
        let b = d.handle("b").unwrap();
        let mut io = b.open(OpenMode::WRITE).unwrap();
        io.write(b"whole").unwrap();
        io.close().unwrap();
        let mut io = b.open(OpenMode::WRITE).unwrap();
        io.write(b"W").unwrap();
        drop(io); // abandoned: not torn, the process let go of it
        assert!(d.root().create(&CreateRequest::file("c")).is_err());
        assert_eq!(d.reboot().read_file("b").unwrap(), b"whole");
    }

    #[test]
    fn a_rename_is_done_or_not() {
        for (point, expect) in [(1, "a"), (2, "b")] {
            let d = MemoryDevice::new("P");
            d.put_file("a", b"x".to_vec()).unwrap();
            d.set_fault_plan(FaultPlan::new().crash_before(point));
            let root = d.root();
            root.create(&CreateRequest::file("c")).unwrap(); // 0
            let a = d.handle("a").unwrap();
            let _ = a.rename("b", &mut NoProgress); // 1
            let _ = root.create(&CreateRequest::file("d")); // 2
            assert!(d.is_crashed());
            let r = d.reboot();
            assert_eq!(r.read_file(expect).unwrap(), b"x", "crash before {point}");
        }
    }

    #[test]
    fn a_non_durable_device_loses_what_came_after_the_last_durable_point() {
        let d = MemoryDevice::new("P");
        d.set_fault_plan(FaultPlan::new().non_durable(3).crash_before(5));
        let root = d.root();
        for name in ["a", "b", "c", "d", "e"] {
            root.create(&CreateRequest::file(name)).unwrap();
        }
        assert!(root.create(&CreateRequest::file("f")).is_err());
        // Durable points before mutations 0 and 3: a, b and c survive.
        let names: Vec<String> = d.reboot().files().into_keys().collect();
        assert_eq!(names, ["a", "b", "c"]);
    }

    #[test]
    fn a_flush_is_a_durable_point_and_changes_nothing_on_a_durable_device() {
        use crate::provider::Device;
        let d = MemoryDevice::new("P");
        d.set_fault_plan(FaultPlan::new().non_durable(100).crash_before(4));
        let root = d.root();
        for name in ["a", "b"] {
            root.create(&CreateRequest::file(name)).unwrap();
        }
        d.flush().unwrap();
        for name in ["c", "d"] {
            root.create(&CreateRequest::file(name)).unwrap();
        }
        assert!(root.create(&CreateRequest::file("e")).is_err());
        assert!(d.flush().is_err(), "a crashed device promises nothing");
        let names: Vec<String> = d.reboot().files().into_keys().collect();
        assert_eq!(
            names,
            ["a", "b"],
            "only what came before the flush survives"
        );

        // A durable device keeps everything, flushed or not.
        let d = MemoryDevice::new("P");
        d.set_fault_plan(FaultPlan::new().crash_before(2));
        let root = d.root();
        root.create(&CreateRequest::file("a")).unwrap();
        d.flush().unwrap();
        root.create(&CreateRequest::file("b")).unwrap();
        assert!(root.create(&CreateRequest::file("c")).is_err());
        let names: Vec<String> = d.reboot().files().into_keys().collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn an_image_restarts_the_world_before_a_run() {
        let d = MemoryDevice::new("P");
        d.put_file("x", b"1".to_vec()).unwrap();
        let before = d.image();
        d.handle("x")
            .unwrap()
            .delete(false, &mut NoProgress)
            .unwrap();
        assert!(d.files().is_empty());
        let again = d.restart_from(&before);
        assert_eq!(again.read_file("x").unwrap(), b"1");
        assert!(d.files().is_empty(), "the old device is untouched");
    }
}
