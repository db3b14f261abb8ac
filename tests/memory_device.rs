//! Scenarios for the in-memory device, driven through the provider traits only, the way a sync
//! engine or a device manager would drive a real player.

mod common;

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use wmdm::flags::{
    Attributes, DeviceStatus, DeviceType, FindScope, Mode, OpenMode, Placement, SeekOrigin,
    StorageCapabilities,
};
use wmdm::fuzzing::Recorder;
use wmdm::metadata::{FormatCode, Metadata, PropValue, device as props, tags};
use wmdm::provider::{
    CreateRequest, Device, NoProgress, ProgressEvent, ServiceProvider, Storage, StorageRef,
};
use wmdm::providers::memory::{
    FaultPlan, IOCTL_WMP_DEVICE_CAN_SYNC, MemoryDevice, MemoryProvider, Operation, StorageConfig,
};
use wmdm::time::ManualClock;
use wmdm::{Error, Status};

type R = Result<(), Error>;

fn as_device(d: &MemoryDevice) -> Arc<dyn Device> {
    Arc::new(d.clone())
}

fn first_root(device: &dyn Device) -> Result<StorageRef, Error> {
    device
        .storages()?
        .into_iter()
        .next()
        .ok_or(Error::FileNotFound)
}

fn names(folder: &dyn Storage) -> Result<Vec<String>, Error> {
    folder.children()?.iter().map(|c| c.name()).collect()
}

fn write_all(file: &dyn Storage, data: &[u8]) -> R {
    let mut io = file.open(OpenMode::WRITE)?;
    io.write(data)?;
    io.close()
}

fn read_all(file: &dyn Storage) -> Result<Vec<u8>, Error> {
    common::read_storage(file, 7)
}

fn free(root: &dyn Storage) -> Result<u64, Error> {
    root.globals()?.total_free()
}

fn playlist(name: &str) -> CreateRequest {
    let mut m = Metadata::new();
    m.add(
        tags::FORMAT_CODE,
        FormatCode::ABSTRACT_AUDIO_VIDEO_PLAYLIST.0,
    );
    CreateRequest::file(name).metadata(m)
}

#[test]
fn create_write_read_rename_and_move_with_placement_order() -> R {
    let player = MemoryDevice::new("Player");
    let device = as_device(&player);
    let root = first_root(&*device)?;

    let music = root.create(&CreateRequest::folder("Music"))?;
    let b = music.create(&CreateRequest::file("b.mp3"))?;
    let a = b.create(&CreateRequest::file("a.mp3").placement(Placement::Before))?;
    let d = b.create(&CreateRequest::file("d.mp3").placement(Placement::After))?;
    d.create(&CreateRequest::file("c.mp3").placement(Placement::Before))?;
    assert_eq!(names(&*music)?, ["a.mp3", "b.mp3", "c.mp3", "d.mp3"]);

    write_all(&*a, b"alpha")?;
    assert_eq!(read_all(&*a)?, b"alpha");
    assert_eq!(a.size()?, 5);
    assert!(
        a.attributes()?
            .attributes
            .contains(Attributes::FILE | Attributes::AUDIO)
    );

    a.rename("z.mp3", &mut NoProgress)?;
    assert_eq!(names(&*music)?, ["z.mp3", "b.mp3", "c.mp3", "d.mp3"]);

    a.move_to(Placement::After, &*d, &mut NoProgress)?;
    assert_eq!(names(&*music)?, ["b.mp3", "c.mp3", "d.mp3", "z.mp3"]);
    d.move_to(Placement::Before, &*b, &mut NoProgress)?;
    assert_eq!(names(&*music)?, ["d.mp3", "b.mp3", "c.mp3", "z.mp3"]);

    let album = root.create(&CreateRequest::folder("Album"))?;
    a.move_to(Placement::Into, &*album, &mut NoProgress)?;
    assert_eq!(names(&*album)?, ["z.mp3"]);
    assert_eq!(read_all(&*a)?, b"alpha", "a handle follows its object");
    assert_eq!(
        a.parent()?.map(|p| p.name()).transpose()?,
        Some("Album".into())
    );
    assert_eq!(player.read_file("Album/z.mp3")?, b"alpha");
    assert_eq!(names(&*root)?, ["Music", "Album"]);
    assert!(root.parent()?.is_none());

    // Names are checked and collide in any case.
    let err = music.create(&CreateRequest::file("B.MP3")).err();
    assert_eq!(err, Some(Error::AlreadyExists));
    assert_eq!(
        music.create(&CreateRequest::file("x/y")).err(),
        Some(Error::InvalidName)
    );
    assert_eq!(
        b.create(&CreateRequest::file("x")).err(),
        Some(Error::InvalidType)
    );
    assert_eq!(
        b.rename("C.mp3", &mut NoProgress),
        Err(Error::AlreadyExists)
    );
    assert_eq!(
        music.move_to(Placement::Into, &*music, &mut NoProgress),
        Err(Error::InvalidArg)
    );
    assert_eq!(
        root.move_to(Placement::Into, &*music, &mut NoProgress),
        Err(Error::InvalidArg)
    );
    assert_eq!(
        b.move_to(Placement::Into, &*d, &mut NoProgress),
        Err(Error::InvalidType)
    );
    Ok(())
}

