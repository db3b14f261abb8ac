//! Scenarios for IWMDMStorage3::SetEnumPreference (metadata views as virtual folders) and
//! IWMDMStorage4::GetRightsWithProgress, through the device manager over the memory provider.

mod common;

use std::sync::Arc;

use common::*;
use uuid::Uuid;
use wmdm::Error;
use wmdm::flags::{
    Attributes, DeviceStatus, DeviceType, OpenMode, Placement, Rights, RightsFlags, StorageEnumMode,
};
use wmdm::manager::*;
use wmdm::metadata::{Metadata, tags};
use wmdm::provider::{
    CreateRequest, Device, DeviceRef, FormatSupport, GlobalsRef, Icon, NoProgress,
    ObjectAttributes, ObjectIo, OpaqueCommand, Progress, RightsRecord, ServiceProvider, Storage,
    StorageRef,
};
use wmdm::providers::memory::{MemoryDevice, MemoryProvider, StorageConfig};
use wmdm::sac::Role;
use wmdm::time::WmdmDateTime;

type R = Result<(), Error>;

fn manager_with(provider: Arc<dyn ServiceProvider>) -> DeviceManager {
    let clock = clock();
    let mgr =
        DeviceManager::new(config(Role::Manager, 20, Role::Application, &clock)).expect("manager");
    mgr.add_provider(wrap_provider(provider, &clock))
        .expect("add");
    mgr.authenticate(app_config(&clock)).expect("authenticate");
    mgr
}

/// Files (path, author, album) on a card; `None` leaves the tag out.
const SONGS: &[(&str, Option<&str>, Option<&str>)] = &[
    ("Music/a.mp3", Some("Beta"), Some("Two")),
    ("Music/b.mp3", Some("Alpha"), Some("One")),
    ("Music/Sub/c.mp3", Some("Alpha"), Some("Zed")),
    ("Music/d.mp3", Some("Alpha"), Some("One")),
    ("notes.txt", None, None),
];

fn content(path: &str) -> Vec<u8> {
    path.bytes().cycle().take(300 + path.len()).collect()
}

fn device(device_type: DeviceType) -> Result<WmdmDevice, Error> {
    let mut card = StorageConfig::new("Card", 1 << 20);
    for (path, _, _) in SONGS {
        card = card.file(*path, content(path));
    }
    let player = MemoryDevice::builder("Player")
        .device_type(device_type)
        .storage(card)
        .build()?;
    let mgr = manager_with(Arc::new(MemoryProvider::new().with_device(player)));
    let dev = mgr
        .devices()?
        .into_iter()
        .next()
        .ok_or(Error::FileNotFound)?;
    let root = dev.storage("Card")?;
    for (path, author, album) in SONGS {
        let mut file = root.clone();
        for part in path.split('/') {
            file = file.child(part)?;
        }
        let mut m = Metadata::new();
        if let Some(a) = author {
            m.add(tags::AUTHOR, *a);
        }
        if let Some(a) = album {
            m.add(tags::ALBUM_TITLE, *a);
        }
        if !m.is_empty() {
            file.set_metadata(&m)?;
        }
    }
    Ok(dev)
}

fn names(list: &[WmdmStorage]) -> Result<Vec<String>, Error> {
    list.iter().map(|s| s.name()).collect()
}

fn child_named(parent: &WmdmStorage, name: &str) -> Result<WmdmStorage, Error> {
    parent
        .children()?
        .into_iter()
        .find(|c| c.name().as_deref() == Ok(name))
        .ok_or(Error::FileNotFound)
}

fn read(file: &WmdmStorage) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    file.read_to(ReadTarget::Writer(&mut out), &mut NoProgress)?;
    Ok(out)
}

fn views() -> Vec<MetadataView> {
    vec![
        MetadataView::new("Artists", &[tags::AUTHOR, tags::ALBUM_TITLE]),
        MetadataView::new("Albums", &[tags::ALBUM_TITLE]),
    ]
}

#[test]
fn raw_mode_is_the_file_system_layout() -> R {
    let dev = device(DeviceType::STORAGE)?;
    let root = dev.storage("Card")?;
    let before = names(&root.children()?)?;
    assert_eq!(before, ["Music", "notes.txt"]);
    root.set_enum_preference(StorageEnumMode::METADATA_VIEWS, &views())?;
    assert_ne!(names(&root.children()?)?, before);
    root.set_enum_preference(StorageEnumMode::RAW, &[])?;
    assert_eq!(names(&root.children()?)?, before);
    Ok(())
}

