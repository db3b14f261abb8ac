//! The folder library's file system side: listing the folder, reading playlist files, and
//! writing state files atomically.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::folder::{ScanProblem, ScanReport};
use super::track::Track;
use crate::maps::FastMap;
use crate::metadata::FormatCode;
use crate::playlist_file::{PlaylistFile, read_m3u, read_wpl};
use crate::sys::listing::{Entry, Folder, Kind, Lister};
use crate::work_queue::{WorkQueue, on_workers, walk_threads};

/// Playlist files larger than this are not read (no real playlist comes close).
const MAX_PLAYLIST_BYTES: u64 = 16 * 1024 * 1024;

pub(super) fn read_playlist_file(
    path: &Path,
    format: FormatCode,
) -> std::result::Result<PlaylistFile, String> {
    let f = crate::sys::files::open_unchanged(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut bytes = Vec::new();
    f.take(MAX_PLAYLIST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > MAX_PLAYLIST_BYTES {
        return Err(format!("playlist larger than {MAX_PLAYLIST_BYTES} bytes"));
    }
    let parsed = if format == FormatCode::WPL_PLAYLIST {
        read_wpl(&bytes)
    } else {
        read_m3u(&bytes)
    };
    parsed.map_err(|e| e.to_string())
}

/// A file the walk found: a new or changed track, or a playlist file.
pub(super) struct Found {
    pub(super) rel: String,
    pub(super) abs: PathBuf,
    pub(super) size: u64,
    pub(super) modified: SystemTime,
    pub(super) format: FormatCode,
    /// The index of the file's track in the previous scan's list, when it had one.
    pub(super) prior: Option<usize>,
}

/// What a walk of the music folder found.
#[derive(Default)]
pub(super) struct Walked {
    /// Indices into the previous tracks whose file has the same size and time: these tracks
    /// are kept as they are. Each index appears once; the order is arbitrary.
    pub(super) unchanged: Vec<usize>,
    /// Audio files that are new or whose size or time changed, sorted by relative path.
    pub(super) changed: Vec<Found>,
    /// Playlist files, sorted by relative path.
    pub(super) lists: Vec<Found>,
    problems: Vec<ScanProblem>,
}

fn is_track_format(f: FormatCode) -> bool {
    f.is_audio() || f == FormatCode::MP4 || f == FormatCode::ASF
}

fn is_list_format(f: FormatCode) -> bool {
    matches!(f, FormatCode::M3U_PLAYLIST | FormatCode::WPL_PLAYLIST)
}

/// A relative path with `/` separators. Only where the host's separator is `\\` (Windows) is it
/// replaced; elsewhere it is an ordinary character of a file name and stays.
pub(super) fn slash_path(rel: &str) -> String {
    if std::path::MAIN_SEPARATOR == '\\' {
        rel.replace('\\', "/")
    } else {
        rel.to_owned()
    }
}

/// A file's size and time, or `None` when it is not a regular file (a link to a folder).
type Stat = Option<(u64, SystemTime)>;

/// What every walker shares: the previous scan's tracks by relative path.
struct Walk<'a> {
    root: &'a Path,
    /// The state folder's relative path, when it is inside the music folder.
    skip: Option<String>,
    old: &'a [Track],
    known: FastMap<&'a str, usize>,
}

impl Walk<'_> {
    /// Looks at the file `rel`; `stat` is called only for a file that may be a track or a
    /// playlist. On a warm rescan this is the whole per-file cost besides the stat call: one
    /// hash lookup and two comparisons, no allocation.
    fn file(&self, rel: &str, stat: impl FnOnce() -> std::io::Result<Stat>, out: &mut Walked) {
        let prior = self.known.get(rel).copied();
        let format = match prior.and_then(|i| self.old.get(i)) {
            Some(t) => t.format,
            None => {
                let f = FormatCode::from_file_name(rel);
                if !is_track_format(f) && !is_list_format(f) {
                    return;
                }
                f
            }
        };
        let (size, modified) = match stat() {
            Ok(Some(s)) => s,
            Ok(None) => return,
            Err(e) => {
                out.problems.push(ScanProblem {
                    path: self.root.join(rel),
                    message: format!("cannot stat: {e}"),
                });
                return;
            }
        };
        if let Some(i) = prior
            && self
                .old
                .get(i)
                .is_some_and(|t| t.size == size && t.modified == modified)
        {
            out.unchanged.push(i);
            return;
        }
        let found = Found {
            rel: rel.to_owned(),
            abs: self.root.join(rel),
            size,
            modified,
            format,
            prior,
        };
        if is_list_format(format) {
            out.lists.push(found);
        } else {
            out.changed.push(found);
        }
    }

    fn bad_name(&self, rel_dir: &str, name: &std::ffi::OsStr, out: &mut Walked) {
        out.problems.push(ScanProblem {
            path: self.root.join(rel_dir).join(name),
            message: "the file name is not valid Unicode".into(),
        });
    }

    fn bad_folder(&self, rel_dir: &str, e: &std::io::Error, out: &mut Walked) {
        out.problems.push(ScanProblem {
            path: self.root.join(rel_dir),
            message: format!("cannot list folder: {e}"),
        });
    }
}