#[test]
fn reads_writes_and_seeks_at_positions() -> R {
    let player = MemoryDevice::new("Player");
    let root = first_root(&*as_device(&player))?;
    let f = root.create(&CreateRequest::file("data.bin"))?;

    let mut io = f.open(OpenMode(OpenMode::READ.0 | OpenMode::WRITE.0))?;
    io.write(b"0123456789")?;
    assert_eq!(io.seek(SeekOrigin::EOF, 3)?, 7);
    io.write(b"ABCDE")?; // overwrites 789 and extends by two
    assert_eq!(io.seek(SeekOrigin::BOF, 2)?, 2);
    assert_eq!(io.seek(SeekOrigin::CUR, 3)?, 5);
    let mut buf = [0u8; 4];
    assert_eq!(io.read(&mut buf)?, 4);
    assert_eq!(&buf, b"56AB");
    assert_eq!(io.seek(SeekOrigin::BOF, 13), Err(Error::InvalidArg));
    assert_eq!(io.seek(SeekOrigin::EOF, 13), Err(Error::InvalidArg));
    assert_eq!(io.seek(SeekOrigin(7), 0), Err(Error::InvalidArg));
    assert_eq!(f.size()?, 0, "nothing is visible before close");
    io.close()?;
    assert_eq!(player.read_file("data.bin")?, b"0123456ABCDE");

    let mut r = f.open(OpenMode::READ)?;
    assert_eq!(r.write(b"x"), Err(Error::AccessDenied));
    drop(r);
    let mut w = f.open(OpenMode::WRITE)?;
    assert_eq!(w.read(&mut buf), Err(Error::AccessDenied));
    drop(w);
    assert_eq!(f.open(OpenMode(0)).err(), Some(Error::InvalidArg));
    assert_eq!(root.open(OpenMode::READ).err(), Some(Error::InvalidType));
    Ok(())
}

#[test]
fn second_open_fails_with_too_many_open_files_until_the_first_closes() -> R {
    let player = MemoryDevice::new("Player");
    player.put_file("a.mp3", b"a".to_vec())?;
    player.put_file("b.mp3", b"b".to_vec())?;
    let root = first_root(&*as_device(&player))?;
    let a = root.child("a.mp3")?;
    let b = root.child("B.MP3")?;

    let first = a.open(OpenMode::READ)?;
    assert_eq!(b.open(OpenMode::READ).err(), Some(Error::TooManyOpenFiles));
    assert_eq!(a.open(OpenMode::WRITE).err(), Some(Error::TooManyOpenFiles));
    first.close()?;
    let second = b.open(OpenMode::WRITE)?;
    assert_eq!(player.open_files(), 1);
    drop(second); // dropping releases the slot too
    assert_eq!(player.open_files(), 0);
    a.open(OpenMode::READ)?.close()?;

    // A device configured for more open files still refuses two writers on one file.
    let roomy = MemoryDevice::builder("Roomy").max_open_files(4).build()?;
    roomy.put_file("a.mp3", b"a".to_vec())?;
    let f = roomy.handle("a.mp3")?;
    let r1 = f.open(OpenMode::READ)?;
    let r2 = f.open(OpenMode::READ)?;
    assert_eq!(f.open(OpenMode::WRITE).err(), Some(Error::Busy));
    assert_eq!(f.delete(false, &mut NoProgress), Err(Error::Busy));
    drop((r1, r2));
    f.delete(false, &mut NoProgress)
}

