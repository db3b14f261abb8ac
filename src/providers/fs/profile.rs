//! Device profiles: what a folder device plays (formats, the highest bitrate, sample rates,
//! channels) and how long its names may be. Built in ([`DeviceProfile::builtin`]: an MP3-only
//! player, a Rockbox player, an Android phone), or read from a small text file in the device's
//! hidden folder, `.wmdm/profile.txt` ([`PROFILE_FILE`]), so a device says what it plays
//! wherever it is plugged in. The sync reads these through the device (IMDSPDevice's
//! `WMDM/FormatsSupported` and IMDSPDevice3::GetFormatCapability).
//!
//! The file (docs/transcode.md): UTF-8 lines `key = value`; `#` starts a comment line; keys
//! are `base` (a built-in profile to start from), `model`, `manufacturer`, `formats` (file
//! extensions, comma-separated, most preferred first), `max-bitrate` (bits per second, or
//! kbit/s with a `k` suffix), `sample-rates` (Hz, comma-separated), `max-channels`,
//! `name-max` (bytes per name) and `playlist` (`m3u8` or `wpl`). Unknown keys, repeated keys
//! and values out of range are errors naming the line.
//!
//! ```text
//! # An MP3 player with short names
//! base = mp3-player
//! max-bitrate = 192k
//! name-max = 64
//! ```

use std::fmt;
use std::path::Path;

use super::{DeviceProfile, PlaylistFormat, STATE_DIR};
use crate::metadata::{FormatCode, PropValue, tags};
use crate::provider::{FormatCapability, PropConfig, PropDesc, ValidValues};

/// The profile file's name inside the device's hidden folder ([`STATE_DIR`]).
pub const PROFILE_FILE: &str = "profile.txt";

/// The largest profile file read (a profile is a few lines; anything larger is not one).
const MAX_PROFILE_BYTES: u64 = 16 * 1024;

/// The names of the built-in profiles, for help texts.
pub const BUILTIN_PROFILES: &[&str] = &["generic", "mp3-player", "rockbox", "android"];

/// Why a profile could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileError {
    /// The 1-based line (0 for the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "device profile: {}", self.message)
        } else {
            write!(f, "device profile, line {}: {}", self.line, self.message)
        }
    }
}

impl std::error::Error for ProfileError {}

fn bad(line: usize, message: impl Into<String>) -> ProfileError {
    ProfileError {
        line,
        message: message.into(),
    }
}

impl DeviceProfile {
    /// A built-in profile by name ([`BUILTIN_PROFILES`], any case): `generic` (the default),
    /// `mp3-player` (MP3 only, at most 320 kbit/s, 32-48 kHz, stereo), `rockbox` (a Rockbox
    /// player: MP3, Ogg Vorbis, FLAC, WAV, AAC, WMA, AIFF; stereo) and `android` (a phone:
    /// MP3, AAC, Ogg, FLAC, WAV). `None` for another name.
    pub fn builtin(name: &str) -> Option<DeviceProfile> {
        let with = |model: &str, formats: &[FormatCode]| {
            let mut formats = formats.to_vec();
            formats.push(FormatCode::M3U_PLAYLIST);
            DeviceProfile {
                model: model.to_owned(),
                formats,
                ..DeviceProfile::default()
            }
        };
        Some(match name.to_ascii_lowercase().as_str() {
            "generic" => DeviceProfile::default(),
            "mp3-player" => DeviceProfile {
                max_bitrate: Some(320_000),
                sample_rates: vec![32_000, 44_100, 48_000],
                max_channels: Some(2),
                ..with("MP3 player", &[FormatCode::MP3])
            },
            "rockbox" => DeviceProfile {
                max_channels: Some(2),
                ..with(
                    "Rockbox player",
                    &[
                        FormatCode::MP3,
                        FormatCode::OGG,
                        FormatCode::FLAC,
                        FormatCode::WAVE,
                        FormatCode::M4A,
                        FormatCode::AAC,
                        FormatCode::WMA,
                        FormatCode::AIFF,
                    ],
                )
            },
            "android" => with(
                "Android phone",
                &[
                    FormatCode::MP3,
                    FormatCode::M4A,
                    FormatCode::AAC,
                    FormatCode::OGG,
                    FormatCode::FLAC,
                    FormatCode::WAVE,
                ],
            ),
            _ => return None,
        })
    }

