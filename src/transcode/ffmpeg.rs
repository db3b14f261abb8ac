//! The `ffmpeg` transcoder: ffmpeg and ffprobe run as subprocesses, found at run time.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::decide::{Codec, Target};
use super::transcoder::{Transcoder, duration_matches};
use crate::error::{Error, Result};

/// Drives `ffmpeg` (to encode and to decode-check) and `ffprobe` (codec and duration).
#[derive(Clone, Debug)]
pub struct FfmpegTranscoder {
    ffmpeg: PathBuf,
    ffprobe: PathBuf,
    version: String,
    available: Vec<Codec>,
}

/// The first file named `name` (plus the platform's executable suffix) on `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(&file))
        .find(|p| p.is_file())
}

/// Runs `cmd` to completion with its output captured (for the short version and encoder
/// queries).
fn output(program: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            tracing::warn!(program = %program.display(), error = %e, "cannot run");
            Error::FileNotFound.context("running").path(program)
        })?;
    if !out.status.success() {
        return Err(Error::ProcessFailed
            .context(format!("running with {}", args.join(" ")))
            .path(program));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl FfmpegTranscoder {
    /// Finds `ffmpeg` (the given path, else on `PATH`) and `ffprobe` (beside it, else on
    /// `PATH`), reads ffmpeg's version and checks which of the crate's encoders it has.
    ///
    /// # Errors
    /// [`Error::FileNotFound`] when either program is missing or will not run;
    /// [`Error::ProcessFailed`] when `ffmpeg -version` fails.
    pub fn find(ffmpeg: Option<&Path>) -> Result<FfmpegTranscoder> {
        let (ffmpeg, ffprobe) = locate(ffmpeg)?;
        let (version, available) = probe(&ffmpeg)?;
        Ok(FfmpegTranscoder {
            ffmpeg,
            ffprobe,
            version,
            available,
        })
    }

    /// As [`find`](Self::find), but what `ffmpeg -version` and `-encoders` said is kept in
    /// `record` (a small file in the state folder) with the program's path, size and
    /// modification time, and read back while those are unchanged: running ffmpeg twice costs
    /// a tenth of a second or more, which a sync with nothing to convert should not pay on
    /// every run. A record that does not match or does not parse is ignored and rewritten.
    ///
    /// # Errors
    /// As [`find`](Self::find).
    pub fn find_recorded(ffmpeg: Option<&Path>, record: &Path) -> Result<FfmpegTranscoder> {
        let (ffmpeg, ffprobe) = locate(ffmpeg)?;
        let key = program_key(&ffmpeg);
        let recorded = key.as_deref().and_then(|key| {
            let text = std::fs::read_to_string(record).ok()?;
            let mut lines = text.lines();
            (lines.next()? == key).then_some(())?;
            let version = lines.next()?.to_owned();
            let available = lines
                .next()?
                .split(',')
                .filter_map(|name| Codec::ALL.into_iter().find(|c| c.encoder() == name))
                .collect::<Vec<_>>();
            Some((version, available))
        });
        let (version, available) = match recorded {
            Some(r) => r,
            None => {
                let (version, available) = probe(&ffmpeg)?;
                if let Some(key) = key {
                    let names: Vec<&str> = available.iter().map(|c| c.encoder()).collect();
                    let text = format!("{key}\n{version}\n{}\n", names.join(","));
                    if let Err(e) = crate::sys::files::write_atomic(record, text.as_bytes()) {
                        tracing::debug!(error = %e, "could not record what ffmpeg offers");
                    }
                }
                (version, available)
            }
        };
        Ok(FfmpegTranscoder {
            ffmpeg,
            ffprobe,
            version,
            available,
        })
    }

    /// The ffmpeg program in use.
    pub fn ffmpeg(&self) -> &Path {
        &self.ffmpeg
    }
}

/// The program's identity for [`FfmpegTranscoder::find_recorded`]: path, size and
/// modification time (nanoseconds), on one line; `None` when it cannot be read.
fn program_key(program: &Path) -> Option<String> {
    let meta = std::fs::metadata(program).ok()?;
    let modified = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    let path = program.to_str()?;
    (!path.contains('\n'))
        .then(|| format!("wmdm-ffmpeg-probe 1\t{path}\t{}\t{modified}", meta.len()))
}

/// Finds `ffmpeg` (the given path, else on `PATH`) and `ffprobe` (beside it, else on `PATH`).
fn locate(ffmpeg: Option<&Path>) -> Result<(PathBuf, PathBuf)> {
    let ffmpeg = match ffmpeg {
        Some(p) if p.is_file() => p.to_path_buf(),
        Some(p) => {
            return Err(Error::FileNotFound.context("finding ffmpeg").path(p));
        }
        None => on_path("ffmpeg")
            .ok_or_else(|| Error::FileNotFound.context("finding ffmpeg on PATH"))?,
    };
    let probe_name = format!("ffprobe{}", std::env::consts::EXE_SUFFIX);
    let ffprobe = ffmpeg
        .parent()
        .map(|d| d.join(&probe_name))
        .filter(|p| p.is_file())
        .or_else(|| on_path("ffprobe"))
        .ok_or_else(|| Error::FileNotFound.context("finding ffprobe beside ffmpeg or on PATH"))?;
    Ok((ffmpeg, ffprobe))
}

/// What ffmpeg says of itself: its version line and which of the crate's encoders it has.
fn probe(ffmpeg: &Path) -> Result<(String, Vec<Codec>)> {
    let version = output(ffmpeg, &["-hide_banner", "-version"])?
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let encoders = output(ffmpeg, &["-hide_banner", "-encoders"])?;
    // Lines look like " A....D libmp3lame           libmp3lame MP3 ...": flags, name.
    let available = Codec::ALL
        .into_iter()
        .filter(|c| {
            encoders.lines().any(|l| {
                let mut words = l.split_whitespace();
                words.next().is_some_and(|f| f.starts_with('A'))
                    && words.next() == Some(c.encoder())
            })
        })
        .collect();
    Ok((version, available))
}

impl FfmpegTranscoder {
    /// The arguments that encode `source` to `out` (for the measurements that run the same
    /// commands by hand).
    pub fn encode_args(source: &Path, target: &Target, out: &Path) -> Vec<String> {
        let format = match target.codec {
            Codec::Mp3 => "mp3",
            Codec::Aac => "ipod",
            Codec::Vorbis => "ogg",
        };
        ["-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i"]
            .into_iter()
            .map(str::to_owned)
            .chain([source.to_string_lossy().into_owned()])
            .chain(
                [
                    // The first audio stream only; no pictures or tags (the crate writes both).
                    "-map",
                    "0:a:0",
                    "-map_metadata",
                    "-1",
                    "-vn",
                    // One thread per encode: the pool runs one encode per core.
                    "-threads",
                    "1",
                    "-c:a",
                    target.codec.encoder(),
                    "-b:a",
                ]
                .into_iter()
                .map(str::to_owned),
            )
            .chain([
                target.bitrate.to_string(),
                "-ar".to_owned(),
                target.sample_rate.to_string(),
                "-ac".to_owned(),
                target.channels.to_string(),
                "-f".to_owned(),
                format.to_owned(),
                out.to_string_lossy().into_owned(),
            ])
            .collect()
    }

    /// Waits for `child`, killing it when `cancel` is set; its stderr is logged on failure.
    fn wait(mut child: Child, cancel: &AtomicBool, what: &str) -> Result<()> {
        // Read stderr on a thread, so a chatty failure cannot fill the pipe and stall it.
        let stderr = child.stderr.take().map(|mut s| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = (&mut s).take(64 * 1024).read_to_string(&mut text);
                text
            })
        });
        let status = loop {
            if cancel.load(Ordering::Relaxed) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::UserCancelled);
            }
            match child.try_wait()? {
                Some(status) => break status,
                None => std::thread::sleep(Duration::from_millis(10)),
            }
        };
        let text = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
        if status.success() {
            Ok(())
        } else {
            tracing::warn!(%status, stderr = %text.trim(), "{what} failed");
            let first = text.lines().next().unwrap_or_default().trim().to_owned();
            Err(Error::ProcessFailed.context(format!("{what} ({status}): {first}")))
        }
    }

    fn spawn(&self, program: &Path, args: &[String]) -> Result<Child> {
        Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                tracing::warn!(program = %program.display(), error = %e, "cannot run");
                Error::FileNotFound.context("running").path(program)
            })
    }
}