#[test]
fn disconnect_during_the_third_write_loses_the_session_but_not_the_old_content() -> R {
    let player = MemoryDevice::builder("Player")
        .storage(StorageConfig::new("Internal", 1 << 20).file("Music/song.mp3", b"old".to_vec()))
        .fault_plan(FaultPlan::new().disconnect_after_bytes(2 * 100 + 50))
        .build()?;
    let provider = MemoryProvider::new().with_device(player.clone());
    let device = provider.devices()?.remove(0);
    let root = first_root(&*device)?;
    let song = root.child("Music")?.child("song.mp3")?;
    let free_before = free(&*root)?;

    let mut io = song.open(OpenMode::WRITE)?;
    io.write(&[1; 100])?;
    io.write(&[2; 100])?;
    assert_eq!(io.write(&[3; 100]), Err(Error::DeviceNotConnected));

    // The device is gone: its status says so, and every call fails.
    assert_eq!(device.status()?, DeviceStatus::DEVICE_NOTPRESENT);
    assert_eq!(device.name().err(), Some(Error::DeviceNotConnected));
    assert_eq!(device.storages().err(), Some(Error::DeviceNotConnected));
    assert_eq!(root.children().err(), Some(Error::DeviceNotConnected));
    assert_eq!(
        song.open(OpenMode::READ).err(),
        Some(Error::DeviceNotConnected)
    );
    let globals = root.globals();
    assert_eq!(globals.err(), Some(Error::DeviceNotConnected));
    assert_eq!(io.write(b"more"), Err(Error::DeviceNotConnected));
    assert_eq!(provider.device_count()?, 0);

    player.reconnect();
    assert_eq!(
        io.close(),
        Err(Error::DeviceNotConnected),
        "the session was lost"
    );
    assert_eq!(device.status()?, DeviceStatus::READY);
    assert_eq!(
        read_all(&*song)?,
        b"old",
        "the half-written file kept its old content"
    );
    assert_eq!(free(&*root)?, free_before, "no bytes stay reserved");
    assert_eq!(player.open_files(), 0);

    // The fault is spent: the transfer can be redone.
    write_all(&*song, &[4; 300])?;
    assert_eq!(player.read_file("Music/song.mp3")?.len(), 300);
    assert_eq!(player.stats().bytes_written, 250 + 300);
    Ok(())
}

#[test]
fn disconnect_on_a_chosen_call() -> R {
    let player = MemoryDevice::builder("Player")
        .fault_plan(FaultPlan::new().disconnect_on_nth(Operation::Write, 3))
        .build()?;
    player.put_file("a.bin", b"keep".to_vec())?;
    let root = first_root(&*as_device(&player))?;
    let f = root.child("a.bin")?;
    let mut io = f.open(OpenMode::WRITE)?;
    io.write(b"1")?;
    io.write(b"2")?;
    assert_eq!(io.write(b"3"), Err(Error::DeviceNotConnected));
    assert!(!player.is_connected());
    assert_eq!(root.globals().err(), Some(Error::DeviceNotConnected));
    drop(io);
    player.reconnect();
    assert_eq!(read_all(&*f)?, b"keep");
    assert_eq!(root.globals()?.status()?, DeviceStatus::READY);
    Ok(())
}

#[test]
fn full_storage_gives_disk_full_and_nothing_is_written() -> R {
    let player = MemoryDevice::builder("Tiny")
        .storage(StorageConfig::new("Internal", 100).bad_bytes(10))
        .build()?;
    let root = first_root(&*as_device(&player))?;
    let globals = root.globals()?;
    assert_eq!(
        (
            globals.total_size()?,
            globals.total_bad()?,
            globals.total_free()?
        ),
        (100, 10, 90)
    );

    let f = root.create(&CreateRequest::file("a.bin"))?;
    let mut io = f.open(OpenMode::WRITE)?;
    io.write(&[1; 60])?;
    assert_eq!(globals.total_free()?, 30, "free space is honest mid-write");
    assert_eq!(io.write(&[2; 31]), Err(Error::DiskFull));
    assert_eq!(globals.total_free()?, 30, "a refused write takes no space");
    io.write(&[3; 30])?;
    assert_eq!(globals.total_free()?, 0);
    io.seek(SeekOrigin::BOF, 0)?;
    io.write(&[4; 10])?; // overwriting needs no space
    io.close()?;
    let data = player.read_file("a.bin")?;
    assert_eq!(data.len(), 90);
    assert_eq!((&data[..10], &data[60..]), (&[4u8; 10][..], &[3u8; 30][..]));

    let hinted = root
        .create(&CreateRequest::file("b.bin").size_hint(1))
        .err();
    assert_eq!(hinted, Some(Error::DiskFull));
    f.delete(false, &mut NoProgress)?;
    assert_eq!(globals.total_free()?, 90);

    // A fault plan can make any medium full.
    player.set_fault_plan(FaultPlan::new().storage_full());
    assert_eq!(globals.total_free()?, 0);
    let g = root.create(&CreateRequest::file("c.bin"))?;
    let mut io = g.open(OpenMode::WRITE)?;
    assert_eq!(io.write(b"x"), Err(Error::DiskFull));
    io.close()?;
    assert_eq!(player.read_file("c.bin")?, b"");
    Ok(())
}

