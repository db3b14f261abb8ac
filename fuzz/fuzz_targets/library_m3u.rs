//! The M3U/M3U8 reader: never panics on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(list) = wmdm::library::read_m3u(data) {
        for e in &list.entries {
            assert!(!e.path.is_empty());
        }
    }
});
