//! The name rules of device media: which names one path component may take, when two names
//! are the same name, and how a name is made valid, shortened or numbered.
//!
//! This is the one implementation of those rules. The sync planner spells every path it plans
//! with it, the folder provider's [`NamePolicy`](crate::providers::fs::NamePolicy) checks and
//! sanitises with it, and the memory device refuses what it refuses, so a plan never names a
//! file the device would refuse.
//!
//! Three rule sets, each stricter than the one before (so [`NameRule::strictest`] of two is
//! a rule both accept):
//!
//! * [`NameRule::Fat`], the rules of FAT and exFAT media, where most players live (Microsoft,
//!   "Naming Files, Paths, and Namespaces"): no reserved character `"*/:<>?\|`, no control
//!   character, no trailing dot or space, no DOS device name (CON, PRN, AUX, NUL, COM1-9,
//!   LPT1-9, CONIN$, CONOUT$, with or without an extension), at most 255 UTF-16 units (and 255
//!   bytes, see [`NameRule::length`]), and names that differ only in case are the same name.
//! * [`NameRule::Permissive`], POSIX file systems: no `/`, no NUL, at most 255 bytes, and case
//!   matters.
//! * [`NameRule::FatAscii`], FAT's rules on media that refuse any name outside printable ASCII
//!   (FAT images mounted through FUSE's fusefat answer EPERM): [`NameRule::sanitise`]
//!   transliterates ("Ana Sól" becomes "Ana Sol", "Kōbō" becomes "Kobo").
//!
//! A device says which rule it follows, and the longest component it takes, through the
//! crate's device properties [`NAME_RULE`](crate::metadata::device::NAME_RULE) and
//! [`NAME_MAX`](crate::metadata::device::NAME_MAX); the sync planner applies them.
//!
//! All refuse the empty name, `.`, `..`, and names that would mean a path on Windows: a drive
//! prefix (`C:x`) or a leading `\`. Lengths count UTF-8 bytes ([`NameRule::length`]
//! says why that holds for FAT too).
//!
//! Writers that put a file under a temporary name first must keep that name within the limit
//! too. The folder provider's temporary names are fixed-length (`.wmdm-tmp-<16 hex>.part`,
//! 31 bytes), so they fit whatever the final name; a writer whose temporary name grows with the
//! final name passes a smaller `limit` to [`NameRule::sanitise`] and [`NameRule::numbered`].

use std::borrow::Cow;

use crate::error::{Error, Result};

/// The longest a path component may be, as [`NameRule::length`] counts.
pub const MAX_COMPONENT: usize = 255;

/// Which names a medium takes. See the [module documentation](self).
///
/// The variants are ordered from the most to the least permissive: a name a rule accepts is
/// accepted by every rule before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum NameRule {
    /// POSIX: any name without `/` or NUL, at most 255 bytes; names are case-sensitive.
    Permissive,
    /// FAT/exFAT: no `"*/:<>?\|` or control characters, no trailing dot or space, no DOS device
    /// names, at most 255 UTF-16 units and 255 bytes; names are case-insensitive.
    #[default]
    Fat,
    /// [`NameRule::Fat`] on a medium that takes only ASCII names (fusefat): no character
    /// outside ASCII either. Sanitising transliterates such characters.
    FatAscii,
}

/// A [`NameRule`] spelled as the [`NAME_RULE`](crate::metadata::device::NAME_RULE) property
/// does not name one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownRule(pub String);

impl std::fmt::Display for UnknownRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown name rule {:?}", self.0)
    }
}

impl std::error::Error for UnknownRule {}

impl std::str::FromStr for NameRule {
    type Err = UnknownRule;

    /// The rule [`NameRule::as_str`] spells.
    fn from_str(s: &str) -> std::result::Result<NameRule, UnknownRule> {
        match s {
            "permissive" => Ok(NameRule::Permissive),
            "fat" => Ok(NameRule::Fat),
            "fat-ascii" => Ok(NameRule::FatAscii),
            other => Err(UnknownRule(other.chars().take(64).collect())),
        }
    }
}

