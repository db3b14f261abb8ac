//! Name checks: the always-on safety rules and the FAT/exFAT [`NamePolicy`].

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::provider::names::{MAX_COMPONENT, NameProblem, NameRule};

/// The hidden folder the provider keeps its own state in, at the root of every device.
pub const STATE_DIR: &str = ".wmdm";

/// Every temporary file the provider writes starts with this prefix and ends with
/// [`TEMP_SUFFIX`]; listings never show such names.
pub const TEMP_PREFIX: &str = crate::sys::files::TEMP_PREFIX;

/// The suffix of temporary files.
pub const TEMP_SUFFIX: &str = crate::sys::files::TEMP_SUFFIX;

/// What a [`NamePolicy`] does with a name that breaks a FAT/exFAT rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum NameMode {
    /// Refuse the name with [`Error::InvalidName`] (or [`Error::AlreadyExists`] for a
    /// case-insensitive collision).
    #[default]
    Reject,
    /// Rewrite the name so it is valid: reserved and control characters become `_`, trailing
    /// dots and spaces are dropped, a DOS device name gets a `_` prefix, an overlong name is
    /// shortened (keeping its extension), and a collision gets a ` (2)`, ` (3)`, ... suffix.
    Sanitise,
}

/// Which names a device accepts.
///
/// Some checks are always on, whatever the policy, because they keep callers inside the device
/// root: no empty name, no `.` or `..`, no `/`, no NUL, no leading `\`, no drive-letter prefix
/// such as `C:`, and none of the provider's own names ([`STATE_DIR`] and temporary files).
/// Those are always rejected with [`Error::InvalidName`].
///
/// [`NamePolicy::fat`] adds the rules of FAT and exFAT media, where most players live
/// ([`NameRule::Fat`], the one implementation the sync planner and the memory device use too):
/// the reserved characters `"*/:<>?\|`, control characters, trailing dots and spaces, the DOS
/// device names (CON, PRN, AUX, NUL, COM1-9, LPT1-9, CONIN$, CONOUT$, with or without an
/// extension), at most 255 UTF-16 units and 255 bytes per name, and names that differ only in
/// case counting as the same name. These rules, and so their outcome under either mode, are the
/// same on every host. [`NamePolicy::permissive`] applies [`NameRule::Permissive`]: no `/`, no
/// NUL, at most 255 bytes.
///
/// On Windows the host file systems themselves follow those rules (a `\` would split the name
/// into a path and a `:` would name a data stream), so there [`NamePolicy::permissive`] refuses
/// the names FAT forbids as well, and names that differ only in case always count as the same
/// name. No `\` or `:` ever reaches a path on Windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NamePolicy {
    rule: NameRule,
    mode: NameMode,
}

impl Default for NamePolicy {
    /// FAT rules, rejecting: the safe choice for a removable player.
    fn default() -> Self {
        NamePolicy::fat(NameMode::Reject)
    }
}

use crate::sys::host::{
    BACKSLASH_AND_COLON_SEPARATE, FOLDS_CASE as HOST_FOLDS_CASE,
    HAS_FAT_RULES as HOST_HAS_FAT_RULES,
};

impl NamePolicy {
    /// Only the always-on checks: any name the host file system takes. On Windows that means
    /// the FAT rules too (see [`NamePolicy`]), always rejecting.
    pub const fn permissive() -> NamePolicy {
        NamePolicy {
            rule: NameRule::Permissive,
            mode: NameMode::Reject,
        }
    }

    /// The FAT/exFAT rules, handled as `mode` says.
    pub const fn fat(mode: NameMode) -> NamePolicy {
        NamePolicy {
            rule: NameRule::Fat,
            mode,
        }
    }

    /// The FAT/exFAT rules for a medium that takes only ASCII names ([`NameRule::FatAscii`],
    /// as FAT through fusefat): under [`NameMode::Sanitise`] other characters are
    /// transliterated.
    pub const fn fat_ascii(mode: NameMode) -> NamePolicy {
        NamePolicy {
            rule: NameRule::FatAscii,
            mode,
        }
    }