#[test]
fn read_only_medium_refuses_every_change() -> R {
    let player = MemoryDevice::builder("Locked")
        .storage(
            StorageConfig::new("Card", 1 << 20)
                .read_only()
                .file("Music/a.mp3", b"song".to_vec()),
        )
        .build()?;
    let root = first_root(&*as_device(&player))?;
    let music = root.child("Music")?;
    let a = music.child("a.mp3")?;
    let wp = Some(Error::WriteProtected);
    assert_eq!(root.create(&CreateRequest::folder("New")).err(), wp);
    assert_eq!(a.open(OpenMode::WRITE).err(), wp);
    assert_eq!(a.delete(false, &mut NoProgress).err(), wp);
    assert_eq!(a.rename("b.mp3", &mut NoProgress).err(), wp);
    assert_eq!(
        a.move_to(Placement::Before, &*music, &mut NoProgress).err(),
        wp
    );
    assert_eq!(a.set_metadata(&Metadata::new()).err(), wp);
    assert_eq!(
        root.globals()?
            .initialize(Mode::BLOCK, &mut NoProgress)
            .err(),
        wp
    );
    assert_eq!(read_all(&*a)?, b"song", "reading still works");

    // The same through a fault plan, on a writable medium.
    let other = MemoryDevice::builder("Other")
        .fault_plan(FaultPlan::new().read_only())
        .build()?;
    let root = first_root(&*as_device(&other))?;
    assert_eq!(root.create(&CreateRequest::file("x")).err(), wp);
    other.clear_faults();
    root.create(&CreateRequest::file("x"))?;

    // A READONLY file on a writable medium: no writes, no delete.
    let f = root.create(&CreateRequest::with_attributes(
        "ro.txt",
        Attributes::FILE | Attributes::READONLY,
    ))?;
    assert_eq!(f.open(OpenMode::WRITE).err(), Some(Error::AccessDenied));
    assert_eq!(f.delete(false, &mut NoProgress), Err(Error::AccessDenied));
    assert!(!f.attributes()?.attributes.contains(Attributes::CANDELETE));
    Ok(())
}

#[test]
fn recursive_delete_is_all_or_nothing_and_plain_delete_needs_an_empty_folder() -> R {
    let player = MemoryDevice::new("Player");
    for p in ["Music/A/1.mp3", "Music/A/2.mp3", "Music/B/3.mp3"] {
        player.put_file(p, vec![0; 10])?;
    }
    let root = first_root(&*as_device(&player))?;
    let music = root.child("Music")?;
    let one = music.child("A")?.child("1.mp3")?;
    let used = root.globals()?.total_free()?;

    assert_eq!(
        music.delete(false, &mut NoProgress),
        Err(Error::DirectoryNotEmpty)
    );
    assert_eq!(root.delete(true, &mut NoProgress), Err(Error::InvalidArg));

    let mut cancel = Recorder::new().cancel_at(3);
    assert_eq!(music.delete(true, &mut cancel), Err(Error::UserCancelled));
    assert_eq!(
        player.files().len(),
        3,
        "a cancelled delete removes nothing"
    );

    let mut rec = Recorder::new();
    music.delete(true, &mut rec)?;
    let expected: Vec<ProgressEvent> = std::iter::once(ProgressEvent::Begin(6))
        .chain((1..=6).map(ProgressEvent::Progress))
        .chain(std::iter::once(ProgressEvent::End(Ok(()))))
        .collect();
    assert_eq!(rec.events(), expected.as_slice());
    assert!(player.files().is_empty() && player.folders().is_empty());
    assert_eq!(one.name().err(), Some(Error::InterfaceDead));
    assert_eq!(music.children().err(), Some(Error::InterfaceDead));
    assert_eq!(root.globals()?.total_free()?, used + 30);
    Ok(())
}

