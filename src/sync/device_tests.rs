//! The device helpers' tests: the state-file frame, the listing's order of calls.

use super::*;

/// A device of one folder holding `files` files (and `subfolders` folders, each holding
/// `files` files; the one numbered `failing` cannot be listed), recording the calls the
/// listing makes.
#[derive(Clone)]
struct Fake {
    folder: bool,
    calls: std::sync::Arc<std::sync::Mutex<Vec<&'static str>>>,
    files: usize,
    id: usize,
    subfolders: usize,
    failing: Option<usize>,
}

impl Fake {
    fn note(&self, call: &'static str) {
        self.calls.lock().unwrap().push(call);
    }
}

impl DeviceObject for Fake {
    fn child(&self, _: &str) -> Result<Self> {
        Err(Error::FileNotFound)
    }
    fn create_folder(&self, _: &str, _: Placement) -> Result<Self> {
        Err(Error::NotSupported)
    }
    fn insert(
        &self,
        _: InsertSource<'_>,
        _: &InsertOptions,
        _: &mut dyn crate::provider::Progress,
    ) -> Result<Self> {
        Err(Error::NotSupported)
    }
    fn delete(&self, _: bool, _: &mut dyn crate::provider::Progress) -> Result<()> {
        Err(Error::NotSupported)
    }
    fn rename(&self, _: &str, _: &mut dyn crate::provider::Progress) -> Result<()> {
        Err(Error::NotSupported)
    }
    fn refuses_taken_names(&self) -> bool {
        false
    }
    fn content_holds_metadata(&self, _: &str, _: &[u8], _: &crate::metadata::Metadata) -> bool {
        false
    }
    fn size(&self) -> Result<u64> {
        Ok(1)
    }
    fn unique_id(&self) -> Result<String> {
        Ok(String::new())
    }
    fn date(&self) -> Result<crate::time::WmdmDateTime> {
        Ok(crate::time::WmdmDateTime::default())
    }
    fn modified_precise(&self) -> Result<Option<std::time::SystemTime>> {
        Ok(None)
    }
    fn set_metadata(&self, _: &crate::metadata::Metadata) -> Result<()> {
        Err(Error::NotSupported)
    }
    fn read_into(&self, _: &mut Vec<u8>) -> Result<()> {
        Err(Error::NotSupported)
    }
    fn read_ranges(&self, _: &[(u64, usize)]) -> Result<Vec<Vec<u8>>> {
        Err(Error::NotSupported)
    }
    fn children(&self) -> Result<Vec<Self>> {
        self.note("children");
        if self.failing == Some(self.id) && self.subfolders == 0 {
            return Err(Error::DeviceNotConnected);
        }
        let files = (0..self.files).map(|id| Fake {
            folder: false,
            files: 0,
            calls: self.calls.clone(),
            id,
            subfolders: 0,
            failing: None,
        });
        let folders = (0..self.subfolders).map(|id| Fake {
            folder: true,
            files: self.files,
            calls: self.calls.clone(),
            id: 1_000 + id,
            subfolders: 0,
            failing: self.failing,
        });
        Ok(files.chain(folders).collect())
    }
    fn name(&self) -> Result<String> {
        Ok(format!("f{}", self.id))
    }
    fn is_folder(&self) -> Result<bool> {
        Ok(self.folder)
    }
    fn space(&self) -> Result<(u64, u64)> {
        self.note("space");
        Ok((100, 50))
    }
    fn specified_metadata(&self, _: &[&str]) -> Result<crate::metadata::Metadata> {
        Err(Error::NotSupported)
    }
}

#[test]
fn the_listing_asks_for_the_space_after_walking_the_device() {
    // The folder provider emulating a capacity counts what is used from the listing it
    // has just served; asked first, it walks the whole device itself.
    let root = Fake {
        folder: true,
        files: 3,
        calls: Default::default(),
        id: 0,
        subfolders: 0,
        failing: None,
    };
    let listed = list_contents(&root).unwrap();
    assert_eq!(listed.files.len(), 3);
    assert_eq!((listed.capacity, listed.free), (100, 50));
    assert_eq!(*root.calls.lock().unwrap(), ["children", "space"]);
}

