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

#[test]
fn every_codec_encodes_checks_and_keeps_the_cover_art_through_the_pool() {
    use std::sync::Arc;
    use wmdm::library::TrackId;
    use wmdm::transcode::{EncodePool, Job, TranscodeCache, Transcoding};
    if !have_ffmpeg("transcode_ffmpeg") {
        return;
    }
    let t = FfmpegTranscoder::find(None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("a.wav");
    sine(&wav, 3);
    let cover = dir.path().join("c.png");
    let o = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=c=blue:s=8x8",
            "-frames:v",
            "1",
        ])
        .arg(&cover)
        .output()
        .unwrap();
    assert!(o.status.success());
    let flac = dir.path().join("a.flac");
    let o = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&wav)
        .arg("-i")
        .arg(&cover)
        .args([
            "-map",
            "0",
            "-map",
            "1",
            "-c:v",
            "png",
            "-disposition:v",
            "attached_pic",
        ])
        .arg(&flac)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let codecs = t.available();
    let jobs: Vec<Job> = codecs
        .iter()
        .enumerate()
        .map(|(i, c)| Job {
            track: TrackId(i as u64),
            source: flac.clone(),
            target: Target { codec: *c, ..MP3 },
            duration: Duration::from_secs(3),
            expected: None,
        })
        .collect();
    let cache = Arc::new(TranscodeCache::open(dir.path().join("cache"), u64::MAX).unwrap());
    let pool = EncodePool::start(Transcoding::new(Arc::new(t), cache), jobs);
    let stop = AtomicBool::new(false);
    for (i, c) in codecs.iter().enumerate() {
        let e = pool
            .wait(wmdm::library::TrackId(i as u64), &stop)
            .unwrap_or_else(|e| panic!("{c:?}: {e}"));
        assert_eq!(e.path.extension().unwrap(), c.extension());
        let o = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_entries",
                "stream=codec_name,codec_type",
                "-of",
                "csv=p=0",
            ])
            .arg(&e.path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains(c.probe_name()), "{c:?}: {text}");
        // The cover art: a picture stream ffprobe sees (MP3, M4A), or a picture lofty reads
        // (Vorbis comments' METADATA_BLOCK_PICTURE, which ffprobe lists as an attachment
        // only in some versions).
        let pictures = {
            use lofty::prelude::TaggedFileExt;
            lofty::read_from_path(&e.path)
                .map(|f| f.tags().iter().map(|t| t.pictures().len()).sum::<usize>())
                .unwrap_or(0)
        };
        assert_eq!(pictures, 1, "{c:?}: {text}");
    }
}
