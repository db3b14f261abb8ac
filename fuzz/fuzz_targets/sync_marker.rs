//! The sync marker parser: never panics on any bytes, and what it accepts round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = wmdm::sync::PartnershipMarker::parse(data) {
        assert!((1..=16).contains(&m.index));
        assert_eq!(wmdm::sync::PartnershipMarker::parse(&m.encode()), Ok(m));
    }
});
