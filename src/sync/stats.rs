//! Statistics flowing back: play counts and ratings changed on the device go into a stats store
//! on the library side. The user's files are never modified.
//!
//! * Play counts merge as base plus the sum of deltas: each sync reads the device's play
//!   count, subtracts what the ledger recorded at the previous sync, and adds the difference
//!   to the store; the merged count is the library's own count plus every delta recorded.
//! * Ratings are newest-wins: a rating changed on the device since the last sync replaces the
//!   store's. When the library's rating also changed since then to a different value, the
//!   device's (newer, since it is observed now) still wins and the conflict is reported.
//! * Only objects that may have changed are read: the ledger keeps each object's size and date
//!   as last read, and an object that still has them is skipped (see [`stats_to_read`]).

use std::collections::BTreeMap;
use std::path::Path;

use super::journal::{Ledger, LedgerEntry};
use super::plan::DeviceContents;
use super::text::{StateParseError, bad, fields, hex_u64, lines_after_header, number};
use crate::error::{Error, Result};
use crate::library::{Library, Rating, TrackId};

/// The name of the stats store in the library's state folder.
pub const STATS_FILE_NAME: &str = "stats.txt";

/// What the store knows about one track.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrackStats {
    /// Plays counted on devices, summed over every sync.
    pub device_plays: u64,
    /// The newest rating seen on a device, 0-100, with the sync time (seconds since the
    /// epoch) it was seen at.
    pub rating: Option<(u8, u64)>,
}

/// A rating that changed on both sides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RatingConflict {
    /// The track.
    pub track: TrackId,
    /// The library's rating.
    pub library: Rating,
    /// The device's rating, which won.
    pub device: Rating,
}

/// The library-side stats store.
///
/// Format (`stats.txt`): a `wmdm-sync-stats 1` header, then one line per track:
/// `<track id, 16 hex>\t<device plays>\t<rating or empty>\t<rating time or empty>`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatsStore {
    tracks: BTreeMap<TrackId, TrackStats>,
}

const KIND: &str = "wmdm-sync-stats";

impl StatsStore {
    /// An empty store.
    pub fn new() -> StatsStore {
        StatsStore::default()
    }

    /// What the store knows about a track.
    pub fn get(&self, track: TrackId) -> TrackStats {
        self.tracks.get(&track).copied().unwrap_or_default()
    }

    /// The merged play count: the library's count plus every device delta.
    pub fn play_count(&self, library: &dyn Library, track: TrackId) -> u64 {
        let base = library.track(track).map_or(0, |t| u64::from(t.play_count));
        base + self.get(track).device_plays
    }

    /// The merged rating: the newest device rating, else the library's.
    pub fn rating(&self, library: &dyn Library, track: TrackId) -> Rating {
        match self.get(track).rating {
            Some((r, _)) => Rating::new(r),
            None => library.track(track).map_or(Rating::UNRATED, |t| t.rating),
        }
    }

    /// Records a device's play count and rating for a track at sync time `now`, against the
    /// ledger's base (`plays`, `rating` as of the last sync), which it moves forward. Returns a
    /// conflict when both sides changed the rating.
    pub fn record(
        &mut self,
        library: &dyn Library,
        track: TrackId,
        base: (&mut u32, &mut u8),
        device: (u32, Option<u8>),
        now: u64,
    ) -> Option<RatingConflict> {
        let (base_plays, base_rating) = base;
        let (plays, rating) = device;
        let entry = self.tracks.entry(track).or_default();
        // A device count below the base means the device was reset: count from zero.
        let delta = if plays >= *base_plays {
            plays - *base_plays
        } else {
            plays
        };
        entry.device_plays += u64::from(delta);
        *base_plays = plays;
        let mut conflict = None;
        if let Some(r) = rating.map(|r| r.min(100))
            && r != *base_rating
        {
            let lib = library.track(track).map_or(Rating::UNRATED, |t| t.rating);
            if lib.value() != *base_rating && lib.value() != r {
                conflict = Some(RatingConflict {
                    track,
                    library: lib,
                    device: Rating::new(r),
                });
            }
            entry.rating = Some((r, now));
            *base_rating = r;
        }
        conflict
    }

