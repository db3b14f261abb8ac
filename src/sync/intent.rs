//! Intent records: on a device that refuses renames, a copy or playlist is written under its
//! final name, not beside it; the intent record says so before the first byte goes there
//! (docs/sync.md, "Devices that refuse renames").

use super::journal::plain_path;
use super::text::{StateParseError, bad, escape, hex_u64, key_value, lines_after_header, number};

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
