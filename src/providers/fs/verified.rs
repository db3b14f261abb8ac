//! Which folders a path check (`Shared::safe_path`) found not to be symbolic links a moment
//! ago, so that resolving a path deep in the tree costs one `lstat`, not one per component.

use std::collections::HashSet;
use std::time::{Duration, Instant};

/// How long a folder found not to be a symbolic link is taken as still not being one.
///
/// Only a change behind the provider's back can turn a folder into a link (the provider never
/// makes links, and an ID whose object it deletes is never handed out again), and such a
/// change races with any check anyway; a short window keeps the guarantee against a link
/// planted before an operation while sparing each path resolution an `lstat` per component.
pub(crate) const VERIFIED_FOR: Duration = Duration::from_secs(1);

/// Folders recently found not to be symbolic links (see [`VERIFIED_FOR`]).
#[derive(Debug, Default)]
pub(crate) struct Verified {
    pub(crate) since: Option<Instant>,
    pub(crate) ids: HashSet<u64>,
}

impl Verified {
    /// Forgets everything once the window has passed.
    pub(crate) fn expire(&mut self, now: Instant) {
        match self.since {
            Some(t) if now.duration_since(t) < VERIFIED_FOR => {}
            _ => {
                self.ids.clear();
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
}