    /// The file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut s = format!("{KIND} 1\n");
        for (id, t) in &self.tracks {
            let (r, at) = t.rating.map_or((String::new(), String::new()), |(r, at)| {
                (r.to_string(), at.to_string())
            });
            s.push_str(&format!("{:016x}\t{}\t{r}\t{at}\n", id.0, t.device_plays));
        }
        s.into_bytes()
    }

    /// Reads a store.
    ///
    /// # Errors
    /// A [`StateParseError`] for a wrong header or a malformed line.
    pub fn parse(bytes: &[u8]) -> std::result::Result<StatsStore, StateParseError> {
        let mut store = StatsStore::new();
        for (n, line) in lines_after_header(bytes, KIND, 1)? {
            let f: Vec<&str> = fields(line).collect();
            let [id, plays, r, at] = f.as_slice() else {
                return Err(bad(n, "expected four fields"));
            };
            let rating = if r.is_empty() {
                None
            } else {
                Some((number::<u8>(n, r)?.min(100), number(n, at)?))
            };
            store.tracks.insert(
                TrackId(hex_u64(n, id)?),
                TrackStats {
                    device_plays: number(n, plays)?,
                    rating,
                },
            );
        }
        Ok(store)
    }

    /// Loads the store from a state folder (empty when there is none).
    ///
    /// # Errors
    /// [`Error::InvalidArg`] for a file that cannot be parsed; I/O errors.
    pub fn load(state_dir: &Path) -> Result<StatsStore> {
        match std::fs::read(state_dir.join(STATS_FILE_NAME)) {
            Ok(b) => StatsStore::parse(&b).map_err(|e| {
                tracing::error!(error = %e, "the stats store cannot be read");
                Error::InvalidArg
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StatsStore::new()),
            Err(e) => Err(e.into()),
        }
    }

    /// Saves the store atomically.
    ///
    /// # Errors
    /// I/O errors.
    pub fn save(&self, state_dir: &Path) -> Result<()> {
        Ok(crate::sys::files::write_atomic(
            &state_dir.join(STATS_FILE_NAME),
            &self.encode(),
        )?)
    }
}

/// Makes what the sync has just written the statistics baseline of `entry`: the play count
/// and rating the written bytes carry (the library track's own, since the copy is its file),
/// and the object's size and date as the device reports them, in the form a listing gives
/// them (see `read_device_contents`). [`stats_to_read`] then skips the object until the device
/// changes it, instead of reading back tags the sync itself wrote, and the library's own play
/// count is never counted again as plays on the device.
///
/// `stored` and `dated` (a change stamp: nanoseconds since the epoch, `device::change_stamp`;
/// 0 for none) are the object's size and date read after the last write to its content or
/// metadata (a rename dates nothing); any later change moves its date, so a stale baseline
/// only costs one read.
pub(crate) fn set_written_baseline(
    entry: &mut LedgerEntry,
    plays: u32,
    rating: u8,
    stored: u64,
    dated: i64,
) {
    entry.plays = plays;
    entry.rating = rating;
    entry.seen = (dated != 0).then_some((stored, dated));
}

/// A change marker: an object's size and change stamp as a listing gives them.
pub(crate) type Marker = Option<(u64, i64)>;

/// Which ledger entries statistics must read: the path and the change marker the listing
/// gives it, for each owned track on the device that may have changed; and whether enough
/// markers dated in the ledger's tick (or later) were among them for a settling rewrite of
/// the ledger to pay (see [`apply_stats`]).
///
/// Like WMP's IOCTL_WMP_METADATA_ROUND_TRIP, which reports only the objects whose statistics
/// changed, only objects that may have changed are read: an entry whose recorded
/// [`seen`](super::journal::LedgerEntry::seen) marker (size and last-modified date) matches
/// the device's listing is skipped, provided that date is older than `ledger_date` (the
/// change stamp of the ledger file on the device, in the device's own clock). Dates have the
/// resolution the device keeps (nanoseconds on most file systems, whole seconds through
/// GetDate, two seconds on FAT), so an object dated in the same tick as the ledger (or
/// later) may have changed again unseen in that tick; such objects are read. When they are
/// many, the ledger is marked [`settled`](Ledger::settled) at its current date, which makes
/// the engine rewrite it once so that their markers become trustworthy next time (a device
/// whose clock stands still is not rewritten again); a few (the last files a sync wrote,
/// in the tick of its ledger on a precise clock) cost less to read again than the ledger
/// costs to rewrite. Objects the device gives no date for are always read.
pub(crate) fn stats_to_read(
    ledger: &Ledger,
    device: &DeviceContents,
    ledger_date: Option<i64>,
) -> (Vec<(String, Marker)>, bool) {
    let mut out = Vec::new();
    let mut racy = 0usize;
    for e in ledger.entries.values() {
        if e.track().is_none() {
            continue;
        }
        // Not on the device (any more): the plan forgets or recopies it.
        let Some(file) = device.files.get(&e.path) else {
            continue;
        };
        let marker = (file.modified_ns != 0).then_some((file.size, file.modified_ns));
        let settled = ledger_date.is_some_and(|l| file.modified_ns < l);
        if marker.is_some() && e.seen == marker && settled {
            continue;
        }
        racy += usize::from(marker.is_some() && !settled);
        out.push((e.path.clone(), marker));
    }
    (out, worth_settling(racy, ledger.entries.len()))
}

