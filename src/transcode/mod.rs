//! Converting tracks for a device that cannot play them as they are (Windows Media Player's
//! "Convert files as required by this device"): the pure copy-or-convert decision
//! ([`decide`]), device profiles, an encoder trait with an `ffmpeg`
//! implementation and a fake for tests, and a cache of finished encodes.
//!
//! docs/transcode.md has the reasoning and the profile file's format.

mod decide;

pub use decide::{
    AUTO_BITRATE, Codec, ConvertReason, ConvertSettings, Decision, DeviceCaps, NoConvertReason,
    Quality, Target, converted_identity, decide, is_lossless, same_source,
};
