//! Scenarios for the device manager: authentication gates, the device cache, notifications,
//! storage control with progress and cancel, and data through the channel.

mod common;

use std::io::Cursor;
use std::sync::{Arc, Mutex};

use common::flat::FlatProvider;
use common::*;
use wmdm::Error;
use wmdm::flags::{DeviceEnumPreference, FindScope, OpenMode, Placement, WmdmMessage};
use wmdm::fuzzing::Recorder;
use wmdm::manager::*;
use wmdm::metadata::Metadata;
use wmdm::provider::{NoProgress, ProgressEvent};
use wmdm::sac::{Role, SAC_PROTOCOL_V1, SecureChannelClient};

fn root_of(mgr: &DeviceManager, device: &str) -> WmdmStorage {
    let dev = mgr
        .device_from_canonical_name(&format!("flat:{device}"))
        .expect("device");
    dev.storages().unwrap().remove(0)
}

fn insert_bytes(root: &WmdmStorage, name: &str, data: &[u8]) -> WmdmStorage {
    let mut reader = Cursor::new(data.to_vec());
    root.insert(
        InsertSource::Reader {
            reader: &mut reader,
            name: name.into(),
            size: data.len() as u64,
        },
        &InsertOptions::default(),
        &mut NoProgress,
    )
    .expect("insert")
}

