//! The state a partnership keeps on the device, in `.wmdm-sync/`: the ownership ledger (every
//! object this partnership put there), the write-ahead journal of the sync in progress and its
//! batches' commit records (docs/sync.md, invariants J1-J9).
//!
//! Both are tab-separated text with an escaped field per column (see the `text` module), so a
//! damaged file is found out by the parser; a ledger that cannot be read is treated as empty,
//! which makes sync delete nothing (see [`Ledger::parse_or_empty`]).

use std::collections::BTreeMap;

use super::text::{
    Escaped, StateParseError, bad, escape, fields, hex_u64, hex20, key_value, lines_after_header,
    number, unescape,
};
use crate::library::{ContentHash, TrackId};

/// What an owned object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum OwnedKind {
    /// A track; `id` is its [`TrackId`].
    Track,
    /// A playlist file; `id` is its [`PlaylistId`](crate::library::PlaylistId).
    Playlist,
}

/// One object this partnership put on the device.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct LedgerEntry {
    /// Its path from the storage root, `/`-separated.
    pub path: String,
    /// Its persistent unique ID on the device (empty when the device gave none).
    pub unique_id: String,
    /// Track or playlist.
    pub kind: OwnedKind,
    /// The library id of the track or playlist.
    pub id: u64,
    /// SHA-1 of the bytes written.
    pub hash: [u8; 20],
    /// Bytes written.
    pub size: u64,
    /// Hash of the tags last written as device metadata.
    pub meta: u64,
    /// The library file's size when it was copied (the quick check that skips rehashing).
    pub source_size: u64,
    /// The library file's modification time then, in nanoseconds since the Unix epoch.
    pub source_mtime: u64,
    /// The device's play count as of the last sync (the base for the next delta).
    pub plays: u32,
    /// The device's rating (0-100) as of the last sync.
    pub rating: u8,
    /// The device object's size and last-modified time (a change stamp: nanoseconds since
    /// the Unix epoch, as precise as the device keeps it) when its play count and rating were
    /// last read; `None` when they must be read again. An object whose size and date still
    /// match (and are older than the ledger) is not read. (Ledgers of earlier versions hold
    /// whole seconds here: those markers match no more, which costs one read of each object.)
    pub seen: Option<(u64, i64)>,
    /// The content fingerprint of the object as the sync stored it ([`fingerprint`]: SHA-1
    /// over its size, first and last 4 KiB, read back at write time); `None` in ledgers
    /// written before it existed. On a device that gives no unique IDs it is what proves an
    /// object is still the one the sync wrote (docs/sync.md, invariant J5).
    ///
    /// [`fingerprint`]: crate::sync::fingerprint_of
    pub fingerprint: Option<[u8; 20]>,
}

impl LedgerEntry {
    /// The track id, for a track entry.
    pub fn track(&self) -> Option<TrackId> {
        (self.kind == OwnedKind::Track).then_some(TrackId(self.id))
    }

    /// The content hash.
    pub fn content_hash(&self) -> ContentHash {
        ContentHash(self.hash)
    }

    fn encode_fields(&self, out: &mut String) {
        let kind = match self.kind {
            OwnedKind::Track => 't',
            OwnedKind::Playlist => 'p',
        };
        use std::fmt::Write as _;
        // Written in place (a checkpoint encodes every entry of the ledger): no string per
        // field.
        let mut hash = [0u8; 40];
        let _ = hex::encode_to_slice(self.hash, &mut hash);
        let _ = write!(
            out,
            "{kind}\t{}\t{}\t{:016x}\t{}\t{}\t{:016x}\t{}\t{}\t{}\t{}",
            Escaped(&self.path),
            Escaped(&self.unique_id),
            self.id,
            std::str::from_utf8(&hash).unwrap_or_default(),
            self.size,
            self.meta,
            self.source_size,
            self.source_mtime,
            self.plays,
            self.rating
        );
        match (self.seen, self.fingerprint) {
            (None, None) => {}
            (seen, fp) => {
                match seen {
                    Some((size, date)) => {
                        let _ = write!(out, "\t{size}:{date}");
                    }
                    None => out.push_str("\t-"),
                }
                if let Some(fp) = fp {
                    let _ = hex::encode_to_slice(fp, &mut hash);
                    out.push('\t');
                    out.push_str(std::str::from_utf8(&hash).unwrap_or_default());
                }
            }
        }
    }

