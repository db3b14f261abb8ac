//! The copy-or-convert decision: pure, per track and device.
//!
//! Windows Media Player converts a file during sync when the device cannot play its format, or
//! when a quality level is set, and never converts up in bitrate ("Convert files as required by
//! this device", automatic or fixed quality). The device's formats come from
//! IMDSPDevice::GetFormatSupport / `WMDM/FormatsSupported`, its limits from
//! IMDSPDevice3::GetFormatCapability ([`DeviceCaps::from_capability`]).

use crate::library::{ContentHash, Track};
use crate::metadata::{FormatCode, PropValue, tags};
use crate::provider::{FormatCapability, ValidValues};

/// An audio codec the crate can encode to, with the container it is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Codec {
    /// MPEG-1 Layer III in an `.mp3` file (ffmpeg's `libmp3lame`).
    Mp3,
    /// AAC-LC in an MPEG-4 `.m4a` file (ffmpeg's `aac`).
    Aac,
    /// Vorbis in an Ogg `.ogg` file (ffmpeg's `libvorbis`).
    Vorbis,
}

impl Codec {
    /// Every codec, in the order the decision prefers them when the device names none first.
    pub const ALL: [Codec; 3] = [Codec::Mp3, Codec::Aac, Codec::Vorbis];

    /// The codec that writes files of `format`, if the crate encodes that format.
    pub fn for_format(format: FormatCode) -> Option<Codec> {
        match format {
            FormatCode::MP3 => Some(Codec::Mp3),
            FormatCode::M4A | FormatCode::AAC => Some(Codec::Aac),
            FormatCode::OGG => Some(Codec::Vorbis),
            _ => None,
        }
    }

    /// The format code of the files this codec writes.
    pub fn format(self) -> FormatCode {
        match self {
            Codec::Mp3 => FormatCode::MP3,
            Codec::Aac => FormatCode::M4A,
            Codec::Vorbis => FormatCode::OGG,
        }
    }

    /// The file name extension of its files, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Codec::Mp3 => "mp3",
            Codec::Aac => "m4a",
            Codec::Vorbis => "ogg",
        }
    }

    /// The name of ffmpeg's encoder for it.
    pub fn encoder(self) -> &'static str {
        match self {
            Codec::Mp3 => "libmp3lame",
            Codec::Aac => "aac",
            Codec::Vorbis => "libvorbis",
        }
    }

    /// The name `ffprobe` reports for its streams.
    pub fn probe_name(self) -> &'static str {
        match self {
            Codec::Mp3 => "mp3",
            Codec::Aac => "aac",
            Codec::Vorbis => "vorbis",
        }
    }

    /// The lowest bitrate the codec is asked for, in bits per second.
    pub fn min_bitrate(self) -> u32 {
        32_000
    }

    /// The highest bitrate the codec is asked for, in bits per second.
    pub fn max_bitrate(self) -> u32 {
        320_000
    }

    /// The highest bitrate the codec writes at `sample_rate` (MPEG-2 and 2.5 Layer III,
    /// below 32 kHz, go to 160 and 64 kbit/s).
    pub fn max_bitrate_at(self, sample_rate: u32) -> u32 {
        match (self, sample_rate) {
            (Codec::Mp3, 0..16_000) => 64_000,
            (Codec::Mp3, 16_000..32_000) => 160_000,
            _ => self.max_bitrate(),
        }
    }

    /// The sample rates the codec writes (empty: any).
    pub fn sample_rates(self) -> &'static [u32] {
        match self {
            Codec::Mp3 => &[
                8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000,
            ],
            Codec::Aac => &[
                8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000, 64_000,
                88_200, 96_000,
            ],
            Codec::Vorbis => &[],
        }
    }

    /// The most channels the codec writes.
    pub fn max_channels(self) -> u8 {
        match self {
            Codec::Mp3 => 2,
            Codec::Aac | Codec::Vorbis => 8,
        }
    }

    /// Container bytes per second of audio beyond the bitrate (frame headers, page headers,
    /// indexes), for estimates.
    pub fn overhead_per_second(self) -> u64 {
        match self {
            Codec::Mp3 => 200,
            Codec::Aac => 400,
            Codec::Vorbis => 300,
        }
    }

    /// The codec's name in a profile file and on the command line (`mp3`, `aac`, `vorbis`).
    pub fn name(self) -> &'static str {
        match self {
            Codec::Mp3 => "mp3",
            Codec::Aac => "aac",
            Codec::Vorbis => "vorbis",
        }
    }

    /// The codec with this [`name`](Self::name) (any case); `m4a` and `ogg` are accepted too.
    pub fn from_name(name: &str) -> Option<Codec> {
        match name.to_ascii_lowercase().as_str() {
            "mp3" => Some(Codec::Mp3),
            "aac" | "m4a" => Some(Codec::Aac),
            "vorbis" | "ogg" => Some(Codec::Vorbis),
            _ => None,
        }
    }
}

