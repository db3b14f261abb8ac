//! Intent records: on a device that refuses renames, a copy or playlist is written under its
//! final name, not beside it; the intent record says so before the first byte goes there
//! (docs/sync.md, "Devices that refuse renames").

use super::apply::op_path;
use super::device::intent_prefix;
use super::engine::{Run, SyncEngine};
use super::journal::plain_path;
use super::plan::SyncOp;
use super::text::{StateParseError, bad, escape, hex_u64, key_value, lines_after_header, number};
use crate::error::Result;

/// One final path an intent record announces, with the size the plan will write there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IntendedFile {
    /// The final path (a put of the journal).
    pub(crate) path: String,
    /// The planned size: an object the sync was writing there is at most this large.
    pub(crate) size: u64,
}

/// `.wmdm-sync/intent-<library>-<n>.txt`: the final paths the next writes of the session go
/// to directly, made durable before the first of them is touched (the old object deleted or
/// the new one created). Recovery uses it only for paths its journal also puts, and only
/// without a commit record for them: an object there that is not the owned one and is no
/// larger than the planned size is the sync's own partial write, and is deleted.
///
/// ```text
/// wmdm-sync-intent 1
/// session=<16 hex>
/// <final path>\t<planned size>
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct IntentRecord {
    /// The session that wrote it (the journal's).
    pub(crate) session: u64,
    /// The paths.
    pub(crate) files: Vec<IntendedFile>,
}

const INTENT_KIND: &str = "wmdm-sync-intent";

impl IntentRecord {
    /// The file's bytes.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut s = format!("{INTENT_KIND} 1\nsession={:016x}\n", self.session);
        for f in &self.files {
            s.push_str(&format!("{}\t{}\n", escape(&f.path), f.size));
        }
        s.into_bytes()
    }

    /// Reads an intent record.
    ///
    /// # Errors
    /// A [`StateParseError`] for a wrong header, a malformed line or a path that is not plain
    /// and relative.
    pub(crate) fn parse(bytes: &[u8]) -> Result<IntentRecord, StateParseError> {
        let mut lines = lines_after_header(bytes, INTENT_KIND, 1)?;
        let session = match lines.next() {
            Some((n, line)) => match key_value(n, line)? {
                ("session", v) => hex_u64(n, &v)?,
                (k, _) => return Err(bad(n, format!("unexpected key {k:?}"))),
            },
            None => return Err(bad(0, "no session")),
        };
        let mut files = Vec::new();
        for (n, line) in lines {
            let (path, size) = line
                .split_once('\t')
                .ok_or_else(|| bad(n, "missing size"))?;
            let path = super::text::unescape(path).ok_or_else(|| bad(n, "bad escape"))?;
            if !plain_path(&path) {
                return Err(bad(n, "a path that is not a plain relative path"));
            }
            files.push(IntendedFile {
                path,
                size: number(n, size)?,
            });
        }
        Ok(IntentRecord { session, files })
    }
}

impl SyncEngine {
    /// Where the device refuses renames: makes sure an intent record announces the write at
    /// the cursor before its final path is touched. A new record announces the writes from
    /// the cursor on, as many as a batch takes (the batch's commit record follows them), and
    /// is durable before this returns.
    pub(super) fn intend(&self, run: &mut Run) -> Result<()> {
        let covered = |run: &Run, op: Option<&SyncOp>| {
            op.and_then(op_path)
                .is_some_and(|p| run.intended.contains(p))
        };
        if covered(run, run.plan.ops.get(run.cursor)) {
            return Ok(());
        }
        let mut files = Vec::new();
        let mut bytes = 0;
        for op in run.plan.ops.get(run.cursor..).unwrap_or_default() {
            let Some(path) = op_path(op) else { break };
            if run.intended.contains(path) {
                continue;
            }
            files.push(IntendedFile {
                path: path.to_owned(),
                size: op.bytes(),
            });
            bytes += op.bytes();
            if files.len() >= run.batch_files || bytes >= run.batch_bytes_max {
                break;
            }
        }
        let record = IntentRecord {
            session: run.journal.session,
            files,
        };
        let name = format!(
            "{}{}.txt",
            intent_prefix(&run.journal.library_id),
            run.intents_written
        );
        run.intents_written += 1;
        run.write_state(&name, &record.encode())?;
        run.intended
            .extend(record.files.iter().map(|f| f.path.clone()));
        run.intents.push((name, record));
        run.barrier()
    }

    /// Takes `path` out of the intent record that announces it, because another program's
    /// object holds it: recovery must never take that object for the sync's partial write.
    /// The record is rewritten and made durable before this returns. (The path stays covered
    /// for this session: its write fails, nothing is written there.)
    pub(super) fn unannounce(&self, run: &mut Run, path: &str) -> Result<()> {
        let Some((name, record)) = run
            .intents
            .iter_mut()
            .find(|(_, r)| r.files.iter().any(|f| f.path == path))
        else {
            return Ok(());
        };
        record.files.retain(|f| f.path != path);
        let (name, bytes) = (name.clone(), record.encode());
        run.write_state(&name, &bytes)?;
        run.barrier()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_damage() {
        let r = IntentRecord {
            session: 0xabc,
            files: vec![
                IntendedFile {
                    path: "Music/A\tB/x.mp3".into(),
                    size: 3000,
                },
                IntendedFile {
                    path: "Playlists/Mix.m3u8".into(),
                    size: 12,
                },
            ],
        };
        assert_eq!(IntentRecord::parse(&r.encode()).unwrap(), r);
        for bad in [
            &b"wmdm-sync-intent 1\nsession=0000000000000abc\n../x\t3\n"[..],
            b"wmdm-sync-intent 1\nsession=0000000000000abc\nx\n",
            b"wmdm-sync-intent 1\nsession=0000000000000abc\nx\tnot a size\n",
            b"wmdm-sync-intent 1\n",
            b"wmdm-sync-commit 1\nsession=0000000000000abc\n",
            b"",
        ] {
            assert!(IntentRecord::parse(bad).is_err(), "{bad:?}");
        }
    }
}