impl std::fmt::Display for NameRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a name breaks a [`NameRule`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NameProblem {
    /// The empty name, `.` or `..`.
    Empty,
    /// A character the rule forbids (`/` or NUL always; reserved and control characters under
    /// FAT).
    Character(char),
    /// A trailing dot or space (FAT).
    TrailingDotOrSpace,
    /// A DOS device name such as `CON` or `lpt1.txt` (FAT).
    DeviceName,
    /// Longer than [`MAX_COMPONENT`] units.
    TooLong,
}

const FAT_RESERVED: &[char] = &['"', '*', '/', ':', '<', '>', '?', '\\', '|'];

/// The longest extension kept whole when a name is shortened or numbered; a longer "extension"
/// is more likely part of a title ("Mr. Smith goes to Washington").
const MAX_EXTENSION_CHARS: usize = 16;

impl NameRule {
    /// The rule's name in the [`NAME_RULE`](crate::metadata::device::NAME_RULE) property:
    /// `permissive`, `fat` or `fat-ascii`.
    pub const fn as_str(self) -> &'static str {
        match self {
            NameRule::Permissive => "permissive",
            NameRule::Fat => "fat",
            NameRule::FatAscii => "fat-ascii",
        }
    }

    /// The stricter of two rules: every name it accepts, both accept. A plan for a device
    /// follows the strictest of the partnership's rule and the device's own.
    pub fn strictest(self, other: NameRule) -> NameRule {
        self.max(other)
    }

    /// True under FAT's rules ([`NameRule::Fat`] and [`NameRule::FatAscii`]).
    pub const fn is_fat(self) -> bool {
        matches!(self, NameRule::Fat | NameRule::FatAscii)
    }

    /// True when only ASCII names are valid.
    pub const fn ascii_only(self) -> bool {
        matches!(self, NameRule::FatAscii)
    }

    /// The length of `name` as the limit counts it: UTF-8 bytes under both rules. POSIX file
    /// systems count bytes (Linux's NAME_MAX); a FAT or exFAT medium takes 255 UTF-16 units,
    /// but is reached through the host's file system interface, which on Linux takes 255 bytes
    /// whatever the medium (a folder device with FAT rules usually sits on ext4 or tmpfs). A
    /// name's UTF-8 bytes are never fewer than its UTF-16 units, so a name within 255 bytes
    /// fits both.
    pub fn length(self, name: &str) -> usize {
        name.len()
    }

    /// True when names that differ only in case are the same name.
    pub fn folds_case(self) -> bool {
        self.is_fat()
    }

    /// The key two names collide under: folded to lower case, one character at a time, under
    /// FAT (as the medium's up-case table does, without context); the name itself otherwise.
    /// Works on whole paths as well as on components.
    pub fn fold(self, name: &str) -> Cow<'_, str> {
        match self {
            NameRule::Permissive => Cow::Borrowed(name),
            // Most names are ASCII, and the ASCII fold is several times faster.
            NameRule::Fat | NameRule::FatAscii if name.is_ascii() => {
                Cow::Owned(name.to_ascii_lowercase())
            }
            NameRule::Fat | NameRule::FatAscii => {
                Cow::Owned(name.chars().flat_map(char::to_lowercase).collect())
            }
        }
    }

    /// True when `a` and `b` name the same entry of one folder.
    pub fn same_name(self, a: &str, b: &str) -> bool {
        match self {
            NameRule::Permissive => a == b,
            NameRule::Fat | NameRule::FatAscii if a.is_ascii() && b.is_ascii() => {
                a.eq_ignore_ascii_case(b)
            }
            NameRule::Fat | NameRule::FatAscii => a
                .chars()
                .flat_map(char::to_lowercase)
                .eq(b.chars().flat_map(char::to_lowercase)),
        }
    }

    /// Why `name` is not a valid component under this rule, or `None` when it is.
    pub fn problem(self, name: &str) -> Option<NameProblem> {
        if name.is_empty() || name == "." || name == ".." {
            return Some(NameProblem::Empty);
        }
        if let Some(c) = name.chars().find(|&c| self.is_bad_char(c)) {
            return Some(NameProblem::Character(c));
        }
        if name.starts_with('\\') {
            return Some(NameProblem::Character('\\'));
        }
        if has_drive_prefix(name) {
            return Some(NameProblem::Character(':'));
        }
        if self.is_fat() {
            if name.ends_with(['.', ' ']) {
                return Some(NameProblem::TrailingDotOrSpace);
            }
            if is_device_name(name) {
                return Some(NameProblem::DeviceName);
            }
        }
        if self.length(name) > MAX_COMPONENT {
            return Some(NameProblem::TooLong);
        }
        None
    }

    /// Checks one component.
    ///
    /// # Errors
    /// [`Error::InvalidName`] when [`problem`](NameRule::problem) finds one.
    pub fn check(self, name: &str) -> Result<()> {
        match self.problem(name) {
            None => Ok(()),
            Some(_) => Err(Error::InvalidName),
        }
    }

    /// `name` made valid and at most `limit` units long (`limit` is capped at
    /// [`MAX_COMPONENT`]): forbidden and control characters become `_`, trailing dots and
    /// spaces are dropped under FAT, a DOS device name gets a `_` prefix, a long name is cut at
    /// a character boundary keeping its extension, and a name left empty becomes `_`. A valid
    /// name within the limit comes back unchanged. Control characters are replaced under every
    /// rule: names end up in playlists, where a line break would split an entry. Under
    /// [`NameRule::FatAscii`] characters outside ASCII are transliterated first ("Sól" becomes
    /// "Sol", "東京" "Dong Jing"), and those without a transliteration become `_`.
    pub fn sanitise(self, name: &str, limit: usize) -> String {
        let limit = limit.clamp(1, MAX_COMPONENT);
        let ascii;
        let name = if self.ascii_only() && !name.is_ascii() {
            ascii = transliterate(name);
            ascii.as_str()
        } else {
            name
        };
        let mut out: String = name
            .chars()
            .map(|c| {
                if self.is_bad_char(c) || c.is_control() {
                    '_'
                } else {
                    c
                }
            })
            .collect();
        if out.starts_with('\\') {
            out.replace_range(..1, "_");
        }
        if has_drive_prefix(&out) {
            out.replace_range(1..2, "_");
        }
        if self.is_fat() {
            out.truncate(out.trim_end_matches(['.', ' ']).len());
            if is_device_name(&out) {
                out.insert(0, '_');
            }
        }
        let mut out = self.truncate(&out, limit).into_owned();
        if self.is_fat() {
            out.truncate(out.trim_end_matches(['.', ' ']).len());
        }
        if self.problem(&out).is_some() {
            // Only the empty name, `.` and `..` can be left here.
            out = "_".into();
        }
        out
    }

    /// `name` cut to at most `limit` units at a character boundary, keeping its extension (up
    /// to 16 characters after the last dot). Unchanged when it fits.
    pub fn truncate(self, name: &str, limit: usize) -> Cow<'_, str> {
        if self.length(name) <= limit {
            return Cow::Borrowed(name);
        }
        let (stem, ext) = split_ext(name);
        // An extension that leaves no room for a stem is cut along with it.
        let (stem, ext) = if self.length(ext) * 2 > limit {
            (name, "")
        } else {
            (stem, ext)
        };
        let stem = self.cut(stem, limit - self.length(ext));
        Cow::Owned(format!("{stem}{ext}"))
    }

    /// The `n`th variant of `name` (`n` >= 2) for a collision: `stem (n).ext`, the stem cut so
    /// that the whole stays within `limit` units.
    pub fn numbered(self, name: &str, n: u32, limit: usize) -> String {
        let limit = limit.min(MAX_COMPONENT);
        let tag = format!(" ({n})");
        let (stem, ext) = split_ext(name);
        let ext = if self.length(ext) + self.length(&tag) >= limit {
            ""
        } else {
            ext
        };
        let budget = limit.saturating_sub(self.length(&tag) + self.length(ext));
        let stem = self.cut(stem, budget).trim_end_matches([' ', '.']);
        format!("{stem}{tag}{ext}")
    }

    fn is_bad_char(self, c: char) -> bool {
        match self {
            NameRule::Permissive => c == '/' || c == '\0',
            NameRule::Fat => FAT_RESERVED.contains(&c) || c.is_control(),
            NameRule::FatAscii => !c.is_ascii() || FAT_RESERVED.contains(&c) || c.is_control(),
        }
    }

    /// The longest prefix of `s` at most `units` long (as [`NameRule::length`] counts),
    /// ending at a character boundary.
    fn cut(self, s: &str, units: usize) -> &str {
        let mut used = 0;
        for (i, c) in s.char_indices() {
            used += self.length(c.encode_utf8(&mut [0; 4]));
            if used > units {
                return s.get(..i).unwrap_or("");
            }
        }
        s
    }
}

