//! Fuzz target: arbitrary bytes into sac server pass1; must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
mod sac_setup;

fuzz_target!(|data: &[u8]| {
    let _ = sac_setup::states().server1.clone().handle_pass1(data);
});