/// The names of the manager's devices, in its order.
fn device_names(mgr: &DeviceManager) -> Vec<String> {
    mgr.devices()
        .unwrap()
        .iter()
        .map(|d| d.name().unwrap())
        .collect()
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn enumerates_devices_after_authentication() {
    let (mgr, _) = manager(&["a", "b"], false);
    assert!(mgr.is_authenticated());
    assert_eq!(mgr.revision().unwrap(), MANAGER_REVISION);
    assert_eq!(mgr.device_count().unwrap(), 2);
    assert_eq!(device_names(&mgr), ["a", "b"]);
    let b = mgr.device_from_canonical_name("flat:b").unwrap();
    assert_eq!(b.manufacturer().unwrap(), "Flat");
    assert_eq!(
        mgr.device_from_canonical_name("flat:zz").unwrap_err(),
        Error::FileNotFound
    );
}

#[test]
fn every_manager_entry_point_is_not_certified_before_authentication() {
    let clock = clock();
    let mgr = unauthenticated_manager(FlatProvider::new(&["a"], false), &clock);
    let nc: Result<(), Error> = Err(Error::NotCertified);
    assert_eq!(mgr.revision().map(|_| ()), nc);
    assert_eq!(mgr.device_count().map(|_| ()), nc);
    assert_eq!(mgr.devices().map(|_| ()), nc);
    assert_eq!(mgr.device_from_canonical_name("flat:a").map(|_| ()), nc);
    assert_eq!(mgr.reinitialize(), nc);
    assert_eq!(
        mgr.set_device_enum_preference(DeviceEnumPreference::empty()),
        nc
    );
    let sink: Arc<dyn Notification> = Arc::new(|_: WmdmMessage, _: &str| {});
    assert_eq!(mgr.subscribe(sink).map(|_| ()), nc);
    assert_eq!(mgr.poll_changes().map(|_| ()), nc);
}

/// A manager (certificate serial `manager`) with two providers: "a", which accepts it, and
/// "b", whose channel (serial `refusing`) expects an application, not a manager, and so
/// refuses it.
fn good_and_refusing(
    clock: &wmdm::time::ManualClock,
    manager: u64,
    refusing: u64,
) -> (
    DeviceManager,
    wmdm::manager::AuthenticatedProvider,
    wmdm::manager::AuthenticatedProvider,
) {
    let good = wrap_provider(FlatProvider::new(&["a"], false), clock);
    let refusing = wmdm::manager::AuthenticatedProvider::new(
        FlatProvider::new(&["b"], false),
        wmdm::sac::SecureChannelServer::new(Arc::new(config(
            Role::Provider,
            refusing,
            Role::Application,
            clock,
        ))),
    );
    let mgr = DeviceManager::new(config(Role::Manager, manager, Role::Application, clock)).unwrap();
    mgr.add_provider(good.clone()).unwrap();
    mgr.add_provider(refusing.clone()).unwrap();
    (mgr, good, refusing)
}

#[test]
fn providers_authenticate_ahead_and_beside_the_application_without_opening_the_gate() {
    let clock = clock();
    let (mgr, good, refusing) = good_and_refusing(&clock, 20, 51);
    assert!(!good.is_authenticated());

    // Before the application: the manager reaches its providers, but no device is listed.
    let e = mgr.authenticate_providers().unwrap_err();
    assert!(e.report().contains("provider 1"), "{}", e.report());
    assert!(good.is_authenticated());
    assert!(!refusing.is_authenticated());
    assert_eq!(mgr.devices().unwrap_err(), Error::NotCertified);

    // The application's handshake on one thread, the providers' again on another.
    std::thread::scope(|s| {
        let providers = s.spawn(|| mgr.authenticate_providers());
        mgr.authenticate(app_config(&clock)).unwrap();
        assert!(providers.join().unwrap().is_err());
    });
    // The listing uses the session made ahead; the refusing provider adds no device.
    assert_eq!(device_names(&mgr), ["a"]);
    insert_bytes(
        &root_of(&mgr, "a"),
        "x.mp3",
        b"through the session made ahead",
    );
}

#[test]
fn one_call_authenticates_the_application_beside_the_providers() {
    let clock = clock();
    let (mgr, good, refusing) = good_and_refusing(&clock, 21, 52);
    // The application's handshake is the call's result; a provider that refuses the manager
    // is not, and adds no device.
    mgr.authenticate_beside_providers(app_config(&clock))
        .unwrap();
    assert!(mgr.is_authenticated());
    assert!(good.is_authenticated(), "made beside the application's");
    assert!(!refusing.is_authenticated());
    assert_eq!(device_names(&mgr), ["a"]);
    // A second application handshake is refused as by `authenticate`.
    assert_eq!(
        mgr.authenticate_beside_providers(app_config(&clock))
            .unwrap_err(),
        Error::CallOutOfSequence
    );
}

#[test]
fn every_handle_is_not_certified_after_the_application_session_ends() {
    let (mgr, _) = manager(&["a"], false);
    let dev = mgr.devices().unwrap().remove(0);
    let root = dev.storages().unwrap().remove(0);
    let file = insert_bytes(&root, "x.mp3", b"hello");
    let globals = root.globals().unwrap();
    mgr.reset_authentication();
    assert!(!mgr.is_authenticated());
    check_all_handles(&dev, &root, &file, &globals);
    assert_eq!(mgr.devices().unwrap_err(), Error::NotCertified);
}

/// Calls every device, storage, control and globals entry point and expects NotCertified.
fn check_all_handles(
    dev: &WmdmDevice,
    root: &WmdmStorage,
    file: &WmdmStorage,
    globals: &WmdmStorageGlobals,
) {
    let nc = Error::NotCertified;
    let mut p = NoProgress;
    assert_eq!(dev.name().unwrap_err(), nc);
    assert_eq!(dev.manufacturer().unwrap_err(), nc);
    assert_eq!(dev.version().unwrap_err(), nc);
    assert_eq!(dev.device_type().unwrap_err(), nc);
    assert_eq!(dev.serial_number().unwrap_err(), nc);
    assert_eq!(dev.power_source().unwrap_err(), nc);
    assert_eq!(dev.status().unwrap_err(), nc);
    assert_eq!(dev.icon().unwrap_err(), nc);
    assert_eq!(dev.storages().unwrap_err(), nc);
    assert_eq!(dev.format_support().unwrap_err(), nc);
    assert_eq!(
        dev.send_opaque_command(&mut Default::default())
            .unwrap_err(),
        nc
    );
    assert_eq!(dev.storage("Storage").unwrap_err(), nc);
    assert_eq!(dev.canonical_name().unwrap_err(), nc);
    assert_eq!(dev.property("WMDM/DeviceFriendlyName").unwrap_err(), nc);
    assert_eq!(
        dev.set_property("WMDM/DeviceFriendlyName", &wmdm::metadata::PropValue::Empty)
            .unwrap_err(),
        nc
    );
    assert_eq!(
        dev.format_capability(wmdm::metadata::FormatCode::MP3)
            .unwrap_err(),
        nc
    );
    assert_eq!(dev.io_control(1, &[], 0).unwrap_err(), nc);
    assert_eq!(dev.find_storage(FindScope::GLOBAL, "root").unwrap_err(), nc);

    for s in [root, file] {
        assert_eq!(s.unique_id().unwrap_err(), nc);
        assert_eq!(s.attributes().unwrap_err(), nc);
        assert_eq!(s.set_attributes(&Default::default()).unwrap_err(), nc);
        assert_eq!(s.name().unwrap_err(), nc);
        assert_eq!(s.date().unwrap_err(), nc);
        assert_eq!(s.size().unwrap_err(), nc);
        assert_eq!(s.rights().unwrap_err(), nc);
        assert_eq!(s.globals().unwrap_err(), nc);
        assert_eq!(s.children().unwrap_err(), nc);
        assert_eq!(s.child("x.mp3").unwrap_err(), nc);
        assert_eq!(s.metadata().unwrap_err(), nc);
        assert_eq!(s.set_metadata(&Metadata::new()).unwrap_err(), nc);
        assert_eq!(s.specified_metadata(&["WMDM/Title"]).unwrap_err(), nc);
        assert_eq!(
            s.send_opaque_command(&mut Default::default()).unwrap_err(),
            nc
        );
        assert_eq!(s.set_references(&[]).unwrap_err(), nc);
        assert_eq!(s.references().unwrap_err(), nc);
        assert_eq!(s.find_storage(FindScope::GLOBAL, "x").unwrap_err(), nc);
        assert_eq!(s.parent().unwrap_err(), nc);
        let mut r = Cursor::new(vec![1, 2, 3]);
        let src = InsertSource::Reader {
            reader: &mut r,
            name: "n".into(),
            size: 3,
        };
        assert_eq!(
            s.insert(src, &InsertOptions::default(), &mut p)
                .unwrap_err(),
            nc
        );
        assert_eq!(s.create_folder("f", Placement::Into).unwrap_err(), nc);
        assert_eq!(s.delete(true, &mut p).unwrap_err(), nc);
        assert_eq!(s.rename("y", &mut p).unwrap_err(), nc);
        assert_eq!(s.move_to(Placement::After, root, &mut p).unwrap_err(), nc);
        let mut sink = Vec::new();
        assert_eq!(
            s.read_to(ReadTarget::Writer(&mut sink), &mut p)
                .unwrap_err(),
            nc
        );
    }
    assert_eq!(globals.capabilities().unwrap_err(), nc);
    assert_eq!(globals.serial_number().unwrap_err(), nc);
    assert_eq!(globals.total_size().unwrap_err(), nc);
    assert_eq!(globals.total_free().unwrap_err(), nc);
    assert_eq!(globals.total_bad().unwrap_err(), nc);
    assert_eq!(globals.status().unwrap_err(), nc);
    assert_eq!(
        globals
            .initialize(wmdm::flags::Mode::BLOCK, &mut p)
            .unwrap_err(),
        nc
    );
}

#[test]
fn the_provider_wrapper_refuses_every_call_without_a_handshake() {
    let clock = clock();
    let provider = FlatProvider::new(&["a"], false);
    let wrapped = wrap_provider(provider.clone(), &clock);
    assert!(!wrapped.is_authenticated());
    assert_eq!(wrapped.device_count().unwrap_err(), Error::NotCertified);
    assert_eq!(wrapped.devices().unwrap_err(), Error::NotCertified);
    assert_eq!(
        wrapped
            .set_device_enum_preference(DeviceEnumPreference::empty())
            .unwrap_err(),
        Error::NotCertified
    );
    assert_eq!(wrapped.revocation_url().unwrap_err(), Error::NotCertified);

    // Authenticate as the manager would, take handles, then drop the session.
    let client =
        SecureChannelClient::new(Arc::new(config(Role::Manager, 20, Role::Provider, &clock)));
    let mut peer = wrapped.clone();
    client.authenticate(&mut peer, SAC_PROTOCOL_V1).unwrap();
    let dev = wrapped.devices().unwrap().remove(0);
    let root = dev.storages().unwrap().remove(0);
    let file = root
        .create(&wmdm::provider::CreateRequest::file("f"))
        .unwrap();
    let mut io = file.open(OpenMode::WRITE).unwrap();
    let globals = root.globals().unwrap();
    wrapped.reset_channel();
    let nc = Error::NotCertified;
    assert_eq!(dev.name().unwrap_err(), nc);
    assert_eq!(dev.serial_number().unwrap_err(), nc);
    assert_eq!(dev.storages().unwrap_err(), nc);
    assert_eq!(root.children().unwrap_err(), nc);
    assert_eq!(root.rights().unwrap_err(), nc);
    assert_eq!(file.open(OpenMode::READ).unwrap_err(), nc);
    assert_eq!(file.delete(false, &mut NoProgress).unwrap_err(), nc);
    assert_eq!(globals.total_free().unwrap_err(), nc);
    assert_eq!(io.write_secure(&mut [1, 2], &[0; 8]).unwrap_err(), nc);
    assert_eq!(io.read_secure(&mut [0; 4]).unwrap_err(), nc);
    assert_eq!(io.write_clear(&[1]).unwrap_err(), nc);
    assert_eq!(io.close().unwrap_err(), nc);
}

#[test]
fn a_bad_mac_on_write_is_rejected_and_nothing_is_written() {
    let clock = clock();
    let provider = FlatProvider::new(&["a"], false);
    let wrapped = wrap_provider(provider.clone(), &clock);
    let client =
        SecureChannelClient::new(Arc::new(config(Role::Manager, 20, Role::Provider, &clock)));
    let mut peer = wrapped.clone();
    let mut session = client.authenticate(&mut peer, SAC_PROTOCOL_V1).unwrap();
    let root = wrapped
        .devices()
        .unwrap()
        .remove(0)
        .storages()
        .unwrap()
        .remove(0);
    let file = root
        .create(&wmdm::provider::CreateRequest::file("f"))
        .unwrap();
    let mut io = file.open(OpenMode::WRITE).unwrap();

    let plain = b"secret bytes".to_vec();
    let len = (plain.len() as u32).to_le_bytes();
    // A MAC over different data.
    let wrong = session.mac(&[b"other bytes!", &len]);
    let mut wire = plain.clone();
    session.encrypt_param(&mut wire).unwrap();
    assert_eq!(
        io.write_secure(&mut wire, &wrong).unwrap_err(),
        Error::MacCheckFailed
    );
    // A right MAC over a tampered ciphertext.
    let mac = session.mac(&[&plain, &len]);
    let mut wire = plain.clone();
    session.encrypt_param(&mut wire).unwrap();
    wire[0] ^= 1;
    assert_eq!(
        io.write_secure(&mut wire, &mac).unwrap_err(),
        Error::MacCheckFailed
    );
    // An opaque command with a wrong MAC never reaches the provider.
    let dev = wrapped.devices().unwrap().remove(0);
    let mut cmd = wmdm::provider::OpaqueCommand {
        data: vec![1, 2, 3],
        ..Default::default()
    };
    assert_eq!(
        dev.send_opaque_command(&mut cmd).unwrap_err(),
        Error::MacCheckFailed
    );
    assert_eq!(cmd.data, vec![1, 2, 3]);
    // And a good write.
    let mut wire = plain.clone();
    session.encrypt_param(&mut wire).unwrap();
    assert_eq!(io.write_secure(&mut wire, &mac).unwrap(), plain.len());
    io.close().unwrap();
    assert_eq!(
        provider.device("a").contents(),
        vec![("f".to_string(), plain)]
    );
    // The clear channel is refused on an object without IMDSPObject2.
    let mut io = file.open(OpenMode::WRITE).unwrap();
    assert_eq!(io.write_clear(b"x").unwrap_err(), Error::NotSupported);
}

fn round_trip(clear: bool) {
    let (mgr, provider) = manager(&["a"], clear);
    let root = root_of(&mgr, "a");
    let data = pattern(TRANSFER_CHUNK * 2 + 12_345);
    let mut rec = Recorder::new();
    let mut reader = Cursor::new(data.clone());
    let obj = root
        .insert(
            InsertSource::Reader {
                reader: &mut reader,
                name: "song.mp3".into(),
                size: data.len() as u64,
            },
            &InsertOptions::default(),
            &mut rec,
        )
        .unwrap();
    assert_eq!(
        rec.events().first(),
        Some(&ProgressEvent::Begin(data.len() as u64))
    );
    assert_eq!(rec.last_progress(), Some(data.len() as u64));
    assert_eq!(rec.result(), Some(&Ok(())));
    assert_eq!(provider.device("a").contents()[0].1, data);
    assert_eq!(obj.size().unwrap(), data.len() as u64);

    let mut out = Vec::new();
    let mut rec = Recorder::new();
    assert_eq!(
        obj.read_to(ReadTarget::Writer(&mut out), &mut rec).unwrap(),
        data.len() as u64
    );
    assert_eq!(out, data);
    assert_eq!(rec.result(), Some(&Ok(())));
}

#[test]
fn insert_and_read_through_the_secure_channel() {
    round_trip(false);
}

#[test]
fn insert_and_read_through_the_clear_channel() {
    round_trip(true);
}

#[test]
fn insert_from_a_file_and_read_to_a_file() {
    let (mgr, provider) = manager(&["a"], false);
    let root = root_of(&mgr, "a");
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("track.wma");
    std::fs::write(&src, pattern(5000)).unwrap();
    let obj = root
        .insert(
            InsertSource::File(&src),
            &InsertOptions::default(),
            &mut NoProgress,
        )
        .unwrap();
    assert_eq!(obj.name().unwrap(), "track.wma");
    assert_eq!(provider.device("a").contents()[0].1, pattern(5000));
    let dest = dir.path().join("back.wma");
    obj.read_to(ReadTarget::File(&dest), &mut NoProgress)
        .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), pattern(5000));
    assert_eq!(
        root.insert(
            InsertSource::File(&dir.path().join("missing")),
            &InsertOptions::default(),
            &mut NoProgress
        )
        .unwrap_err(),
        Error::FileNotFound
    );
}