    pub(super) fn parse_fields<'a>(
        n: usize,
        f: &mut impl Iterator<Item = &'a str>,
    ) -> Result<LedgerEntry, StateParseError> {
        let mut next = |what: &str| f.next().ok_or_else(|| bad(n, format!("missing {what}")));
        let kind = match next("kind")? {
            "t" => OwnedKind::Track,
            "p" => OwnedKind::Playlist,
            k => return Err(bad(n, format!("unknown kind {k:?}"))),
        };
        let path = unescape(next("path")?).ok_or_else(|| bad(n, "bad escape"))?;
        if !plain_path(&path) {
            return Err(bad(n, "a path that is not a plain relative path"));
        }
        Ok(LedgerEntry {
            path,
            unique_id: unescape(next("unique id")?).ok_or_else(|| bad(n, "bad escape"))?,
            kind,
            id: hex_u64(n, next("id")?)?,
            hash: hex20(n, next("hash")?)?,
            size: number(n, next("size")?)?,
            meta: hex_u64(n, next("meta")?)?,
            source_size: number(n, next("source size")?)?,
            source_mtime: number(n, next("source mtime")?)?,
            plays: number(n, next("plays")?)?,
            rating: number::<u8>(n, next("rating")?)?.min(100),
            // Optional: ledgers written before it existed have no such field.
            seen: match f.next() {
                None | Some("-") => None,
                Some(v) => {
                    let (size, date) = v
                        .split_once(':')
                        .ok_or_else(|| bad(n, "a seen marker without ':'"))?;
                    Some((number(n, size)?, number(n, date)?))
                }
            },
            // Optional too: ledgers written before fingerprints existed.
            fingerprint: f.next().map(|v| hex20(n, v)).transpose()?,
        })
    }
}

/// The ownership ledger: every object the partnership put on the device, by path.
///
/// Format (`.wmdm-sync/ledger-<library id>.txt`; one per library, docs/sync.md J8):
///
/// ```text
/// wmdm-sync-ledger 1
/// library=<library id>
/// index=<partnership index>
/// [settled=<ledger date, nanoseconds since the Unix epoch>]
/// [settle_tries=<host time of the last settling rewrite>:<rewrites at that date>]
/// <t|p>\t<path>\t<unique id>\t<id, 16 hex>\t<sha-1, 40 hex>\t<size>\t<meta hash, 16 hex>\t<source size>\t<source mtime ns>\t<plays>\t<rating>[\t<seen size>:<seen date, ns> or -[\t<fingerprint, 40 hex>]]
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ledger {
    /// The library the ledger belongs to.
    pub library_id: String,
    /// The partnership index.
    pub index: u8,
    /// Entries by device path.
    pub entries: BTreeMap<String, LedgerEntry>,
    /// The ledger file's date on the device (a change stamp, as [`LedgerEntry::seen`]'s) when it was last
    /// rewritten so that change markers dated in its second could be trusted afterwards (see
    /// [`LedgerEntry::seen`]); remembered so a device whose clock stands still is not
    /// rewritten on every sync.
    pub settled: Option<i64>,
    /// When the last settling rewrite was made (host time, seconds since the Unix epoch) and
    /// how many were made at [`settled`](Self::settled)'s date: a rewrite that landed in the
    /// same second as the ledger it replaced (two syncs within one second) is tried again
    /// later, a bounded number of times, so a running clock settles and a stopped one is not
    /// rewritten on every sync.
    pub settle_tries: Option<(u64, u8)>,
}

/// Lower-case hex of some bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

const LEDGER_KIND: &str = "wmdm-sync-ledger";
const JOURNAL_KIND: &str = "wmdm-sync-journal";

pub(super) struct Owner {
    pub(super) library: String,
    index: u8,
    settled: Option<i64>,
    settle_tries: Option<(u64, u8)>,
    session: Option<u64>,
}

pub(super) fn parse_owner<'a>(
    lines: &mut std::iter::Peekable<impl Iterator<Item = (usize, &'a str)>>,
) -> Result<Owner, StateParseError> {
    let (mut lib, mut index, mut settled, mut session) = (None, None, None, None);
    let mut settle_tries = None;
    while let Some((n, line)) = lines.peek().copied() {
        if line.contains('\t') {
            break;
        }
        lines.next();
        let (k, v) = key_value(n, line)?;
        match k {
            "library" => lib = Some(v),
            "index" => index = Some(number::<u8>(n, &v)?),
            "settled" => settled = Some(number::<i64>(n, &v)?),
            "settle_tries" => {
                let (at, tries) = v
                    .split_once(':')
                    .ok_or_else(|| bad(n, "settle_tries is not <time>:<count>"))?;
                settle_tries = Some((number::<u64>(n, at)?, number::<u8>(n, tries)?));
            }
            "session" => session = Some(hex_u64(n, &v)?),
            _ => return Err(bad(n, format!("unexpected key {k:?}"))),
        }
    }
    Ok(Owner {
        library: lib.ok_or_else(|| bad(0, "no library"))?,
        index: index.ok_or_else(|| bad(0, "no index"))?,
        settled,
        settle_tries,
        session,
    })
}

