//! Which folders a path check (`Shared::safe_path`) found not to be symbolic links a moment
//! ago, so that resolving a path deep in the tree costs one `lstat`, not one per component.

use std::time::{Duration, Instant};

use super::shared::Snap;
use crate::maps::{FastMap, FastSet};

/// How long a folder found not to be a symbolic link is taken as still not being one.
///
/// Only a change behind the provider's back can turn a folder into a link (the provider never
/// makes links, and an ID whose object it deletes is never handed out again), and such a
/// change races with any check anyway; a short window keeps the guarantee against a link
/// planted before an operation while sparing each path resolution an `lstat` per component.
pub(crate) const VERIFIED_FOR: Duration = Duration::from_secs(1);

/// Folders recently found not to be symbolic links (see [`VERIFIED_FOR`]), and files the
/// provider has just written.
#[derive(Debug, Default)]
pub(crate) struct Verified {
    pub(crate) since: Option<Instant>,
    pub(crate) ids: FastSet<u64>,
    /// Files the provider created itself a moment ago (exclusively, so never through a link)
    /// and looked at through their own descriptor, with what the descriptor said: a path
    /// check takes them as it takes a checked folder, and their snapshot is that, without an
    /// `lstat` (see `Shared::bump_published`).
    pub(crate) files: FastMap<u64, Snap>,
}

impl Verified {
    /// Forgets everything once the window has passed.
    pub(crate) fn expire(&mut self, now: Instant) {
        match self.since {
            Some(t) if now.duration_since(t) < VERIFIED_FOR => {}
            _ => {
                self.ids.clear();
                self.files.clear();
                self.since = Some(now);
            }
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::fs;

    /// A folder swapped for a link behind the provider's back is refused once the window in
    /// which a checked folder is not checked again has passed.
    #[test]
    fn a_folder_turned_into_a_link_is_refused_after_the_window() {
        use crate::provider::{CreateRequest, Storage};
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let d = super::super::FsDevice::open(dir.path(), super::super::DeviceOptions::default())
            .unwrap();
        let m = d.root().create(&CreateRequest::folder("M")).unwrap();
        assert!(m.children().unwrap().is_empty());
        fs::remove_dir(dir.path().join("M")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("M")).unwrap();
        std::thread::sleep(VERIFIED_FOR + Duration::from_millis(100));
        assert_eq!(m.children().err(), Some(crate::Error::AccessDenied));
    }

    /// A file the provider wrote and vouched for is refused once swapped for a link and the
    /// window has passed; a folder written into is refused at once (its `lstat` before each
    /// write): nothing is written through the link.
    #[test]
    fn a_written_folder_or_file_turned_into_a_link_is_refused_after_the_window() {
        use crate::provider::{
            CreateRequest, DirectTransfer, NoProgress, TransferOptions, TransferSource,
        };
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let d = super::super::FsDevice::open(dir.path(), super::super::DeviceOptions::default())
            .unwrap();
        let m = d.root().create_impl(&CreateRequest::folder("M")).unwrap();
        let write = |name: &str| {
            let mut data = std::io::Cursor::new(vec![7u8; 10]);
            m.transfer_to_device(
                TransferSource::Reader {
                    reader: &mut data,
                    size: 10,
                },
                &TransferOptions {
                    destination_name: name.into(),
                    temporary: true,
                    ..TransferOptions::default()
                },
                &mut NoProgress,
            )
        };
        let f = write(".wmdm-sync-0123456789abcdef-00000001.part").unwrap();
        let file = dir
            .path()
            .join("M/.wmdm-sync-0123456789abcdef-00000001.part");
        fs::remove_file(&file).unwrap();
        fs::write(outside.path().join("target"), b"outside").unwrap();
        std::os::unix::fs::symlink(outside.path().join("target"), &file).unwrap();
        std::thread::sleep(VERIFIED_FOR + Duration::from_millis(100));
        // The file's path is refused: not found (the link is not the object), or denied.
        let refused = d
            .object(&f.unique_id().unwrap())
            .and_then(|o| o.path())
            .unwrap_err();
        assert!(
            refused == crate::Error::FileNotFound || refused == crate::Error::AccessDenied,
            "{refused:?}"
        );
        // The folder written into is looked at before each write, window or not.
        let vouched = write(".wmdm-sync-0123456789abcdef-00000002.part").unwrap();
        fs::rename(dir.path().join("M"), dir.path().join("M.old")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("M")).unwrap();
        let refused = write(".wmdm-sync-0123456789abcdef-00000003.part").unwrap_err();
        assert!(
            refused == crate::Error::InterfaceDead || refused == crate::Error::AccessDenied,
            "{refused:?}"
        );
        // A file written a moment ago is renamed without an `lstat` of its own: through the
        // link, the rename finds nothing to rename, and refuses.
        assert!(vouched.rename("x.mp3", &mut NoProgress).is_err());
        let mut names: Vec<_> = fs::read_dir(outside.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["target"]);
        assert_eq!(fs::read(outside.path().join("target")).unwrap(), b"outside");
    }
}
