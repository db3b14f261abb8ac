//! The planner's helpers: a fast hasher for its internal maps, and device path naming
//! (spelling under the name rule, claiming a free path).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use super::names::{FILE_LIMIT, NameRule, component, numbered};
use super::plan_types::DeviceContents;
use crate::provider::names::MAX_COMPONENT;

/// FNV-1a for the planner's internal maps: their keys are track ids (already hashes of a path)
/// and paths, from the user's own library and device, so SipHash's flood resistance buys
/// nothing and costs a third of a resync's planning time.
#[derive(Default)]
pub(super) struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // FNV-1a's shape, eight bytes at a time.
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            h = (h ^ u64::from_le_bytes(w))
                .wrapping_mul(0x0000_0100_0000_01b3)
                .rotate_left(23);
        }
        for &b in chunks.remainder() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h ^ bytes.len() as u64;
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0 ^ v)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }
}

pub(super) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;
pub(super) type FastSet<K> = HashSet<K, BuildHasherDefault<Fnv>>;

pub(super) struct Names<'a> {
    pub(super) rule: NameRule,
    pub(super) device: &'a DeviceContents,
    pub(super) taken: Option<FastSet<String>>,
    // The next number to try per wanted path, so a thousand untagged tracks that all render
    // to one name cost linear time, not quadratic.
    pub(super) next: FastMap<String, u32>,
    // Under a case-folding rule, each folder's spelling by its folded path: the spelling on the
    // device, else the first one planned. "Same" and "same" are one folder on FAT, and asking
    // the device for both would fail the second.
    pub(super) folders: Option<FastMap<String, String>>,
}

impl<'a> Names<'a> {
    pub(super) fn new(rule: NameRule, device: &'a DeviceContents) -> Names<'a> {
        Names {
            rule,
            device,
            taken: None,
            next: FastMap::default(),
            folders: None,
        }
    }

    fn taken(&mut self) -> &mut FastSet<String> {
        let (rule, device) = (self.rule, self.device);
        // Built on first use: a no-op resync never renders a name.
        self.taken.get_or_insert_with(|| {
            device
                .files
                .keys()
                .map(|p| rule.fold(p).into_owned())
                .collect()
        })
    }

    /// A free path for `wanted`, reserving it.
    pub(super) fn claim(&mut self, wanted: &str) -> String {
        let rule = self.rule;
        let key = rule.fold(wanted).into_owned();
        let mut n = self.next.get(&key).copied().unwrap_or(2);
        let taken = self.taken();
        if taken.insert(key.clone()) {
            return wanted.to_owned();
        }
        let candidate = loop {
            let candidate = numbered(rule, wanted, n, FILE_LIMIT);
            n += 1;
            if taken.insert(rule.fold(&candidate).into_owned()) {
                break candidate;
            }
        };
        self.next.insert(key, n);
        candidate
    }

    /// The device path of `relative` below `folder`: each component spelled under the rule
    /// (the file name short enough for its temporary name), folders spelled as they already
    /// are on the device when the rule folds case.
    pub(super) fn spell(&mut self, folder: &str, relative: &str) -> String {
        let rule = self.rule;
        let raw: Vec<&str> = folder
            .split('/')
            .chain(relative.split('/'))
            .filter(|c| !c.trim().is_empty())
            .collect();
        let Some((file, dirs)) = raw.split_last() else {
            return "_".into();
        };
        let mut path = String::new();
        for d in dirs {
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(&component(rule, d, MAX_COMPONENT));
            if rule.folds_case() {
                let device = self.device;
                let folders = self
                    .folders
                    .get_or_insert_with(|| device_folders(rule, device));
                path = folders
                    .entry(rule.fold(&path).into_owned())
                    .or_insert(path)
                    .clone();
            }
        }
        if !path.is_empty() {
            path.push('/');
        }
        path.push_str(&component(rule, file, FILE_LIMIT));
        path
    }
}

/// Every folder that holds a file on the device, by its folded path.
fn device_folders(rule: NameRule, device: &DeviceContents) -> FastMap<String, String> {
    let mut out = FastMap::default();
    for p in device.files.keys() {
        let mut end = 0;
        while let Some(i) = p.get(end..).and_then(|rest| rest.find('/')) {
            end += i;
            let dir = p.get(..end).unwrap_or_default();
            out.entry(rule.fold(dir).into_owned())
                .or_insert_with(|| dir.to_owned());
            end += 1;
        }
    }
    out
}
