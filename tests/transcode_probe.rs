//! What ffmpeg offers is asked once and recorded: a sync with nothing to convert must not start
//! ffmpeg on every run. A stand-in ffmpeg (a shell script) counts how often it is started.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use wmdm::transcode::{Codec, FfmpegTranscoder, Transcoder};

fn script(path: &Path, log: &Path, body: &str) {
    let text = format!("#!/bin/sh\necho \"$@\" >> '{}'\n{body}\n", log.display());
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn runs(log: &Path) -> usize {
    std::fs::read_to_string(log).map_or(0, |t| t.lines().count())
}

#[test]
fn ffmpeg_is_asked_once_and_again_only_when_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let log = dir.path().join("runs.log");
    let ffmpeg = bin.join("ffmpeg");
    script(
        &ffmpeg,
        &log,
        r#"case "$2" in
-version) echo "ffmpeg version 9.9-test" ;;
-encoders) echo " A....D libmp3lame           libmp3lame MP3 (MPEG audio layer 3)" ;;
esac"#,
    );
    script(&bin.join("ffprobe"), &log, "exit 0");
    let record = dir.path().join("state/ffmpeg-probe.txt");

    let first = FfmpegTranscoder::find_recorded(Some(&ffmpeg), &record).unwrap();
    assert_eq!(runs(&log), 2, "-version and -encoders, once");
    assert_eq!(first.available(), vec![Codec::Mp3]);
    let again = FfmpegTranscoder::find_recorded(Some(&ffmpeg), &record).unwrap();
    assert_eq!(
        runs(&log),
        2,
        "read back from the record: ffmpeg not started"
    );
    assert_eq!(again.available(), vec![Codec::Mp3]);

    // A damaged record is asked again and rewritten.
    std::fs::write(&record, "garbage\n\u{0}\n").unwrap();
    FfmpegTranscoder::find_recorded(Some(&ffmpeg), &record).unwrap();
    assert_eq!(runs(&log), 4);
    FfmpegTranscoder::find_recorded(Some(&ffmpeg), &record).unwrap();
    assert_eq!(runs(&log), 4);

    // Another ffmpeg at the same path (an upgrade: new size and time) is asked again.
    std::thread::sleep(std::time::Duration::from_millis(20));
    script(
        &ffmpeg,
        &log,
        r#"case "$2" in
-version) echo "ffmpeg version 10.0-test" ;;
-encoders) echo " A....D libmp3lame  x"; echo " A....D libvorbis  x" ;;
esac"#,
    );
    let upgraded = FfmpegTranscoder::find_recorded(Some(&ffmpeg), &record).unwrap();
    assert_eq!(runs(&log), 6);
    assert_eq!(upgraded.available(), vec![Codec::Mp3, Codec::Vorbis]);
}