/// The shortest line a ledger entry can have: eleven tab-separated fields, two of them 16 hex
/// digits and one 40 (`journal_tests.rs` checks it against the encoding).
const SHORTEST_ENTRY_LINE: usize = 89;

/// The most entries a ledger of these bytes can hold: one a line, each line at least
/// [`SHORTEST_ENTRY_LINE`] bytes. What a parse reserves ahead stays within a few times the
/// file's own size, whatever the file holds (a damaged or hostile ledger of empty lines, which
/// parses, would otherwise have it reserve an entry per byte).
fn entries_at_most(bytes: &[u8]) -> usize {
    let lines = bytes.iter().filter(|&&b| b == b'\n').count();
    lines.min(bytes.len() / SHORTEST_ENTRY_LINE)
}

impl Ledger {
    /// An empty ledger for a partnership.
    pub fn new(library_id: impl Into<String>, index: u8) -> Ledger {
        Ledger {
            library_id: library_id.into(),
            index,
            entries: BTreeMap::new(),
            settled: None,
            settle_tries: None,
        }
    }

    /// Adds or replaces an entry.
    pub fn insert(&mut self, entry: LedgerEntry) {
        self.entries.insert(entry.path.clone(), entry);
    }

    /// The file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut s = format!(
            "{LEDGER_KIND} 1\nlibrary={}\nindex={}\n",
            escape(&self.library_id),
            self.index
        );
        if let Some(d) = self.settled {
            s.push_str(&format!("settled={d}\n"));
        }
        if let Some((at, tries)) = self.settle_tries {
            s.push_str(&format!("settle_tries={at}:{tries}\n"));
        }
        s.reserve(self.entries.len() * 140);
        for e in self.entries.values() {
            e.encode_fields(&mut s);
            s.push('\n');
        }
        s.into_bytes()
    }

    /// Reads a ledger.
    ///
    /// # Errors
    /// A [`StateParseError`] for a wrong header, a malformed line, or two entries with one
    /// path.
    pub fn parse(bytes: &[u8]) -> Result<Ledger, StateParseError> {
        let mut lines = lines_after_header(bytes, LEDGER_KIND, 1)?.peekable();
        let owner = parse_owner(&mut lines)?;
        let mut ledger = Ledger::new(owner.library, owner.index);
        ledger.settled = owner.settled;
        ledger.settle_tries = owner.settle_tries;
        // Ledgers are written in path order: checked so, the map is built in one pass instead
        // of by 10,000 inserts (a no-op resync reads the whole ledger).
        // Made at its size, not grown by copying (a ledger of 10,000 entries is a few
        // megabytes in memory).
        let mut sorted: Vec<(String, LedgerEntry)> = Vec::with_capacity(entries_at_most(bytes));
        let mut in_order = true;
        for (n, line) in lines {
            let e = LedgerEntry::parse_fields(n, &mut fields(line))?;
            if let Some((last, _)) = sorted.last() {
                match last.as_str().cmp(e.path.as_str()) {
                    std::cmp::Ordering::Less => {}
                    std::cmp::Ordering::Equal => return Err(bad(n, "a path given twice")),
                    std::cmp::Ordering::Greater => in_order = false,
                }
            }
            if !in_order {
                // Hand-edited or from elsewhere: one insert at a time, duplicates found so.
                for (path, old) in sorted.drain(..) {
                    ledger.entries.insert(path, old);
                }
                if ledger.entries.insert(e.path.clone(), e).is_some() {
                    return Err(bad(n, "a path given twice"));
                }
                continue;
            }
            sorted.push((e.path.clone(), e));
        }
        if in_order {
            ledger.entries = sorted.into_iter().collect();
        }
        Ok(ledger)
    }

    /// The ledger of partnership `index` of library `library_id`, from the device's bytes.
    ///
    /// Never fails: a ledger that cannot be parsed is reported (the second value) and replaced
    /// by an empty one, and a ledger of another library is empty too. The library's ledger of
    /// another partnership index is taken, at `index`. An empty ledger owns nothing, so sync
    /// deletes nothing.
    pub fn parse_or_empty(
        bytes: Option<&[u8]>,
        library_id: &str,
        index: u8,
    ) -> (Ledger, Option<StateParseError>) {
        match bytes.map(Ledger::parse) {
            None => (Ledger::new(library_id, index), None),
            // The library's own ledger under another partnership index (the partnership was
            // deleted and made again, or the library took the device back after another one
            // had it): the files are still the library's own (J8).
            Some(Ok(mut l)) if l.library_id == library_id => {
                l.index = index;
                (l, None)
            }
            Some(Ok(_)) => (Ledger::new(library_id, index), None),
            Some(Err(e)) => (Ledger::new(library_id, index), Some(e)),
        }
    }
}