/// Walks the music folder. `old` is the previous scan's tracks; the result says which of them
/// are unchanged and lists the audio files that are new or changed, plus the playlist files.
/// Folders that cannot be listed and names that are not Unicode are added to `report`.
/// Symbolic links to files are followed, links to folders are not (no loops).
pub(super) fn walk(root: &Path, skip: &Path, old: &[Track], report: &mut ScanReport) -> Walked {
    let mut known = FastMap::with_capacity_and_hasher(old.len(), Default::default());
    known.extend(
        old.iter()
            .enumerate()
            .map(|(i, t)| (t.relative_path.as_str(), i)),
    );
    let ctx = Walk {
        root,
        skip: skip
            .strip_prefix(root)
            .ok()
            .and_then(|r| r.to_str())
            .map(slash_path),
        old,
        known,
    };
    let mut out = walk_tree(&ctx);
    out.changed.sort_unstable_by(|a, b| a.rel.cmp(&b.rel));
    out.lists.sort_unstable_by(|a, b| a.rel.cmp(&b.rel));
    // Workers finish in any order; the report should not.
    out.problems.sort_by(|a, b| a.path.cmp(&b.path));
    report.problems.append(&mut out.problems);
    out
}

/// Folders are listed through [`crate::sys::listing`] (on Linux `getdents64`, and files
/// stat'ed relative to their folder's descriptor), on up to two threads taking folders from a
/// shared queue.
fn walk_tree(ctx: &Walk<'_>) -> Walked {
    let root = match Folder::open(ctx.root) {
        Ok(f) => f,
        Err(e) => {
            let mut out = Walked::default();
            ctx.bad_folder("", &e, &mut out);
            return out;
        }
    };
    let queue = WorkQueue::new(vec![String::new()]);
    let mut parts = on_workers(walk_threads(), || walk_worker(ctx, &root, &queue)).into_iter();
    let mut out = parts.next().flatten().unwrap_or_default();
    for part in parts {
        match part {
            Some(mut other) => {
                out.unchanged.append(&mut other.unchanged);
                out.changed.append(&mut other.changed);
                out.lists.append(&mut other.lists);
                out.problems.append(&mut other.problems);
            }
            // A walker cannot panic short of a bug; its part of the tree is then reported
            // missing rather than taking the scan down.
            None => out.problems.push(ScanProblem {
                path: ctx.root.to_path_buf(),
                message: "a folder walker failed; part of the folder was not scanned".into(),
            }),
        }
    }
    out
}

fn walk_worker(ctx: &Walk<'_>, root: &Folder, queue: &WorkQueue<String>) -> Walked {
    let mut out = Walked::default();
    let mut lister = Lister::new();
    let mut rel = String::new();
    let mut worker = queue.worker();
    while let Some(dir) = worker.next() {
        let mut subdirs = Vec::new();
        let listed = root.open_sub(&dir).and_then(|folder| {
            rel.clear();
            rel.push_str(&dir);
            if !dir.is_empty() {
                rel.push('/');
            }
            let base = rel.len();
            let stat = |entry: &Entry<'_>, follow: bool| {
                entry.stat(&folder, follow).map(|st| {
                    (st.kind == Kind::File)
                        .then(|| (st.size, st.modified.unwrap_or(SystemTime::UNIX_EPOCH)))
                })
            };
            lister.for_each(&folder, |entry| {
                let Some(name) = entry.name() else {
                    ctx.bad_name(&dir, entry.raw_name(), &mut out);
                    return;
                };
                rel.truncate(base);
                // Names cannot hold `/` (nor `\\` on Windows), so this is the slash form.
                rel.push_str(name);
                let mut kind = entry.kind();
                if kind == Kind::Unknown {
                    // Some file systems do not report types in folder listings.
                    match entry.stat(&folder, false) {
                        Ok(st) => kind = st.kind,
                        Err(e) => {
                            out.problems.push(ScanProblem {
                                path: ctx.root.join(&rel),
                                message: format!("cannot stat: {e}"),
                            });
                            return;
                        }
                    }
                }
                match kind {
                    Kind::Folder if ctx.skip.as_deref() != Some(rel.as_str()) => {
                        subdirs.push(rel.clone());
                    }
                    Kind::File => ctx.file(&rel, || stat(entry, false), &mut out),
                    // Links to files are followed, links to folders are not (no loops).
                    Kind::Symlink => ctx.file(&rel, || stat(entry, true), &mut out),
                    _ => {}
                }
            })
        });
        if let Err(e) = listed {
            ctx.bad_folder(&dir, &e, &mut out);
        }
        worker.found(subdirs);
    }
    out
}