#[test]
fn playlist_references_survive_a_rename_and_drop_a_deleted_file() -> R {
    let player = MemoryDevice::new("Player");
    for p in ["Music/a.mp3", "Music/b.mp3", "Music/c.mp3"] {
        player.put_file(p, b"x".to_vec())?;
    }
    let root = first_root(&*as_device(&player))?;
    let music = root.child("Music")?;
    let [a, b, c] = ["a.mp3", "b.mp3", "c.mp3"].map(|n| music.child(n));
    let (a, b, c) = (a?, b?, c?);
    let list = root.create(&playlist("Road trip"))?;

    list.set_references(&[c.clone(), a.clone(), b.clone()])?;
    a.rename("a (live).mp3", &mut NoProgress)?;
    let refs: Vec<String> = list
        .references()?
        .iter()
        .map(|r| r.name())
        .collect::<Result<_, _>>()?;
    assert_eq!(refs, ["c.mp3", "a (live).mp3", "b.mp3"]);

    b.delete(false, &mut NoProgress)?;
    let refs: Vec<String> = list
        .references()?
        .iter()
        .map(|r| r.name())
        .collect::<Result<_, _>>()?;
    assert_eq!(refs, ["c.mp3", "a (live).mp3"]);

    assert_eq!(
        a.set_references(std::slice::from_ref(&c)),
        Err(Error::InvalidType),
        "an mp3 is not a playlist"
    );
    assert!(a.references()?.is_empty());
    let stranger = MemoryDevice::new("Other").put_file("s.mp3", b"s".to_vec())?;
    assert_eq!(list.set_references(&[stranger]), Err(Error::NotSameDevice));
    assert_eq!(list.set_references(&[b]), Err(Error::InterfaceDead));
    list.set_references(&[])?;
    assert!(list.references()?.is_empty());
    Ok(())
}

#[test]
fn find_storage_by_persistent_id_after_a_move() -> R {
    let player = MemoryDevice::new("Player");
    player.put_file("Inbox/song.mp3", b"s".to_vec())?;
    player.put_folder("Music")?;
    let device = as_device(&player);
    let root = first_root(&*device)?;
    let song = root.child("Inbox")?.child("song.mp3")?;
    let id = song.unique_id()?;
    assert_eq!(
        song.metadata()?.get_str(tags::PERSISTENT_UNIQUE_ID),
        Some(id.as_str())
    );

    let music = root.child("Music")?;
    song.move_to(Placement::Into, &*music, &mut NoProgress)?;
    song.rename("renamed.mp3", &mut NoProgress)?;
    assert_eq!(song.unique_id()?, id, "the ID survives moves and renames");

    let found = device.find_storage(FindScope::GLOBAL, &id)?;
    assert_eq!(found.name()?, "renamed.mp3");
    assert_eq!(
        music
            .find_storage(FindScope::IMMEDIATE_CHILDREN, &id)?
            .size()?,
        1
    );
    assert_eq!(root.find_storage(FindScope::GLOBAL, &id)?.unique_id()?, id);
    let not_here = root.find_storage(FindScope::IMMEDIATE_CHILDREN, &id).err();
    assert_eq!(not_here, Some(Error::FileNotFound));
    let not_a_root = device
        .find_storage(FindScope::IMMEDIATE_CHILDREN, &id)
        .err();
    assert_eq!(not_a_root, Some(Error::FileNotFound));
    assert_eq!(
        device
            .find_storage(FindScope::IMMEDIATE_CHILDREN, &root.unique_id()?)?
            .name()?,
        "Internal"
    );

    song.delete(false, &mut NoProgress)?;
    assert_eq!(
        device.find_storage(FindScope::GLOBAL, &id).err(),
        Some(Error::FileNotFound)
    );
    Ok(())
}

#[test]
fn initialize_empties_the_medium_and_free_is_total_minus_bad() -> R {
    let player = MemoryDevice::builder("Player")
        .storage(
            StorageConfig::new("Internal", 10_000)
                .bad_bytes(512)
                .file("a/b/c.mp3", vec![1; 1000])
                .file("d.mp3", vec![2; 500]),
        )
        .storage(
            StorageConfig::new("Card", 1000)
                .not_initializable()
                .file("keep.txt", b"k".to_vec()),
        )
        .build()?;
    let device = as_device(&player);
    let roots = device.storages()?;
    let globals = roots[0].globals()?;
    assert_eq!(globals.total_free()?, 10_000 - 512 - 1500);

    let mut rec = Recorder::new();
    globals.initialize(Mode::BLOCK, &mut rec)?;
    assert_eq!(rec.events().first(), Some(&ProgressEvent::Begin(4)));
    assert_eq!(rec.last_progress(), Some(4));
    assert!(roots[0].children()?.is_empty());
    assert_eq!(
        globals.total_free()?,
        globals.total_size()? - globals.total_bad()?
    );

    let card = roots[1].globals()?;
    assert!(
        card.capabilities()?
            .contains(StorageCapabilities::NOT_INITIALIZABLE)
    );
    assert!(
        !globals
            .capabilities()?
            .contains(StorageCapabilities::NOT_INITIALIZABLE)
    );
    assert_eq!(
        card.initialize(Mode::BLOCK, &mut NoProgress),
        Err(Error::NotSupported)
    );
    assert_eq!(player.files_on(1).len(), 1);
    assert_eq!(card.root_storage()?.name()?, "Card");
    assert_eq!(card.device()?.name()?, "Player");
    Ok(())
}