#[test]
fn metadata_views_group_by_each_tag_in_turn() -> R {
    let dev = device(DeviceType::STORAGE)?;
    let root = dev.storage("Card")?;
    root.set_enum_preference(StorageEnumMode::METADATA_VIEWS, &views())?;
    let top = root.children()?;
    assert_eq!(names(&top)?, ["Artists", "Albums"]);
    for folder in &top {
        let a = folder.attributes()?.attributes;
        assert_eq!(a, Attributes::FOLDER | Attributes::STORAGE_VIRTUAL);
        assert_eq!(folder.size()?, 0);
    }

    let artists = child_named(&root, "Artists")?;
    assert_eq!(
        names(&artists.children()?)?,
        ["Alpha", "Beta", UNKNOWN_VALUE_FOLDER]
    );
    let alpha = child_named(&artists, "Alpha")?;
    assert_eq!(names(&alpha.children()?)?, ["One", "Zed"]);
    let one = child_named(&alpha, "One")?;
    assert_eq!(names(&one.children()?)?, ["b.mp3", "d.mp3"]);
    let unknown = child_named(
        &child_named(&artists, UNKNOWN_VALUE_FOLDER)?,
        UNKNOWN_VALUE_FOLDER,
    )?;
    assert_eq!(names(&unknown.children()?)?, ["notes.txt"]);

    let albums = child_named(&root, "Albums")?;
    assert_eq!(
        names(&albums.children()?)?,
        ["One", "Two", UNKNOWN_VALUE_FOLDER, "Zed"]
    );
    let zed = child_named(&albums, "Zed")?;
    assert_eq!(names(&zed.children()?)?, ["c.mp3"]);
    Ok(())
}

#[test]
fn leaves_are_the_real_objects() -> R {
    let dev = device(DeviceType::STORAGE)?;
    let root = dev.storage("Card")?;
    root.set_enum_preference(StorageEnumMode::METADATA_VIEWS, &views())?;
    let one = child_named(
        &child_named(&child_named(&root, "Artists")?, "Alpha")?,
        "One",
    )?;
    let leaves = one.children()?;
    assert_eq!(leaves.len(), 2);
    let real_b = root.child("Music")?.child("b.mp3")?;
    assert_eq!(leaves[0].unique_id()?, real_b.unique_id()?);
    assert!(!leaves[0].attributes()?.attributes.is_folder());
    assert_eq!(read(&leaves[0])?, content("Music/b.mp3"));
    assert_eq!(read(&leaves[1])?, content("Music/d.mp3"));
    assert_eq!(leaves[0].metadata()?.get_str(tags::AUTHOR), Some("Alpha"));

    leaves[1].delete(false, &mut NoProgress)?;
    assert_eq!(
        root.child("Music")?.child("d.mp3").unwrap_err(),
        Error::FileNotFound
    );
    // A fresh enumeration reflects the device as it is now.
    let one = child_named(
        &child_named(&child_named(&root, "Artists")?, "Alpha")?,
        "One",
    )?;
    assert_eq!(names(&one.children()?)?, ["b.mp3"]);
    Ok(())
}

#[test]
fn virtual_folders_are_read_only() -> R {
    let dev = device(DeviceType::STORAGE)?;
    let root = dev.storage("Card")?;
    root.set_enum_preference(StorageEnumMode::METADATA_VIEWS, &views())?;
    let artists = child_named(&root, "Artists")?;
    let alpha = child_named(&artists, "Alpha")?;
    assert_eq!(
        alpha.create_folder("New", Placement::Into).unwrap_err(),
        Error::AccessDenied
    );
    assert_eq!(
        alpha.delete(true, &mut NoProgress).unwrap_err(),
        Error::AccessDenied
    );
    assert_eq!(
        alpha.rename("Gamma", &mut NoProgress).unwrap_err(),
        Error::NotSupported
    );
    assert_eq!(
        alpha
            .move_to(Placement::Into, &root.child("Music")?, &mut NoProgress)
            .unwrap_err(),
        Error::NotSupported
    );
    assert!(read(&alpha).is_err());
    // Nothing happened to the real content.
    assert_eq!(names(&root.child("Music")?.children()?)?.len(), 4);
    Ok(())
}

#[test]
fn the_preference_belongs_to_the_handle() -> R {
    let dev = device(DeviceType::STORAGE)?;
    let root = dev.storage("Card")?;
    let clone = root.clone();
    let other = dev.storage("Card")?;
    root.set_enum_preference(StorageEnumMode::METADATA_VIEWS, &views())?;
    assert_eq!(names(&clone.children()?)?, ["Artists", "Albums"]);
    assert_eq!(names(&other.children()?)?, ["Music", "notes.txt"]);
    // A real folder below, reached through a fresh handle, lists raw.
    let music = root.child("Music")?;
    assert_eq!(
        names(&music.children()?)?,
        ["a.mp3", "b.mp3", "Sub", "d.mp3"]
    );
    // Views of a sub-folder cover only the files under it.
    music.set_enum_preference(
        StorageEnumMode::METADATA_VIEWS,
        &[MetadataView::new("By album", &[tags::ALBUM_TITLE])],
    )?;
    let by_album = child_named(&music, "By album")?;
    assert_eq!(names(&by_album.children()?)?, ["One", "Two", "Zed"]);
    Ok(())
}