    /// This policy with names outside ASCII refused (or transliterated) as well: the FAT rules
    /// restricted to ASCII, with the same mode.
    pub const fn ascii(self) -> NamePolicy {
        NamePolicy::fat_ascii(self.mode)
    }

    /// True when the FAT/exFAT rules apply (ASCII-only or not).
    pub const fn is_fat(&self) -> bool {
        self.rule.is_fat()
    }

    /// The name rule this policy enforces on this host: the policy's, and on Windows at least
    /// [`NameRule::Fat`] (see [`NamePolicy`]).
    pub const fn rule(&self) -> NameRule {
        if HOST_HAS_FAT_RULES && !self.rule.is_fat() {
            NameRule::Fat
        } else {
            self.rule
        }
    }

    /// What happens to a name that breaks a rule.
    pub const fn mode(&self) -> NameMode {
        self.mode
    }

    /// True when two names in one folder count as the same name (case-insensitive under FAT
    /// rules, and always on Windows).
    pub fn same_name(&self, a: &str, b: &str) -> bool {
        if HOST_FOLDS_CASE {
            NameRule::Fat.same_name(a, b)
        } else {
            self.rule().same_name(a, b)
        }
    }

    /// Checks one name, returning it unchanged or sanitised.
    ///
    /// This does not look at siblings; the provider checks collisions with [`same_name`]
    /// against the folder it creates in.
    ///
    /// [`same_name`]: NamePolicy::same_name
    ///
    /// # Errors
    /// [`Error::InvalidName`] when an always-on check fails, or when a FAT rule fails and the
    /// mode is [`NameMode::Reject`] (or, on Windows, the policy is permissive).
    pub fn check<'a>(&self, name: &'a str) -> Result<Cow<'a, str>> {
        let sanitise = self.mode == NameMode::Sanitise && self.is_fat();
        check_always(name, sanitise)?;
        let rule = self.rule();
        if sanitise {
            let clean = rule.sanitise(name, MAX_COMPONENT);
            check_always(&clean, false)?;
            return Ok(if clean == name {
                Cow::Borrowed(name)
            } else {
                Cow::Owned(clean)
            });
        }
        rule.check(name)?;
        Ok(Cow::Borrowed(name))
    }

    /// A variant of `name` for the `n`th collision (`n` >= 2): `stem (n).ext`, shortened if
    /// needed so it still fits the length limit.
    pub fn numbered(&self, name: &str, n: u32) -> String {
        self.rule().numbered(name, n, MAX_COMPONENT)
    }
}

/// The checks every name passes, whatever the policy: [`NameRule::Permissive`] (which keeps a
/// name one component on every host: no separator, no drive prefix, no leading `\`) and none
/// of the provider's own names.
/// A name too long passes when `will_shorten` (the policy sanitises it next).
fn check_always(name: &str, will_shorten: bool) -> Result<()> {
    match NameRule::Permissive.problem(name) {
        None => {}
        Some(NameProblem::TooLong) if will_shorten => {}
        Some(_) => return Err(Error::InvalidName),
    }
    if is_internal(name) {
        return Err(Error::InvalidName);
    }
    Ok(())
}

/// True when `name` can only mean one entry of a folder on this host: not empty, not `.` or
/// `..`, and without a separator (`/`, and on Windows `\` and the stream separator `:`) or NUL.
/// Names that come from outside without passing a [`NamePolicy`] (lookups, playlist entries)
/// must pass this before they are joined to a path.
pub(crate) fn is_component(name: &str) -> bool {
    !(name.is_empty()
        || name == "."
        || name == ".."
        || name.contains(['/', '\0'])
        || (BACKSLASH_AND_COLON_SEPARATE && name.contains(['\\', ':'])))
}

/// True for names the provider keeps for itself.
pub(crate) fn is_internal(name: &str) -> bool {
    name.eq_ignore_ascii_case(STATE_DIR) || is_temp(name)
}