/// `name` in ASCII: each character outside ASCII replaced by its transliteration (the
/// `deunicode` tables: "ó" is "o", "ß" "ss", "東京" "Dong Jing"), or by `_` when it has none.
/// What comes out may hold characters a rule forbids (`¼` is ` 1/4`); sanitising replaces
/// those next.
fn transliterate(name: &str) -> String {
    let mut out = deunicode::deunicode_with_tofu(name, "_");
    // The tables end some transliterations with a space ("東京" is "Dong Jing "): one
    // before a dot or at the end is noise.
    while let Some(i) = out.find(" .") {
        out.remove(i);
    }
    out.truncate(out.trim_end_matches(' ').len());
    out
}

/// `(stem, ".ext")`, or `(name, "")` when the name has no extension: a dot that is not the
/// first character, followed by 1 to 16 characters without a space.
pub fn split_ext(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 => {
            let (stem, ext) = name.split_at(i);
            let n = ext.chars().count() - 1;
            if (1..=MAX_EXTENSION_CHARS).contains(&n) && !ext.contains(' ') {
                (stem, ext)
            } else {
                (name, "")
            }
        }
        _ => (name, ""),
    }
}

/// True when `name` starts like a Windows drive (`C:`), where it would mean a path.
fn has_drive_prefix(name: &str) -> bool {
    matches!(name.as_bytes(), [letter, b':', ..] if letter.is_ascii_alphabetic())
}