#[test]
fn device_preference_follows_the_device_type() -> R {
    let prefers = device(DeviceType::STORAGE | DeviceType::VIEW_PREF_METADATAVIEW)?;
    let root = prefers.storage("Card")?;
    root.set_enum_preference(StorageEnumMode::USE_DEVICE_PREF, &views())?;
    assert_eq!(names(&root.children()?)?, ["Artists", "Albums"]);

    let plain = device(DeviceType::STORAGE)?;
    let root = plain.storage("Card")?;
    root.set_enum_preference(StorageEnumMode::USE_DEVICE_PREF, &views())?;
    assert_eq!(names(&root.children()?)?, ["Music", "notes.txt"]);
    Ok(())
}

#[test]
fn bad_preferences_are_refused_and_change_nothing() -> R {
    let dev = device(DeviceType::STORAGE)?;
    let root = dev.storage("Card")?;
    root.set_enum_preference(StorageEnumMode::METADATA_VIEWS, &views())?;
    assert_eq!(
        root.set_enum_preference(StorageEnumMode(7), &views())
            .unwrap_err(),
        Error::InvalidArg
    );
    assert_eq!(
        root.set_enum_preference(StorageEnumMode::METADATA_VIEWS, &[])
            .unwrap_err(),
        Error::InvalidArg
    );
    assert_eq!(
        root.set_enum_preference(
            StorageEnumMode::METADATA_VIEWS,
            &[MetadataView::new("Empty", &[])]
        )
        .unwrap_err(),
        Error::InvalidArg
    );
    assert_eq!(names(&root.children()?)?, ["Artists", "Albums"]);
    Ok(())
}

#[test]
fn a_few_thousand_files_group_quickly() -> R {
    let mut card = StorageConfig::new("Card", 1 << 24);
    for i in 0..2000 {
        card = card.file(format!("Music/{}/{i}.mp3", i % 40), vec![1u8; 4]);
    }
    let player = MemoryDevice::builder("Big").storage(card).build()?;
    let mgr = manager_with(Arc::new(MemoryProvider::new().with_device(player)));
    let root = mgr.devices()?.remove(0).storage("Card")?;
    root.set_enum_preference(
        StorageEnumMode::METADATA_VIEWS,
        &[MetadataView::new("Names", &[tags::FILE_NAME])],
    )?;
    let names_view = child_named(&root, "Names")?;
    assert_eq!(names_view.children()?.len(), 2000);
    Ok(())
}

// --- GetRightsWithProgress -------------------------------------------------------------

#[derive(Default)]
struct Log {
    lines: Vec<(Uuid, String)>,
    cancel_at_progress: bool,
}

impl Progress3 for Log {
    fn begin(&mut self, event: Uuid, ticks: u64, _: &OpaqueCommand) -> wmdm::Result<()> {
        self.lines.push((event, format!("begin {ticks}")));
        Ok(())
    }
    fn progress(&mut self, event: Uuid, ticks: u64, _: &OpaqueCommand) -> wmdm::Result<()> {
        self.lines.push((event, format!("progress {ticks}")));
        if self.cancel_at_progress {
            Err(Error::UserCancelled)
        } else {
            Ok(())
        }
    }
    fn end(&mut self, event: Uuid, result: wmdm::Result<()>, _: &OpaqueCommand) {
        self.lines.push((event, format!("end {result:?}")));
    }
}

impl Log {
    fn lines(&self) -> Vec<&str> {
        self.lines.iter().map(|(_, l)| l.as_str()).collect()
    }
}

fn licence() -> RightsRecord {
    RightsRecord {
        content_type: 1,
        flags: RightsFlags::all(),
        rights: Rights::PLAY_ON_PC | Rights::COPY_TO_NON_SDMI_DEVICE,
        app_sec: 1000,
        playback_count: 5,
        expiration: WmdmDateTime::default(),
    }
}

/// A one-device provider whose only object is a root with rights.
#[derive(Debug)]
struct Licensed;

#[derive(Debug)]
struct LicensedRoot;

impl ServiceProvider for Licensed {
    fn device_count(&self) -> wmdm::Result<u32> {
        Ok(1)
    }
    fn devices(&self) -> wmdm::Result<Vec<DeviceRef>> {
        Ok(vec![Arc::new(Licensed)])
    }
}

