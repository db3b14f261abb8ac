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
mod pool;
mod transcoder;

pub use cache::{DEFAULT_CACHE_BYTES, STALE_PART, TranscodeCache};
pub use decide::{
    AUTO_BITRATE, Codec, ConvertReason, ConvertSettings, Decision, DeviceCaps, NoConvertReason,
    Quality, Target, converted_identity, decide, is_lossless, same_source,
};
pub use ffmpeg::FfmpegTranscoder;
pub use pool::{EncodePool, Encoded, Job, Transcoding};
pub use transcoder::{FakeTranscoder, Transcoder, duration_matches};
