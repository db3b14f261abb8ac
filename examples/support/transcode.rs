//! The main job's conversions: `--profile`, `--max-bitrate`, `--convert-lossless`, `--ffmpeg`
//! and `--no-convert`, ffmpeg found at run time, a transcode cache in the state folder, and
//! the lines and JSON fields that report what was converted.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use wmdm::library::Library;
use wmdm::manager::WmdmDevice;
use wmdm::metadata::FormatCode;
use wmdm::providers::fs::{BUILTIN_PROFILES, DeviceProfile};
use wmdm::sync::{
    Conversion, LeftOutReason, PlanSettings, SyncDevice, SyncOptions, SyncPlan, SyncSummary,
};
use wmdm::transcode::{
    ConvertReason, ConvertSettings, DEFAULT_CACHE_BYTES, FfmpegTranscoder, NoConvertReason,
    Quality, TranscodeCache, Transcoder, Transcoding,
};

use super::report::Failure;

/// The command line's conversion options.
#[derive(Debug, clap::Args)]
pub struct TranscodeArgs {
    /// What the device plays: a built-in profile (generic, mp3-player, rockbox, android) or a
    /// profile file (docs/transcode.md). Default: the device's own `.wmdm/profile.txt`, else
    /// generic. Tracks the device does not play are converted with ffmpeg.
    #[arg(long, value_name = "NAME|FILE")]
    pub profile: Option<String>,
    /// Convert lossy files above this bitrate, and convert at most at it: bit/s, or kbit/s
    /// with a `k` (192k).
    #[arg(long, value_name = "BITRATE", value_parser = parse_bitrate)]
    pub max_bitrate: Option<u32>,
    /// Convert lossless files (FLAC, WAV, AIFF) to a lossy format even when the device plays
    /// them.
    #[arg(long)]
    pub convert_lossless: bool,
    /// The ffmpeg program (default: `ffmpeg` on PATH; ffprobe beside it or on PATH). Without
    /// it, tracks that need converting are left out, each with its reason (exit status 3).
    #[arg(long, value_name = "PATH")]
    pub ffmpeg: Option<PathBuf>,
    /// Never convert: tracks the device does not play are left out.
    #[arg(long)]
    pub no_convert: bool,
}

