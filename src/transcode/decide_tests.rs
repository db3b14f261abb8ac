use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::library::{Track, TrackId};

fn track(name: &str, bitrate: u32, rate: u32, channels: u8) -> Track {
    let mut t = Track::new(TrackId(1), name);
    t.bitrate = bitrate;
    t.sample_rate = rate;
    t.channels = channels;
    t.duration = Duration::from_secs(180);
    t
}

fn mp3_only() -> DeviceCaps {
    DeviceCaps {
        formats: vec![FormatCode::MP3],
        max_bitrate: Some(192_000),
        sample_rates: vec![44_100, 48_000],
        max_channels: Some(2),
    }
}

#[test]
fn a_played_file_within_limits_is_copied() {
    let d = decide(
        &track("a.mp3", 128_000, 44_100, 2),
        &mp3_only(),
        &ConvertSettings::default(),
    );
    assert_eq!(d, Decision::Copy);
}

#[test]
fn flac_to_an_mp3_player_is_converted_to_mp3_at_the_limit() {
    let d = decide(
        &track("a.flac", 900_000, 96_000, 2),
        &mp3_only(),
        &ConvertSettings::default(),
    );
    let Decision::Convert { target, reason } = d else {
        panic!("{d:?}");
    };
    assert_eq!(reason, ConvertReason::FormatNotPlayed);
    assert_eq!(target.codec, Codec::Mp3);
    assert_eq!(target.bitrate, 192_000);
    assert_eq!(target.sample_rate, 48_000);
    assert_eq!(target.channels, 2);
}

#[test]
fn a_high_bitrate_mp3_is_converted_down_never_up() {
    let d = decide(
        &track("a.mp3", 320_000, 44_100, 2),
        &mp3_only(),
        &ConvertSettings::default(),
    );
    assert!(matches!(
        d,
        Decision::Convert {
            reason: ConvertReason::BitrateAboveLimit,
            target: Target {
                bitrate: 192_000,
                ..
            }
        }
    ));
    // A fixed quality above the source never raises it: the file is copied.
    let s = ConvertSettings {
        quality: Quality::MaxBitrate(256_000),
        ..ConvertSettings::default()
    };
    let caps = DeviceCaps::formats(&[FormatCode::MP3, FormatCode::OGG]);
    assert_eq!(
        decide(&track("a.mp3", 128_000, 44_100, 2), &caps, &s),
        Decision::Copy
    );
    // An unplayed lossy format converts at most at its own bitrate (rounded down).
    let d = decide(&track("a.ogg", 100_000, 44_100, 2), &mp3_only(), &s);
    assert!(matches!(
        d,
        Decision::Convert {
            target: Target {
                bitrate: 96_000,
                ..
            },
            ..
        }
    ));
}

#[test]
fn lossless_is_converted_only_when_asked() {
    let caps = DeviceCaps::formats(&[FormatCode::FLAC, FormatCode::MP3]);
    let t = track("a.flac", 900_000, 44_100, 2);
    assert_eq!(
        decide(&t, &caps, &ConvertSettings::default()),
        Decision::Copy
    );
    let s = ConvertSettings {
        convert_lossless: true,
        ..ConvertSettings::default()
    };
    assert!(matches!(
        decide(&t, &caps, &s),
        Decision::Convert {
            reason: ConvertReason::Lossless,
            ..
        }
    ));
}

#[test]
fn the_preferred_codec_wins_when_the_device_plays_it() {
    let caps = DeviceCaps::formats(&[FormatCode::MP3, FormatCode::OGG]);
    let s = ConvertSettings {
        preferred: Some(Codec::Vorbis),
        ..ConvertSettings::default()
    };
    let d = decide(&track("a.wav", 1_411_000, 44_100, 2), &caps, &s);
    assert!(matches!(
        d,
        Decision::Convert {
            target: Target {
                codec: Codec::Vorbis,
                ..
            },
            ..
        }
    ));
    // Not played: the device's first encodable format.
    let s = ConvertSettings {
        preferred: Some(Codec::Aac),
        ..ConvertSettings::default()
    };
    let d = decide(&track("a.wav", 1_411_000, 44_100, 2), &caps, &s);
    assert!(matches!(
        d,
        Decision::Convert {
            target: Target {
                codec: Codec::Mp3,
                ..
            },
            ..
        }
    ));
}

