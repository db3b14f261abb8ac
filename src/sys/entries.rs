//! One folder's entries with their `lstat`, the same on every host, over
//! [`super::listing`] (on Linux `getdents` and `statx` relative to the folder's descriptor:
//! the system calls `find` makes, no path building per entry).

use std::cell::RefCell;
use std::io;
use std::path::Path;
use std::time::SystemTime;

use super::listing::{self, Folder, Lister};

/// What an entry is, as far as a listing cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A folder.
    Dir,
    /// A symbolic link (never followed).
    Symlink,
    /// Anything else: a file, a device node, or a type the listing did not report.
    Other,
}

/// An entry's `lstat`, as much as listings use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stat {
    /// What it is.
    pub(crate) kind: Kind,
    /// Its size in bytes.
    pub(crate) size: u64,
    /// When it was last modified; `None` where the host cannot say.
    pub(crate) modified: Option<SystemTime>,
    /// True when no one may write it (no write bit at all; the read-only attribute on Windows).
    pub(crate) readonly: bool,
}

/// Calls `f` for every entry of the folder `dir` but `.` and `..`: its name (`None` when it
/// is not valid Unicode), its kind as the listing reports it (a kind the file system does not
/// report is [`Kind::Other`]), and a function giving its `lstat` on demand.
///
/// # Errors
/// The I/O error of opening or reading the folder; entries before it have been passed to `f`.
pub(crate) fn for_each(
    dir: &Path,
    mut f: impl FnMut(Option<&str>, Kind, &dyn Fn() -> io::Result<Stat>),
) -> io::Result<()> {
    thread_local! {
        // One listing buffer per thread, reused folder after folder: a device's listing reads
        // hundreds of folders (843 for 10,000 demo tracks), each of which took a 32 KiB
        // buffer of its own before.
        static LISTER: RefCell<Lister> = RefCell::new(Lister::new());
    }
    let folder = Folder::open(dir)?;
    LISTER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut lister) => list(&mut lister, &folder, &mut f),
        // A listing started from inside `f` (none is) gets a buffer of its own.
        Err(_) => list(&mut Lister::new(), &folder, &mut f),
    })
}

fn list(
    lister: &mut Lister,
    folder: &Folder,
    f: &mut impl FnMut(Option<&str>, Kind, &dyn Fn() -> io::Result<Stat>),
) -> io::Result<()> {
    let kind = |k: listing::Kind| match k {
        listing::Kind::Folder => Kind::Dir,
        listing::Kind::Symlink => Kind::Symlink,
        _ => Kind::Other,
    };
    lister.for_each(folder, |entry| {
        let stat = || {
            entry.stat(folder, false).map(|st| Stat {
                kind: kind(st.kind),
                size: st.size,
                modified: st.modified,
                readonly: st.readonly,
            })
        };
        f(entry.name(), kind(entry.kind()), &stat);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_come_with_their_kind_and_lstat() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("song.mp3"), b"12345").unwrap();
        std::fs::create_dir(dir.path().join("Album")).unwrap();
        let mut seen = Vec::new();
        for_each(dir.path(), |name, _, stat| {
            let st = stat().unwrap();
            seen.push((
                name.unwrap().to_owned(),
                st.kind,
                st.size,
                st.modified.is_some(),
            ));
        })
        .unwrap();
        seen.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(seen[0].0, "Album");
        assert_eq!(seen[0].1, Kind::Dir);
        assert_eq!(
            (seen[1].0.as_str(), seen[1].1, seen[1].2, seen[1].3),
            ("song.mp3", Kind::Other, 5, true)
        );
        assert!(for_each(&dir.path().join("missing"), |_, _, _| {}).is_err());
    }
}
