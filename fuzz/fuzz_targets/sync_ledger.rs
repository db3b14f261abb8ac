//! The sync ledger parser: never panics on any bytes, and what it accepts round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(l) = wmdm::sync::Ledger::parse(data) {
        assert_eq!(wmdm::sync::Ledger::parse(&l.encode()), Ok(l));
    }
    // A ledger that cannot be read owns nothing.
    let (l, err) = wmdm::sync::Ledger::parse_or_empty(Some(data), "lib", 1);
    if err.is_some() {
        assert!(l.entries.is_empty());
    }
});
