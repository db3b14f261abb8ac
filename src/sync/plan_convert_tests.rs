//! The planner with conversions: which tracks convert, to what path and size, and how a
//! converted file is recognised as up to date on the next plan.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use super::*;
use crate::library::{ContentHash, MemoryLibrary, PlaylistId, Selection};
use crate::metadata::FormatCode;
use crate::sync::journal::{Ledger, OwnedKind};
use crate::transcode::{Codec, ConvertReason, ConvertSettings, DeviceCaps, NoConvertReason};

fn library() -> (MemoryLibrary, HashMap<TrackId, ContentHash>) {
    let mut l = MemoryLibrary::new();
    let mut h = HashMap::new();
    for (i, name) in [(1u64, "A/x/1.flac"), (2, "A/x/2.wav"), (3, "A/x/3.mp3")] {
        let mut t = Track::new(TrackId(i), name);
        t.title = format!("T{i}");
        t.album_artist = "A".into();
        t.album = "x".into();
        t.duration = Duration::from_secs(60);
        t.bitrate = if i == 3 { 128_000 } else { 1_411_000 };
        t.sample_rate = 44_100;
        t.channels = 2;
        let bytes = vec![i as u8; 10_000];
        h.insert(TrackId(i), ContentHash::of_bytes(&bytes));
        l.add_track(t, bytes);
    }
    (l, h)
}

fn mp3_settings(available: Option<Vec<Codec>>) -> PlanSettings {
    PlanSettings {
        formats: Some(vec![FormatCode::MP3]),
        convert: Some(ConvertSettings {
            available,
            ..ConvertSettings::default()
        }),
        device_caps: DeviceCaps {
            max_bitrate: Some(160_000),
            ..DeviceCaps::default()
        },
        ..PlanSettings::default()
    }
}

fn plan_with(
    l: &MemoryLibrary,
    h: &HashMap<TrackId, ContentHash>,
    d: &DeviceContents,
    ledger: &Ledger,
    settings: &PlanSettings,
) -> SyncPlan {
    let sel = [Selection {
        priority: 1,
        playlist: PlaylistId(1),
        tracks: vec![TrackId(1), TrackId(2), TrackId(3)],
    }];
    plan(&PlanInput {
        library: l,
        selection: &sel,
        hashes: h,
        device: d,
        ledger,
        settings,
        skipped: &HashSet::new(),
        adoptable: None,
    })
}

fn device() -> DeviceContents {
    DeviceContents {
        capacity: 1 << 30,
        free: 1 << 30,
        ..DeviceContents::default()
    }
}

/// The ledger a sync of `p` leaves, with the device holding each file at its planned size.
fn applied(p: &SyncPlan, d: &mut DeviceContents) -> Ledger {
    let mut ledger = Ledger::new("x", 1);
    for op in &p.ops {
        if let SyncOp::Copy {
            track,
            path,
            size,
            hash,
            meta,
            convert,
            ..
        } = op
        {
            let h = hash.expect("planned with hashes");
            let h = convert.map_or(h, |c| crate::transcode::converted_identity(h, &c.target));
            d.files.insert(
                path.clone(),
                DeviceFile {
                    size: *size,
                    unique_id: path.clone(),
                    modified_ns: 0,
                },
            );
            ledger.insert(LedgerEntry {
                path: path.clone(),
                unique_id: path.clone(),
                kind: OwnedKind::Track,
                id: track.0,
                hash: h.0,
                size: *size,
                meta: *meta,
                source_size: 10_000,
                source_mtime: 0,
                plays: 0,
                rating: 0,
                seen: None,
                fingerprint: None,
            });
        }
    }
    ledger
}

#[test]
fn lossless_tracks_convert_to_mp3_paths_with_encoded_sizes_and_mp3_copies() {
    let (l, h) = library();
    let p = plan_with(&l, &h, &device(), &Ledger::new("x", 1), &mp3_settings(None));
    assert_eq!(p.totals.copies, 3);
    assert_eq!(p.totals.conversions, 2);
    let mut seen = Vec::new();
    for op in &p.ops {
        if let SyncOp::Copy {
            path,
            size,
            convert,
            ..
        } = op
        {
            assert!(path.ends_with(".mp3"), "{path}");
            if let Some(c) = convert {
                assert_eq!(c.reason, ConvertReason::FormatNotPlayed);
                assert_eq!(c.target.codec, Codec::Mp3);
                assert_eq!(c.target.bitrate, 160_000);
                // 60 s at 160 kbit/s is 1.2 MB, plus overhead.
                assert!((1_200_000..1_300_000).contains(size), "{size}");
            } else {
                assert_eq!(*size, 10_000);
            }
            seen.push(path.clone());
        }
    }
    assert_eq!(seen.len(), 3);
    // Estimates are in encoded sizes.
    assert!(p.totals.bytes_to_copy > 2_400_000);
}