#[test]
fn fail_the_second_create_with_a_chosen_error() -> R {
    let player = MemoryDevice::builder("Player")
        .fault_plan(FaultPlan::new().fail_nth(Operation::Create, 2, Error::Busy))
        .build()?;
    let root = first_root(&*as_device(&player))?;
    root.create(&CreateRequest::file("1"))?;
    assert_eq!(
        root.create(&CreateRequest::file("2")).err(),
        Some(Error::Busy)
    );
    root.create(&CreateRequest::file("3"))?;
    assert_eq!(names(&*root)?, ["1", "3"]);
    let stats = player.stats();
    assert_eq!(stats.calls(Operation::Create), 3);
    assert_eq!(stats.faults_injected, 1);

    player.set_fault_plan(FaultPlan::new().fail_every(Operation::Children, Error::ProcessFailed));
    assert_eq!(root.children().err(), Some(Error::ProcessFailed));
    assert_eq!(root.children().err(), Some(Error::ProcessFailed));
    Ok(())
}

#[test]
fn slow_operations_advance_the_virtual_clock() -> R {
    let clock = ManualClock::default();
    let start = clock.unix_nanos();
    let player = MemoryDevice::builder("Slow")
        .clock(clock.clone())
        .fault_plan(
            FaultPlan::new()
                .slow(Operation::Write, Duration::from_millis(250))
                .slow(Operation::Create, Duration::from_secs(1)),
        )
        .build()?;
    let root = first_root(&*as_device(&player))?;
    let f = root.create(&CreateRequest::file("a.mp3"))?;
    let mut io = f.open(OpenMode::WRITE)?;
    for _ in 0..4 {
        io.write(b"chunk")?;
    }
    io.close()?;
    assert_eq!(clock.unix_nanos() - start, 2_000_000_000);
    let date = f.date()?;
    let expected = wmdm::time::WmdmDateTime::from_system_time(player.clock().now());
    assert_eq!(date, expected, "the commit is dated by the device clock");
    assert!(player.clock().now() > UNIX_EPOCH);
    Ok(())
}

