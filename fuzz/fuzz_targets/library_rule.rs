//! The auto playlist parsers: never panic; what parses prints back to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match wmdm::library::parse_rule(text) {
        Ok(rule) => {
            let again = wmdm::library::parse_rule(&rule.to_string());
            assert_eq!(again.as_ref().ok(), Some(&rule));
        }
        Err(e) => assert!(e.position <= text.len()),
    }
    if let Ok(auto) = wmdm::library::parse_auto_playlist(text) {
        let again = wmdm::library::parse_auto_playlist(&auto.to_string());
        assert_eq!(again.as_ref().ok(), Some(&auto));
    }
});
