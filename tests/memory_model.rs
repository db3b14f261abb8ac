//! Random sequences of operations on the memory device agree with a trivially correct model:
//! a map from path to content plus a set of folder paths.
//!
//! The model predicts every outcome, errors included (bad names, name collisions in any case,
//! wrong object types, moves into a subtree, full media, deleted objects), and after every
//! step the device's content and free space must match it.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use wmdm::flags::{Mode, OpenMode, Placement, SeekOrigin};
use wmdm::provider::{CreateRequest, Device, NoProgress, StorageRef, walk};
use wmdm::providers::memory::{FaultPlan, MemoryDevice, Operation, StorageConfig};
use wmdm::{Error, ErrorCode};

/// Names the operations draw from: valid ones that collide in case, and invalid ones.
const NAMES: &[&str] = &[
    "a", "A", "b.mp3", "B.MP3", "c", "Song.wma", "d", "e.m3u", "", ".", "..", "x/y", "x\\y",
];

/// A name one unit too long, tried now and then.
fn long_name() -> String {
    "n".repeat(256)
}

fn name_for(i: usize) -> String {
    NAMES.get(i).map_or_else(long_name, |s| (*s).to_owned())
}

#[derive(Clone, Debug)]
enum Op {
    Create {
        anchor: usize,
        placement: Placement,
        name: usize,
        folder: bool,
        overwrite: bool,
        hint: Option<u64>,
    },
    Write {
        target: usize,
        origin: usize,
        offset: u64,
        data: Vec<u8>,
    },
    Rename {
        target: usize,
        name: usize,
    },
    Move {
        target: usize,
        placement: Placement,
        dest: usize,
    },
    Delete {
        target: usize,
        recursive: bool,
    },
    Format,
}

fn placement() -> impl Strategy<Value = Placement> {
    prop_oneof![3 => Just(Placement::Into), 1 => Just(Placement::Before), 1 => Just(Placement::After)]
}

fn name_index() -> impl Strategy<Value = usize> {
    // Mostly valid names, so that trees grow; NAMES.len() is the over-long name.
    prop_oneof![8 => 0..8usize, 2 => 8..=NAMES.len()]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => (any::<usize>(), placement(), name_index(), any::<bool>(), prop::bool::weighted(0.2),
              prop::option::weighted(0.2, 0..120u64))
            .prop_map(|(anchor, placement, name, folder, overwrite, hint)| Op::Create {
                anchor, placement, name, folder, overwrite, hint
            }),
        8 => (any::<usize>(), 0..4usize, prop_oneof![3 => Just(0u64), 1 => 0..24u64], prop::collection::vec(any::<u8>(), 0..40))
            .prop_map(|(target, origin, offset, data)| Op::Write { target, origin, offset, data }),
        3 => (any::<usize>(), name_index()).prop_map(|(target, name)| Op::Rename { target, name }),
        4 => (any::<usize>(), placement(), any::<usize>())
            .prop_map(|(target, placement, dest)| Op::Move { target, placement, dest }),
        3 => (any::<usize>(), any::<bool>()).prop_map(|(target, recursive)| Op::Delete { target, recursive }),
        1 => Just(Op::Format),
    ]
}

/// Which object an operation acts on: a live path, or a handle to something deleted.
#[derive(Clone, Debug)]
enum Pick {
    Live(String),
    Dead(StorageRef),
}

/// The reference model.
#[derive(Clone, Debug, Default)]
struct Model {
    files: BTreeMap<String, Vec<u8>>,
    folders: BTreeSet<String>,
    capacity: u64,
    bad: u64,
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}/{name}")
    }
}

fn parent_of(path: &str) -> String {
    path.rsplit_once('/')
        .map_or(String::new(), |(p, _)| p.to_owned())
}

fn last(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, n)| n)
}

fn within(path: &str, ancestor: &str) -> bool {
    path == ancestor || path.starts_with(&format!("{ancestor}/"))
}

fn valid_name(name: &str) -> bool {
    !(name.is_empty()
        || name == "."
        || name == ".."
        || name.contains(['/', '\\', '\0'])
        || name.encode_utf16().count() > 255)
}

impl Model {
    fn is_folder(&self, path: &str) -> bool {
        path.is_empty() || self.folders.contains(path)
    }