#[test]
fn no_target_or_no_encoder_leaves_the_track_out_with_both_reasons() {
    let caps = DeviceCaps::formats(&[FormatCode::WMA]);
    let d = decide(
        &track("a.flac", 0, 0, 0),
        &caps,
        &ConvertSettings::default(),
    );
    assert_eq!(
        d,
        Decision::LeaveOut {
            needed: ConvertReason::FormatNotPlayed,
            reason: NoConvertReason::NoTarget
        }
    );
    let s = ConvertSettings {
        available: Some(Vec::new()),
        ..ConvertSettings::default()
    };
    let d = decide(&track("a.flac", 0, 0, 0), &mp3_only(), &s);
    assert_eq!(
        d,
        Decision::LeaveOut {
            needed: ConvertReason::FormatNotPlayed,
            reason: NoConvertReason::EncoderMissing(Codec::Mp3)
        }
    );
    // A file that needs nothing is copied whatever the encoders.
    assert_eq!(
        decide(&track("a.mp3", 128_000, 44_100, 2), &mp3_only(), &s),
        Decision::Copy
    );
}

#[test]
fn sample_rate_and_channels_follow_the_device() {
    let d = decide(
        &track("a.mp3", 128_000, 22_050, 2),
        &mp3_only(),
        &ConvertSettings::default(),
    );
    assert!(matches!(
        d,
        Decision::Convert {
            reason: ConvertReason::SampleRate,
            target: Target {
                sample_rate: 44_100,
                bitrate: 128_000,
                ..
            }
        }
    ));
    let d = decide(
        &track("a.mp3", 128_000, 44_100, 6),
        &mp3_only(),
        &ConvertSettings::default(),
    );
    assert!(matches!(
        d,
        Decision::Convert {
            reason: ConvertReason::Channels,
            target: Target { channels: 2, .. }
        }
    ));
}

#[test]
fn a_low_sample_rate_caps_the_mp3_bitrate() {
    let caps = DeviceCaps::formats(&[FormatCode::MP3]);
    let d = decide(
        &track("a.wav", 128_000, 8_000, 1),
        &caps,
        &ConvertSettings::default(),
    );
    assert!(
        matches!(
            d,
            Decision::Convert {
                target: Target {
                    bitrate: 64_000,
                    sample_rate: 8_000,
                    channels: 1,
                    ..
                },
                ..
            }
        ),
        "{d:?}"
    );
    let d = decide(
        &track("a.wav", 705_600, 22_050, 2),
        &caps,
        &ConvertSettings::default(),
    );
    assert!(
        matches!(
            d,
            Decision::Convert {
                target: Target {
                    bitrate: 160_000,
                    ..
                },
                ..
            }
        ),
        "{d:?}"
    );
}

#[test]
fn capabilities_narrow_the_limits_and_ignore_junk() {
    use crate::provider::{PropConfig, PropDesc};
    let cap = FormatCapability {
        configs: vec![PropConfig {
            preference: 0,
            descriptions: vec![
                PropDesc {
                    name: tags::BITRATE.into(),
                    valid: ValidValues::Range {
                        min: PropValue::U32(32_000),
                        max: PropValue::U32(160_000),
                        step: PropValue::U32(1),
                    },
                },
                PropDesc {
                    name: tags::SAMPLE_RATE.into(),
                    valid: ValidValues::Enum(vec![
                        PropValue::U32(48_000),
                        PropValue::String("junk".into()),
                        PropValue::U32(44_100),
                    ]),
                },
                PropDesc {
                    name: tags::NUM_CHANNELS.into(),
                    valid: ValidValues::Enum(vec![PropValue::U64(u64::MAX)]),
                },
            ],
        }],
    };
    let caps = DeviceCaps::formats(&[FormatCode::MP3]).from_capability(&cap);
    assert_eq!(caps.max_bitrate, Some(160_000));
    assert_eq!(caps.sample_rates, vec![44_100, 48_000]);
    assert_eq!(caps.max_channels, None);
}

