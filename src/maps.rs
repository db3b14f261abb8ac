//! The hash maps of the crate's hot paths (planning, the library scan and its index): keyed
//! by track IDs and paths from the user's own library and device, where std's SipHash costs a
//! good part of a resync and buys flood resistance they do not need. The seed is fixed, so a
//! map filled in the same order iterates in the same order in every process: plans stay
//! deterministic.

use std::collections::{HashMap, HashSet};

/// A [`HashMap`] with foldhash's fast hasher and a fixed seed.
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// A [`HashSet`] with foldhash's fast hasher and a fixed seed.
pub(crate) type FastSet<K> = HashSet<K, foldhash::fast::FixedState>;
