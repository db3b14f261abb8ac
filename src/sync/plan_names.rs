//! The planner's helpers: the persistent hash of a playlist's inputs, and device path naming
//! (spelling under the name rule, claiming a free path).

use std::hash::Hasher;

use super::names::{NameRule, component, file_limit, numbered};
use super::plan_types::DeviceContents;
use crate::provider::names::MAX_COMPONENT;

pub(super) use crate::maps::{FastMap, FastSet};

/// FNV-1a, unseeded: the same bytes hash the same in every process, so a playlist's input
/// hash can be kept in the ledger (its `meta`) and compared on the next sync.
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

pub(super) struct Names<'a> {
    pub(super) rule: NameRule,
    // The device's component limit, and the shorter one of file names (see `file_limit`).
    max: usize,
    file_max: usize,
    pub(super) device: &'a DeviceContents,
    // The device's and the plan's file paths, folded under the rule. Built on first use: a
    // no-op resync never claims a name.
    files: Option<FastSet<String>>,
    // Folders by folded path, with their spelling: the one on the device, else the first one
    // planned. Under FAT "Same" and "same" are one folder, and asking the device for both
    // would fail the second. Built on first use, from the device's distinct folders only, so
    // that a resync (which spells its playlists' paths) pays little for it.
    folders: Option<FastMap<String, String>>,
    // The next number to try per wanted path, so a thousand untagged tracks that all render
    // to one name cost linear time, not quadratic.
    next: FastMap<String, u32>,
}

impl<'a> Names<'a> {
    pub(super) fn new(rule: NameRule, max: usize, device: &'a DeviceContents) -> Names<'a> {
        Names {
            rule,
            max: max.clamp(1, MAX_COMPONENT),
            file_max: file_limit(max),
            device,
            files: None,
            folders: None,
            next: FastMap::default(),
        }
    }

    /// A free path for `wanted`, reserving it: a name no file and no folder has.
    pub(super) fn claim(&mut self, wanted: &str) -> String {
        let rule = self.rule;
        let key = rule.fold(wanted).into_owned();
        let mut n = self.next.get(&key).copied().unwrap_or(2);
        let folders = folders(&mut self.folders, rule, self.device);
        let files = files(&mut self.files, rule, self.device);
        if !folders.contains_key(&key) && files.insert(key.clone()) {
            return wanted.to_owned();
        }
        let candidate = loop {
            let candidate = numbered(rule, wanted, n, self.file_max);
            n += 1;
            let k = rule.fold(&candidate).into_owned();
            if !folders.contains_key(&k) && files.insert(k) {
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
        let mut path = String::new();
        for d in dirs {
            let name = component(rule, d, self.max);
            // The parent's path and a slash, then the name (numbered when taken).
            let mut candidate = String::with_capacity(path.len() + 1 + name.len());
            candidate.push_str(&path);
            if !path.is_empty() {
                candidate.push('/');
            }
            let parent = candidate.len();
            candidate.push_str(&name);
            let mut n = 2;
            path = loop {
                // A folder spelt before (the usual case: an album's tracks share theirs) is
                // found without a key of its own.
                let key = rule.fold(&candidate);
                let known = folders(&mut self.folders, rule, self.device);
                if let Some(spelled) = known.get(key.as_ref()) {
                    break spelled.clone();
                }
                let key = key.into_owned();
                if !files(&mut self.files, rule, self.device).contains(&key) {
                    folders(&mut self.folders, rule, self.device).insert(key, candidate.clone());
                    break candidate;
                }
                candidate.truncate(parent);
                candidate.push_str(&rule.numbered(&name, n, self.max));
                n += 1;
            };
        }
        if !path.is_empty() {
            path.push('/');
        }
        path.push_str(&component(rule, file, self.file_max));
        path
    }
}

fn files<'s>(
    slot: &'s mut Option<FastSet<String>>,
    rule: NameRule,
    device: &DeviceContents,
) -> &'s mut FastSet<String> {
    slot.get_or_insert_with(|| {
        device
            .files
            .keys()
            .map(|p| rule.fold(p).into_owned())
            .collect()
    })
}

fn folders<'s>(
    slot: &'s mut Option<FastMap<String, String>>,
    rule: NameRule,
    device: &DeviceContents,
) -> &'s mut FastMap<String, String> {
    slot.get_or_insert_with(|| device_folders(rule, device))
}

/// Every folder that holds a file on the device, by its folded path. Paths are many and
/// folders few: the distinct parents are found first, without allocating.
fn device_folders(rule: NameRule, device: &DeviceContents) -> FastMap<String, String> {
    let parents: FastSet<&str> = device
        .files
        .keys()
        .filter_map(|p| p.rsplit_once('/').map(|(d, _)| d))
        .collect();
    // In order, so that of two spellings of one folder (possible where the medium is not
    // really FAT) the same one wins on every run.
    let mut parents: Vec<&str> = parents.into_iter().collect();
    parents.sort_unstable();
    let mut out = FastMap::default();
    for dir in parents {
        let mut end = dir.len();
        loop {
            let d = dir.get(..end).unwrap_or_default();
            let key = rule.fold(d).into_owned();
            if out.contains_key(&key) {
                break;
            }
            out.insert(key, d.to_owned());
            match d.rfind('/') {
                Some(i) => end = i,
                None => break,
            }
        }
    }
    out
}
