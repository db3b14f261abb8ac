//! The encoder behind a trait, and a fake one for tests.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use super::decide::{Codec, Target};
use crate::error::{Error, Result};
use crate::library::ContentHash;

/// Something that converts audio files: `ffmpeg` ([`FfmpegTranscoder`](super::FfmpegTranscoder))
/// or a test double ([`FakeTranscoder`]). Called from several worker threads at once.
///
/// The crate writes the tags and the cover art itself afterwards, so an encoder writes the
/// audio only.
pub trait Transcoder: Send + Sync + std::fmt::Debug {
    /// The codecs it can encode now (its encoders were checked).
    fn available(&self) -> Vec<Codec>;

    /// Its version, part of the cache key: a new encoder does not reuse an old one's output.
    fn version(&self) -> String;

    /// Converts `source` to `target`, writing `out` (which does not exist yet).
    ///
    /// # Errors
    /// [`Error::UserCancelled`] when `cancel` was set while it ran (what it wrote is then
    /// the caller's to remove); [`Error::NotSupported`] for a codec it lacks;
    /// [`Error::ProcessFailed`] when the encoder failed.
    fn encode(&self, source: &Path, target: &Target, out: &Path, cancel: &AtomicBool)
    -> Result<()>;

    /// Checks a finished encode: it decodes, its stream has the target's codec, and its
    /// duration is `duration` within half a second or 1% (a `duration` of zero, unknown,
    /// checks only that it decodes and is not empty).
    ///
    /// # Errors
    /// [`Error::ProcessFailed`] naming nothing more (the log has the details) when it does not.
    fn check(&self, out: &Path, target: &Target, duration: Duration) -> Result<()>;

    /// True when its output is audio in the target's container, so the crate gives it a tag
    /// with the source's cover art (the default). A test double that writes other bytes
    /// says `false`.
    fn writes_audio(&self) -> bool {
        true
    }
}

/// Whether a measured duration is the expected one: within half a second or 1%.
pub fn duration_matches(expected: Duration, got: Duration) -> bool {
    if expected.is_zero() {
        return !got.is_zero();
    }
    let tolerance = (expected / 100).max(Duration::from_millis(500));
    expected.abs_diff(got) <= tolerance
}

const FAKE_MAGIC: &[u8; 8] = b"WMDMFAKE";

/// A transcoder for tests: it "encodes" by writing a small file naming the source's SHA-1
/// and the target (no audio), counts its calls, and checks only its own files. It can be told
/// to take time (so tests can stop it mid-encode) or to lack codecs.
#[derive(Debug)]
pub struct FakeTranscoder {
    available: Vec<Codec>,
    delay: Duration,
    encodes: AtomicUsize,
    checks: AtomicUsize,
}

impl Default for FakeTranscoder {
    fn default() -> Self {
        FakeTranscoder::new(Codec::ALL.to_vec())
    }
}

impl FakeTranscoder {
    /// A fake with these codecs.
    pub fn new(available: Vec<Codec>) -> FakeTranscoder {
        FakeTranscoder {
            available,
            delay: Duration::ZERO,
            encodes: AtomicUsize::new(0),
            checks: AtomicUsize::new(0),
        }
    }

    /// Makes each encode take `delay` (checking for cancellation as it waits).
    pub fn with_delay(mut self, delay: Duration) -> FakeTranscoder {
        self.delay = delay;
        self
    }

    /// Encodes started so far.
    pub fn encodes(&self) -> usize {
        self.encodes.load(Ordering::SeqCst)
    }

    /// Checks made so far.
    pub fn checks(&self) -> usize {
        self.checks.load(Ordering::SeqCst)
    }

    /// The bytes the fake writes for `source` (its SHA-1) and `target`.
    pub fn output(source: ContentHash, target: &Target) -> Vec<u8> {
        let mut v = FAKE_MAGIC.to_vec();
        v.extend_from_slice(&source.0);
        v.extend_from_slice(&target.key().to_le_bytes());
        v
    }
}

impl Transcoder for FakeTranscoder {
    fn available(&self) -> Vec<Codec> {
        self.available.clone()
    }

    fn version(&self) -> String {
        "fake 1".to_owned()
    }

    fn encode(
        &self,
        source: &Path,
        target: &Target,
        out: &Path,
        cancel: &AtomicBool,
    ) -> Result<()> {
        self.encodes.fetch_add(1, Ordering::SeqCst);
        if !self.available.contains(&target.codec) {
            return Err(Error::NotSupported);
        }
        let hash = ContentHash::of_reader(std::fs::File::open(source)?)?;
        let start = std::time::Instant::now();
        while start.elapsed() < self.delay {
            if cancel.load(Ordering::Relaxed) {
                return Err(Error::UserCancelled);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        std::fs::write(out, Self::output(hash, target))?;
        Ok(())
    }

    fn check(&self, out: &Path, _target: &Target, _duration: Duration) -> Result<()> {
        self.checks.fetch_add(1, Ordering::SeqCst);
        let bytes = std::fs::read(out)?;
        if bytes.len() == FAKE_MAGIC.len() + 28 && bytes.starts_with(FAKE_MAGIC) {
            Ok(())
        } else {
            Err(Error::ProcessFailed)
        }
    }

    fn writes_audio(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_match_within_tolerance() {
        let s = Duration::from_secs;
        assert!(duration_matches(
            s(100),
            s(100) + Duration::from_millis(900)
        ));
        assert!(!duration_matches(s(100), s(102)));
        assert!(duration_matches(s(2), Duration::from_millis(2_400)));
        assert!(!duration_matches(s(2), Duration::from_millis(2_600)));
        assert!(duration_matches(Duration::ZERO, s(1)));
        assert!(!duration_matches(Duration::ZERO, Duration::ZERO));
    }
}
