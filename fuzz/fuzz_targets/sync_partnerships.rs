//! The sync partnerships parser: never panics on any bytes, and what it accepts round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = wmdm::sync::PartnershipTable::parse(data) {
        assert!(t.partnerships().len() <= 16);
        assert_eq!(wmdm::sync::PartnershipTable::parse(&t.encode()), Ok(t));
    }
});