#[test]
fn identity_properties_and_capabilities() -> R {
    let player = MemoryDevice::builder("Zune")
        .manufacturer("Contoso")
        .serial("ZN-42")
        .vendor_id(0x45E)
        .device_type(
            DeviceType::STORAGE | DeviceType::PLAYBACK | DeviceType::VIEW_PREF_METADATAVIEW,
        )
        .formats(&[FormatCode::MP3, FormatCode::WMA, FormatCode::WPL_PLAYLIST])
        .friendly_name("Kitchen")
        .property(props::DEVICE_MODEL_NAME, PropValue::String("ZN-1".into()))
        .battery(60)
        .build()?;
    let d = as_device(&player);
    assert_eq!(
        (d.name()?, d.manufacturer()?),
        ("Zune".into(), "Contoso".into())
    );
    assert_eq!(d.serial_number()?.serial(), b"ZN-42");
    assert_eq!(d.serial_number()?.vendor_id(), 0x45E);
    assert_eq!(d.canonical_name()?, "memory:ZN-42");
    assert!(
        d.device_type()?
            .contains(DeviceType::VIEW_PREF_METADATAVIEW)
    );
    assert_eq!(d.power_source()?.percent_remaining, 60);
    assert_eq!(d.version()?, 1);
    assert!(!d.icon()?.ico_bytes().is_empty());

    assert_eq!(
        d.property(props::FORMATS_SUPPORTED)?,
        PropValue::U32Array(vec![
            FormatCode::MP3.0,
            FormatCode::WMA.0,
            FormatCode::WPL_PLAYLIST.0
        ])
    );
    assert_eq!(
        d.property(props::FORMATS_SUPPORTED_ARE_ORDERED)?,
        PropValue::Bool(true)
    );
    assert_eq!(
        d.property(props::DEVICE_MODEL_NAME)?,
        PropValue::String("ZN-1".into())
    );
    let supported = d.property(props::SUPPORTED_DEVICE_PROPERTIES)?;
    assert!(
        supported
            .as_string_array()
            .is_some_and(|v| v.iter().any(|p| p == props::DEVICE_FRIENDLY_NAME))
    );
    assert_eq!(
        d.property("WMDM/NoSuchThing").err(),
        Some(Error::NotSupported)
    );

    assert_eq!(
        d.property(props::DEVICE_FRIENDLY_NAME)?,
        PropValue::String("Kitchen".into())
    );
    d.set_property(
        props::DEVICE_FRIENDLY_NAME,
        &PropValue::String("Car".into()),
    )?;
    assert_eq!(
        d.property(props::DEVICE_FRIENDLY_NAME)?,
        PropValue::String("Car".into())
    );
    assert_eq!(
        d.set_property(props::DEVICE_FRIENDLY_NAME, &PropValue::U32(1)),
        Err(Error::InvalidArg)
    );
    assert_eq!(
        d.set_property(props::FORMATS_SUPPORTED, &PropValue::U32Array(vec![])),
        Err(Error::NotSupported)
    );
    d.set_property(
        props::SYNC_RELATIONSHIP_ID,
        &PropValue::String("{partner}".into()),
    )?;
    assert_eq!(
        d.property(props::SYNC_RELATIONSHIP_ID)?,
        PropValue::String("{partner}".into())
    );

    let cap = d.format_capability(FormatCode::MP3)?;
    assert!(!cap.configs.is_empty());
    assert_eq!(
        d.format_capability(FormatCode::FLAC).err(),
        Some(Error::NotSupported)
    );
    let support = d.format_support()?;
    assert_eq!(support.audio.len(), 2);
    assert!(support.mime_types.iter().any(|m| m == "audio/mpeg"));

    assert_eq!(
        d.io_control(IOCTL_WMP_DEVICE_CAN_SYNC, &[], 4)?,
        1u32.to_le_bytes()
    );
    assert_eq!(
        d.io_control(IOCTL_WMP_DEVICE_CAN_SYNC, &[], 3),
        Err(Error::BufferTooSmall)
    );
    assert_eq!(d.io_control(0x1234, &[], 64), Err(Error::NotSupported));
    assert_eq!(d.storage("internal")?.name()?, "Internal");
    assert_eq!(d.status()?, DeviceStatus::READY);
    Ok(())
}

#[test]
fn metadata_is_stored_and_synthesised() -> R {
    let player = MemoryDevice::new("Player");
    let root = first_root(&*as_device(&player))?;
    let mut m = Metadata::new();
    m.add(tags::TITLE, "Blue in Green");
    m.add(tags::DURATION, 3_370_000_000u64); // 5 min 37 s in 100-ns units
    let f = root.create(&CreateRequest::file("track.wma").metadata(m))?;
    write_all(&*f, &[0; 42])?;

    let all = f.metadata()?;
    assert_eq!(all.get_str(tags::TITLE), Some("Blue in Green"));
    assert_eq!(all.get_u32(tags::FORMAT_CODE), Some(FormatCode::WMA.0));
    assert_eq!(all.get_u64(tags::FILE_SIZE), Some(42));
    assert_eq!(all.get_str(tags::FILE_NAME), Some("track.wma"));

    let mut more = Metadata::new();
    more.add(tags::GENRE, "Jazz");
    assert_eq!(f.set_metadata(&more)?, Status::Ok);
    more.add(tags::FILE_SIZE, 1u64);
    assert_eq!(f.set_metadata(&more)?, Status::NotAllPropertiesApplied);
    let mut only_bad = Metadata::new();
    only_bad.add(tags::PERSISTENT_UNIQUE_ID, "mine");
    assert_eq!(f.set_metadata(&only_bad).err(), Some(Error::NotSupported));

    let (some, status) = f.specified_metadata(&[tags::GENRE, tags::COMPOSER])?;
    assert_eq!((some.len(), status), (1, Status::NotAllPropertiesRetrieved));

    let info = f.object_info().ok_or(Error::NotSupported)?;
    assert_eq!(info.total_length()?, 337_000);
    assert_eq!(info.play_length()?, 337_000);
    info.set_play_offset(1000)?;
    assert_eq!(info.play_offset()?, 1000);
    assert_eq!(info.set_play_offset(400_000), Err(Error::InvalidArg));
    player.record_play("track.wma", 90_000)?;
    player.record_play("track.wma", 30_000)?;
    assert_eq!(
        (info.last_play_position()?, info.longest_play_position()?),
        (30_000, 90_000)
    );
    assert!(root.object_info().is_none());
    Ok(())
}

