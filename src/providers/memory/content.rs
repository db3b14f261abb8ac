//! The test-facing content surface of [`MemoryDevice`]: seed files and folders by path, and
//! look at what is on the device without going through the provider traits.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::flags::Attributes;
use crate::metadata::FormatCode;
use crate::provider::StorageRef;
use crate::time::WmdmDateTime;

use super::device::MemoryDevice;
use super::node::NodeId;
use super::tree::Tree;

/// What [`MemoryDevice::snapshot`] reports about one object.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Entry {
    /// True for a folder.
    pub is_folder: bool,
    /// The data size in bytes (0 for folders).
    pub size: u64,
    /// The attributes `Storage::attributes` reports.
    pub attributes: Attributes,
    /// The persistent unique ID.
    pub unique_id: String,
    /// The last-modified date.
    pub modified: WmdmDateTime,
    /// The `WMDM/FormatCode`, stored or derived from the extension.
    pub format: FormatCode,
}

impl MemoryDevice {
    /// Writes a whole file on the first medium, creating missing folders, replacing the
    /// content of an existing file. Use it to put "the user's own files" on a device.
    ///
    /// # Errors
    /// [`Error::InvalidName`] for a bad path component; [`Error::InvalidType`] when a
    /// component is a file or the path is a folder; [`Error::Busy`] when the file is open;
    /// [`Error::DiskFull`] when it does not fit (nothing changes then).
    pub fn put_file(&self, path: &str, data: impl Into<Vec<u8>>) -> Result<StorageRef> {
        self.put_file_on(0, path, data)
    }

    /// [`put_file`](MemoryDevice::put_file) on medium `storage`.
    ///
    /// # Errors
    /// As `put_file`, and [`Error::InvalidArg`] for a bad index.
    pub fn put_file_on(
        &self,
        storage: usize,
        path: &str,
        data: impl Into<Vec<u8>>,
    ) -> Result<StorageRef> {
        let now = self.shared.now();
        let mut st = self.shared.lock();
        let tree = st.trees.get_mut(storage).ok_or(Error::InvalidArg)?;
        let node = tree.put_file(path, data.into(), now)?;
        Ok(self.handle_at(storage, node))
    }

    /// Creates a folder (and missing parents) on the first medium.
    ///
    /// # Errors
    /// [`Error::InvalidName`]; [`Error::InvalidType`] when a component is a file.
    pub fn put_folder(&self, path: &str) -> Result<StorageRef> {
        let now = self.shared.now();
        let mut st = self.shared.lock();
        let tree = st.tree_mut(0)?;
        let node = tree.put_folder(path, now)?;
        Ok(self.handle_at(0, node))
    }

    /// The committed content of a file on the first medium.
    ///
    /// # Errors
    /// [`Error::PathNotFound`]; [`Error::InvalidType`] for a folder.
    pub fn read_file(&self, path: &str) -> Result<Vec<u8>> {
        let st = self.shared.lock();
        let tree = st.tree(0)?;
        let node = tree.node(tree.resolve(path).ok_or(Error::PathNotFound)?)?;
        if node.is_folder() {
            return Err(Error::InvalidType);
        }
        Ok(node.data.clone())
    }

    /// Every file on the first medium with its committed content, by path.
    pub fn files(&self) -> BTreeMap<String, Vec<u8>> {
        self.files_on(0)
    }

    /// Every file on medium `storage` (empty for a bad index).
    pub fn files_on(&self, storage: usize) -> BTreeMap<String, Vec<u8>> {
        self.walk(storage, |tree, id| {
            let n = tree.node(id).ok()?;
            (!n.is_folder()).then(|| n.data.clone())
        })
    }

    /// Every folder on the first medium, by path (the root is not listed).
    pub fn folders(&self) -> BTreeSet<String> {
        self.folders_on(0)
    }

    /// Every folder on medium `storage`.
    pub fn folders_on(&self, storage: usize) -> BTreeSet<String> {
        self.walk(storage, |tree, id| {
            tree.node(id).ok().filter(|n| n.is_folder()).map(drop)
        })
        .into_keys()
        .collect()
    }

    /// Every object on the first medium, by path.
    pub fn snapshot(&self) -> BTreeMap<String, Entry> {
        self.walk(0, |tree, id| {
            let n = tree.node(id).ok()?;
            Some(Entry {
                is_folder: n.is_folder(),
                size: n.data.len() as u64,
                attributes: n.attributes(),
                unique_id: n.uid.clone(),
                modified: n.modified,
                format: n.format(),
            })
        })
    }

    /// The names in a folder of the first medium, in listing order (which follows the
    /// placement of creates and moves).
    ///
    /// # Errors
    /// [`Error::PathNotFound`]; [`Error::InvalidType`] for a file.
    pub fn list(&self, path: &str) -> Result<Vec<String>> {
        let st = self.shared.lock();
        let tree = st.tree(0)?;
        let node = tree.node(tree.resolve(path).ok_or(Error::PathNotFound)?)?;
        if !node.is_folder() {
            return Err(Error::InvalidType);
        }
        Ok(node
            .children
            .iter()
            .filter_map(|c| tree.get(*c).map(|n| n.name.clone()))
            .collect())
    }

    /// Bytes used by committed files on medium `storage` (0 for a bad index).
    pub fn used_bytes(&self, storage: usize) -> u64 {
        self.shared.lock().trees.get(storage).map_or(0, Tree::used)
    }

    /// Simulates playback of an audio file up to `position_ms`: sets the last play position
    /// and raises the longest one (IMDSPObjectInfo).
    ///
    /// # Errors
    /// [`Error::PathNotFound`]; [`Error::InvalidType`] for a folder.
    pub fn record_play(&self, path: &str, position_ms: u32) -> Result<()> {
        let mut st = self.shared.lock();
        let tree = st.tree_mut(0)?;
        let id = tree.resolve(path).ok_or(Error::PathNotFound)?;
        let node = tree.node_mut(id)?;
        if node.is_folder() {
            return Err(Error::InvalidType);
        }
        node.play.last = position_ms;
        node.play.longest = node.play.longest.max(position_ms);
        Ok(())
    }

    /// Visits every object below the root of `storage`, keeping those `f` maps to a value.
    fn walk<T>(
        &self,
        storage: usize,
        f: impl Fn(&Tree, NodeId) -> Option<T>,
    ) -> BTreeMap<String, T> {
        let st = self.shared.lock();
        let mut out = BTreeMap::new();
        if let Some(tree) = st.trees.get(storage) {
            for id in tree.subtree(tree.root()) {
                if id != tree.root()
                    && let Some(v) = f(tree, id)
                {
                    out.insert(tree.path_of(id), v);
                }
            }
        }
        out
    }
}
