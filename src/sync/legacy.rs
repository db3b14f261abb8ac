//! The journal of versions before per-session temporary names (`.wmdm-sync/journal.txt`,
//! version 1), read conservatively so that an interrupted sync of such a version does not
//! leave its temporary files behind for ever (docs/sync.md, "State files").
//!
//! Those versions wrote each copy to `<final path>.wmdm-sync-part` and renamed it into place.
//! Their journal recorded every put (the temporary name and the ledger entry, with the planned
//! size) and every delete, but no session and no fingerprint, so a name alone cannot prove a
//! file is theirs (a user may name a file like that). Recovery deletes a temporary file only
//! when the library's own old journal records it and the file has exactly the recorded size,
//! and removes from the ledger a path the old journal deleted that is gone; nothing else it
//! names is touched.

use super::journal::{LedgerEntry, parse_owner, plain_path};
use super::text::{StateParseError, bad, fields, lines_after_header, unescape};

/// The old journal's file name in the sync folder.
pub(crate) const LEGACY_JOURNAL_FILE: &str = "journal.txt";

/// The suffix of the old versions' temporary names.
pub(crate) const LEGACY_TEMP_SUFFIX: &str = ".wmdm-sync-part";

/// What recovery uses of an old journal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LegacyJournal {
    /// The library whose sync wrote it.
    pub(crate) library_id: String,
    /// Each recorded temporary path with the size planned for it.
    pub(crate) temps: Vec<(String, u64)>,
    /// Each path it deleted (or meant to).
    pub(crate) deletes: Vec<String>,
}

impl LegacyJournal {
    /// Reads an old journal.
    ///
    /// # Errors
    /// A [`StateParseError`] for a wrong header or a malformed line, a path that is not plain
    /// and relative, or a put whose temporary name is not its final path followed by
    /// `.wmdm-sync-part` (nothing in such a journal is touched).
    pub(crate) fn parse(bytes: &[u8]) -> Result<LegacyJournal, StateParseError> {
        let mut lines = lines_after_header(bytes, "wmdm-sync-journal", 1)?.peekable();
        let owner = parse_owner(&mut lines)?;
        let mut out = LegacyJournal {
            library_id: owner.library,
            ..LegacyJournal::default()
        };
        for (n, line) in lines {
            let mut f = fields(line);
            let mut text = |what: &str| {
                f.next()
                    .and_then(unescape)
                    .ok_or_else(|| bad(n, format!("a missing or bad {what}")))
            };
            match text("step")?.as_str() {
                "put" => {
                    let temp = text("temporary name")?;
                    let _replaces = text("replaced unique id")?;
                    let entry = LedgerEntry::parse_fields(n, &mut f)?;
                    if !plain_path(&temp) || temp != format!("{}{LEGACY_TEMP_SUFFIX}", entry.path) {
                        return Err(bad(n, "a temporary name that is not the old versions'"));
                    }
                    out.temps.push((temp, entry.size));
                }
                "del" => {
                    let path = text("path")?;
                    if !plain_path(&path) {
                        return Err(bad(n, "a path that is not a plain relative path"));
                    }
                    out.deletes.push(path);
                }
                // A retag: recovery reads nothing from it (the planner's rules apply).
                "tag" => {}
                _ => return Err(bad(n, "unknown step")),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTRY: &str = "t\tMusic/a.mp3\tU1\t0000000000000001\t0101010101010101010101010101010101010101\t300\t0000000000000000\t300\t0\t0\t0";

    #[test]
    fn reads_an_old_journal_and_refuses_names_that_are_not_its_temporaries() {
        let ok = format!(
            "wmdm-sync-journal 1\nlibrary=lib\nindex=1\nput\tMusic/a.mp3.wmdm-sync-part\t\t{ENTRY}\ndel\tMusic/b.mp3\ntag\tMusic/c.mp3\tU3\t10\n"
        );
        let j = LegacyJournal::parse(ok.as_bytes()).unwrap();
        assert_eq!(j.library_id, "lib");
        assert_eq!(j.temps, [("Music/a.mp3.wmdm-sync-part".to_owned(), 300)]);
        assert_eq!(j.deletes, ["Music/b.mp3"]);
        for temp in [
            "Music/mine.mp3",
            "Music/b.mp3.wmdm-sync-part",
            "../a.mp3.wmdm-sync-part",
            "Music/a.mp3",
        ] {
            let bad =
                format!("wmdm-sync-journal 1\nlibrary=lib\nindex=1\nput\t{temp}\t\t{ENTRY}\n");
            assert!(LegacyJournal::parse(bad.as_bytes()).is_err(), "{temp}");
        }
        assert!(LegacyJournal::parse(b"wmdm-sync-journal 2\nlibrary=lib\nindex=1\n").is_err());
        assert!(
            LegacyJournal::parse(b"wmdm-sync-journal 1\nlibrary=lib\nindex=1\ndel\t/x\n").is_err()
        );
        assert!(LegacyJournal::parse(b"wmdm-sync-journal 1\nlibrary=lib\nindex=1\nzap\n").is_err());
    }
}
