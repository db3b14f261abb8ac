//! How sync spells names on a device: the FAT/exFAT rules most players live under, and
//! collision handling.

/// Which names a device takes.
///
/// The fs provider enforces its own [`NamePolicy`](crate::providers::fs::NamePolicy) when a
/// name is created (`NameRule::from(policy)` gives the matching rule);
/// the planner applies the same rules beforehand, so a plan never names a file the device
/// would refuse, and so two tracks never collide on a case-insensitive medium.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum NameRule {
    /// Any name without `/`, NUL or control characters; names are case-sensitive.
    Permissive,
    /// FAT/exFAT: no `"*/:<>?\|` or control characters, no trailing dot or space, no DOS device
    /// names, at most 255 UTF-16 units, case-insensitive. Offending characters become `_`.
    #[default]
    Fat,
}

const RESERVED: &[char] = &['"', '*', '/', ':', '<', '>', '?', '\\', '|'];
const DOS_NAMES: &[&str] = &[
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

impl NameRule {
    /// One path component made valid. Never empty, never `.` or `..`, never starting with a dot
    /// (dot names are where providers and sync keep their own state).
    pub fn component(&self, name: &str) -> String {
        let mut s: String = name
            .chars()
            .map(|c| {
                let bad = c == '/'
                    || c == '\0'
                    || c.is_control()
                    || (*self == NameRule::Fat && RESERVED.contains(&c));
                if bad { '_' } else { c }
            })
            .collect();
        if *self == NameRule::Fat {
            while s.ends_with(['.', ' ']) {
                s.pop();
            }
            let stem = s.split('.').next().unwrap_or_default().to_ascii_lowercase();
            if DOS_NAMES.contains(&stem.as_str()) {
                s.insert(0, '_');
            }
        }
        if s.starts_with('.') {
            s.replace_range(..1, "_");
        }
        if s.trim().is_empty() {
            s = "_".into();
        }
        truncate_utf16(&s, 255)
    }

    /// The key two names collide under: lower case for FAT, the name itself otherwise.
    pub fn collision_key(&self, path: &str) -> String {
        match self {
            // Most names are ASCII, and the ASCII fold is several times faster.
            NameRule::Fat if path.is_ascii() => path.to_ascii_lowercase(),
            NameRule::Fat => path.to_lowercase(),
            NameRule::Permissive => path.to_owned(),
        }
    }
}

/// Cuts a name to `max` UTF-16 units, keeping a short extension.
fn truncate_utf16(s: &str, max: usize) -> String {
    if s.encode_utf16().count() <= max {
        return s.to_owned();
    }
    let (stem, ext) = match s.rsplit_once('.') {
        Some((a, b)) if b.len() <= 8 && !a.is_empty() => (a, format!(".{b}")),
        _ => (s, String::new()),
    };
    let budget = max.saturating_sub(ext.encode_utf16().count());
    let mut out = String::new();
    let mut used = 0;
    for c in stem.chars() {
        if used + c.len_utf16() > budget {
            break;
        }
        used += c.len_utf16();
        out.push(c);
    }
    out.push_str(&ext);
    out
}

impl From<crate::providers::fs::NamePolicy> for NameRule {
    /// The planner's rules for a folder device with this policy.
    fn from(p: crate::providers::fs::NamePolicy) -> NameRule {
        if p.is_fat() {
            NameRule::Fat
        } else {
            NameRule::Permissive
        }
    }
}

/// `name (n).ext` for the n-th candidate of a path.
pub(crate) fn numbered(path: &str, n: u32) -> String {
    let (dir, file) = match path.rsplit_once('/') {
        Some((d, f)) => (format!("{d}/"), f),
        None => (String::new(), path),
    };
    match file.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{dir}{stem} ({n}).{ext}"),
        _ => format!("{dir}{file} ({n})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fat_names() {
        let r = NameRule::Fat;
        assert_eq!(r.component("AC/DC: Live?"), "AC_DC_ Live_");
        assert_eq!(r.component("Intro. "), "Intro");
        assert_eq!(r.component("con.mp3"), "_con.mp3");
        assert_eq!(r.component(""), "_");
        assert_eq!(r.component(".hidden"), "_hidden");
        assert_eq!(r.component(&"a".repeat(300)).len(), 255);
        let long = format!("{}.mp3", "é".repeat(300));
        let cut = r.component(&long);
        assert!(cut.ends_with(".mp3") && cut.encode_utf16().count() == 255);
        assert_eq!(NameRule::Permissive.component("a:b"), "a:b");
        assert_eq!(numbered("A/b.mp3", 2), "A/b (2).mp3");
        assert_eq!(numbered("b", 3), "b (3)");
    }
}