    fn used(&self) -> u64 {
        self.files.values().map(|d| d.len() as u64).sum()
    }

    fn free(&self) -> u64 {
        self.capacity - self.bad - self.used()
    }

    /// Every live path, the root (`""`) first.
    fn paths(&self) -> Vec<String> {
        let mut all: Vec<String> = std::iter::once(String::new())
            .chain(self.folders.iter().cloned())
            .chain(self.files.keys().cloned())
            .collect();
        all.sort();
        all
    }

    /// The child of `parent` called `name` in any case, other than `except`.
    fn collision(&self, parent: &str, name: &str, except: Option<&str>) -> Option<String> {
        self.folders
            .iter()
            .chain(self.files.keys())
            .find(|p| {
                parent_of(p) == parent
                    && last(p).eq_ignore_ascii_case(name)
                    && Some(p.as_str()) != except
            })
            .cloned()
    }

    fn remove_under(&mut self, path: &str) {
        self.files.retain(|p, _| !within(p, path));
        self.folders.retain(|p| !within(p, path));
    }

    fn reroot(&mut self, old: &str, new: &str) {
        let map = |p: String| -> String {
            if within(&p, old) {
                format!("{new}{}", &p[old.len()..])
            } else {
                p
            }
        };
        self.files = std::mem::take(&mut self.files)
            .into_iter()
            .map(|(p, d)| (map(p), d))
            .collect();
        self.folders = std::mem::take(&mut self.folders)
            .into_iter()
            .map(map)
            .collect();
    }

    /// Where `placement` relative to `anchor` puts a new or moved object.
    fn destination(&self, anchor: &str, placement: Placement) -> Result<String, Error> {
        match placement {
            Placement::Into if self.is_folder(anchor) => Ok(anchor.to_owned()),
            Placement::Into => Err(Error::InvalidType),
            _ if anchor.is_empty() => Err(Error::InvalidArg),
            _ => Ok(parent_of(anchor)),
        }
    }
}

struct Harness {
    device: MemoryDevice,
    root: StorageRef,
    model: Model,
    dead: Vec<StorageRef>,
}

impl Harness {
    fn new(capacity: u64, bad: u64, plan: FaultPlan) -> Harness {
        let device = MemoryDevice::builder("Model")
            .serial("MODEL")
            .fault_plan(plan)
            .storage(
                StorageConfig::new("Internal", capacity)
                    .bad_bytes(bad)
                    .folder("M/x")
                    .file("M/s.mp3", b"12345".to_vec())
                    .file("t.m3u", Vec::new()),
            )
            .build()
            .expect("a valid configuration");
        let as_dyn: &dyn Device = &device;
        let root = as_dyn.storages().expect("storages").remove(0);
        let mut model = Model {
            capacity,
            bad,
            ..Model::default()
        };
        model.folders.extend(["M".to_owned(), "M/x".to_owned()]);
        model.files.insert("M/s.mp3".to_owned(), b"12345".to_vec());
        model.files.insert("t.m3u".to_owned(), Vec::new());
        Harness {
            device,
            root,
            model,
            dead: Vec::new(),
        }
    }

    /// An object to act on: now and then the root or a deleted object, mostly something
    /// below the root (and, when `want_file`, mostly a file).
    fn pick(&self, i: usize, want_file: bool) -> Pick {
        let below: Vec<String> =
            if want_file && !self.model.files.is_empty() && !i.is_multiple_of(8) {
                self.model.files.keys().cloned().collect()
            } else {
                self.model
                    .paths()
                    .into_iter()
                    .filter(|p| !p.is_empty())
                    .collect()
            };
        let roll = (i / 8) % 16;
        if roll == 0 || below.is_empty() && (roll != 1 || self.dead.is_empty()) {
            Pick::Live(String::new())
        } else if roll == 1 && !self.dead.is_empty() {
            Pick::Dead(self.dead[i % self.dead.len()].clone())
        } else {
            Pick::Live(below[(i / 128) % below.len()].clone())
        }
    }

    /// A handle to a live path, found through the traits.
    fn handle(&self, path: &str) -> StorageRef {
        let mut at = self.root.clone();
        for part in path.split('/').filter(|p| !p.is_empty()) {
            at = at.child(part).expect("a live path resolves");
        }
        at
    }