#[test]
fn a_converted_track_is_up_to_date_on_the_next_plan_and_a_tag_edit_retags() {
    let (mut l, h) = library();
    let settings = mp3_settings(Some(vec![Codec::Mp3]));
    let mut d = device();
    let first = plan_with(&l, &h, &d, &Ledger::new("x", 1), &settings);
    let ledger = applied(&first, &mut d);
    let again = plan_with(&l, &h, &d, &ledger, &settings);
    assert!(again.is_noop(), "{:?}", again.ops);
    // The quick check hands over the ledger's hashes for unchanged library files.
    let quick: HashMap<TrackId, ContentHash> = ledger
        .entries
        .values()
        .map(|e| (TrackId(e.id), ContentHash(e.hash)))
        .collect();
    let again = plan_with(&l, &quick, &d, &ledger, &settings);
    assert!(again.is_noop(), "{:?}", again.ops);
    // A device that now plays FLAC: the FLAC is copied with its hash unknown (the ledger's is
    // the conversion's, not the library file's).
    let mut flac = settings.clone();
    flac.formats = Some(vec![FormatCode::MP3, FormatCode::FLAC, FormatCode::WAVE]);
    let p = plan_with(&l, &quick, &d, &ledger, &flac);
    for op in &p.ops {
        if let SyncOp::Copy { hash, convert, .. } = op {
            assert_eq!((*hash, *convert), (None, None));
        }
    }
    assert_eq!(p.totals.copies, 2);
    // Without an encoder now, the converted files still stand.
    let none = plan_with(&l, &h, &d, &ledger, &mp3_settings(Some(Vec::new())));
    assert!(none.is_noop(), "{:?}", none.ops);
    // A tag edit is a metadata update, not a conversion.
    l.track_mut(TrackId(1)).unwrap().title = "New".into();
    let edited = plan_with(&l, &h, &d, &ledger, &settings);
    assert_eq!(edited.totals.metadata_updates, 1);
    assert_eq!(edited.totals.conversions, 0);
    assert_eq!(edited.totals.copies + edited.totals.replaces, 0);
}

#[test]
fn a_changed_profile_converts_again_in_place() {
    let (l, h) = library();
    let settings = mp3_settings(None);
    let mut d = device();
    let first = plan_with(&l, &h, &d, &Ledger::new("x", 1), &settings);
    let ledger = applied(&first, &mut d);
    let mut lower = settings.clone();
    lower.device_caps.max_bitrate = Some(96_000);
    let p = plan_with(&l, &h, &d, &ledger, &lower);
    // The two conversions, and the MP3 above 96 kbit/s, are replaced at their paths.
    assert_eq!(p.totals.replaces, 3, "{:?}", p.ops);
    assert_eq!(p.totals.conversions, 3);
    assert_eq!(p.totals.deletes, 0);
}

#[test]
fn a_device_that_now_plays_flac_gets_the_flac_and_the_mp3_goes() {
    let (l, h) = library();
    let settings = mp3_settings(None);
    let mut d = device();
    let first = plan_with(&l, &h, &d, &Ledger::new("x", 1), &settings);
    let ledger = applied(&first, &mut d);
    let mut flac = settings.clone();
    flac.formats = Some(vec![FormatCode::MP3, FormatCode::FLAC]);
    let p = plan_with(&l, &h, &d, &ledger, &flac);
    let copied: Vec<&str> = p
        .ops
        .iter()
        .filter_map(|o| match o {
            SyncOp::Copy {
                path,
                convert: None,
                ..
            } => Some(path.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(copied.len(), 1);
    assert!(copied[0].ends_with("T1.flac"), "{copied:?}");
    assert_eq!(p.totals.deletes, 1);
}

#[test]
fn without_an_encoder_each_track_needing_one_is_left_out_with_its_reason() {
    let (l, h) = library();
    let p = plan_with(
        &l,
        &h,
        &device(),
        &Ledger::new("x", 1),
        &mp3_settings(Some(Vec::new())),
    );
    assert_eq!(p.totals.copies, 1);
    let reasons: Vec<_> = p.left_out.iter().map(|l| (l.track, l.reason)).collect();
    let want = LeftOutReason::CannotConvert {
        needed: ConvertReason::FormatNotPlayed,
        reason: NoConvertReason::EncoderMissing(Codec::Mp3),
    };
    assert_eq!(reasons, vec![(TrackId(1), want), (TrackId(2), want)]);
}

#[test]
fn converted_files_smaller_than_estimated_give_the_next_plan_no_new_room() {
    let (l, h) = library();
    let settings = mp3_settings(None);
    let mut d = device();
    let first = plan_with(&l, &h, &d, &Ledger::new("x", 1), &settings);
    let mut ledger = applied(&first, &mut d);
    // The encoder wrote less than estimated (as it usually does).
    for e in ledger.entries.values_mut() {
        e.size -= 500;
        if let Some(f) = d.files.get_mut(&e.path) {
            f.size = e.size;
        }
    }
    let again = plan_with(&l, &h, &d, &ledger, &settings);
    assert!(again.is_noop(), "{:?}", again.ops);
    // The two conversions count their estimates, the copy its real size.
    assert_eq!(
        again.totals.bytes_owned_after,
        first.totals.bytes_owned_after - 500,
        "{:?} {:?}",
        first.totals,
        again.totals
    );
}

#[test]
fn a_template_without_the_extension_placeholder_is_still_a_fixed_point() {
    let (l, h) = library();
    let mut settings = mp3_settings(None);
    settings.template = crate::library::PathTemplate::parse("{albumartist}/{title}").unwrap();
    let mut d = device();
    let first = plan_with(&l, &h, &d, &Ledger::new("x", 1), &settings);
    assert_eq!(first.totals.conversions, 2);
    let ledger = applied(&first, &mut d);
    let again = plan_with(&l, &h, &d, &ledger, &settings);
    assert!(again.is_noop(), "{:?}", again.ops);
}