/// MP3's standard bitrates (bits per second); a constant-bitrate MP3 encoder writes only
/// these, so a target is rounded down to one of them (never up).
const MP3_RATES: [u32; 14] = [
    32_000, 40_000, 48_000, 56_000, 64_000, 80_000, 96_000, 112_000, 128_000, 160_000, 192_000,
    224_000, 256_000, 320_000,
];

/// The bitrate automatic quality converts to when nothing lower is asked for: what Windows
/// Media Player's automatic setting picks for a typical portable player.
pub const AUTO_BITRATE: u32 = 192_000;

/// What a device plays: its formats and the limits of the lossy ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceCaps {
    /// The formats it plays, most preferred first.
    pub formats: Vec<FormatCode>,
    /// The highest bitrate it plays (bits per second); `None` for no limit.
    pub max_bitrate: Option<u32>,
    /// The sample rates it plays (empty: any).
    pub sample_rates: Vec<u32>,
    /// The most channels it plays; `None` for no limit.
    pub max_channels: Option<u8>,
}

impl DeviceCaps {
    /// Devices that play `formats` without limits.
    pub fn formats(formats: &[FormatCode]) -> DeviceCaps {
        DeviceCaps {
            formats: formats.to_vec(),
            ..DeviceCaps::default()
        }
    }

    /// Narrows the limits by what IMDSPDevice3::GetFormatCapability reports for one format:
    /// the largest `WMDM/Bitrate` of any configuration, the union of their `WMDM/SampleRate`
    /// enumerations and the largest `WMDM/NumChannels`. Descriptions that are not numbers
    /// are ignored (the device's answer is hostile input).
    pub fn from_capability(mut self, capability: &FormatCapability) -> DeviceCaps {
        let num = |v: &PropValue| match v {
            PropValue::U32(n) => Some(*n),
            PropValue::U64(n) => u32::try_from(*n).ok(),
            _ => None,
        };
        let mut bitrate: Option<u32> = None;
        let mut rates: Vec<u32> = Vec::new();
        let mut channels: Option<u32> = None;
        for desc in capability.configs.iter().flat_map(|c| &c.descriptions) {
            let values: Vec<u32> = match &desc.valid {
                ValidValues::Any => continue,
                ValidValues::Range { max, .. } => num(max).into_iter().collect(),
                ValidValues::Enum(v) => v.iter().filter_map(num).collect(),
            };
            let Some(&top) = values.iter().max() else {
                continue;
            };
            if desc.name == tags::BITRATE {
                bitrate = Some(bitrate.map_or(top, |b| b.max(top)));
            } else if desc.name == tags::SAMPLE_RATE {
                rates.extend(values);
            } else if desc.name == tags::NUM_CHANNELS {
                channels = Some(channels.map_or(top, |c| c.max(top)));
            }
        }
        if let Some(b) = bitrate {
            self.max_bitrate = Some(self.max_bitrate.map_or(b, |m| m.min(b)));
        }
        if !rates.is_empty() {
            rates.sort_unstable();
            rates.dedup();
            self.sample_rates = rates;
        }
        if let Some(c) = channels {
            let c = u8::try_from(c).unwrap_or(u8::MAX);
            self.max_channels = Some(self.max_channels.map_or(c, |m| m.min(c)));
        }
        self
    }
}

/// The partnership's conversion quality (WMP's "Quality": automatic or a fixed level).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Quality {
    /// Convert only what the device needs, at [`AUTO_BITRATE`] or the device's limit.
    #[default]
    Auto,
    /// Convert lossy files above this bitrate (bits per second), and encode at most at it.
    MaxBitrate(u32),
}

/// The partnership's conversion settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConvertSettings {
    /// Automatic or a maximum bitrate.
    pub quality: Quality,
    /// Convert lossless files (FLAC, WAV, AIFF) to a lossy format even when the device plays
    /// them, to save space.
    pub convert_lossless: bool,
    /// The codec to convert to when the device plays it; otherwise the device's most
    /// preferred format the crate encodes.
    pub preferred: Option<Codec>,
    /// The codecs that can be encoded now (ffmpeg found, its encoders checked); `None` when
    /// not known, which plans every conversion as possible.
    pub available: Option<Vec<Codec>>,
}