    fn obtain(&self, pick: &Pick) -> StorageRef {
        match pick {
            Pick::Live(p) => self.handle(p),
            Pick::Dead(h) => h.clone(),
        }
    }

    fn bury(&mut self, handle: StorageRef) {
        // A few dead handles are enough to exercise InterfaceDead.
        if self.dead.len() < 6 {
            self.dead.push(handle);
        }
    }

    /// Runs one operation on the device and on the model; returns (device, model) results.
    fn step(&mut self, op: &Op) -> (Result<(), Error>, Result<(), Error>) {
        match op {
            Op::Create {
                anchor,
                placement,
                name,
                folder,
                overwrite,
                hint,
            } => {
                let pick = self.pick(*anchor, false);
                let name = name_for(*name);
                let mut req = if *folder {
                    CreateRequest::folder(name.clone())
                } else {
                    CreateRequest::file(name.clone())
                }
                .placement(*placement);
                if *overwrite {
                    req = req.overwrite();
                }
                if let Some(h) = hint {
                    req = req.size_hint(*h);
                }
                let expected =
                    self.predict_create(&pick, *placement, &name, *folder, *overwrite, *hint);
                let replaced = match &expected {
                    Ok(Some(old)) => Some(self.handle(old)),
                    _ => None,
                };
                let got = self.obtain(&pick).create(&req).map(drop);
                if let (Some(h), Ok(())) = (replaced, &got) {
                    self.bury(h);
                }
                (got, expected.map(drop))
            }
            Op::Write {
                target,
                origin,
                offset,
                data,
            } => {
                let pick = self.pick(*target, true);
                let expected = self.predict_write(&pick, *origin, *offset, data);
                let h = self.obtain(&pick);
                let got = (|| {
                    let mut io = h.open(OpenMode::WRITE)?;
                    let origin = [
                        SeekOrigin::BOF,
                        SeekOrigin::CUR,
                        SeekOrigin::EOF,
                        SeekOrigin(8),
                    ][*origin];
                    io.seek(origin, *offset)?;
                    io.write(data)?;
                    io.close()
                })();
                (got, expected)
            }
            Op::Rename { target, name } => {
                let pick = self.pick(*target, false);
                let name = name_for(*name);
                let expected = self.predict_rename(&pick, &name);
                let got = self.obtain(&pick).rename(&name, &mut NoProgress);
                (got, expected)
            }
            Op::Move {
                target,
                placement,
                dest,
            } => {
                let (pick, to) = (self.pick(*target, false), self.pick(*dest, false));
                let expected = self.predict_move(&pick, *placement, &to);
                let (h, t) = (self.obtain(&pick), self.obtain(&to));
                let got = h.move_to(*placement, &*t, &mut NoProgress);
                (got, expected)
            }
            Op::Delete { target, recursive } => {
                let pick = self.pick(*target, false);
                let h = self.obtain(&pick);
                let expected = self.predict_delete(&pick, *recursive);
                let got = h.delete(*recursive, &mut NoProgress);
                if got.is_ok() {
                    self.bury(h);
                }
                (got, expected)
            }
            Op::Format => {
                let victims: Vec<StorageRef> = self
                    .model
                    .files
                    .keys()
                    .take(2)
                    .map(|p| self.handle(p))
                    .collect();
                let got = self
                    .root
                    .globals()
                    .and_then(|g| g.initialize(Mode::BLOCK, &mut NoProgress));
                self.model.files.clear();
                self.model.folders.clear();
                if got.is_ok() {
                    victims.into_iter().for_each(|v| self.bury(v));
                }
                (got, Ok(()))
            }
        }
    }