fn parse_bitrate(text: &str) -> Result<u32, String> {
    let (digits, scale) = match text.strip_suffix(['k', 'K']) {
        Some(d) => (d, 1_000u64),
        None => (text, 1),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a bitrate (192k, 128000)"))?;
    let b = n.saturating_mul(scale);
    if !(32_000..=1_000_000).contains(&b) {
        return Err(format!("{text}: a bitrate is 32k-1000k"));
    }
    Ok(u32::try_from(b).unwrap_or(u32::MAX))
}

/// The demo device's profile when ffmpeg is present: a player of MP3 and FLAC, so the demo's
/// WAV files are converted.
fn demo_profile() -> DeviceProfile {
    DeviceProfile {
        model: "Demo player (MP3, FLAC)".to_owned(),
        formats: vec![FormatCode::MP3, FormatCode::FLAC, FormatCode::M3U_PLAYLIST],
        max_bitrate: Some(192_000),
        ..DeviceProfile::default()
    }
}

/// What the run converts with.
pub struct Conversions {
    /// The device profile to open the device with (`None`: the device's own or generic).
    pub profile: Option<DeviceProfile>,
    settings: Option<ConvertSettings>,
    transcoding: Option<Transcoding>,
    /// Why nothing will be converted, when ffmpeg is missing.
    pub missing: Option<String>,
}

/// Resolves the options: the profile (a usage error names what is wrong with a file), ffmpeg,
/// and the cache in `state/transcode`.
pub fn prepare(args: &TranscodeArgs, state: &Path, demo: bool) -> Result<Conversions, Failure> {
    let mut profile = match &args.profile {
        None => None,
        Some(name) => match DeviceProfile::builtin(name) {
            Some(p) => Some(p),
            None if Path::new(name).is_file() => Some(
                DeviceProfile::from_file(Path::new(name))
                    .map_err(|e| Failure::usage(format!("--profile {name}: {e}")))?,
            ),
            None => {
                return Err(Failure::usage(format!(
                    "--profile {name:?}: neither a built-in profile ({}) nor a file",
                    BUILTIN_PROFILES.join(", ")
                )));
            }
        },
    };
    if args.no_convert {
        return Ok(Conversions {
            profile,
            settings: None,
            transcoding: None,
            missing: None,
        });
    }
    // What ffmpeg offers is recorded (in the user's cache folder: it depends on the machine,
    // not on the library), so a run with nothing to convert does not start ffmpeg twice just
    // to ask, a first sync with a new state folder included.
    let record = wmdm::easy::cache_dir()
        .unwrap_or_else(|| state.join("transcode"))
        .join("ffmpeg-probe.txt");
    let found = FfmpegTranscoder::find_recorded(args.ffmpeg.as_deref(), &record);
    let (transcoding, available, missing) = match found {
        Ok(t) => {
            let cache = TranscodeCache::open(state.join("transcode"), DEFAULT_CACHE_BYTES)
                .map_err(|e| Failure::other("opening the transcode cache", e))?;
            let available = t.available();
            let t: Arc<dyn Transcoder> = Arc::new(t);
            (Some(Transcoding::new(t, Arc::new(cache))), available, None)
        }
        Err(e) => {
            let which = args
                .ffmpeg
                .as_ref()
                .map_or_else(|| "ffmpeg on PATH".to_owned(), |p| p.display().to_string());
            (None, Vec::new(), Some(format!("no usable {which} ({e})")))
        }
    };
    if demo && profile.is_none() && transcoding.is_some() {
        profile = Some(demo_profile());
    }
    Ok(Conversions {
        profile,
        settings: Some(ConvertSettings {
            quality: args.max_bitrate.map_or(Quality::Auto, Quality::MaxBitrate),
            convert_lossless: args.convert_lossless,
            preferred: None,
            available: Some(available),
        }),
        transcoding,
        missing,
    })
}

impl Conversions {
    /// The conversion settings and the device's limits in `settings`, for a plan made
    /// without a session (a dry run before the partnership exists).
    pub fn preview(&self, settings: &mut PlanSettings, device: &WmdmDevice) {
        settings.convert.clone_from(&self.settings);
        if settings.convert.is_some() {
            settings.apply_device_caps(device);
        }
    }

    /// Gives the device's partnership the conversion settings and its engine the transcoder.
    pub fn apply(&self, device: &SyncDevice) {
        let mut settings = device.settings();
        settings.convert.clone_from(&self.settings);
        device.set_settings(settings);
        device.engine().set_options(SyncOptions {
            transcoding: self.transcoding.clone(),
            ..SyncOptions::default()
        });
    }
}

/// Prints (to stderr) each track the plan leaves out for want of an encoder, with its reason.
pub fn report_missing(plan: &SyncPlan, lib: &dyn Library, missing: Option<&str>) {
    for l in &plan.left_out {
        if let LeftOutReason::CannotConvert {
            needed,
            reason: NoConvertReason::EncoderMissing(codec),
        } = l.reason
        {
            let name = lib
                .track(l.track)
                .map_or_else(|| l.track.to_string(), |t| t.relative_path.clone());
            eprintln!(
                "sync: {name}: not copied: it needs converting ({needed:?}) to {} and the {} encoder is missing{}",
                codec.name(),
                codec.encoder(),
                missing.map_or_else(String::new, |m| format!(": {m}"))
            );
        }
    }
}

/// How a planned copy is converted, for `--dry-run`'s lines (empty for a plain copy).
pub fn convert_note(convert: Option<&Conversion>) -> String {
    convert.map_or_else(String::new, |c| {
        let why = match c.reason {
            ConvertReason::FormatNotPlayed => "the device does not play its format",
            ConvertReason::Lossless => "lossless converted to save space",
            ConvertReason::BitrateAboveLimit => "its bitrate is above the limit",
            ConvertReason::SampleRate => "the device does not play its sample rate",
            ConvertReason::Channels => "it has more channels than the device plays",
        };
        format!(
            ", converted to {} {} kbit/s {} Hz {} ch: {why}",
            c.target.codec.name(),
            c.target.bitrate / 1000,
            c.target.sample_rate,
            c.target.channels
        )
    })
}

/// The progress bar's note on conversions so far (empty before the first).
pub fn progress_note(s: &SyncSummary) -> String {
    let t = &s.transcode;
    if t.converted == 0 {
        return String::new();
    }
    format!(", {} converted ({} from the cache)", t.converted, t.reused)
}

/// The summary's conversion line (empty when nothing was converted).
pub fn summary_line(s: &SyncSummary) -> Option<String> {
    let t = &s.transcode;
    (t.converted > 0 || t.reused > 0).then(|| {
        format!(
            "  converted {} ({} from the cache), encoding {:.1} s over all encoder threads",
            t.converted,
            t.reused,
            t.encode_time.as_secs_f64()
        )
    })
}

/// The summary's conversion fields, for `--json` (a leading comma, no braces).
pub fn json_fields(s: &SyncSummary) -> String {
    format!(
        ",\"converted\":{},\"reused_from_cache\":{},\"encode_ms\":{},\"missing_encoder\":{}",
        s.transcode.converted,
        s.transcode.reused,
        s.transcode.encode_time.as_millis(),
        s.transcode.missing_encoder
    )
}