#[test]
fn estimates_are_duration_times_bitrate_plus_overhead() {
    let t = Target {
        codec: Codec::Mp3,
        bitrate: 128_000,
        sample_rate: 44_100,
        channels: 2,
    };
    let s = t.estimated_size(Duration::from_secs(60));
    assert!((960_000..1_000_000).contains(&s), "{s}");
    assert_ne!(
        t.key(),
        Target {
            bitrate: 192_000,
            ..t
        }
        .key()
    );
}

fn any_format() -> impl Strategy<Value = FormatCode> {
    prop::sample::select(vec![
        FormatCode::MP3,
        FormatCode::FLAC,
        FormatCode::WAVE,
        FormatCode::OGG,
        FormatCode::M4A,
        FormatCode::WMA,
        FormatCode::AIFF,
    ])
}

proptest! {
    #[test]
    fn decisions_respect_the_rules(
        format in any_format(),
        bitrate in prop_oneof![Just(0u32), 8_000u32..2_000_000],
        rate in prop_oneof![Just(0u32), 8_000u32..200_000],
        channels in 0u8..9,
        formats in prop::collection::vec(any_format(), 0..4),
        max_bitrate in prop::option::of(32_000u32..400_000),
        max_channels in prop::option::of(1u8..3),
        quality in prop::option::of(32_000u32..400_000),
        lossless in any::<bool>(),
    ) {
        let mut t = Track::new(TrackId(1), "x");
        t.format = format;
        t.bitrate = bitrate;
        t.sample_rate = rate;
        t.channels = channels;
        let caps = DeviceCaps { formats, max_bitrate, sample_rates: vec![44_100, 48_000], max_channels };
        let s = ConvertSettings {
            quality: quality.map_or(Quality::Auto, Quality::MaxBitrate),
            convert_lossless: lossless,
            ..ConvertSettings::default()
        };
        match decide(&t, &caps, &s) {
            Decision::Copy => {
                prop_assert!(caps.formats.contains(&format));
                if !is_lossless(format) {
                    prop_assert!(max_bitrate.is_none_or(|m| bitrate <= m));
                    prop_assert!(quality.is_none_or(|q| bitrate <= q));
                }
            }
            Decision::Convert { target, .. } => {
                prop_assert!(caps.formats.contains(&target.codec.format())
                    || (target.codec == Codec::Aac && caps.formats.contains(&FormatCode::AAC)));
                // Never up: at most the source's bitrate (or the codec's floor), the limits.
                if !is_lossless(format) && bitrate > 0 {
                    prop_assert!(target.bitrate <= bitrate.max(target.codec.min_bitrate()));
                }
                let cap = max_bitrate.unwrap_or(u32::MAX).min(quality.unwrap_or(u32::MAX));
                prop_assert!(target.bitrate <= cap.max(target.codec.min_bitrate()));
                prop_assert!(target.bitrate <= target.codec.max_bitrate_at(target.sample_rate));
                prop_assert!(caps.sample_rates.contains(&target.sample_rate));
                prop_assert!(target.channels >= 1 && max_channels.is_none_or(|m| target.channels <= m));
            }
            Decision::LeaveOut { .. } => {}
        }
    }
}

proptest! {
    #[test]
    fn the_identity_maps_to_itself_and_keeps_the_source(h in any::<[u8; 20]>(), b in 32_000u32..320_000) {
        let t = Target { codec: Codec::Mp3, bitrate: b, sample_rate: 44_100, channels: 2 };
        let id = converted_identity(ContentHash(h), &t);
        prop_assert_eq!(converted_identity(id, &t), id);
        prop_assert!(same_source(id, ContentHash(h)));
        let other = Target { bitrate: b + 1, ..t };
        prop_assert_ne!(converted_identity(ContentHash(h), &other), id);
    }
}
