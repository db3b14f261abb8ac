//! How sync spells names on a device: the device's [`NameRule`] (the one implementation, in
//! [`crate::provider::names`]) plus the planner's own choices.
//!
//! The fs provider enforces its [`NamePolicy`](crate::providers::fs::NamePolicy) when a name is
//! created (`NameRule::from(policy)` gives the matching rule) and the memory device refuses
//! what [`NameRule::Fat`] refuses; the planner spells every path with the same rule
//! beforehand, so a plan never names a file the device would refuse, and two tracks never
//! collide on a case-insensitive medium.

use crate::provider::names::MAX_COMPONENT;
pub use crate::provider::names::NameRule;

/// The longest a planned file name may be. A copy is first written under a fixed-length
/// sibling name (`journal::temp_path`, 41 bytes whatever the final name), so a planned file
/// takes the whole component limit, as a folder does.
pub(crate) const FILE_LIMIT: usize = MAX_COMPONENT;

/// One path component as the planner spells it: valid under `rule`, at most `limit` units,
/// and never starting with a dot (dot names are where providers and sync keep their own state,
/// and players hide them).
pub(crate) fn component(rule: NameRule, name: &str, limit: usize) -> String {
    let mut s = rule.sanitise(name, limit);
    if s.starts_with('.') {
        s.replace_range(..1, "_");
    }
    s
}

impl From<crate::providers::fs::NamePolicy> for NameRule {
    /// The planner's rules for a folder device with this policy.
    fn from(p: crate::providers::fs::NamePolicy) -> NameRule {
        p.rule()
    }
}

/// `name (n).ext` for the n-th candidate of a path, its file name within `limit` units.
pub(crate) fn numbered(rule: NameRule, path: &str, n: u32, limit: usize) -> String {
    match path.rsplit_once('/') {
        Some((dir, file)) => format!("{dir}/{}", rule.numbered(file, n, limit)),
        None => rule.numbered(path, n, limit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::journal::temp_path;

    #[test]
    fn planner_names() {
        let r = NameRule::Fat;
        assert_eq!(component(r, "AC/DC: Live?", FILE_LIMIT), "AC_DC_ Live_");
        assert_eq!(component(r, ".hidden", FILE_LIMIT), "_hidden");
        assert_eq!(component(r, &"a".repeat(300), 255).len(), 255);
        assert_eq!(numbered(r, "A/b.mp3", 2, FILE_LIMIT), "A/b (2).mp3");
        assert_eq!(numbered(r, "b", 3, FILE_LIMIT), "b (3)");
    }

    /// The assumption [`FILE_LIMIT`] rests on: whatever the temporary name of a planned file
    /// is, it fits the component limit of both rules.
    #[test]
    fn temporary_names_of_the_longest_planned_names_fit() {
        for r in [NameRule::Fat, NameRule::Permissive] {
            for name in [
                format!("{}.mp3", "x".repeat(300)),
                format!("{}.mp3", "é".repeat(300)),
                "😀".repeat(200),
            ] {
                let planned = component(r, &name, FILE_LIMIT);
                let temp = temp_path(&format!("Music/{planned}"), u64::MAX, u32::MAX);
                let last = temp.rsplit('/').next().unwrap_or_default();
                assert_eq!(r.check(last), Ok(()), "{r:?} {last}");
                let numbered = numbered(r, &format!("Music/{planned}"), 999, FILE_LIMIT);
                let temp = temp_path(&numbered, u64::MAX, u32::MAX);
                let last = temp.rsplit('/').next().unwrap_or_default();
                assert_eq!(r.check(last), Ok(()), "{r:?} {last}");
            }
        }
    }
}
