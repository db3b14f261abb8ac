//! Converting tracks for a device that cannot play them as they are (Windows Media Player's
//! "Convert files as required by this device"): the pure copy-or-convert decision
//! ([`decide`]), device profiles, an encoder trait with an `ffmpeg`
//! implementation and a fake for tests, and a cache of finished encodes.
//!
//! docs/transcode.md has the reasoning and the profile file's format.

mod art;
mod cache;
mod decide;
mod ffmpeg;
mod fingerprint;
mod pool;
mod transcoder;

pub use cache::{DEFAULT_CACHE_BYTES, STALE_PART, TranscodeCache};
pub use decide::{
    AUTO_BITRATE, Codec, ConvertReason, ConvertSettings, Decision, DeviceCaps, NoConvertReason,
    Quality, Target, converted_identity, decide, is_lossless, same_source,
};
pub use ffmpeg::FfmpegTranscoder;
pub use fingerprint::audio_fingerprint;
pub use pool::{EncodePool, Encoded, Job, Transcoding};
pub use transcoder::{FakeTranscoder, Transcoder, duration_matches};

/// What a sync's conversions did (in [`SyncSummary`](crate::sync::SyncSummary)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct TranscodeStats {
    /// Tracks put on the device converted.
    pub converted: u32,
    /// Of those, encodes taken from the cache instead of encoded again.
    pub reused: u32,
    /// Time the encoder threads spent encoding and checking, summed over threads.
    pub encode_time: std::time::Duration,
    /// Selected tracks the plan left out because the encoder they need is missing (no
    /// ffmpeg, or one without that encoder).
    pub missing_encoder: u32,
}