impl Device for Licensed {
    fn name(&self) -> wmdm::Result<String> {
        Ok("Licensed".into())
    }
    fn manufacturer(&self) -> wmdm::Result<String> {
        Ok("Test".into())
    }
    fn device_type(&self) -> wmdm::Result<DeviceType> {
        Ok(DeviceType::STORAGE)
    }
    fn status(&self) -> wmdm::Result<DeviceStatus> {
        Ok(DeviceStatus::READY)
    }
    fn icon(&self) -> wmdm::Result<Icon> {
        Err(Error::NotSupported)
    }
    fn storages(&self) -> wmdm::Result<Vec<StorageRef>> {
        Ok(vec![Arc::new(LicensedRoot)])
    }
    fn format_support(&self) -> wmdm::Result<FormatSupport> {
        Ok(FormatSupport::default())
    }
}

impl Storage for LicensedRoot {
    fn unique_id(&self) -> wmdm::Result<String> {
        Ok("root".into())
    }
    fn globals(&self) -> wmdm::Result<GlobalsRef> {
        Err(Error::NotSupported)
    }
    fn attributes(&self) -> wmdm::Result<ObjectAttributes> {
        Ok(ObjectAttributes::new(Attributes::FOLDER))
    }
    fn name(&self) -> wmdm::Result<String> {
        Ok("Root".into())
    }
    fn date(&self) -> wmdm::Result<WmdmDateTime> {
        Ok(WmdmDateTime::default())
    }
    fn size(&self) -> wmdm::Result<u64> {
        Ok(0)
    }
    fn rights(&self) -> wmdm::Result<Vec<RightsRecord>> {
        Ok(vec![licence(), licence()])
    }
    fn create(&self, _: &CreateRequest) -> wmdm::Result<StorageRef> {
        Err(Error::NotSupported)
    }
    fn children(&self) -> wmdm::Result<Vec<StorageRef>> {
        Ok(Vec::new())
    }
    fn open(&self, _: OpenMode) -> wmdm::Result<Box<dyn ObjectIo>> {
        Err(Error::InvalidType)
    }
    fn delete(&self, _: bool, _: &mut dyn Progress) -> wmdm::Result<()> {
        Err(Error::AccessDenied)
    }
}

fn licensed_root() -> Result<WmdmStorage, Error> {
    let mgr = manager_with(Arc::new(Licensed));
    let mut storages = mgr.devices()?.remove(0).storages()?;
    storages.pop().ok_or(Error::FileNotFound)
}

#[test]
fn rights_with_progress_matches_rights_between_begin_and_end() -> R {
    let root = licensed_root()?;
    let mut log = Log::default();
    let rights = root.rights_with_progress(&mut log)?;
    assert_eq!(rights, root.rights()?);
    assert_eq!(rights, [licence(), licence()]);
    assert_eq!(log.lines(), ["begin 1", "progress 1", "end Ok(())"]);
    assert!(
        log.lines
            .iter()
            .all(|(e, _)| *e == EVENT_WMDM_CONTENT_TRANSFER)
    );
    Ok(())
}

#[test]
fn rights_with_progress_can_be_cancelled() -> R {
    let root = licensed_root()?;
    let mut log = Log {
        cancel_at_progress: true,
        ..Log::default()
    };
    assert_eq!(
        root.rights_with_progress(&mut log).unwrap_err(),
        Error::UserCancelled
    );
    assert_eq!(
        log.lines(),
        ["begin 1", "progress 1", "end Err(UserCancelled)"]
    );
    Ok(())
}

#[test]
fn rights_with_progress_reports_the_providers_error() -> R {
    let dev = device(DeviceType::STORAGE)?;
    let root = dev.storage("Card")?;
    let mut log = Log::default();
    assert_eq!(
        root.rights_with_progress(&mut log).unwrap_err(),
        Error::NotSupported
    );
    assert_eq!(log.lines(), ["begin 1", "end Err(NotSupported)"]);
    Ok(())
}

#[test]
fn nothing_moves_into_a_virtual_folder() -> R {
    let dev = device(DeviceType::STORAGE)?;
    let root = dev.storage("Card")?;
    let views_root = dev.storage("Card")?;
    views_root.set_enum_preference(StorageEnumMode::METADATA_VIEWS, &views())?;
    let alpha = child_named(&child_named(&views_root, "Artists")?, "Alpha")?;
    let notes = root.child("notes.txt")?;
    let err = notes
        .move_to(Placement::Into, &alpha, &mut NoProgress)
        .unwrap_err();
    assert_eq!(err, Error::AccessDenied);
    assert_eq!(names(&root.children()?)?, ["Music", "notes.txt"]);
    Ok(())
}