/// One step of a sync as the journal records it before doing it (docs/sync.md, invariants
/// J1-J3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JournalOp {
    /// Write `entry.path` through the temporary name `temp` (and, when `replaces` holds the old
    /// object's unique ID, delete the old object before renaming `temp` into place).
    Put {
        /// The temporary name: a sibling of the final path named by [`temp_name`] with the
        /// journal's session.
        temp: String,
        /// The old object's unique ID when this replaces one.
        replaces: Option<String>,
        /// The ledger entry once done (its unique ID is filled in from the device).
        entry: LedgerEntry,
    },
    /// Delete an owned object.
    Delete {
        /// Its path.
        path: String,
    },
    /// Write new tags into an owned object. A device that keeps tags inside the file rewrites
    /// it, so its size (and on some devices its unique ID) changes: recovery uses the object
    /// as the ledger knew it to tell the sync's own rewrite from a file the user replaced.
    Retag {
        /// Its path.
        path: String,
        /// Its unique ID before the rewrite.
        unique_id: String,
        /// Its size before the rewrite.
        size: u64,
    },
}

/// The prefix of every temporary name the sync writes (the session and a sequence number
/// follow; see [`temp_name`]).
pub(crate) const TEMP_PREFIX: &str = ".wmdm-sync-";
/// The suffix of every temporary name the sync writes.
pub(crate) const TEMP_SUFFIX: &str = ".part";

/// The length in bytes of every temporary name ([`temp_name`]): the prefix, 16 hex digits of
/// session, a dash, 8 hex digits of sequence, and the suffix.
pub(crate) const TEMP_NAME_LEN: usize = TEMP_PREFIX.len() + 16 + 1 + 8 + TEMP_SUFFIX.len();

/// The temporary name of the `seq`th write of session `session`:
/// `.wmdm-sync-<16 hex session>-<8 hex seq>.part`, 41 bytes whatever the final name, so a
/// long final name never makes its temporary name too long (invariant J3).
pub fn temp_name(session: u64, seq: u32) -> String {
    let name = format!("{TEMP_PREFIX}{session:016x}-{seq:08x}{TEMP_SUFFIX}");
    debug_assert_eq!(name.len(), TEMP_NAME_LEN);
    name
}

/// The temporary path for `final_path` (a sibling of it).
pub(crate) fn temp_path(final_path: &str, session: u64, seq: u32) -> String {
    match final_path.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{}", temp_name(session, seq)),
        None => temp_name(session, seq),
    }
}

/// True when `temp` is exactly a temporary name of `session` and a sibling of `final_path`.
pub(crate) fn is_session_temp(temp: &str, final_path: &str, session: u64) -> bool {
    let (dir, name) = temp.rsplit_once('/').unwrap_or(("", temp));
    let final_dir = final_path.rsplit_once('/').map_or("", |(d, _)| d);
    if dir != final_dir || temp == final_path {
        return false;
    }
    let Some(rest) = name
        .strip_prefix(TEMP_PREFIX)
        .and_then(|r| r.strip_suffix(TEMP_SUFFIX))
    else {
        return false;
    };
    let Some((s, seq)) = rest.split_once('-') else {
        return false;
    };
    let hex = |v: &str, len: usize| v.len() == len && v.bytes().all(|b| b.is_ascii_hexdigit());
    hex(s, 16) && hex(seq, 8) && s == format!("{session:016x}")
}