#[test]
fn moves_stay_on_one_medium_of_one_device() -> R {
    let player = MemoryDevice::builder("Two media")
        .storage(StorageConfig::new("Internal", 1000).file("a.mp3", b"a".to_vec()))
        .storage(StorageConfig::new("Card", 1000).removable().folder("Music"))
        .build()?;
    let device = as_device(&player);
    let roots = device.storages()?;
    let a = roots[0].child("a.mp3")?;
    let card_music = roots[1].child("Music")?;
    assert_eq!(
        a.move_to(Placement::Into, &*card_music, &mut NoProgress),
        Err(Error::NotSameDevice)
    );
    let other = MemoryDevice::new("Other");
    let elsewhere = other.root();
    assert_eq!(
        a.move_to(Placement::Into, &*elsewhere, &mut NoProgress),
        Err(Error::NotSameDevice)
    );
    assert!(
        roots[1]
            .attributes()?
            .attributes
            .contains(Attributes::STORAGE_REMOVABLE)
    );
    assert!(
        roots[0]
            .attributes()?
            .attributes
            .contains(Attributes::STORAGE_HAS_FILES)
    );
    assert_ne!(
        roots[0].globals()?.serial_number()?,
        roots[1].globals()?.serial_number()?
    );
    Ok(())
}

#[test]
fn overwrite_replaces_a_file_and_its_old_handles_die() -> R {
    let player = MemoryDevice::new("Player");
    let root = first_root(&*as_device(&player))?;
    let old = root.create(&CreateRequest::file("a.mp3"))?;
    write_all(&*old, b"old")?;
    root.create(&CreateRequest::file("b.mp3"))?;
    assert_eq!(
        root.create(&CreateRequest::file("A.mp3")).err(),
        Some(Error::AlreadyExists)
    );
    let new = root.create(&CreateRequest::file("A.mp3").overwrite())?;
    assert_eq!(old.size().err(), Some(Error::InterfaceDead));
    assert_eq!(new.size()?, 0);
    assert_ne!(new.unique_id()?, player.snapshot()["b.mp3"].unique_id);
    assert_eq!(names(&*root)?, ["A.mp3", "b.mp3"]);
    let folder = root
        .create(&CreateRequest::folder("b.mp3").overwrite())
        .err();
    assert_eq!(folder, Some(Error::AlreadyExists));
    Ok(())
}

#[test]
fn stats_count_calls_and_bytes() -> R {
    let player = MemoryDevice::new("Player");
    let root = first_root(&*as_device(&player))?;
    player.reset_stats();
    let f = root.create(&CreateRequest::file("a"))?;
    write_all(&*f, b"12345")?;
    read_all(&*f)?;
    let s = player.stats();
    assert_eq!(s.calls(Operation::Create), 1);
    assert_eq!(s.calls(Operation::Open), 2);
    assert_eq!(s.calls(Operation::Close), 2);
    assert_eq!((s.bytes_written, s.bytes_read, s.commits), (5, 5, 1));
    assert_eq!(s.calls(Operation::Initialize), 0);
    Ok(())
}

#[test]
fn progress_callbacks_may_call_the_device_and_an_unplug_mid_delete_deletes_nothing() -> R {
    let player = MemoryDevice::new("Player");
    for p in ["Old/1.mp3", "Old/2.mp3", "Old/3.mp3"] {
        player.put_file(p, vec![0; 100])?;
    }
    let root = first_root(&*as_device(&player))?;
    let old = root.child("Old")?;

    // The device is not held while callbacks run, so a progress bar may ask it questions.
    let watcher = root.globals()?;
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let mut rec = Recorder::new().on_progress(move |done, _| {
        if let Ok(mut v) = log.lock() {
            v.push((done, watcher.total_free().ok()));
        }
    });
    let copy = root.create(&CreateRequest::folder("Copy"))?;
    copy.rename("Backup", &mut rec)?;
    assert_eq!(seen.lock().map(|v| v.len()).unwrap_or(0), 1);

    // Pulling the plug from a callback: the delete finds the device gone and removes nothing.
    let unplug = player.clone();
    let mut rec = Recorder::new().on_progress(move |done, _| {
        if done == 2 {
            unplug.disconnect();
        }
    });
    assert_eq!(old.delete(true, &mut rec), Err(Error::DeviceNotConnected));
    assert_eq!(rec.result(), Some(&Err(Error::DeviceNotConnected)));
    player.reconnect();
    assert_eq!(player.files().len(), 3);
    assert_eq!(names(&*old)?, ["1.mp3", "2.mp3", "3.mp3"]);
    Ok(())
}