/// What a conversion writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Target {
    /// The codec (and so the container and extension).
    pub codec: Codec,
    /// Bits per second.
    pub bitrate: u32,
    /// Hertz.
    pub sample_rate: u32,
    /// Channels.
    pub channels: u8,
}

impl Target {
    /// A stable 64-bit key of what the conversion writes (codec, bitrate, rate, channels):
    /// with the source's content hash and the encoder's version it names a converted file.
    pub fn key(&self) -> u64 {
        // A fixed function (SHA-1), not std's hasher, so the key is the same on every run.
        let text = format!(
            "{}/{}/{}/{}",
            self.codec.name(),
            self.bitrate,
            self.sample_rate,
            self.channels
        );
        let h = crate::library::ContentHash::of_bytes(text.as_bytes()).0;
        let mut k = [0u8; 8];
        k.copy_from_slice(h.get(..8).unwrap_or(&[0; 8]));
        u64::from_le_bytes(k)
    }

    /// The encoded size of `duration` of audio: bitrate times duration plus the codec's
    /// container overhead, for estimates before encoding.
    pub fn estimated_size(&self, duration: std::time::Duration) -> u64 {
        let ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        let audio = u64::from(self.bitrate).saturating_mul(ms) / 8_000;
        let overhead = self.codec.overhead_per_second().saturating_mul(ms) / 1_000;
        // Headers and tags the encoder writes whatever the length.
        audio.saturating_add(overhead).saturating_add(4_096)
    }
}

/// What the ledger records as the identity of a converted file: the first 12 bytes of the
/// library file's SHA-1 followed by the target's [`key`](Target::key), so the same source
/// converted the same way is up to date and a changed profile converts again. Built so that
/// it maps to itself: the sync's quick check hands the planner the ledger's value instead of
/// hashing an unchanged library file, and `converted_identity(converted_identity(h, t), t)` is
/// `converted_identity(h, t)`. The encoder's version is not part of it: a new ffmpeg does not
/// convert a device's files again (the cache, which it keys, starts afresh).
pub fn converted_identity(source: ContentHash, target: &Target) -> ContentHash {
    let mut out = [0u8; 20];
    out[..12].copy_from_slice(&source.0[..12]);
    out[12..].copy_from_slice(&target.key().to_le_bytes());
    ContentHash(out)
}

/// True when `hash` (a library file's SHA-1, or a [`converted_identity`] of one) and the
/// library file's SHA-1 `source` name the same bytes.
pub fn same_source(hash: ContentHash, source: ContentHash) -> bool {
    hash.0[..12] == source.0[..12]
}

/// Why a track is converted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum ConvertReason {
    /// The device does not play its format.
    FormatNotPlayed,
    /// The partnership converts lossless files to save space.
    Lossless,
    /// Its bitrate is above the device's or the partnership's limit.
    BitrateAboveLimit,
    /// The device does not play its sample rate.
    SampleRate,
    /// It has more channels than the device plays.
    Channels,
}

/// Why a track that would need converting cannot be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum NoConvertReason {
    /// It is not audio, or the device plays no format the crate encodes.
    NoTarget,
    /// The encoder for the target is missing (no ffmpeg, or an ffmpeg without it).
    EncoderMissing(Codec),
}

/// The decision for one track on one device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Copy the file as it is.
    Copy,
    /// Convert it.
    Convert {
        /// What to write.
        target: Target,
        /// Why.
        reason: ConvertReason,
    },
    /// It needs converting and cannot be.
    LeaveOut {
        /// Why it needed converting.
        needed: ConvertReason,
        /// Why it cannot be.
        reason: NoConvertReason,
    },
}

/// True for lossless formats (FLAC, WAV, AIFF).
pub fn is_lossless(format: FormatCode) -> bool {
    format.is_lossless()
}