/// How many ledger lines a settling rewrite costs for each object it spares a read: reading
/// an object's statistics is an open and a parse of its tags, writing a line a few dozen bytes.
const LINES_PER_READ: usize = 32;

/// Whether rewriting a ledger of `entries` lines costs less than reading `racy` objects again
/// on each later sync.
fn worth_settling(racy: usize, entries: usize) -> bool {
    racy > 0 && racy.saturating_mul(LINES_PER_READ) >= entries
}

/// What statistics read of one object (see [`stats_to_read`]): its path, the listing's
/// marker, and the device's play count and rating (`None`: the device keeps none for it;
/// the path absent: skipped).
pub(crate) struct StatsReading {
    pub(crate) path: String,
    pub(crate) marker: Marker,
    pub(crate) found: Option<Option<(Option<u32>, Option<u32>)>>,
}

/// Puts what statistics read into `store` at sync time `now`, moving the ledger's bases and
/// markers forward, and settles the ledger when `racy` (see [`stats_to_read`]). Returns the
/// rating conflicts.
pub(crate) fn apply_stats(
    ledger: &mut Ledger,
    reads: Vec<StatsReading>,
    racy: bool,
    ledger_date: Option<i64>,
    library: &dyn Library,
    store: &mut StatsStore,
    now: u64,
) -> Vec<RatingConflict> {
    let mut conflicts = Vec::new();
    for r in reads {
        let Some(e) = ledger.entries.get_mut(&r.path) else {
            continue;
        };
        let (Some(track), Some(found)) = (e.track(), r.found) else {
            continue;
        };
        e.seen = r.marker;
        let Some((plays, rating)) = found else {
            continue;
        };
        let plays = plays.unwrap_or(e.plays);
        let rating = rating.map(|r| u8::try_from(r.min(100)).unwrap_or(100));
        if let Some(c) = store.record(
            library,
            track,
            (&mut e.plays, &mut e.rating),
            (plays, rating),
            now,
        ) {
            conflicts.push(c);
        }
    }
    if racy {
        settle(ledger, ledger_date, now);
    }
    conflicts
}

/// How many settling rewrites are made at one ledger date before the device's clock is taken
/// to stand still.
const SETTLE_TRIES: u8 = 3;