/// The write-ahead journal (`.wmdm-sync/journal-<library>.txt`): every step of the sync in
/// progress, made durable on the device before the first of them changes anything
/// (invariant J1). Each step's commit point is on the device itself (the rename of a
/// temporary file into place, or a delete) plus, for copies, a commit record
/// ([`CommitRecord`]) written before the renames; after an interruption recovery compares
/// the journal and the commit records with the device (`resume::recover`).
///
/// ```text
/// wmdm-sync-journal 2
/// library=<library id>
/// index=<partnership index>
/// session=<16 hex>
/// put\t<temp path>\t<old unique id or empty>\t<ledger entry fields>
/// del\t<path>
/// tag\t<path>\t<unique id before>\t<size before>
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Journal {
    /// The library the sync belongs to.
    pub library_id: String,
    /// The partnership index.
    pub index: u8,
    /// The session: every temporary name of this sync carries it ([`temp_name`]).
    pub session: u64,
    /// The steps.
    pub ops: Vec<JournalOp>,
}

const JOURNAL_VERSION: u32 = 2;

/// A put's "replaces" field: empty when the put replaces nothing, else `=` and the replaced
/// object's unique ID, which may itself be empty on a device without unique IDs. Without the
/// marker, "replaces an object whose ID is empty" would read back as "replaces nothing", and
/// recovery would keep a path the sync deleted in the ledger (J6).
fn encode_replaces(replaces: Option<&str>) -> String {
    replaces.map_or_else(String::new, |id| escape(&format!("={id}")))
}

/// Reads [`encode_replaces`]'s field (already unescaped). A bare non-empty ID is what the
/// previous encoding wrote for a replaced object that had one.
fn decode_replaces(field: String) -> Option<String> {
    if field.is_empty() {
        None
    } else if let Some(id) = field.strip_prefix('=') {
        Some(id.to_owned())
    } else {
        Some(field)
    }
}

impl Journal {
    /// The file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut s = format!(
            "{JOURNAL_KIND} {JOURNAL_VERSION}\nlibrary={}\nindex={}\nsession={:016x}\n",
            escape(&self.library_id),
            self.index,
            self.session
        );
        use std::fmt::Write as _;
        // About the size of a ledger line per operation: one allocation, no string per field.
        s.reserve(self.ops.len() * 200);
        for op in &self.ops {
            // Writing into a string cannot fail.
            let _ = match op {
                JournalOp::Put {
                    temp,
                    replaces,
                    entry,
                } => {
                    let _ = write!(s, "put\t{}\t", Escaped(temp));
                    // Empty (no string made) for a put that replaces nothing.
                    s.push_str(&encode_replaces(replaces.as_deref()));
                    s.push('\t');
                    entry.encode_fields(&mut s);
                    Ok(())
                }
                JournalOp::Delete { path } => write!(s, "del\t{}", Escaped(path)),
                JournalOp::Retag {
                    path,
                    unique_id,
                    size,
                } => write!(s, "tag\t{}\t{}\t{size}", Escaped(path), Escaped(unique_id)),
            };
            s.push('\n');
        }
        s.into_bytes()
    }

    /// Reads a journal.
    ///
    /// # Errors
    /// A [`StateParseError`] for a wrong header, a malformed line, a path that is not plain
    /// and relative, or a put whose temporary name is not exactly this session's pattern
    /// beside its final path (a damaged or hand-edited journal must not make recovery touch
    /// a file the sync never named; invariant J3).
    pub fn parse(bytes: &[u8]) -> Result<Journal, StateParseError> {
        let mut lines = lines_after_header(bytes, JOURNAL_KIND, JOURNAL_VERSION)?.peekable();
        let owner = parse_owner(&mut lines)?;
        let session = owner.session.ok_or_else(|| bad(0, "no session"))?;
        let mut ops = Vec::new();
        for (n, line) in lines {
            let mut f = fields(line);
            let esc = |s: Option<&str>| -> Result<String, StateParseError> {
                unescape(s.ok_or_else(|| bad(n, "missing field"))?)
                    .ok_or_else(|| bad(n, "bad escape"))
            };
            let plain = |p: String| -> Result<String, StateParseError> {
                if plain_path(&p) {
                    Ok(p)
                } else {
                    Err(bad(n, "a path that is not a plain relative path"))
                }
            };
            match f.next() {
                Some("put") => {
                    let temp = esc(f.next())?;
                    let replaces = decode_replaces(esc(f.next())?);
                    let entry = LedgerEntry::parse_fields(n, &mut f)?;
                    if !plain_path(&temp) || !is_session_temp(&temp, &entry.path, session) {
                        return Err(bad(n, "a temporary name that is not this session's"));
                    }
                    ops.push(JournalOp::Put {
                        temp,
                        replaces,
                        entry,
                    });
                }
                Some("del") => ops.push(JournalOp::Delete {
                    path: plain(esc(f.next())?)?,
                }),
                Some("tag") => ops.push(JournalOp::Retag {
                    path: plain(esc(f.next())?)?,
                    unique_id: esc(f.next())?,
                    size: number(n, f.next().ok_or_else(|| bad(n, "missing size"))?)?,
                }),
                _ => return Err(bad(n, "unknown step")),
            }
        }
        Ok(Journal {
            library_id: owner.library,
            index: owner.index,
            session,
            ops,
        })
    }
}