/// True for the DOS device names, with or without an extension, which Windows opens as a
/// device whatever folder they are in.
fn is_device_name(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name).trim_end_matches(' ');
    let upper = stem.to_ascii_uppercase();
    match upper.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$" => true,
        _ => {
            let port = upper
                .strip_prefix("COM")
                .or_else(|| upper.strip_prefix("LPT"));
            let mut digits = port.unwrap_or_default().chars();
            // Windows counts the superscript digits as port numbers too.
            matches!(
                (digits.next(), digits.next()),
                (Some('1'..='9' | '\u{b9}' | '\u{b2}' | '\u{b3}'), None)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: [NameRule; 3] = [NameRule::Fat, NameRule::Permissive, NameRule::FatAscii];

    #[test]
    fn ascii_rule() {
        let r = NameRule::FatAscii;
        assert_eq!(r.problem("Ana Sól.mp3"), Some(NameProblem::Character('ó')));
        assert_eq!(r.problem("a:b"), Some(NameProblem::Character(':')));
        assert_eq!(r.problem("con"), Some(NameProblem::DeviceName));
        assert_eq!(r.check("Ana Sol.mp3"), Ok(()));
        assert_eq!(r.sanitise("Ana Sól.mp3", 255), "Ana Sol.mp3");
        assert_eq!(r.sanitise("Kōbō Ensemble", 255), "Kobo Ensemble");
        assert_eq!(r.sanitise("½ Time?", 255), "1_2 Time_");
        assert_eq!(r.sanitise("東京.mp3", 255), "Dong Jing.mp3");
        assert_eq!(r.sanitise("\u{10ffff}", 255), "_");
        assert!(r.same_name("ANA SOL", "ana sol"));
        for name in ["é".repeat(300), "😀 ".repeat(100), "\u{301}".repeat(50)] {
            let out = r.sanitise(&name, 100);
            assert!(out.is_ascii() && out.len() <= 100, "{out:?}");
            assert_eq!(r.check(&out), Ok(()), "{out:?}");
        }
    }

    #[test]
    fn rules_are_ordered_by_strictness() {
        use std::str::FromStr;
        assert_eq!(NameRule::Permissive.strictest(NameRule::Fat), NameRule::Fat);
        assert_eq!(
            NameRule::FatAscii.strictest(NameRule::Fat),
            NameRule::FatAscii
        );
        for r in BOTH {
            assert_eq!(NameRule::from_str(r.as_str()), Ok(r));
        }
        assert!(NameRule::from_str("FAT").is_err());
        // Every name a stricter rule accepts, the looser ones accept.
        for name in ["Ana Sol", "a:b", "Sól", "con", "x.", "ok.mp3"] {
            if NameRule::FatAscii.check(name).is_ok() {
                assert_eq!(NameRule::Fat.check(name), Ok(()), "{name}");
            }
            if NameRule::Fat.check(name).is_ok() {
                assert_eq!(NameRule::Permissive.check(name), Ok(()), "{name}");
            }
        }
    }

    #[test]
    fn fat_rules() {
        let r = NameRule::Fat;
        for (bad, why) in [
            ("", NameProblem::Empty),
            ("..", NameProblem::Empty),
            ("a:b", NameProblem::Character(':')),
            ("a\u{1}", NameProblem::Character('\u{1}')),
            ("dot.", NameProblem::TrailingDotOrSpace),
            ("space ", NameProblem::TrailingDotOrSpace),
            ("con.mp3", NameProblem::DeviceName),
            ("LPT\u{b9}", NameProblem::DeviceName),
            ("CONOUT$", NameProblem::DeviceName),
        ] {
            assert_eq!(r.problem(bad), Some(why), "{bad:?}");
        }
        assert_eq!(r.check("COM10"), Ok(()));
        assert_eq!(r.check(&"x".repeat(255)), Ok(()));
        // 255 UTF-16 units, but 510 bytes: more than a Linux host takes.
        assert_eq!(r.check(&"é".repeat(255)), Err(Error::InvalidName));
        assert_eq!(r.check(&"é".repeat(127)), Ok(()));
        assert_eq!(r.check(&"𝄞".repeat(64)), Err(Error::InvalidName));
        assert!(r.same_name("ÄRGER.mp3", "ärger.MP3"));
        assert_eq!(r.fold("ΑΣ"), r.fold("ασ"));
    }

    #[test]
    fn permissive_rules() {
        let r = NameRule::Permissive;
        assert_eq!(r.check("ab:c?. "), Ok(()));
        assert_eq!(r.problem("a:b"), Some(NameProblem::Character(':')));
        assert_eq!(r.problem("\\x"), Some(NameProblem::Character('\\')));
        assert_eq!(r.sanitise("a:b", 255), "a_b");
        assert_eq!(r.sanitise("\\x", 255), "_x");
        assert_eq!(r.check("con"), Ok(()));
        assert_eq!(r.problem("a/b"), Some(NameProblem::Character('/')));
        assert_eq!(r.problem("a\0"), Some(NameProblem::Character('\0')));
        // 255 bytes, not 255 characters.
        assert_eq!(r.check(&"é".repeat(128)), Err(Error::InvalidName));
        assert_eq!(r.check(&"é".repeat(127)), Ok(()));
        assert!(!r.same_name("A", "a"));
    }

    #[test]
    fn sanitise_gives_valid_names() {
        let f = NameRule::Fat;
        assert_eq!(f.sanitise("AC/DC: Live?", 255), "AC_DC_ Live_");
        assert_eq!(f.sanitise("Intro. ", 255), "Intro");
        assert_eq!(f.sanitise("con.mp3", 255), "_con.mp3");
        assert_eq!(f.sanitise("CON .", 255), "_CON");
        assert_eq!(f.sanitise("", 255), "_");
        assert_eq!(f.sanitise("...", 255), "_");
        assert_eq!(NameRule::Permissive.sanitise("ab:c\n", 255), "ab:c_");
        assert_eq!(NameRule::Permissive.sanitise("..", 255), "_");
        for r in BOTH {
            for name in ["x".repeat(300), format!("{}.mp3", "é".repeat(300))] {
                let out = r.sanitise(&name, 240);
                assert!(r.length(&out) <= 240, "{r:?}");
                assert_eq!(r.check(&out), Ok(()));
            }
        }
    }

    #[test]
    fn truncation_keeps_the_extension_and_char_boundaries() {
        for r in BOTH {
            let long = format!("{}.mp3", "é".repeat(300));
            let cut = r.truncate(&long, 240);
            assert!(cut.ends_with(".mp3") && r.length(&cut) <= 240, "{r:?}");
            assert!(r.length(&cut) >= 238, "{r:?} cut too much");
            let emoji = "😀".repeat(100);
            assert!(r.length(&r.truncate(&emoji, 11)) <= 11);
        }
        // A long "extension" is part of the name.
        assert_eq!(NameRule::Fat.truncate("a.bcdefghij", 5), "a.bcd");
    }

    #[test]
    fn numbered_names_stay_within_the_limit() {
        for r in BOTH {
            assert_eq!(r.numbered("Song.mp3", 2, 255), "Song (2).mp3");
            assert_eq!(r.numbered("Folder", 3, 255), "Folder (3)");
            assert_eq!(r.numbered("Mr. Smith goes", 2, 255), "Mr. Smith goes (2)");
            // Numbering keeps a valid name valid.
            let long = r.sanitise(&format!("{}.mp3", "ü".repeat(240)), 255);
            let n = r.numbered(&long, 12, 240);
            assert!(n.ends_with(" (12).mp3") && r.length(&n) <= 240, "{r:?} {n}");
            assert_eq!(r.check(&n), Ok(()));
        }
    }
}