/// Decides how `track` goes to a device with `caps`, under `settings`. Never raises the
/// bitrate of a lossy source (a target is at most the source's bitrate, except that a source
/// below the codec's lowest bitrate is encoded at that lowest one), and copies whenever the
/// device plays the file within its limits and the settings ask for nothing else.
pub fn decide(track: &Track, caps: &DeviceCaps, settings: &ConvertSettings) -> Decision {
    let format = track.format;
    let lossless = is_lossless(format);
    let limit = match (caps.max_bitrate, settings.quality) {
        (Some(d), Quality::MaxBitrate(q)) => Some(d.min(q)),
        (Some(d), Quality::Auto) => Some(d),
        (None, Quality::MaxBitrate(q)) => Some(q),
        (None, Quality::Auto) => None,
    };
    let played = caps.formats.contains(&format);
    let reason = if !played {
        Some(ConvertReason::FormatNotPlayed)
    } else if lossless && settings.convert_lossless {
        Some(ConvertReason::Lossless)
    } else if !lossless && limit.is_some_and(|l| track.bitrate > l) {
        Some(ConvertReason::BitrateAboveLimit)
    } else if track.sample_rate != 0
        && !caps.sample_rates.is_empty()
        && !caps.sample_rates.contains(&track.sample_rate)
    {
        Some(ConvertReason::SampleRate)
    } else if caps.max_channels.is_some_and(|m| track.channels > m) {
        Some(ConvertReason::Channels)
    } else {
        None
    };
    let Some(needed) = reason else {
        return Decision::Copy;
    };
    let leave = |reason| Decision::LeaveOut { needed, reason };
    if !format.is_audio() && !matches!(format, FormatCode::FLAC | FormatCode::OGG) {
        return leave(NoConvertReason::NoTarget);
    }
    // The device's formats the crate encodes, the preferred codec first.
    let mut codecs: Vec<Codec> = caps
        .formats
        .iter()
        .filter_map(|&f| Codec::for_format(f))
        .collect();
    codecs.dedup();
    if let Some(p) = settings.preferred
        && let Some(at) = codecs.iter().position(|&c| c == p)
    {
        codecs.remove(at);
        codecs.insert(0, p);
    }
    let Some(&codec) = codecs.first() else {
        return leave(NoConvertReason::NoTarget);
    };
    if settings
        .available
        .as_ref()
        .is_some_and(|a| !a.contains(&codec))
    {
        return leave(NoConvertReason::EncoderMissing(codec));
    }
    let cap = match settings.quality {
        Quality::Auto => AUTO_BITRATE.min(caps.max_bitrate.unwrap_or(u32::MAX)),
        Quality::MaxBitrate(_) => limit.unwrap_or(AUTO_BITRATE),
    };
    Decision::Convert {
        target: target_for(track, codec, caps, cap),
        reason: needed,
    }
}

fn target_for(track: &Track, codec: Codec, caps: &DeviceCaps, cap: u32) -> Target {
    let mut bitrate = cap;
    if !is_lossless(track.format) && track.bitrate > 0 {
        bitrate = bitrate.min(track.bitrate);
    }
    // Rates both the codec and the device take; the source's own when allowed, else the
    // highest below it (never upsampling without need), else the lowest above.
    let allowed = |r: u32| {
        (codec.sample_rates().is_empty() || codec.sample_rates().contains(&r))
            && (caps.sample_rates.is_empty() || caps.sample_rates.contains(&r))
    };
    let source_rate = if track.sample_rate == 0 {
        44_100
    } else {
        track.sample_rate
    };
    let mut candidates: Vec<u32> = codec
        .sample_rates()
        .iter()
        .chain(&caps.sample_rates)
        .copied()
        .filter(|&r| allowed(r))
        .collect();
    candidates.sort_unstable();
    candidates.dedup();
    let sample_rate = if allowed(source_rate) {
        source_rate
    } else {
        candidates
            .iter()
            .copied()
            .filter(|&r| r <= source_rate)
            .max()
            .or_else(|| candidates.first().copied())
            .unwrap_or(44_100)
    };
    let source_channels = if track.channels == 0 {
        2
    } else {
        track.channels
    };
    let channels = source_channels
        .min(codec.max_channels())
        .min(caps.max_channels.unwrap_or(u8::MAX))
        .max(1);
    // The codec's range at that rate (MP3 at 16-24 kHz stops at 160 kbit/s, at 8-12 kHz at
    // 64), and MP3's standard rates, rounded down.
    bitrate = bitrate.clamp(codec.min_bitrate(), codec.max_bitrate_at(sample_rate));
    if codec == Codec::Mp3 {
        bitrate = MP3_RATES
            .iter()
            .copied()
            .filter(|&r| r <= bitrate)
            .max()
            .unwrap_or(codec.min_bitrate());
    }
    Target {
        codec,
        bitrate,
        sample_rate,
        channels,
    }
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