    /// Parses a profile file (the module's docs give the format).
    ///
    /// # Errors
    /// A [`ProfileError`] naming the line for text that is not UTF-8, a line without `=`, an
    /// unknown or repeated key, an unknown format, base or playlist format, or a number out of
    /// range.
    pub fn parse(bytes: &[u8]) -> Result<DeviceProfile, ProfileError> {
        let text = std::str::from_utf8(bytes).map_err(|_| bad(0, "not UTF-8 text"))?;
        let mut seen: Vec<&str> = Vec::new();
        let mut lines = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| bad(n, format!("expected `key = value`, found `{line}`")))?;
            let (key, value) = (key.trim(), value.trim());
            if seen.contains(&key) {
                return Err(bad(n, format!("`{key}` is given twice")));
            }
            seen.push(key);
            lines.push((n, key, value));
        }
        // The base first, wherever it is written, so the other keys refine it.
        let mut p = match lines.iter().find(|(_, k, _)| *k == "base") {
            Some((n, _, v)) => DeviceProfile::builtin(v).ok_or_else(|| {
                bad(
                    *n,
                    format!(
                        "unknown base profile `{v}` (built in: {})",
                        BUILTIN_PROFILES.join(", ")
                    ),
                )
            })?,
            None => DeviceProfile::default(),
        };
        for (n, key, value) in lines {
            match key {
                "base" => {}
                "model" => p.model = text_value(n, value)?,
                "manufacturer" => p.manufacturer = text_value(n, value)?,
                "formats" => {
                    let mut formats = Vec::new();
                    for ext in list(value) {
                        let f = FormatCode::from_extension(ext);
                        if f == FormatCode::UNDEFINED {
                            return Err(bad(n, format!("unknown format `{ext}`")));
                        }
                        if !formats.contains(&f) {
                            formats.push(f);
                        }
                    }
                    if formats.is_empty() {
                        return Err(bad(n, "`formats` names no format"));
                    }
                    p.formats = formats;
                }
                "max-bitrate" => {
                    let (digits, scale) = match value.strip_suffix(['k', 'K']) {
                        Some(d) => (d, 1_000),
                        None => (value, 1),
                    };
                    let b = number(n, digits, 1, u64::from(u32::MAX))?.saturating_mul(scale);
                    if !(8_000..=10_000_000).contains(&b) {
                        return Err(bad(n, format!("bitrate {b} is not 8000-10000000 bit/s")));
                    }
                    p.max_bitrate = u32::try_from(b).ok();
                }
                "sample-rates" => {
                    let mut rates = Vec::new();
                    for r in list(value) {
                        rates.push(number(n, r, 8_000, 384_000)? as u32);
                    }
                    rates.sort_unstable();
                    rates.dedup();
                    p.sample_rates = rates;
                }
                "max-channels" => p.max_channels = Some(number(n, value, 1, 8)? as u8),
                "name-max" => p.name_max = Some(number(n, value, 16, 255)? as usize),
                "playlist" => {
                    p.playlist_format = match value.to_ascii_lowercase().as_str() {
                        "m3u8" | "m3u" => PlaylistFormat::M3u8,
                        "wpl" => PlaylistFormat::Wpl,
                        _ => return Err(bad(n, format!("unknown playlist format `{value}`"))),
                    }
                }
                _ => return Err(bad(n, format!("unknown key `{key}`"))),
            }
        }
        Ok(p)
    }

    /// The profile file in the device folder `root` (`.wmdm/profile.txt`), if there is one.
    ///
    /// # Errors
    /// A [`ProfileError`] (line 0) when the file cannot be read or is larger than 16 KiB; the
    /// errors of [`parse`](Self::parse).
    pub fn from_device_folder(root: &Path) -> Result<Option<DeviceProfile>, ProfileError> {
        let path = root.join(STATE_DIR).join(PROFILE_FILE);
        Self::from_file(&path).map(Some).or_else(|e| {
            if std::fs::symlink_metadata(&path).is_err() {
                Ok(None)
            } else {
                Err(e)
            }
        })
    }

    /// A profile file anywhere (the main job's `--profile FILE`).
    ///
    /// # Errors
    /// As [`from_device_folder`](Self::from_device_folder), for a missing file too.
    pub fn from_file(path: &Path) -> Result<DeviceProfile, ProfileError> {
        use std::io::Read;
        let file = std::fs::File::open(path)
            .map_err(|e| bad(0, format!("cannot open {}: {e}", path.display())))?;
        let mut bytes = Vec::new();
        file.take(MAX_PROFILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| bad(0, format!("cannot read {}: {e}", path.display())))?;
        if bytes.len() as u64 > MAX_PROFILE_BYTES {
            return Err(bad(0, format!("{} is larger than 16 KiB", path.display())));
        }
        Self::parse(&bytes)
    }

    /// IMDSPDevice3::GetFormatCapability's answer for `format` under this profile: its
    /// sample rates, channels and (for a lossy format) bitrate range; `None` when the device
    /// does not play `format` or it is not audio.
    pub fn capability(&self, format: FormatCode) -> Option<FormatCapability> {
        if !self.formats.contains(&format) || !format.is_audio() && format != FormatCode::FLAC {
            return None;
        }
        let mut descriptions = Vec::new();
        if !self.sample_rates.is_empty() {
            descriptions.push(PropDesc {
                name: tags::SAMPLE_RATE.to_owned(),
                valid: ValidValues::Enum(
                    self.sample_rates
                        .iter()
                        .map(|&r| PropValue::U32(r))
                        .collect(),
                ),
            });
        }
        if let Some(c) = self.max_channels {
            descriptions.push(PropDesc {
                name: tags::NUM_CHANNELS.to_owned(),
                valid: ValidValues::Enum((1..=c).map(|c| PropValue::U32(u32::from(c))).collect()),
            });
        }
        if let Some(b) = self.max_bitrate
            && !format.is_lossless()
        {
            descriptions.push(PropDesc {
                name: tags::BITRATE.to_owned(),
                valid: ValidValues::Range {
                    min: PropValue::U32(8_000),
                    max: PropValue::U32(b),
                    step: PropValue::U32(1),
                },
            });
        }
        Some(FormatCapability {
            configs: vec![PropConfig {
                preference: 0,
                descriptions,
            }],
        })
    }
}

