//! The ffmpeg transcoder alone: found with its encoders, an encode that passes its check, and
//! checks that refuse a truncated file, the wrong codec and a wrong duration; a cancelled
//! encode stops at once. Skips without ffmpeg unless `WMDM_REQUIRE_FFMPEG=1`.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use wmdm::Error;
use wmdm::transcode::{Codec, FfmpegTranscoder, Target, Transcoder};

fn have_ffmpeg(test: &str) -> bool {
    let ok = FfmpegTranscoder::find(None).is_ok();
    if !ok {
        assert!(
            std::env::var("WMDM_REQUIRE_FFMPEG").as_deref() != Ok("1"),
            "{test}: ffmpeg/ffprobe not found on PATH, and WMDM_REQUIRE_FFMPEG=1"
        );
        eprintln!("{test}: SKIPPED: ffmpeg/ffprobe not found on PATH (install ffmpeg to run it)");
    }
    ok
}

fn sine(path: &Path, secs: u32) {
    let o = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg(format!("sine=frequency=440:duration={secs}"))
        .args(["-ar", "44100", "-ac", "2"])
        .arg(path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

const MP3: Target = Target {
    codec: Codec::Mp3,
    bitrate: 128_000,
    sample_rate: 44_100,
    channels: 2,
};

#[test]
fn encodes_are_checked_for_codec_decoding_and_duration() {
    if !have_ffmpeg("transcode_ffmpeg") {
        return;
    }
    let t = FfmpegTranscoder::find(None).unwrap();
    assert!(t.available().contains(&Codec::Mp3), "{:?}", t.available());
    assert!(t.version().starts_with("ffmpeg version"), "{}", t.version());
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("a.wav");
    sine(&src, 8);
    let out = dir.path().join("a.part");
    t.encode(&src, &MP3, &out, &AtomicBool::new(false)).unwrap();
    let secs = Duration::from_secs(8);
    t.check(&out, &MP3, secs).unwrap();
    // Not what was asked for: another codec, another duration.
    let vorbis = Target {
        codec: Codec::Vorbis,
        ..MP3
    };
    assert_eq!(t.check(&out, &vorbis, secs), Err(Error::ProcessFailed));
    assert_eq!(
        t.check(&out, &MP3, Duration::from_secs(20)),
        Err(Error::ProcessFailed)
    );
    // Cut in half: its header still says 8 s, but only half of it decodes.
    let bytes = std::fs::read(&out).unwrap();
    let cut = dir.path().join("cut.mp3");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    assert_eq!(t.check(&cut, &MP3, secs), Err(Error::ProcessFailed));
    // Garbage does not decode.
    std::fs::write(&cut, vec![0x55u8; 10_000]).unwrap();
    assert!(t.check(&cut, &MP3, secs).is_err());
}

#[test]
fn a_cancelled_encode_stops_at_once_and_a_missing_ffmpeg_is_an_error() {
    assert!(FfmpegTranscoder::find(Some(Path::new("/nonexistent/ffmpeg"))).is_err());
    if !have_ffmpeg("transcode_ffmpeg") {
        return;
    }
    let t = FfmpegTranscoder::find(None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("long.wav");
    sine(&src, 600);
    let started = Instant::now();
    let r = t.encode(
        &src,
        &MP3,
        &dir.path().join("x.part"),
        &AtomicBool::new(true),
    );
    assert_eq!(r, Err(Error::UserCancelled));
    assert!(started.elapsed() < Duration::from_secs(2));
}
