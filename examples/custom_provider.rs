//! A minimal provider that sync can use: one device, a tree of folders and files in memory,
//! the mandatory methods plus `rename` (the rest keep WMDM's defaults, `canonical_name`
//! included), reached through the authenticated `DeviceManager`, then synced to with the paved
//! path. `cargo run --example custom_provider`; docs/providers.md has the table of what sync
//! needs. Trivial methods stay one per line (`rustfmt::skip`) so the provider reads on one screen.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use wmdm::flags::{Attributes, DeviceStatus, DeviceType, OpenMode, StorageCapabilities};
use wmdm::provider::*;
use wmdm::time::WmdmDateTime;
use wmdm::{Error, Result};

/// Paths (`a/b/c.mp3`) of the files, with their bytes, and of the folders; each object's path
/// by its unique ID, which a rename keeps (sync tells its own files by it). The root is ID 0.
#[derive(Debug, Default)]
#[rustfmt::skip]
pub struct Tree { pub files: BTreeMap<String, Vec<u8>>, pub folders: BTreeSet<String>, paths: BTreeMap<u64, String>, next: u64 }

/// The provider, its one device, and that device's tree. `me` lets `&self` hand out `Arc`s.
#[derive(Debug)]
#[rustfmt::skip]
pub struct RamDisk { me: Weak<RamDisk>, tree: Mutex<Tree> }

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.into()
    } else {
        format!("{dir}/{name}")
    }
}
fn within(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

#[rustfmt::skip]
impl RamDisk {
    pub fn new() -> Arc<RamDisk> { Arc::new_cyclic(|me| RamDisk { me: me.clone(), tree: Mutex::default() }) }
    pub fn tree(&self) -> Result<MutexGuard<'_, Tree>> { self.tree.lock().map_err(|_| Error::Fail) }
    fn arc(&self) -> Result<Arc<RamDisk>> { self.me.upgrade().ok_or(Error::DeviceNotConnected) }
    fn node(&self, id: u64) -> Result<StorageRef> { Ok(Arc::new(Node { disk: self.arc()?, id })) }
}

#[rustfmt::skip]
impl ServiceProvider for RamDisk {
    fn device_count(&self) -> Result<u32> { Ok(1) }
    fn devices(&self) -> Result<Vec<DeviceRef>> { Ok(vec![self.arc()? as DeviceRef]) }
}

#[rustfmt::skip]
impl Device for RamDisk {
    fn name(&self) -> Result<String> { Ok("RAM disk".into()) }
    fn manufacturer(&self) -> Result<String> { Ok("example".into()) }
    fn device_type(&self) -> Result<DeviceType> { Ok(DeviceType::STORAGE) }
    fn status(&self) -> Result<DeviceStatus> { Ok(DeviceStatus::READY) }
    fn icon(&self) -> Result<Icon> { Ok(Icon::generic([0, 120, 215])) }
    fn storages(&self) -> Result<Vec<StorageRef>> { Ok(vec![self.node(0)?]) }
    fn format_support(&self) -> Result<FormatSupport> { Ok(FormatSupport::default()) }
}

#[rustfmt::skip]
impl StorageGlobals for RamDisk {
    fn capabilities(&self) -> Result<StorageCapabilities> { Ok(StorageCapabilities::FILESINROOT | StorageCapabilities::FOLDERSINROOT) }
    fn total_size(&self) -> Result<u64> { Ok(64 << 20) }
    fn total_free(&self) -> Result<u64> { Ok((64u64 << 20).saturating_sub(self.tree()?.files.values().map(|f| f.len() as u64).sum())) }
    fn total_bad(&self) -> Result<u64> { Ok(0) }
    fn status(&self) -> Result<DeviceStatus> { Ok(DeviceStatus::READY) }
    fn device(&self) -> Result<DeviceRef> { Ok(self.arc()? as DeviceRef) }
    fn root_storage(&self) -> Result<StorageRef> { self.node(0) }
}

/// The root folder (ID 0), a folder or a file.
#[derive(Debug)]
#[rustfmt::skip]
struct Node { disk: Arc<RamDisk>, id: u64 }

#[rustfmt::skip]
impl Node {
    fn path(&self) -> Result<String> { if self.id == 0 { return Ok(String::new()) } self.disk.tree()?.paths.get(&self.id).cloned().ok_or(Error::InterfaceDead) }
    fn is_file(&self) -> Result<bool> { let path = self.path()?; Ok(self.disk.tree()?.files.contains_key(&path)) }
}

#[rustfmt::skip]
impl Storage for Node {
    fn unique_id(&self) -> Result<String> { Ok(self.id.to_string()) }
    fn globals(&self) -> Result<GlobalsRef> { Ok(self.disk.clone() as GlobalsRef) }
    fn attributes(&self) -> Result<ObjectAttributes> { Ok(ObjectAttributes::new(if self.is_file()? { Attributes::FILE } else { Attributes::FOLDER })) }
    fn name(&self) -> Result<String> { Ok(self.path()?.rsplit('/').next().unwrap_or_default().into()) }
    fn date(&self) -> Result<WmdmDateTime> { Ok(WmdmDateTime::from_unix(0)) }
    fn size(&self) -> Result<u64> { let path = self.path()?; Ok(self.disk.tree()?.files.get(&path).map_or(0, |f| f.len() as u64)) }
    fn create(&self, request: &CreateRequest) -> Result<StorageRef> {
        if self.is_file()? { return Err(Error::InvalidType) }
        if request.name.is_empty() || request.name.contains(['/', '\\']) { return Err(Error::InvalidName) }
        let path = join(&self.path()?, &request.name);
        let mut tree = self.disk.tree()?;
        let taken = tree.files.contains_key(&path) || tree.folders.contains(&path);
        if taken && !request.is_overwrite() { return Err(Error::AlreadyExists) }
        if request.is_folder() { tree.folders.insert(path.clone()); } else { tree.files.insert(path.clone(), Vec::new()); }
        tree.paths.retain(|_, p| *p != path);
        tree.next += 1;
        let id = tree.next;
        tree.paths.insert(id, path);
        drop(tree);
        self.disk.node(id)
    }
    fn children(&self) -> Result<Vec<StorageRef>> {
        if self.is_file()? { return Err(Error::InvalidType) }
        let dir = self.path()?;
        let ids: Vec<u64> = self.disk.tree()?.paths.iter()
            .filter(|(_, p)| if dir.is_empty() { !p.contains('/') } else { within(p, &dir) && !p[dir.len() + 1..].contains('/') })
            .map(|(id, _)| *id).collect();
        ids.into_iter().map(|id| self.disk.node(id)).collect()
    }
    fn open(&self, mode: OpenMode) -> Result<Box<dyn ObjectIo>> {
        if !self.is_file()? { return Err(Error::InvalidType) }
        Ok(Box::new(Io { disk: self.disk.clone(), path: self.path()?, mode: mode.validate()?, pos: 0 }))
    }
    fn delete(&self, recursive: bool, progress: &mut dyn Progress) -> Result<()> {
        let path = self.path()?;
        let mut tree = self.disk.tree()?;
        if tree.files.remove(&path).is_none() {
            if tree.paths.values().any(|p| within(p, &path)) && !recursive { return Err(Error::DirectoryNotEmpty) }
            if !tree.folders.remove(&path) { return Err(Error::InterfaceDead) }
            tree.files.retain(|p, _| !within(p, &path));
            tree.folders.retain(|p| !within(p, &path));
        }
        tree.paths.retain(|_, p| *p != path && !within(p, &path));
        drop(tree);
        progress.progress(1)
    }
    /// The journal puts each copy in place, and each state file, by renaming a temporary file.
    fn rename(&self, new_name: &str, _progress: &mut dyn Progress) -> Result<()> {
        if new_name.is_empty() || new_name.contains(['/', '\\']) { return Err(Error::InvalidName) }
        let from = self.path()?;
        let to = join(from.rsplit_once('/').map_or("", |(d, _)| d), new_name);
        let mut tree = self.disk.tree()?;
        if tree.files.contains_key(&to) || tree.folders.contains(&to) { return Err(Error::AlreadyExists) }
        let moved = |p: &String| if *p == from || within(p, &from) { format!("{to}{}", &p[from.len()..]) } else { p.clone() };
        tree.files = std::mem::take(&mut tree.files).into_iter().map(|(p, b)| (moved(&p), b)).collect();
        tree.folders = std::mem::take(&mut tree.folders).iter().map(moved).collect();
        tree.paths.values_mut().for_each(|p| *p = moved(p));
        Ok(())
    }
}

/// An open file: reads from `pos`, appends writes.
#[derive(Debug)]
#[rustfmt::skip]
struct Io { disk: Arc<RamDisk>, path: String, mode: OpenMode, pos: usize }

#[rustfmt::skip]
impl ObjectIo for Io {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        if !self.mode.can_read() { return Err(Error::AccessDenied) }
        let tree = self.disk.tree()?;
        let rest = tree.files.get(&self.path).ok_or(Error::InterfaceDead)?.get(self.pos..).unwrap_or(&[]);
        let n = rest.len().min(buf.len());
        buf.get_mut(..n).ok_or(Error::Fail)?.copy_from_slice(rest.get(..n).ok_or(Error::Fail)?);
        self.pos += n;
        Ok(n)
    }
    fn write(&mut self, data: &[u8]) -> Result<usize> {
        if !self.mode.can_write() { return Err(Error::AccessDenied) }
        self.disk.tree()?.files.get_mut(&self.path).ok_or(Error::InterfaceDead)?.extend_from_slice(data);
        Ok(data.len())
    }
    fn close(self: Box<Self>) -> Result<()> { Ok(()) }
}

#[allow(dead_code)] // tests/custom_provider.rs includes this file for the provider alone.
fn main() -> Result<()> {
    let music = std::env::temp_dir().join(format!("wmdm-custom-provider-{}", std::process::id()));
    std::fs::create_dir_all(&music)?;
    std::fs::write(music.join("song.wav"), wmdm::easy::silent_wav(8_000))?;
    std::fs::write(music.join("Mix.m3u8"), "song.wav\n")?;
    let disk = RamDisk::new();
    let syncer = wmdm::SyncJob::folder(&music)
        .to_provider(disk.clone())
        .state_dir(music.with_extension("state"))
        .playlist("Mix")
        .open()?;
    let report = syncer.sync(|_| {});
    let _ = (
        std::fs::remove_dir_all(&music),
        std::fs::remove_dir_all(music.with_extension("state")),
    );
    println!("{}", report?);
    for (path, bytes) in &disk.tree()?.files {
        println!("  {path} ({} bytes)", bytes.len())
    }
    Ok(())
}
