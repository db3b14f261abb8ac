//! The main job converting with a real ffmpeg (the bars of docs/transcode.md): a FLAC + WAV +
//! MP3 library synced to an MP3-only profile puts only MP3s on the device, each read by
//! ffprobe with the codec, at most the profile's bitrate, the library's tags and the FLAC's
//! cover art; a resync encodes nothing; a tag edit re-tags without encoding; kill -9 in the
//! middle of encoding, then a resume, leaves no partial file and reuses the finished encodes;
//! without ffmpeg every track that needs it is listed with its reason and the exit status is
//! 3, the item-error status.
//!
//! ffmpeg is found on PATH. Without it these tests skip with a message, unless
//! `WMDM_REQUIRE_FFMPEG=1` (which `.ci/run` sets after installing it): then they fail.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

#[path = "common/example.rs"]
mod example_bin;
use example_bin::example;

/// True when ffmpeg and ffprobe run; false (with a message) to skip, or a panic when
/// `WMDM_REQUIRE_FFMPEG=1`.
fn have_ffmpeg(test: &str) -> bool {
    let ok = ["ffmpeg", "ffprobe"].iter().all(|p| {
        Command::new(p)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !ok {
        assert!(
            std::env::var("WMDM_REQUIRE_FFMPEG").as_deref() != Ok("1"),
            "{test}: ffmpeg/ffprobe not found on PATH, and WMDM_REQUIRE_FFMPEG=1"
        );
        eprintln!("{test}: SKIPPED: ffmpeg/ffprobe not found on PATH (install ffmpeg to run it)");
    }
    ok
}

fn ffmpeg(args: &[&str]) {
    let o = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `ffprobe` fields of the first audio stream and the format tags, as `key=value` lines.
fn probe(path: &Path) -> String {
    let o = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,codec_type,bit_rate:format_tags=title,artist,album",
            "-of",
            "default=noprint_wrappers=1",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(o.status.success(), "ffprobe {}", path.display());
    String::from_utf8_lossy(&o.stdout).into_owned()
}

struct Rig {
    dir: tempfile::TempDir,
}

impl Rig {
    /// A library of `n` sets of a FLAC (with cover art), a WAV and an MP3, each `secs` long
    /// and tagged; an empty device folder; a profile file for an MP3 player of 160 kbit/s.
    fn new(n: usize, secs: u32) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("lib/Artist/Album");
        std::fs::create_dir_all(&lib).unwrap();
        std::fs::create_dir_all(dir.path().join("dev")).unwrap();
        let cover = dir.path().join("cover.png");
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "color=c=red:s=16x16",
            "-frames:v",
            "1",
            cover.to_str().unwrap(),
        ]);
        let len = secs.to_string();
        for i in 0..n {
            for (k, ext) in ["flac", "wav", "mp3"].iter().enumerate() {
                let no = i * 3 + k + 1;
                let out = lib.join(format!("{no:02}.{ext}"));
                let title = format!("title=Song {no}");
                let sine = format!("sine=frequency={}:duration={len}", 200 + no * 50);
                let mut args = vec!["-f", "lavfi", "-i", &sine];
                if *ext == "flac" {
                    args.extend(["-i", cover.to_str().unwrap(), "-map", "0", "-map", "1"]);
                    args.extend(["-c:v", "png", "-disposition:v", "attached_pic"]);
                }
                args.extend(["-ar", "44100", "-ac", "2"]);
                if *ext == "mp3" {
                    args.extend(["-b:a", "128k"]);
                }
                args.extend(["-metadata", &title, "-metadata", "artist=Artist"]);
                args.extend(["-metadata", "album=Album"]);
                let out_s = out.to_str().unwrap().to_owned();
                args.push(&out_s);
                ffmpeg(&args);
            }
        }
        std::fs::write(
            dir.path().join("profile.txt"),
            "# a small MP3 player\nbase = mp3-player\nmax-bitrate = 160k\n",
        )
        .unwrap();
        Rig { dir }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn command(&self, extra: &[&str]) -> Command {
        let mut c = Command::new(example());
        c.arg("--library")
            .arg(self.path("lib"))
            .arg("--device")
            .arg(self.path("dev"))
            .arg("--state")
            .arg(self.path("state"))
            .arg("--profile")
            .arg(self.path("profile.txt"))
            .arg("--json")
            .args(extra);
        c
    }

    fn sync(&self, extra: &[&str]) -> (Output, String) {
        let o = self.command(extra).output().unwrap();
        let json = String::from_utf8_lossy(&o.stdout).into_owned();
        (o, json)
    }

    /// Every file on the device outside the state folders.
    fn device_files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                if name.starts_with(".wmdm") && !name.starts_with(".wmdm-sync-") {
                    continue;
                }
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.push(p);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.path("dev"), &mut out);
        out.sort();
        out
    }

    fn tracks(&self) -> Vec<PathBuf> {
        self.device_files()
            .into_iter()
            .filter(|p| p.starts_with(self.path("dev/Music")))
            .collect()
    }
}