#[test]
fn a_folder_that_cannot_be_listed_fails_the_whole_listing_on_every_worker() {
    let tree = |failing| Fake {
        folder: true,
        files: 5,
        calls: Default::default(),
        id: 0,
        subfolders: 40,
        failing,
    };
    let whole = list_contents(&tree(None)).unwrap();
    assert_eq!(whole.files.len(), 5 + 40 * 5);
    // A folder far from the top, read by one of the workers: the listing ends with its error
    // (the other worker does not wait for it forever).
    for failing in [1_001, 1_020, 1_039] {
        let e = list_contents(&tree(Some(failing))).err();
        assert_eq!(e, Some(Error::DeviceNotConnected), "folder {failing}");
    }
}

#[test]
fn a_state_file_written_in_place_reads_whole_only_when_complete() {
    let body = b"wmdm-sync-ledger 1\nlibrary=x\nindex=1\n".to_vec();
    let framed = frame(&body);
    assert_eq!(unframe(framed.clone()), Some(body.clone()));
    // Every prefix an interrupted write can leave, the empty file included, is partial.
    for cut in 0..framed.len() {
        assert_eq!(unframe(framed[..cut].to_vec()), None, "cut at {cut}");
    }
    // A torn write of the full length (other bytes at the end) too.
    let mut torn = framed.clone();
    if let Some(b) = torn.last_mut() {
        *b ^= 0x55;
    }
    assert_eq!(unframe(torn), None);
    // Plain files were renamed into place complete; only an empty one is not.
    assert_eq!(unframe(body.clone()), Some(body.clone()));
    assert_eq!(unframe(Vec::new()), None);
    // The parsers read through the frame.
    assert!(super::super::journal::Ledger::parse(&framed).is_ok());
    assert!(super::super::journal::Ledger::parse(&framed[..framed.len() - 1]).is_err());
}

/// The fingerprint a copy knows from the bytes it sent is the object's own whenever the
/// object holds what was sent where the fingerprint reads; otherwise the object's own is
/// computed.
#[test]
fn a_fingerprint_known_from_the_bytes_sent_is_the_objects_own() {
    use crate::providers::memory::{MemoryDevice, StorageConfig};
    let big: Vec<u8> = (0..20_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let mut head = big.clone();
    head[10] ^= 1;
    let mut tail = big.clone();
    tail[19_990] ^= 1;
    let mut middle = big.clone();
    middle[10_000] ^= 1;
    let small = b"a small file".to_vec();
    let dev = MemoryDevice::builder("Player")
        .serial("F1")
        .storage(
            StorageConfig::new("Internal", 1 << 20)
                .file("Music/big", big.clone())
                .file("Music/head", head)
                .file("Music/tail", tail)
                .file("Music/middle", middle)
                .file("Music/small", small.clone()),
        )
        .build()
        .unwrap();
    let root: crate::provider::StorageRef =
        crate::provider::Device::storages(&dev).unwrap().remove(0);
    let music = DeviceObject::child(&root, "Music").unwrap();
    for (name, sent) in [
        ("big", &big),
        ("head", &big),
        ("tail", &big),
        ("middle", &big),
        ("small", &small),
        ("small", &big),
        ("big", &small),
    ] {
        let obj = DeviceObject::child(&music, name).unwrap();
        let own = fingerprint(&obj).unwrap();
        assert_eq!(
            fingerprint_as_sent(&obj, sent, fingerprint_of_bytes(sent)).unwrap(),
            own,
            "{name}"
        );
    }
    for (name, bytes) in [("big", &big), ("small", &small)] {
        let obj = DeviceObject::child(&music, name).unwrap();
        assert_eq!(
            fingerprint_of_bytes(bytes),
            fingerprint(&obj).unwrap(),
            "{name}"
        );
    }
}
