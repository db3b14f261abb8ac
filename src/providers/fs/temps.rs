//! Names of the temporary files a write makes beside its target, and which ones a clean-up
//! may delete.
//!
//! A user's file is never deleted because of its name. A temporary file in a content folder is
//! named `.wmdm-tmp-<session>-<n>.part`, where `<session>` is 16 hexadecimal digits drawn at
//! random when the device is opened and `<n>` counts the session's files (8 digits). Before the
//! first such file of a session is created, the session is recorded in `.wmdm/sessions` (the
//! line `wmdm-sessions 1`, then one session per line, newest last, at most
//! [`KEPT_SESSIONS`]). A clean-up deletes a temporary file only when its name has exactly this
//! form *and* names a recorded session (or the current one), and no write of this session is
//! still using it. Anything else, such as a user's `.wmdm-tmp-mine.part` or a file copied from
//! another device, is left alone. Temporary files of sessions older than the last
//! [`KEPT_SESSIONS`] recorded ones are left too (hidden, never listed).
//!
//! The state folder `.wmdm/` belongs to the provider entirely; its own temporary files (those
//! of state writes) are cleaned by age at open instead (see the `shared` module).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::Result;
use crate::maps::FastSet;

use super::identity::random_u64;
use super::names::{STATE_DIR, TEMP_PREFIX, TEMP_SUFFIX};
use super::quirks::FsIo;

/// How many writing sessions `.wmdm/sessions` remembers.
pub(crate) const KEPT_SESSIONS: usize = 64;

const HEADER: &str = "wmdm-sessions 1";
const FILE: &str = "sessions";

/// One session's temporary names and the sessions recorded on the device.
#[derive(Debug)]
pub(crate) struct TempNames {
    session: u64,
    seq: AtomicU32,
    /// The sessions recorded on the device, oldest first; `None` until read at open.
    recorded: Mutex<Vec<u64>>,
    /// The current session has been recorded.
    registered: Mutex<bool>,
}

impl TempNames {
    /// A new session for the device at `root`, reading the sessions recorded there (none
    /// for a read-only device, which never cleans anything up).
    pub(crate) fn open(root: &Path, read_recorded: bool) -> TempNames {
        let recorded = if read_recorded {
            fs::read(state_file(root))
                .map(|b| parse(&String::from_utf8_lossy(&b)))
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        TempNames {
            session: random_u64(),
            seq: AtomicU32::new(0),
            recorded: Mutex::new(recorded),
            registered: Mutex::new(false),
        }
    }

    /// A fresh temporary name for a file in a content folder; records the session on the
    /// device first if this is its first one.
    ///
    /// # Errors
    /// I/O errors writing `.wmdm/sessions`.
    pub(crate) fn next(&self, root: &Path, io: &FsIo) -> Result<String> {
        {
            let mut registered = self.registered.lock().unwrap_or_else(|p| p.into_inner());
            if !*registered {
                let mut recorded = self.recorded.lock().unwrap_or_else(|p| p.into_inner());
                let mut list: Vec<u64> = recorded
                    .iter()
                    .copied()
                    .filter(|&s| s != self.session)
                    .collect();
                list.push(self.session);
                let drop_n = list.len().saturating_sub(KEPT_SESSIONS);
                list.drain(..drop_n);
                let mut text = format!("{HEADER}\n");
                for s in &list {
                    text.push_str(&format!("{s:016x}\n"));
                }
                io.write_state(&state_file(root), text.as_bytes())?;
                *recorded = list;
                *registered = true;
            }
        }
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        Ok(format!(
            "{TEMP_PREFIX}{:016x}-{n:08x}{TEMP_SUFFIX}",
            self.session
        ))
    }

    /// True when the file `name` is a temporary file of a recorded session (or of this one)
    /// that a clean-up may delete.
    pub(crate) fn is_own(&self, name: &str) -> bool {
        let Some(session) = session_of(name) else {
            return false;
        };
        session == self.session
            || self
                .recorded
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains(&session)
    }

    /// Of `candidates` (temporary files found in a folder), the ones a clean-up may delete:
    /// the session's own that `active` does not hold.
    pub(crate) fn stale<'a>(
        &self,
        candidates: impl IntoIterator<Item = &'a PathBuf>,
        active: &FastSet<PathBuf>,
    ) -> Vec<PathBuf> {
        candidates
            .into_iter()
            .filter(|p| !active.contains(*p))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| self.is_own(n))
            })
            .cloned()
            .collect()
    }
}

fn state_file(root: &Path) -> PathBuf {
    root.join(STATE_DIR).join(FILE)
}

/// The sessions listed in the file's text; lines that are not 16 hexadecimal digits are
/// skipped, and a text without the header lists none.
fn parse(text: &str) -> Vec<u64> {
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Vec::new();
    }
    lines
        .filter(|l| l.len() == 16)
        .filter_map(|l| u64::from_str_radix(l, 16).ok())
        .collect()
}

/// The session of a temporary name of the strict form `.wmdm-tmp-<16 hex>-<8 hex>.part`.
fn session_of(name: &str) -> Option<u64> {
    let core = name.strip_prefix(TEMP_PREFIX)?.strip_suffix(TEMP_SUFFIX)?;
    let (session, n) = core.split_once('-')?;
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex(session, 16) || !hex(n, 8) {
        return None;
    }
    u64::from_str_radix(session, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_strict_form_names_a_session() {
        assert_eq!(
            session_of(".wmdm-tmp-00000000000000ab-00000001.part"),
            Some(0xab)
        );
        for n in [
            ".wmdm-tmp-mine.part",
            ".wmdm-tmp-00000000000000ab.part",
            ".wmdm-tmp-00000000000000ab-1.part",
            ".wmdm-tmp-00000000000000ab-00000001.part.mp3",
            ".wmdm-tmp-0000000000000g0b-00000001.part",
            ".wmdm-tmp--00000001.part",
        ] {
            assert_eq!(session_of(n), None, "{n}");
        }
        assert_eq!(
            parse("wmdm-sessions 1\n00000000000000ab\njunk\n1\n"),
            vec![0xab]
        );
        assert!(parse("00000000000000ab\n").is_empty());
    }

    #[test]
    fn the_record_keeps_the_newest_sessions() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join(STATE_DIR)).unwrap();
        let io = FsIo::new(
            dir.path(),
            crate::providers::fs::Durability::Off,
            Default::default(),
        );
        let mut first = None;
        for i in 0..=KEPT_SESSIONS {
            let t = TempNames::open(dir.path(), true);
            let name = t.next(dir.path(), &io).unwrap();
            assert!(t.is_own(&name));
            if i == 0 {
                first = Some(name);
            }
        }
        let last = TempNames::open(dir.path(), true);
        assert_eq!(last.recorded.lock().unwrap().len(), KEPT_SESSIONS);
        assert!(
            !last.is_own(&first.unwrap()),
            "the oldest session was dropped"
        );
    }
}