/// A number field of the example's one-line JSON.
fn field(json: &str, key: &str) -> u64 {
    let at = json
        .find(&format!("\"{key}\":"))
        .unwrap_or_else(|| panic!("no {key} in {json}"));
    json[at + key.len() + 3..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

#[test]
fn an_mp3_only_profile_gets_checked_mp3s_a_resync_encodes_nothing_and_a_tag_edit_only_retags() {
    if !have_ffmpeg("transcode_cli") {
        return;
    }
    let r = Rig::new(1, 3);
    let (o, json) = r.sync(&[]);
    assert!(
        o.status.success(),
        "{json} {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(field(&json, "converted"), 2, "{json}");
    assert_eq!(field(&json, "copied"), 3, "{json}");
    let tracks = r.tracks();
    assert_eq!(tracks.len(), 3, "{tracks:?}");
    for t in &tracks {
        assert_eq!(t.extension().unwrap(), "mp3", "{t:?}");
        let p = probe(t);
        assert!(p.contains("codec_name=mp3"), "{t:?}: {p}");
        let rate: u64 = p
            .lines()
            .find_map(|l| l.strip_prefix("bit_rate="))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(u64::MAX);
        assert!(rate <= 160_000, "{t:?}: {p}");
        assert!(
            p.contains("TAG:artist=Artist") && p.contains("TAG:title=Song"),
            "{t:?}: {p}"
        );
    }
    // The FLAC's cover art came along.
    let flac = tracks
        .iter()
        .find(|t| probe(t).contains("title=Song 1"))
        .unwrap();
    assert!(probe(flac).contains("codec_type=video"), "{}", probe(flac));

    // A resync encodes nothing.
    let (o, json) = r.sync(&[]);
    assert!(o.status.success(), "{json}");
    assert_eq!(
        (
            field(&json, "copied"),
            field(&json, "updated"),
            field(&json, "converted")
        ),
        (0, 0, 0),
        "{json}"
    );
    assert_eq!(field(&json, "encode_ms"), 0, "{json}");

    // A tag edit of the FLAC (the file is rewritten) re-tags: the encode comes from the cache.
    let src = r.path("lib/Artist/Album/01.flac");
    let edited = r.path("edited.flac");
    ffmpeg(&[
        "-i",
        src.to_str().unwrap(),
        "-map",
        "0",
        "-c",
        "copy",
        "-metadata",
        "title=Renamed",
        edited.to_str().unwrap(),
    ]);
    std::fs::rename(&edited, &src).unwrap();
    let (o, json) = r.sync(&[]);
    assert!(
        o.status.success(),
        "{json} {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(field(&json, "converted"), 1, "{json}");
    assert_eq!(field(&json, "reused_from_cache"), 1, "{json}");
    assert_eq!(field(&json, "encode_ms"), 0, "{json}");
    let retagged = r.tracks();
    assert!(
        retagged.iter().any(|t| probe(t).contains("title=Renamed")),
        "{retagged:?}"
    );
}

#[test]
fn kill_9_mid_encode_then_resume_leaves_no_partial_file_and_reuses_finished_encodes() {
    if !have_ffmpeg("transcode_cli") {
        return;
    }
    // Long enough that encoding takes a while; four conversions.
    let r = Rig::new(4, 20);
    let cache = r.path("state/transcode");
    let mut child = r.command(&[]).spawn().unwrap();
    // Kill when at least one encode is finished and none of the device's tracks is written.
    let start = Instant::now();
    let finished = || -> usize {
        std::fs::read_dir(&cache).map_or(0, |d| {
            d.filter(|e| {
                !e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".part")
            })
            .count()
        })
    };
    while finished() == 0 && start.elapsed() < Duration::from_secs(120) {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let ran_out = child.try_wait().unwrap().is_some();
    let _ = child.kill();
    let _ = child.wait();
    let before = finished();
    let landed = !ran_out && (1..8).contains(&before);
    if !landed {
        eprintln!(
            "the kill did not land mid-encode ({before} encodes cached); checking a resume anyway"
        );
    }
    eprintln!("killed with {before} of 8 encodes finished");
    let (o, json) = r.sync(&[]);
    assert!(
        o.status.success(),
        "{json} {}",
        String::from_utf8_lossy(&o.stderr)
    );
    // No partial or temporary file on the device; every track there and whole.
    for f in r.device_files() {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            !name.starts_with(".wmdm-sync-") && !name.ends_with(".part"),
            "{f:?}"
        );
    }
    let tracks = r.tracks();
    assert_eq!(tracks.len(), 12, "{tracks:?}");
    for t in &tracks {
        assert!(probe(t).contains("codec_name=mp3"), "{t:?}");
    }
    // The encodes finished before the kill were reused, not made again.
    let converted = field(&json, "converted");
    let reused = field(&json, "reused_from_cache");
    if landed {
        // Nothing was committed before the kill (one batch): all eight are put now, the
        // ones finished before the kill from the cache.
        assert_eq!(converted, 8, "{json}");
        assert!(reused as usize >= before, "{json}, {before} cached before");
        assert!(reused < 8, "{json}");
    }
}

#[test]
fn without_ffmpeg_every_track_needing_it_is_listed_and_the_status_is_3() {
    if !have_ffmpeg("transcode_cli") {
        return;
    }
    let r = Rig::new(1, 1);
    let (o, json) = r.sync(&["--ffmpeg", "/nonexistent/ffmpeg"]);
    assert_eq!(o.status.code(), Some(3), "{json}");
    assert_eq!(field(&json, "missing_encoder"), 2, "{json}");
    assert_eq!(field(&json, "copied"), 1, "{json}");
    let err = String::from_utf8_lossy(&o.stderr);
    for name in ["01.flac", "02.wav"] {
        assert!(
            err.lines()
                .any(|l| l.contains(name) && l.contains("encoder is missing")),
            "{name} not listed: {err}"
        );
    }
    assert!(!err.contains("03.mp3"), "{err}");
    // Only the MP3 is on the device.
    let tracks = r.tracks();
    assert_eq!(tracks.len(), 1, "{tracks:?}");
    // The same with no ffmpeg on PATH.
    let o = r.command(&[]).env("PATH", "/nonexistent").output().unwrap();
    let json = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(3), "{json}");
    assert_eq!(field(&json, "missing_encoder"), 2, "{json}");
}

#[test]
fn a_bad_profile_or_bitrate_is_a_usage_error_naming_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    for d in ["lib", "dev"] {
        std::fs::create_dir(dir.path().join(d)).unwrap();
    }
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "# mine\nformats = mp3, xyz\n").unwrap();
    let cases: [(&[&str], &str); 3] = [
        (
            &["--profile", bad.to_str().unwrap()],
            "line 2: unknown format `xyz`",
        ),
        (&["--profile", "ipod"], "neither a built-in profile"),
        (&["--max-bitrate", "5k"], "a bitrate is 32k-1000k"),
    ];
    for (args, want) in cases {
        let o = Command::new(example())
            .arg("--library")
            .arg(dir.path().join("lib"))
            .arg("--device")
            .arg(dir.path().join("dev"))
            .arg("--state")
            .arg(dir.path().join("state"))
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    // Nothing was written to the device.
    assert_eq!(
        std::fs::read_dir(dir.path().join("dev")).unwrap().count(),
        0
    );
}