impl Transcoder for FfmpegTranscoder {
    fn available(&self) -> Vec<Codec> {
        self.available.clone()
    }

    fn version(&self) -> String {
        self.version.clone()
    }

    fn encode(
        &self,
        source: &Path,
        target: &Target,
        out: &Path,
        cancel: &AtomicBool,
    ) -> Result<()> {
        if !self.available.contains(&target.codec) {
            return Err(Error::NotSupported
                .context(format!("encoding with {}", target.codec.encoder()))
                .subject("ffmpeg has no such encoder"));
        }
        let child = self.spawn(&self.ffmpeg, &Self::encode_args(source, target, out))?;
        Self::wait(child, cancel, "ffmpeg encode").map_err(|e| e.path(source))
    }

    fn check(&self, out: &Path, target: &Target, duration: Duration) -> Result<()> {
        // One ffprobe that decodes every frame and lists its time: it decodes without an
        // error, has the target's codec, and the audio that decodes lasts as long as the
        // source. (The container's duration is not enough: a truncated MP3 keeps the length
        // its header announces. A separate `ffmpeg -f null` decode cost a second process per
        // file.)
        let probe = Command::new(&self.ffprobe)
            .args([
                "-v",
                "error",
                "-select_streams",
                "a:0",
                "-show_entries",
                "stream=codec_name:frame=pts_time",
                "-of",
                "compact=p=0:nk=0",
            ])
            .arg(out)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                tracing::warn!(program = %self.ffprobe.display(), error = %e, "cannot run");
                Error::FileNotFound.context("running").path(&self.ffprobe)
            })?;
        let failed = |why: String| Error::ProcessFailed.context(why).path(out);
        let text = String::from_utf8_lossy(&probe.stdout);
        let errors = String::from_utf8_lossy(&probe.stderr);
        if !probe.status.success() || !errors.trim().is_empty() {
            tracing::warn!(path = %out.display(), stderr = %errors.trim(), "the encoded file does not decode cleanly");
            return Err(failed(format!(
                "checking an encode: it does not decode cleanly ({})",
                errors.lines().next().unwrap_or_default().trim()
            )));
        }
        let field = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
                .map(str::trim)
        };
        if field("codec_name") != Some(target.codec.probe_name()) {
            return Err(failed(format!(
                "checking an encode: its codec is {:?}, not {}",
                field("codec_name").unwrap_or("none"),
                target.codec.probe_name()
            )));
        }
        // The last decoded frame's start: the decoded length, less one frame (a few tens of
        // milliseconds, well inside the tolerance).
        let got = text
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("pts_time="))
            .and_then(|d| d.trim().parse::<f64>().ok())
            .filter(|d| d.is_finite() && *d >= 0.0)
            .map_or(Duration::ZERO, Duration::from_secs_f64);
        if !duration_matches(duration, got) {
            return Err(failed(format!(
                "checking an encode: {:.2} s of audio decode, the source has {:.2} s",
                got.as_secs_f64(),
                duration.as_secs_f64()
            )));
        }
        Ok(())
    }
}
