//! Fuzz target: arbitrary bytes into sac certificate; must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = wmdm::sac::Certificate::from_bytes(data);
});