/// True for a plain relative `/`-separated path: not empty, no empty, `.` or `..` component.
pub(crate) fn plain_path(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
}

/// One file of a committed batch, as the sync stored it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committed {
    /// The temporary path it was written under.
    pub temp: String,
    /// The final path it is renamed to.
    pub path: String,
    /// Its stored size.
    pub size: u64,
    /// Its unique ID on the device (empty when the device gives none).
    pub unique_id: String,
    /// Its content fingerprint ([`fingerprint_of`](crate::sync::fingerprint_of)).
    pub fingerprint: [u8; 20],
    /// The SHA-1 of the source bytes the copy read, when the plan did not know it (the ledger
    /// entry recovery makes from the journal takes it). An optional last column.
    pub hash: Option<[u8; 20]>,
}

/// A batch's commit record (`.wmdm-sync/commit-<library>-<n>.txt`): written once every
/// temporary file of the batch is complete and closed, before the first rename. It is what
/// lets recovery adopt a file: only an object that matches its record (size, fingerprint,
/// unique ID) is the sync's own (invariant J4).
///
/// ```text
/// wmdm-sync-commit 1
/// session=<16 hex>
/// <temp path>\t<final path>\t<size>\t<unique id>\t<fingerprint, 40 hex>
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommitRecord {
    /// The session that wrote the batch.
    pub session: u64,
    /// The batch's files.
    pub files: Vec<Committed>,
}

const COMMIT_KIND: &str = "wmdm-sync-commit";

impl CommitRecord {
    /// The file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut s = format!("{COMMIT_KIND} 1\nsession={:016x}\n", self.session);
        use std::fmt::Write as _;
        s.reserve(self.files.len() * 200);
        for c in &self.files {
            // Writing into a string cannot fail.
            let _ = write!(
                s,
                "{}\t{}\t{}\t{}\t{}",
                Escaped(&c.temp),
                Escaped(&c.path),
                c.size,
                Escaped(&c.unique_id),
                hex(&c.fingerprint)
            );
            if let Some(h) = &c.hash {
                s.push('\t');
                s.push_str(&hex(h));
            }
            s.push('\n');
        }
        s.into_bytes()
    }

    /// Reads a commit record.
    ///
    /// # Errors
    /// A [`StateParseError`] for a wrong header or a malformed line.
    pub fn parse(bytes: &[u8]) -> Result<CommitRecord, StateParseError> {
        let mut lines = lines_after_header(bytes, COMMIT_KIND, 1)?.peekable();
        let session = match lines.next() {
            Some((n, line)) => match key_value(n, line)? {
                ("session", v) => hex_u64(n, &v)?,
                (k, _) => return Err(bad(n, format!("unexpected key {k:?}"))),
            },
            None => return Err(bad(0, "no session")),
        };
        let mut files = Vec::new();
        for (n, line) in lines {
            let mut f = fields(line);
            let mut next = |what: &str| f.next().ok_or_else(|| bad(n, format!("missing {what}")));
            let esc = |s: &str| unescape(s).ok_or_else(|| bad(n, "bad escape"));
            let temp = esc(next("temp")?)?;
            let path = esc(next("path")?)?;
            let size = number(n, next("size")?)?;
            let unique_id = esc(next("unique id")?)?;
            let fingerprint = hex20(n, next("fingerprint")?)?;
            let hash = f.next().map(|h| hex20(n, h)).transpose()?;
            if !plain_path(&path) || !is_session_temp(&temp, &path, session) {
                return Err(bad(n, "a name that is not this session's"));
            }
            files.push(Committed {
                temp,
                path,
                size,
                unique_id,
                fingerprint,
                hash,
            });
        }
        Ok(CommitRecord { session, files })
    }
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
