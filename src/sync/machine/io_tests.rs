//! The executor's tests: fresh names, renames that never take a taken name.

use super::*;
use crate::provider::{DeviceRef, StorageRef};

/// A session's temporary name, taken before the write by a user's file.
const TEMP: &str = ".wmdm-sync-0123456789abcdef-00000001.part";

/// Writes `TEMP` fresh into `Music` over `root` and returns the answer.
fn write_fresh(root: StorageRef, device: DeviceRef) -> DeviceResponse {
    let mut io = ProviderIo::new(root, Some(device), Renames::default(), None);
    let stop = AtomicBool::new(false);
    let cx = IoContext {
        library: None,
        stop: &stop,
        progress: &|_| {},
    };
    io.execute(
        DeviceRequest::Write {
            dir: "Music".into(),
            name: TEMP.into(),
            fresh: true,
            source: WriteSource::Bytes(vec![7u8; 100]),
            size: 100,
            metadata: None,
        },
        &cx,
    )
}

fn refused(response: DeviceResponse) -> bool {
    match response {
        DeviceResponse::Written(Err(e), _) | DeviceResponse::Failed(e) => e == Error::AlreadyExists,
        _ => false,
    }
}

/// A new file's rename to a name something took is refused and changes nothing, on a
/// device that refuses taken names itself (the folder device, the memory device) and on
/// one where the executor looks first (any provider that does not say so: here the
/// memory device behind the fault wrapper).
#[test]
fn a_new_files_rename_never_takes_a_name_that_is_taken() {
    use crate::provider::ServiceProvider;
    use crate::providers::memory::{MemoryDevice, MemoryProvider, StorageConfig};
    use crate::providers::quirks::{QuirkProvider, Quirks};

    let memory = || {
        MemoryDevice::builder("Player")
            .serial("R1")
            .storage(StorageConfig::new("Internal", 1 << 20).file("Music/a.mp3", b"mine".to_vec()))
            .build()
            .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("Music")).unwrap();
    std::fs::write(dir.path().join("Music/a.mp3"), b"mine").unwrap();
    let fs: DeviceRef = std::sync::Arc::new(
        crate::providers::fs::FsDevice::open(
            dir.path(),
            crate::providers::fs::DeviceOptions::default().durable(false),
        )
        .unwrap(),
    );
    let (plain_dev, inner_dev) = (memory(), memory());
    let plain: DeviceRef = std::sync::Arc::new(plain_dev.clone());
    let wrapped = QuirkProvider::new(
        std::sync::Arc::new(MemoryProvider::new().with_device(inner_dev.clone())),
        Quirks::none(),
    )
    .devices()
    .unwrap()
    .remove(0);
    // How many lookups a device answered (the folder device is not counted).
    let looks = |d: &Option<MemoryDevice>| {
        d.as_ref().map(|d| {
            d.stats()
                .calls(crate::providers::memory::Operation::Children)
        })
    };
    for (what, device, refuses, counted) in [
        ("fs", fs, true, None),
        ("memory", plain, true, Some(plain_dev)),
        ("wrapped", wrapped, false, Some(inner_dev)),
    ] {
        let root = device.storages().unwrap().remove(0);
        assert_eq!(root.refuses_taken_names(), refuses, "{what}");
        let mut io = ProviderIo::new(root.clone(), Some(device), Renames::default(), None);
        let stop = AtomicBool::new(false);
        let cx = IoContext {
            library: None,
            stop: &stop,
            progress: &|_| {},
        };
        let temp = |io: &mut ProviderIo, n: u8| {
            let r = io.execute(
                DeviceRequest::Write {
                    dir: "Music".into(),
                    name: format!(".wmdm-sync-0123456789abcdef-0000000{n}.part"),
                    fresh: true,
                    source: WriteSource::Bytes(vec![n; 10]),
                    size: 10,
                    metadata: None,
                },
                &cx,
            );
            match r {
                DeviceResponse::Written(Ok(w), _) => w.object,
                other => panic!("{what}: {other:?}"),
            }
        };
        let rename = |io: &mut ProviderIo, object, name: &str| {
            io.execute(
                DeviceRequest::Rename {
                    object,
                    name: name.into(),
                    free_in: Some("Music".into()),
                },
                &cx,
            )
        };
        let first = temp(&mut io, 1);
        assert!(refused(rename(&mut io, first, "a.mp3")), "{what}");
        let second = temp(&mut io, 2);
        let before = looks(&counted);
        assert!(
            matches!(
                rename(&mut io, second, "b.mp3"),
                DeviceResponse::Renamed { .. }
            ),
            "{what}"
        );
        // Looked up first only where the device does not refuse a taken name itself.
        if let (Some(before), Some(after)) = (before, looks(&counted)) {
            assert_eq!(after > before, !refuses, "{what}: {before} -> {after}");
        }
        let music = root.child("Music").unwrap();
        let mut got = Vec::new();
        music.child("a.mp3").unwrap().read_into(&mut got).unwrap();
        assert_eq!(got, b"mine", "{what}: the user's file is untouched");
        assert!(music.child("b.mp3").is_ok(), "{what}");
    }
}

#[test]
fn a_fresh_name_that_is_taken_is_an_item_error_and_the_file_stays() {
    // The folder device, even where its name policy numbers a taken name.
    for mode in [
        crate::providers::fs::NameMode::Reject,
        crate::providers::fs::NameMode::Sanitise,
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("Music")).unwrap();
        std::fs::write(dir.path().join("Music").join(TEMP), b"the user's").unwrap();
        let device = crate::providers::fs::FsDevice::open(
            dir.path(),
            crate::providers::fs::DeviceOptions::default()
                .durable(false)
                .policy(crate::providers::fs::NamePolicy::fat(mode)),
        )
        .unwrap();
        let handle: DeviceRef = std::sync::Arc::new(device);
        let root = handle.storages().unwrap().remove(0);
        assert!(refused(write_fresh(root, handle)), "{mode:?}");
        let mut left: Vec<String> = std::fs::read_dir(dir.path().join("Music"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, vec![TEMP.to_owned()], "{mode:?}: nothing numbered");
        assert_eq!(
            std::fs::read(dir.path().join("Music").join(TEMP)).unwrap(),
            b"the user's"
        );
    }
    // The memory device.
    let (_device, handle, root) = super::super::tests::memory_player();
    let music = root
        .create(&crate::provider::CreateRequest::folder("Music"))
        .unwrap();
    let taken = music
        .create(&crate::provider::CreateRequest::file(TEMP))
        .unwrap();
    assert!(refused(write_fresh(root.clone(), handle)));
    assert_eq!(taken.size().unwrap(), 0, "left as it was");
    assert_eq!(music.children().unwrap().len(), 1);
}