/// Marks `ledger` for a settling rewrite when change markers dated in its second were read
/// (see [`collect`]): at once for a new ledger date; again at the same date (the last rewrite
/// landed in the ledger's own second, as when two syncs run within one second) once at least
/// two seconds of host time have passed since that rewrite, at most [`SETTLE_TRIES`] times, so
/// a device whose clock stands still is not rewritten on every sync.
fn settle(ledger: &mut Ledger, ledger_date: Option<i64>, now: u64) {
    if ledger.settled != ledger_date {
        ledger.settled = ledger_date;
        ledger.settle_tries = Some((now, 1));
        return;
    }
    match ledger.settle_tries {
        Some((at, tries)) if tries < SETTLE_TRIES && now >= at.saturating_add(2) => {
            ledger.settle_tries = Some((now, tries + 1));
        }
        // A ledger settled by an earlier version: its first retry.
        None => ledger.settle_tries = Some((now, 1)),
        Some(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::{MemoryLibrary, Track};
    use crate::sync::journal::OwnedKind;

    /// An owned track of 10 bytes at `path`, never read.
    fn track_entry(path: &str, id: u64) -> LedgerEntry {
        LedgerEntry {
            path: path.into(),
            unique_id: format!("S:{id}"),
            kind: OwnedKind::Track,
            id,
            hash: [0; 20],
            size: 10,
            meta: 0,
            source_size: 10,
            source_mtime: 1,
            plays: 0,
            rating: 0,
            seen: None,
            fingerprint: None,
        }
    }

    #[test]
    fn what_was_written_is_the_baseline() {
        let mut e = track_entry("Music/a.mp3", 1);
        let mut t = crate::library::Track::new(TrackId(1), "a.mp3");
        t.play_count = 7;
        t.rating = Rating::new(80);
        set_written_baseline(&mut e, t.play_count, t.rating.value(), 12, 1_700_000_000);
        // The file carries the library's count: it is the base, not plays on the device.
        assert_eq!(
            (e.plays, e.rating, e.seen),
            (7, 80, Some((12, 1_700_000_000)))
        );
        // A device that dates nothing gives no marker: the object is read next time.
        set_written_baseline(&mut e, t.play_count, t.rating.value(), 12, 0);
        assert_eq!(e.seen, None);
    }

    #[test]
    fn a_few_objects_in_the_ledgers_tick_are_read_without_rewriting_a_large_ledger() {
        let mut ledger = Ledger::new("lib", 1);
        let mut device = DeviceContents::default();
        let ledger_date = 5_000;
        for i in 0..1_000u64 {
            let path = format!("Music/{i}.mp3");
            // The last three files share the ledger's tick.
            let date = if i >= 997 { ledger_date } else { 4_000 };
            let mut e = track_entry(&path, i);
            set_written_baseline(&mut e, 0, 0, 10, date);
            ledger.insert(e);
            device.files.insert(
                path,
                crate::sync::plan::DeviceFile {
                    size: 10,
                    unique_id: format!("S:{i}"),
                    modified_ns: date,
                },
            );
        }
        let (read, settle) = stats_to_read(&ledger, &device, Some(ledger_date));
        assert_eq!(read.len(), 3, "only the objects in the ledger's tick");
        assert!(
            !settle,
            "reading 3 objects costs less than rewriting 1,000 lines"
        );
        // Many of them: the rewrite pays.
        for (i, f) in device.files.values_mut().enumerate() {
            if i % 10 == 0 {
                f.modified_ns = ledger_date;
            }
        }
        for e in ledger.entries.values_mut() {
            e.seen = device.files.get(&e.path).map(|f| (f.size, f.modified_ns));
        }
        let (read, settle) = stats_to_read(&ledger, &device, Some(ledger_date));
        assert!(read.len() >= 100 && settle, "{} read", read.len());
    }

    #[test]
    fn a_settling_rewrite_is_retried_a_few_times_at_one_date() {
        let mut l = Ledger::new("lib", 1);
        settle(&mut l, Some(100), 1_000);
        assert_eq!((l.settled, l.settle_tries), (Some(100), Some((1_000, 1))));
        // The same second of host time: no second rewrite yet.
        let before = l.clone();
        settle(&mut l, Some(100), 1_001);
        assert_eq!(l, before);
        // Later, the ledger's date still has not moved (it was rewritten in its own second).
        settle(&mut l, Some(100), 1_002);
        assert_eq!(l.settle_tries, Some((1_002, 2)));
        settle(&mut l, Some(100), 1_010);
        assert_eq!(l.settle_tries, Some((1_010, 3)));
        // A clock that stands still: no more rewrites.
        let before = l.clone();
        settle(&mut l, Some(100), 2_000);
        assert_eq!(l, before);
        // A new date starts again.
        settle(&mut l, Some(200), 2_000);
        assert_eq!((l.settled, l.settle_tries), (Some(200), Some((2_000, 1))));
    }

    #[test]
    fn deltas_sum_and_ratings_newest_win() {
        let mut lib = MemoryLibrary::new();
        let mut t = Track::new(TrackId(1), "a.mp3");
        t.play_count = 10;
        t.rating = Rating::new(50);
        lib.add_track(t, vec![1]);
        let mut s = StatsStore::new();
        let (mut plays, mut rating) = (0u32, 50u8);
        assert_eq!(
            s.record(
                &lib,
                TrackId(1),
                (&mut plays, &mut rating),
                (3, Some(50)),
                1
            ),
            None
        );
        assert_eq!(
            s.record(
                &lib,
                TrackId(1),
                (&mut plays, &mut rating),
                (5, Some(75)),
                2
            ),
            None
        );
        assert_eq!(s.play_count(&lib, TrackId(1)), 15);
        assert_eq!(s.rating(&lib, TrackId(1)), Rating::new(75));
        // The library changes to 25 while the device changes to 99: conflict, device wins.
        lib.track_mut(TrackId(1)).unwrap().rating = Rating::new(25);
        let c = s.record(
            &lib,
            TrackId(1),
            (&mut plays, &mut rating),
            (5, Some(99)),
            3,
        );
        assert_eq!(c.map(|c| c.device), Some(Rating::new(99)));
        assert_eq!(s.rating(&lib, TrackId(1)), Rating::new(99));
        assert_eq!(StatsStore::parse(&s.encode()), Ok(s));
    }
}
