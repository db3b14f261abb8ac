//! The sync journal parser: never panics on any bytes, and what it accepts round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(j) = wmdm::sync::Journal::parse(data) {
        assert_eq!(wmdm::sync::Journal::parse(&j.encode()), Ok(j));
    }
});