    /// Ok(Some(path)) when the create replaces the file at `path`.
    fn predict_create(
        &mut self,
        pick: &Pick,
        placement: Placement,
        name: &str,
        folder: bool,
        overwrite: bool,
        hint: Option<u64>,
    ) -> Result<Option<String>, Error> {
        let anchor = match pick {
            Pick::Live(p) => p.clone(),
            Pick::Dead(_) => return Err(Error::InterfaceDead),
        };
        if !valid_name(name) {
            return Err(Error::InvalidName);
        }
        let parent = self.model.destination(&anchor, placement)?;
        let mut freed = 0;
        let existing = self.model.collision(&parent, name, None);
        if let Some(old) = &existing {
            if !overwrite || folder || self.model.is_folder(old) {
                return Err(Error::AlreadyExists);
            }
            freed = self.model.files.get(old).map_or(0, |d| d.len() as u64);
        }
        if hint.is_some_and(|h| h > self.model.free() + freed) {
            return Err(Error::DiskFull);
        }
        if let Some(old) = &existing {
            self.model.files.remove(old);
        }
        let path = join(&parent, name);
        if folder {
            self.model.folders.insert(path);
        } else {
            self.model.files.insert(path, Vec::new());
        }
        Ok(existing)
    }

    fn predict_write(
        &mut self,
        pick: &Pick,
        origin: usize,
        offset: u64,
        data: &[u8],
    ) -> Result<(), Error> {
        let path = match pick {
            Pick::Live(p) => p.clone(),
            Pick::Dead(_) => return Err(Error::InterfaceDead),
        };
        if self.model.is_folder(&path) {
            return Err(Error::InvalidType);
        }
        let free = self.model.free();
        let content = self.model.files.get_mut(&path).ok_or(Error::Unexpected)?;
        let len = content.len() as u64;
        let pos = match origin {
            0 | 1 => Some(offset),
            2 => len.checked_sub(offset),
            _ => None,
        }
        .filter(|&p| p <= len)
        .ok_or(Error::InvalidArg)?;
        let end = pos + data.len() as u64;
        if end.saturating_sub(len) > free {
            return Err(Error::DiskFull);
        }
        let (pos, end) = (pos as usize, end as usize);
        if content.len() < end {
            content.resize(end, 0);
        }
        content[pos..end].copy_from_slice(data);
        Ok(())
    }

    fn predict_rename(&mut self, pick: &Pick, name: &str) -> Result<(), Error> {
        let path = match pick {
            Pick::Live(p) => p.clone(),
            Pick::Dead(_) => return Err(Error::InterfaceDead),
        };
        if path.is_empty() {
            return Err(Error::InvalidArg);
        }
        if !valid_name(name) {
            return Err(Error::InvalidName);
        }
        let parent = parent_of(&path);
        if self.model.collision(&parent, name, Some(&path)).is_some() {
            return Err(Error::AlreadyExists);
        }
        self.model.reroot(&path, &join(&parent, name));
        Ok(())
    }

    fn predict_move(&mut self, pick: &Pick, placement: Placement, to: &Pick) -> Result<(), Error> {
        let (path, target) = match (pick, to) {
            (_, Pick::Dead(_)) | (Pick::Dead(_), _) => return Err(Error::InterfaceDead),
            (Pick::Live(p), Pick::Live(t)) => (p.clone(), t.clone()),
        };
        if path.is_empty() {
            return Err(Error::InvalidArg);
        }
        let parent = self.model.destination(&target, placement)?;
        if target == path || within(&parent, &path) {
            return Err(Error::InvalidArg);
        }
        let name = last(&path).to_owned();
        if self.model.collision(&parent, &name, Some(&path)).is_some() {
            return Err(Error::AlreadyExists);
        }
        self.model.reroot(&path, &join(&parent, &name));
        Ok(())
    }

    fn predict_delete(&mut self, pick: &Pick, recursive: bool) -> Result<(), Error> {
        let path = match pick {
            Pick::Live(p) => p.clone(),
            Pick::Dead(_) => return Err(Error::InterfaceDead),
        };
        if path.is_empty() {
            return Err(Error::InvalidArg);
        }
        let has_children = self
            .model
            .paths()
            .iter()
            .any(|p| p != &path && within(p, &path));
        if has_children && !recursive {
            return Err(Error::DirectoryNotEmpty);
        }
        self.model.remove_under(&path);
        Ok(())
    }

    /// The device holds what the model holds, and its space adds up.
    fn check(&self) -> Result<(), TestCaseError> {
        prop_assert_eq!(&self.device.files(), &self.model.files);
        prop_assert_eq!(&self.device.folders(), &self.model.folders);
        let g = self
            .root
            .globals()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (total, free) = (g.total_size(), g.total_free());
        prop_assert_eq!(total, Ok(self.model.capacity));
        prop_assert_eq!(free.clone(), Ok(self.model.free()));
        prop_assert!(free.unwrap_or(u64::MAX) <= self.model.capacity);
        prop_assert_eq!(self.device.open_files(), 0);
        Ok(())
    }

