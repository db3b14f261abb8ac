//! Fuzz target: arbitrary bytes into sac server pass0; must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
mod sac_setup;

fuzz_target!(|data: &[u8]| {
    let _ = sac_setup::states().server0.clone().handle_pass0(data);
});
