//! Fuzz target: arbitrary bytes into sac client pass0 reply; must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
mod sac_setup;

fuzz_target!(|data: &[u8]| {
    let _ = sac_setup::states().client0.clone().handle_reply(data);
});
