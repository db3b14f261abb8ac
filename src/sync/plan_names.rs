//! The planner's helpers: a fast hasher for its internal maps, and device path naming
//! (spelling under the name rule, claiming a free path).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use super::names::{NameRule, numbered};
use super::plan_types::DeviceContents;

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
}

impl Names<'_> {
    fn taken(&mut self) -> &mut FastSet<String> {
        let (rule, device) = (self.rule, self.device);
        // Built on first use: a no-op resync never renders a name.
        self.taken
            .get_or_insert_with(|| device.files.keys().map(|p| rule.collision_key(p)).collect())
    }

    /// A free path for `wanted`, reserving it.
    pub(super) fn claim(&mut self, wanted: &str) -> String {
        let rule = self.rule;
        let key = rule.collision_key(wanted);
        let mut n = self.next.get(&key).copied().unwrap_or(2);
        let taken = self.taken();
        let mut candidate = wanted.to_owned();
        if taken.insert(rule.collision_key(&candidate)) {
            return candidate;
        }
        loop {
            candidate = numbered(wanted, n);
            n += 1;
            if taken.insert(rule.collision_key(&candidate)) {
                break;
            }
        }
        self.next.insert(key, n);
        candidate
    }

    pub(super) fn spell(&self, folder: &str, relative: &str) -> String {
        let mut parts: Vec<String> = Vec::new();
        for c in folder.split('/').chain(relative.split('/')) {
            if !c.trim().is_empty() {
                parts.push(self.rule.component(c));
            }
        }
        if parts.is_empty() {
            parts.push("_".into());
        }
        parts.join("/")
    }
}
