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
    // Built on first use: a no-op resync never renders a name.
    pub(super) used: Option<Used>,
    // The next number to try per wanted path, so a thousand untagged tracks that all render
    // to one name cost linear time, not quadratic.
    pub(super) next: FastMap<String, u32>,
}

/// The names in use on the device and in the plan, folded under the rule.
pub(super) struct Used {
    /// Files.
    files: FastSet<String>,
    /// Folders, with their spelling: the one on the device, else the first one planned.
    /// Under FAT "Same" and "same" are one folder, and asking the device for both would fail
    /// the second.
    folders: FastMap<String, String>,
}

impl<'a> Names<'a> {
    pub(super) fn new(rule: NameRule, device: &'a DeviceContents) -> Names<'a> {
        Names {
            rule,
            device,
            used: None,
            next: FastMap::default(),
        }
    }

    fn used(&mut self) -> &mut Used {
        let (rule, device) = (self.rule, self.device);
        self.used.get_or_insert_with(|| Used {
            files: device
                .files
                .keys()
                .map(|p| rule.fold(p).into_owned())
                .collect(),
            folders: device_folders(rule, device),
        })
    }

    /// A free path for `wanted`, reserving it: a name no file and no folder has.
    pub(super) fn claim(&mut self, wanted: &str) -> String {
        let rule = self.rule;
        let key = rule.fold(wanted).into_owned();
        let mut n = self.next.get(&key).copied().unwrap_or(2);
        let used = self.used();
        if !used.folders.contains_key(&key) && used.files.insert(key.clone()) {
            return wanted.to_owned();
        }
        let candidate = loop {
            let candidate = numbered(rule, wanted, n, FILE_LIMIT);
            n += 1;
            let k = rule.fold(&candidate).into_owned();
            if !used.folders.contains_key(&k) && used.files.insert(k) {
                break candidate;
            }
        };
        self.next.insert(key, n);
        candidate
    }

    /// The device path of `relative` below `folder`: each component spelled under the rule
    /// (the file name short enough for its temporary name), folders spelled as they already
    /// are on the device (or as first planned) when the rule folds case, and a folder whose
    /// name a file holds numbered.
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
        let used = self.used();
        let mut path = String::new();
        for d in dirs {
            let parent = if path.is_empty() {
                String::new()
            } else {
                format!("{path}/")
            };
            let name = component(rule, d, MAX_COMPONENT);
            let mut candidate = format!("{parent}{name}");
            let mut n = 2;
            path = loop {
                let key = rule.fold(&candidate).into_owned();
                if let Some(spelled) = used.folders.get(&key) {
                    break spelled.clone();
                }
                if !used.files.contains(&key) {
                    used.folders.insert(key, candidate.clone());
                    break candidate;
                }
                candidate = format!("{parent}{}", rule.numbered(&name, n, MAX_COMPONENT));
                n += 1;
            };
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
