//! How sync spells names on a device: the device's [`NameRule`] (the one implementation, in
//! [`crate::provider::names`]) plus the planner's own choices.
//!
//! The fs provider enforces its [`NamePolicy`](crate::providers::fs::NamePolicy) when a name is
//! created (`NameRule::from(policy)` gives the matching rule) and the memory device refuses
//! what [`NameRule::Fat`] refuses; the planner spells every path with the same rule
//! beforehand, so a plan never names a file the device would refuse, and two tracks never
//! collide on a case-insensitive medium. Devices report their rule and component limit as
//! properties, and a session plans under them ([`PlanSettings::apply_device_names`]).

use crate::manager::WmdmDevice;
use crate::metadata::{PropValue, device as props};
use crate::provider::names::MAX_COMPONENT;
pub use crate::provider::names::NameRule;

use super::plan_types::PlanSettings;

/// The longest a planned file name may be on a device taking `max` bytes per component. A
/// copy is first written under a fixed-length sibling name (`journal::temp_path`,
/// `journal::TEMP_NAME_LEN` bytes whatever the final name), so a planned file takes the whole limit,
/// as a folder does. A device whose limit is below `journal::TEMP_NAME_LEN` cannot take the sync's
/// temporary names at all: its copies fail with the device's own error.
pub(crate) fn file_limit(max: usize) -> usize {
    max.clamp(1, MAX_COMPONENT)
}

impl PlanSettings {
    /// Follows the name rules `device` reports
    /// ([`NAME_RULE`](crate::metadata::device::NAME_RULE) and
    /// [`NAME_MAX`](crate::metadata::device::NAME_MAX)): the plan then spells names under the
    /// strictest of [`names`](PlanSettings::names) and the device's rule, within the smaller of
    /// [`name_max`](PlanSettings::name_max) and the device's limit. A stricter setting of the
    /// partnership's own still wins (FAT rules on a device that would take anything), but no
    /// setting makes a plan name a file the device refuses. A device that reports neither (or
    /// an unreadable value) leaves the settings as they are; a session applies this whatever
    /// the partnership's settings.
    pub fn apply_device_names(&mut self, device: &WmdmDevice) {
        if let Ok(PropValue::String(s)) = device.property(props::NAME_RULE) {
            match s.parse::<NameRule>() {
                Ok(rule) => self.names = self.names.strictest(rule),
                Err(e) => tracing::warn!("the device reports {e}; keeping the partnership's"),
            }
        }
        if let Ok(PropValue::U32(max)) = device.property(props::NAME_MAX) {
            let max = usize::try_from(max).unwrap_or(MAX_COMPONENT);
            self.name_max = self.name_max.min(max).clamp(1, MAX_COMPONENT);
        }
    }
}

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
    use crate::sync::journal::{TEMP_NAME_LEN, temp_path};

    #[test]
    fn planner_names() {
        let r = NameRule::Fat;
        let limit = file_limit(MAX_COMPONENT);
        assert_eq!(component(r, "AC/DC: Live?", limit), "AC_DC_ Live_");
        assert_eq!(component(r, ".hidden", limit), "_hidden");
        assert_eq!(component(r, &"a".repeat(300), 255).len(), 255);
        assert_eq!(numbered(r, "A/b.mp3", 2, limit), "A/b (2).mp3");
        assert_eq!(numbered(r, "b", 3, limit), "b (3)");
        assert_eq!(file_limit(48), 48);
        assert_eq!(file_limit(0), 1);
        assert_eq!(component(NameRule::FatAscii, ".Ana Sól", limit), "_Ana Sol");
    }

    /// The assumption [`file_limit`] rests on: whatever the temporary name of a planned file
    /// is, it fits the component limit of both rules.
    #[test]
    fn temporary_names_of_the_longest_planned_names_fit() {
        for (r, max) in [
            (NameRule::Fat, MAX_COMPONENT),
            (NameRule::Permissive, MAX_COMPONENT),
            (NameRule::FatAscii, MAX_COMPONENT),
            (NameRule::Fat, 48),
            (NameRule::FatAscii, TEMP_NAME_LEN),
        ] {
            let limit = file_limit(max);
            for name in [
                format!("{}.mp3", "x".repeat(300)),
                format!("{}.mp3", "é".repeat(300)),
                "😀".repeat(200),
            ] {
                let planned = component(r, &name, limit);
                let temp = temp_path(&format!("Music/{planned}"), u64::MAX, u32::MAX);
                let last = temp.rsplit('/').next().unwrap_or_default();
                assert_eq!(r.check(last), Ok(()), "{r:?} {last}");
                assert!(r.length(last) <= max, "{r:?} {last}");
                assert!(r.length(&planned) <= max, "{r:?} {planned}");
                let numbered = numbered(r, &format!("Music/{planned}"), 999, limit);
                assert!(r.length(numbered.rsplit('/').next().unwrap_or_default()) <= max);
                let temp = temp_path(&numbered, u64::MAX, u32::MAX);
                let last = temp.rsplit('/').next().unwrap_or_default();
                assert_eq!(r.check(last), Ok(()), "{r:?} {last}");
                assert!(r.length(last) <= max, "{r:?} {last}");
            }
        }
    }
}
