//! The sync stats parser: never panics on any bytes, and what it accepts round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = wmdm::sync::StatsStore::parse(data) {
        assert_eq!(wmdm::sync::StatsStore::parse(&s.encode()), Ok(s));
    }
});