    /// The same comparison through the traits alone: walk the tree and read every file.
    fn check_through_traits(&self) -> Result<(), TestCaseError> {
        let fail = |e: Error| TestCaseError::fail(e.to_string());
        let mut files = BTreeMap::new();
        let mut folders = BTreeSet::new();
        for s in walk(&*self.root).map_err(fail)? {
            let mut path = Vec::new();
            let mut at = Some(s.clone());
            while let Some(node) = at {
                let parent = node.parent().map_err(fail)?;
                if parent.is_some() {
                    path.push(node.name().map_err(fail)?);
                }
                at = parent;
            }
            path.reverse();
            let path = path.join("/");
            if s.attributes().map_err(fail)?.attributes.is_folder() {
                folders.insert(path);
            } else {
                let mut io = s.open(OpenMode::READ).map_err(fail)?;
                let mut data = vec![0; s.size().map_err(fail)? as usize + 1];
                let n = io.read(&mut data).map_err(fail)?;
                data.truncate(n);
                io.close().map_err(fail)?;
                files.insert(path, data);
            }
        }
        prop_assert_eq!(files, self.model.files.clone());
        prop_assert_eq!(folders, self.model.folders.clone());
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn device_agrees_with_the_model(
        capacity in 32..200u64,
        bad in 0..8u64,
        ops in prop::collection::vec(op(), 1..40),
    ) {
        let mut h = Harness::new(capacity, bad, FaultPlan::new());
        for (i, op) in ops.iter().enumerate() {
            let (got, expected) = h.step(op);
            prop_assert_eq!(got, expected, "step {} {:?}", i, op);
            h.check()?;
        }
        h.check_through_traits()?;
    }
}

/// Operations whose calls the fault plan may fail: those the harness does not need for its
/// own bookkeeping (it finds objects with `child` and reads space through the globals).
const FAULTABLE: &[Operation] = &[
    Operation::Create,
    Operation::Open,
    Operation::Write,
    Operation::Seek,
    Operation::Close,
    Operation::Delete,
    Operation::Rename,
    Operation::Move,
    Operation::Initialize,
];

fn fault_plan() -> impl Strategy<Value = FaultPlan> {
    let rule = (
        0..FAULTABLE.len(),
        1..12u64,
        prop_oneof![Just(Error::ProcessFailed), Just(Error::Busy)],
    );
    (
        prop::collection::vec(rule, 0..6),
        prop::option::weighted(0.5, 0..200u64),
        prop::collection::vec((0..FAULTABLE.len(), 1..12u64), 0..2),
    )
        .prop_map(|(fails, limit, unplugs)| {
            let mut plan = FaultPlan::new();
            for (op, n, e) in fails {
                plan = plan.fail_nth(FAULTABLE[op], n, e);
            }
            for (op, n) in unplugs {
                plan = plan.disconnect_on_nth(FAULTABLE[op], n);
            }
            if let Some(bytes) = limit {
                plan = plan.disconnect_after_bytes(bytes);
            }
            plan
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Every operation is atomic under faults: it either does exactly what the model predicts,
    /// or fails with an injected error (or a disconnection) and changes nothing.
    #[test]
    fn injected_faults_never_leave_partial_changes(
        capacity in 32..200u64,
        plan in fault_plan(),
        ops in prop::collection::vec(op(), 1..40),
    ) {
        let mut h = Harness::new(capacity, 0, plan);
        for (i, op) in ops.iter().enumerate() {
            let before = h.model.clone();
            let (got, expected) = h.step(op);
            if got != expected {
                prop_assert!(
                    matches!(&got, Err(e) if matches!(e.code(), ErrorCode::ProcessFailed | ErrorCode::Busy | ErrorCode::DeviceNotConnected)),
                    "step {} {:?}: got {:?}, expected {:?}", i, op, got, expected
                );
                h.model = before;
            }
            if !h.device.is_connected() {
                h.device.reconnect();
            }
            h.check()?;
        }
        h.device.clear_faults();
        h.check_through_traits()?;
    }
}
