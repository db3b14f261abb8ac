//! How plan parts whose types live in `library` are serialised (feature `serde`): ids as
//! numbers, hashes as hex text, the placement map ordered by track id.

use std::collections::{BTreeMap, HashMap};

use serde::Serializer;

use crate::library::{ContentHash, PlaylistId, TrackId};

pub(crate) fn track<S: Serializer>(t: &TrackId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(t.0)
}

pub(crate) fn playlist<S: Serializer>(p: &PlaylistId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(p.0)
}

pub(crate) fn hash<S: Serializer>(h: &ContentHash, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(h)
}

pub(crate) fn opt_hash<S: Serializer>(h: &Option<ContentHash>, s: S) -> Result<S::Ok, S::Error> {
    match h {
        Some(h) => s.collect_str(h),
        None => s.serialize_none(),
    }
}

pub(crate) fn placed<S: Serializer>(m: &HashMap<TrackId, String>, s: S) -> Result<S::Ok, S::Error> {
    let ordered: BTreeMap<u64, &String> = m.iter().map(|(k, v)| (k.0, v)).collect();
    s.collect_map(ordered)
}

pub(crate) fn tracks<S: Serializer>(v: &[TrackId], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(|t| t.0))
}
