//! The auto playlist rule parser: never panics; what parses prints back to the same rule.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match wmdm::library::parse_rule(text) {
        Ok(rule) => {
            let again = wmdm::library::parse_rule(&rule.to_string());
            assert_eq!(again.as_ref().ok(), Some(&rule));
        }
        Err(e) => assert!(e.position <= text.len()),
    }
});