/// True for the provider's temporary files.
pub(crate) fn is_temp(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)
}

impl From<NamePolicy> for NameRule {
    /// The planner's rules for a folder device with this policy.
    fn from(p: NamePolicy) -> NameRule {
        p.rule()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn always_on_checks_hold_under_every_policy() {
        for policy in [
            NamePolicy::permissive(),
            NamePolicy::fat(NameMode::Reject),
            NamePolicy::fat(NameMode::Sanitise),
        ] {
            for bad in [
                "", ".", "..", "a/b", "/etc", "a\0b", "C:", "c:evil", ".wmdm", ".WMDM",
            ] {
                assert_eq!(policy.check(bad), Err(Error::InvalidName), "{bad:?}");
            }
            assert_eq!(policy.check(".wmdm-tmp-0123.part"), Err(Error::InvalidName));
            assert_eq!(policy.check("song.mp3").as_deref(), Ok("song.mp3"));
        }
    }

    #[test]
    fn sanitise_fixes_fat_names() {
        let p = NamePolicy::fat(NameMode::Sanitise);
        assert_eq!(p.check("a?b*c.mp3").as_deref(), Ok("a_b_c.mp3"));
        assert_eq!(p.check("trailing. . ").as_deref(), Ok("trailing"));
        assert_eq!(p.check("con.txt").as_deref(), Ok("_con.txt"));
        assert_eq!(p.check("LPT9").as_deref(), Ok("_LPT9"));
        assert_eq!(p.check("COM0").as_deref(), Ok("COM0"));
        assert_eq!(p.check("COM10").as_deref(), Ok("COM10"));
        assert_eq!(p.check("conout$.log").as_deref(), Ok("_conout$.log"));
        assert_eq!(p.check("lpt\u{b2}.txt").as_deref(), Ok("_lpt\u{b2}.txt"));
        assert_eq!(p.check("back\\slash:x").as_deref(), Ok("back_slash_x"));
        let ascii = NamePolicy::fat_ascii(NameMode::Sanitise);
        assert_eq!(ascii.check("Ana Sól?.mp3").as_deref(), Ok("Ana Sol_.mp3"));
        assert_eq!(p.ascii(), ascii);
        assert_eq!(
            NamePolicy::fat_ascii(NameMode::Reject).check("Sól"),
            Err(Error::InvalidName)
        );
        let long = format!("{}.mp3", "é".repeat(300));
        let out = p.check(&long).unwrap();
        assert!(
            NameRule::Fat.length(&out) <= 255 && out.ends_with(".mp3"),
            "{out}"
        );
        let emoji = "😀".repeat(200);
        let out = p.check(&emoji).unwrap();
        assert!(NameRule::Fat.length(&out) <= 255);
    }

    #[test]
    fn permissive_refuses_what_the_host_cannot_store() {
        let p = NamePolicy::permissive();
        for name in ["what?", "a\\b", "ab:c", "CON", "dot.", "x\u{1}"] {
            let expected = if cfg!(windows) {
                Err(Error::InvalidName)
            } else {
                Ok(name)
            };
            assert_eq!(p.check(name).as_deref(), expected.as_deref(), "{name:?}");
        }
        assert_eq!(p.same_name("ABC", "abc"), cfg!(windows));
        assert!(is_component("song.mp3"));
        for bad in ["", ".", "..", "a/b", "a\0b"] {
            assert!(!is_component(bad), "{bad:?}");
        }
        assert_eq!(is_component("a\\b"), !cfg!(windows));
        assert_eq!(is_component("a.mp3::$DATA"), !cfg!(windows));
    }

    #[test]
    fn numbered_names_keep_extension() {
        let p = NamePolicy::default();
        assert_eq!(p.numbered("Song.mp3", 2), "Song (2).mp3");
        assert_eq!(p.numbered("Folder", 3), "Folder (3)");
        assert!(p.same_name("ABC.mp3", "abc.MP3"));
        assert_eq!(
            NamePolicy::permissive().same_name("ABC", "abc"),
            cfg!(windows)
        );
    }
}
