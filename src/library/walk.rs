//! The folder library's file system side: listing the folder, reading playlist files, and
//! writing state files atomically.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::folder::{ScanProblem, ScanReport};
use super::playlist_file::PlaylistFile;
use crate::Result;
use crate::metadata::FormatCode;

/// Playlist files larger than this are not read (no real playlist comes close).
const MAX_PLAYLIST_BYTES: u64 = 16 * 1024 * 1024;

/// Writes `bytes` to `dir/name` through a temporary file renamed into place, so a crash leaves
/// the old file or the new one, never half of one.
pub(super) fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let tmp = dir.join(format!("{name}.tmp"));
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, dir.join(name))?;
    Ok(())
}

pub(super) fn read_playlist_file(
    path: &Path,
    format: FormatCode,
) -> std::result::Result<PlaylistFile, String> {
    let f = fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut bytes = Vec::new();
    f.take(MAX_PLAYLIST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > MAX_PLAYLIST_BYTES {
        return Err(format!("playlist larger than {MAX_PLAYLIST_BYTES} bytes"));
    }
    let parsed = if format == FormatCode::WPL_PLAYLIST {
        super::wpl::read_wpl(&bytes)
    } else {
        super::m3u::read_m3u(&bytes)
    };
    parsed.map_err(|e| e.to_string())
}

pub(super) struct Found {
    pub(super) rel: String,
    pub(super) abs: PathBuf,
    pub(super) size: u64,
    pub(super) modified: SystemTime,
    pub(super) format: FormatCode,
}

fn is_track_format(f: FormatCode) -> bool {
    f.is_audio() || f == FormatCode::MP4 || f == FormatCode::ASF
}

/// A relative path with `/` separators. Only Windows uses `\\` as a separator; elsewhere it is
/// an ordinary character of a file name and stays.
pub(super) fn slash_path(rel: &str) -> String {
    if cfg!(windows) {
        rel.replace('\\', "/")
    } else {
        rel.to_owned()
    }
}

/// A file whose name makes it a candidate, not yet stat'ed.
struct Candidate {
    entry: fs::DirEntry,
    path: PathBuf,
    symlink: bool,
    format: FormatCode,
}

/// Lists the folder tree without recursion (no stack overflow on absurdly deep trees), then
/// stats the candidate files. On a warm rescan the stat calls are nearly all of the work.
/// Spreading them over threads was measured and made no gain on the 2-core reference machine,
/// so this stays on one thread.
pub(super) fn walk(
    root: &Path,
    skip: &Path,
    audio: &mut Vec<Found>,
    lists: &mut Vec<Found>,
    report: &mut ScanReport,
) {
    let mut candidates = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                report.problems.push(ScanProblem {
                    path: dir,
                    message: format!("cannot list folder: {e}"),
                });
                continue;
            }
        };
        for entry in entries {
            let Ok(entry) = entry else { continue };
            let path = entry.path();
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                if path != skip {
                    pending.push(path);
                }
                continue;
            }
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                report.problems.push(ScanProblem {
                    path,
                    message: "the file name is not valid Unicode".into(),
                });
                continue;
            };
            let format = FormatCode::from_file_name(name);
            if is_track_format(format) || is_list_format(format) {
                candidates.push(Candidate {
                    entry,
                    path,
                    symlink: ft.is_symlink(),
                    format,
                });
            }
        }
    }
    let results = candidates.into_iter().map(|c| stat(root, c));
    for r in results {
        match r {
            Ok(Some(found)) if is_list_format(found.format) => lists.push(found),
            Ok(Some(found)) => audio.push(found),
            Ok(None) => {}
            Err(problem) => report.problems.push(problem),
        }
    }
}

fn is_list_format(f: FormatCode) -> bool {
    matches!(f, FormatCode::M3U_PLAYLIST | FormatCode::WPL_PLAYLIST)
}

/// A candidate's size and time; `None` when it is not a regular file (a link to a folder).
fn stat(root: &Path, c: Candidate) -> Result<Option<Found>, ScanProblem> {
    // DirEntry::metadata does not follow links; fs::metadata does, for linked files.
    let meta = if c.symlink {
        fs::metadata(&c.path)
    } else {
        c.entry.metadata()
    };
    let meta = match meta {
        Ok(m) if m.is_file() => m,
        Ok(_) => return Ok(None),
        Err(e) => {
            return Err(ScanProblem {
                path: c.path,
                message: format!("cannot stat: {e}"),
            });
        }
    };
    let Some(rel) = c
        .path
        .strip_prefix(root)
        .ok()
        .and_then(|r| r.to_str())
        .map(slash_path)
    else {
        return Err(ScanProblem {
            path: c.path,
            message: "the path is not valid Unicode".into(),
        });
    };
    Ok(Some(Found {
        rel,
        abs: c.path,
        size: meta.len(),
        modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        format: c.format,
    }))
}