impl super::DeviceOptions {
    /// These options with the profile of the device's own profile file, when it has one. A
    /// file that cannot be read keeps the configured profile and is reported (a warning): the
    /// device still works, and the main job checks the file itself to say what is wrong.
    pub(crate) fn with_profile_file(mut self, root: &Path) -> super::DeviceOptions {
        match DeviceProfile::from_device_folder(root) {
            Ok(Some(p)) => self.profile = p,
            Ok(None) => {}
            Err(e) => tracing::warn!(?root, error = %e, "ignoring the device's profile file"),
        }
        self
    }
}

fn list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn number(line: usize, text: &str, min: u64, max: u64) -> Result<u64, ProfileError> {
    let n: u64 = text
        .trim()
        .parse()
        .map_err(|_| bad(line, format!("`{text}` is not a whole number")))?;
    if !(min..=max).contains(&n) {
        return Err(bad(line, format!("{n} is not {min}-{max}")));
    }
    Ok(n)
}

fn text_value(line: usize, value: &str) -> Result<String, ProfileError> {
    if value.chars().any(char::is_control) || value.len() > 200 {
        return Err(bad(
            line,
            "a name with control characters or over 200 bytes",
        ));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn builtins_exist_and_differ() {
        for name in BUILTIN_PROFILES {
            assert!(DeviceProfile::builtin(name).is_some(), "{name}");
        }
        let mp3 = DeviceProfile::builtin("MP3-Player").unwrap();
        assert_eq!(mp3.formats, vec![FormatCode::MP3, FormatCode::M3U_PLAYLIST]);
        assert_eq!(mp3.max_bitrate, Some(320_000));
        assert!(DeviceProfile::builtin("ipod").is_none());
    }

    #[test]
    fn a_file_refines_its_base() {
        let p = DeviceProfile::parse(
            b"# mine\nmax-bitrate = 192k\nbase = mp3-player\nname-max = 64\nmodel = Stick\nformats = mp3, ogg\n",
        )
        .unwrap();
        assert_eq!(p.max_bitrate, Some(192_000));
        assert_eq!(p.name_max, Some(64));
        assert_eq!(p.model, "Stick");
        assert_eq!(p.formats, vec![FormatCode::MP3, FormatCode::OGG]);
        assert_eq!(p.sample_rates, vec![32_000, 44_100, 48_000]);
    }

    #[test]
    fn bad_files_name_the_line() {
        let cases: &[(&[u8], usize, &str)] = &[
            (b"formats = mp3, xyz", 1, "unknown format"),
            (b"\nmax-bitrate = fast", 2, "not a whole number"),
            (b"max-bitrate = 1", 1, "bitrate"),
            (b"name-max = 3", 1, "16-255"),
            (b"colour = red", 1, "unknown key"),
            (b"model = a\nmodel = b", 2, "twice"),
            (b"just words", 1, "key = value"),
            (b"base = ipod", 1, "unknown base"),
            (b"\xff\xfe", 0, "UTF-8"),
        ];
        for (bytes, line, what) in cases {
            let e = DeviceProfile::parse(bytes).unwrap_err();
            assert_eq!(e.line, *line, "{e}");
            assert!(e.to_string().contains(what), "{e}");
        }
    }

    #[test]
    fn the_device_folder_file_is_read_and_size_capped() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(DeviceProfile::from_device_folder(dir.path()), Ok(None));
        std::fs::create_dir(dir.path().join(STATE_DIR)).unwrap();
        let file = dir.path().join(STATE_DIR).join(PROFILE_FILE);
        std::fs::write(&file, "base = rockbox\n").unwrap();
        let p = DeviceProfile::from_device_folder(dir.path())
            .unwrap()
            .unwrap();
        assert_eq!(p.model, "Rockbox player");
        std::fs::write(&file, vec![b'#'; 20_000]).unwrap();
        let e = DeviceProfile::from_device_folder(dir.path()).unwrap_err();
        assert!(e.message.contains("16 KiB"), "{e}");
    }

    #[test]
    fn capabilities_follow_the_profile() {
        let p = DeviceProfile::builtin("mp3-player").unwrap();
        let caps = crate::transcode::DeviceCaps::formats(&p.formats)
            .from_capability(&p.capability(FormatCode::MP3).unwrap());
        assert_eq!(caps.max_bitrate, Some(320_000));
        assert_eq!(caps.max_channels, Some(2));
        assert_eq!(caps.sample_rates, vec![32_000, 44_100, 48_000]);
        assert!(p.capability(FormatCode::FLAC).is_none());
    }

    proptest! {
        #[test]
        fn any_bytes_parse_or_fail_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = DeviceProfile::parse(&bytes);
        }

        #[test]
        fn any_key_value_lines_parse_or_fail_cleanly(
            lines in prop::collection::vec(
                ("(base|formats|max-bitrate|sample-rates|max-channels|name-max|playlist|model)",
                 "[a-z0-9k, ]{0,12}"),
                0..8)
        ) {
            let text: String = lines.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
            let _ = DeviceProfile::parse(text.as_bytes());
        }
    }
}