#[test]
fn a_cancelled_insert_leaves_no_partial_object() {
    for clear in [false, true] {
        let (mgr, provider) = manager(&["a"], clear);
        let root = root_of(&mgr, "a");
        let data = pattern(TRANSFER_CHUNK * 3);
        let mut reader = Cursor::new(data.clone());
        let mut rec = Recorder::new().cancel_at(TRANSFER_CHUNK as u64 * 2);
        let err = root
            .insert(
                InsertSource::Reader {
                    reader: &mut reader,
                    name: "big.mp3".into(),
                    size: data.len() as u64,
                },
                &InsertOptions::default(),
                &mut rec,
            )
            .unwrap_err();
        assert_eq!(err, Error::UserCancelled);
        assert_eq!(rec.result(), Some(&Err(Error::UserCancelled)));
        assert!(
            provider.device("a").contents().is_empty(),
            "no partial object"
        );
        assert!(root.children().unwrap().is_empty());
    }
}

#[test]
fn a_cancelled_read_leaves_no_partial_file() {
    let (mgr, _) = manager(&["a"], false);
    let root = root_of(&mgr, "a");
    let obj = insert_bytes(&root, "x.mp3", &pattern(TRANSFER_CHUNK * 2));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x.mp3");
    let mut rec = Recorder::new().cancel_at(1);
    assert_eq!(
        obj.read_to(ReadTarget::File(&dest), &mut rec).unwrap_err(),
        Error::UserCancelled
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn delete_rename_move_metadata_parent_find() {
    let (mgr, provider) = manager(&["a"], false);
    let root = root_of(&mgr, "a");
    let a = insert_bytes(&root, "a.mp3", b"a");
    let b = insert_bytes(&root, "b.mp3", b"b");
    let c = insert_bytes(&root, "c.mp3", b"c");
    let names = || -> Vec<String> {
        provider
            .device("a")
            .contents()
            .into_iter()
            .map(|(n, _)| n)
            .collect()
    };

    let mut rec = Recorder::new();
    c.move_to(Placement::Before, &a, &mut rec).unwrap();
    assert_eq!(names(), ["c.mp3", "a.mp3", "b.mp3"]);
    assert_eq!(rec.result(), Some(&Ok(())));
    c.move_to(Placement::After, &b, &mut NoProgress).unwrap();
    assert_eq!(names(), ["a.mp3", "b.mp3", "c.mp3"]);
    c.move_to(Placement::Into, &root, &mut NoProgress).unwrap();

    b.rename("bee.mp3", &mut NoProgress).unwrap();
    assert_eq!(b.name().unwrap(), "bee.mp3");
    assert_eq!(
        a.rename("c.mp3", &mut NoProgress).unwrap_err(),
        Error::AlreadyExists
    );

    let mut m = Metadata::new();
    m.add(wmdm::metadata::tags::TITLE, "Bee");
    b.set_metadata(&m).unwrap();
    assert_eq!(
        b.metadata().unwrap().get_str(wmdm::metadata::tags::TITLE),
        Some("Bee")
    );

    assert_eq!(b.parent().unwrap().unwrap().unique_id().unwrap(), "root");
    assert!(root.parent().unwrap().is_none());
    let id = c.unique_id().unwrap();
    assert_eq!(
        root.find_storage(FindScope::GLOBAL, &id)
            .unwrap()
            .name()
            .unwrap(),
        "c.mp3"
    );
    let dev = mgr.devices().unwrap().remove(0);
    assert_eq!(
        dev.find_storage(FindScope::GLOBAL, &id)
            .unwrap()
            .name()
            .unwrap(),
        "c.mp3"
    );
    assert_eq!(
        root.child("a.mp3").unwrap().unique_id().unwrap(),
        a.unique_id().unwrap()
    );

    let mut rec = Recorder::new();
    a.delete(false, &mut rec).unwrap();
    assert_eq!(rec.result(), Some(&Ok(())));
    assert_eq!(a.name().unwrap_err(), Error::InterfaceDead);
    assert_eq!(
        root.delete(false, &mut NoProgress).unwrap_err(),
        Error::DirectoryNotEmpty
    );
    root.delete(true, &mut NoProgress).unwrap();
    assert!(names().is_empty());

    let globals = root.globals().unwrap();
    assert_eq!(globals.total_bad().unwrap(), 0);
    assert_eq!(globals.serial_number().unwrap_err(), Error::NotSupported);
}

#[test]
fn opaque_commands_travel_with_macs() {
    let (mgr, _) = manager(&["a"], false);
    let dev = mgr.devices().unwrap().remove(0);
    let mut cmd = wmdm::provider::OpaqueCommand {
        command: uuid::Uuid::from_u128(0x1234),
        data: vec![1, 2, 3],
        mac: [0; 20],
    };
    dev.send_opaque_command(&mut cmd).unwrap();
    assert_eq!(cmd.data, vec![3, 2, 1], "the provider ran the command");
    assert_ne!(cmd.mac, [0; 20], "the reply carries the provider's MAC");
    let root = dev.storages().unwrap().remove(0);
    assert_eq!(
        root.send_opaque_command(&mut cmd).unwrap_err(),
        Error::NotSupported,
        "checked, then passed to a provider without opaque commands on storages"
    );
}

#[test]
fn insert_uses_direct_transfer_when_the_folder_offers_it() {
    let (mgr, provider) = manager(&["a"], false);
    provider.device("a").root.enable_direct_transfer();
    let root = root_of(&mgr, "a");
    let data = pattern(200_000);
    let mut reader = Cursor::new(data.clone());
    let mut rec = Recorder::new();
    let obj = root
        .insert(
            InsertSource::Reader {
                reader: &mut reader,
                name: "d.mp3".into(),
                size: data.len() as u64,
            },
            &InsertOptions::default(),
            &mut rec,
        )
        .unwrap();
    assert_eq!(obj.name().unwrap(), "d.mp3");
    assert_eq!(provider.device("a").contents()[0].1, data);
    assert_eq!(rec.last_progress(), Some(data.len() as u64));
    // Cancelled direct transfers leave nothing either.
    let mut reader = Cursor::new(data.clone());
    let mut rec = Recorder::new().cancel_at(1);
    let err = root
        .insert(
            InsertSource::Reader {
                reader: &mut reader,
                name: "e.mp3".into(),
                size: data.len() as u64,
            },
            &InsertOptions::default(),
            &mut rec,
        )
        .unwrap_err();
    assert_eq!(err, Error::UserCancelled);
    assert_eq!(provider.device("a").contents().len(), 1);
}

#[test]
fn serial_numbers_arrive_with_a_checked_mac() {
    let (mgr, _) = manager(&["player"], false);
    let dev = mgr.devices().unwrap().remove(0);
    let id = dev.serial_number().unwrap();
    assert_eq!(id.vendor_id(), 0x045E);
    assert_eq!(id.serial(), b"player");
}

#[test]
fn a_provider_that_loses_its_session_is_authenticated_again() {
    let clock = clock();
    let provider = FlatProvider::new(&["a"], false);
    let wrapped = wrap_provider(provider.clone(), &clock);
    let mgr = DeviceManager::new(config(Role::Manager, 20, Role::Application, &clock)).unwrap();
    mgr.add_provider(wrapped.clone()).unwrap();
    mgr.authenticate(app_config(&clock)).unwrap();
    let root = root_of(&mgr, "a");
    insert_bytes(&root, "one.mp3", b"1");
    wrapped.reset_channel();
    let mut r = Cursor::new(b"2".to_vec());
    let src = InsertSource::Reader {
        reader: &mut r,
        name: "two.mp3".into(),
        size: 1,
    };
    assert_eq!(
        root.insert(src, &InsertOptions::default(), &mut NoProgress)
            .unwrap_err(),
        Error::NotCertified
    );
    mgr.reinitialize().unwrap();
    assert!(wrapped.is_authenticated());
    // Handles taken before the new handshake share the new session.
    insert_bytes(&root, "two.mp3", &pattern(70_000));
    let names: Vec<String> = provider
        .device("a")
        .contents()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["one.mp3", "two.mp3"]);
}

#[test]
fn concurrent_transfers_on_one_provider_keep_the_channel_in_step() {
    let (mgr, provider) = manager(&["a"], false);
    let root = root_of(&mgr, "a");
    std::thread::scope(|scope| {
        for t in 0..4u8 {
            let root = root.clone();
            scope.spawn(move || {
                let data = vec![t; TRANSFER_CHUNK * 2 + usize::from(t)];
                let obj = insert_bytes(&root, &format!("t{t}.mp3"), &data);
                let mut out = Vec::new();
                obj.read_to(ReadTarget::Writer(&mut out), &mut NoProgress)
                    .unwrap();
                assert_eq!(out, data);
            });
        }
    });
    assert_eq!(provider.device("a").contents().len(), 4);
}

#[test]
fn notifications_report_arrival_and_removal() {
    let (mgr, provider) = manager(&["a"], false);
    let seen: Arc<Mutex<Vec<(WmdmMessage, String)>>> = Arc::default();
    let sink = seen.clone();
    let id = mgr
        .subscribe(Arc::new(move |m: WmdmMessage, name: &str| {
            sink.lock().unwrap().push((m, name.to_owned()))
        }))
        .unwrap();
    assert_eq!(mgr.device_count().unwrap(), 1);
    provider.plug("b");
    assert_eq!(
        mgr.device_count().unwrap(),
        1,
        "the cache holds until polled"
    );
    let msgs = mgr.poll_changes().unwrap();
    assert_eq!(
        msgs,
        vec![(WmdmMessage::DEVICE_ARRIVAL, "flat:b".to_string())]
    );
    provider.unplug("a");
    mgr.poll_changes().unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            (WmdmMessage::DEVICE_ARRIVAL, "flat:b".to_string()),
            (WmdmMessage::DEVICE_REMOVAL, "flat:a".to_string()),
        ]
    );
    assert_eq!(mgr.device_count().unwrap(), 1);
    mgr.unsubscribe(id).unwrap();
    provider.plug("c");
    mgr.poll_changes().unwrap();
    assert_eq!(seen.lock().unwrap().len(), 2);
    mgr.reinitialize().unwrap();
    assert_eq!(mgr.device_count().unwrap(), 2);
}

