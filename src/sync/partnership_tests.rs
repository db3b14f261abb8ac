//! Unit tests of the partnership table and the device marker.

use super::*;

#[test]
fn marker_round_trip_and_errors() {
    let m = PartnershipMarker {
        library_id: "ab".repeat(16),
        index: 3,
        library_name: "Home\tPC".into(),
    };
    assert_eq!(PartnershipMarker::parse(&m.encode()), Ok(m));
    assert!(PartnershipMarker::parse(b"wmdm-sync-partnership 1\nlibrary=x\nindex=17\n").is_err());
    assert!(PartnershipMarker::parse(b"wmdm-sync-partnership 1\nindex=1\n").is_err());
    assert!(PartnershipMarker::parse(b"").is_err());
}

#[test]
fn sixteen_slots_then_a_clear_error() {
    let mut t = PartnershipTable::new("id", "lib");
    for i in 0..16 {
        assert_eq!(t.add(&format!("d{i}"), "", "f"), Ok(i as u8 + 1));
    }
    assert_eq!(
        t.add("d16", "", "f"),
        Err(Error::PdaCannotCreateAdditionalSyncRelationship)
    );
    assert_eq!(t.add("d3", "", "f"), Ok(4));
    assert_eq!(t.remove("d3"), Some(4));
    assert!(t.is_declined("d3"));
    assert_eq!(t.add("d16", "", "f"), Ok(4));
    let p = t.for_device_mut("d16").unwrap();
    p.settings.default_rules = true;
    p.settings.sync_filter = 0x0A;
    p.skipped.extend([TrackId(5), TrackId(u64::MAX)]);
    assert_eq!(PartnershipTable::parse(&t.encode()), Ok(t));
}

#[test]
fn a_freed_slot_remembers_its_last_device_until_the_slot_is_taken() {
    let mut t = PartnershipTable::new("id", "lib");
    assert_eq!(t.add("/m/a", "A", "f"), Ok(1));
    assert_eq!(t.add("/m/b", "B", "f"), Ok(2));
    assert_eq!(t.next_slot("C"), Some((3, None)));
    assert_eq!(t.release("A"), Some(1));
    assert_eq!(t.next_slot("C"), Some((1, Some("A"))));
    assert_eq!(t.next_slot("B"), Some((2, None)), "a device's own slot");
    let back = PartnershipTable::parse(&t.encode()).unwrap();
    assert_eq!(back, t);
    assert!(t.for_device("A").is_none() && !t.is_declined("A"));
    assert_eq!(t.add_slot("/m/c", "C", "f"), Ok((1, Some("A".to_owned()))));
    assert_eq!(t.next_slot("D"), Some((3, None)), "taken: forgotten");
    assert_eq!(t.remove("B"), Some(2));
    assert!(t.is_declined("B"));
    assert_eq!(t.next_slot("D"), Some((2, Some("B"))));
    // A record for a slot that is taken is dropped when read.
    let text = String::from_utf8(t.encode()).unwrap() + "freed=1:Z\n";
    assert_eq!(
        PartnershipTable::parse(text.as_bytes())
            .unwrap()
            .next_slot("D"),
        Some((2, Some("B")))
    );
}

#[test]
fn a_partnership_follows_its_serial_not_its_path() {
    let mut t = PartnershipTable::new("ab".repeat(16), "lib");
    assert_eq!(t.add("/media/STICK", "S1", "f"), Ok(1));
    let none = |_: &str| false;
    // The same serial at another path: the same slot, and the row remembers the path.
    assert_eq!(
        t.locate("S1", "/media/STICK1", None, &none),
        Some((1, true))
    );
    assert_eq!(
        t.for_device("S1").map(|p| p.device.as_str()),
        Some("/media/STICK1")
    );
    assert_eq!(
        t.locate("S1", "/media/STICK1", None, &none),
        Some((1, false))
    );
    // Another device at the old path is not ours.
    assert_eq!(t.locate("S2", "/media/STICK", None, &none), None);
    // A row without a serial (an old table) is matched by path once and upgraded.
    let mut old = PartnershipTable::parse(
        format!(
            "wmdm-sync-partnerships 1\nlibrary={}\nname=lib\nslot=2\ndevice=/mnt/p\n",
            "cd".repeat(16)
        )
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(old.locate("S9", "/mnt/p", None, &none), Some((2, true)));
    assert_eq!(old.for_device("S9").map(|p| p.index), Some(2));
    assert_eq!(old.locate("S8", "/mnt/p", None, &none), None);
    // A device whose serial changed is found by our marker, unless the row's device is here.
    let marker = PartnershipMarker {
        library_id: "ab".repeat(16),
        index: 1,
        library_name: "lib".into(),
    };
    assert_eq!(t.locate("S3", "/x", Some(&marker), &|k| k == "S1"), None);
    assert_eq!(t.locate("S3", "/x", Some(&marker), &none), Some((1, true)));
    assert_eq!(t.for_device("S3").map(|p| p.index), Some(1));
    let theirs = PartnershipMarker {
        library_id: "ef".repeat(16),
        ..marker
    };
    assert_eq!(t.locate("S4", "/y", Some(&theirs), &none), None);
}

#[test]
fn statuses_have_wmp_values() {
    assert_eq!(SyncDeviceStatus::NewDevice as i32, 5);
    assert_eq!(
        SyncDeviceStatus::from_i32(3),
        Some(SyncDeviceStatus::PartnershipAnother)
    );
    assert_eq!(SyncDeviceStatus::from_i32(6), None);
}

#[test]
fn a_sessions_counters_are_saved_whole_and_so_is_anything_else_changed_with_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = PartnershipTable::new("0".repeat(32), "lib");
    t.add("/media/a", "SERIAL-A", "A").unwrap();
    t.save(dir.path()).unwrap();
    let load = || PartnershipTable::load_or_create(dir.path(), "lib").unwrap();
    // Only the counters changed: they land.
    let p = t.for_device_mut("SERIAL-A").unwrap();
    p.last.time = Some(1_700_000_000);
    p.last.items = 42;
    t.save_counters(dir.path()).unwrap();
    assert_eq!(load(), t);
    // Something besides the counters changed too (a save that failed before): that lands
    // as well, not only the counters.
    let p = t.for_device_mut("SERIAL-A").unwrap();
    p.friendly_name = "renamed".into();
    p.last.errors = 3;
    t.save_counters(dir.path()).unwrap();
    assert_eq!(load(), t);
    // A damaged file on disk is replaced by the whole table.
    std::fs::write(dir.path().join(PARTNERSHIPS_FILE_NAME), b"garbage").unwrap();
    t.save_counters(dir.path()).unwrap();
    assert_eq!(load(), t);
}