#[test]
fn enum_preference_must_come_before_enumeration() {
    let (mgr, _) = manager(&["a"], false);
    mgr.set_device_enum_preference(DeviceEnumPreference::ALLOW_OUTOFBAND_NOTIFICATION)
        .unwrap();
    assert_eq!(
        mgr.set_device_enum_preference(DeviceEnumPreference::from_bits_retain(0x80))
            .unwrap_err(),
        Error::InvalidArg
    );
    mgr.devices().unwrap();
    assert_eq!(
        mgr.set_device_enum_preference(DeviceEnumPreference::empty())
            .unwrap_err(),
        Error::CallOutOfSequence
    );
}

#[test]
fn an_untrusted_provider_contributes_no_devices() {
    let clock = clock();
    let mgr = DeviceManager::new(config(Role::Manager, 20, Role::Application, &clock)).unwrap();
    // A provider whose certificate comes from an unknown root.
    let rogue = wmdm::sac::Certificate::issue(
        &request(Role::Provider, 66),
        "test root",
        untrusted_root_key(),
    )
    .unwrap();
    let cfg = wmdm::sac::ChannelConfig::new(
        wmdm::sac::Identity::new(rogue, provider_key().clone()).unwrap(),
        trust(&clock),
        Role::Manager,
    );
    let wrapped = AuthenticatedProvider::new(
        FlatProvider::new(&["evil"], false),
        wmdm::sac::SecureChannelServer::new(Arc::new(cfg)),
    );
    mgr.add_provider(wrapped.clone()).unwrap();
    mgr.add_provider(wrap_provider(FlatProvider::new(&["good"], false), &clock))
        .unwrap();
    mgr.authenticate(app_config(&clock)).unwrap();
    assert_eq!(device_names(&mgr), ["good"]);
    assert!(!wrapped.is_authenticated());
}

#[test]
fn the_application_must_present_an_application_certificate() {
    let clock = clock();
    let mgr = unauthenticated_manager(FlatProvider::new(&["a"], false), &clock);
    let not_an_app = Arc::new(config(Role::Provider, 11, Role::Manager, &clock));
    assert_eq!(
        mgr.authenticate(not_an_app).unwrap_err(),
        Error::NotCertified
    );
    assert!(!mgr.is_authenticated());
    let session = mgr.authenticate(app_config(&clock)).unwrap();
    assert_eq!(session.peer_certificate().role(), Role::Manager);
    assert_eq!(session.app_sec(), (1010, 1020));
    assert_eq!(
        mgr.authenticate(app_config(&clock)).unwrap_err(),
        Error::CallOutOfSequence
    );
}
